//! Termination leaves nothing behind, under both thread models: after a terminate and a join,
//! every guest thread's OS thread is idle, waiting to serve the next spawn (the next round
//! starts no new ones) and (shared-everything) its block is back in the instance's pool,
//! round after round; once the store or process is dropped, every OS thread has exited. One
//! test in its binary, so the process's thread count is this test's alone.
#![cfg(target_os = "linux")]

mod support;

use support::{call, i32_of, instantiate_with, shared_everything_engine};
use weft::{Engine, Linker, MemoryType, Module, SharedMemory, Store, WasiThreads};

const THREADS: usize = 16;
const ROUNDS: usize = 3;

const BLOCKERS: &str = r#"
(module
  (type $entry (shared (func (param i32))))
  (type $to_i32 (shared (func (result i32))))
  (memory 1 1 shared)
  (global $waiting (shared mut i32) (i32.const 0))
  (func (export "block") (type $entry)
    (drop (global.atomic.rmw.add seqcst $waiting (i32.const 1)))
    (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))))
  (func (export "waiting") (type $to_i32) (global.atomic.get seqcst $waiting))
)
"#;

/// The OS threads of this process.
fn os_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("Linux lists a process's threads in /proc/self/task")
        .count()
}

/// The OS threads of this process once the count settles at `expected`, or after 10 seconds.
/// A joined thread has finished, but the kernel may list it a moment longer while it releases
/// the task; a leaked thread never goes.
fn os_threads_settled_at(expected: usize) -> usize {
    for _ in 0..1000 {
        let count = os_threads();
        if count == expected {
            return count;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    os_threads()
}

/// The same blockers as a wasi-threads program: every thread a new instance.
const WASI_BLOCKERS: &str = r#"
(module
  (import "env" "memory" (memory 1 1 shared))
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (func (export "wasi_thread_start") (param i32 i32)
    (drop (i32.atomic.rmw.add (i32.const 4) (i32.const 1)))
    (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))))
  (func (export "spawn") (result i32) (call $spawn (i32.const 0)))
  (func (export "waiting") (result i32) (i32.atomic.load (i32.const 4)))
)
"#;

#[test]
fn terminated_threads_leave_nothing_behind() {
    shared_everything_threads_leave_no_os_thread_or_block();
    instance_per_thread_threads_leave_no_os_thread();
}

fn shared_everything_threads_leave_no_os_thread_or_block() {
    let (mut store, instance) = instantiate_with(&shared_everything_engine(), BLOCKERS);
    let block = instance.get_func(&mut store, "block").unwrap();
    let before = os_threads();
    for round in 1..=ROUNDS {
        for _ in 0..THREADS {
            store.spawn(&block, 0).unwrap();
        }
        let expected = i32::try_from(THREADS * round).unwrap();
        while i32_of(call(&mut store, &instance, "waiting", &[])) < expected {
            std::thread::yield_now();
        }
        assert_eq!(
            os_threads(),
            before + THREADS,
            "round {round}: all running, on the threads of the first round"
        );
        store.terminator().terminate();
        store.join_threads().unwrap();
        assert_eq!(
            instance.thread_blocks_created(&store),
            THREADS,
            "round {round}: blocks are reused, not made anew"
        );
    }
    drop(store);
    assert_eq!(
        os_threads_settled_at(before),
        before,
        "every OS thread exited with the store"
    );
}

fn instance_per_thread_threads_leave_no_os_thread() {
    let engine = Engine::default();
    let module = Module::new(&engine, WASI_BLOCKERS).unwrap();
    let before = os_threads();
    for round in 1..=ROUNDS {
        let memory = SharedMemory::new(&engine, MemoryType::shared(1, 1)).unwrap();
        let mut linker = Linker::new(&engine);
        linker.define("env", "memory", memory).unwrap();
        let process = WasiThreads::new(linker, &module).unwrap();
        let mut store = Store::new(&engine, ());
        let main = process.instantiate(&mut store).unwrap();
        let spawn = main.get_typed_func::<(), i32>(&mut store, "spawn").unwrap();
        let waiting = main
            .get_typed_func::<(), i32>(&mut store, "waiting")
            .unwrap();
        for _ in 0..THREADS {
            assert!(spawn.call(&mut store, ()).unwrap() > 0);
        }
        while waiting.call(&mut store, ()).unwrap() < i32::try_from(THREADS).unwrap() {
            std::thread::yield_now();
        }
        assert_eq!(os_threads(), before + THREADS, "round {round}: all running");
        process.terminate();
        process.join().unwrap();
        assert_eq!(process.live_threads(), 0);
        drop(process);
        assert_eq!(
            os_threads_settled_at(before),
            before,
            "round {round}: every OS thread exited with the process"
        );
    }
}
