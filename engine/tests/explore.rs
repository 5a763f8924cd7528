//! Schedule exploration (`Engine::explore`) through the embedding API: a check-then-act
//! counter loses updates under some schedule and each seed replays its own exactly, the
//! same counter under an atomic add or a host mutex never does, a lost wakeup is reported as
//! a deadlock with each thread's blocking site, and threads the embedder starts take part
//! through `Engine::thread_handoff`.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::thread;
use weft::*;

mod support;
use support::RUN_TWO_WORKERS;

/// `run` spawns two threads that each bump the counter at 16 three times with `bump`, waits
/// for both through an atomic count, and returns the counter.
fn counter_module(bump: &str) -> String {
    format!(
        r#"(module
             (type $entry (shared (func (param i32))))
             (type $spawn_t (shared (func (param (ref null $entry) i32) (result i32))))
             (type $timed (shared (func (param i64) (result i32))))
             (type $void (shared (func)))
             (import "wasm:thread" "spawn-ref" (func $spawn (type $spawn_t)))
             (import "host" "m.lock" (func $lock (type $timed)))
             (import "host" "m.unlock" (func $unlock (type $void)))
             (memory $m 1 1 shared)
             (elem declare func $worker)
             (func $bump (export "bump") (type $void) {bump})
             (func (export "count") (result i32) (i32.atomic.load (i32.const 16)))
             (func $worker (type $entry)
               (call $bump) (call $bump) (call $bump)
               (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
               (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
             {RUN_TWO_WORKERS})"#
    )
}

/// Reads, then writes: atomic accesses, but another thread can come between them.
const CHECK_THEN_ACT: &str =
    "(i32.atomic.store (i32.const 16) (i32.add (i32.atomic.load (i32.const 16)) (i32.const 1)))";
const ATOMIC_ADD: &str = "(drop (i32.atomic.rmw.add (i32.const 16) (i32.const 1)))";
/// The check-then-act bump under the host mutex.
const LOCKED: &str = "(drop (call $lock (i64.const -1)))
    (i32.atomic.store (i32.const 16) (i32.add (i32.atomic.load (i32.const 16)) (i32.const 1)))
    (call $unlock)";

fn exploring_engine() -> Engine {
    let mut config = Config::new();
    config
        .wasm_features(WasmFeatures::default() | WasmFeatures::SHARED_EVERYTHING_THREADS)
        .explore(true);
    Engine::new(&config).unwrap()
}

/// A fresh store and instance of `module`, with the host mutex its imports name.
fn instantiate(engine: &Engine, module: &Module) -> (Store<()>, Instance) {
    let mut store = Store::new(engine, ());
    let mut linker = Linker::new(engine);
    linker
        .define_mutex("host", "m", &Arc::new(HostMutex::new()))
        .unwrap();
    let instance = linker.instantiate(&mut store, module).unwrap();
    (store, instance)
}

/// Runs the counter from scratch under `schedule`: the count and the schedule's report.
fn count_under(engine: &Engine, module: &Module, schedule: Schedule) -> (i32, ScheduleReport) {
    let (count, report) = engine
        .explore(schedule, || {
            let (mut store, instance) = instantiate(engine, module);
            let run = instance
                .get_typed_func::<(), i32>(&mut store, "run")
                .unwrap();
            run.call(&mut store, ()).unwrap()
        })
        .unwrap();
    (count, report)
}

/// The report with native addresses, which differ between runs, left out.
fn trace_shape(report: &ScheduleReport) -> Vec<(u64, u32, ScheduleOperation, Option<String>, u32)> {
    report
        .trace
        .iter()
        .map(|step| {
            (
                step.index,
                step.thread,
                step.operation,
                step.function.clone(),
                step.offset,
            )
        })
        .collect()
}

#[test]
fn pct_finds_a_lost_update_and_its_seed_replays_it() {
    let engine = exploring_engine();
    let module = Module::new(&engine, counter_module(CHECK_THEN_ACT)).unwrap();
    let (_, probe) = count_under(&engine, &module, Schedule::pct(1, 1, 0));
    let length = probe.decisions.max(1);
    let lost = (0..1000)
        .map(|seed| Schedule::pct(3, length, seed))
        .find_map(|schedule| {
            let (count, report) = count_under(&engine, &module, schedule);
            (count < 6).then_some((schedule, count, report))
        });
    let (schedule, count, report) = lost.expect("a schedule that loses an update");
    assert_eq!(report.threads, 3);
    assert!(report.deadlock.is_none());
    // The steps name the functions and operations of the module.
    let bumps: BTreeSet<ScheduleOperation> = report
        .trace
        .iter()
        .filter(|step| step.function.as_deref() == Some("bump"))
        .map(|step| step.operation)
        .collect();
    assert_eq!(
        bumps,
        BTreeSet::from([
            ScheduleOperation::AtomicLoad,
            ScheduleOperation::AtomicStore
        ]),
        "{:#?}",
        report.trace
    );
    for _ in 0..10 {
        let (again, replayed) = count_under(&engine, &module, schedule);
        assert_eq!(again, count);
        assert_eq!(replayed.steps, report.steps);
        assert_eq!(trace_shape(&replayed), trace_shape(&report));
    }
}

#[test]
fn an_atomic_add_or_a_host_mutex_never_loses_an_update() {
    let engine = exploring_engine();
    for bump in [ATOMIC_ADD, LOCKED] {
        let module = Module::new(&engine, counter_module(bump)).unwrap();
        for seed in 0..100 {
            for schedule in [Schedule::pct(3, 40, seed), Schedule::random(seed)] {
                let (count, report) = count_under(&engine, &module, schedule);
                assert_eq!(count, 6, "{bump}: {schedule:?}");
                assert!(report.deadlock.is_none(), "{bump}: {schedule:?}");
            }
        }
    }
}

/// The worker checks a flag, then waits on a word the flag's setter never changes: a
/// notify between the check and the wait is lost, and `run`, waiting for the worker,
/// deadlocks with it.
const LOST_WAKEUP: &str = r#"(module
  (type $entry (shared (func (param i32))))
  (type $spawn_t (shared (func (param (ref null $entry) i32) (result i32))))
  (import "wasm:thread" "spawn-ref" (func $spawn (type $spawn_t)))
  (memory 1 1 shared)
  (elem declare func $waiter)
  (func $waiter (type $entry)
    (if (i32.eqz (i32.atomic.load (i32.const 0)))
      (then (drop (memory.atomic.wait32 (i32.const 4) (i32.const 0) (i64.const -1)))))
    (i32.atomic.store (i32.const 8) (i32.const 1))
    (drop (memory.atomic.notify (i32.const 8) (i32.const 1))))
  (func $run (export "run")
    (drop (call $spawn (ref.func $waiter) (i32.const 0)))
    (i32.atomic.store (i32.const 0) (i32.const 1))
    (drop (memory.atomic.notify (i32.const 4) (i32.const 1)))
    (drop (memory.atomic.wait32 (i32.const 8) (i32.const 0) (i64.const -1)))))"#;

#[test]
fn a_lost_wakeup_is_a_deadlock_with_each_blocking_site() {
    let engine = exploring_engine();
    let module = Module::new(&engine, LOST_WAKEUP).unwrap();
    let run = |schedule| {
        engine
            .explore(schedule, || {
                let (mut store, instance) = instantiate(&engine, &module);
                let run = instance
                    .get_typed_func::<(), ()>(&mut store, "run")
                    .unwrap();
                run.call(&mut store, ())
            })
            .unwrap()
    };
    let (result, report) = (0..1000)
        .map(|seed| run(Schedule::pct(2, 10, seed)))
        .find(|(_, report)| report.deadlock.is_some())
        .expect("a schedule that loses the wakeup");
    // The deadlock interrupted the waits so that the program could end.
    assert!(
        matches!(
            result,
            Err(Error::Trap {
                trap: Trap::Interrupted,
                ..
            })
        ),
        "{result:?}"
    );
    let deadlock = report.deadlock.unwrap();
    let sites: Vec<(u32, ScheduleOperation, Option<&str>)> = deadlock
        .iter()
        .map(|blocked| {
            (
                blocked.thread,
                blocked.at.operation,
                blocked.at.function.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        sites,
        [
            (0, ScheduleOperation::Wait, Some("run")),
            (1, ScheduleOperation::Wait, Some("waiter")),
        ]
    );
    assert!(
        deadlock[0]
            .to_string()
            .starts_with("thread 0 waits for a notify of 0x")
    );
}

/// Two host threads, started by the embedder inside the schedule, bump the counter three
/// times each through an attachment; returns the count.
fn host_threads_count(engine: &Engine, module: &Module) -> i32 {
    let (mut store, instance) = instantiate(engine, module);
    let shared = instance.share(&mut store).unwrap();
    thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let handoff = engine.thread_handoff();
                let (entering, shared) = (handoff.clone(), shared.clone());
                let thread = scope.spawn(move || {
                    let entered = entering.enter();
                    let thread = shared.attach().unwrap();
                    let bump = shared.get_typed_func::<(), ()>("bump").unwrap();
                    for _ in 0..3 {
                        bump.call(&thread, ()).unwrap();
                    }
                    drop(thread);
                    entered.finish(false);
                });
                handoff.started();
                (handoff, thread)
            })
            .collect();
        for (handoff, thread) in workers {
            handoff.join(|| thread.join().unwrap());
        }
    });
    let count = instance.get_typed_func::<(), i32>(&mut store, "count");
    count.unwrap().call(&mut store, ()).unwrap()
}

