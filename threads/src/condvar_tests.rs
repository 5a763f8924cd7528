//! The host condition variable with real threads and the real clock: a bounded buffer with
//! exact counts, how many waiters each notify wakes, timeouts, and interrupts while waiting and
//! while retaking the mutex. Every interleaving of the protocol's races is a loom model
//! (`loom_condvar.rs`).

use std::sync::atomic::AtomicU64;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::mutex_tests::await_sleepers;
use crate::sync::{Arc, Ordering, thread};
use crate::{Acquire, CondvarWait, HostCondvar, HostMutex, UnlockError, Waiter};

/// Long enough that a correct run never gets near it; only a hang does.
const PATIENCE: Duration = Duration::from_secs(20);

/// A mutex and a condition variable used with it.
#[derive(Default)]
struct Monitor {
    mutex: HostMutex,
    changed: HostCondvar,
}

/// Waits until `n` threads are asleep in `condvar.wait`.
fn await_waiters(condvar: &HostCondvar, n: usize) {
    let start = Instant::now();
    while condvar.waiters() != n {
        assert!(start.elapsed() < PATIENCE, "waiters never reached {n}");
        thread::yield_now();
    }
}

/// Spawns a thread that locks the monitor, waits once, reports its index and outcome on `woke`,
/// then unlocks. Returns the thread's waiter, and the thread, which returns what the unlock said.
fn spawn_waiter(
    monitor: &Arc<Monitor>,
    index: usize,
    woke: &mpsc::Sender<(usize, Result<CondvarWait, UnlockError>)>,
) -> (Waiter, thread::JoinHandle<Result<(), UnlockError>>) {
    let (monitor, woke) = (monitor.clone(), woke.clone());
    let (send, waiter_of) = mpsc::channel();
    let waiter = thread::spawn(move || {
        assert_eq!(monitor.mutex.lock(None), Ok(Acquire::Acquired));
        send.send(Waiter::current()).unwrap();
        let outcome = monitor.changed.wait(&monitor.mutex, None);
        woke.send((index, outcome)).unwrap();
        monitor.mutex.unlock()
    });
    (waiter_of.recv().unwrap(), waiter)
}

#[test]
fn a_bounded_buffer_moves_every_item_exactly_once() {
    const PRODUCERS: u64 = 2;
    const CONSUMERS: u64 = 2;
    const ITEMS: u64 = 10_000;
    const CAPACITY: u64 = 4;
    let mutex = Arc::new(HostMutex::new());
    let not_full = Arc::new(HostCondvar::new());
    let not_empty = Arc::new(HostCondvar::new());
    // Items in the buffer, and items taken out. Changed only under the mutex, with a separate
    // load and store, so a broken mutex or a lost wakeup shows in the counts.
    let len = Arc::new(AtomicU64::new(0));
    let consumed = Arc::new(AtomicU64::new(0));
    let add = |counter: &AtomicU64, delta: i64| {
        let value = counter.load(Ordering::Relaxed);
        counter.store(value.checked_add_signed(delta).unwrap(), Ordering::Relaxed);
    };
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|_| {
            let (mutex, not_full, not_empty) = (mutex.clone(), not_full.clone(), not_empty.clone());
            let len = len.clone();
            thread::spawn(move || {
                for item in 0..ITEMS {
                    assert_eq!(mutex.lock(None), Ok(Acquire::Acquired));
                    while len.load(Ordering::Relaxed) == CAPACITY {
                        // Timed waits, some of which time out, must not lose a wakeup either.
                        let timeout = (item % 2 == 0).then_some(Duration::from_micros(50));
                        let outcome = not_full.wait(&mutex, timeout).unwrap();
                        assert_ne!(outcome, CondvarWait::Interrupted);
                    }
                    add(&len, 1);
                    assert_eq!(mutex.unlock(), Ok(()));
                    not_empty.notify_one();
                }
            })
        })
        .collect();
    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|_| {
            let (mutex, not_full, not_empty) = (mutex.clone(), not_full.clone(), not_empty.clone());
            let (len, consumed) = (len.clone(), consumed.clone());
            thread::spawn(move || {
                for _ in 0..ITEMS * PRODUCERS / CONSUMERS {
                    assert_eq!(mutex.lock(None), Ok(Acquire::Acquired));
                    while len.load(Ordering::Relaxed) == 0 {
                        let outcome = not_empty.wait(&mutex, None);
                        assert_eq!(outcome, Ok(CondvarWait::Notified));
                    }
                    add(&len, -1);
                    add(&consumed, 1);
                    // Notified under the mutex this time: either way must work.
                    not_full.notify_all();
                    assert_eq!(mutex.unlock(), Ok(()));
                }
            })
        })
        .collect();
    for thread in producers.into_iter().chain(consumers) {
        thread.join().unwrap();
    }
    assert_eq!(consumed.load(Ordering::SeqCst), ITEMS * PRODUCERS);
    assert_eq!(len.load(Ordering::SeqCst), 0);
    assert!(!mutex.is_locked());
    assert_eq!(not_full.waiters() + not_empty.waiters(), 0);
}

