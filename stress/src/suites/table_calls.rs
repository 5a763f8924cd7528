//! Calls through a shared table racing writes to it. The table holds shared function
//! references; setter guest threads overwrite random entries with `table.set` (and now and
//! then a short `table.fill`), and the store's own thread overwrites entries through the
//! embedding API's `Table::set`, all choosing among four functions of one type that return
//! distinct constants. Caller guest threads read random entries, check their type with
//! `ref.cast` (the runtime signature check) and `call_ref` them.
//!
//! (`table.atomic.set` accepts only `anyref` subtypes, so a table of functions is written with
//! `table.set`, which must not tear either; and `call_indirect` must go through a table of
//! unshared `funcref`s, which shared code cannot touch, so calls read the entry and
//! `call_ref` it.)
//!
//! Invariants: every call returns one of the four constants, no cast fails and nothing traps,
//! and the calls counted equal the calls made.

use super::Round;
use crate::error::{Context, StressError};
use crate::guest::{self, Guest, Tally};
use crate::report::{Checks, Findings, Violation, histogram};
use crate::rng::Rng;
use crate::watchdog::Watchdog;
use weft::{BoundsChecks, Val};

pub const CONSTANTS: [u32; 4] = [111, 222, 333, 444];
const CALLERS_DONE: usize = 0;
/// Setters that have started: callers wait for all of them, so every call races writes.
const SETTERS_READY: usize = 4;
const SEEDS: usize = 64;
const MAX_THREADS: usize = 64;
const SETTER_STATS: usize = SEEDS + 4 * MAX_THREADS;
const CALLER_STATS: usize = SETTER_STATS + 8 * MAX_THREADS;

#[derive(Clone, Debug)]
pub struct Params {
    pub setters: usize,
    pub callers: usize,
    pub calls_per_caller: usize,
    pub entries: usize,
}

