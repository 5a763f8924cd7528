//! Store-free host functions that reach their caller's memory (`SharedCaller`): one
//! definition serves unshared and shared imports, copies in and out of an unshared memory on
//! the store's thread and of a shared memory from guest threads, refuses an unshared memory
//! to other threads, and hands the embedder's own error back whole.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use support::shared_everything_engine;
use weft::*;

/// Defines `host.double(ptr, len)`: doubles each byte of the caller's `memory` in place and
/// returns how many it changed, or -1 if the caller's memory is out of reach.
fn define_double<T: 'static>(linker: &mut Linker<T>) {
    linker
        .func_wrap_shared(
            "host",
            "double",
            |caller: SharedCaller<'_>, ptr: u32, len: u32| -> Result<i32, Error> {
                let Some(memory) = caller.memory("memory") else {
                    return Ok(-1);
                };
                let mut bytes = vec![0; len as usize];
                memory.read(u64::from(ptr), &mut bytes)?;
                for byte in &mut bytes {
                    *byte = byte.wrapping_mul(2);
                }
                memory.write(u64::from(ptr), &bytes)?;
                Ok(len as i32)
            },
        )
        .unwrap();
}

#[test]
fn an_unshared_import_links_to_a_store_free_function_that_copies_memory() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "double" (func $double (param i32 i32) (result i32)))
             (memory (export "memory") 1)
             (data (i32.const 16) "\01\02\03")
             (func (export "run") (result i32) (call $double (i32.const 16) (i32.const 3)))
             (func (export "past_the_end") (result i32)
               (call $double (i32.const 65535) (i32.const 2))))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    define_double(&mut linker);
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<(), i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), 3);
    let memory = instance.get_memory(&mut store, "memory").unwrap();
    let mut bytes = [0; 3];
    memory.read(&store, 16, &mut bytes).unwrap();
    assert_eq!(bytes, [2, 4, 6]);
    // An access past the end is the host function's error, and the store stays usable.
    let past = instance
        .get_typed_func::<(), i32>(&mut store, "past_the_end")
        .unwrap();
    let error = past.call(&mut store, ()).unwrap_err();
    assert!(
        matches!(error, Error::Usage(UsageError::OutOfBounds { .. })),
        "{error}"
    );
    assert_eq!(run.call(&mut store, ()).unwrap(), 3);
}

const SHARED_MODULE: &str = r#"
(module
  (type $entry (shared (func (param i32))))
  (type $double_t (shared (func (param i32 i32) (result i32))))
  (type $spawn_t (shared (func (param (ref null $entry) i32) (result i32))))
  (import "host" "double" (func $double (type $double_t)))
  (import "wasm:thread" "spawn-ref" (func $spawn (type $spawn_t)))
  (memory (export "memory") 1 1 shared)
  (elem declare func $worker)
  ;; Each thread doubles its own byte, then counts itself done at address 0.
  (func $worker (type $entry) (param $slot i32)
    (drop (call $double (i32.add (i32.const 16) (local.get $slot)) (i32.const 1)))
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  (func (export "spawn") (type $entry) (param $slot i32)
    (drop (call $spawn (ref.func $worker) (local.get $slot))))
)
"#;

#[test]
fn guest_threads_reach_a_shared_memory_through_their_caller() {
    let engine = shared_everything_engine();
    let module = Module::new(&engine, SHARED_MODULE).unwrap();
    let mut linker = Linker::new(&engine);
    define_double(&mut linker);
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let memory = match instance.get_export(&mut store, "memory") {
        Some(Extern::SharedMemory(memory)) => memory,
        other => panic!("expected a shared memory, got {other:?}"),
    };
    memory.write(16, &[1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
    let spawn = instance
        .get_typed_func::<i32, ()>(&mut store, "spawn")
        .unwrap();
    for slot in 0..8 {
        spawn.call(&mut store, slot).unwrap();
    }
    store.join_threads().unwrap();
    let mut bytes = [0; 8];
    memory.read(16, &mut bytes).unwrap();
    assert_eq!(bytes, [2, 4, 6, 8, 10, 12, 14, 16]);
}

#[test]
fn an_unshared_memory_is_out_of_reach_of_other_threads() {
    let engine = shared_everything_engine();
    // The shared worker may not touch the unshared memory itself, and the host function
    // called on the worker's thread may not either.
    let module = Module::new(
        &engine,
        r#"(module
             (type $entry (shared (func (param i32))))
             (type $double_t (shared (func (param i32 i32) (result i32))))
             (import "host" "double" (func $double (type $double_t)))
             (import "host" "report" (func $report (type $entry)))
             (memory (export "memory") 1)
             (func (export "worker") (type $entry) (param i32)
               (call $report (call $double (i32.const 0) (i32.const 1)))))"#,
    )
    .unwrap();
    let reported = Arc::new(AtomicU32::new(0));
    let mut linker = Linker::new(&engine);
    define_double(&mut linker);
    let sink = Arc::clone(&reported);
    linker
        .func_wrap_shared("host", "report", move |value: i32| {
            sink.store(value as u32, Ordering::SeqCst);
        })
        .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let worker = instance.get_func(&mut store, "worker").unwrap();
    store.spawn(&worker, 0).unwrap();
    store.join_threads().unwrap();
    assert_eq!(reported.load(Ordering::SeqCst), u32::MAX, "-1: no memory");
    // On the store's own thread the same call reaches it.
    worker.call(&mut store, &[Val::I32(0)], &mut []).unwrap();
    assert_eq!(reported.load(Ordering::SeqCst), 1);
}

#[derive(Debug, thiserror::Error)]
#[error("the guest asked to stop with {0}")]
struct Stop(i32);

#[test]
fn a_store_free_functions_error_reaches_the_embedder_whole() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "stop" (func $stop (param i32)))
             (func (export "run") (call $stop (i32.const 7))))"#,
    )
    .unwrap();
    let mut linker = Linker::<()>::new(&engine);
    linker
        .func_wrap_shared("host", "stop", |code: i32| -> Result<(), Error> {
            Err(Error::Host(Box::new(Stop(code))))
        })
        .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<(), ()>(&mut store, "run")
        .unwrap();
    match run.call(&mut store, ()).unwrap_err() {
        Error::Host(error) => assert_eq!(error.downcast_ref::<Stop>().map(|s| s.0), Some(7)),
        other => panic!("expected the host's error, got {other}"),
    }
}
