//! The runtime structures JIT code reads and the machinery around them: memories, tables,
//! globals, contexts, libcalls and trap handling. All of weft's unsafe code lives here; every
//! unsafe block says why it is sound.

mod block;
pub(crate) mod explore;
mod gc;
mod handoff;
mod host;
pub(crate) use weft_threads::{WaitOutcome, WaitQueue};
mod instance;
mod intrinsics;
mod libcalls;
mod memory;
mod mmap;
mod module;
mod nudge;
mod race;
mod sites;
mod store;
mod table;
mod threads;
mod traphandlers;
mod vmcontext;

pub(crate) use explore::Exploration;
pub(crate) use handoff::{Entered, Handoff, JoinHandoffs};
pub(crate) use host::{CallerBlock, FastPathEntry, HostPanic, SharedHostFunc, ThrownException};
pub(crate) use intrinsics::Intrinsic;
pub(crate) use memory::{LinearMemory, SharedMemory, StoreMemory, WaitValue, wasm_timeout};
pub(crate) use module::{FastPathCode, FrameSymbol, HostCode, ModuleRuntime};
pub(crate) use nudge::start_courier as start_nudge_courier;
pub(crate) use race::{RaceTracker, SitedRace};
pub(crate) use sites::describe as describe_site;
pub(crate) use store::{
    ExternIndex, HostBody, HostFunc, InstantiationFailure, StoreBox, StoreInner, StoreOpaque,
};
pub(crate) use table::Table;
pub(crate) use threads::{
    AttachedCallError, Attachment, GuestThreads, HostThread, InstanceRef, OsThreads, Refusal,
    SharedEntry, SpawnError, ThreadFailure, ThreadOutcome, ThreadPermits, UNMETERED,
};
pub(crate) use traphandlers::{HostError, UnwindReason};
pub(crate) use vmcontext::{VMGlobalDefinition, VMVal};
