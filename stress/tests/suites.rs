//! Every suite at a small size, checked both through its typed results (the counts the
//! invariants rest on) and through the runner's report. One test, so that it is the only
//! test in its binary: the churn and terminate suites compare the process's OS thread count
//! with its baseline, which another test's thread would disturb.

use std::time::Duration;
use weft_stress::suites::{
    Round, churn, grow, litmus, semaphore, storm, table_calls, terminate, wasi_churn,
};
use weft_stress::{Findings, Plan, Suite};

fn round(seed: u64) -> Round {
    Round {
        seed,
        deadline: Duration::from_secs(60),
    }
}

/// Asserts that `findings` reports no violation.
fn assert_held(suite: &str, findings: &dyn Findings) {
    let violations = findings.check();
    assert!(
        violations.is_empty(),
        "{suite}: {violations:?}\n{:?}",
        findings.figures()
    );
}

fn litmus_counts_every_repetition() {
    let params = litmus::Params {
        reps: 5_000,
        max_delay: 255,
    };
    let results = litmus::run(&params, &round(1)).unwrap();
    assert_held("litmus", &results);
    assert_eq!(results.runs.len(), 6, "MP, SB, LB with and without atomics");
    for run in &results.runs {
        assert_eq!(run.histogram.iter().sum::<u64>(), 5_000, "{}", run.test);
        assert_eq!(run.threads.finished, 2);
        if run.test.atomic {
            assert_eq!(run.histogram[run.test.shape.forbidden()], 0);
        }
    }
}

fn storm_accounts_for_every_wakeup() {
    let params = storm::Params {
        waiters: 4,
        attached_waiters: 2,
        notifiers: 2,
        addresses: 3,
        rounds: 300,
    };
    let results = storm::run(&params, &round(2)).unwrap();
    assert_held("storm", &results);
    assert!(results.waiters.iter().all(|w| w.rounds == 300));
    let ok: u64 = results.waiters.iter().map(|w| w.ok).sum();
    let woken: u64 = results.notifiers.iter().map(|n| n.woken).sum();
    assert_eq!(ok, woken);
    assert!(ok > 0, "some waits really blocked and were woken");
}

fn churn_leaves_nothing_behind() {
    let params = churn::Params {
        spawns: 1_000,
        max_batch: 3,
    };
    let results = churn::run(&params, &round(3)).unwrap();
    assert_held("churn", &results);
    assert_eq!(results.spawned, 1_000);
    assert!(results.attached > 0);
    assert_eq!(results.counter, results.spawned + results.attached);
    assert!(results.batches.iter().all(|&batches| batches > 0));
    assert_eq!(results.os_threads.after, results.os_threads.before);
    assert!(results.os_threads.peak > results.os_threads.before);
    assert!(results.blocks_created <= 3);
}

fn wasi_churn_leaves_nothing_behind() {
    let params = wasi_churn::Params {
        spawns: 300,
        max_batch: 3,
    };
    let results = wasi_churn::run(&params, &round(3)).unwrap();
    assert_held("wasi-churn", &results);
    assert_eq!(results.spawned, 300);
    assert_eq!(results.counter, 300);
    assert_eq!(results.largest_tid, 300, "ids from 1, never reused");
    assert_eq!(results.os_threads.after, results.os_threads.before);
    assert!(results.os_threads.peak > results.os_threads.before);
}

fn semaphore_ring_passes_every_item_once() {
    let params = semaphore::Params {
        producers: 2,
        consumers: 3,
        attached_consumers: 1,
        items_per_producer: 1_000,
        slots: 3,
        max_delay: 15,
    };
    let results = semaphore::run(&params, &round(4)).unwrap();
    assert_held("semaphore", &results);
    assert_eq!(results.sightings, [0, 2_000, 0]);
    let counts: Vec<u64> = results.consumers.iter().map(|c| c.count).collect();
    assert_eq!(counts, [668, 666, 666]);
    assert_eq!((results.free_permits, results.full_permits), (3, 0));
}

fn terminate_stops_exactly_the_threads_it_should() {
    let params = terminate::Params {
        rounds: 30,
        max_threads: 4,
        join_deadline: Duration::from_secs(5),
    };
    let results = terminate::run(&params, &round(5)).unwrap();
    assert_held("terminate", &results);
    assert_eq!(results.rounds.len(), 30);
    assert_eq!(results.fresh_spawns, 30);
    assert_eq!(results.os_threads.after, results.os_threads.before);
    let kinds = [
        terminate::RoundKind::StoreWide,
        terminate::RoundKind::HomeBlocked,
        terminate::RoundKind::Single,
    ];
    for kind in kinds {
        assert!(results.rounds.iter().any(|r| r.kind == kind), "{kind:?}");
    }
}

fn grow_never_traps_readers() {
    let params = grow::Params {
        rounds: 2,
        growers: 2,
        readers: 2,
        grows_per_grower: 50,
        host_grows: 10,
        initial_pages: 2,
    };
    let results = grow::run(&params, &round(6)).unwrap();
    assert_held("grow", &results);
    assert_eq!(results.rounds.len(), 2);
    assert!(results.rounds[1].explicit_bounds_checks);
    for round in &results.rounds {
        let pages: u64 = round.growers.iter().map(|g| g.pages).sum();
        assert_eq!(round.final_pages, 2 + pages + round.host_pages);
        assert!(round.readers.iter().all(|r| r.passes > 0));
    }
}

fn table_calls_return_installed_constants() {
    let params = table_calls::Params {
        setters: 2,
        callers: 2,
        calls_per_caller: 50_000,
        entries: 5,
    };
    let results = table_calls::run(&params, &round(7)).unwrap();
    assert_held("table-calls", &results);
    let calls: u64 = results
        .callers
        .iter()
        .map(|c| c.returned.iter().sum::<u64>() + c.other)
        .sum();
    assert_eq!(calls, 100_000);
    assert!(results.guest_sets > 0);
}

fn the_runner_reports_every_suite() {
    let plan = Plan::scaled(2, 2_000);
    for suite in Suite::ALL {
        let report = suite.run(&plan, 8).unwrap();
        assert!(report.passed(), "{suite:?}: {:?}", report.violations);
        assert!(!report.figures.is_empty());
    }
}

#[test]
fn every_suite_holds_its_invariants_at_a_small_size() {
    litmus_counts_every_repetition();
    storm_accounts_for_every_wakeup();
    churn_leaves_nothing_behind();
    wasi_churn_leaves_nothing_behind();
    semaphore_ring_passes_every_item_once();
    terminate_stops_exactly_the_threads_it_should();
    grow_never_traps_readers();
    table_calls_return_installed_constants();
    the_runner_reports_every_suite();
}
