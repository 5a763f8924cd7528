//! Loom models of the host mutex protocol (`mutex.rs`). As in `loom_tests.rs`, whose harness
//! these share, each model `loom_mutex_<scenario>` has twins
//! `loom_mutex_<scenario>_catches_<flaw>` that run it on a mutex with a deliberate protocol bug
//! ([`MutexFlaw`]) and assert that loom finds the failure.
//!
//! A thread that sleeps through the unlock meant to wake it never returns, which loom reports as
//! a deadlock; every model ends with the mutex free.

use std::time::Duration;

use crate::flaw::MutexFlaw;
use crate::loom_tests::{Model, assert_caught, check};
use crate::sync::{Arc, AtomicBool, AtomicU64, Ordering, thread};
use crate::{Acquire, HostMutex, Waiter};

/// Long enough never to pass on the real clock: in the models only `Waiter::expire` ends it.
const TIMEOUT: Duration = Duration::from_secs(3600);

fn mutex(flaw: Option<MutexFlaw>) -> Arc<HostMutex> {
    Arc::new(flaw.map_or_else(HostMutex::new, HostMutex::with_flaw))
}

/// Locks, adds one to `counter` with a separate load and store (relaxed, so only the mutex
/// orders them), and unlocks.
fn increment(mutex: &HostMutex, counter: &AtomicU64) {
    assert_eq!(mutex.lock(None), Ok(Acquire::Acquired));
    let value = counter.load(Ordering::Relaxed);
    counter.store(value + 1, Ordering::Relaxed);
    assert_eq!(mutex.unlock(), Ok(()));
}

/// Three lockers, each possibly asleep, woken, or overtaken by another on the way back: every
/// increment counts, so they held the mutex one at a time, and none sleeps through an unlock.
fn exclusion(flaw: Option<MutexFlaw>) -> Model {
    Box::new(move || {
        let mutex = mutex(flaw);
        let counter = Arc::new(AtomicU64::new(0));
        let lockers: Vec<_> = (0..2)
            .map(|_| {
                let (mutex, counter) = (mutex.clone(), counter.clone());
                thread::spawn(move || increment(&mutex, &counter))
            })
            .collect();
        increment(&mutex, &counter);
        for locker in lockers {
            locker.join().unwrap();
        }
        assert_eq!(counter.load(Ordering::Relaxed), 3);
        assert!(!mutex.is_locked());
    })
}

#[test]
fn loom_mutex_exclusion() {
    check(exclusion(None));
}

#[test]
fn loom_mutex_exclusion_catches_read_contention_first() {
    assert_caught(
        "loom_mutex_exclusion_catches_read_contention_first",
        exclusion(Some(MutexFlaw::ReadContentionFirst)),
    );
}

#[test]
fn loom_mutex_exclusion_catches_wakeup_means_lock() {
    assert_caught(
        "loom_mutex_exclusion_catches_wakeup_means_lock",
        exclusion(Some(MutexFlaw::WakeupMeansLock)),
    );
}

/// A holder makes a locker give up (by timeout or interrupt, as `give_up` does to its thread)
/// and then unlocks, while a second locker may sleep beside the first: the first takes the
/// mutex or gives up, and either way the second is not left asleep on a free mutex.
fn give_up_races_unlock(
    flaw: Option<MutexFlaw>,
    give_up: fn(&Waiter),
    timeout: Option<Duration>,
    gave_up: Acquire,
) -> impl Fn() + Send + Sync {
    move || {
        let mutex = mutex(flaw);
        let held = Arc::new(AtomicBool::new(false));
        let holder = thread::spawn({
            let (mutex, held, me) = (mutex.clone(), held.clone(), Waiter::current());
            move || {
                assert_eq!(mutex.lock(None), Ok(Acquire::Acquired));
                held.store(true, Ordering::Relaxed);
                give_up(&me);
                assert_eq!(mutex.unlock(), Ok(()));
            }
        });
        // The race is between giving up and the unlock, so let the holder in first: that spends
        // no preemption, and leaves loom two for the race.
        while !held.load(Ordering::Relaxed) {
            thread::yield_now();
        }
        let other = thread::spawn({
            let mutex = mutex.clone();
            move || {
                assert_eq!(mutex.lock(None), Ok(Acquire::Acquired));
                assert_eq!(mutex.unlock(), Ok(()));
            }
        });
        let outcome = mutex.lock(timeout).unwrap();
        if outcome == Acquire::Acquired {
            assert_eq!(mutex.unlock(), Ok(()));
        } else {
            assert_eq!(outcome, gave_up);
        }
        holder.join().unwrap();
        other.join().unwrap();
        assert!(!mutex.is_locked());
    }
}

fn timeout_races_unlock(flaw: Option<MutexFlaw>) -> Model {
    Box::new(give_up_races_unlock(
        flaw,
        Waiter::expire,
        Some(TIMEOUT),
        Acquire::TimedOut,
    ))
}

#[test]
fn loom_mutex_timeout_races_unlock() {
    check(timeout_races_unlock(None));
}

#[test]
fn loom_mutex_timeout_races_unlock_catches_give_up_clears_contention() {
    assert_caught(
        "loom_mutex_timeout_races_unlock_catches_give_up_clears_contention",
        timeout_races_unlock(Some(MutexFlaw::GiveUpClearsContention)),
    );
}

/// As [`timeout_races_unlock`], with the interrupt the engine sends to terminate a thread
/// blocked on a host mutex.
fn interrupt_races_unlock(flaw: Option<MutexFlaw>) -> Model {
    let model = give_up_races_unlock(flaw, Waiter::interrupt, None, Acquire::Interrupted);
    Box::new(move || {
        model();
        Waiter::current().clear_interrupt();
    })
}

#[test]
fn loom_mutex_interrupt_races_unlock() {
    check(interrupt_races_unlock(None));
}

#[test]
fn loom_mutex_interrupt_races_unlock_catches_give_up_clears_contention() {
    assert_caught(
        "loom_mutex_interrupt_races_unlock_catches_give_up_clears_contention",
        interrupt_races_unlock(Some(MutexFlaw::GiveUpClearsContention)),
    );
}

#[test]
fn loom_mutex_interrupt_races_unlock_catches_chosen_locker_gives_up() {
    assert_caught(
        "loom_mutex_interrupt_races_unlock_catches_chosen_locker_gives_up",
        interrupt_races_unlock(Some(MutexFlaw::ChosenLockerGivesUp)),
    );
}
