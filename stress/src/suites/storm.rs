//! A wait/notify storm: waiters (guest threads and attached host threads) wait with no
//! timeout on a few addresses, chosen at random each round, while notifiers bump those
//! addresses and notify them with random counts until every waiter has done all its rounds.
//!
//! The accounting is exact: every wait that returned "ok" was woken by exactly one notify,
//! and every notify returns how many it woke, so the notifies' returns must sum to the "ok"
//! waits. A notify that reports a waiter it did not wake (a lost wakeup: the waiter then
//! waits for a later notify), counts one twice, or a waiter woken spuriously breaks the
//! equality; a waiter that is never woken again keeps the run from finishing, and the
//! watchdog's termination reports it as lost.

use super::Round;
use crate::error::StressError;
use crate::guest::{self, Crew, Guest, Tally};
use crate::report::{Checks, Findings, Violation};
use crate::rng::Rng;
use weft::BoundsChecks;

/// Each address has a cache line of its own.
const ADDRESS_STRIDE: usize = 64;
const MAX_ADDRESSES: usize = 16;
const WAITERS_DONE: usize = ADDRESS_STRIDE * MAX_ADDRESSES;
/// Nothing notifies this word: an idle notifier sleeps on it briefly.
const PAUSE: usize = WAITERS_DONE + 4;
const SEEDS: usize = WAITERS_DONE + 64;
/// An idle notifier's pause, so notifiers with nobody to wake leave the CPU to the waiters.
const IDLE_PAUSE_NANOS: u32 = 10_000;

#[derive(Clone, Debug)]
pub struct Params {
    /// Waiting threads; the first `attached_waiters` of them are attached host threads.
    pub waiters: usize,
    pub attached_waiters: usize,
    pub notifiers: usize,
    pub addresses: usize,
    /// Waits per waiter.
    pub rounds: usize,
}

/// Where the per-thread figures live, after the seeds.
struct Layout {
    waiter_stats: usize,
    notifier_stats: usize,
    end: usize,
}

impl Layout {
    fn new(params: &Params) -> Layout {
        let waiter_stats = (SEEDS + 4 * (params.waiters + params.notifiers)).next_multiple_of(64);
        let notifier_stats = waiter_stats + 16 * params.waiters;
        Layout {
            waiter_stats,
            notifier_stats,
            end: notifier_stats + 16 * params.notifiers,
        }
    }
}

