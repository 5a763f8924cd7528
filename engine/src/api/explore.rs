//! Schedule exploration ([`Engine::explore`](crate::Engine::explore)): a program's threads
//! run one at a time, in an order that a seed fixes, and the schedule's end is reported as a
//! value.

use crate::vm::{Exploration, describe_site};
use std::fmt;
use weft_threads::{Step, WaitKey};

pub use weft_threads::{Operation as ScheduleOperation, Strategy as ScheduleStrategy};

/// How often a loop header is a schedule point by default: every this many times a thread
/// reaches one. Often enough that a thread spinning on plain loads lets the others run,
/// rarely enough that a computing loop does not drown the schedule's synchronization steps.
pub const DEFAULT_LOOP_PERIOD: u32 = 100;

/// One schedule: how the next thread is picked, and the seed that fixes every pick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// How the next thread is picked at a schedule point.
    pub strategy: ScheduleStrategy,
    /// Fixes every choice: the same seed, strategy and program give the same schedule.
    pub seed: u64,
    /// A loop header is a schedule point every this many times a thread reaches one (1:
    /// every time).
    pub loop_period: u32,
}

impl Schedule {
    /// A schedule that picks any runnable thread at random at every point.
    pub fn random(seed: u64) -> Schedule {
        Schedule {
            strategy: ScheduleStrategy::Random,
            seed,
            loop_period: DEFAULT_LOOP_PERIOD,
        }
    }

    /// A PCT schedule (see [`ScheduleStrategy::Pct`]) for bugs of `depth` ordering
    /// constraints, its priority changes spread over the first `length` steps.
    pub fn pct(depth: u32, length: u64, seed: u64) -> Schedule {
        Schedule {
            strategy: ScheduleStrategy::Pct { depth, length },
            seed,
            loop_period: DEFAULT_LOOP_PERIOD,
        }
    }
}

/// One schedule point a thread passed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleStep {
    /// The step's number in the schedule, from 0.
    pub index: u64,
    /// The thread: 0 is the one that called [`Engine::explore`](crate::Engine::explore),
    /// then in the order threads were started.
    pub thread: u32,
    /// What it did.
    pub operation: ScheduleOperation,
    /// The function, as backtraces name it (`module!function`); `None` for a step the
    /// runtime took for the thread (a spawn or join from host code, a thread's end).
    pub function: Option<String>,
    /// The byte offset of the instruction in the module's binary.
    pub offset: u32,
    /// The native address it synchronized on; 0 for none. Equal for the same memory word
    /// within a run, meaningless across runs.
    pub address: u64,
}

impl fmt::Display for ScheduleStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "step {}: thread {} {}",
            self.index, self.thread, self.operation
        )?;
        match &self.function {
            Some(function) => write!(f, " at {:#x} in {function}", self.offset)?,
            None => f.write_str(" in the runtime")?,
        }
        if self.address != 0 {
            write!(f, " on {:#x}", self.address)?;
        }
        Ok(())
    }
}

/// A thread that could not go on when the schedule deadlocked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockedThread {
    /// The thread.
    pub thread: u32,
    /// Where it blocked.
    pub at: ScheduleStep,
    /// What it waited for: a notify of `address`, or the end of a thread.
    pub waiting_for: String,
}

impl fmt::Display for BlockedThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "thread {} waits for {} ({})",
            self.thread, self.waiting_for, self.at
        )
    }
}

/// What one schedule did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleReport {
    /// The schedule.
    pub schedule: Schedule,
    /// Schedule points passed.
    pub steps: u64,
    /// Decisions: points where more than one thread could run (what
    /// [`ScheduleStrategy::Pct`]'s `length` counts).
    pub decisions: u64,
    /// Threads that took part, the calling one included.
    pub threads: u32,
    /// With every thread blocked and none able to time out: each thread's blocking site.
    /// The blocked waits were then interrupted, so that the program could end.
    pub deadlock: Option<Vec<BlockedThread>>,
    /// The last steps ([`weft_threads::TRACE_STEPS`] at most), oldest first: the
    /// interleaving that led to the schedule's end.
    pub trace: Vec<ScheduleStep>,
}

impl ScheduleReport {
    pub(crate) fn new(schedule: Schedule, exploration: &Exploration) -> ScheduleReport {
        let summary = exploration.summary();
        let step = |step: Step| {
            let (key, location) = step.site;
            let (function, offset) = match exploration.module(key) {
                Some(module) => {
                    let (function, offset) = describe_site(&module, location);
                    (Some(function), offset)
                }
                None => (None, 0),
            };
            ScheduleStep {
                index: step.index,
                thread: step.thread.index(),
                operation: step.operation,
                function,
                offset,
                address: step.address,
            }
        };
        ScheduleReport {
            schedule,
            steps: summary.steps,
            decisions: summary.decisions,
            threads: summary.threads,
            deadlock: summary.deadlock.map(|blocked| {
                blocked
                    .into_iter()
                    .map(|blocked| BlockedThread {
                        thread: blocked.thread.index(),
                        at: step(blocked.step),
                        waiting_for: match blocked.key {
                            WaitKey::Address(address) => format!("a notify of {address:#x}"),
                            WaitKey::Thread(thread) => format!("{thread} to finish"),
                        },
                    })
                    .collect()
            }),
            trace: summary.trace.into_iter().map(step).collect(),
        }
    }
}
