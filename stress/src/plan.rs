//! How big each suite runs: scaled from one repetition count, or the bounded CI sizes.

use crate::suites::{churn, grow, litmus, semaphore, storm, table_calls, terminate, wasi_churn};
use std::time::Duration;

/// The most threads a plan aims at: a suite runs up to twice as many at once, and a store's
/// instance keeps at most 64 idle per-thread blocks for reuse.
pub const MAX_THREADS: usize = 32;

#[derive(Clone, Debug)]
pub struct Plan {
    /// The concurrency the suites aim at (at least 2).
    pub threads: usize,
    /// How long one suite's threads may run before they count as hung.
    pub deadline: Duration,
    pub litmus: litmus::Params,
    pub storm: storm::Params,
    pub churn: churn::Params,
    pub wasi_churn: wasi_churn::Params,
    pub semaphore: semaphore::Params,
    pub terminate: terminate::Params,
    pub grow: grow::Params,
    pub table_calls: table_calls::Params,
}

impl Plan {
    /// Sizes for `threads` threads (2 to [`MAX_THREADS`]), scaled from `iterations`: the
    /// litmus repetitions per test; the other suites take proportional shares of it.
    pub fn scaled(threads: usize, iterations: usize) -> Plan {
        let threads = threads.clamp(2, MAX_THREADS);
        Plan {
            threads,
            // Generous: on a loaded machine a repetition can take tens of microseconds.
            deadline: Duration::from_secs(60)
                + Duration::from_micros((iterations as u64).saturating_mul(100)),
            litmus: litmus::Params {
                reps: iterations.max(1),
                max_delay: 255,
            },
            storm: storm::Params {
                waiters: 2 * threads,
                attached_waiters: threads / 2,
                notifiers: (threads / 2).max(2),
                addresses: 4,
                rounds: (iterations / 20).max(1),
            },
            churn: churn::Params {
                spawns: (iterations / 12).max(1),
                max_batch: threads,
            },
            // A new instance per thread costs more than a shared-everything spawn.
            wasi_churn: wasi_churn::Params {
                spawns: (iterations / 40).max(1),
                max_batch: threads,
            },
            semaphore: semaphore::Params {
                producers: threads,
                consumers: threads,
                attached_consumers: threads / 2,
                items_per_producer: (5 * iterations / threads).max(1),
                slots: 4,
                max_delay: 63,
            },
            terminate: terminate::Params {
                rounds: (iterations / 1000).max(1),
                max_threads: 2 * threads,
                join_deadline: Duration::from_secs(5),
            },
            grow: grow::Params {
                rounds: (iterations / 5_000).max(2),
                growers: threads.div_ceil(2),
                readers: threads,
                grows_per_grower: 500,
                host_grows: 50,
                initial_pages: 1,
            },
            table_calls: table_calls::Params {
                setters: threads.div_ceil(2),
                callers: threads,
                calls_per_caller: 50 * iterations,
                entries: 8,
            },
        }
    }

    /// The bounded CI run: every suite above its required minimum (10^5 litmus repetitions
    /// per test, 10^4 spawns under each thread model, 50 termination rounds), about a minute in all on two loaded
    /// cores. More threads than four would only make the run longer, not more thorough.
    pub fn ci(threads: usize) -> Plan {
        Plan::scaled(threads.clamp(2, 4), 400_000)
    }
}