fn module(params: &Params) -> String {
    let Params {
        setters,
        callers,
        calls_per_caller,
        entries,
    } = *params;
    let [c0, c1, c2, c3] = CONSTANTS;
    let body = format!(
        r#"
  (type $f (shared (func (result i32))))
  (type $pick_t (shared (func (param i32) (result (ref null (shared func))))))
  (memory (export "memory") 1 1 shared)
  (table $t (export "table") shared {entries} {entries} (ref null (shared func)))
  (elem declare func $c0 $c1 $c2 $c3)
  (func $c0 (export "c0") (type $f) (i32.const {c0}))
  (func $c1 (export "c1") (type $f) (i32.const {c1}))
  (func $c2 (export "c2") (type $f) (i32.const {c2}))
  (func $c3 (export "c3") (type $f) (i32.const {c3}))
  (func $pick (type $pick_t) (param $which i32) (result (ref null (shared func)))
    (block $b3
      (block $b2
        (block $b1
          (block $b0
            (br_table $b0 $b1 $b2 $b3 (i32.and (local.get $which) (i32.const 3))))
          (return (ref.func $c0)))
        (return (ref.func $c1)))
      (return (ref.func $c2)))
    (ref.func $c3))
  (func (export "fill") (table.fill $t (i32.const 0) (ref.func $c0) (i32.const {entries})))
  (func $index (type $next_t) (param $rng i32) (result i32)
    (i32.rem_u (i32.shr_u (local.get $rng) (i32.const 8)) (i32.const {entries})))
  ;; Setter $s, until the callers are done: sets a random entry, or one time in sixteen
  ;; fills up to two. Stats: sets, fills.
  (func (export "setter") (type $entry) (param $s i32)
    (local $rng i32) (local $index i32) (local $sets i32) (local $fills i32) (local $stats i32)
    (local.set $rng (i32.load offset={SEEDS} (i32.shl (local.get $s) (i32.const 2))))
    (drop (i32.atomic.rmw.add (i32.const {SETTERS_READY}) (i32.const 1)))
    (loop $set
      (local.set $rng (call $next (local.get $rng)))
      (local.set $index (call $index (local.get $rng)))
      (if (i32.and (local.get $rng) (i32.const 0xf0))
        (then
          (table.set $t (local.get $index) (call $pick (local.get $rng)))
          (local.set $sets (i32.add (local.get $sets) (i32.const 1))))
        (else
          (table.fill $t (local.get $index) (call $pick (local.get $rng))
            (select (i32.const 1) (i32.const 2)
              (i32.eq (local.get $index) (i32.const {last_entry}))))
          (local.set $fills (i32.add (local.get $fills) (i32.const 1)))))
      (br_if $set (i32.lt_u (i32.atomic.load (i32.const {CALLERS_DONE})) (i32.const {callers}))))
    (local.set $stats (i32.add (i32.const {SETTER_STATS}) (i32.shl (local.get $s) (i32.const 3))))
    (i32.store (local.get $stats) (local.get $sets))
    (i32.store offset=4 (local.get $stats) (local.get $fills)))
  ;; Caller $c: {calls_per_caller} calls of random entries, counted by result: the four
  ;; constants, then anything else.
  (func (export "caller") (type $entry) (param $c i32)
    (local $rng i32) (local $i i32) (local $result i32) (local $stats i32)
    (local $n0 i32) (local $n1 i32) (local $n2 i32) (local $n3 i32) (local $other i32)
    (local.set $rng (i32.load offset={SEEDS}
      (i32.shl (i32.add (local.get $c) (i32.const {setters})) (i32.const 2))))
    (loop $setters_ready
      (br_if $setters_ready
        (i32.lt_u (i32.atomic.load (i32.const {SETTERS_READY})) (i32.const {setters}))))
    (loop $call
      (local.set $rng (call $next (local.get $rng)))
      (local.set $result
        (call_ref $f (ref.cast (ref $f) (table.get $t (call $index (local.get $rng))))))
      (if (i32.eq (local.get $result) (i32.const {c0}))
        (then (local.set $n0 (i32.add (local.get $n0) (i32.const 1))))
      (else (if (i32.eq (local.get $result) (i32.const {c1}))
        (then (local.set $n1 (i32.add (local.get $n1) (i32.const 1))))
      (else (if (i32.eq (local.get $result) (i32.const {c2}))
        (then (local.set $n2 (i32.add (local.get $n2) (i32.const 1))))
      (else (if (i32.eq (local.get $result) (i32.const {c3}))
        (then (local.set $n3 (i32.add (local.get $n3) (i32.const 1))))
        (else (local.set $other (i32.add (local.get $other) (i32.const 1)))))))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $call (i32.lt_u (local.get $i) (i32.const {calls_per_caller}))))
    (local.set $stats (i32.add (i32.const {CALLER_STATS}) (i32.mul (local.get $c) (i32.const 20))))
    (i32.store (local.get $stats) (local.get $n0))
    (i32.store offset=4 (local.get $stats) (local.get $n1))
    (i32.store offset=8 (local.get $stats) (local.get $n2))
    (i32.store offset=12 (local.get $stats) (local.get $n3))
    (i32.store offset=16 (local.get $stats) (local.get $other))
    (drop (i32.atomic.rmw.add (i32.const {CALLERS_DONE}) (i32.const 1))))"#,
        last_entry = entries - 1,
    );
    guest::module("", &body)
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallerStats {
    /// Calls that returned each of [`CONSTANTS`].
    pub returned: [u64; 4],
    /// Calls that returned anything else.
    pub other: u64,
}

#[derive(Clone, Debug)]
pub struct TableCallsResults {
    pub params: Params,
    pub callers: Vec<CallerStats>,
    pub guest_sets: u64,
    pub guest_fills: u64,
    pub host_sets: u64,
    pub threads: Tally,
}

impl TableCallsResults {
    fn returned(&self) -> [u64; 4] {
        let mut total = [0; 4];
        for caller in &self.callers {
            for (sum, count) in total.iter_mut().zip(caller.returned) {
                *sum += count;
            }
        }
        total
    }
}

impl Findings for TableCallsResults {
    fn figures(&self) -> Vec<String> {
        let p = &self.params;
        let other: u64 = self.callers.iter().map(|c| c.other).sum();
        let buckets = CONSTANTS.into_iter().zip(self.returned());
        vec![format!(
            "{} callers x {} calls over {} entries: returned {} other:{other}; racing {} table.set + {} table.fill by {} setters, {} Table::set by the host",
            p.callers,
            p.calls_per_caller,
            p.entries,
            histogram(buckets),
            self.guest_sets,
            self.guest_fills,
            p.setters,
            self.host_sets,
        )]
    }

    fn check(&self) -> Vec<Violation> {
        let mut checks = Checks::default();
        let p = &self.params;
        self.threads
            .check_finished("setters and callers", p.setters + p.callers, &mut checks);
        let other: u64 = self.callers.iter().map(|c| c.other).sum();
        checks.zero("calls that returned no installed constant", other);
        checks.equal(
            "calls counted",
            self.returned().iter().sum::<u64>() + other,
            (p.callers * p.calls_per_caller) as u64,
        );
        checks.done()
    }
}

pub fn run(params: &Params, round: &Round) -> Result<TableCallsResults, StressError> {
    if params.setters == 0
        || params.callers == 0
        || params.setters + params.callers > MAX_THREADS
        || params.entries < 2
    {
        return Err(StressError::Plan(format!("table-calls {params:?}")));
    }
    let engine = guest::engine(params.setters + params.callers, BoundsChecks::GuardPages)?;
    let mut guest = Guest::standalone(&engine, &module(params))?;
    guest
        .typed::<(), ()>("fill")?
        .call(&mut guest.store, ())
        .context("filling the table")?;
    let table = guest
        .instance
        .get_table(&mut guest.store, "table")
        .ok_or_else(|| StressError::Plan("the guest exports no table".into()))?;
    let targets = (0..CONSTANTS.len())
        .map(|index| guest.func(&format!("c{index}")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut rng = Rng::new(round.seed);
    guest.write_seeds(SEEDS, params.setters + params.callers, &mut rng)?;

    let watchdog = Watchdog::arm(guest.store.terminator(), round.deadline)?;
    let callers = guest.spawn_each("caller", 0..params.callers)?;
    let setters = guest.spawn_each("setter", 0..params.setters)?;
    // The store's thread writes entries too, until the callers are done.
    let mut host_sets = 0;
    while guest.read_u32(CALLERS_DONE)? < params.callers as u32 {
        let index = rng.below(params.entries as u64);
        let target = targets[rng.below(targets.len() as u64) as usize];
        table
            .set(&mut guest.store, index, Val::FuncRef(Some(target)))
            .context("setting an entry from the host")?;
        host_sets += 1;
        std::thread::yield_now();
    }
    let mut threads = Tally::default();
    guest.join(&callers, &mut threads);
    guest.join(&setters, &mut threads);
    threads.deadline_passed = watchdog.disarm()?;

    let callers = guest
        .read_u32s(CALLER_STATS, 5 * params.callers)?
        .chunks_exact(5)
        .map(|s| CallerStats {
            returned: [s[0], s[1], s[2], s[3]].map(u64::from),
            other: s[4].into(),
        })
        .collect();
    let setter_stats = guest.read_u32s(SETTER_STATS, 2 * params.setters)?;
    Ok(TableCallsResults {
        params: params.clone(),
        callers,
        guest_sets: setter_stats.iter().step_by(2).map(|&n| u64::from(n)).sum(),
        guest_fills: setter_stats
            .iter()
            .skip(1)
            .step_by(2)
            .map(|&n| u64::from(n))
            .sum(),
        host_sets,
        threads,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_foreign_result_and_a_lost_call_are_violations() {
        let mut results = TableCallsResults {
            params: Params {
                setters: 1,
                callers: 2,
                calls_per_caller: 5,
                entries: 4,
            },
            callers: vec![
                CallerStats {
                    returned: [1, 2, 1, 1],
                    other: 0,
                },
                CallerStats {
                    returned: [0, 0, 5, 0],
                    other: 0,
                },
            ],
            guest_sets: 10,
            guest_fills: 1,
            host_sets: 3,
            threads: Tally {
                finished: 3,
                ..Tally::default()
            },
        };
        assert_eq!(results.check(), vec![]);
        results.callers[1] = CallerStats {
            returned: [0, 0, 3, 0],
            other: 1,
        };
        let violations = results.check();
        assert_eq!(
            violations,
            vec![
                Violation("calls that returned no installed constant: 1, expected 0".into()),
                Violation("calls counted: 9, expected 10".into()),
            ]
        );
    }
}
