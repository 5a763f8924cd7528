//! The safe embedding API, shaped like wasmtime's: `Engine`, `Module`, `Store`, `Linker`,
//! `Instance`, `Func`/`TypedFunc`, `Memory`, `Global`, `Table`.
#![deny(unsafe_code)]

mod attach;
mod backtrace;
mod engine;
mod error;
mod explore;
mod externals;
mod func;
mod handoff;
mod host_sync;
mod instance;
mod linker;
mod module;
mod objects;
mod profiling;
mod races;
mod shared_caller;
mod store;
mod tags;
mod threads;
mod typed;
mod types;
mod values;
mod wasi_threads;

pub use attach::{AttachedThread, SharedFunc, SharedInstance, SharedTypedFunc, ThreadTerminator};
pub use backtrace::{FrameInfo, WasmBacktrace};
pub use engine::{Config, Engine};
pub use error::{
    CompileError, Error, InstantiationError, LinkError, ThreadError, Trap, UncaughtException,
    UsageError,
};
pub use explore::{
    BlockedThread, DEFAULT_LOOP_PERIOD, Schedule, ScheduleOperation, ScheduleReport, ScheduleStep,
    ScheduleStrategy,
};
pub use externals::{Extern, Global, Memory, SharedMemory, Table, WaitResult};
pub use func::{Caller, Func, HostFuncDef};
pub use handoff::{ThreadEntered, ThreadHandoff};
pub use instance::Instance;
pub use linker::Linker;
pub use module::Module;
pub use profiling::{ProfilingStrategy, perf_map_path};
pub use races::{DataRace, RacingAccess};
pub use shared_caller::{CallerMemory, SharedCaller};
pub use store::{AsContext, AsContextMut, Store, StoreContext, StoreContextMut};
pub use tags::Tag;
pub use threads::{Terminator, ThreadId, ThreadOutcome};
pub use typed::{HostResult, IntoFunc, IntoSharedFunc, TypedFunc, WasmParams, WasmResults, WasmTy};
pub use types::{
    AbstractHeapType, ConcreteKind, ConcreteType, ExportType, ExternType, FuncType, GlobalType,
    HeapType, ImportType, MemoryType, Mutability, RefType, TableType, TagType, ValType,
};
pub use values::{AnyRef, ExnRef, ExternRef, GcRef, I31, Val};
pub use wasi_threads::{
    THREAD_SPAWN_MODULE, THREAD_SPAWN_NAME, THREAD_START_EXPORT, WasiThreads, WasiThreadsModel,
};
pub use weft_threads::{
    Acquire, AlreadyHeld, BlockingGuard, CondvarWait, HostCondvar, HostMutex, Interrupted,
    PermitOverflow, Semaphore, UnlockError, begin_blocking,
};
