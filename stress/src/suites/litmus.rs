//! Litmus tests of the memory model: message passing (MP), store buffering (SB) and load
//! buffering (LB), each with sequentially consistent atomics and with plain accesses.
//!
//! Two guest threads are spawned once per test and run every repetition inside wasm. A
//! sense-reversing barrier in shared memory lines them up before each repetition (spinning
//! briefly, then sleeping in `memory.atomic.wait32`, so a loaded machine does not starve
//! it), a seeded random spin staggers them by a few cycles, and repetition `i` uses its own
//! zeroed slots `x[i]`, `y[i]` and result slots `r0[i]`, `r1[i]`, so nothing is reset between
//! repetitions. The host reads the results once the threads are joined.

use super::Round;
use crate::error::StressError;
use crate::guest::{self, Guest, Tally};
use crate::report::{Checks, Findings, Violation, histogram};
use crate::rng::Rng;
use crate::watchdog::Watchdog;
use weft::BoundsChecks;

/// The value stored to `x` and `y`: every byte non-zero, so a torn read is neither it nor 0.
pub const PATTERN: u32 = 0x0101_0101;

// The header: the barrier's words, its fault counter and the two threads' seeds.
const COUNT: usize = 0;
const SENSE: usize = 4;
const SLEEPERS: usize = 8;
const ARRIVALS: usize = 12;
const BARRIER_FAULTS: usize = 16;
const SEEDS: usize = 32;
const HEADER: usize = 64;

/// Spins on the barrier before sleeping: long enough that two running threads never sleep,
/// short enough that a descheduled partner costs little.
const SPINS_BEFORE_SLEEP: u32 = 2000;

#[derive(Clone, Debug)]
pub struct Params {
    /// Repetitions of each of the six tests.
    pub reps: usize,
    /// Each thread spins up to this many loop iterations (a power of two minus one) before
    /// each repetition's body.
    pub max_delay: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// T0: x = 1; y = 1.  T1: r0 = y; r1 = x.
    MessagePassing,
    /// T0: x = 1; r0 = y.  T1: y = 1; r1 = x.
    StoreBuffering,
    /// T0: r0 = x; y = 1.  T1: r1 = y; x = 1.
    LoadBuffering,
}

impl Shape {
    pub const ALL: [Shape; 3] = [
        Shape::MessagePassing,
        Shape::StoreBuffering,
        Shape::LoadBuffering,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Shape::MessagePassing => "MP",
            Shape::StoreBuffering => "SB",
            Shape::LoadBuffering => "LB",
        }
    }

    /// The outcome sequential consistency forbids, as a histogram index `2 * r0 + r1`
    /// (1 meaning the read saw the stored pattern).
    pub fn forbidden(self) -> usize {
        match self {
            Shape::MessagePassing => 0b10,
            Shape::StoreBuffering => 0b00,
            Shape::LoadBuffering => 0b11,
        }
    }

    /// The bodies of thread 0 and thread 1 for repetition slot `$a`.
    fn bodies(self, store: &str, load: &str, layout: &Layout) -> [String; 2] {
        let Layout { x, y, r0, r1, .. } = *layout;
        let write =
            |at: usize| format!("({store} offset={at} (local.get $a) (i32.const {PATTERN}))");
        let read_into = |result: usize, from: usize| {
            format!(
                "(i32.store offset={result} (local.get $a) ({load} offset={from} (local.get $a)))"
            )
        };
        match self {
            Shape::MessagePassing => [
                format!("{} {}", write(x), write(y)),
                format!("{} {}", read_into(r0, y), read_into(r1, x)),
            ],
            Shape::StoreBuffering => [
                format!("{} {}", write(x), read_into(r0, y)),
                format!("{} {}", write(y), read_into(r1, x)),
            ],
            Shape::LoadBuffering => [
                format!("{} {}", read_into(r0, x), write(y)),
                format!("{} {}", read_into(r1, y), write(x)),
            ],
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Test {
    pub shape: Shape,
    /// Seq-cst `i32.atomic.*` accesses, or plain `i32.load`/`i32.store`.
    pub atomic: bool,
}

impl Test {
    pub fn all() -> impl Iterator<Item = Test> {
        Shape::ALL.into_iter().flat_map(|shape| {
            [true, false]
                .into_iter()
                .map(move |atomic| Test { shape, atomic })
        })
    }

    fn export(self) -> String {
        format!("{}_{}", self.shape.name().to_lowercase(), self.accesses())
    }

    fn accesses(self) -> &'static str {
        if self.atomic { "sc" } else { "plain" }
    }
}

impl std::fmt::Display for Test {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.shape.name(), self.accesses())
    }
}

