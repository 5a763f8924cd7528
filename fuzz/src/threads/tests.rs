//! Tests of the threads target: cases replay from their seed, the first seeds pass, and the
//! checks reject what they must (outcomes sequential consistency forbids, a wrong final
//! memory, a program whose lock is broken).

use super::Threads;
use super::case::{Case, Family, check_litmus};
use super::litmus::{Litmus, Location, Op, Outcome};
use super::run::{Host, Mode, Observation, Program, Runner, Scheduling};
use super::sc::allowed_outcomes;
use super::wat::{Flavor, WAITS_TIMED_OUT};
use crate::target::Target;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use weft::Schedule;

#[test]
fn a_seed_makes_the_same_case_every_time() {
    for seed in 0..50 {
        let case = Case::generate(seed);
        let again = Case::generate(seed);
        assert_eq!(case, again, "seed {seed}");
        assert_eq!(case.module(), again.module(), "seed {seed}");
    }
    // And different seeds make different programs.
    let modules: BTreeSet<String> = (0..50).map(|seed| Case::generate(seed).module()).collect();
    assert!(modules.len() > 45, "{} distinct modules", modules.len());
}

#[test]
fn the_seeds_cover_both_families_and_flavors() {
    let cases: Vec<Case> = (0..30).map(Case::generate).collect();
    for (family, flavor) in [
        ("litmus", Flavor::Guest),
        ("litmus", Flavor::Wasi),
        ("race-free", Flavor::Guest),
        ("race-free", Flavor::Wasi),
    ] {
        assert!(
            cases
                .iter()
                .any(|case| case.family.name() == family && case.flavor == flavor),
            "no {family} program as {flavor:?} among the first 30 seeds"
        );
    }
}

#[test]
fn the_first_seeds_pass() {
    let mut threads = Threads::new().expect("the runner");
    for seed in 0..30 {
        if let Err(failure) = threads.run(seed) {
            let reproducer = failure
                .artifacts
                .first()
                .map(|(_, bytes)| String::from_utf8_lossy(bytes).into_owned())
                .unwrap_or_default();
            panic!("{}\n{reproducer}", failure.what);
        }
    }
    let report = threads.report();
    for line in &report {
        println!("{line}");
    }
    // The runs happened: every host ran something, under schedules too.
    for host in ["guest threads", "instance per thread", "one instance"] {
        let line = report
            .iter()
            .find(|line| line.starts_with("runs as") && line.contains(host))
            .expect("a line per host");
        assert!(!line.contains(" 0 free"), "{line}");
        assert!(!line.contains(" 0 under schedules"), "{line}");
    }
}

/// A memory holding `values` at the result slots of `litmus` in outcome order, then the
/// final values at the locations (all in memory).
fn observation_of(litmus: &Litmus, outcome: &[u32]) -> Observation {
    let mut memory = vec![0; litmus.memory_extent() as usize];
    let mut values = outcome.iter();
    for (thread, ops) in litmus.threads.iter().enumerate() {
        let results = ops.iter().filter(|op| op.has_result()).count();
        for slot in 0..results {
            let address = Litmus::result_address(thread, slot) as usize;
            let value = values.next().expect("a value per result");
            memory[address..address + 4].copy_from_slice(&value.to_le_bytes());
        }
    }
    for location in &litmus.locations {
        let Location::Memory(address) = *location else {
            panic!("the shapes keep their locations in memory");
        };
        let value = values.next().expect("a value per location");
        let address = address as usize;
        memory[address..address + 4].copy_from_slice(&value.to_le_bytes());
    }
    Observation {
        memory,
        globals: Vec::new(),
        schedule: None,
    }
}

