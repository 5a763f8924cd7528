use std::sync::{Arc, Mutex};

use crate::explore_support::{start, wait_on, wake_until_woken};
use crate::{Operation, Scheduler, Strategy, WaitKey, Wakeup};

const PCT: Strategy = Strategy::Pct {
    depth: 3,
    length: 40,
};

/// Runs `workers` threads that each pass `points` schedule points, logging who ran each step,
/// and returns the log.
fn interleaving(strategy: Strategy, seed: u64, workers: u32, points: u32) -> Vec<u32> {
    let scheduler = Scheduler::new(strategy, seed);
    let root = scheduler.root();
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut children = Vec::new();
    for _ in 0..workers {
        let log = Arc::clone(&log);
        let child = start(&scheduler, move |scheduler, thread| {
            for _ in 0..points {
                log.lock().unwrap().push(thread.index());
                scheduler.point(thread, Operation::AtomicRmw, (0, 0), 0);
            }
            ((), false)
        });
        scheduler.point(root, Operation::Spawn, (0, 0), 0);
        children.push(child);
    }
    for (thread, handle) in children {
        assert!(scheduler.join(root, thread, (0, 0)));
        handle.join().unwrap();
    }
    scheduler.finish(root, false);
    assert!(scheduler.summary().deadlock.is_none());
    Arc::try_unwrap(log).unwrap().into_inner().unwrap()
}

#[test]
fn a_seed_replays_its_interleaving() {
    for strategy in [Strategy::Random, PCT] {
        for seed in 0..20 {
            let first = interleaving(strategy, seed, 3, 10);
            assert_eq!(first.len(), 30);
            assert_eq!(first, interleaving(strategy, seed, 3, 10), "seed {seed}");
        }
    }
}

#[test]
fn seeds_give_different_interleavings() {
    for strategy in [Strategy::Random, PCT] {
        let distinct: std::collections::HashSet<Vec<u32>> = (0..20)
            .map(|seed| interleaving(strategy, seed, 3, 10))
            .collect();
        assert!(
            distinct.len() > 5,
            "{strategy:?}: {} distinct",
            distinct.len()
        );
    }
}

#[test]
fn pct_of_depth_one_runs_each_thread_to_its_end() {
    let strategy = Strategy::Pct {
        depth: 1,
        length: 40,
    };
    for seed in 0..10 {
        let log = interleaving(strategy, seed, 3, 10);
        let switches = log.windows(2).filter(|pair| pair[0] != pair[1]).count();
        assert_eq!(switches, 2, "seed {seed}: {log:?}");
    }
}

/// The root blocks on a key; a child wakes it and counts one woken.
#[test]
fn a_wake_runs_a_blocked_thread_again() {
    for seed in 0..10 {
        let scheduler = Scheduler::new(Strategy::Random, seed);
        let root = scheduler.root();
        let (child, handle) = start(&scheduler, |scheduler, child| {
            (wake_until_woken(scheduler, child, 8), false)
        });
        assert_eq!(wait_on(&scheduler, root, 8), Wakeup::Woken);
        assert!(scheduler.join(root, child, (0, 0)));
        handle.join().unwrap();
        scheduler.finish(root, false);
    }
}

#[test]
fn a_timed_wait_times_out_when_nothing_else_can_run() {
    let scheduler = Scheduler::new(PCT, 1);
    let root = scheduler.root();
    let wakeup = scheduler.block(
        root,
        WaitKey::Address(16),
        true,
        (Operation::Wait, (1, 2), 16),
    );
    assert_eq!(wakeup, Wakeup::TimedOut);
    assert!(scheduler.summary().deadlock.is_none());
    assert!(!scheduler.is_abandoned());
}

/// Root and child each wait for the other: the deadlock names both waits, and both return.
#[test]
fn a_deadlock_is_reported_with_each_blocking_site() {
    let scheduler = Scheduler::new(Strategy::Random, 3);
    let root = scheduler.root();
    let (child, handle) = start(&scheduler, |scheduler, child| {
        let step = (Operation::Wait, (7, 9), 32);
        (
            scheduler.block(child, WaitKey::Address(32), false, step),
            false,
        )
    });
    let joined = scheduler.join(root, child, (7, 5));
    assert!(!joined, "the join cannot complete inside the schedule");
    assert_eq!(handle.join().unwrap(), Wakeup::Abandoned);
    let deadlock = scheduler.summary().deadlock.expect("a deadlock");
    assert_eq!(deadlock.len(), 2);
    assert_eq!(deadlock[0].thread, root);
    assert_eq!(deadlock[0].key, WaitKey::Thread(child));
    assert_eq!(deadlock[0].step.operation, Operation::Join);
    assert_eq!(deadlock[1].thread, child);
    assert_eq!(deadlock[1].key, WaitKey::Address(32));
    assert_eq!(deadlock[1].step.site, (7, 9));
    assert!(scheduler.is_abandoned());
}

/// A failing thread ends the schedule: the others run freely and blocked ones return.
#[test]
fn a_failure_abandons_the_schedule() {
    let scheduler = Scheduler::new(PCT, 5);
    let root = scheduler.root();
    let (_, handle) = start(&scheduler, |_, _| ((), true));
    assert_eq!(wait_on(&scheduler, root, 64), Wakeup::Abandoned);
    handle.join().unwrap();
    assert!(scheduler.summary().deadlock.is_none());
}

#[test]
fn the_trace_keeps_the_last_steps() {
    let scheduler = Scheduler::new(Strategy::Random, 0);
    let root = scheduler.root();
    for address in 0..100 {
        scheduler.point(root, Operation::AtomicLoad, (1, address), address);
    }
    let summary = scheduler.summary();
    assert_eq!(summary.steps, 100);
    assert_eq!(summary.trace.len(), crate::TRACE_STEPS);
    assert_eq!(summary.trace.last().unwrap().address, 99);
    assert_eq!(summary.trace.last().unwrap().index, 99);
}

#[test]
fn operation_codes_round_trip() {
    for code in 0..15 {
        let operation = Operation::from_code(code).expect("a listed operation");
        assert_eq!(operation.code(), code);
    }
    assert_eq!(Operation::from_code(15), None);
}