/// Where the four per-repetition arrays start.
#[derive(Clone, Copy)]
struct Layout {
    x: usize,
    y: usize,
    r0: usize,
    r1: usize,
    end: usize,
}

impl Layout {
    fn new(reps: usize) -> Layout {
        let x = HEADER;
        Layout {
            x,
            y: x + 4 * reps,
            r0: x + 8 * reps,
            r1: x + 12 * reps,
            end: x + 16 * reps,
        }
    }
}

fn module(params: &Params, layout: &Layout) -> String {
    let pages = layout.end.div_ceil(1 << 16);
    let workers: String = Test::all()
        .map(|test| worker(test, params, layout))
        .collect();
    let body = format!(
        r#"
  (type $barrier_t (shared (func (param i32 i32))))
  (memory (export "memory") {pages} {pages} shared)
  ;; Waits for the other thread at repetition $i; $sense alternates 1, 0, 1, ... Afterwards
  ;; both threads must have arrived at barrier $i and the other at most at barrier $i + 1.
  (func $barrier (type $barrier_t) (param $sense i32) (param $i i32)
    (local $spins i32) (local $arrived i32)
    (drop (i32.atomic.rmw.add (i32.const {ARRIVALS}) (i32.const 1)))
    (if (i32.eq (i32.atomic.rmw.add (i32.const {COUNT}) (i32.const 1)) (i32.const 1))
      (then
        (i32.atomic.store (i32.const {COUNT}) (i32.const 0))
        (i32.atomic.store (i32.const {SENSE}) (local.get $sense))
        ;; A sleeper announced itself before checking the sense in its wait, so either it
        ;; sees the new sense or this sees it and wakes it.
        (if (i32.atomic.load (i32.const {SLEEPERS}))
          (then (drop (memory.atomic.notify (i32.const {SENSE}) (i32.const 1))))))
      (else
        (loop $wait
          (if (i32.ne (i32.atomic.load (i32.const {SENSE})) (local.get $sense))
            (then
              (local.set $spins (i32.add (local.get $spins) (i32.const 1)))
              (if (i32.ge_u (local.get $spins) (i32.const {SPINS_BEFORE_SLEEP}))
                (then
                  (drop (i32.atomic.rmw.add (i32.const {SLEEPERS}) (i32.const 1)))
                  (drop (memory.atomic.wait32 (i32.const {SENSE})
                    (i32.eqz (local.get $sense)) (i64.const -1)))
                  (drop (i32.atomic.rmw.sub (i32.const {SLEEPERS}) (i32.const 1)))))
              (br $wait))))))
    (local.set $arrived (i32.atomic.load (i32.const {ARRIVALS})))
    (if (i32.or
          (i32.lt_u (local.get $arrived) (i32.add (i32.shl (local.get $i) (i32.const 1)) (i32.const 2)))
          (i32.gt_u (local.get $arrived) (i32.add (i32.shl (local.get $i) (i32.const 1)) (i32.const 3))))
      (then (drop (i32.atomic.rmw.add (i32.const {BARRIER_FAULTS}) (i32.const 1))))))
  {workers}"#
    );
    guest::module("", &body)
}

