//! The suites, and how the runner picks and runs them.

pub mod churn;
pub mod grow;
pub mod litmus;
pub mod semaphore;
pub mod storm;
pub mod table_calls;
pub mod terminate;
pub mod wasi_churn;

use crate::error::StressError;
use crate::plan::Plan;
use crate::report::{Findings, Report};
use crate::rng::Rng;
use std::time::{Duration, Instant};

/// One run of a suite: its seed, and how long its threads may take before the watchdog
/// terminates them and the run counts as hung.
#[derive(Clone, Debug)]
pub struct Round {
    pub seed: u64,
    pub deadline: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Suite {
    Litmus,
    Storm,
    Churn,
    WasiChurn,
    Semaphore,
    Terminate,
    Grow,
    TableCalls,
}

impl Suite {
    pub const ALL: [Suite; 8] = [
        Suite::Litmus,
        Suite::Storm,
        Suite::Churn,
        Suite::WasiChurn,
        Suite::Semaphore,
        Suite::Terminate,
        Suite::Grow,
        Suite::TableCalls,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Suite::Litmus => "litmus",
            Suite::Storm => "storm",
            Suite::Churn => "churn",
            Suite::WasiChurn => "wasi-churn",
            Suite::Semaphore => "semaphore",
            Suite::Terminate => "terminate",
            Suite::Grow => "grow",
            Suite::TableCalls => "table-calls",
        }
    }

    pub fn about(self) -> &'static str {
        match self {
            Suite::Litmus => "MP, SB and LB litmus tests, seq-cst atomics and plain accesses",
            Suite::Storm => "wait/notify storm with exact accounting of every wakeup",
            Suite::Churn => "spawn/exit churn: exact counts, no leaked OS thread or block",
            Suite::WasiChurn => {
                "instance-per-thread (wasi-threads) churn: exact counts, fresh ids, no leaked thread"
            }
            Suite::Semaphore => "ring buffer on host semaphores and a host mutex, every item once",
            Suite::Terminate => {
                "terminating blocked and spinning threads, store-wide and one by one"
            }
            Suite::Grow => "memory.grow and table.grow racing readers at the last byte and entry",
            Suite::TableCalls => {
                "calls through a shared table racing table.set, every result installed"
            }
        }
    }

    /// Runs the suite as `plan` sizes it, its random choices drawn from `seed`, and checks it.
    pub fn run(self, plan: &Plan, seed: u64) -> Result<Report, StressError> {
        let round = Round {
            seed: Rng::new(seed).fork(self.name()).next_u64(),
            deadline: plan.deadline,
        };
        let started = Instant::now();
        let findings: Box<dyn Findings> = match self {
            Suite::Litmus => Box::new(litmus::run(&plan.litmus, &round)?),
            Suite::Storm => Box::new(storm::run(&plan.storm, &round)?),
            Suite::Churn => Box::new(churn::run(&plan.churn, &round)?),
            Suite::WasiChurn => Box::new(wasi_churn::run(&plan.wasi_churn, &round)?),
            Suite::Semaphore => Box::new(semaphore::run(&plan.semaphore, &round)?),
            Suite::Terminate => Box::new(terminate::run(&plan.terminate, &round)?),
            Suite::Grow => Box::new(grow::run(&plan.grow, &round)?),
            Suite::TableCalls => Box::new(table_calls::run(&plan.table_calls, &round)?),
        };
        Ok(Report::new(
            self,
            seed,
            started.elapsed(),
            findings.as_ref(),
        ))
    }
}