#[test]
fn host_threads_take_part_through_their_handoff() {
    let engine = exploring_engine();
    let module = Module::new(&engine, counter_module(CHECK_THEN_ACT)).unwrap();
    let under = |schedule| {
        engine
            .explore(schedule, || host_threads_count(&engine, &module))
            .unwrap()
    };
    let (count, report) = (0..1000)
        .map(|seed| under(Schedule::random(seed)))
        .find(|(count, _)| *count < 6)
        .expect("a schedule of the host threads that loses an update");
    assert_eq!(report.threads, 3);
    for _ in 0..10 {
        let (again, replayed) = under(report.schedule);
        assert_eq!(again, count);
        assert_eq!(trace_shape(&replayed), trace_shape(&report));
    }
}

#[test]
fn exploring_needs_an_engine_made_for_it() {
    let engine = Engine::default();
    let error = engine.explore(Schedule::random(0), || ()).unwrap_err();
    assert!(
        matches!(error, Error::Usage(UsageError::ExplorationOff)),
        "{error}"
    );
}

/// A wasi-threads process joined inside a schedule gives up the turn while it waits: the
/// joiner waits for threads that can only run when it does not hold the turn. Found by the
/// threads fuzzer, where `WasiThreads::join` in a schedule never returned.
#[test]
fn a_wasi_threads_join_inside_a_schedule_lets_the_threads_run() {
    let engine = exploring_engine();
    let module = Module::new(
        &engine,
        r#"(module
             (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
             (import "env" "memory" (memory 1 1 shared))
             (func (export "wasi_thread_start") (param i32 i32)
               ;; Each thread spawns one more until three have run.
               (if (i32.lt_u (i32.atomic.rmw.add (i32.const 0) (i32.const 1)) (i32.const 2))
                 (then (drop (call $spawn (i32.const 0))))))
             (func (export "run") (drop (call $spawn (i32.const 0)))))"#,
    )
    .unwrap();
    for model in [
        WasiThreadsModel::InstancePerThread,
        WasiThreadsModel::OneInstance,
    ] {
        for seed in 0..20 {
            let memory = SharedMemory::new(&engine, MemoryType::shared(1, 1)).unwrap();
            let (count, report) = engine
                .explore(Schedule::random(seed), || {
                    let mut linker = Linker::new(&engine);
                    linker.define("env", "memory", memory.clone()).unwrap();
                    let threads = WasiThreads::with_model(linker, &module, model).unwrap();
                    let mut store = Store::new(&engine, ());
                    let instance = threads.instantiate(&mut store).unwrap();
                    let run = instance
                        .get_typed_func::<(), ()>(&mut store, "run")
                        .unwrap();
                    run.call(&mut store, ()).unwrap();
                    threads.join().unwrap();
                    let mut word = [0; 4];
                    memory.read(0, &mut word).unwrap();
                    i32::from_le_bytes(word)
                })
                .unwrap();
            assert_eq!(count, 3, "{model:?}, seed {seed}");
            assert!(report.deadlock.is_none(), "{model:?}, seed {seed}");
        }
    }
}