/// One test's thread function: `$role` 0 or 1 runs that thread's body every repetition.
fn worker(test: Test, params: &Params, layout: &Layout) -> String {
    let (store, load) = if test.atomic {
        ("i32.atomic.store", "i32.atomic.load")
    } else {
        ("i32.store", "i32.load")
    };
    let [t0, t1] = test.shape.bodies(store, load, layout);
    let (export, reps, max_delay) = (test.export(), params.reps, params.max_delay);
    format!(
        r#"
  (func (export "{export}") (type $entry) (param $role i32)
    (local $i i32) (local $a i32) (local $sense i32) (local $rng i32)
    (local.set $rng (i32.load offset={SEEDS} (i32.shl (local.get $role) (i32.const 2))))
    (loop $rep
      (local.set $sense (i32.eqz (local.get $sense)))
      (call $barrier (local.get $sense) (local.get $i))
      (local.set $rng (call $next (local.get $rng)))
      ;; A random delay at a random scale (up to max, or a half, quarter or eighth of it):
      ;; how far apart the threads leave the barrier depends on the machine, and the spread
      ;; of scales gives every skew some chance of an overlap.
      (call $spin (i32.shr_u (i32.and (local.get $rng) (i32.const {max_delay}))
        (i32.shr_u (local.get $rng) (i32.const 30))))
      (local.set $a (i32.shl (local.get $i) (i32.const 2)))
      (if (local.get $role) (then {t1}) (else {t0}))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $rep (i32.lt_u (local.get $i) (i32.const {reps})))))"#
    )
}

/// What one test observed.
#[derive(Clone, Debug)]
pub struct TestRun {
    pub test: Test,
    pub reps: u64,
    /// Outcomes `(r0, r1)` at index `2 * r0 + r1`, each read as 0 (initial) or 1 (pattern).
    pub histogram: [u64; 4],
    /// Repetitions in which a read returned a value no thread wrote.
    pub foreign: u64,
    pub first_foreign: Option<(u32, u32)>,
    /// Times a thread left the barrier before the other had arrived (or ran ahead of it).
    pub barrier_faults: u32,
    pub threads: Tally,
}

impl TestRun {
    /// Sorts the raw results into the histogram.
    pub fn classify(test: Test, r0: &[u32], r1: &[u32]) -> TestRun {
        let seen = |value: u32| match value {
            0 => Some(0),
            PATTERN => Some(1),
            _ => None,
        };
        let mut run = TestRun {
            test,
            reps: r0.len() as u64,
            histogram: [0; 4],
            foreign: 0,
            first_foreign: None,
            barrier_faults: 0,
            threads: Tally::default(),
        };
        for (&a, &b) in r0.iter().zip(r1) {
            match (seen(a), seen(b)) {
                (Some(a), Some(b)) => run.histogram[2 * a + b] += 1,
                _ => {
                    run.foreign += 1;
                    run.first_foreign.get_or_insert((a, b));
                }
            }
        }
        run
    }

    fn forbidden_count(&self) -> u64 {
        self.histogram[self.test.shape.forbidden()]
    }
}

#[derive(Clone, Debug)]
pub struct LitmusResults {
    pub runs: Vec<TestRun>,
}

impl Findings for LitmusResults {
    fn figures(&self) -> Vec<String> {
        let count = |atomic: bool| -> u64 {
            self.runs
                .iter()
                .filter(|run| run.test.atomic == atomic)
                .map(TestRun::forbidden_count)
                .sum()
        };
        let reps = self.runs.first().map_or(0, |run| run.reps);
        let mut lines = vec![format!(
            "{} tests x {reps} reps; forbidden outcomes with atomics: {}; relaxed outcomes without: {}; foreign reads: {}; barrier faults: {}",
            self.runs.len(),
            count(true),
            count(false),
            self.runs.iter().map(|run| run.foreign).sum::<u64>(),
            self.runs
                .iter()
                .map(|run| u64::from(run.barrier_faults))
                .sum::<u64>(),
        )];
        for run in &self.runs {
            let forbidden = run.test.shape.forbidden();
            let buckets =
                (0..4).map(|index| (format!("{}{}", index >> 1, index & 1), run.histogram[index]));
            let label = if run.test.atomic {
                "forbidden"
            } else {
                "relaxed (allowed)"
            };
            lines.push(format!(
                "{:<9} (r0 r1) {}  {label} {}{}: {}",
                run.test.to_string(),
                histogram(buckets),
                forbidden >> 1,
                forbidden & 1,
                run.forbidden_count()
            ));
        }
        lines
    }

