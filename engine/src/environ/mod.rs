//! The vocabulary shared by the compiler and the runtime: module metadata, the VMContext
//! layout, the libcall list and trap kinds. Nothing here generates code or touches raw
//! memory, so both sides can depend on it without depending on each other.
#![deny(unsafe_code)]

mod builtins;
mod canonical;
mod compiled;
pub mod gc;
pub mod i31;
mod module;
pub mod one_instance;
mod shared_validation;
pub mod thread_locals;
mod trap;
mod tunables;
mod types;
mod vmoffsets;

pub(crate) use builtins::foreach_builtin_function;
pub use builtins::{BuiltinIndex, BuiltinParam, code_location, split_location};
pub use canonical::{canonical_global, canonical_table};
pub use compiled::{
    CodeRange, CompiledCode, HandlerSite, HostTrampolineCode, INLINED, MutexFastPath,
    MutexFastPathCode, SourceSite,
};
pub(crate) use module::unsupported;
pub use module::{
    ConstExpr, ConstOp, DataKind, ElementKind, EntityIndex, ModuleInfo, WasmError,
    write_function_label,
};
pub use trap::{TrapKind, TrapSite};
pub use tunables::{BoundsChecks, MEMORY_GUARD_SIZE, MEMORY_RESERVATION, OptLevel, Tunables};
pub use types::{
    ModuleTypes, RTT_ANCESTORS, RTT_DEPTH, RTT_KIND, TypeHold, TypeKind, TypeRegistry,
};
pub use vmoffsets::{
    HOST_FUNC_MAGIC, VM_CONTEXT_MAGIC, VM_THREAD_CONTEXT_MAGIC, VMOffsets, VMVAL_SIZE,
};
