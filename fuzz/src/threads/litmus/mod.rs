//! Litmus-shaped programs: a few threads, each a short straight line of sequentially
//! consistent atomic accesses to two or three shared locations, every value read kept in a
//! result slot. WebAssembly's seq-cst atomics on aligned, non-overlapping locations are
//! sequentially consistent, so every outcome a run shows must be one that some interleaving
//! of the threads' operations gives ([`sc::allowed_outcomes`](super::sc::allowed_outcomes)).

mod emit;
mod generate;

use super::wat::SharedGlobal;
use std::fmt::Write;

/// Where thread `t`'s result slots start: `RESULTS + RESULT_STRIDE * t`, a word per slot.
const RESULTS: u32 = 1024;
/// The bytes between two threads' result slots.
const RESULT_STRIDE: u32 = 64;
/// Operations in a program at most, so that enumerating interleavings stays cheap
/// (a few thousand at 4 threads).
pub const MAX_OPERATIONS: usize = 10;

/// A shared location.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// An aligned i32 word of the shared memory, at this address.
    Memory(u32),
    /// Shared i32 global `$g{index}`, accessed with `seqcst` `global.atomic.*`.
    Global(usize),
}

/// An atomic read-modify-write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rmw {
    Add,
    Sub,
    And,
    Or,
    Xor,
    Exchange,
}

impl Rmw {
    const ALL: [Rmw; 6] = [
        Rmw::Add,
        Rmw::Sub,
        Rmw::And,
        Rmw::Or,
        Rmw::Xor,
        Rmw::Exchange,
    ];

    fn mnemonic(self) -> &'static str {
        match self {
            Rmw::Add => "add",
            Rmw::Sub => "sub",
            Rmw::And => "and",
            Rmw::Or => "or",
            Rmw::Xor => "xor",
            Rmw::Exchange => "xchg",
        }
    }

    /// The value the location holds afterwards.
    fn apply(self, old: u32, operand: u32) -> u32 {
        match self {
            Rmw::Add => old.wrapping_add(operand),
            Rmw::Sub => old.wrapping_sub(operand),
            Rmw::And => old & operand,
            Rmw::Or => old | operand,
            Rmw::Xor => old ^ operand,
            Rmw::Exchange => operand,
        }
    }
}

/// One operation of a thread. Every operation but a store and a fence has a result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// An atomic load of location (an index into [`Litmus::locations`]).
    Load(usize),
    /// An atomic store.
    Store(usize, u32),
    /// An atomic read-modify-write; its result is the old value.
    Rmw(usize, Rmw, u32),
    /// An atomic compare-exchange; its result is the old value.
    CompareExchange {
        location: usize,
        expected: u32,
        replacement: u32,
    },
    /// `atomic.fence`: nothing to a sequentially consistent model.
    Fence,
    /// `memory.atomic.notify` of one waiter on a memory location, which nobody waits on:
    /// its result must be 0.
    Notify(usize),
}

impl Op {
    /// Whether the operation leaves a result.
    pub fn has_result(self) -> bool {
        !matches!(self, Op::Store(..) | Op::Fence)
    }

    /// What it does to `values` (one per location) under sequential consistency, and its
    /// result.
    pub fn apply(self, values: &mut [u32]) -> Option<u32> {
        match self {
            Op::Load(location) => Some(values[location]),
            Op::Store(location, value) => {
                values[location] = value;
                None
            }
            Op::Rmw(location, rmw, operand) => {
                let old = values[location];
                values[location] = rmw.apply(old, operand);
                Some(old)
            }
            Op::CompareExchange {
                location,
                expected,
                replacement,
            } => {
                let old = values[location];
                if old == expected {
                    values[location] = replacement;
                }
                Some(old)
            }
            Op::Fence => None,
            Op::Notify(_) => Some(0),
        }
    }

    /// The location it accesses, if any.
    fn location(self) -> Option<usize> {
        match self {
            Op::Load(location)
            | Op::Store(location, _)
            | Op::Rmw(location, ..)
            | Op::CompareExchange { location, .. }
            | Op::Notify(location) => Some(location),
            Op::Fence => None,
        }
    }
}

/// A litmus-shaped program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Litmus {
    /// The shape it was built from ("SB", "MP", ... or "random").
    pub shape: &'static str,
    /// The shared locations.
    pub locations: Vec<Location>,
    /// Each location's value before any thread starts.
    pub initial: Vec<u32>,
    /// Each thread's operations, thread 0 being the main thread.
    pub threads: Vec<Vec<Op>>,
    /// Whether the threads meet at a barrier before their operations, so that free runs
    /// overlap them.
    pub barrier: bool,
}

