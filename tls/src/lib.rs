//! Per-thread context blocks. weft runs one instance on many OS threads, and each thread
//! executing an instance's code gets a block (a raw allocation the engine's vm layer owns:
//! `thread_local` global slots, stack limit, interrupt flag). This crate holds the protocol
//! for reusing those blocks after their thread exits, [`BlockPool`] (with [`Lease`], its RAII
//! form), generic over the block type and free of unsafe code. Like `weft-threads`, it is
//! independent of Cranelift so it can be model-checked with loom.
//!
//! The block's layout and "current thread" lookup belong to the engine's vm layer, which
//! instantiates the pool with its block type and reset routine.
//!
//! Host threads attached to an instance also run on blocks, and call in while the store that
//! owns the instance may be dropped: [`CallGate`] keeps the store alive for each call.
//!
//! The loom models (`loom_tests.rs`) run with:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
//!     cargo test -p weft-tls --release --lib -- loom_
//! ```
#![forbid(unsafe_code)]

mod flaw;
mod gate;
mod pool;
mod sync;

#[cfg(all(test, loom))]
mod loom_tests;
#[cfg(all(test, not(loom)))]
mod tests;

pub use gate::{CallGate, Entered};
pub use pool::{BlockPool, Lease};
