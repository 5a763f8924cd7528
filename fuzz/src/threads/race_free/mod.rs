//! Race-free programs: threads that combine into shared cells with commutative atomic
//! read-modify-writes (or compare-exchange loops), compute on memory regions of their own,
//! pass data through a flag they wait on, and update counters under locks built from
//! atomics and wait/notify. Every interleaving gives the same final memory, so the answer is
//! the program run sequentially by the generator's own model ([`sequential`]).
//!
//! Deadlock-free by construction: a thread only waits for a lock (whose holder releases it
//! without waiting for anything), for the start barrier (every thread's first step), or for
//! a channel whose producer ranks lower in a fixed order of the threads; by induction on
//! that order every thread ends.

mod emit;
mod generate;
mod sequential;

use super::expr::Expr;
use super::wat::{
    BARRIER, DATA_START, DONE, LockKind, NOTIFIED, SPIN_LIMIT, WAITS_NOT_EQUAL, WAITS_WOKEN,
};
pub use sequential::Expected;

/// How many bytes a memory cell spans.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Width {
    Byte,
    Half,
    Word,
    Double,
}

impl Width {
    /// Its size in bytes.
    pub fn bytes(self) -> u32 {
        match self {
            Width::Byte => 1,
            Width::Half => 2,
            Width::Word => 4,
            Width::Double => 8,
        }
    }

    /// The mask of the bits it holds.
    pub fn mask(self) -> u64 {
        match self {
            Width::Double => u64::MAX,
            narrower => (1 << (8 * narrower.bytes())) - 1,
        }
    }
}

/// Where an accumulator lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    /// A memory cell; narrower than a double, accessed by i64 instructions
    /// (`i64.atomic.rmw8.add_u` ...) when `through_i64`.
    Memory {
        address: u32,
        width: Width,
        through_i64: bool,
    },
    /// Shared global `$g{index}`, i64 when `wide` (guest threads only).
    Global { index: usize, wide: bool },
}

impl Cell {
    /// Whether its value has 64 bits (otherwise at most 32).
    pub fn is_wide(self) -> bool {
        matches!(
            self,
            Cell::Memory {
                width: Width::Double,
                ..
            } | Cell::Global { wide: true, .. }
        )
    }

    /// Whether its instructions take and give i64s.
    pub fn in_i64(self) -> bool {
        match self {
            Cell::Memory {
                width, through_i64, ..
            } => width == Width::Double || through_i64,
            Cell::Global { wide, .. } => wide,
        }
    }

    /// The mask of the bits it holds.
    pub fn mask(self) -> u64 {
        match self {
            Cell::Memory { width, .. } => width.mask(),
            Cell::Global { wide: true, .. } => u64::MAX,
            Cell::Global { wide: false, .. } => u64::from(u32::MAX),
        }
    }
}

/// How contributions combine into a cell: any order gives the same value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Combine {
    Add,
    Sub,
    And,
    Or,
    Xor,
    /// Only through compare-exchange loops and locks: there is no atomic multiply.
    Mul,
}

impl Combine {
    /// The instruction's name: `add`, `sub`, ...
    pub fn mnemonic(self) -> &'static str {
        match self {
            Combine::Add => "add",
            Combine::Sub => "sub",
            Combine::And => "and",
            Combine::Or => "or",
            Combine::Xor => "xor",
            Combine::Mul => "mul",
        }
    }

    /// The combined value, before truncation to the cell.
    pub fn apply(self, old: u64, operand: u64) -> u64 {
        match self {
            Combine::Add => old.wrapping_add(operand),
            Combine::Sub => old.wrapping_sub(operand),
            Combine::And => old & operand,
            Combine::Or => old | operand,
            Combine::Xor => old ^ operand,
            Combine::Mul => old.wrapping_mul(operand),
        }
    }

    /// The combinations that commute with this one on the same cell: adds and subtracts
    /// mix; every other operator only with itself.
    pub fn family(self) -> &'static [Combine] {
        match self {
            Combine::Add | Combine::Sub => &[Combine::Add, Combine::Sub],
            Combine::And => &[Combine::And],
            Combine::Or => &[Combine::Or],
            Combine::Xor => &[Combine::Xor],
            Combine::Mul => &[Combine::Mul],
        }
    }
}

/// What a contribution combines in, per iteration: an expression of the loop counter,
/// spread to 64 bits for wide cells and shaped so that repeated combining keeps information
/// (ands keep most bits, ors add few, multipliers are odd).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operand {
    /// The value's source, over `$i`.
    pub expr: Expr,
    /// For a wide cell, the 32-bit value is multiplied by this to reach the high bits.
    pub spread: u64,
    /// Applied last.
    pub shape: Shape,
}

/// The last touch on an operand's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    None,
    Or(u64),
    And(u64),
}