/// One run's outcome: every result in thread and operation order, then every location's
/// final value.
pub type Outcome = Vec<u32>;

impl Litmus {
    /// Operations in all threads.
    pub fn operations(&self) -> usize {
        self.threads.iter().map(Vec::len).sum()
    }

    /// The shared globals the program declares.
    pub fn globals(&self) -> Vec<SharedGlobal> {
        self.locations
            .iter()
            .zip(&self.initial)
            .filter(|(location, _)| matches!(location, Location::Global(_)))
            .map(|(_, &initial)| SharedGlobal {
                wide: false,
                initial: u64::from(initial),
            })
            .collect()
    }

    /// The address of result slot `slot` of thread `thread`.
    pub fn result_address(thread: usize, slot: usize) -> u32 {
        RESULTS + RESULT_STRIDE * thread as u32 + 4 * slot as u32
    }

    /// The bytes of memory a run's outcome is read from.
    pub fn memory_extent(&self) -> u32 {
        Litmus::result_address(self.threads.len(), 0)
    }

    /// The outcome of a run, from its memory (from address 0) and its globals' final
    /// values, or why it cannot be read.
    pub fn outcome(&self, memory: &[u8], globals: &[u64]) -> Result<Outcome, String> {
        let word = |address: u32| -> Result<u32, String> {
            let at = address as usize;
            memory
                .get(at..at + 4)
                .and_then(|bytes| bytes.try_into().ok())
                .map(u32::from_le_bytes)
                .ok_or_else(|| format!("the memory read ends before {address}"))
        };
        let mut outcome = Vec::new();
        for (thread, ops) in self.threads.iter().enumerate() {
            let results = ops.iter().filter(|op| op.has_result()).count();
            for slot in 0..results {
                outcome.push(word(Litmus::result_address(thread, slot))?);
            }
        }
        for location in &self.locations {
            outcome.push(match *location {
                Location::Memory(address) => word(address)?,
                Location::Global(index) => globals
                    .get(index)
                    .map(|&value| value as u32)
                    .ok_or_else(|| format!("global {index} was not read"))?,
            });
        }
        Ok(outcome)
    }

    /// An outcome as text: `t1.0=1` for the first result of thread 1, `x=2` for a final
    /// value.
    pub fn describe(&self, outcome: &[u32]) -> String {
        let mut names = Vec::new();
        for (thread, ops) in self.threads.iter().enumerate() {
            let results = ops.iter().filter(|op| op.has_result()).count();
            names.extend((0..results).map(|slot| format!("t{thread}.{slot}")));
        }
        names.extend((0..self.locations.len()).map(|location| location_name(location).to_string()));
        names
            .iter()
            .zip(outcome)
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The program in the notation [`Litmus::describe`] uses, one thread a line, for the
    /// reproducer's header.
    pub fn listing(&self) -> String {
        let mut text = String::new();
        for (location, (place, initial)) in self.locations.iter().zip(&self.initial).enumerate() {
            let place = match place {
                Location::Memory(address) => format!("memory word {address}"),
                Location::Global(index) => format!("global $g{index}"),
            };
            let _ = writeln!(
                text,
                "{} = {place}, initially {initial}",
                location_name(location)
            );
        }
        for (thread, ops) in self.threads.iter().enumerate() {
            let mut slot = 0;
            let steps: Vec<String> = ops
                .iter()
                .map(|&op| {
                    let target = |result: &mut usize| {
                        let name = format!("t{thread}.{result}");
                        *result += 1;
                        name
                    };
                    match op {
                        Op::Load(location) => {
                            format!("{} = {}", target(&mut slot), location_name(location))
                        }
                        Op::Store(location, value) => {
                            format!("{} := {value}", location_name(location))
                        }
                        Op::Rmw(location, rmw, operand) => format!(
                            "{} = {}.{}({operand})",
                            target(&mut slot),
                            location_name(location),
                            rmw.mnemonic()
                        ),
                        Op::CompareExchange {
                            location,
                            expected,
                            replacement,
                        } => format!(
                            "{} = {}.cmpxchg({expected}, {replacement})",
                            target(&mut slot),
                            location_name(location)
                        ),
                        Op::Fence => "fence".to_string(),
                        Op::Notify(location) => {
                            format!(
                                "{} = notify({})",
                                target(&mut slot),
                                location_name(location)
                            )
                        }
                    }
                })
                .collect();
            let _ = writeln!(text, "thread {thread}: {}", steps.join("; "));
        }
        text
    }
}

/// The name of location `index` in listings: x, y, z.
fn location_name(index: usize) -> &'static str {
    ["x", "y", "z"].get(index).copied().unwrap_or("w")
}
