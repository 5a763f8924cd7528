//! The host mutex with real threads and the real clock: exact mutual exclusion under load,
//! ownership errors, timeouts, and interruption of a blocked locker. Every interleaving of the
//! protocol's races is a loom model (`loom_mutex.rs`).

use std::sync::atomic::AtomicU64;
use std::sync::{Barrier, mpsc};
use std::time::{Duration, Instant};

use crate::sync::{Arc, Ordering, thread};
use crate::{Acquire, AlreadyHeld, HostMutex, UnlockError, Waiter};

/// Long enough that a correct run never gets near it; only a hang does.
const PATIENCE: Duration = Duration::from_secs(20);

/// Waits until `n` threads are asleep waiting for `mutex`.
pub(crate) fn await_sleepers(mutex: &HostMutex, n: usize) {
    let start = Instant::now();
    while mutex.sleepers() != n {
        assert!(start.elapsed() < PATIENCE, "sleepers never reached {n}");
        thread::yield_now();
    }
}

/// Adds one to `counter` with a separate load and store, which loses updates unless the caller
/// excludes every other incrementer. It yields in between, so that while the caller holds the
/// mutex other threads run, find it held, and go to sleep.
fn increment(counter: &AtomicU64) {
    let value = counter.load(Ordering::Relaxed);
    thread::yield_now();
    counter.store(value + 1, Ordering::Relaxed);
}

/// Spawns a thread that takes `mutex` and holds it until `release` is dropped or sent to.
fn spawn_holder(mutex: &Arc<HostMutex>) -> (mpsc::Sender<()>, thread::JoinHandle<()>) {
    let (release, released) = mpsc::channel();
    let (locked, is_locked) = mpsc::channel();
    let holder = thread::spawn({
        let mutex = mutex.clone();
        move || {
            assert_eq!(mutex.lock(None), Ok(Acquire::Acquired));
            locked.send(()).unwrap();
            let _ = released.recv();
            assert_eq!(mutex.unlock(), Ok(()));
        }
    });
    is_locked.recv().unwrap();
    (release, holder)
}