#[test]
fn notify_one_wakes_exactly_the_oldest_waiter() {
    let monitor = Arc::new(Monitor::default());
    let (woke, woken) = mpsc::channel();
    let (_, older) = spawn_waiter(&monitor, 0, &woke);
    await_waiters(&monitor.changed, 1);
    let (_, newer) = spawn_waiter(&monitor, 1, &woke);
    await_waiters(&monitor.changed, 2);
    assert!(monitor.changed.notify_one());
    // The notify took exactly one waiter out; the other sleeps until the next one.
    assert_eq!(monitor.changed.waiters(), 1);
    assert_eq!(
        woken.recv_timeout(PATIENCE).unwrap(),
        (0, Ok(CondvarWait::Notified))
    );
    assert_eq!(older.join().unwrap(), Ok(()));
    assert_eq!(monitor.changed.waiters(), 1);
    assert!(monitor.changed.notify_one());
    assert_eq!(
        woken.recv_timeout(PATIENCE).unwrap(),
        (1, Ok(CondvarWait::Notified))
    );
    assert_eq!(newer.join().unwrap(), Ok(()));
    assert!(!monitor.changed.notify_one(), "nobody is left to wake");
    assert!(!monitor.mutex.is_locked());
}

#[test]
fn notify_all_wakes_every_waiter() {
    const N: usize = 3;
    let monitor = Arc::new(Monitor::default());
    let (woke, woken) = mpsc::channel();
    let waiters: Vec<_> = (0..N).map(|i| spawn_waiter(&monitor, i, &woke).1).collect();
    await_waiters(&monitor.changed, N);
    assert_eq!(monitor.changed.notify_all(), 3);
    let mut indices: Vec<usize> = (0..N)
        .map(|_| {
            let (index, outcome) = woken.recv_timeout(PATIENCE).unwrap();
            assert_eq!(outcome, Ok(CondvarWait::Notified));
            index
        })
        .collect();
    indices.sort_unstable();
    assert_eq!(indices, [0, 1, 2]);
    for waiter in waiters {
        assert_eq!(waiter.join().unwrap(), Ok(()));
    }
    assert_eq!(monitor.changed.notify_all(), 0);
    assert!(!monitor.mutex.is_locked());
}

#[test]
fn waiting_needs_the_mutex() {
    let monitor = Monitor::default();
    assert_eq!(
        monitor.changed.wait(&monitor.mutex, None),
        Err(UnlockError::NotLocked)
    );
    let monitor = Arc::new(monitor);
    let (release, released) = mpsc::channel::<()>();
    let (locked, is_locked) = mpsc::channel();
    let holder = thread::spawn({
        let monitor = monitor.clone();
        move || {
            assert_eq!(monitor.mutex.lock(None), Ok(Acquire::Acquired));
            locked.send(()).unwrap();
            let _ = released.recv();
            monitor.mutex.unlock()
        }
    });
    is_locked.recv().unwrap();
    assert_eq!(
        monitor.changed.wait(&monitor.mutex, None),
        Err(UnlockError::NotOwner)
    );
    assert!(monitor.mutex.is_locked(), "the holder still holds it");
    drop(release);
    assert_eq!(holder.join().unwrap(), Ok(()));
    assert_eq!(monitor.changed.waiters(), 0);
}

#[test]
fn a_timed_wait_times_out_holding_the_mutex_again() {
    let monitor = Monitor::default();
    assert_eq!(monitor.mutex.lock(None), Ok(Acquire::Acquired));
    for timeout in [Duration::ZERO, Duration::from_millis(20)] {
        assert_eq!(
            monitor.changed.wait(&monitor.mutex, Some(timeout)),
            Ok(CondvarWait::TimedOut)
        );
        assert!(monitor.mutex.is_locked());
    }
    assert_eq!(monitor.mutex.unlock(), Ok(()));
    assert_eq!(monitor.changed.waiters(), 0);
}

#[test]
fn an_interrupt_wakes_a_blocked_wait_without_the_mutex() {
    let monitor = Arc::new(Monitor::default());
    let (woke, woken) = mpsc::channel();
    let (interrupted, waiter) = spawn_waiter(&monitor, 0, &woke);
    await_waiters(&monitor.changed, 1);
    interrupted.interrupt();
    assert_eq!(
        woken.recv_timeout(PATIENCE).unwrap(),
        (0, Ok(CondvarWait::Interrupted))
    );
    assert_eq!(
        waiter.join().unwrap(),
        Err(UnlockError::NotLocked),
        "the waiter let it go"
    );
    assert!(!monitor.mutex.is_locked());
    assert_eq!(monitor.changed.waiters(), 0);
}

/// A waiter that a notify chose is interrupted while it waits to retake the mutex: it returns
/// without the mutex, and the next waiter gets the wakeup instead.
#[test]
fn an_interrupt_while_retaking_the_mutex_passes_the_notify_on() {
    let monitor = Arc::new(Monitor::default());
    let (woke, woken) = mpsc::channel();
    let (interrupted, first) = spawn_waiter(&monitor, 0, &woke);
    await_waiters(&monitor.changed, 1);
    let (_, second) = spawn_waiter(&monitor, 1, &woke);
    await_waiters(&monitor.changed, 2);
    assert_eq!(monitor.mutex.lock(None), Ok(Acquire::Acquired));
    assert!(monitor.changed.notify_one());
    // The first waiter, chosen, now sleeps on the mutex we hold.
    await_sleepers(&monitor.mutex, 1);
    interrupted.interrupt();
    assert_eq!(
        woken.recv_timeout(PATIENCE).unwrap(),
        (0, Ok(CondvarWait::Interrupted))
    );
    assert_eq!(first.join().unwrap(), Err(UnlockError::NotOwner));
    // The second waiter got the wakeup and now sleeps on the mutex in its turn.
    await_sleepers(&monitor.mutex, 1);
    assert_eq!(monitor.changed.waiters(), 0);
    assert_eq!(monitor.mutex.unlock(), Ok(()));
    assert_eq!(
        woken.recv_timeout(PATIENCE).unwrap(),
        (1, Ok(CondvarWait::Notified))
    );
    assert_eq!(second.join().unwrap(), Ok(()));
    assert!(!monitor.mutex.is_locked());
}