#[test]
fn the_litmus_check_rejects_what_sequential_consistency_forbids() {
    // (shape, an outcome SC forbids, the outcomes it allows): results in thread order,
    // then x and y.
    let cases: [(&str, Outcome, usize); 5] = [
        // The reader sees the flag but not the data.
        ("MP", vec![1, 0, 1, 1], 3),
        // Both loads miss the other thread's store.
        ("SB", vec![0, 0, 1, 1], 3),
        // Each load sees the other thread's later store.
        ("LB", vec![1, 1, 1, 1], 3),
        // The readers disagree on the order of the two writes.
        ("IRIW", vec![1, 0, 1, 0, 1, 1], 15),
        // Both first stores come last.
        ("2+2W", vec![1, 1], 3),
    ];
    for (shape, forbidden, count) in cases {
        let litmus = Litmus::shape(shape).expect("a known shape");
        let allowed = allowed_outcomes(&litmus);
        assert_eq!(allowed.len(), count, "{shape}: {allowed:?}");
        let error =
            check_litmus(&litmus, &allowed, &observation_of(&litmus, &forbidden)).expect_err(shape);
        assert!(
            error.contains("not sequentially consistent"),
            "{shape}: {error}"
        );
        for outcome in &allowed {
            let checked = check_litmus(&litmus, &allowed, &observation_of(&litmus, outcome));
            assert_eq!(checked.as_ref(), Ok(outcome), "{shape}");
        }
    }
}

/// Every outcome of every interleaving, by brute force: each order of the threads' steps
/// tried, nothing remembered.
fn every_interleaving(litmus: &Litmus) -> BTreeSet<Outcome> {
    fn walk(
        litmus: &Litmus,
        positions: &mut Vec<usize>,
        values: Vec<u32>,
        results: Vec<Vec<u32>>,
        outcomes: &mut BTreeSet<Outcome>,
    ) {
        let mut finished = true;
        for thread in 0..litmus.threads.len() {
            let Some(&op) = litmus.threads[thread].get(positions[thread]) else {
                continue;
            };
            finished = false;
            let mut values = values.clone();
            let mut results = results.clone();
            if let Some(result) = op.apply(&mut values) {
                results[thread].push(result);
            }
            positions[thread] += 1;
            walk(litmus, positions, values, results, outcomes);
            positions[thread] -= 1;
        }
        if finished {
            let mut outcome: Outcome = results.concat();
            outcome.extend(values);
            outcomes.insert(outcome);
        }
    }
    let mut outcomes = BTreeSet::new();
    walk(
        litmus,
        &mut vec![0; litmus.threads.len()],
        litmus.initial.clone(),
        vec![Vec::new(); litmus.threads.len()],
        &mut outcomes,
    );
    outcomes
}

#[test]
fn the_enumeration_finds_what_brute_force_finds() {
    let mut checked = 0;
    for seed in 0..300 {
        if let Family::Litmus(litmus) = Case::generate(seed).family {
            assert_eq!(
                allowed_outcomes(&litmus),
                every_interleaving(&litmus),
                "seed {seed}:\n{}",
                litmus.listing()
            );
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked} litmus programs");
}

#[test]
fn a_notify_nobody_waits_for_must_wake_nobody() {
    let mut litmus = Litmus::shape("MP").expect("a known shape");
    litmus.threads[1].push(Op::Notify(0));
    let allowed = allowed_outcomes(&litmus);
    // Reads y and x as SC allows, but the notify claims to have woken a waiter.
    let error = check_litmus(
        &litmus,
        &allowed,
        &observation_of(&litmus, &[1, 1, 1, 1, 1]),
    )
    .expect_err("a notify woke a waiter that never waited");
    assert!(error.contains("t1.2=1"), "{error}");
}

#[test]
fn the_watchdog_stops_a_run_that_hangs() {
    // A guest-threads program whose main thread spins forever, in a loop without calls.
    let wat = r#"(module
      (memory (export "memory") 1 1 shared)
      (func (export "run") (param i32) (loop $forever (br $forever))))"#;
    let deadline = Duration::from_millis(200);
    let runner = Runner::with_deadline(deadline).expect("the engines");
    let mut program = Program::new(&runner, wat, 64, &[]);
    for scheduling in [Scheduling::Free, Scheduling::Explored(Schedule::random(0))] {
        let started = Instant::now();
        let error = program
            .run(Mode {
                host: Host::Guest,
                scheduling,
            })
            .err()
            .expect("the run is stopped");
        assert!(error.starts_with("still running after 200ms"), "{error}");
        assert!(started.elapsed() < 50 * deadline, "{:?}", started.elapsed());
    }
    // The watchdog is ready for the next run, which it leaves alone.
    let case = Case::generate(0);
    let runs = Case {
        runs: case.runs[..1].to_vec(),
        ..case
    };
    assert!(runs.run(&runner, &mut |_, _, _| {}).is_ok());
}

