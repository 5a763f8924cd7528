//! Host-side synchronization for weft's threads: the wait queue behind
//! `memory.atomic.wait`/`notify`, host semaphores, mutexes and condition variables that guests
//! block on, the thread registry with spawn/join/terminate, interruption, a data-race detector and a
//! deterministic scheduler for exploring interleavings. It knows nothing
//! of WebAssembly or Cranelift, so every protocol here can be model-checked with loom.
//!
//! The loom models (`loom_tests.rs`, `loom_thread_group.rs`, `loom_semaphore.rs`,
//! `loom_mutex.rs`, `loom_condvar.rs`, `loom_latch.rs`, `loom_explore.rs`, `loom_thread_cache.rs`,
//! `loom_nudge.rs`) run with:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
//!     cargo test -p weft-threads --release --lib -- loom_
//! ```
#![forbid(unsafe_code)]

mod blocking;
mod budget;
mod condvar;
mod explore;
mod flaw;
mod latch;
mod mutex;
mod nudge;
mod parking;
mod parking_list;
mod race;
mod semaphore;
mod sync;
mod thread_cache;
mod thread_group;
mod wait_queue;
mod waiter;

#[cfg(all(test, not(loom)))]
mod blocking_tests;
#[cfg(all(test, not(loom)))]
mod budget_tests;
#[cfg(all(test, not(loom)))]
mod condvar_tests;
#[cfg(test)]
mod explore_support;
#[cfg(all(test, not(loom)))]
mod explore_tests;
#[cfg(all(test, not(loom)))]
mod latch_tests;
#[cfg(all(test, loom))]
mod loom_blocking;
#[cfg(all(test, loom))]
mod loom_budget;
#[cfg(all(test, loom))]
mod loom_condvar;
#[cfg(all(test, loom))]
mod loom_explore;
#[cfg(all(test, loom))]
mod loom_latch;
#[cfg(all(test, loom))]
mod loom_mutex;
#[cfg(all(test, loom))]
mod loom_nudge;
#[cfg(all(test, loom))]
mod loom_semaphore;
#[cfg(all(test, loom))]
mod loom_tests;
#[cfg(all(test, loom))]
mod loom_thread_cache;
#[cfg(all(test, loom))]
mod loom_thread_group;
#[cfg(all(test, not(loom)))]
mod mutex_tests;
#[cfg(all(test, not(loom)))]
mod nudge_tests;
#[cfg(all(test, not(loom)))]
mod race_tests;
#[cfg(all(test, not(loom)))]
mod semaphore_tests;
#[cfg(all(test, not(loom)))]
mod tests;
#[cfg(all(test, not(loom)))]
mod thread_cache_tests;
#[cfg(all(test, not(loom)))]
mod thread_group_tests;

pub use blocking::{BlockingGuard, Interrupted, begin_blocking};
pub use budget::{BudgetPermit, ThreadBudget};
pub use condvar::{CondvarWait, HostCondvar};
pub use explore::{
    BlockedThread, Operation, ScheduleSummary, ScheduledThread, Scheduler, Step, Strategy,
    TRACE_STEPS, WaitKey, Wakeup,
};
pub use latch::Latch;
pub use mutex::{AlreadyHeld, HostMutex, UnlockError};
pub use nudge::{Courier, NudgeTarget};
pub use race::{Access, Race, RaceDetector, RaceThread, Site};
pub use semaphore::{Acquire, PermitOverflow, Semaphore};
pub use thread_cache::{Job, ThreadCache, Worker};
pub use thread_group::{Interrupt, Outcome, ThreadGroup, ThreadId};
pub use wait_queue::{WaitOutcome, WaitQueue};
pub use waiter::Waiter;
