//! Guest threads from the embedder's side: `Store::spawn`, `join_thread`, `join_threads`,
//! trap propagation, the thread limit, thread-local globals and the validation of the
//! `thread-locals` section.

mod support;

use support::{call, i32_of, instantiate_with, shared_everything_engine};
use weft::{
    Config, Engine, Error, Instance, Linker, Module, Store, ThreadError, ThreadOutcome, Trap,
    UsageError, Val, WasmFeatures,
};

/// A shared counter, a worker that adds its argument to it (trapping on a negative one), and
/// a worker that blocks until the memory word at 0 becomes non-zero.
const WORKERS: &str = r#"
(module
  (type $entry (shared (func (param i32))))
  (type $plain (func (param i32)))
  (memory 1 1 shared)
  (global $sum (shared mut i32) (i32.const 0))
  (func (export "add") (type $entry)
    (if (i32.lt_s (local.get 0) (i32.const 0)) (then unreachable))
    (drop (global.atomic.rmw.add seqcst $sum (local.get 0))))
  (func (export "block") (type $entry)
    (loop $again
      (if (i32.eqz (i32.atomic.load (i32.const 0)))
        (then
          (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
          (br $again)))))
  (func (export "release") (result i32)
    (i32.atomic.store (i32.const 0) (i32.const 1))
    (memory.atomic.notify (i32.const 0) (i32.const -1)))
  (func (export "sum") (result i32) (global.atomic.get seqcst $sum))
  (func (export "unshared") (type $plain))
)
"#;

fn engine_with_threads(max_threads: u32) -> Engine {
    let mut config = Config::new();
    config
        .wasm_features(WasmFeatures::default() | WasmFeatures::SHARED_EVERYTHING_THREADS)
        .max_threads(max_threads);
    Engine::new(&config).unwrap()
}

#[test]
fn spawned_threads_share_globals_and_report_their_outcomes() {
    let (mut store, instance) = instantiate_with(&shared_everything_engine(), WORKERS);
    let add = instance.get_func(&mut store, "add").unwrap();
    let ids: Vec<_> = (1..=10)
        .map(|n| store.spawn(&add, n).expect("below the limit"))
        .collect();
    let mut distinct = ids.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), ids.len());
    assert!(ids.iter().all(|&id| id > 0));
    for id in ids {
        assert!(matches!(
            store.join_thread(id),
            Some(ThreadOutcome::Finished)
        ));
        assert!(store.join_thread(id).is_none(), "a thread joins once");
    }
    assert_eq!(i32_of(call(&mut store, &instance, "sum", &[])), 55);
}

#[test]
fn a_trapping_thread_is_reported_and_the_store_stays_usable() {
    let (mut store, instance) = instantiate_with(&shared_everything_engine(), WORKERS);
    let add = instance.get_func(&mut store, "add").unwrap();
    let id = store.spawn(&add, -1).unwrap();
    match store.join_thread(id) {
        Some(ThreadOutcome::Trapped(error)) => assert_eq!(error.trap(), Some(Trap::Unreachable)),
        other => panic!("expected a trap, got {other:?}"),
    }
    // The trap aborted the group; joining resets it so the store can spawn again.
    assert_eq!(
        store.join_threads().unwrap_err().trap(),
        Some(Trap::Unreachable)
    );
    let id = store.spawn(&add, 5).unwrap();
    assert!(matches!(
        store.join_thread(id),
        Some(ThreadOutcome::Finished)
    ));
    assert_eq!(i32_of(call(&mut store, &instance, "sum", &[])), 5);
}

#[test]
fn a_trap_interrupts_blocked_threads() {
    let (mut store, instance) = instantiate_with(&shared_everything_engine(), WORKERS);
    let block = instance.get_func(&mut store, "block").unwrap();
    let add = instance.get_func(&mut store, "add").unwrap();
    let blocked: Vec<_> = (0..3).map(|_| store.spawn(&block, 0).unwrap()).collect();
    store.spawn(&add, -1).unwrap();
    assert_eq!(
        store.join_threads().unwrap_err().trap(),
        Some(Trap::Unreachable)
    );
    for id in blocked {
        assert!(store.join_thread(id).is_none(), "join_threads consumed it");
    }
}

#[test]
fn spawning_stops_at_the_thread_limit() {
    let (mut store, instance) = instantiate_with(&engine_with_threads(3), WORKERS);
    let block = instance.get_func(&mut store, "block").unwrap();
    for _ in 0..3 {
        store.spawn(&block, 0).unwrap();
    }
    assert!(matches!(
        store.spawn(&block, 0),
        Err(Error::Thread(ThreadError::StoreLimit(3)))
    ));
    i32_of(call(&mut store, &instance, "release", &[]));
    store.join_threads().unwrap();
    store.spawn(&block, 0).unwrap();
    store.join_threads().unwrap();
}

#[test]
fn only_shared_functions_of_the_entry_type_can_be_spawned() {
    let (mut store, instance) = instantiate_with(&shared_everything_engine(), WORKERS);
    let unshared = instance.get_func(&mut store, "unshared").unwrap();
    let sum = instance.get_func(&mut store, "sum").unwrap();
    for func in [unshared, sum] {
        let result = store.spawn(&func, 0);
        assert!(
            matches!(result, Err(Error::Usage(UsageError::NotSpawnable { .. }))),
            "{result:?}"
        );
    }
}

