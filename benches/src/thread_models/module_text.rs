//! The thread-models module, written once for both models.

use super::layout::*;
use super::{Job, Model, ThreadArg};
use crate::HISTOGRAM_WAT;

/// Where the compute bench's histogram kernel starts: the parallel kernel reuses it as its
/// per-chunk loop, so that both benches time the same code.
const HISTOGRAM_HEAD: &str = "(func (export \"histogram\")";

/// The module for `model`, with `extra_functions` more functions filling a table of that
/// size (what makes an instance expensive to create; the work never calls them).
///
/// Both variants import the shared memory as `env.memory` and a pinning function as
/// `bench.pin`, and export `run_job`, `result`, `added`, `announced`, `unblock`, `reset` and
/// `fill` (see [`GuestThreads`](super::GuestThreads)). Threads start at `entry` (shared
/// everything, for `Store::spawn`) or `wasi_thread_start` (instance per thread, which also
/// imports `wasi.thread-spawn` and exports it as `spawn`).
pub fn module_text(model: Model, extra_functions: usize) -> String {
    let shared = model == Model::SharedEverything;
    let mut wat = String::from("(module\n");
    for (name, signature) in [
        ("arg", "(param i32)"),
        ("pair", "(param i32 i32)"),
        ("triple", "(param i32 i32 i32)"),
        ("histogram", "(param i32 i32 i32) (result i64)"),
        ("result", "(param i32) (result i64)"),
        ("get", "(result i32)"),
        ("void", ""),
        ("fill", "(param i64 i32)"),
    ] {
        // Shared functions may only call and be called through shared types.
        wat += &if shared {
            format!("  (type ${name} (shared (func {signature})))\n")
        } else {
            format!("  (type ${name} (func {signature}))\n")
        };
    }
    wat += &format!(
        "  (import \"env\" \"memory\" (memory {PAGES} {PAGES} shared))\n\
         \x20 (import \"bench\" \"pin\" (func $pin (type $arg)))\n"
    );
    wat += &match model {
        Model::SharedEverything => shared_everything_entry(),
        Model::InstancePerThread => instance_per_thread_entry(),
    };
    wat += &thread_body();
    wat += &worker();
    wat += &thread_local_job(model);
    wat += &histogram_job();
    wat += &main_exports();
    wat += &extra(model, extra_functions);
    if shared {
        // Global 0 is `$counter`: each thread gets its own copy.
        wat += "  (@custom \"thread-locals\" \"\\01\\00\")\n";
    }
    wat + ")\n"
}

/// The shared-everything side: a thread-local global, and `entry` for `Store::spawn`.
fn shared_everything_entry() -> String {
    "  (global $counter (shared mut i32) (i32.const 0))\n\
     \x20 (func (export \"entry\") (type $arg) (param $arg i32) (call $body (local.get $arg)))\n"
        .into()
}

/// The wasi-threads side as toolchains emit it: `wasi_thread_start` points `__tls_base` at
/// the thread's own TLS block in linear memory before running the thread's code (wasi-libc
/// takes the block from its start argument; here the worker index picks one).
fn instance_per_thread_entry() -> String {
    format!(
        "  (type $spawn (func (param i32) (result i32)))\n\
         \x20 (import \"wasi\" \"thread-spawn\" (func $thread_spawn (type $spawn)))\n\
         \x20 (global $__tls_base (mut i32) (i32.const 0))\n\
         \x20 (func (export \"wasi_thread_start\") (type $pair) (param $tid i32) (param $arg i32)\n\
         \x20   (global.set $__tls_base\n\
         \x20     (i32.add (i32.const {TLS_BLOCKS})\n\
         \x20       (i32.shl (i32.and (local.get $arg) (i32.const 255)) (i32.const {TLS_BLOCK_LOG2}))))\n\
         \x20   (call $body (local.get $arg)))\n\
         \x20 (func (export \"spawn\") (type $spawn) (param $arg i32) (result i32)\n\
         \x20   (call $thread_spawn (local.get $arg)))\n"
    )
}

/// Every thread's body: the kind in the argument's high half picks the work.
fn thread_body() -> String {
    let (add, block, worker) = (ThreadArg::ADD, ThreadArg::BLOCK, ThreadArg::WORKER);
    format!(
        r#"  (func $body (type $arg) (param $arg i32)
    (local $kind i32) (local $index i32)
    (local.set $kind (i32.shr_u (local.get $arg) (i32.const 16)))
    (local.set $index (i32.and (local.get $arg) (i32.const 255)))
    (if (i32.eq (local.get $kind) (i32.const {add}))
      (then (drop (i32.atomic.rmw.add (i32.const {ADDED}) (i32.const 1))) (return)))
    (if (i32.eq (local.get $kind) (i32.const {block}))
      (then
        (drop (i32.atomic.rmw.add (i32.const {ANNOUNCED}) (i32.const 1)))
        (loop $blocked
          (if (i32.eqz (i32.atomic.load (i32.const {RELEASED})))
            (then
              (drop (memory.atomic.wait32 (i32.const {RELEASED}) (i32.const 0) (i64.const -1)))
              (br $blocked))))
        (return)))
    (if (i32.eq (local.get $kind) (i32.const {worker}))
      (then
        ;; Pinned only in pools of several, like timed_on_threads.
        (if (i32.gt_u (i32.and (i32.shr_u (local.get $arg) (i32.const 8)) (i32.const 255))
                      (i32.const 1))
          (then (call $pin (local.get $index))))
        (call $worker (local.get $index))
        (return)))
    unreachable)
"#
    )
}

