//! The runtime structures JIT code reads and the machinery around them: memories, tables,
//! globals, contexts, libcalls and trap handling. All of weft's unsafe code lives here; every
//! unsafe block says why it is sound.

mod attach;
mod gc;
mod host;
pub(crate) use weft_threads::{WaitOutcome, WaitQueue};
mod instance;
mod libcalls;
mod memory;
mod mmap;
mod module;
mod os_threads;
mod spawn;
mod store;
mod table;
mod thread;
mod traphandlers;
mod vmcontext;

pub(crate) use attach::{AttachedCallError, Attachment, HostThread, InstanceRef, SharedEntry};
pub(crate) use host::{CallerBlock, HostError, HostPanic, SharedHostFunc};
pub(crate) use memory::{LinearMemory, SharedMemory, StoreMemory, WaitValue, wasm_timeout};
pub(crate) use module::{FrameSymbol, HostCode, ModuleRuntime};
pub(crate) use os_threads::OsThreads;
pub(crate) use spawn::{
    GuestThreads, Intrinsic, Refusal, SpawnError, ThreadFailure, ThreadOutcome,
};
pub(crate) use store::{
    ExternIndex, HostBody, HostFunc, InstantiationFailure, StoreBox, StoreInner, StoreOpaque,
};
pub(crate) use table::Table;
pub(crate) use traphandlers::UnwindReason;
pub(crate) use vmcontext::{VMGlobalDefinition, VMVal};