#[test]
fn dropping_the_store_stops_blocked_threads() {
    let (mut store, instance) = instantiate_with(&shared_everything_engine(), WORKERS);
    let block = instance.get_func(&mut store, "block").unwrap();
    for _ in 0..4 {
        store.spawn(&block, 0).unwrap();
    }
    // Returns only once the blocked threads were interrupted and joined.
    drop(store);
}

/// Global 0 is thread-local; `bump` increments this thread's copy and returns it.
const THREAD_LOCAL: &str = r#"
(module
  (type $entry (shared (func (param i32))))
  (global $tl (shared mut i32) (i32.const 0))
  (global $seen (shared mut i32) (i32.const 0))
  (func $bump (export "bump") (type $entry)
    (global.set $tl (i32.add (global.get $tl) (local.get 0)))
    (drop (global.atomic.rmw.add seqcst $seen (global.get $tl))))
  (func (export "get") (result i32) (global.get $tl))
  (func (export "seen") (result i32) (global.atomic.get seqcst $seen))
  (@custom "thread-locals" "\01\00")
)
"#;

#[test]
fn thread_local_globals_start_at_the_default_on_every_thread() {
    let (mut store, instance) = instantiate_with(&shared_everything_engine(), THREAD_LOCAL);
    let bump = instance.get_func(&mut store, "bump").unwrap();
    bump.call(&mut store, &[Val::I32(100)], &mut []).unwrap();
    bump.call(&mut store, &[Val::I32(100)], &mut []).unwrap();
    assert_eq!(i32_of(call(&mut store, &instance, "get", &[])), 200);
    // Each spawned thread starts from 0, so it adds exactly its argument to `seen`, and never
    // touches the home thread's copy.
    for arg in [1, 2, 3] {
        store.spawn(&bump, arg).unwrap();
    }
    store.join_threads().unwrap();
    assert_eq!(
        i32_of(call(&mut store, &instance, "seen", &[])),
        100 + 200 + 6
    );
    assert_eq!(i32_of(call(&mut store, &instance, "get", &[])), 200);
    // The exported view of a thread-local global is the home thread's copy.
    let global = instance.get_global(&mut store, "tl");
    assert!(global.is_none(), "not exported");
}

fn compile_error(wat: &str) -> String {
    let engine = shared_everything_engine();
    match Module::new(&engine, wat) {
        Err(error) => error.to_string(),
        Ok(_) => panic!("the module compiled"),
    }
}

#[test]
fn bad_thread_locals_sections_are_validation_errors() {
    let cases = [
        (
            r#"(module (global (mut i32) (i32.const 0)) (@custom "thread-locals" "\01\05"))"#,
            "global 5 is out of range",
        ),
        (
            r#"(module (global i32 (i32.const 0)) (@custom "thread-locals" "\01\00"))"#,
            "immutable",
        ),
        (
            r#"(module (global (mut i32) (i32.const 7)) (@custom "thread-locals" "\01\00"))"#,
            "must be initialized to the default value",
        ),
        (
            r#"(module (global (mut funcref) (ref.null func)) (@custom "thread-locals" "\01\00"))"#,
            "not valid as shared",
        ),
        (
            r#"(module (global (mut i32) (i32.const 0)) (@custom "thread-locals" "\02\00\00"))"#,
            "listed twice",
        ),
        (
            r#"(module (global (mut i32) (i32.const 0)) (@custom "thread-locals" "\01\00\00"))"#,
            "unexpected data",
        ),
        (
            r#"(module (import "m" "g" (global (mut i32))) (@custom "thread-locals" "\01\00"))"#,
            "is imported",
        ),
    ];
    for (wat, expected) in cases {
        let message = compile_error(wat);
        assert!(
            message.contains(expected) && message.contains("thread-locals"),
            "{wat}: {message}"
        );
    }
}

#[test]
fn store_bound_host_functions_refuse_guest_threads() {
    let engine = shared_everything_engine();
    let module = Module::new(
        &engine,
        r#"(module
             (type $entry (shared (func (param i32))))
             (type $host (shared (func)))
             (import "host" "f" (func $f (type $host)))
             (func (export "run") (type $entry) (call $f)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, 0u32);
    let mut linker = Linker::new(&engine);
    linker
        .func_new(
            "host",
            "f",
            weft::FuncType::shared([], []),
            |mut caller, _, _| {
                *caller.data_mut() += 1;
                Ok(())
            },
        )
        .unwrap();
    let instance: Instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance.get_func(&mut store, "run").unwrap();
    run.call(&mut store, &[Val::I32(0)], &mut []).unwrap();
    assert_eq!(*store.data(), 1);
    let id = store.spawn(&run, 0).unwrap();
    match store.join_thread(id) {
        Some(ThreadOutcome::Trapped(error)) => {
            assert!(
                error.to_string().contains("thread other than the store's"),
                "{error}"
            )
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(store.join_threads().is_err());
    assert_eq!(
        *store.data(),
        1,
        "the host function never ran off its thread"
    );
}