/// A pool worker: waits for the generation to move on, runs the job, counts itself done (the
/// last one wakes `run_job`), until a quit job.
fn worker() -> String {
    let (thread_local, histogram, quit) = (
        Job::ThreadLocal as i32,
        Job::Histogram as i32,
        Job::Quit as i32,
    );
    format!(
        r#"  (func $worker (type $arg) (param $index i32)
    (local $seen i32) (local $generation i32) (local $job i32) (local $workers i32)
    (loop $next
      (loop $wait
        (local.set $generation (i32.atomic.load (i32.const {GENERATION})))
        (if (i32.eq (local.get $generation) (local.get $seen))
          (then
            (drop (memory.atomic.wait32 (i32.const {GENERATION}) (local.get $seen) (i64.const -1)))
            (br $wait))))
      (local.set $seen (local.get $generation))
      (local.set $job (i32.atomic.load (i32.const {JOB})))
      (local.set $workers (i32.atomic.load (i32.const {WORKERS})))
      (if (i32.eq (local.get $job) (i32.const {thread_local}))
        (then (call $thread_local_job (local.get $index) (i32.atomic.load (i32.const {ROUNDS})))))
      (if (i32.eq (local.get $job) (i32.const {histogram}))
        (then
          (call $histogram_job
            (local.get $index) (i32.atomic.load (i32.const {ROUNDS})) (local.get $workers))))
      (if (i32.eq (i32.add (i32.atomic.rmw.add (i32.const {DONE}) (i32.const 1)) (i32.const 1))
                  (local.get $workers))
        (then (drop (memory.atomic.notify (i32.const {DONE}) (i32.const 1)))))
      (br_if $next (i32.ne (local.get $job) (i32.const {quit})))))
"#
    )
}

fn result_address(index: &str) -> String {
    format!("(i32.add (i32.const {RESULTS}) (i32.shl {index} (i32.const {RESULT_STRIDE_LOG2})))")
}

/// The thread-local counter loop. Each access is what the model's toolchain emits for a
/// thread-local variable: one `global.get`/`global.set` of a thread-local global, or
/// `global.get $__tls_base` plus the variable's offset and an `i32.load`/`i32.store`.
fn thread_local_job(model: Model) -> String {
    let (get, set) = match model {
        Model::SharedEverything => (
            "(global.get $counter)".to_string(),
            "(global.set $counter".to_string(),
        ),
        Model::InstancePerThread => {
            let address = format!("(i32.add (global.get $__tls_base) (i32.const {TLS_VARIABLE}))");
            (
                format!("(i32.load {address})"),
                format!("(i32.store {address}"),
            )
        }
    };
    let result = result_address("(local.get $index)");
    format!(
        r#"  (func $thread_local_job (type $pair) (param $index i32) (param $rounds i32)
    {set} (i32.const 0))
    (block $done
      (loop $increment
        (br_if $done (i32.eqz (local.get $rounds)))
        {set} (i32.add {get} (i32.const 1)))
        (local.set $rounds (i32.sub (local.get $rounds) (i32.const 1)))
        (br $increment)))
    (i64.store {result} (i64.extend_i32_u {get})))
"#
    )
}

