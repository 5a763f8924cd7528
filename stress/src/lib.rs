//! Concurrency stress suites for weft. Each suite runs guest threads (and attached host
//! threads) against one shared instance, collects what they observed, and checks exact
//! invariants over it: litmus outcomes the memory model forbids, wait/notify accounting,
//! spawn churn leaving no thread or block behind, a host-semaphore ring buffer, termination,
//! growth racing readers, and calls through a shared table racing its writers.
//!
//! Every suite is `run` (collects results, never judges them) plus a pure `check` over the
//! results (the [`Findings`] trait), so a checker can be fed fabricated results in tests.
//! The `weft-stress` binary is the command-line front end.
#![forbid(unsafe_code)]

mod error;
mod guest;
mod os_threads;
mod plan;
mod report;
mod rng;
pub mod suites;
mod watchdog;

pub use error::StressError;
pub use guest::Tally;
pub use os_threads::ThreadCounts;
pub use plan::{MAX_THREADS, Plan};
pub use report::{Findings, Report, Violation};
pub use rng::Rng;
pub use suites::Suite;
