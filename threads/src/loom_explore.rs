//! Loom models of the exploration scheduler's hand-over protocol (`explore.rs`), each with a
//! twin that runs it on a scheduler with a deliberate bug ([`ExploreFlaw`]) and asserts that
//! loom finds the failure.

use loom::sync::atomic::{AtomicBool, AtomicU32};

use crate::explore_support::{start, wait_on, wake_until_woken};
use crate::flaw::ExploreFlaw;
use crate::loom_tests::{Model, assert_caught, check};
use crate::sync::{Arc, Ordering, thread};
use crate::{Operation, Scheduler, Strategy, Wakeup};

fn scheduler(flaw: Option<ExploreFlaw>) -> Scheduler {
    match flaw {
        Some(flaw) => Scheduler::with_flaw(Strategy::Random, 0, flaw),
        None => Scheduler::new(Strategy::Random, 0),
    }
}

/// Root and child each run an exclusive part, the child's between its start and a schedule
/// point: only one thread runs at a time, so neither ever sees the other inside.
fn one_runner(flaw: Option<ExploreFlaw>) -> Model {
    Box::new(move || {
        let scheduler = scheduler(flaw);
        let inside = Arc::new(AtomicU32::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let root = scheduler.root();
        let (inside_child, done_child) = (inside.clone(), done.clone());
        let (_, handle) = start(&scheduler, move |scheduler, child| {
            exclusive(&inside_child);
            scheduler.point(child, Operation::AtomicRmw, (0, 0), 0);
            done_child.store(true, Ordering::SeqCst);
            ((), false)
        });
        scheduler.point(root, Operation::Spawn, (0, 0), 0);
        exclusive(&inside);
        // Points until the child is done, rather than a join, which would block: under the
        // flaw a blocked thread's unexpected run is caught by the scheduler itself first.
        while !done.load(Ordering::SeqCst) {
            scheduler.point(root, Operation::AtomicLoad, (0, 0), 0);
            // Under the flaw the root spins here while the child runs: let loom run it.
            thread::yield_now();
        }
        handle.join().unwrap();
        scheduler.finish(root, false);
    })
}

/// The root waits on a key the child wakes: the wake is never lost, and the root returns
/// woken, not abandoned.
fn wake_reaches_waiter(flaw: Option<ExploreFlaw>) -> Model {
    Box::new(move || {
        let scheduler = scheduler(flaw);
        let root = scheduler.root();
        let (child, handle) = start(&scheduler, |scheduler, child| {
            (wake_until_woken(scheduler, child, 4), false)
        });
        assert_eq!(wait_on(&scheduler, root, 4), Wakeup::Woken);
        assert!(scheduler.join(root, child, (0, 0)));
        handle.join().unwrap();
        scheduler.finish(root, false);
    })
}

/// The part only one thread may run at a time: it would see the other inside.
fn exclusive(inside: &AtomicU32) {
    assert_eq!(
        inside.fetch_add(1, Ordering::SeqCst),
        0,
        "two threads ran at once"
    );
    inside.fetch_sub(1, Ordering::SeqCst);
}

#[test]
fn loom_explore_one_runner() {
    check(one_runner(None));
}

#[test]
fn loom_explore_one_runner_catches_run_without_turn() {
    assert_caught(
        "loom_explore_one_runner_catches_run_without_turn",
        one_runner(Some(ExploreFlaw::RunWithoutTurn)),
    );
}

#[test]
fn loom_explore_wake_reaches_waiter() {
    check(wake_reaches_waiter(None));
}

#[test]
fn loom_explore_wake_reaches_waiter_catches_pass_without_signal() {
    assert_caught(
        "loom_explore_wake_reaches_waiter_catches_pass_without_signal",
        wake_reaches_waiter(Some(ExploreFlaw::PassWithoutSignal)),
    );
}