/// `passes` runs of the compute bench's histogram over this worker's chunk, into its own
/// table; the chunks split the input as [`super::chunk`] does.
fn histogram_job() -> String {
    let start = HISTOGRAM_WAT
        .find(HISTOGRAM_HEAD)
        .expect("kernels/histogram.wat exports `histogram`");
    let end = HISTOGRAM_WAT
        .rfind(')')
        .expect("kernels/histogram.wat closes its module");
    let kernel = &HISTOGRAM_WAT[start + HISTOGRAM_HEAD.len()..end];
    let result = result_address("(local.get $index)");
    format!(
        r#"  (func $histogram (type $histogram){kernel}
  (func $histogram_job (type $triple) (param $index i32) (param $passes i32) (param $workers i32)
    (local $len i32) (local $size i32) (local $start i32) (local $end i32) (local $sum i64)
    (local.set $len (i32.atomic.load (i32.const {DATA_LEN})))
    (local.set $size (i32.div_u (local.get $len) (local.get $workers)))
    (local.set $start (i32.mul (local.get $index) (local.get $size)))
    (local.set $end
      (if (result i32) (i32.eq (i32.add (local.get $index) (i32.const 1)) (local.get $workers))
        (then (local.get $len))
        (else (i32.add (local.get $start) (local.get $size)))))
    (block $done
      (loop $pass
        (br_if $done (i32.eqz (local.get $passes)))
        (local.set $sum
          (call $histogram
            (i32.add (i32.const {COUNTS}) (i32.shl (local.get $index) (i32.const {COUNTS_STRIDE_LOG2})))
            (i32.add (i32.const {DATA}) (local.get $start))
            (i32.sub (local.get $end) (local.get $start))))
        (local.set $passes (i32.sub (local.get $passes) (i32.const 1)))
        (br $pass)))
    (i64.store {result} (local.get $sum)))
"#
    )
}

/// The main instance's side: releasing the pool and waiting for it, and reading and resetting
/// the control words.
fn main_exports() -> String {
    let result = result_address("(local.get $index)");
    format!(
        r#"  (func (export "run_job") (type $triple) (param $job i32) (param $rounds i32) (param $workers i32)
    (local $done i32)
    (i32.atomic.store (i32.const {JOB}) (local.get $job))
    (i32.atomic.store (i32.const {ROUNDS}) (local.get $rounds))
    (i32.atomic.store (i32.const {WORKERS}) (local.get $workers))
    (i32.atomic.store (i32.const {DONE}) (i32.const 0))
    (drop (i32.atomic.rmw.add (i32.const {GENERATION}) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const {GENERATION}) (i32.const -1)))
    (loop $wait
      (local.set $done (i32.atomic.load (i32.const {DONE})))
      (if (i32.ne (local.get $done) (local.get $workers))
        (then
          (drop (memory.atomic.wait32 (i32.const {DONE}) (local.get $done) (i64.const -1)))
          (br $wait)))))
  (func (export "result") (type $result) (param $index i32) (result i64)
    (i64.atomic.load {result}))
  (func (export "added") (type $get) (i32.atomic.load (i32.const {ADDED})))
  (func (export "announced") (type $get) (i32.atomic.load (i32.const {ANNOUNCED})))
  (func (export "unblock") (type $void)
    (i32.atomic.store (i32.const {RELEASED}) (i32.const 1))
    (drop (memory.atomic.notify (i32.const {RELEASED}) (i32.const -1))))
  (func (export "reset") (type $void)
    (local $word i32)
    (loop $clear
      (i32.atomic.store (i32.shl (local.get $word) (i32.const 2)) (i32.const 0))
      (local.set $word (i32.add (local.get $word) (i32.const 1)))
      (br_if $clear (i32.lt_u (local.get $word) (i32.const {CONTROL_WORDS})))))
  ;; xorshift64, as XorShift::bytes: each byte is the top byte of the next state.
  (func (export "fill") (type $fill) (param $state i64) (param $len i32)
    (local $i i32)
    ;; XorShift::new's guard: zero is xorshift's fixed point.
    (if (i64.eqz (local.get $state)) (then (local.set $state (i64.const 1))))
    (i32.atomic.store (i32.const {DATA_LEN}) (local.get $len))
    (block $done
      (loop $byte
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (local.set $state (i64.xor (local.get $state) (i64.shl (local.get $state) (i64.const 13))))
        (local.set $state (i64.xor (local.get $state) (i64.shr_u (local.get $state) (i64.const 7))))
        (local.set $state (i64.xor (local.get $state) (i64.shl (local.get $state) (i64.const 17))))
        (i32.store8 (i32.add (i32.const {DATA}) (local.get $i))
          (i32.wrap_i64 (i64.shr_u (local.get $state) (i64.const 56))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $byte))))
"#
    )
}

/// `count` functions in a table of that size, filled by an element segment: a shared table
/// of shared references for shared everything, a plain `funcref` table (what toolchains emit
/// for function pointers) for instance per thread.
fn extra(model: Model, count: usize) -> String {
    if count == 0 {
        return String::new();
    }
    let mut wat = String::new();
    for index in 0..count {
        wat += &format!(
            "  (func $extra{index} (type $arg) (drop (i32.add (local.get 0) (i32.const 1))))\n"
        );
    }
    let (shared, element) = match model {
        Model::SharedEverything => ("shared ", "(ref null $arg)"),
        Model::InstancePerThread => ("", "funcref"),
    };
    wat += &format!("  (table $extra {shared}{count} {count} {element})\n");
    wat += &format!("  (elem (table $extra) (i32.const 0) {element}");
    for index in 0..count {
        wat += &format!(" (ref.func $extra{index})");
    }
    wat + ")\n"
}
