//! A bounded ring buffer in shared memory between producer guest threads and consumers
//! (attached host threads and guest threads), with host semaphores counting its free and
//! full slots and a host mutex guarding its indices, all wired in with
//! `Linker::define_semaphore`/`define_mutex`.
//!
//! Each item is a sequence number with a payload derived from it. Invariants: every item is
//! consumed exactly once (a byte per item counts its sightings) and each consumer gets its
//! quota; the sum of the items and the xor of the payloads are as expected; no payload is
//! corrupt; each consumer sees each producer's items in the order produced (the ring is
//! FIFO); the indices end equal to the item count; and the semaphores hold their initial
//! permits again, with the mutex unlocked.

use super::Round;
use crate::error::{Context, StressError};
use crate::guest::{self, Crew, Guest, Tally};
use crate::report::{Checks, Findings, Violation};
use crate::rng::Rng;
use std::sync::Arc;
use weft::{BoundsChecks, HostMutex, Linker, Semaphore};

const HEAD: usize = 0;
const TAIL: usize = 4;
const RING: usize = 64;
const MAX_SLOTS: usize = 64;
const SEEDS: usize = RING + 8 * MAX_SLOTS;

const IMPORTS: &str = r#"
  (type $timed_t (shared (func (param i64) (result i32))))
  (type $void_t (shared (func)))
  (import "ring" "free.acquire" (func $take_free (type $timed_t)))
  (import "ring" "free.release" (func $give_free (type $entry)))
  (import "ring" "full.acquire" (func $take_full (type $timed_t)))
  (import "ring" "full.release" (func $give_full (type $entry)))
  (import "ring" "indices.lock" (func $lock (type $timed_t)))
  (import "ring" "indices.unlock" (func $unlock (type $void_t)))"#;

#[derive(Clone, Debug)]
pub struct Params {
    pub producers: usize,
    /// Consumers; the first `attached_consumers` are attached host threads.
    pub consumers: usize,
    pub attached_consumers: usize,
    pub items_per_producer: usize,
    pub slots: usize,
    /// Each thread spins up to this many iterations (a power of two minus one) per item.
    pub max_delay: u32,
}

impl Params {
    fn total(&self) -> u64 {
        (self.producers * self.items_per_producer) as u64
    }

    /// Consumer `index`'s share of the items: the remainder goes to the first.
    pub fn quota(&self, index: usize) -> u64 {
        let consumers = self.consumers as u64;
        let base = self.total() / consumers;
        if index == 0 {
            base + self.total() % consumers
        } else {
            base
        }
    }
}

/// The payload the producer stores with `item`, and the consumer checks.
pub fn payload(item: u32) -> u32 {
    item.wrapping_mul(0x9E37_79B1) ^ (item >> 7)
}

struct Layout {
    quotas: usize,
    stats: usize,
    last: usize,
    seen: usize,
    end: usize,
}

impl Layout {
    fn new(params: &Params) -> Layout {
        let quotas = SEEDS + 4 * (params.producers + params.consumers);
        let stats = (quotas + 4 * params.consumers).next_multiple_of(32);
        let last = stats + 32 * params.consumers;
        let seen = last + 4 * params.consumers * params.producers;
        Layout {
            quotas,
            stats,
            last,
            seen,
            end: seen + params.total() as usize + 1,
        }
    }
}

