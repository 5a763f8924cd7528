//! The data-race detector (`Config::detect_races`) through the embedding API: a racy counter
//! is reported with both access sites, the same counter with atomics or a lock built on
//! global atomics is not, and host threads that the embedder starts and joins are ordered
//! through `Engine::race_fork`.

use std::collections::BTreeSet;
use std::thread;
use weft::*;

mod support;
use support::RUN_TWO_WORKERS;

/// Two spawned threads add 1000 to the counter at 16, each with `$bump`; `run` waits for
/// both through an atomic count and returns the counter.
fn counter_module(bump: &str) -> String {
    format!(
        r#"(module
             (type $entry (shared (func (param i32))))
             (type $spawn_t (shared (func (param (ref null $entry) i32) (result i32))))
             (import "wasm:thread" "spawn-ref" (func $spawn (type $spawn_t)))
             (memory $m 1 1 shared)
             (global $lock (shared mut i32) (i32.const 0))
             (elem declare func $worker)
             (func $bump (type $entry) {bump})
             (func $worker (type $entry)
               (local $i i32)
               (loop $l
                 (call $bump (i32.const 0))
                 (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))
               (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
               (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
             {RUN_TWO_WORKERS})"#
    )
}

const PLAIN: &str = "(i32.store (i32.const 16) (i32.add (i32.load (i32.const 16)) (i32.const 1)))";
const ATOMIC: &str = "(drop (i32.atomic.rmw.add (i32.const 16) (i32.const 1)))";
/// A spin lock on a shared global's compare-exchange around the plain increment.
const LOCKED: &str = "(loop $spin
      (br_if $spin (global.atomic.rmw.cmpxchg seqcst $lock (i32.const 0) (i32.const 1))))
    (i32.store (i32.const 16) (i32.add (i32.load (i32.const 16)) (i32.const 1)))
    (global.atomic.set seqcst $lock (i32.const 0))";

fn detecting_engine() -> Engine {
    let mut config = Config::new();
    config
        .wasm_features(WasmFeatures::default() | WasmFeatures::SHARED_EVERYTHING_THREADS)
        .detect_races(true);
    Engine::new(&config).unwrap()
}

/// Runs the counter with `bump` on `engine` and returns what it counted.
fn run_counter(engine: &Engine, bump: &str) -> i32 {
    let module = Module::new(engine, counter_module(bump)).unwrap();
    let mut store = Store::new(engine, ());
    // The linker provides the `wasm:thread` intrinsics.
    let instance = Linker::new(engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let run = instance
        .get_typed_func::<(), i32>(&mut store, "run")
        .unwrap();
    run.call(&mut store, ()).unwrap()
}

#[test]
fn a_racy_counter_is_reported_with_both_access_sites() {
    let engine = detecting_engine();
    run_counter(&engine, PLAIN);
    let races = engine.data_races();
    assert!(!races.is_empty(), "the plain counter races");
    for race in &races {
        for access in [&race.earlier, &race.later] {
            assert_eq!(access.function, "bump", "{race}");
        }
        assert_ne!(race.earlier.thread, race.later.thread, "{race}");
        assert!(race.earlier.write || race.later.write, "{race}");
    }
    // The load and the store are two sites; every pair among them is reported once.
    let sites: std::collections::BTreeSet<(u32, bool)> = races
        .iter()
        .flat_map(|race| [&race.earlier, &race.later])
        .map(|access| (access.offset, access.write))
        .collect();
    assert_eq!(sites.len(), 2, "{races:?}");
    assert!(
        races
            .iter()
            .all(|race| race.to_string().starts_with("data race: "))
    );
}

#[test]
fn atomics_and_a_lock_on_global_atomics_are_clean() {
    for bump in [ATOMIC, LOCKED] {
        let engine = detecting_engine();
        assert_eq!(run_counter(&engine, bump), 2000);
        assert_eq!(engine.data_races(), Vec::new(), "{bump}");
    }
}

#[test]
fn without_detection_nothing_is_reported() {
    let mut config = Config::new();
    config.wasm_features(WasmFeatures::default() | WasmFeatures::SHARED_EVERYTHING_THREADS);
    let engine = Engine::new(&config).unwrap();
    run_counter(&engine, PLAIN);
    assert_eq!(engine.data_races(), Vec::new());
}

#[test]
fn host_threads_are_ordered_by_the_handoff_of_their_fork_and_join() {
    let engine = detecting_engine();
    let memory = SharedMemory::new(&engine, MemoryType::shared(1, 1)).unwrap();
    let module = Module::new(
        &engine,
        r#"(module
             (memory (import "env" "memory") 1 1 shared)
             (func (export "write") (i32.store (i32.const 8) (i32.const 7)))
             (func (export "read") (result i32) (i32.load (i32.const 8))))"#,
    )
    .unwrap();
    let call = |name: &str| -> i32 {
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[memory.clone().into()]).unwrap();
        let func = instance.get_func(&mut store, name).unwrap();
        let mut results = if name == "read" {
            vec![Val::I32(0)]
        } else {
            Vec::new()
        };
        func.call(&mut store, &[], &mut results).unwrap();
        results.first().and_then(Val::i32).unwrap_or(0)
    };
    // Joined through the hand-off: the write happens before the read.
    let handoff = engine.thread_handoff();
    thread::scope(|scope| {
        let entering = handoff.clone();
        let thread = scope.spawn(move || {
            let _entered = entering.enter();
            call("write");
        });
        handoff.started();
        handoff.join(|| thread.join().unwrap());
    });
    assert_eq!(call("read"), 7);
    assert_eq!(engine.data_races(), Vec::new());
    // A thread the detector was not told about is a stranger: its write races with the
    // first thread's write and with the read, which nothing orders it with.
    thread::scope(|scope| {
        scope.spawn(|| call("write"));
    });
    let races = engine.data_races();
    assert_eq!(races.len(), 2, "{races:?}");
    assert!(
        races
            .iter()
            .all(|race| race.later.write && race.later.thread == 2)
    );
}

