//! Termination, round after round: guest threads block in `memory.atomic.wait32`, block on a
//! host semaphore, or spin (with a call in the loop, or with none, which only a nudge stops); then either the whole store is terminated (while its own thread
//! is idle, or while it is itself blocked in a call, sometimes with an attached host thread
//! blocked too), or a few threads are terminated one by one and the rest released to finish
//! normally.
//!
//! Invariants, per round: every thread ends exactly as expected (terminated ones aborted,
//! released ones finished, none finished early), the joins complete within the join
//! deadline, the store's own thread sees exactly the interrupts it should and then calls
//! normally, and a fresh spawn finishes. After all rounds the semaphore holds no permit
//! (an interrupted wait takes none) and the OS threads are back to their baseline.

use super::Round;
use crate::error::{Context, StressError};
use crate::guest::{self, Guest, HostCall, Tally, join_calls};
use crate::os_threads::{HOST_THREAD_PREFIX, ThreadCounts};
use crate::report::{Checks, Findings, Violation};
use crate::rng::Rng;
use crate::watchdog::Watchdog;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weft::{
    BoundsChecks, Linker, Semaphore, SharedInstance, SharedMemory, Terminator, ThreadId, Trap,
};

/// Threads (and the home thread) about to block or spin.
const ANNOUNCED: usize = 0;
/// Blockers and spinners that returned normally.
const FINISHED: usize = 64;
/// Non-zero releases the wait blockers and the spinners.
const RELEASE: usize = 128;
const FRESH_SPAWNS: usize = 192;

const IMPORTS: &str = r#"
  (type $timed_t (shared (func (param i64) (result i32))))
  (import "gate" "permits.acquire" (func $acquire (type $timed_t)))"#;

fn body() -> String {
    format!(
        r#"
  (memory (export "memory") 1 1 shared)
  (func $announce (type $entry) (param i32)
    (drop (i32.atomic.rmw.add (i32.const {ANNOUNCED}) (i32.const 1))))
  (func $finish (type $entry) (param i32)
    (drop (i32.atomic.rmw.add (i32.const {FINISHED}) (i32.const 1))))
  (func $wait_for_release (type $entry) (param i32)
    (loop $again
      (if (i32.eqz (i32.atomic.load (i32.const {RELEASE})))
        (then
          (drop (memory.atomic.wait32 (i32.const {RELEASE}) (i32.const 0) (i64.const -1)))
          (br $again)))))
  (func (export "wait_blocker") (type $entry) (param $arg i32)
    (call $announce (local.get $arg))
    (call $wait_for_release (local.get $arg))
    (call $finish (local.get $arg)))
  (func (export "semaphore_blocker") (type $entry) (param $arg i32)
    (call $announce (local.get $arg))
    (if (i32.eqz (call $acquire (i64.const -1))) (then unreachable))
    (call $finish (local.get $arg)))
  ;; Spins with a call in the loop, so both kinds of safepoint are crossed.
  (func $nothing (type $entry) (param i32))
  (func (export "spinner") (type $entry) (param $arg i32)
    (call $announce (local.get $arg))
    (loop $again
      (call $nothing (local.get $arg))
      (br_if $again (i32.eqz (i32.atomic.load (i32.const {RELEASE})))))
    (call $finish (local.get $arg)))
  ;; Spins with no call at all: no safepoint, so only a nudge (the interrupt's signal) or the
  ;; release stops it.
  (func (export "tight_spinner") (type $entry) (param $arg i32)
    (call $announce (local.get $arg))
    (loop $again
      (br_if $again (i32.eqz (i32.atomic.load (i32.const {RELEASE})))))
    (call $finish (local.get $arg)))
  ;; The home thread's own blocking call: 7 if released.
  (func (export "home_block") (result i32)
    (call $announce (i32.const 0))
    (call $wait_for_release (i32.const 0))
    (i32.const 7))
  (func (export "release")
    (i32.atomic.store (i32.const {RELEASE}) (i32.const 1))
    (drop (memory.atomic.notify (i32.const {RELEASE}) (i32.const -1))))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "fresh") (type $entry) (param i32)
    (drop (i32.atomic.rmw.add (i32.const {FRESH_SPAWNS}) (i32.const 1))))"#
    )
}