    fn check(&self) -> Vec<Violation> {
        let mut checks = Checks::default();
        for run in &self.runs {
            let test = run.test;
            run.threads
                .check_finished(&format!("{test} threads"), 2, &mut checks);
            checks.equal(
                &format!("{test} outcomes counted"),
                run.histogram.iter().sum::<u64>() + run.foreign,
                run.reps,
            );
            checks.expect(run.foreign == 0, || {
                format!(
                    "{test}: {} repetitions read a value no thread wrote (first r0={:#x} r1={:#x})",
                    run.foreign,
                    run.first_foreign.map_or(0, |(a, _)| a),
                    run.first_foreign.map_or(0, |(_, b)| b),
                )
            });
            checks.zero(
                &format!("{test} barrier faults"),
                u64::from(run.barrier_faults),
            );
            if test.atomic {
                let forbidden = test.shape.forbidden();
                checks.expect(run.forbidden_count() == 0, || {
                    format!(
                        "{test}: forbidden outcome r0={} r1={} seen {} times in {} repetitions",
                        forbidden >> 1,
                        forbidden & 1,
                        run.forbidden_count(),
                        run.reps
                    )
                });
            }
        }
        checks.done()
    }
}

pub fn run(params: &Params, round: &Round) -> Result<LitmusResults, StressError> {
    if params.reps == 0 || !(params.max_delay + 1).is_power_of_two() {
        return Err(StressError::Plan(format!("litmus {params:?}")));
    }
    let layout = Layout::new(params.reps);
    let engine = guest::engine(2, BoundsChecks::GuardPages)?;
    let mut guest = Guest::standalone(&engine, &module(params, &layout))?;
    let mut rng = Rng::new(round.seed);
    let mut runs = Vec::new();
    for test in Test::all() {
        guest.zero(0, layout.end)?;
        guest.write_seeds(SEEDS, 2, &mut rng)?;
        let mut threads = Tally::default();
        let watchdog = Watchdog::arm(guest.store.terminator(), round.deadline)?;
        let ids = guest.spawn_each(&test.export(), 0..2)?;
        guest.join(&ids, &mut threads);
        threads.deadline_passed = watchdog.disarm()?;
        let r0 = guest.read_u32s(layout.r0, params.reps)?;
        let r1 = guest.read_u32s(layout.r1, params.reps)?;
        let mut run = TestRun::classify(test, &r0, &r1);
        run.barrier_faults = guest.read_u32(BARRIER_FAULTS)?;
        run.threads = threads;
        let stop = run.threads.deadline_passed;
        runs.push(run);
        if stop {
            // The terminated store spawns nothing more until joined; the failure is reported.
            break;
        }
    }
    Ok(LitmusResults { runs })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished_run(test: Test, r0: &[u32], r1: &[u32]) -> TestRun {
        let mut run = TestRun::classify(test, r0, r1);
        run.threads.finished = 2;
        run
    }

    #[test]
    fn a_forbidden_outcome_under_atomics_is_a_violation_but_allowed_without() {
        let (r0, r1) = ([PATTERN, 0, PATTERN], [0, 0, PATTERN]);
        let mp = |atomic| Test {
            shape: Shape::MessagePassing,
            atomic,
        };
        let atomic = LitmusResults {
            runs: vec![finished_run(mp(true), &r0, &r1)],
        };
        assert_eq!(atomic.runs[0].histogram, [1, 0, 1, 1]);
        let violations = atomic.check();
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert!(
            violations[0]
                .0
                .contains("MP/sc: forbidden outcome r0=1 r1=0 seen 1 times")
        );
        let plain = LitmusResults {
            runs: vec![finished_run(mp(false), &r0, &r1)],
        };
        assert_eq!(plain.check(), vec![]);
    }

    #[test]
    fn torn_reads_barrier_faults_and_unfinished_threads_are_violations() {
        let test = Test {
            shape: Shape::StoreBuffering,
            atomic: false,
        };
        let mut run = finished_run(test, &[0x0101, 0], &[PATTERN, PATTERN]);
        assert_eq!(
            (run.foreign, run.first_foreign),
            (1, Some((0x0101, PATTERN)))
        );
        run.barrier_faults = 3;
        run.threads.finished = 1;
        run.threads.aborted = 1;
        let violations = LitmusResults { runs: vec![run] }.check();
        assert_eq!(violations.len(), 3, "{violations:?}");
    }
}