fn module(params: &Params, layout: &Layout) -> String {
    let Params {
        producers,
        slots,
        items_per_producer,
        max_delay,
        ..
    } = *params;
    let total = params.total();
    let Layout {
        quotas,
        stats,
        last,
        seen,
        end,
    } = *layout;
    let pages = end.div_ceil(1 << 16);
    let body = format!(
        r#"
  (memory (export "memory") {pages} {pages} shared)
  (func $payload (type $next_t) (param $item i32) (result i32)
    (i32.xor (i32.mul (local.get $item) (i32.const 0x9E3779B1))
      (i32.shr_u (local.get $item) (i32.const 7))))
  ;; The address of the ring slot an index names.
  (func $slot (type $next_t) (param $index i32) (result i32)
    (i32.add (i32.const {RING})
      (i32.shl (i32.rem_u (local.get $index) (i32.const {slots})) (i32.const 3))))
  (func $must (type $entry) (param $acquired i32)
    (if (i32.eqz (local.get $acquired)) (then unreachable)))
  ;; Producer $p: items $p + 1, $p + 1 + {producers}, ... each with its payload.
  (func (export "producer") (type $entry) (param $p i32)
    (local $j i32) (local $item i32) (local $slot i32) (local $rng i32)
    (local.set $rng (i32.load offset={SEEDS} (i32.shl (local.get $p) (i32.const 2))))
    (loop $next
      (local.set $item (i32.add (i32.mul (local.get $j) (i32.const {producers}))
        (i32.add (local.get $p) (i32.const 1))))
      (local.set $rng (call $next (local.get $rng)))
      (call $spin (i32.and (local.get $rng) (i32.const {max_delay})))
      (call $must (call $take_free (i64.const -1)))
      (call $must (call $lock (i64.const -1)))
      (local.set $slot (call $slot (i32.load (i32.const {HEAD}))))
      (i32.store (local.get $slot) (local.get $item))
      (i32.store offset=4 (local.get $slot) (call $payload (local.get $item)))
      (i32.store (i32.const {HEAD}) (i32.add (i32.load (i32.const {HEAD})) (i32.const 1)))
      (call $unlock)
      (call $give_full (i32.const 1))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $j) (i32.const {items_per_producer})))))
  ;; Consumer $c: takes its quota of items and checks each. Stats (32 bytes): count,
  ;; corrupt payloads, out-of-order items, repeated items, the items' i64 sum at 16 and the
  ;; payloads' xor at 24.
  (func (export "consumer") (type $entry) (param $c i32)
    (local $quota i32) (local $count i32) (local $slot i32) (local $item i32) (local $value i32)
    (local $corrupt i32) (local $order i32) (local $repeated i32) (local $sum i64) (local $xor i32)
    (local $last i32) (local $sequence i32) (local $rng i32) (local $stats i32)
    (local.set $quota (i32.load offset={quotas} (i32.shl (local.get $c) (i32.const 2))))
    (local.set $rng (i32.load offset={SEEDS}
      (i32.shl (i32.add (local.get $c) (i32.const {producers})) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $count) (local.get $quota)))
        (local.set $rng (call $next (local.get $rng)))
        (call $spin (i32.and (local.get $rng) (i32.const {max_delay})))
        (call $must (call $take_full (i64.const -1)))
        (call $must (call $lock (i64.const -1)))
        (local.set $slot (call $slot (i32.load (i32.const {TAIL}))))
        (local.set $item (i32.load (local.get $slot)))
        (local.set $value (i32.load offset=4 (local.get $slot)))
        (i32.store (i32.const {TAIL}) (i32.add (i32.load (i32.const {TAIL})) (i32.const 1)))
        (call $unlock)
        (call $give_free (i32.const 1))
        (if (i32.ne (local.get $value) (call $payload (local.get $item)))
          (then (local.set $corrupt (i32.add (local.get $corrupt) (i32.const 1)))))
        (if (i32.or (i32.eqz (local.get $item)) (i32.gt_u (local.get $item) (i32.const {total})))
          (then (local.set $corrupt (i32.add (local.get $corrupt) (i32.const 1))))
          (else
            (if (i32.atomic.rmw8.add_u offset={seen} (local.get $item) (i32.const 1))
              (then (local.set $repeated (i32.add (local.get $repeated) (i32.const 1)))))
            ;; This consumer's last item from the same producer must be an earlier one.
            (local.set $last (i32.add (i32.const {last})
              (i32.shl
                (i32.add (i32.mul (local.get $c) (i32.const {producers}))
                  (i32.rem_u (i32.sub (local.get $item) (i32.const 1)) (i32.const {producers})))
                (i32.const 2))))
            (local.set $sequence (i32.add (i32.div_u (i32.sub (local.get $item) (i32.const 1))
              (i32.const {producers})) (i32.const 1)))
            (if (i32.le_u (local.get $sequence) (i32.load (local.get $last)))
              (then (local.set $order (i32.add (local.get $order) (i32.const 1)))))
            (i32.store (local.get $last) (local.get $sequence))))
        (local.set $count (i32.add (local.get $count) (i32.const 1)))
        (local.set $sum (i64.add (local.get $sum) (i64.extend_i32_u (local.get $item))))
        (local.set $xor (i32.xor (local.get $xor) (local.get $value)))
        (br $next)))
    (local.set $stats (i32.add (i32.const {stats}) (i32.shl (local.get $c) (i32.const 5))))
    (i32.store (local.get $stats) (local.get $count))
    (i32.store offset=4 (local.get $stats) (local.get $corrupt))
    (i32.store offset=8 (local.get $stats) (local.get $order))
    (i32.store offset=12 (local.get $stats) (local.get $repeated))
    (i64.store offset=16 (local.get $stats) (local.get $sum))
    (i32.store offset=24 (local.get $stats) (local.get $xor)))"#
    );
    guest::module(IMPORTS, &body)
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConsumerStats {
    pub count: u64,
    pub corrupt: u64,
    pub out_of_order: u64,
    pub repeated: u64,
    pub sum: u64,
    pub xor: u32,
}