#[derive(Clone, Debug)]
pub struct Params {
    pub rounds: usize,
    /// Guest threads per round: 2 up to this many.
    pub max_threads: usize,
    /// How long the joins after a termination may take.
    pub join_deadline: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoundKind {
    /// `terminate()` while the store's thread is idle: its next call traps once.
    StoreWide,
    /// `terminate()` from another thread while the store's thread is blocked in a call.
    HomeBlocked,
    /// `terminate_thread(id)` for some threads; the others are released and finish.
    Single,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Wait,
    Semaphore,
    Spin,
    TightSpin,
}

impl Role {
    fn export(self) -> &'static str {
        match self {
            Role::Wait => "wait_blocker",
            Role::Semaphore => "semaphore_blocker",
            Role::Spin => "spinner",
            Role::TightSpin => "tight_spinner",
        }
    }
}

/// What one round observed.
#[derive(Clone, Debug)]
pub struct RoundRecord {
    pub kind: RoundKind,
    /// Threads of the round, spawned and attached.
    pub threads: usize,
    pub expected_aborted: usize,
    /// Threads the home thread's interrupted call joined itself (so the store no longer
    /// knows them).
    pub expected_joined_by_home: usize,
    pub tally: Tally,
    /// Whether every thread announced itself before the deadline (else it was terminated
    /// without being seen to block).
    pub announced: bool,
    /// Threads that returned normally before they were released.
    pub early_finishes: u32,
    /// `terminate_thread` calls that reported the thread was not running.
    pub terminations_refused: usize,
    /// From termination to the last thread joined.
    pub join_latency: Duration,
    /// The home thread's blocking call, in `HomeBlocked` rounds: whether it was interrupted.
    pub home_call_interrupted: Option<bool>,
    /// Whether the home thread called before `join_threads`, when a store-wide termination
    /// is still pending for it (`join_threads` clears it).
    pub called_before_join: bool,
    /// Interrupt traps the home thread's next calls saw before one returned.
    pub pending_interrupts: u32,
    /// What that call returned (2 + 3), or how it failed.
    pub home_value: Result<i32, String>,
    /// A spawn after the round: finished?
    pub fresh_spawn: Tally,
}

impl RoundRecord {
    fn expected_interrupts(&self) -> u32 {
        u32::from(self.kind == RoundKind::StoreWide && self.called_before_join)
    }
}

#[derive(Clone, Debug)]
pub struct TerminateResults {
    pub params: Params,
    pub rounds: Vec<RoundRecord>,
    pub fresh_spawns: u64,
    pub permits_left: u32,
    pub os_threads: ThreadCounts,
    pub deadline_passed: bool,
}

impl Findings for TerminateResults {
    fn figures(&self) -> Vec<String> {
        let count = |kind| self.rounds.iter().filter(|r| r.kind == kind).count();
        let sum =
            |field: fn(&RoundRecord) -> usize| -> usize { self.rounds.iter().map(field).sum() };
        let latency = self
            .rounds
            .iter()
            .map(|r| r.join_latency)
            .max()
            .unwrap_or_default();
        vec![format!(
            "{} rounds ({} store-wide, {} home blocked, {} single): {} threads, {} aborted, {} finished, {} joined by the interrupted home call; max join latency {:.1} ms; pending home interrupts {}; {}",
            self.rounds.len(),
            count(RoundKind::StoreWide),
            count(RoundKind::HomeBlocked),
            count(RoundKind::Single),
            sum(|r| r.threads),
            sum(|r| r.tally.aborted),
            sum(|r| r.tally.finished),
            sum(|r| r.tally.missing),
            latency.as_secs_f64() * 1e3,
            self.rounds
                .iter()
                .map(|r| r.pending_interrupts)
                .sum::<u32>(),
            self.os_threads,
        )]
    }