#[test]
fn lockers_exclude_each_other_exactly() {
    const THREADS: u64 = 4;
    const ROUNDS: u64 = 20_000;
    let mutex = Arc::new(HostMutex::new());
    let counter = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..THREADS)
        .map(|i| {
            let (mutex, counter) = (mutex.clone(), counter.clone());
            thread::spawn(move || {
                for round in 0..ROUNDS {
                    // Every path in: blocking, timed (never reached), and spinning on try_lock.
                    match (i + round) % 3 {
                        0 => assert_eq!(mutex.lock(None), Ok(Acquire::Acquired)),
                        1 => assert_eq!(mutex.lock(Some(PATIENCE)), Ok(Acquire::Acquired)),
                        _ => {
                            while !mutex.try_lock() {
                                thread::yield_now();
                            }
                        }
                    }
                    increment(&counter);
                    assert_eq!(mutex.unlock(), Ok(()));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(counter.load(Ordering::SeqCst), THREADS * ROUNDS);
    assert!(!mutex.is_locked());
    assert_eq!(mutex.sleepers(), 0);
}

#[test]
fn only_the_owner_unlocks() {
    let mutex = Arc::new(HostMutex::new());
    assert!(!mutex.is_locked());
    assert_eq!(mutex.unlock(), Err(UnlockError::NotLocked));
    let (release, holder) = spawn_holder(&mutex);
    assert!(mutex.is_locked());
    assert_eq!(mutex.unlock(), Err(UnlockError::NotOwner));
    assert!(!mutex.try_lock());
    assert!(mutex.is_locked(), "a failed unlock leaves the mutex held");
    release.send(()).unwrap();
    holder.join().unwrap();
    assert!(!mutex.is_locked());
    assert_eq!(
        UnlockError::NotOwner.to_string(),
        "the mutex is held by another thread"
    );
    assert_eq!(
        UnlockError::NotLocked.to_string(),
        "the mutex is not locked"
    );
}

#[test]
fn locking_a_held_mutex_again_is_an_error() {
    let mutex = HostMutex::new();
    assert!(mutex.try_lock());
    assert!(!mutex.try_lock());
    assert_eq!(mutex.lock(None), Err(AlreadyHeld));
    assert_eq!(mutex.lock(Some(Duration::ZERO)), Err(AlreadyHeld));
    assert!(mutex.is_locked());
    assert_eq!(mutex.unlock(), Ok(()));
    assert_eq!(mutex.unlock(), Err(UnlockError::NotLocked));
    assert_eq!(
        AlreadyHeld.to_string(),
        "the calling thread already holds the mutex"
    );
}

#[test]
fn a_timed_lock_gives_up_while_another_thread_holds_it() {
    let mutex = Arc::new(HostMutex::new());
    let (release, holder) = spawn_holder(&mutex);
    assert_eq!(mutex.lock(Some(Duration::ZERO)), Ok(Acquire::TimedOut));
    assert_eq!(
        mutex.lock(Some(Duration::from_millis(20))),
        Ok(Acquire::TimedOut)
    );
    // Longer than any clock can represent: no timeout.
    let waiter = thread::spawn({
        let mutex = mutex.clone();
        move || {
            let outcome = mutex.lock(Some(Duration::MAX));
            assert_eq!(mutex.unlock(), Ok(()));
            outcome
        }
    });
    await_sleepers(&mutex, 1);
    release.send(()).unwrap();
    holder.join().unwrap();
    assert_eq!(waiter.join().unwrap(), Ok(Acquire::Acquired));
    assert!(!mutex.is_locked());
}

#[test]
fn an_interrupt_wakes_a_blocked_locker_without_the_mutex() {
    let mutex = Arc::new(HostMutex::new());
    assert!(mutex.try_lock());
    let (send, waiter_of) = mpsc::channel();
    let locker = thread::spawn({
        let mutex = mutex.clone();
        move || {
            send.send(Waiter::current()).unwrap();
            let outcome = mutex.lock(None);
            (outcome, mutex.unlock())
        }
    });
    let waiter = waiter_of.recv().unwrap();
    await_sleepers(&mutex, 1);
    waiter.interrupt();
    let (outcome, unlock) = locker.join().unwrap();
    assert_eq!(outcome, Ok(Acquire::Interrupted));
    assert_eq!(unlock, Err(UnlockError::NotOwner));
    assert!(mutex.is_locked(), "still ours");
    assert_eq!(mutex.unlock(), Ok(()));
    // The mutex works on for everyone else: its contended bit promised a wakeup nobody needs.
    assert_eq!(mutex.sleepers(), 0);
    assert_eq!(mutex.lock(None), Ok(Acquire::Acquired));
    assert_eq!(mutex.unlock(), Ok(()));
}

/// Lockers that give up (timeouts, interrupts) race untimed lockers and unlocks. Every untimed
/// locker must get the mutex in the end, and the counter counts exactly the acquisitions.
#[test]
fn lockers_that_give_up_strand_nobody() {
    const STEADY: u64 = 3;
    const FICKLE: u64 = 3;
    const ROUNDS: u64 = 3_000;
    let start = Arc::new(Barrier::new(usize::try_from(STEADY + FICKLE).unwrap()));
    let mutex = Arc::new(HostMutex::new());
    let counter = Arc::new(AtomicU64::new(0));
    let acquired = Arc::new(AtomicU64::new(0));
    let hold = |mutex: &HostMutex, counter: &AtomicU64, acquired: &AtomicU64| {
        increment(counter);
        acquired.fetch_add(1, Ordering::SeqCst);
        assert_eq!(mutex.unlock(), Ok(()));
    };
    let steady: Vec<_> = (0..STEADY)
        .map(|_| {
            let (mutex, counter, acquired) = (mutex.clone(), counter.clone(), acquired.clone());
            let start = start.clone();
            thread::spawn(move || {
                start.wait();
                for _ in 0..ROUNDS {
                    assert_eq!(mutex.lock(None), Ok(Acquire::Acquired));
                    hold(&mutex, &counter, &acquired);
                }
            })
        })
        .collect();
    let (send, waiter_of) = mpsc::channel();
    let fickle: Vec<_> = (0..FICKLE)
        .map(|_| {
            let (mutex, counter, acquired) = (mutex.clone(), counter.clone(), acquired.clone());
            let (send, start) = (send.clone(), start.clone());
            thread::spawn(move || {
                let me = Waiter::current();
                send.send(me.clone()).unwrap();
                start.wait();
                for round in 0..ROUNDS {
                    let timeout = Duration::from_micros(round % 50);
                    match mutex.lock(Some(timeout)) {
                        Ok(Acquire::Acquired) => hold(&mutex, &counter, &acquired),
                        Ok(Acquire::TimedOut) => {}
                        Ok(Acquire::Interrupted) => me.clear_interrupt(),
                        Err(AlreadyHeld) => panic!("never held across rounds"),
                    }
                }
            })
        })
        .collect();
    let waiters: Vec<Waiter> = (0..FICKLE).map(|_| waiter_of.recv().unwrap()).collect();
    let interrupter = thread::spawn(move || {
        for round in 0..ROUNDS {
            waiters[usize::try_from(round % FICKLE).unwrap()].interrupt();
            thread::yield_now();
        }
    });
    for thread in steady.into_iter().chain(fickle) {
        thread.join().unwrap();
    }
    interrupter.join().unwrap();
    assert_eq!(
        counter.load(Ordering::SeqCst),
        acquired.load(Ordering::SeqCst)
    );
    assert!(acquired.load(Ordering::SeqCst) >= STEADY * ROUNDS);
    assert!(!mutex.is_locked());
    assert_eq!(mutex.sleepers(), 0);
}