#[test]
fn plain_accesses_to_shared_globals_and_bulk_memory_operations_are_checked() {
    // `$bump` reads and writes a shared global plainly; `$fill` fills the same bytes with
    // memory.fill from both threads.
    let global = "(global.set $lock (i32.add (global.get $lock) (i32.const 1)))";
    let fill = "(memory.fill (i32.const 64) (local.get 0) (i32.const 64))";
    for bump in [global, fill] {
        let engine = detecting_engine();
        run_counter(&engine, bump);
        let races = engine.data_races();
        assert!(!races.is_empty(), "{bump}");
        assert!(
            races
                .iter()
                .all(|race| race.earlier.function == "bump" && race.later.function == "bump"),
            "{races:?}"
        );
    }
}

#[test]
fn host_mutexes_condvars_and_semaphores_order_guest_threads() {
    let engine = detecting_engine();
    let module = Module::new(
        &engine,
        r#"(module
             (type $entry (shared (func (param i32))))
             (type $timed (shared (func (param i64) (result i32))))
             (type $void (shared (func)))
             (type $count_t (shared (func (param i32))))
             (import "host" "m.lock" (func $lock (type $timed)))
             (import "host" "m.unlock" (func $unlock (type $void)))
             (import "host" "s.acquire" (func $acquire (type $timed)))
             (import "host" "s.release" (func $release (type $count_t)))
             (memory 1 1 shared)
             ;; A plain counter at 0 under the mutex, 1000 times.
             (func (export "locked") (type $entry)
               (local $i i32)
               (loop $l
                 (drop (call $lock (i64.const -1)))
                 (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
                 (call $unlock)
                 (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br_if $l (i32.lt_u (local.get $i) (i32.const 1000)))))
             ;; A plain write at 16, handed over through the semaphore.
             (func (export "produce") (type $entry)
               (i32.store (i32.const 16) (local.get 0))
               (call $release (i32.const 1)))
             (func (export "consume") (type $entry)
               (drop (call $acquire (i64.const -1)))
               (drop (i32.load (i32.const 16)))))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    linker
        .define_mutex("host", "m", &std::sync::Arc::new(HostMutex::new()))
        .unwrap()
        .define_semaphore("host", "s", &std::sync::Arc::new(Semaphore::new(0)))
        .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let mut spawn = |name: &str, arg: i32| {
        let func = instance.get_func(&mut store, name).unwrap();
        store.spawn(&func, arg).unwrap()
    };
    let ids = [
        spawn("locked", 0),
        spawn("locked", 1),
        spawn("consume", 0),
        spawn("produce", 7),
    ];
    for id in ids {
        assert!(matches!(
            store.join_thread(id),
            Some(ThreadOutcome::Finished)
        ));
    }
    assert_eq!(engine.data_races(), Vec::new());
}

/// `run` makes a shared struct and a shared array, each holding a counter, publishes them in
/// shared globals and spawns two workers that bump both 100 times with `bump_field` and
/// `bump_element`; it waits for both and returns the struct's count.
fn object_counter_module(bump_field: &str, bump_element: &str) -> String {
    format!(
        r#"(module
             (type $counter (shared (struct (field $n (mut i32)))))
             (type $counts (shared (array (mut i32))))
             (type $entry (shared (func (param i32))))
             (type $spawn_t (shared (func (param (ref null $entry) i32) (result i32))))
             (import "wasm:thread" "spawn-ref" (func $spawn (type $spawn_t)))
             (memory $m 1 1 shared)
             (global $struct (shared mut (ref null $counter)) (ref.null $counter))
             (global $array (shared mut (ref null $counts)) (ref.null $counts))
             (elem declare func $worker)
             (func $bump_field (type $entry) {bump_field})
             (func $bump_element (type $entry) {bump_element})
             (func $worker (type $entry)
               (local $i i32)
               (loop $l
                 (call $bump_field (i32.const 0))
                 (call $bump_element (i32.const 0))
                 (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br_if $l (i32.lt_u (local.get $i) (i32.const 100))))
               (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
               (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
             (func (export "setup")
               (global.set $struct (struct.new_default $counter))
               (global.set $array (array.new_default $counts (i32.const 4))))
             {RUN_TWO_WORKERS})"#
    )
}

const PLAIN_FIELD: &str = "(struct.set $counter $n (global.get $struct)
    (i32.add (struct.get $counter $n (global.get $struct)) (i32.const 1)))";
const ATOMIC_FIELD: &str =
    "(drop (struct.atomic.rmw.add seqcst $counter $n (global.get $struct) (i32.const 1)))";
const PLAIN_ELEMENT: &str = "(array.set $counts (global.get $array) (i32.const 2)
    (i32.add (array.get $counts (global.get $array) (i32.const 2)) (i32.const 1)))";
const ATOMIC_ELEMENT: &str = "(drop (array.atomic.rmw.add seqcst $counts (global.get $array)
    (i32.const 2) (i32.const 1)))";

