//! Thread lifecycle, in one place: every thread that runs a store's code other than the
//! store's own (guest threads the intrinsics or the embedder spawn, host threads the
//! embedder attaches), from its permits to its OS thread, its record of blocks, its calls,
//! and its end.
//!
//! Data flows one way: `guest` (spawn, join, terminate) owns the store's `attach`ments and
//! uses `os` (OS threads), `permits` (the thread limits) and `record` (a thread's blocks and
//! the call that runs wasm on one); `attach` uses `permits` and `record`. Nothing here imports
//! the store, the host functions or the intrinsics, which are built on it.

mod attach;
mod guest;
mod os;
mod permits;
mod record;

pub(crate) use attach::{AttachedCallError, Attachment, HostThread, InstanceRef, SharedEntry};
pub(crate) use guest::{GuestThreads, SpawnError, ThreadFailure, ThreadOutcome};
pub(crate) use os::OsThreads;
pub(crate) use permits::{Refusal, ThreadPermits};
pub(crate) use record::{ThreadRecord, UNMETERED, call_on_block};