fn module(params: &Params, layout: &Layout) -> String {
    let Params {
        waiters,
        addresses,
        rounds,
        ..
    } = *params;
    let Layout {
        waiter_stats,
        notifier_stats,
        end,
    } = *layout;
    let pages = end.div_ceil(1 << 16);
    let body = format!(
        r#"
  (memory (export "memory") {pages} {pages} shared)
  (func $pick_address (type $next_t) (param $rng i32) (result i32)
    (i32.mul (i32.rem_u (i32.shr_u (local.get $rng) (i32.const 8)) (i32.const {addresses}))
      (i32.const {ADDRESS_STRIDE})))
  ;; Waiter $w: {rounds} waits, each on a random address for the value it holds now.
  ;; Stats: rounds done, then ok, not-equal and timed-out results.
  (func (export "waiter") (type $entry) (param $w i32)
    (local $rng i32) (local $stats i32) (local $round i32) (local $addr i32) (local $result i32)
    (local $ok i32) (local $not_equal i32) (local $timed_out i32)
    (local.set $rng (i32.load offset={SEEDS} (i32.shl (local.get $w) (i32.const 2))))
    (local.set $stats (i32.add (i32.const {waiter_stats}) (i32.shl (local.get $w) (i32.const 4))))
    (loop $round
      (local.set $rng (call $next (local.get $rng)))
      (local.set $addr (call $pick_address (local.get $rng)))
      (local.set $result
        (memory.atomic.wait32 (local.get $addr) (i32.atomic.load (local.get $addr)) (i64.const -1)))
      (if (i32.eqz (local.get $result))
        (then (local.set $ok (i32.add (local.get $ok) (i32.const 1)))))
      (if (i32.eq (local.get $result) (i32.const 1))
        (then (local.set $not_equal (i32.add (local.get $not_equal) (i32.const 1)))))
      (if (i32.eq (local.get $result) (i32.const 2))
        (then (local.set $timed_out (i32.add (local.get $timed_out) (i32.const 1)))))
      (local.set $round (i32.add (local.get $round) (i32.const 1)))
      ;; Kept current, so the figures of a waiter terminated at the deadline still add up.
      (i32.store (local.get $stats) (local.get $round))
      (i32.store offset=4 (local.get $stats) (local.get $ok))
      (i32.store offset=8 (local.get $stats) (local.get $not_equal))
      (i32.store offset=12 (local.get $stats) (local.get $timed_out))
      (br_if $round (i32.lt_u (local.get $round) (i32.const {rounds}))))
    (drop (i32.atomic.rmw.add (i32.const {WAITERS_DONE}) (i32.const 1))))
  ;; Notifier $n: until every waiter is done, bumps a random address (half the time, so
  ;; some waits find their value stale) and notifies 1, 2 or all of its waiters.
  ;; Stats: notifies and the waiters they woke (both kept current), notifies that woke
  ;; nobody.
  (func (export "notifier") (type $entry) (param $n i32)
    (local $rng i32) (local $stats i32) (local $addr i32) (local $count i32) (local $woke i32)
    (local $notifies i32) (local $woken i32) (local $idle i32)
    (local.set $rng (i32.load offset={SEEDS}
      (i32.shl (i32.add (local.get $n) (i32.const {waiters})) (i32.const 2))))
    (local.set $stats (i32.add (i32.const {notifier_stats}) (i32.shl (local.get $n) (i32.const 4))))
    (loop $more
      (local.set $rng (call $next (local.get $rng)))
      (local.set $addr (call $pick_address (local.get $rng)))
      (if (i32.and (local.get $rng) (i32.const 1))
        (then (drop (i32.atomic.rmw.add (local.get $addr) (i32.const 1)))))
      (local.set $count (i32.and (i32.shr_u (local.get $rng) (i32.const 1)) (i32.const 3)))
      (if (i32.eq (local.get $count) (i32.const 3)) (then (local.set $count (i32.const -1))))
      (if (i32.eqz (local.get $count)) (then (local.set $count (i32.const 1))))
      (local.set $woke (memory.atomic.notify (local.get $addr) (local.get $count)))
      (local.set $notifies (i32.add (local.get $notifies) (i32.const 1)))
      (local.set $woken (i32.add (local.get $woken) (local.get $woke)))
      (i32.store (local.get $stats) (local.get $notifies))
      (i32.store offset=4 (local.get $stats) (local.get $woken))
      (if (i32.eqz (local.get $woke))
        (then
          (local.set $idle (i32.add (local.get $idle) (i32.const 1)))
          (drop (memory.atomic.wait32 (i32.const {PAUSE}) (i32.const 0)
            (i64.const {IDLE_PAUSE_NANOS})))))
      (br_if $more (i32.lt_u (i32.atomic.load (i32.const {WAITERS_DONE})) (i32.const {waiters}))))
    (i32.store offset=8 (local.get $stats) (local.get $idle)))"#
    );
    guest::module("", &body)
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WaiterStats {
    pub rounds: u64,
    pub ok: u64,
    pub not_equal: u64,
    pub timed_out: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NotifierStats {
    pub notifies: u64,
    /// The sum of the notifies' returns.
    pub woken: u64,
    pub idle: u64,
}

#[derive(Clone, Debug)]
pub struct StormResults {
    pub params: Params,
    pub waiters: Vec<WaiterStats>,
    pub notifiers: Vec<NotifierStats>,
    pub threads: Tally,
}

impl StormResults {
    fn waits<F: Fn(&WaiterStats) -> u64>(&self, field: F) -> u64 {
        self.waiters.iter().map(field).sum()
    }

    fn notifies<F: Fn(&NotifierStats) -> u64>(&self, field: F) -> u64 {
        self.notifiers.iter().map(field).sum()
    }
}

impl Findings for StormResults {
    fn figures(&self) -> Vec<String> {
        let p = &self.params;
        vec![format!(
            "{} waiters ({} attached) x {} rounds on {} addresses, {} notifiers: waits ok {}, not-equal {}, timed-out {}; notifies {} ({} idle) woke {}",
            p.waiters,
            p.attached_waiters,
            p.rounds,
            p.addresses,
            p.notifiers,
            self.waits(|w| w.ok),
            self.waits(|w| w.not_equal),
            self.waits(|w| w.timed_out),
            self.notifies(|n| n.notifies),
            self.notifies(|n| n.idle),
            self.notifies(|n| n.woken),
        )]
    }

    fn check(&self) -> Vec<Violation> {
        let mut checks = Checks::default();
        let p = &self.params;
        self.threads
            .check_finished("storm threads", p.waiters + p.notifiers, &mut checks);
        let rounds = p.rounds as u64;
        for (index, waiter) in self.waiters.iter().enumerate() {
            checks.expect(waiter.rounds == rounds, || {
                format!(
                    "lost waiter: waiter {index} finished {} of {rounds} rounds",
                    waiter.rounds
                )
            });
            let results = waiter.ok + waiter.not_equal + waiter.timed_out;
            checks.expect(waiter.rounds < rounds || results == rounds, || {
                format!("waiter {index}: {results} wait results for {rounds} rounds")
            });
        }
        checks.zero(
            "waits timed out with no timeout",
            self.waits(|w| w.timed_out),
        );
        let (ok, woken) = (self.waits(|w| w.ok), self.notifies(|n| n.woken));
        checks.expect(ok == woken, || {
            format!("notify accounting: notifies returned {woken} woken waiters, but {ok} waits returned ok")
        });
        checks.done()
    }
}

pub fn run(params: &Params, round: &Round) -> Result<StormResults, StressError> {
    if params.waiters == 0
        || params.notifiers == 0
        || params.rounds == 0
        || params.attached_waiters > params.waiters
        || !(1..=MAX_ADDRESSES).contains(&params.addresses)
    {
        return Err(StressError::Plan(format!("storm {params:?}")));
    }
    let layout = Layout::new(params);
    let engine = guest::engine(params.waiters + params.notifiers, BoundsChecks::GuardPages)?;
    let mut guest = Guest::standalone(&engine, &module(params, &layout))?;
    let mut rng = Rng::new(round.seed);
    guest.write_seeds(SEEDS, params.waiters + params.notifiers, &mut rng)?;
    let crew = Crew {
        workers: ("waiter", params.waiters),
        attached: params.attached_waiters,
        helpers: ("notifier", params.notifiers),
    };
    let threads = guest.run_crew(crew, round.deadline)?;

    let words = |offset, count| -> Result<Vec<u64>, StressError> {
        Ok(guest
            .read_u32s(offset, count)?
            .into_iter()
            .map(u64::from)
            .collect())
    };
    let waiters = words(layout.waiter_stats, 4 * params.waiters)?
        .chunks_exact(4)
        .map(|s| WaiterStats {
            rounds: s[0],
            ok: s[1],
            not_equal: s[2],
            timed_out: s[3],
        })
        .collect();
    let notifiers = words(layout.notifier_stats, 4 * params.notifiers)?
        .chunks_exact(4)
        .map(|s| NotifierStats {
            notifies: s[0],
            woken: s[1],
            idle: s[2],
        })
        .collect();
    Ok(StormResults {
        params: params.clone(),
        waiters,
        notifiers,
        threads,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results(woken: u64, rounds_of_first: u64) -> StormResults {
        let params = Params {
            waiters: 2,
            attached_waiters: 1,
            notifiers: 1,
            addresses: 4,
            rounds: 10,
        };
        let waiter = |rounds| WaiterStats {
            rounds,
            ok: 7.min(rounds),
            not_equal: rounds - 7.min(rounds),
            timed_out: 0,
        };
        StormResults {
            params,
            waiters: vec![waiter(rounds_of_first), waiter(10)],
            notifiers: vec![NotifierStats {
                notifies: 100,
                woken,
                idle: 80,
            }],
            threads: Tally {
                finished: 3,
                ..Tally::default()
            },
        }
    }

    #[test]
    fn exact_accounting_holds_and_a_double_counted_notify_breaks_it() {
        assert_eq!(results(14, 10).check(), vec![]);
        let violations = results(15, 10).check();
        assert_eq!(violations.len(), 1);
        assert!(
            violations[0]
                .0
                .starts_with("notify accounting: notifies returned 15")
        );
    }

    #[test]
    fn a_waiter_short_of_its_rounds_is_a_lost_waiter() {
        let mut stuck = results(14, 9);
        stuck.threads = Tally {
            finished: 2,
            aborted: 1,
            deadline_passed: true,
            ..Tally::default()
        };
        let violations: Vec<_> = stuck.check().into_iter().map(|v| v.0).collect();
        assert!(
            violations
                .iter()
                .any(|v| v.starts_with("lost waiter: waiter 0 finished 9 of 10"))
        );
        assert!(violations.iter().any(|v| v.contains("deadline passed")));
    }
}