#[derive(Clone, Debug)]
pub struct SemaphoreResults {
    pub params: Params,
    pub consumers: Vec<ConsumerStats>,
    /// How many times each item was consumed: `[never, once, more]`.
    pub sightings: [u64; 3],
    pub head: u64,
    pub tail: u64,
    pub free_permits: u32,
    pub full_permits: u32,
    pub indices_locked: bool,
    pub threads: Tally,
}

impl SemaphoreResults {
    fn consumed<F: Fn(&ConsumerStats) -> u64>(&self, field: F) -> u64 {
        self.consumers.iter().map(field).sum()
    }

    fn xor(&self) -> u32 {
        self.consumers.iter().fold(0, |xor, stats| xor ^ stats.xor)
    }
}

fn expected_xor(total: u64) -> u32 {
    (1..=total as u32).fold(0, |xor, item| xor ^ payload(item))
}

impl Findings for SemaphoreResults {
    fn figures(&self) -> Vec<String> {
        let p = &self.params;
        vec![format!(
            "{} producers, {} consumers ({} attached), {} slots: {} items consumed, seen never/once/more {}/{}/{}; sum {}, xor {:#010x}; permits free {} full {}",
            p.producers,
            p.consumers,
            p.attached_consumers,
            p.slots,
            self.consumed(|c| c.count),
            self.sightings[0],
            self.sightings[1],
            self.sightings[2],
            self.consumed(|c| c.sum),
            self.xor(),
            self.free_permits,
            self.full_permits,
        )]
    }

    fn check(&self) -> Vec<Violation> {
        let mut checks = Checks::default();
        let p = &self.params;
        let total = p.total();
        self.threads
            .check_finished("ring threads", p.producers + p.consumers, &mut checks);
        checks.equal("items consumed", self.consumed(|c| c.count), total);
        for (index, consumer) in self.consumers.iter().enumerate() {
            checks.equal(
                &format!("consumer {index}'s items"),
                consumer.count,
                p.quota(index),
            );
        }
        checks.equal("items consumed once", self.sightings[1], total);
        checks.zero("items never consumed", self.sightings[0]);
        checks.zero("items consumed more than once", self.sightings[2]);
        checks.zero(
            "repeated items seen by consumers",
            self.consumed(|c| c.repeated),
        );
        checks.zero("corrupt items", self.consumed(|c| c.corrupt));
        checks.zero(
            "items out of their producer's order",
            self.consumed(|c| c.out_of_order),
        );
        checks.equal(
            "sum of the items",
            self.consumed(|c| c.sum),
            total * (total + 1) / 2,
        );
        checks.expect(self.xor() == expected_xor(total), || {
            format!(
                "xor of the payloads: {:#010x}, expected {:#010x}",
                self.xor(),
                expected_xor(total)
            )
        });
        checks.equal("head index", self.head, total);
        checks.equal("tail index", self.tail, total);
        checks.equal(
            "free-slot permits at the end",
            self.free_permits as usize,
            p.slots,
        );
        checks.equal("full-slot permits at the end", self.full_permits, 0);
        checks.expect(!self.indices_locked, || {
            "the indices' mutex is still locked".into()
        });
        checks.done()
    }
}

