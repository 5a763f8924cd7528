//! Growth racing readers: grower guest threads (and the host, through `SharedMemory::grow`)
//! grow a shared memory and a shared table while reader threads read `memory.size` and load
//! the last word and byte below it, and read `table.size` and call the last entry. Memory
//! and tables only grow, so none of those accesses may trap. Each round runs with guard
//! pages or with explicit bounds checks, alternately.
//!
//! A guest grower writes a page-specific value into the last word of each page it adds; the
//! host writes nothing into its pages. Invariants: no thread traps; every reader sees the
//! sizes never shrink; every last word it loads is 0 or the value of that page (never
//! anything else); every table entry it calls returns one of the two constants; the final
//! sizes are the initial ones plus the successful growths exactly; and afterwards each grown
//! page holds its value (guest pages) or zero (host pages).

use super::Round;
use crate::error::{Context, StressError};
use crate::guest::{self, Guest, Tally};
use crate::report::{Checks, Findings, Violation};
use crate::rng::Rng;
use crate::watchdog::Watchdog;
use weft::BoundsChecks;

const GROWERS_DONE: usize = 0;
const SEEDS: usize = 64;
const MAX_THREADS: usize = 64;
const GROWER_STATS: usize = SEEDS + 4 * MAX_THREADS;
const READER_STATS: usize = GROWER_STATS + 16 * MAX_THREADS;
const PAGE: usize = 1 << 16;
const CONSTANTS: [i32; 2] = [111, 222];

#[derive(Clone, Debug)]
pub struct Params {
    pub rounds: usize,
    pub growers: usize,
    pub readers: usize,
    /// Growth attempts per grower, of one or two pages (and table entries) each. The
    /// maximum sizes leave room for about two thirds of them, so some fail.
    pub grows_per_grower: usize,
    /// Pages the host adds through `SharedMemory::grow` while the threads run.
    pub host_grows: usize,
    pub initial_pages: usize,
}

impl Params {
    fn max_pages(&self) -> usize {
        self.initial_pages + self.growers * self.grows_per_grower + self.host_grows
    }

    fn max_entries(&self) -> usize {
        self.initial_pages + self.growers * self.grows_per_grower
    }
}

/// The value a guest grower stores in the last word of page `page`.
pub fn page_value(page: u32) -> u32 {
    (page + 1).wrapping_mul(0x9E37_79B1)
}