    fn check(&self) -> Vec<Violation> {
        let mut checks = Checks::default();
        checks.expect(!self.deadline_passed, || {
            "the deadline passed and the watchdog terminated the run".into()
        });
        checks.equal("rounds run", self.rounds.len(), self.params.rounds);
        for (index, round) in self.rounds.iter().enumerate() {
            let name = format!("round {index} ({:?})", round.kind);
            let (aborted, joined) = (round.expected_aborted, round.expected_joined_by_home);
            let finished = round.threads - aborted - joined;
            let tally = &round.tally;
            checks.expect(
                tally.aborted == aborted
                    && tally.missing == joined
                    && tally.finished == finished
                    && tally.total() == round.threads,
                || {
                    format!(
                        "{name}: threads {tally}, expected {aborted} aborted, {finished} finished and {joined} joined by the home thread's call"
                    )
                },
            );
            checks.expect(round.announced, || {
                format!("{name}: threads never all blocked")
            });
            checks.zero(
                &format!("{name}: threads finished before release"),
                round.early_finishes.into(),
            );
            checks.zero(
                &format!("{name}: terminate_thread refused"),
                round.terminations_refused as u64,
            );
            checks.expect(round.join_latency <= self.params.join_deadline, || {
                format!(
                    "{name}: joins took {:.1} ms, over the {} ms deadline",
                    round.join_latency.as_secs_f64() * 1e3,
                    self.params.join_deadline.as_millis()
                )
            });
            checks.expect(round.home_call_interrupted.unwrap_or(true), || {
                format!("{name}: the home thread's blocked call was not interrupted")
            });
            checks.equal(
                &format!("{name}: interrupts pending for the home thread"),
                round.pending_interrupts,
                round.expected_interrupts(),
            );
            checks.expect(round.home_value == Ok(5), || {
                format!(
                    "{name}: the store's next call returned {:?}, expected Ok(5)",
                    round.home_value
                )
            });
            round.fresh_spawn.check_finished(
                &format!("{name}: spawn after termination"),
                1,
                &mut checks,
            );
        }
        checks.equal(
            "fresh spawns counted",
            self.fresh_spawns,
            self.rounds.len() as u64,
        );
        checks.equal("semaphore permits left", self.permits_left, 0);
        checks.expect(self.os_threads.returned(), || {
            format!(
                "OS threads did not return to the baseline: {}",
                self.os_threads
            )
        });
        checks.done()
    }
}

/// A round's threads: the spawned ones with their roles, and an attached one if any.
struct Started {
    spawned: Vec<(ThreadId, Role)>,
    attached: Vec<HostCall>,
}

struct Setup<'a> {
    guest: Guest,
    shared: SharedInstance,
    permits: Arc<Semaphore>,
    params: &'a Params,
    round: &'a Round,
}

