//! Spawn churn under the instance-per-thread model (wasi-threads): the main instance spawns
//! batches with `"wasi" "thread-spawn"` and waits in wasm until each thread has counted;
//! every thread is a new store and instance, dropped when it ends.
//!
//! Invariants: the counter equals the spawns exactly; nothing is refused below the process's
//! thread limit; thread ids are handed out once each, from 1 (so the largest id seen is the
//! number of spawns); the process has no live thread left; and the OS threads are back to
//! their baseline.

use super::Round;
use super::churn::{COUNTER, FINISHED, REFUSED, batch_func};
use crate::error::{Context, StressError};
use crate::guest;
use crate::os_threads::ThreadCounts;
use crate::report::{Checks, Findings, Violation};
use crate::rng::Rng;
use crate::watchdog::Watchdog;
use std::time::{Duration, Instant};
use weft::{BoundsChecks, Linker, MemoryType, Module, SharedMemory, Store, WasiThreads};

const LARGEST_TID: usize = 192;

fn module() -> String {
    format!(
        r#"(module
  (import "env" "memory" (memory 1 1 shared))
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (func (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (local $seen i32)
    (drop (i32.atomic.rmw.add (i32.const {COUNTER}) (i32.const 1)))
    ;; Keeps the largest id: ids must be fresh, so it ends at the number of spawns.
    (loop $larger
      (local.set $seen (i32.atomic.load (i32.const {LARGEST_TID})))
      (if (i32.gt_u (local.get $tid) (local.get $seen))
        (then
          (br_if $larger (i32.ne (local.get $seen)
            (i32.atomic.rmw.cmpxchg (i32.const {LARGEST_TID}) (local.get $seen) (local.get $tid)))))))
    (drop (i32.atomic.rmw.add (i32.const {FINISHED}) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const {FINISHED}) (i32.const 1))))
  {batch}
)"#,
        batch = batch_func("(call $spawn (local.get $i))")
    )
}

#[derive(Clone, Debug)]
pub struct Params {
    /// Spawn attempts in all.
    pub spawns: usize,
    /// The largest batch, which is also the process's thread limit.
    pub max_batch: usize,
}

#[derive(Clone, Debug)]
pub struct WasiChurnResults {
    pub params: Params,
    pub batches: u64,
    pub spawned: u64,
    pub refused: u64,
    /// The guest's counter after the churn.
    pub counter: u64,
    pub largest_tid: u64,
    /// Failures of the batches' calls and of the joins.
    pub errors: Vec<String>,
    /// Threads the process still counted as live after the last join.
    pub live_after: usize,
    pub os_threads: ThreadCounts,
    pub elapsed: Duration,
}

impl Findings for WasiChurnResults {
    fn figures(&self) -> Vec<String> {
        let rate = self.spawned as f64 / self.elapsed.as_secs_f64().max(1e-9);
        vec![format!(
            "{} instance-per-thread spawns in {} batches of <= {}, {} refused, counter {}, largest id {}; {}; {rate:.0} spawns/s",
            self.spawned,
            self.batches,
            self.params.max_batch,
            self.refused,
            self.counter,
            self.largest_tid,
            self.os_threads,
        )]
    }

    fn check(&self) -> Vec<Violation> {
        let mut checks = Checks::default();
        checks.expect(self.errors.is_empty(), || {
            format!(
                "{} batches or joins failed (first: {})",
                self.errors.len(),
                self.errors.first().map_or("", String::as_str)
            )
        });
        checks.equal("counter against spawns", self.counter, self.spawned);
        checks.equal(
            "largest thread id against spawns",
            self.largest_tid,
            self.spawned,
        );
        checks.zero("spawns refused below the thread limit", self.refused);
        checks.equal("live threads after the last join", self.live_after, 0);
        checks.expect(self.os_threads.returned(), || {
            format!(
                "OS threads did not return to the baseline: {}",
                self.os_threads
            )
        });
        checks.done()
    }
}

pub fn run(params: &Params, round: &Round) -> Result<WasiChurnResults, StressError> {
    if params.max_batch == 0 {
        return Err(StressError::Plan(format!("wasi-churn {params:?}")));
    }
    let engine = guest::engine(params.max_batch, BoundsChecks::GuardPages)?;
    let module = Module::new(&engine, module()).context("compiling the guest")?;
    let memory = SharedMemory::new(&engine, MemoryType::shared(1, 1)).context("the memory")?;
    let mut linker = Linker::new(&engine);
    linker
        .define("env", "memory", memory.clone())
        .context("defining the memory")?;
    let process = WasiThreads::new(linker, &module).context("checking the ABI")?;
    let mut store = Store::new(&engine, ());
    let main = process
        .instantiate(&mut store)
        .context("instantiating the main instance")?;
    let batch = main
        .get_typed_func::<i32, i32>(&mut store, "batch")
        .context("looking up `batch`")?;

    let mut results = WasiChurnResults {
        params: params.clone(),
        batches: 0,
        spawned: 0,
        refused: 0,
        counter: 0,
        largest_tid: 0,
        errors: Vec::new(),
        live_after: 0,
        os_threads: ThreadCounts::start()?,
        elapsed: Duration::ZERO,
    };
    let mut rng = Rng::new(round.seed);
    let started = Instant::now();
    let watchdog = Watchdog::arm(store.terminator(), round.deadline)?;
    let mut attempted = 0;
    while attempted < params.spawns && results.errors.is_empty() {
        let size = (1 + rng.below(params.max_batch as u64) as usize).min(params.spawns - attempted);
        attempted += size;
        results.batches += 1;
        match batch.call(&mut store, size as i32) {
            Ok(started) => results.spawned += u64::from(started.unsigned_abs()),
            Err(error) => results.errors.push(format!("batch: {error}")),
        }
        results.os_threads.sample()?;
        // The batch waited for the guest work; the join also reaps the OS threads.
        if let Err(error) = process.join() {
            results.errors.push(format!("join: {error}"));
        }
    }
    watchdog.disarm()?;
    results.elapsed = started.elapsed();
    results.live_after = process.live_threads();
    results.os_threads.finish()?;
    let read = |offset| -> Result<u64, StressError> {
        let mut word = [0; 4];
        memory
            .read(offset, &mut word)
            .context("reading the results")?;
        Ok(u64::from(u32::from_le_bytes(word)))
    };
    results.counter = read(COUNTER)?;
    results.refused = read(REFUSED)?;
    results.largest_tid = read(LARGEST_TID)?;
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_spawn_a_reused_id_and_a_leaked_thread_are_violations() {
        let mut results = WasiChurnResults {
            params: Params {
                spawns: 10,
                max_batch: 2,
            },
            batches: 6,
            spawned: 10,
            refused: 0,
            counter: 10,
            largest_tid: 10,
            errors: Vec::new(),
            live_after: 0,
            os_threads: ThreadCounts {
                before: 1,
                peak: 3,
                after: 1,
            },
            elapsed: Duration::from_millis(5),
        };
        assert_eq!(results.check(), vec![]);
        results.counter = 9;
        results.largest_tid = 9;
        results.os_threads.after = 2;
        let violations = results.check();
        assert_eq!(violations.len(), 3, "{violations:?}");
        assert_eq!(violations[0].0, "counter against spawns: 9, expected 10");
    }
}
