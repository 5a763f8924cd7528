//! A pool of host worker threads serving one shared instance. The guest keeps a bounded work
//! queue in its shared memory; host semaphores count its free slots and queued jobs, and a
//! host mutex guards its indices. The store's own thread submits jobs (blocking while the
//! queue is full), and each worker attaches to the instance and takes jobs (blocking while it
//! is empty), all in guest code, with no polling.
//!
//! ```text
//! cargo run --release -p weft-examples --example worker_pool
//! ```

use anyhow::{Result, bail};
use std::sync::Arc;
use std::thread;
use weft::{Config, Engine, HostMutex, Linker, Module, Semaphore, Store, WasmFeatures};

const GUEST: &str = r#"
(module
  (type $submit_t (shared (func (param i32))))
  (type $work_t (shared (func (result i32))))
  (type $steps_t (shared (func (param i32) (result i32))))
  (type $timed_t (shared (func (param i64) (result i32))))
  (type $count_t (shared (func (param i32))))
  (type $void_t (shared (func)))
  (import "queue" "free.acquire" (func $take_free_slot (type $timed_t)))
  (import "queue" "free.release" (func $give_free_slot (type $count_t)))
  (import "queue" "jobs.acquire" (func $take_job (type $timed_t)))
  (import "queue" "jobs.release" (func $give_job (type $count_t)))
  (import "queue" "indices.lock" (func $lock (type $timed_t)))
  (import "queue" "indices.unlock" (func $unlock (type $void_t)))
  ;; The queue: head at 0, tail at 4, eight i32 job slots from 16.
  (memory 1 1 shared)
  (func $slot (type $steps_t) (param $index i32) (result i32)
    (i32.add (i32.const 16) (i32.shl (i32.and (local.get $index) (i32.const 7)) (i32.const 2))))
  ;; Queues $job, waiting for a free slot.
  (func (export "submit") (type $submit_t) (param $job i32)
    (drop (call $take_free_slot (i64.const -1)))
    (drop (call $lock (i64.const -1)))
    (i32.store (call $slot (i32.load (i32.const 4))) (local.get $job))
    (i32.store (i32.const 4) (i32.add (i32.load (i32.const 4)) (i32.const 1)))
    (call $unlock)
    (call $give_job (i32.const 1)))
  ;; Takes the next job, waiting for one, and runs it: the Collatz steps of a positive job,
  ;; -1 for a negative one, which tells the worker to stop.
  (func (export "work") (type $work_t) (result i32)
    (local $job i32)
    (drop (call $take_job (i64.const -1)))
    (drop (call $lock (i64.const -1)))
    (local.set $job (i32.load (call $slot (i32.load (i32.const 0)))))
    (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
    (call $unlock)
    (call $give_free_slot (i32.const 1))
    (if (result i32) (i32.lt_s (local.get $job) (i32.const 0))
      (then (i32.const -1))
      (else (call $collatz_steps (local.get $job)))))
  (func $collatz_steps (type $steps_t) (param $start i32) (result i32)
    (local $n i64) (local $steps i32)
    (local.set $n (i64.extend_i32_u (local.get $start)))
    (block $done
      (loop $step
        (br_if $done (i64.le_u (local.get $n) (i64.const 1)))
        (local.set $n
          (if (result i64) (i64.eqz (i64.and (local.get $n) (i64.const 1)))
            (then (i64.shr_u (local.get $n) (i64.const 1)))
            (else (i64.add (i64.mul (local.get $n) (i64.const 3)) (i64.const 1)))))
        (local.set $steps (i32.add (local.get $steps) (i32.const 1)))
        (br $step)))
    (local.get $steps))
)
"#;

const WORKERS: usize = 4;
const JOBS: i32 = 20_000;
const QUEUE_SLOTS: u32 = 8;

fn collatz_steps(start: i32) -> u64 {
    let (mut n, mut steps) = (u64::from(start.unsigned_abs()), 0);
    while n > 1 {
        n = if n % 2 == 0 { n / 2 } else { 3 * n + 1 };
        steps += 1;
    }
    steps
}

/// What one worker did: jobs run and the sum of their results.
struct Tally {
    jobs: u64,
    steps: u64,
}

fn main() -> Result<()> {
    let mut config = Config::new();
    config.wasm_features(WasmFeatures::default() | WasmFeatures::SHARED_EVERYTHING_THREADS);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, GUEST)?;

    // The host primitives the guest's queue blocks on, wired in as imports.
    let free_slots = Arc::new(Semaphore::new(QUEUE_SLOTS));
    let queued_jobs = Arc::new(Semaphore::new(0));
    let indices = Arc::new(HostMutex::new());
    let mut linker = Linker::new(&engine);
    linker
        .define_semaphore("queue", "free", &free_slots)?
        .define_semaphore("queue", "jobs", &queued_jobs)?
        .define_mutex("queue", "indices", &indices)?;
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module)?;

    // Each worker attaches to the instance (one per-thread block) and takes jobs until told
    // to stop.
    let shared = instance.share(&mut store)?;
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let shared = shared.clone();
            thread::spawn(move || -> Result<Tally> {
                let thread = shared.attach()?;
                let work = shared.get_typed_func::<(), i32>("work")?;
                let mut tally = Tally { jobs: 0, steps: 0 };
                loop {
                    match work.call(&thread, ())? {
                        -1 => return Ok(tally),
                        steps => {
                            tally.jobs += 1;
                            tally.steps += u64::try_from(steps)?;
                        }
                    }
                }
            })
        })
        .collect();

    // The store's own thread produces: every job, then one stop marker per worker.
    let submit = instance.get_typed_func::<i32, ()>(&mut store, "submit")?;
    for job in 1..=JOBS {
        submit.call(&mut store, job)?;
    }
    for _ in 0..WORKERS {
        submit.call(&mut store, -1)?;
    }

    let mut total = Tally { jobs: 0, steps: 0 };
    for (index, worker) in workers.into_iter().enumerate() {
        let Ok(tally) = worker.join() else {
            bail!("worker {index} panicked");
        };
        let tally = tally?;
        println!("worker {index}: {} jobs", tally.jobs);
        total.jobs += tally.jobs;
        total.steps += tally.steps;
    }
    let expected: u64 = (1..=JOBS).map(collatz_steps).sum();
    if total.jobs != u64::try_from(JOBS)? || total.steps != expected {
        bail!(
            "the pool ran {} jobs for {} steps; expected {JOBS} jobs for {expected}",
            total.jobs,
            total.steps
        );
    }
    println!(
        "{WORKERS} attached workers ran all {JOBS} jobs through an {QUEUE_SLOTS}-slot queue: \
         {} Collatz steps, as computed natively",
        total.steps
    );
    Ok(())
}