impl Setup<'_> {
    fn start(&mut self, rng: &mut Rng, kind: RoundKind) -> Result<Started, StressError> {
        let count = 2 + rng.below(self.params.max_threads as u64 - 1) as usize;
        let mut spawned = Vec::with_capacity(count);
        for index in 0..count {
            let role =
                [Role::Wait, Role::Semaphore, Role::Spin, Role::TightSpin][rng.below(4) as usize];
            let func = self.guest.func(role.export())?;
            let id = self
                .guest
                .store
                .spawn(&func, index as i32)
                .context(format!("spawning a {role:?} thread"))?;
            spawned.push((id, role));
        }
        let mut attached = Vec::new();
        if kind != RoundKind::Single && rng.coin() {
            attached.push(HostCall::start(&self.shared, "wait_blocker", 0)?);
        }
        Ok(Started { spawned, attached })
    }

    /// Waits until `count` threads announced themselves; false at the deadline.
    fn await_announced(&self, count: usize) -> Result<bool, StressError> {
        announced(&self.guest.memory, count, self.round.deadline)
    }

    fn run_round(
        &mut self,
        rng: &mut Rng,
        kind: RoundKind,
        counts: &mut ThreadCounts,
    ) -> Result<RoundRecord, StressError> {
        // The announcements, finishes and release flag start from zero every round.
        self.guest.zero(0, FRESH_SPAWNS)?;
        let Started { spawned, attached } = self.start(rng, kind)?;
        let threads = spawned.len() + attached.len();
        let mut record = RoundRecord {
            kind,
            threads,
            expected_aborted: threads,
            expected_joined_by_home: 0,
            tally: Tally::default(),
            announced: false,
            early_finishes: 0,
            terminations_refused: 0,
            join_latency: Duration::ZERO,
            home_call_interrupted: None,
            called_before_join: kind == RoundKind::StoreWide && rng.coin(),
            pending_interrupts: 0,
            home_value: Err("not called".into()),
            fresh_spawn: Tally::default(),
        };
        let ids: Vec<ThreadId> = spawned.iter().map(|&(id, _)| id).collect();
        if kind == RoundKind::Single {
            self.terminate_some(&mut record, rng, &spawned, counts)?;
        } else {
            let terminated_at = if kind == RoundKind::StoreWide {
                record.announced = self.await_announced(threads)?;
                counts.sample()?;
                self.guest.store.terminator().terminate();
                Instant::now()
            } else {
                self.terminate_blocked_home(&mut record, threads)?
            };
            self.guest.join(&ids, &mut record.tally);
            join_calls(attached, &mut record.tally)?;
            record.join_latency = terminated_at.elapsed();
            record.early_finishes = self.guest.read_u32(FINISHED)?;
            if kind == RoundKind::HomeBlocked {
                // The interrupted call joined the spawned threads before it returned.
                record.expected_joined_by_home = spawned.len();
                record.expected_aborted = threads - spawned.len();
            }
            if record.called_before_join {
                self.call_home(&mut record)?;
            }
            if let Err(error) = self.guest.store.join_threads() {
                record.tally.trapped.push(format!("join_threads: {error}"));
            }
        }
        self.guest.zero(RELEASE, 4)?;
        if !record.called_before_join {
            self.call_home(&mut record)?;
        }
        // A refused spawn (the store still stopped) is a finding of the round, not an error.
        match self.guest.spawn_each("fresh", [0]) {
            Ok(fresh) => self.guest.join(&fresh, &mut record.fresh_spawn),
            Err(error) => record.fresh_spawn.trapped.push(error.to_string()),
        }
        Ok(record)
    }

    /// Blocks the store's own thread in a call, which a helper thread terminates together
    /// with the round's `threads` once all are blocked; returns when it terminated.
    fn terminate_blocked_home(
        &mut self,
        record: &mut RoundRecord,
        threads: usize,
    ) -> Result<Instant, StressError> {
        let helper = terminate_when_announced(
            &self.guest.memory,
            self.guest.store.terminator(),
            threads + 1,
            self.round.deadline,
        )?;
        let home_block = self.guest.typed::<(), i32>("home_block")?;
        let outcome = home_block.call(&mut self.guest.store, ());
        let (announced, terminated_at) = helper
            .join()
            .map_err(|_| StressError::HostPanic("terminator".into()))?;
        record.announced = announced;
        record.home_call_interrupted =
            Some(matches!(&outcome, Err(error) if error.trap() == Some(Trap::Interrupted)));
        Ok(terminated_at)
    }

    /// Terminates a random non-empty proper subset of the threads one by one, then releases
    /// the others, which must not have noticed, to finish normally.
    fn terminate_some(
        &mut self,
        record: &mut RoundRecord,
        rng: &mut Rng,
        spawned: &[(ThreadId, Role)],
        counts: &mut ThreadCounts,
    ) -> Result<(), StressError> {
        record.announced = self.await_announced(spawned.len())?;
        counts.sample()?;
        let mut order = spawned.to_vec();
        rng.shuffle(&mut order);
        let stopped = 1 + rng.below(order.len() as u64 - 1) as usize;
        let (doomed, survivors) = order.split_at(stopped);
        let terminator = self.guest.store.terminator();
        let terminated_at = Instant::now();
        for &(id, _) in doomed {
            if !terminator.terminate_thread(id) {
                record.terminations_refused += 1;
            }
        }
        let ids =
            |threads: &[(ThreadId, Role)]| threads.iter().map(|&(id, _)| id).collect::<Vec<_>>();
        self.guest.join(&ids(doomed), &mut record.tally);
        record.join_latency = terminated_at.elapsed();
        record.early_finishes = self.guest.read_u32(FINISHED)?;
        record.expected_aborted = stopped;
        self.guest
            .typed::<(), ()>("release")?
            .call(&mut self.guest.store, ())
            .context("releasing the blockers")?;
        let semaphore_blockers = survivors
            .iter()
            .filter(|&&(_, role)| role == Role::Semaphore)
            .count();
        self.permits.release(semaphore_blockers as u32);
        self.guest.join(&ids(survivors), &mut record.tally);
        Ok(())
    }

    /// The store's next call, retried past interrupts left pending for its thread.
    fn call_home(&mut self, record: &mut RoundRecord) -> Result<(), StressError> {
        let add = self.guest.typed::<(i32, i32), i32>("add")?;
        for _ in 0..3 {
            match add.call(&mut self.guest.store, (2, 3)) {
                Err(error) if error.trap() == Some(Trap::Interrupted) => {
                    record.pending_interrupts += 1
                }
                result => {
                    record.home_value = result.map_err(|error| error.to_string());
                    break;
                }
            }
        }
        Ok(())
    }
}

/// Polls the announcement counter (the host's reads of shared memory are relaxed byte
/// copies; the count stays below 256, so only one byte changes at a time).
fn announced(memory: &SharedMemory, count: usize, deadline: Duration) -> Result<bool, StressError> {
    let started = Instant::now();
    let mut word = [0; 4];
    loop {
        memory
            .read(ANNOUNCED, &mut word)
            .context("reading the announcements")?;
        if u32::from_le_bytes(word) as usize >= count {
            return Ok(true);
        }
        if started.elapsed() > deadline {
            return Ok(false);
        }
        std::thread::yield_now();
    }
}

