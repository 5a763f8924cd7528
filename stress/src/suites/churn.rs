//! Spawn churn: batches of guest threads spawned by the host (`Store::spawn`, joined one by
//! one) or by the guest (the `"wasm:thread"` `spawn-ref` and `spawn-indirect` intrinsics,
//! waited for in wasm, then `join_threads`), and batches of host threads that attach, call and detach; each thread
//! adds one to an atomic counter and ends.
//!
//! Invariants: the counter equals the successful spawns and attached calls exactly; nothing
//! is refused although the store is below its thread limit (a thread's permit comes back
//! when it ends); the per-thread blocks are reused, so the instance never creates more than
//! the largest batch needs; and after the churn the OS threads are back to their baseline.

use super::Round;
use crate::error::{Context, StressError};
use crate::guest::{self, Guest, HostCall, Tally, join_calls};
use crate::os_threads::ThreadCounts;
use crate::report::{Checks, Findings, Violation};
use crate::rng::Rng;
use crate::watchdog::Watchdog;
use std::time::{Duration, Instant};
use weft::{BoundsChecks, Func, SharedInstance, TypedFunc};

/// The memory layout, shared with the instance-per-thread churn.
pub(super) const COUNTER: usize = 0;
/// Threads that finished their increment; the guest's batch waits on it.
pub(super) const FINISHED: usize = 64;
pub(super) const REFUSED: usize = 128;

const IMPORTS: &str = r#"
  (type $spawn_ref_t (shared (func (param (ref null $entry) i32) (result i32))))
  (type $spawn_indirect_t (shared (func (param i32 i32) (result i32))))
  (import "wasm:thread" "spawn-ref" (func $spawn_ref (type $spawn_ref_t)))
  (import "wasm:thread" "spawn-indirect" (func $spawn_indirect (type $spawn_indirect_t)))"#;

fn body() -> String {
    format!(
        r#"
  (memory (export "memory") 1 1 shared)
  ;; spawn-indirect takes its function from here, the first shared table of functions.
  (table $spawnable shared 1 1 (ref null $entry))
  (elem (table $spawnable) (i32.const 0) (ref null $entry) (ref.func $work))
  (func $work (export "work") (type $entry)
    (drop (i32.atomic.rmw.add (i32.const {COUNTER}) (i32.const 1)))
    (drop (i32.atomic.rmw.add (i32.const {FINISHED}) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const {FINISHED}) (i32.const 1))))
  ;; Workers alternate between spawn-ref and spawn-indirect.
  {batch}
"#,
        batch = batch_func(
            "(if (result i32) (i32.and (local.get $i) (i32.const 1))
                (then (call $spawn_indirect (i32.const 0) (local.get $i)))
                (else (call $spawn_ref (ref.func $work) (local.get $i))))"
        )
    )
}