fn module(params: &Params) -> String {
    let Params {
        growers,
        readers,
        grows_per_grower,
        initial_pages,
        ..
    } = *params;
    let (max_pages, max_entries) = (params.max_pages(), params.max_entries());
    let [one, two] = CONSTANTS;
    let body = format!(
        r#"
  (type $f (shared (func (result i32))))
  (memory (export "memory") {initial_pages} {max_pages} shared)
  (table $t shared {initial_pages} {max_entries} (ref null $f))
  (elem declare func $one $two)
  (func $one (type $f) (i32.const {one}))
  (func $two (type $f) (i32.const {two}))
  (func $page_value (type $next_t) (param $page i32) (result i32)
    (i32.mul (i32.add (local.get $page) (i32.const 1)) (i32.const 0x9E3779B1)))
  (func (export "fill_table") (table.fill $t (i32.const 0) (ref.func $one) (i32.const {initial_pages})))
  ;; Grower $g. Stats: pages added, failed memory growths, entries added, failed table
  ;; growths.
  (func (export "grower") (type $entry) (param $g i32)
    (local $rng i32) (local $i i32) (local $delta i32) (local $old i32) (local $page i32)
    (local $pages i32) (local $memory_failures i32) (local $entries i32) (local $table_failures i32)
    (local $stats i32)
    (local.set $rng (i32.load offset={SEEDS} (i32.shl (local.get $g) (i32.const 2))))
    (loop $grow
      (local.set $rng (call $next (local.get $rng)))
      (local.set $delta (i32.add (i32.and (local.get $rng) (i32.const 1)) (i32.const 1)))
      (local.set $old (memory.grow (local.get $delta)))
      (if (i32.eq (local.get $old) (i32.const -1))
        (then (local.set $memory_failures (i32.add (local.get $memory_failures) (i32.const 1))))
        (else
          (local.set $pages (i32.add (local.get $pages) (local.get $delta)))
          (local.set $page (local.get $old))
          (loop $mark
            (i32.atomic.store
              (i32.sub (i32.shl (i32.add (local.get $page) (i32.const 1)) (i32.const 16)) (i32.const 4))
              (call $page_value (local.get $page)))
            (local.set $page (i32.add (local.get $page) (i32.const 1)))
            (br_if $mark (i32.lt_u (local.get $page) (i32.add (local.get $old) (local.get $delta)))))))
      (local.set $delta (i32.add (i32.and (i32.shr_u (local.get $rng) (i32.const 1)) (i32.const 1)) (i32.const 1)))
      (local.set $old
        (table.grow $t
          (select (result (ref null $f)) (ref.func $one) (ref.func $two)
            (i32.and (i32.shr_u (local.get $rng) (i32.const 2)) (i32.const 1)))
          (local.get $delta)))
      (if (i32.eq (local.get $old) (i32.const -1))
        (then (local.set $table_failures (i32.add (local.get $table_failures) (i32.const 1))))
        (else (local.set $entries (i32.add (local.get $entries) (local.get $delta)))))
      ;; A pause, so that readers see many sizes.
      (call $spin (i32.and (i32.shr_u (local.get $rng) (i32.const 8)) (i32.const 1023)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $grow (i32.lt_u (local.get $i) (i32.const {grows_per_grower}))))
    (local.set $stats (i32.add (i32.const {GROWER_STATS}) (i32.shl (local.get $g) (i32.const 4))))
    (i32.store (local.get $stats) (local.get $pages))
    (i32.store offset=4 (local.get $stats) (local.get $memory_failures))
    (i32.store offset=8 (local.get $stats) (local.get $entries))
    (i32.store offset=12 (local.get $stats) (local.get $table_failures))
    (drop (i32.atomic.rmw.add (i32.const {GROWERS_DONE}) (i32.const 1))))
  ;; Reader $r, until the growers are done (and one pass after). Stats (32 bytes): passes,
  ;; memory sizes that shrank, foreign last words, written last words, last bytes that
  ;; disagree with any write, table sizes that shrank, bad table entries.
  (func (export "reader") (type $entry) (param $r i32)
    (local $done i32) (local $size i32) (local $previous i32) (local $word i32) (local $byte i32)
    (local $passes i32) (local $shrank i32) (local $foreign i32) (local $written i32)
    (local $bad_bytes i32) (local $entries i32) (local $previous_entries i32)
    (local $table_shrank i32) (local $bad_entries i32) (local $entry (ref null $f))
    (local $result i32) (local $stats i32)
    (loop $read
      (local.set $done (i32.atomic.load (i32.const {GROWERS_DONE})))
      (local.set $size (memory.size))
      (if (i32.lt_u (local.get $size) (local.get $previous))
        (then (local.set $shrank (i32.add (local.get $shrank) (i32.const 1)))))
      (local.set $previous (local.get $size))
      (local.set $word (i32.load (i32.sub (i32.shl (local.get $size) (i32.const 16)) (i32.const 4))))
      (local.set $byte (i32.load8_u (i32.sub (i32.shl (local.get $size) (i32.const 16)) (i32.const 1))))
      (if (local.get $word)
        (then
          (local.set $written (i32.add (local.get $written) (i32.const 1)))
          (if (i32.ne (local.get $word)
                (call $page_value (i32.sub (local.get $size) (i32.const 1))))
            (then (local.set $foreign (i32.add (local.get $foreign) (i32.const 1)))))))
      ;; The byte is read after the word, so it may already hold the value's top byte.
      (if (i32.and (i32.ne (local.get $byte) (i32.const 0))
            (i32.ne (local.get $byte)
              (i32.shr_u (call $page_value (i32.sub (local.get $size) (i32.const 1))) (i32.const 24))))
        (then (local.set $bad_bytes (i32.add (local.get $bad_bytes) (i32.const 1)))))
      (local.set $entries (table.size $t))
      (if (i32.lt_u (local.get $entries) (local.get $previous_entries))
        (then (local.set $table_shrank (i32.add (local.get $table_shrank) (i32.const 1)))))
      (local.set $previous_entries (local.get $entries))
      (local.set $entry (table.get $t (i32.sub (local.get $entries) (i32.const 1))))
      (if (ref.is_null (local.get $entry))
        (then (local.set $bad_entries (i32.add (local.get $bad_entries) (i32.const 1))))
        (else
          (local.set $result (call_ref $f (local.get $entry)))
          (if (i32.and (i32.ne (local.get $result) (i32.const {one}))
                (i32.ne (local.get $result) (i32.const {two})))
            (then (local.set $bad_entries (i32.add (local.get $bad_entries) (i32.const 1)))))))
      (local.set $passes (i32.add (local.get $passes) (i32.const 1)))
      (br_if $read (i32.lt_u (local.get $done) (i32.const {growers}))))
    (local.set $stats (i32.add (i32.const {READER_STATS}) (i32.shl (local.get $r) (i32.const 5))))
    (i32.store (local.get $stats) (local.get $passes))
    (i32.store offset=4 (local.get $stats) (local.get $shrank))
    (i32.store offset=8 (local.get $stats) (local.get $foreign))
    (i32.store offset=12 (local.get $stats) (local.get $written))
    (i32.store offset=16 (local.get $stats) (local.get $bad_bytes))
    (i32.store offset=20 (local.get $stats) (local.get $table_shrank))
    (i32.store offset=24 (local.get $stats) (local.get $bad_entries)))
  (func (export "entries") (result i32) (table.size $t))
  ;; Entries that are non-null and return one of the constants.
  (func (export "good_entries") (result i32)
    (local $i i32) (local $good i32) (local $result i32)
    (block $done
      (loop $check
        (br_if $done (i32.ge_u (local.get $i) (table.size $t)))
        (if (i32.eqz (ref.is_null (table.get $t (local.get $i))))
          (then
            (local.set $result (call_ref $f (table.get $t (local.get $i))))
            (if (i32.or (i32.eq (local.get $result) (i32.const {one}))
                  (i32.eq (local.get $result) (i32.const {two})))
              (then (local.set $good (i32.add (local.get $good) (i32.const 1)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $check)))
    (local.get $good))"#
    );
    debug_assert!(growers + readers <= MAX_THREADS);
    guest::module("", &body)
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GrowerStats {
    pub pages: u64,
    pub memory_failures: u64,
    pub entries: u64,
    pub table_failures: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReaderStats {
    pub passes: u64,
    pub shrank: u64,
    pub foreign_words: u64,
    pub written_words: u64,
    pub bad_bytes: u64,
    pub table_shrank: u64,
    pub bad_entries: u64,
}

/// One round, with one bounds-checking strategy.
#[derive(Clone, Debug)]
pub struct GrowRound {
    pub explicit_bounds_checks: bool,
    pub growers: Vec<GrowerStats>,
    pub readers: Vec<ReaderStats>,
    pub host_pages: u64,
    pub host_failures: u64,
    pub final_pages: u64,
    pub final_entries: u64,
    /// The last word of each page after the round: `[its value, zero, anything else]`.
    pub page_words: [u64; 3],
    pub good_entries: u64,
    pub threads: Tally,
}

impl GrowRound {
    fn guest_pages(&self) -> u64 {
        self.growers.iter().map(|g| g.pages).sum()
    }

    fn guest_entries(&self) -> u64 {
        self.growers.iter().map(|g| g.entries).sum()
    }

    fn reads<F: Fn(&ReaderStats) -> u64>(&self, field: F) -> u64 {
        self.readers.iter().map(field).sum()
    }
}

#[derive(Clone, Debug)]
pub struct GrowResults {
    pub params: Params,
    pub rounds: Vec<GrowRound>,
}

impl Findings for GrowResults {
    fn figures(&self) -> Vec<String> {
        let total =
            |field: &dyn Fn(&GrowRound) -> u64| -> u64 { self.rounds.iter().map(field).sum() };
        let p = &self.params;
        vec![format!(
            "{} rounds, {} growers + host, {} readers: pages grown {} (+{} by the host, {} failed at the maximum), entries grown {} ({} failed); reader passes {} ({} saw written words); shrinks {}, foreign words {}, bad bytes {}, bad entries {}",
            self.rounds.len(),
            p.growers,
            p.readers,
            total(&GrowRound::guest_pages),
            total(&|r| r.host_pages),
            total(&|r| r.growers.iter().map(|g| g.memory_failures).sum::<u64>() + r.host_failures),
            total(&GrowRound::guest_entries),
            total(&|r| r.growers.iter().map(|g| g.table_failures).sum()),
            total(&|r| r.reads(|s| s.passes)),
            total(&|r| r.reads(|s| s.written_words)),
            total(&|r| r.reads(|s| s.shrank + s.table_shrank)),
            total(&|r| r.reads(|s| s.foreign_words)),
            total(&|r| r.reads(|s| s.bad_bytes)),
            total(&|r| r.reads(|s| s.bad_entries)),
        )]
    }

    fn check(&self) -> Vec<Violation> {
        let mut checks = Checks::default();
        let p = &self.params;
        for (index, round) in self.rounds.iter().enumerate() {
            let strategy = if round.explicit_bounds_checks {
                "explicit checks"
            } else {
                "guard pages"
            };
            let name = format!("round {index} ({strategy})");
            round.threads.check_finished(
                &format!("{name}: growers and readers"),
                p.growers + p.readers,
                &mut checks,
            );
            checks.zero(
                &format!("{name}: memory sizes that shrank"),
                round.reads(|s| s.shrank),
            );
            checks.zero(
                &format!("{name}: table sizes that shrank"),
                round.reads(|s| s.table_shrank),
            );
            checks.zero(
                &format!("{name}: last words no grower wrote"),
                round.reads(|s| s.foreign_words),
            );
            checks.zero(
                &format!("{name}: last bytes no grower wrote"),
                round.reads(|s| s.bad_bytes),
            );
            checks.zero(
                &format!("{name}: bad table entries read"),
                round.reads(|s| s.bad_entries),
            );
            let grown = round.guest_pages() + round.host_pages;
            checks.equal(
                &format!("{name}: final pages"),
                round.final_pages,
                p.initial_pages as u64 + grown,
            );
            checks.equal(
                &format!("{name}: final table entries"),
                round.final_entries,
                p.initial_pages as u64 + round.guest_entries(),
            );
            checks.equal(
                &format!("{name}: pages holding their value"),
                round.page_words[0],
                p.initial_pages as u64 + round.guest_pages(),
            );
            checks.equal(
                &format!("{name}: host pages reading zero"),
                round.page_words[1],
                round.host_pages,
            );
            checks.zero(
                &format!("{name}: pages holding anything else"),
                round.page_words[2],
            );
            checks.equal(
                &format!("{name}: good table entries"),
                round.good_entries,
                round.final_entries,
            );
        }
        checks.done()
    }
}

fn run_round(
    params: &Params,
    round: &Round,
    rng: &mut Rng,
    bounds: BoundsChecks,
) -> Result<GrowRound, StressError> {
    let engine = guest::engine(params.growers + params.readers, bounds)?;
    let mut guest = Guest::standalone(&engine, &module(params))?;
    guest
        .typed::<(), ()>("fill_table")?
        .call(&mut guest.store, ())
        .context("filling the table")?;
    for page in 0..params.initial_pages {
        guest.write_u32s((page + 1) * PAGE - 4, &[page_value(page as u32)])?;
    }
    guest.write_seeds(SEEDS, params.growers, rng)?;
    let mut threads = Tally::default();
    let watchdog = Watchdog::arm(guest.store.terminator(), round.deadline)?;
    let readers = guest.spawn_each("reader", 0..params.readers)?;
    let growers = guest.spawn_each("grower", 0..params.growers)?;
    // The host grows too, between the guests' growths; its pages stay zero.
    let (mut host_pages, mut host_failures) = (0, 0);
    for _ in 0..params.host_grows {
        match guest.memory.grow(1) {
            Ok(_) => host_pages += 1,
            Err(_) => host_failures += 1,
        }
        std::thread::yield_now();
    }
    guest.join(&growers, &mut threads);
    guest.join(&readers, &mut threads);
    threads.deadline_passed = watchdog.disarm()?;

    let growers = guest
        .read_u32s(GROWER_STATS, 4 * params.growers)?
        .chunks_exact(4)
        .map(|s| GrowerStats {
            pages: s[0].into(),
            memory_failures: s[1].into(),
            entries: s[2].into(),
            table_failures: s[3].into(),
        })
        .collect();
    let readers = guest
        .read_u32s(READER_STATS, 8 * params.readers)?
        .chunks_exact(8)
        .map(|s| ReaderStats {
            passes: s[0].into(),
            shrank: s[1].into(),
            foreign_words: s[2].into(),
            written_words: s[3].into(),
            bad_bytes: s[4].into(),
            table_shrank: s[5].into(),
            bad_entries: s[6].into(),
        })
        .collect();
    let final_pages = guest.memory.size();
    let mut page_words = [0; 3];
    for page in 0..final_pages as usize {
        let word = guest.read_u32((page + 1) * PAGE - 4)?;
        let bucket = if word == page_value(page as u32) {
            0
        } else if word == 0 {
            1
        } else {
            2
        };
        page_words[bucket] += 1;
    }
    // After a deadline termination the first call traps; the counts then show the damage.
    let mut count = |name: &str| -> Result<u64, StressError> {
        let func = guest.typed::<(), i32>(name)?;
        Ok(func
            .call(&mut guest.store, ())
            .map_or(0, |count| count.unsigned_abs().into()))
    };
    let final_entries = count("entries")?;
    let good_entries = count("good_entries")?;
    Ok(GrowRound {
        explicit_bounds_checks: bounds == BoundsChecks::Explicit,
        growers,
        readers,
        host_pages,
        host_failures,
        final_pages,
        final_entries,
        page_words,
        good_entries,
        threads,
    })
}

pub fn run(params: &Params, round: &Round) -> Result<GrowResults, StressError> {
    if params.growers == 0
        || params.readers == 0
        || params.growers + params.readers > MAX_THREADS
        || params.initial_pages == 0
        || params.max_pages() > 16_384
    {
        return Err(StressError::Plan(format!("grow {params:?}")));
    }
    let mut rng = Rng::new(round.seed);
    let rounds = (0..params.rounds)
        .map(|index| {
            let bounds = if index % 2 == 0 {
                BoundsChecks::GuardPages
            } else {
                BoundsChecks::Explicit
            };
            run_round(params, round, &mut rng, bounds)
        })
        .collect::<Result<_, _>>()?;
    Ok(GrowResults {
        params: params.clone(),
        rounds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results(reader: ReaderStats) -> GrowResults {
        let params = Params {
            rounds: 1,
            growers: 1,
            readers: 1,
            grows_per_grower: 4,
            host_grows: 1,
            initial_pages: 1,
        };
        GrowResults {
            params,
            rounds: vec![GrowRound {
                explicit_bounds_checks: false,
                growers: vec![GrowerStats {
                    pages: 3,
                    memory_failures: 1,
                    entries: 4,
                    table_failures: 0,
                }],
                readers: vec![reader],
                host_pages: 1,
                host_failures: 0,
                final_pages: 5,
                final_entries: 5,
                page_words: [4, 1, 0],
                good_entries: 5,
                threads: Tally {
                    finished: 2,
                    ..Tally::default()
                },
            }],
        }
    }

    #[test]
    fn a_shrinking_size_or_a_foreign_word_is_a_violation() {
        let fine = ReaderStats {
            passes: 100,
            written_words: 40,
            ..ReaderStats::default()
        };
        assert_eq!(results(fine).check(), vec![]);
        let broken = ReaderStats {
            shrank: 1,
            foreign_words: 2,
            ..fine
        };
        assert_eq!(
            results(broken).check(),
            vec![
                Violation("round 0 (guard pages): memory sizes that shrank: 1, expected 0".into()),
                Violation(
                    "round 0 (guard pages): last words no grower wrote: 2, expected 0".into()
                ),
            ]
        );
    }

    #[test]
    fn page_values_are_never_zero() {
        assert!((0..100_000).all(|page| page_value(page) != 0));
    }
}
