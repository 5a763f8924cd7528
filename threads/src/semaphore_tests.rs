//! The semaphore with real threads and the real clock: exact permit accounting under load,
//! timeouts, and interruption of a blocked acquirer. Every interleaving of the protocol's races
//! is a loom model (`loom_semaphore.rs`).

use std::sync::atomic::AtomicU64;
use std::sync::mpsc;
use std::time::Duration;

use crate::sync::{Arc, Ordering, thread};
use crate::{Acquire, PermitOverflow, Semaphore, Waiter};

#[test]
fn permits_are_counted_exactly() {
    let semaphore = Semaphore::new(2);
    assert!(semaphore.try_acquire());
    assert!(semaphore.try_acquire());
    assert!(!semaphore.try_acquire());
    assert_eq!(semaphore.acquire(Some(Duration::ZERO)), Acquire::TimedOut);
    semaphore.release(3);
    assert_eq!(semaphore.available(), 3);
    assert_eq!(semaphore.acquire(None), Acquire::Acquired);
    assert_eq!(semaphore.available(), 2);
}

#[test]
#[should_panic(expected = "semaphore permit count overflow")]
fn overflowing_the_permit_count_panics() {
    let semaphore = Semaphore::new(u32::MAX);
    semaphore.release(1);
}

#[test]
fn an_overflowing_try_release_changes_nothing() {
    let semaphore = Semaphore::new(u32::MAX - 1);
    assert_eq!(semaphore.try_release(2), Err(PermitOverflow));
    assert_eq!(semaphore.available(), u32::MAX - 1);
    assert_eq!(semaphore.try_release(1), Ok(()));
    assert_eq!(semaphore.available(), u32::MAX);
}

#[test]
fn a_bounded_queue_moves_every_item_exactly_once() {
    const PRODUCERS: u64 = 4;
    const CONSUMERS: u64 = 4;
    const ITEMS: u64 = 20_000;
    const CAPACITY: u32 = 8;
    // `free` counts empty slots, `full` filled ones: the classic two-semaphore buffer, with a
    // running sum standing in for the slots.
    let free = Arc::new(Semaphore::new(CAPACITY));
    let full = Arc::new(Semaphore::new(0));
    let in_flight = Arc::new(AtomicU64::new(0));
    let consumed = Arc::new(AtomicU64::new(0));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|_| {
            let (free, full, in_flight) = (free.clone(), full.clone(), in_flight.clone());
            thread::spawn(move || {
                for _ in 0..ITEMS {
                    assert_eq!(free.acquire(None), Acquire::Acquired);
                    let before = in_flight.fetch_add(1, Ordering::SeqCst);
                    assert!(
                        before < u64::from(CAPACITY),
                        "{before} items in {CAPACITY} slots"
                    );
                    full.release(1);
                }
            })
        })
        .collect();
    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|_| {
            let (free, full) = (free.clone(), full.clone());
            let (in_flight, consumed) = (in_flight.clone(), consumed.clone());
            thread::spawn(move || {
                for _ in 0..ITEMS * PRODUCERS / CONSUMERS {
                    assert_eq!(full.acquire(None), Acquire::Acquired);
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    consumed.fetch_add(1, Ordering::SeqCst);
                    free.release(1);
                }
            })
        })
        .collect();
    for thread in producers.into_iter().chain(consumers) {
        thread.join().unwrap();
    }
    assert_eq!(consumed.load(Ordering::SeqCst), ITEMS * PRODUCERS);
    assert_eq!(in_flight.load(Ordering::SeqCst), 0);
    assert_eq!(free.available(), CAPACITY);
    assert_eq!(full.available(), 0);
}

#[test]
fn a_timed_acquire_gives_up_and_leaves_later_permits_free() {
    let semaphore = Arc::new(Semaphore::new(0));
    let waiter = thread::spawn({
        let semaphore = semaphore.clone();
        move || semaphore.acquire(Some(Duration::from_millis(20)))
    });
    assert_eq!(waiter.join().unwrap(), Acquire::TimedOut);
    semaphore.release(1);
    assert_eq!(semaphore.available(), 1);
}

#[test]
fn an_interrupt_wakes_a_blocked_acquirer_and_takes_no_permit() {
    let semaphore = Arc::new(Semaphore::new(0));
    let (send, waiter_of) = mpsc::channel();
    let acquirers: Vec<_> = (0..3)
        .map(|_| {
            let (semaphore, send) = (semaphore.clone(), send.clone());
            thread::spawn(move || {
                send.send(Waiter::current()).unwrap();
                semaphore.acquire(None)
            })
        })
        .collect();
    let waiters: Vec<Waiter> = (0..3).map(|_| waiter_of.recv().unwrap()).collect();
    // One permit for one of them; the other two can only be ended by the interrupt.
    semaphore.release(1);
    for waiter in &waiters {
        waiter.interrupt();
    }
    let outcomes: Vec<Acquire> = acquirers.into_iter().map(|t| t.join().unwrap()).collect();
    let acquired = outcomes.iter().filter(|&&o| o == Acquire::Acquired).count();
    let interrupted = outcomes
        .iter()
        .filter(|&&o| o == Acquire::Interrupted)
        .count();
    // An acquirer that found the permit before its interrupt keeps it; nobody else gets one.
    assert!(acquired <= 1 && acquired + interrupted == 3, "{outcomes:?}");
    assert_eq!(u32::try_from(acquired).unwrap() + semaphore.available(), 1);
}
