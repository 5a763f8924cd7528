//! The threads target: every case is a small multi-threaded program over shared memory,
//! generated from the seed as WAT, whose outcomes are checked without an oracle.
//!
//! Two families of programs:
//! - *litmus* programs ([`litmus`]): 2 to 4 threads, each a short straight line of
//!   sequentially consistent atomic accesses (loads, stores, read-modify-writes,
//!   compare-exchanges, fences, notifies) to a few memory words or shared globals. Every
//!   outcome a run shows must be one that some interleaving gives ([`sc`]);
//! - *race-free* programs ([`race_free`]): atomic accumulation with commutative
//!   read-modify-writes or compare-exchange loops, computation on regions of a thread's
//!   own, message passing through a flag and `memory.atomic.wait32`/`notify`, and updates
//!   under locks built from atomics and wait/notify. Every run must reach the answer of the
//!   program run sequentially.
//!
//! Each program runs several times, as guest threads of the shared-everything proposal
//! or as a wasi-threads program under both thread models, left to the OS and under schedules
//! of weft's explorer ([`run`]). Besides each family's check, every run must end without a
//! trap or deadlock, with no wait timed out and as many waits woken as notifies woke. A
//! failure's reproducer is the program's text, its header giving the answer.

mod case;
mod expr;
mod litmus;
mod race_free;
mod run;
mod sc;
mod stats;
#[cfg(test)]
mod tests;
mod wat;
mod watchdog;

use crate::target::{Failure, Target};
use anyhow::Context;
use case::Case;
use run::Runner;
use stats::Stats;

/// The threads target: its engines and watchdog, made once, and what its cases covered.
pub struct Threads {
    runner: Runner,
    stats: Stats,
}

impl Threads {
    /// The target, with its two engines (one for free runs, one for schedules) and the
    /// watchdog of its runs.
    pub fn new() -> anyhow::Result<Threads> {
        let runner = Runner::new().context("cannot make the threads target's engines")?;
        Ok(Threads {
            runner,
            stats: Stats::default(),
        })
    }
}

impl Target for Threads {
    fn run(&mut self, seed: u64) -> Result<(), Failure> {
        let case = Case::generate(seed);
        self.stats.program(&case);
        let stats = &mut self.stats;
        let mut on_run = |mode, observation: &_, atomic_operations| {
            stats.run(&case, mode, observation, atomic_operations);
        };
        let coverage = case.run(&self.runner, &mut on_run).map_err(|failure| {
            Failure::new(failure.what)
                .with_artifact(format!("threads-{seed}.wat"), failure.reproducer)
        })?;
        if let Some((observed, allowed)) = coverage {
            self.stats.litmus_coverage(observed, allowed);
        }
        Ok(())
    }

    fn report(&self) -> Vec<String> {
        self.stats.lines()
    }
}