/// The exported `batch(k)`, the same under both thread models: starts `k` workers with
/// `spawn` (an expression of the loop index `$i` giving the spawn's result, positive when a
/// thread started), counts the refused ones at `REFUSED`, and waits until every worker that
/// started has added one at `FINISHED`. Returns how many started.
pub(super) fn batch_func(spawn: &str) -> String {
    format!(
        r#"(func (export "batch") (param $k i32) (result i32)
    (local $i i32) (local $started i32) (local $target i32) (local $done i32)
    (local.set $target (i32.atomic.load (i32.const {FINISHED})))
    (block $spawned
      (loop $more
        (br_if $spawned (i32.ge_u (local.get $i) (local.get $k)))
        (if (i32.gt_s {spawn} (i32.const 0))
          (then (local.set $started (i32.add (local.get $started) (i32.const 1))))
          (else (drop (i32.atomic.rmw.add (i32.const {REFUSED}) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $more)))
    (local.set $target (i32.add (local.get $target) (local.get $started)))
    (loop $wait
      (local.set $done (i32.atomic.load (i32.const {FINISHED})))
      (if (i32.lt_u (local.get $done) (local.get $target))
        (then
          (drop (memory.atomic.wait32 (i32.const {FINISHED}) (local.get $done) (i64.const -1)))
          (br $wait))))
    (local.get $started))"#
    )
}

#[derive(Clone, Debug)]
pub struct Params {
    /// Guest thread spawn attempts; attached batches come on top, about half as many.
    pub spawns: usize,
    /// The largest batch, which is also the store's thread limit.
    pub max_batch: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Batch {
    /// `Store::spawn`, then `join_thread` for each.
    Host,
    /// The guest spawns with `spawn-ref`/`spawn-indirect` and waits in wasm; then
    /// `join_threads`.
    Guest,
    /// Host threads attach, call the worker's function, and detach.
    Attached,
}

#[derive(Clone, Debug)]
pub struct ChurnResults {
    pub params: Params,
    /// Batches of each kind: host-spawned, guest-spawned, attached.
    pub batches: [u64; 3],
    /// Guest threads that started, and attached calls made.
    pub spawned: u64,
    pub attached: u64,
    pub refused: u64,
    pub first_refusal: Option<String>,
    /// The guest's counter after the churn.
    pub counter: u64,
    /// The host-spawned threads, joined one by one, and the attached calls.
    pub joined: Tally,
    /// Failures of the guest batches' calls and joins.
    pub guest_errors: Vec<String>,
    pub os_threads: ThreadCounts,
    pub blocks_created: usize,
    pub elapsed: Duration,
}

impl Findings for ChurnResults {
    fn figures(&self) -> Vec<String> {
        let rate = (self.spawned + self.attached) as f64 / self.elapsed.as_secs_f64().max(1e-9);
        let [host, guest, attached] = self.batches;
        vec![format!(
            "{} spawns + {} attachments ({host} host, {guest} guest, {attached} attached batches of <= {}), {} refused, counter {}; {}; blocks created {}; {rate:.0} spawns+attachments/s",
            self.spawned,
            self.attached,
            self.params.max_batch,
            self.refused,
            self.counter,
            self.os_threads,
            self.blocks_created,
        )]
    }

    fn check(&self) -> Vec<Violation> {
        let mut checks = Checks::default();
        self.joined.check_finished(
            "host-spawned threads and attached calls",
            self.joined.total(),
            &mut checks,
        );
        checks.expect(self.guest_errors.is_empty(), || {
            format!(
                "{} guest batches failed (first: {})",
                self.guest_errors.len(),
                self.guest_errors.first().map_or("", String::as_str)
            )
        });
        checks.equal(
            "counter against spawns and attached calls",
            self.counter,
            self.spawned + self.attached,
        );
        checks.expect(self.refused == 0, || {
            format!(
                "{} spawns or attachments refused below the thread limit of {} (first: {})",
                self.refused,
                self.params.max_batch,
                self.first_refusal.as_deref().unwrap_or("in the guest")
            )
        });
        checks.expect(self.os_threads.returned(), || {
            format!(
                "OS threads did not return to the baseline: {}",
                self.os_threads
            )
        });
        checks.expect(self.blocks_created <= self.params.max_batch, || {
            format!(
                "thread blocks created: {}, more than the {} threads ever live at once",
                self.blocks_created, self.params.max_batch
            )
        });
        checks.done()
    }
}

/// The churn in progress.
struct Churn {
    guest: Guest,
    shared: SharedInstance,
    work: Func,
    batch: TypedFunc<i32, i32>,
    results: ChurnResults,
}

impl Churn {
    fn refuse(&mut self, error: &impl std::fmt::Display) {
        self.results.refused += 1;
        self.results.first_refusal.get_or_insert(error.to_string());
    }

    fn host_batch(&mut self, size: usize) -> Result<(), StressError> {
        let mut ids = Vec::with_capacity(size);
        for arg in 0..size as i32 {
            match self.guest.store.spawn(&self.work, arg) {
                Ok(id) => ids.push(id),
                Err(error) => self.refuse(&error),
            }
        }
        self.results.spawned += ids.len() as u64;
        self.results.os_threads.sample()?;
        self.guest.join(&ids, &mut self.results.joined);
        Ok(())
    }

    fn guest_batch(&mut self, size: usize) {
        match self.batch.call(&mut self.guest.store, size as i32) {
            Ok(started) => self.results.spawned += u64::from(started.unsigned_abs()),
            Err(error) => self.results.guest_errors.push(format!("batch: {error}")),
        }
        if let Err(error) = self.guest.store.join_threads() {
            self.results
                .guest_errors
                .push(format!("join_threads: {error}"));
        }
    }

    fn attached_batch(&mut self, size: usize) -> Result<(), StressError> {
        let calls = (0..size)
            .map(|arg| HostCall::start(&self.shared, "work", arg))
            .collect::<Result<Vec<_>, _>>()?;
        self.results.os_threads.sample()?;
        let mut tally = Tally::default();
        join_calls(calls, &mut tally)?;
        // An attachment refused at the limit fails its call: counted as refused, not run.
        for error in tally.trapped.drain(..) {
            self.refuse(&error);
        }
        self.results.attached += tally.finished as u64;
        self.results.joined.finished += tally.finished;
        self.results.joined.aborted += tally.aborted;
        Ok(())
    }
}

pub fn run(params: &Params, round: &Round) -> Result<ChurnResults, StressError> {
    if params.max_batch == 0 {
        return Err(StressError::Plan(format!("churn {params:?}")));
    }
    let engine = guest::engine(params.max_batch, BoundsChecks::GuardPages)?;
    let mut guest = Guest::standalone(&engine, &guest::module(IMPORTS, &body()))?;
    let mut churn = Churn {
        shared: guest.share()?,
        work: guest.func("work")?,
        batch: guest.typed::<i32, i32>("batch")?,
        guest,
        results: ChurnResults {
            params: params.clone(),
            batches: [0; 3],
            spawned: 0,
            attached: 0,
            refused: 0,
            first_refusal: None,
            counter: 0,
            joined: Tally::default(),
            guest_errors: Vec::new(),
            os_threads: ThreadCounts::start()?,
            blocks_created: 0,
            elapsed: Duration::ZERO,
        },
    };
    let mut rng = Rng::new(round.seed);
    let started = Instant::now();
    let watchdog = Watchdog::arm(churn.guest.store.terminator(), round.deadline)?;
    let mut attempted = 0;
    while attempted < params.spawns && churn.results.guest_errors.is_empty() {
        let size = (1 + rng.below(params.max_batch as u64) as usize).min(params.spawns - attempted);
        let kind = [Batch::Host, Batch::Guest, Batch::Attached][rng.below(3) as usize];
        churn.results.batches[kind as usize] += 1;
        if kind != Batch::Attached {
            attempted += size;
        }
        match kind {
            Batch::Host => churn.host_batch(size)?,
            Batch::Guest => churn.guest_batch(size),
            Batch::Attached => churn.attached_batch(size)?,
        }
    }
    churn.results.joined.deadline_passed = watchdog.disarm()?;
    churn.results.elapsed = started.elapsed();
    let Churn {
        mut guest,
        mut results,
        ..
    } = churn;
    guest
        .store
        .join_threads()
        .context("joining the last threads")?;
    results.os_threads.finish()?;
    results.blocks_created = guest.instance.thread_blocks_created(&guest.store);
    results.counter = u64::from(guest.read_u32(COUNTER)?);
    results.refused += u64::from(guest.read_u32(REFUSED)?);
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_increment_a_leaked_thread_and_extra_blocks_are_violations() {
        let mut results = ChurnResults {
            params: Params {
                spawns: 10,
                max_batch: 2,
            },
            batches: [3, 2, 1],
            spawned: 8,
            attached: 2,
            refused: 0,
            first_refusal: None,
            counter: 10,
            joined: Tally {
                finished: 6,
                ..Tally::default()
            },
            guest_errors: Vec::new(),
            os_threads: ThreadCounts {
                before: 1,
                peak: 3,
                after: 1,
            },
            blocks_created: 2,
            elapsed: Duration::from_millis(5),
        };
        assert_eq!(results.check(), vec![]);
        results.counter = 9;
        results.os_threads.after = 2;
        results.blocks_created = 3;
        let violations = results.check();
        assert_eq!(violations.len(), 3, "{violations:?}");
        assert_eq!(
            violations[0].0,
            "counter against spawns and attached calls: 9, expected 10"
        );
    }
}