/// A host thread that terminates the store once `count` threads announced themselves (or at
/// the deadline); it yields whether they did, and when it terminated.
fn terminate_when_announced(
    memory: &SharedMemory,
    terminator: Terminator,
    count: usize,
    deadline: Duration,
) -> Result<std::thread::JoinHandle<(bool, Instant)>, StressError> {
    let memory = memory.clone();
    Ok(std::thread::Builder::new()
        .name(format!("{HOST_THREAD_PREFIX}terminator"))
        .spawn(move || {
            let seen = announced(&memory, count, deadline).unwrap_or(false);
            terminator.terminate();
            (seen, Instant::now())
        })?)
}

pub fn run(params: &Params, round: &Round) -> Result<TerminateResults, StressError> {
    if params.max_threads < 2 || params.max_threads > 250 {
        return Err(StressError::Plan(format!("terminate {params:?}")));
    }
    let engine = guest::engine(params.max_threads + 1, BoundsChecks::GuardPages)?;
    let permits = Arc::new(Semaphore::new(0));
    let mut linker = Linker::new(&engine);
    linker
        .define_semaphore("gate", "permits", &permits)
        .context("defining the semaphore")?;
    let mut guest = Guest::new(&engine, &linker, &guest::module(IMPORTS, &body()))?;
    let shared = guest.share()?;
    let mut counts = ThreadCounts::start()?;
    let mut suite = Setup {
        guest,
        shared,
        permits,
        params,
        round,
    };
    let mut rng = Rng::new(round.seed);
    // A thread that never finishes after its release (a lost wakeup) would hang its round's
    // join; the watchdog terminates it, and the round's outcomes report it.
    let watchdog = Watchdog::arm(suite.guest.store.terminator(), round.deadline)?;
    let mut rounds = Vec::with_capacity(params.rounds);
    for _ in 0..params.rounds {
        let kind = [
            RoundKind::StoreWide,
            RoundKind::HomeBlocked,
            RoundKind::Single,
        ][rng.below(3) as usize];
        rounds.push(suite.run_round(&mut rng, kind, &mut counts)?);
    }
    let deadline_passed = watchdog.disarm()?;
    counts.finish()?;
    Ok(TerminateResults {
        params: params.clone(),
        rounds,
        fresh_spawns: suite.guest.read_u32(FRESH_SPAWNS)?.into(),
        permits_left: suite.permits.available(),
        os_threads: counts,
        deadline_passed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(kind: RoundKind) -> RoundRecord {
        RoundRecord {
            kind,
            threads: 3,
            expected_aborted: 3,
            expected_joined_by_home: 0,
            tally: Tally {
                aborted: 3,
                ..Tally::default()
            },
            announced: true,
            early_finishes: 0,
            terminations_refused: 0,
            join_latency: Duration::from_millis(1),
            home_call_interrupted: None,
            called_before_join: false,
            pending_interrupts: 0,
            home_value: Ok(5),
            fresh_spawn: Tally {
                finished: 1,
                ..Tally::default()
            },
        }
    }

    fn results(rounds: Vec<RoundRecord>) -> TerminateResults {
        TerminateResults {
            params: Params {
                rounds: rounds.len(),
                max_threads: 4,
                join_deadline: Duration::from_secs(1),
            },
            fresh_spawns: rounds.len() as u64,
            rounds,
            permits_left: 0,
            os_threads: ThreadCounts::default(),
            deadline_passed: false,
        }
    }

    #[test]
    fn a_blocked_thread_that_finished_is_a_violation() {
        assert_eq!(results(vec![round(RoundKind::StoreWide)]).check(), vec![]);
        let mut escaped = round(RoundKind::StoreWide);
        escaped.tally = Tally {
            aborted: 2,
            finished: 1,
            ..Tally::default()
        };
        escaped.early_finishes = 1;
        let violations = results(vec![escaped]).check();
        assert_eq!(violations.len(), 2, "{violations:?}");
        assert!(
            violations[0]
                .0
                .starts_with("round 0 (StoreWide): threads 1 finished, 2 aborted")
        );
    }

    #[test]
    fn a_slow_join_a_lost_interrupt_and_a_leaked_thread_are_violations() {
        let mut slow = round(RoundKind::Single);
        slow.join_latency = Duration::from_secs(2);
        let mut pending = round(RoundKind::StoreWide);
        pending.called_before_join = true;
        let mut results = results(vec![slow, pending]);
        results.os_threads.after = 1;
        let violations = results.check();
        assert_eq!(violations.len(), 3, "{violations:?}");
        assert!(
            violations[1]
                .0
                .ends_with("interrupts pending for the home thread: 0, expected 1")
        );
    }
}
