//! Termination leaves nothing behind: after `terminate` and `join_threads`, every guest thread's
//! OS thread has exited and its block is back in the instance's pool, round after round. The
//! only test in its binary, so the process's thread count is this test's alone.
#![cfg(target_os = "linux")]

mod support;

use support::{call, i32_of, instantiate_with, shared_everything_engine};

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

#[test]
fn terminated_threads_leave_no_os_thread_or_block_behind() {
    const THREADS: usize = 16;
    let (mut store, instance) = instantiate_with(&shared_everything_engine(), BLOCKERS);
    let block = instance.get_func(&mut store, "block").unwrap();
    let before = os_threads();
    for round in 1..=3 {
        for _ in 0..THREADS {
            store.spawn(&block, 0).unwrap();
        }
        let expected = i32::try_from(THREADS * round).unwrap();
        while i32_of(call(&mut store, &instance, "waiting", &[])) < expected {
            std::thread::yield_now();
        }
        assert_eq!(os_threads(), before + THREADS, "round {round}: all running");
        store.terminator().terminate();
        store.join_threads().unwrap();
        assert_eq!(
            os_threads_settled_at(before),
            before,
            "round {round}: every OS thread exited"
        );
        assert_eq!(
            instance.thread_blocks_created(&store),
            THREADS,
            "round {round}: blocks are reused, not made anew"
        );
    }
}