impl Operand {
    /// The operand's value at `iteration`, for `cell`.
    pub fn value(&self, iteration: u32, cell: Cell) -> u64 {
        let value = u64::from(self.expr.eval(iteration, &[]));
        let value = if cell.is_wide() {
            value.wrapping_mul(self.spread)
        } else {
            value
        };
        let value = match self.shape {
            Shape::None => value,
            Shape::Or(bits) => value | bits,
            Shape::And(bits) => value & bits,
        };
        if cell.is_wide() {
            value
        } else {
            value & u64::from(u32::MAX)
        }
    }
}

/// An atomically combined cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accumulator {
    /// Where it lives.
    pub cell: Cell,
    /// Its value before the threads start.
    pub initial: u64,
}

/// Words of memory one thread computes on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    /// Its first word's address.
    pub base: u32,
    /// How many words it has.
    pub words: u32,
    /// Each word's value before the threads start.
    pub initial: Vec<u32>,
}

/// Data a producer publishes behind a flag for its consumers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Channel {
    /// 0 until the data is published, then 1.
    pub flag: u32,
    /// The data words.
    pub data: Vec<u32>,
}

/// A lock and the plain words it guards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lock {
    /// The lock word: 0 when free.
    pub address: u32,
    /// How it is taken and released.
    pub kind: LockKind,
    /// Each guarded word's address, initial value and how updates combine into it.
    pub guarded: Vec<(u32, u32, Combine)>,
}

/// Which word of a region an access touches at iteration `$i`:
/// `(i * multiplier + offset) % words`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// Times the iteration.
    pub multiplier: u32,
    /// Plus this.
    pub offset: u32,
}

impl Slot {
    /// The word index at `iteration` in a region of `words` words.
    pub fn index(self, iteration: u32, words: u32) -> u32 {
        iteration
            .wrapping_mul(self.multiplier)
            .wrapping_add(self.offset)
            % words
    }
}

/// How much of a word a plain access touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Word,
    /// The byte at this offset in the word; loads sign-extend when `signed`.
    Byte {
        offset: u32,
        signed: bool,
    },
    /// The half at this offset (0 or 2).
    Half {
        offset: u32,
        signed: bool,
    },
}

/// A plain access to a region word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    /// The word.
    pub slot: Slot,
    /// Which part of it.
    pub part: Part,
}

/// One computation of a region: reads up to two accesses into `$in0`, `$in1`, then stores
/// `value` through `store`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// What is read into `$in0` and `$in1`.
    pub loads: Vec<Access>,
    /// What is stored, from the loop counter and the values read.
    pub value: Expr,
    /// Where.
    pub store: Access,
}

/// How a producer publishes its flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Publish {
    Store,
    Exchange,
    Add,
}

/// One step of a thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// `iterations` times, combine `operand` into an accumulator, by one atomic
    /// read-modify-write or, with `compare_exchange_loop`, a compare-exchange loop.
    Accumulate {
        accumulator: usize,
        iterations: u32,
        combine: Combine,
        operand: Operand,
        compare_exchange_loop: bool,
    },
    /// `iterations` times, run `statements` on a region of the thread's own.
    Compute {
        region: usize,
        iterations: u32,
        statements: Vec<Statement>,
    },
    /// Store `values[j]` (an expression of `$i` = j) into data word j, publish the flag and
    /// notify `wake` waiters (-1: all).
    Produce {
        channel: usize,
        values: Vec<Expr>,
        publish: Publish,
        wake: i32,
    },
    /// Wait for the flag, then store `results[j].1` (an expression of `$in0`, data word
    /// j, and `$i` = j) at `results[j].0`, a word of the thread's own.
    Consume {
        channel: usize,
        results: Vec<(u32, Expr)>,
    },
    /// `iterations` times, take the lock and combine each update's operand into its guarded
    /// word (an index into [`Lock::guarded`]) with a plain load, a fence (a schedule point,
    /// so that a broken lock shows under schedules too) and a plain store.
    Locked {
        lock: usize,
        iterations: u32,
        updates: Vec<(usize, Expr)>,
    },
}

/// A race-free program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaceFree {
    /// Each thread's steps, thread 0 being the main thread.
    pub threads: Vec<Vec<Step>>,
    /// The order channels follow: a producer ranks below its consumers.
    pub ranks: Vec<usize>,
    /// The cells [`Step::Accumulate`] names.
    pub accumulators: Vec<Accumulator>,
    /// The regions [`Step::Compute`] names.
    pub regions: Vec<Region>,
    /// The channels [`Step::Produce`] and [`Step::Consume`] name.
    pub channels: Vec<Channel>,
    /// The locks [`Step::Locked`] names.
    pub locks: Vec<Lock>,
    /// Whether every thread meets the others at a barrier first.
    pub barrier: bool,
    /// The end of the memory the program uses.
    pub extent: u32,
    /// What each range of memory holds, for failure messages: start, length, name.
    pub labels: Vec<(u32, u32, String)>,
}

/// Words whose final value depends on the run: how many waits were woken or found the
/// value changed, how many waiters notifies woke (the counts are checked against each
/// other, not against the model), and the spin limit the host chose.
const RUN_DEPENDENT: [u32; 4] = [WAITS_WOKEN, WAITS_NOT_EQUAL, NOTIFIED, SPIN_LIMIT];