/// The first race-free case, from seed 0 on, that `wanted` accepts.
fn race_free_case(wanted: impl Fn(&Case) -> bool) -> Case {
    (0..10_000)
        .map(Case::generate)
        .find(|case| matches!(case.family, Family::RaceFree(_)) && wanted(case))
        .expect("a seed gives such a case")
}

#[test]
fn the_race_free_check_names_a_wrong_word() {
    let case = race_free_case(|_| true);
    let Family::RaceFree(program) = &case.family else {
        unreachable!("race_free_case gives race-free cases");
    };
    let expected = program.expected();
    let memory = expected.memory[..program.extent as usize].to_vec();
    assert_eq!(program.check(&expected, &memory, &expected.globals), Ok(()));
    // Each labeled location, changed, is named in the failure.
    for (start, length, name) in &program.labels {
        if *length == 0 {
            continue;
        }
        let mut wrong = memory.clone();
        wrong[*start as usize] ^= 0x10;
        let error = program
            .check(&expected, &wrong, &expected.globals)
            .expect_err(name);
        assert!(error.starts_with(name.as_str()), "{error} (changed {name})");
    }
    // So is a timed-out wait, in any family.
    let mut timed_out = memory.clone();
    timed_out[WAITS_TIMED_OUT as usize] = 1;
    let observation = Observation {
        memory: timed_out,
        globals: expected.globals.clone(),
        schedule: None,
    };
    let error = case.check_counters(&observation).expect_err("a timeout");
    assert!(error.contains("timed out"), "{error}");
}

/// `case` with only runs under `schedules` random schedules, in its first host.
fn under_schedules(case: &Case, schedules: u64) -> Case {
    let host = Host::all_for(case.flavor)[0];
    let runs = (0..schedules)
        .map(|seed| Mode {
            host,
            scheduling: Scheduling::Explored(Schedule::random(seed)),
        })
        .collect();
    Case {
        runs,
        ..case.clone()
    }
}

#[test]
fn a_broken_lock_gives_a_wrong_answer_under_schedules() {
    // A lock that two threads or more take, guarding words where a lost update shows.
    let case = race_free_case(|case| match &case.family {
        Family::RaceFree(program) => {
            program.has_contended_lock()
                && program.locks.iter().all(|lock| {
                    lock.guarded
                        .iter()
                        .all(|&(_, _, combine)| matches!(combine, super::race_free::Combine::Add))
                })
        }
        Family::Litmus(_) => false,
    });
    let runner = Runner::new().expect("the runner");
    let correct = under_schedules(&case, 100);
    correct
        .run(&runner, &mut |_, _, _| {})
        .unwrap_or_else(|failure| panic!("the correct program failed: {}", failure.what));
    let mut broken = correct.clone();
    if let Family::RaceFree(program) = &mut broken.family {
        program.break_locks();
    }
    let failure = broken
        .run(&runner, &mut |_, _, _| {})
        .expect_err("a schedule where two threads hold the broken lock at once");
    assert!(
        failure.what.contains("lock") && failure.what.contains("expected"),
        "{}",
        failure.what
    );
    assert!(failure.reproducer.contains("$lock_check_then_set"));
    assert!(failure.reproducer.starts_with(";; weft-fuzz threads, case"));
}
