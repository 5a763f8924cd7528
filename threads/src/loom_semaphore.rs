//! Loom models of the semaphore protocol (`semaphore.rs`). As in `loom_tests.rs`, whose harness
//! these share, each model `loom_semaphore_<scenario>` has twins
//! `loom_semaphore_<scenario>_catches_<flaw>` that run it on a semaphore with a deliberate
//! protocol bug ([`SemaphoreFlaw`]) and assert that loom finds the failure.
//!
//! Every model checks that permits are conserved: those taken plus those still free equal those
//! released, and no acquirer is left counted as a sleeper.

use std::time::Duration;

use crate::flaw::SemaphoreFlaw;
use crate::loom_tests::{Model, assert_caught, check};
use crate::sync::{Arc, thread};
use crate::{Acquire, Semaphore, Waiter};

/// Long enough never to pass on the real clock: in the models only `Waiter::expire` ends it.
const TIMEOUT: Duration = Duration::from_secs(3600);

fn semaphore(flaw: Option<SemaphoreFlaw>) -> Arc<Semaphore> {
    Arc::new(match flaw {
        Some(flaw) => Semaphore::with_flaw(0, flaw),
        None => Semaphore::new(0),
    })
}

fn taken(outcome: Acquire) -> u32 {
    u32::from(outcome == Acquire::Acquired)
}

/// Two acquirers, each possibly between its announcement and its sleep, and two releases: both
/// acquirers get a permit, none sleeps through a release.
fn releases_wake_sleepers(flaw: Option<SemaphoreFlaw>) -> Model {
    Box::new(move || {
        let semaphore = semaphore(flaw);
        let acquirers: Vec<_> = (0..2)
            .map(|_| {
                let semaphore = semaphore.clone();
                thread::spawn(move || semaphore.acquire(None))
            })
            .collect();
        semaphore.release(1);
        semaphore.release(1);
        for acquirer in acquirers {
            assert_eq!(acquirer.join().unwrap(), Acquire::Acquired);
        }
        assert_eq!(semaphore.available(), 0);
        assert_eq!(semaphore.sleepers(), 0);
    })
}

#[test]
fn loom_semaphore_releases_wake_sleepers() {
    check(releases_wake_sleepers(None));
}

#[test]
fn loom_semaphore_releases_wake_sleepers_catches_read_sleepers_first() {
    assert_caught(
        "loom_semaphore_releases_wake_sleepers_catches_read_sleepers_first",
        releases_wake_sleepers(Some(SemaphoreFlaw::ReadSleepersFirst)),
    );
}

/// An acquire that may give up (by timeout or interrupt, as `give_up` does to its thread)
/// races a release: it either takes the permit or gives up and leaves it free.
fn give_up_races_release(
    flaw: Option<SemaphoreFlaw>,
    give_up: fn(&Waiter),
    timeout: Option<Duration>,
    gave_up: Acquire,
) -> impl Fn() + Send + Sync {
    move || {
        let semaphore = semaphore(flaw);
        let me = Waiter::current();
        let canceller = thread::spawn(move || give_up(&me));
        let releaser = thread::spawn({
            let semaphore = semaphore.clone();
            move || semaphore.release(1)
        });
        let outcome = semaphore.acquire(timeout);
        releaser.join().unwrap();
        canceller.join().unwrap();
        assert!(
            outcome == Acquire::Acquired || outcome == gave_up,
            "{outcome:?}"
        );
        assert_eq!(taken(outcome) + semaphore.available(), 1);
        assert_eq!(semaphore.sleepers(), 0);
    }
}

fn timeout_races_release(flaw: Option<SemaphoreFlaw>) -> Model {
    Box::new(give_up_races_release(
        flaw,
        Waiter::expire,
        Some(TIMEOUT),
        Acquire::TimedOut,
    ))
}

#[test]
fn loom_semaphore_timeout_races_release() {
    check(timeout_races_release(None));
}

#[test]
fn loom_semaphore_timeout_races_release_catches_wakeup_means_permit() {
    assert_caught(
        "loom_semaphore_timeout_races_release_catches_wakeup_means_permit",
        timeout_races_release(Some(SemaphoreFlaw::WakeupMeansPermit)),
    );
}

/// As [`timeout_races_release`], with the interrupt the engine sends to terminate a thread
/// blocked on a host semaphore.
fn interrupt_races_release(flaw: Option<SemaphoreFlaw>) -> Model {
    let model = give_up_races_release(flaw, Waiter::interrupt, None, Acquire::Interrupted);
    Box::new(move || {
        model();
        Waiter::current().clear_interrupt();
    })
}

#[test]
fn loom_semaphore_interrupt_races_release() {
    check(interrupt_races_release(None));
}

#[test]
fn loom_semaphore_interrupt_races_release_catches_wakeup_means_permit() {
    assert_caught(
        "loom_semaphore_interrupt_races_release_catches_wakeup_means_permit",
        interrupt_races_release(Some(SemaphoreFlaw::WakeupMeansPermit)),
    );
}
