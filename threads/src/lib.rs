//! Host-side synchronization for weft's threads: the wait queue behind
//! `memory.atomic.wait`/`notify`, host semaphores that guests block on, the thread registry
//! with spawn/join/terminate, and interruption. It knows nothing of WebAssembly or Cranelift,
//! so every protocol here can be model-checked with loom.
//!
//! The loom models (`loom_tests.rs`, `loom_thread_group.rs`) run with:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
//!     cargo test -p weft-threads --release --lib -- loom_
//! ```
#![forbid(unsafe_code)]

mod flaw;
mod semaphore;
mod sync;
mod thread_group;
mod wait_queue;
mod waiter;

#[cfg(all(test, loom))]
mod loom_semaphore;
#[cfg(all(test, loom))]
mod loom_tests;
#[cfg(all(test, loom))]
mod loom_thread_group;
#[cfg(all(test, not(loom)))]
mod semaphore_tests;
#[cfg(all(test, not(loom)))]
mod tests;
#[cfg(all(test, not(loom)))]
mod thread_group_tests;

pub use semaphore::{Acquire, Semaphore};
pub use thread_group::{Interrupt, Outcome, ThreadGroup, ThreadId};
pub use wait_queue::{WaitOutcome, WaitQueue};
pub use waiter::Waiter;