/// The functions the races found are in, each race's two accesses being in one function.
fn racing_functions(engine: &Engine, bump_field: &str, bump_element: &str) -> BTreeSet<String> {
    let module = Module::new(engine, object_counter_module(bump_field, bump_element)).unwrap();
    let mut store = Store::new(engine, ());
    let instance = Linker::new(engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let setup = instance.get_typed_func::<(), ()>(&mut store, "setup");
    setup.unwrap().call(&mut store, ()).unwrap();
    let run = instance.get_typed_func::<(), i32>(&mut store, "run");
    run.unwrap().call(&mut store, ()).unwrap();
    engine
        .data_races()
        .into_iter()
        .map(|race| {
            assert_eq!(race.earlier.function, race.later.function, "{race}");
            race.later.function
        })
        .collect()
}

#[test]
fn plain_accesses_to_shared_struct_fields_and_array_elements_race() {
    let functions = racing_functions(&detecting_engine(), PLAIN_FIELD, PLAIN_ELEMENT);
    assert_eq!(
        functions,
        BTreeSet::from(["bump_field".to_string(), "bump_element".to_string()])
    );
    let functions = racing_functions(&detecting_engine(), PLAIN_FIELD, ATOMIC_ELEMENT);
    assert_eq!(functions, BTreeSet::from(["bump_field".to_string()]));
    let functions = racing_functions(&detecting_engine(), ATOMIC_FIELD, ATOMIC_ELEMENT);
    assert_eq!(functions, BTreeSet::new());
}