impl RaceFree {
    /// Replaces every lock by one that two threads can take at once, for the tests that
    /// check that a broken program is caught.
    #[cfg(test)]
    pub fn break_locks(&mut self) {
        for lock in &mut self.locks {
            lock.kind = LockKind::CheckThenSet;
        }
    }

    /// Whether some lock is taken by two threads or more.
    #[cfg(test)]
    pub fn has_contended_lock(&self) -> bool {
        (0..self.locks.len()).any(|lock| {
            self.threads
                .iter()
                .filter(|steps| {
                    steps.iter().any(
                        |step| matches!(step, Step::Locked { lock: taken, .. } if *taken == lock),
                    )
                })
                .count()
                >= 2
        })
    }

    /// Counts of each kind of step, in the order accumulate, compute, produce, consume,
    /// locked.
    pub fn step_kinds(&self) -> [u64; 5] {
        let mut kinds = [0; 5];
        for step in self.threads.iter().flatten() {
            let kind = match step {
                Step::Accumulate { .. } => 0,
                Step::Compute { .. } => 1,
                Step::Produce { .. } => 2,
                Step::Consume { .. } => 3,
                Step::Locked { .. } => 4,
            };
            kinds[kind] += 1;
        }
        kinds
    }

    /// Checks a run's memory (from address 0) and globals against `expected`: the first
    /// difference, named.
    pub fn check(&self, expected: &Expected, memory: &[u8], globals: &[u64]) -> Result<(), String> {
        for (index, (&want, &got)) in expected.globals.iter().zip(globals).enumerate() {
            if want != got {
                return Err(format!(
                    "global $g{index}: expected {want:#x}, observed {got:#x}"
                ));
            }
        }
        if globals.len() != expected.globals.len() {
            return Err(format!(
                "{} globals read, {} expected",
                globals.len(),
                expected.globals.len()
            ));
        }
        let extent = self.extent as usize;
        let Some(observed) = memory.get(..extent) else {
            return Err(format!("the memory read ends before {extent}"));
        };
        let differs = |address: usize| {
            let word = address as u32 & !3;
            !RUN_DEPENDENT.contains(&word) && expected.memory[address] != observed[address]
        };
        let Some(address) = (0..extent).find(|&address| differs(address)) else {
            return Ok(());
        };
        Err(self.describe_difference(address as u32, &expected.memory, observed))
    }

    /// Every labeled location's expected value and every global's, a line each (a region
    /// a line per word), for a reproducer's header.
    pub fn describe_expected(&self, expected: &Expected) -> String {
        let value = |start: u32, length: u32| {
            let range = start as usize..(start + length) as usize;
            expected.memory.get(range).map_or(0, |bytes| {
                bytes
                    .iter()
                    .rev()
                    .fold(0u64, |value, &byte| (value << 8) | u64::from(byte))
            })
        };
        let mut text = String::new();
        for (start, length, name) in &self.labels {
            if *length <= 8 {
                text.push_str(&format!(
                    "  {name} at {start}: {:#x}\n",
                    value(*start, *length)
                ));
            } else {
                for word in 0..length / 4 {
                    let address = start + 4 * word;
                    text.push_str(&format!(
                        "  {name}, word {word} at {address}: {:#x}\n",
                        value(address, 4)
                    ));
                }
            }
        }
        for (index, global) in expected.globals.iter().enumerate() {
            text.push_str(&format!("  global $g{index}: {global:#x}\n"));
        }
        text
    }

    /// A message for the first differing byte, at `address`: the labeled range holding it,
    /// with its expected and observed values.
    fn describe_difference(&self, address: u32, expected: &[u8], observed: &[u8]) -> String {
        let label = self
            .labels
            .iter()
            .find(|(start, length, _)| (*start..start + length).contains(&address));
        let (start, length, name) = match label {
            // Values up to 8 bytes are shown whole; a region's differing word alone.
            Some((start, length, name)) if *length <= 8 => (*start, *length, name.clone()),
            Some((start, _, name)) => (
                address & !3,
                4,
                format!("{name}, word {}", (address - start) / 4),
            ),
            None if address < DATA_START => (address & !3, 4, fixed_word_name(address)),
            None => (address, 1, "a byte no location owns".to_string()),
        };
        let value = |bytes: &[u8]| {
            let range = start as usize..(start + length) as usize;
            bytes.get(range).map_or(0, |bytes| {
                bytes
                    .iter()
                    .rev()
                    .fold(0u64, |value, &byte| (value << 8) | u64::from(byte))
            })
        };
        format!(
            "{name} at {start}: expected {:#x}, observed {:#x}",
            value(expected),
            value(observed)
        )
    }
}

/// The name of a word of the fixed layout below [`DATA_START`].
fn fixed_word_name(address: u32) -> String {
    match address & !3 {
        super::wat::WAITS_TIMED_OUT => "the count of timed-out waits".to_string(),
        BARRIER => "the barrier's count".to_string(),
        DONE => "the count of threads done".to_string(),
        word => format!("reserved word {word}"),
    }
}