pub fn run(params: &Params, round: &Round) -> Result<SemaphoreResults, StressError> {
    let total = params.total();
    if params.producers == 0
        || params.consumers == 0
        || params.attached_consumers > params.consumers
        || !(1..=MAX_SLOTS).contains(&params.slots)
        || total == 0
        || total >= u64::from(u32::MAX >> 1)
        || !(params.max_delay + 1).is_power_of_two()
    {
        return Err(StressError::Plan(format!("semaphore {params:?}")));
    }
    let layout = Layout::new(params);
    let engine = guest::engine(
        params.producers + params.consumers,
        BoundsChecks::GuardPages,
    )?;
    let slots = u32::try_from(params.slots).expect("at most MAX_SLOTS");
    let free = Arc::new(Semaphore::new(slots));
    let full = Arc::new(Semaphore::new(0));
    let indices = Arc::new(HostMutex::new());
    let mut linker = Linker::new(&engine);
    linker
        .define_semaphore("ring", "free", &free)
        .and_then(|linker| linker.define_semaphore("ring", "full", &full))
        .and_then(|linker| linker.define_mutex("ring", "indices", &indices))
        .context("defining the host primitives")?;
    let mut guest = Guest::new(&engine, &linker, &module(params, &layout))?;
    let mut rng = Rng::new(round.seed);
    guest.write_seeds(SEEDS, params.producers + params.consumers, &mut rng)?;
    let quotas: Vec<u32> = (0..params.consumers)
        .map(|index| params.quota(index) as u32)
        .collect();
    guest.write_u32s(layout.quotas, &quotas)?;
    let crew = Crew {
        workers: ("consumer", params.consumers),
        attached: params.attached_consumers,
        helpers: ("producer", params.producers),
    };
    let threads = guest.run_crew(crew, round.deadline)?;

    let consumers = guest
        .read_u32s(layout.stats, 8 * params.consumers)?
        .chunks_exact(8)
        .map(|s| ConsumerStats {
            count: s[0].into(),
            corrupt: s[1].into(),
            out_of_order: s[2].into(),
            repeated: s[3].into(),
            sum: u64::from(s[4]) | u64::from(s[5]) << 32,
            xor: s[6],
        })
        .collect();
    let mut sightings = [0; 3];
    for &count in &guest.read_bytes(layout.seen + 1, total as usize)? {
        sightings[usize::from(count.min(2))] += 1;
    }
    Ok(SemaphoreResults {
        params: params.clone(),
        consumers,
        sightings,
        head: guest.read_u32(HEAD)?.into(),
        tail: guest.read_u32(TAIL)?.into(),
        free_permits: free.available(),
        full_permits: full.available(),
        indices_locked: indices.is_locked(),
        threads,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn correct() -> SemaphoreResults {
        let params = Params {
            producers: 2,
            consumers: 2,
            attached_consumers: 1,
            items_per_producer: 3,
            slots: 2,
            max_delay: 0,
        };
        let stats = |items: &[u32]| ConsumerStats {
            count: items.len() as u64,
            sum: items.iter().map(|&item| u64::from(item)).sum(),
            xor: items.iter().fold(0, |xor, &item| xor ^ payload(item)),
            ..ConsumerStats::default()
        };
        SemaphoreResults {
            consumers: vec![stats(&[1, 2, 4]), stats(&[3, 5, 6])],
            params,
            sightings: [0, 6, 0],
            head: 6,
            tail: 6,
            free_permits: 2,
            full_permits: 0,
            indices_locked: false,
            threads: Tally {
                finished: 4,
                ..Tally::default()
            },
        }
    }

    #[test]
    fn a_duplicated_item_breaks_the_counts_and_the_checksums() {
        assert_eq!(correct().check(), vec![]);
        let mut duplicated = correct();
        // Consumer 1 got item 5 twice and never item 6.
        duplicated.consumers[1] = ConsumerStats {
            count: 3,
            sum: 3 + 5 + 5,
            xor: payload(3),
            repeated: 1,
            ..ConsumerStats::default()
        };
        duplicated.sightings = [1, 4, 1];
        let violations: Vec<_> = duplicated.check().into_iter().map(|v| v.0).collect();
        assert!(violations.contains(&"items never consumed: 1, expected 0".to_string()));
        assert!(violations.contains(&"sum of the items: 20, expected 21".to_string()));
        assert!(
            violations
                .iter()
                .any(|v| v.starts_with("xor of the payloads"))
        );
        assert_eq!(violations.len(), 6, "{violations:?}");
    }

    #[test]
    fn permits_not_returned_are_violations() {
        let mut leaked = correct();
        leaked.free_permits = 1;
        leaked.indices_locked = true;
        assert_eq!(leaked.check().len(), 2);
    }
}
