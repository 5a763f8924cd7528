//! The one definition of the VMContext layout and of the small structs JIT code reads.
//!
//! The compiler turns these offsets into loads; the runtime's `#[repr(C)]` structs in
//! `vm::vmcontext` must agree, and tests there check every field with `offset_of!`.
//!
//! Every wasm function receives two context pointers: the instance's VMContext, allocated once
//! per instance and shared by every thread that runs its code, and the running thread's
//! VMThreadContext (its *block*), of which each thread has one per instance it executes.
//!
//! ```text
//! VMContext (one per instance)
//!   0  magic: u32 (+4 padding)
//!   8  builtins: *const [fn; N]                 libcall table, see `builtins.rs`
//!  16  instance: *mut Instance                  runtime-private, for libcalls
//!  24  memories: [*mut VMMemoryDefinition; M]   imported and defined alike
//!      tables:   [*mut VMTableDefinition; T]
//!      globals:  [*mut VMGlobalDefinition; G]
//!      tags:     [*const VMTagDefinition; E]    a tag's identity is its definition's address
//!      funcrefs: [VMFuncRef; F]                 one per function index, imports first
//!
//! VMThreadContext (one per instance and thread; 16-byte aligned)
//!   0  magic: u32
//!   4  interrupt: u32                           non-zero: interrupted (the runtime reads it)
//!   8  stack_limit: usize                       lowest address this thread's wasm stack may use
//!  16  vmctx: *mut VMContext                    the instance this block serves
//!  24  record: *const ThreadRecord              runtime-private: the thread's other blocks
//!  32  thread_locals: [VMGlobalDefinition; L]   this thread's copies of `thread_local` globals
//! ```
//! Memories, tables and globals are reached through pointers even when the instance defines
//! them: shared entities live outside any one context, and a uniform access path keeps the
//! compiler free of import/definition special cases. A block's size depends only on how many
//! thread-local globals the module declares, so creating one costs the same for any module.

use super::ModuleInfo;

const _: () = assert!(
    size_of::<usize>() == 8,
    "weft's VMContext layout assumes 64-bit pointers"
);

/// Written at offset 0 of every VMContext, checked in debug builds when a context is entered.
pub const VM_CONTEXT_MAGIC: u32 = u32::from_le_bytes(*b"weft");

/// Written at offset 0 of every VMThreadContext.
pub const VM_THREAD_CONTEXT_MAGIC: u32 = u32::from_le_bytes(*b"thrd");

/// Marks a host function's context (`vm::VMHostFuncContext`), at the same place as the
/// VMContext's magic, so that a funcref's context can be told apart from a VMContext.
pub const HOST_FUNC_MAGIC: u32 = u32::from_le_bytes(*b"host");

/// Size of one value slot in the array-call ABI and of a global's storage.
pub const VMVAL_SIZE: u32 = 16;

const POINTER_SIZE: u32 = 8;

/// Offsets into a VMContext for one module, plus the fixed offsets of the small VM structs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VMOffsets {
    num_memories: u32,
    num_tables: u32,
    num_globals: u32,
    num_tags: u32,
    num_funcs: u32,
    num_thread_locals: u32,
}

impl VMOffsets {
    /// Layout for instances of `module`.
    pub fn new(module: &ModuleInfo) -> Self {
        let count = |n: usize| u32::try_from(n).expect("module entity counts fit in u32");
        VMOffsets {
            num_memories: count(module.memories.len()),
            num_tables: count(module.tables.len()),
            num_globals: count(module.globals.len()),
            num_tags: count(module.tags.len()),
            num_funcs: count(module.functions.len()),
            num_thread_locals: count(module.thread_locals.len()),
        }
    }

    // --- VMContext static prefix ---

    /// `VMContext::magic`.
    pub const fn vmctx_magic() -> u32 {
        0
    }

    /// `VMContext::builtins`.
    pub const fn vmctx_builtins() -> u32 {
        8
    }

    /// `VMContext::instance`: only the runtime reads it, to find the instance in libcalls.
    pub const fn vmctx_instance() -> u32 {
        16
    }

    /// Size of the static prefix; the per-module arrays start here.
    pub const fn vmctx_static_size() -> u32 {
        24
    }

    // --- VMContext per-module arrays ---

    /// Offset of the pointer to memory `index`'s definition.
    pub fn vmctx_memory_pointer(&self, index: u32) -> u32 {
        assert!(index < self.num_memories);
        Self::vmctx_static_size() + index * POINTER_SIZE
    }

    fn vmctx_tables_begin(&self) -> u32 {
        Self::vmctx_static_size() + self.num_memories * POINTER_SIZE
    }

    /// Offset of the pointer to table `index`'s definition.
    pub fn vmctx_table_pointer(&self, index: u32) -> u32 {
        assert!(index < self.num_tables);
        self.vmctx_tables_begin() + index * POINTER_SIZE
    }

    fn vmctx_globals_begin(&self) -> u32 {
        self.vmctx_tables_begin() + self.num_tables * POINTER_SIZE
    }

    /// Offset of the pointer to global `index`'s storage.
    pub fn vmctx_global_pointer(&self, index: u32) -> u32 {
        assert!(index < self.num_globals);
        self.vmctx_globals_begin() + index * POINTER_SIZE
    }

    fn vmctx_tags_begin(&self) -> u32 {
        self.vmctx_globals_begin() + self.num_globals * POINTER_SIZE
    }

    /// Offset of the pointer to tag `index`'s definition.
    pub fn vmctx_tag_pointer(&self, index: u32) -> u32 {
        assert!(index < self.num_tags);
        self.vmctx_tags_begin() + index * POINTER_SIZE
    }

    fn vmctx_funcrefs_begin(&self) -> u32 {
        self.vmctx_tags_begin() + self.num_tags * POINTER_SIZE
    }

    /// Offset of the `VMFuncRef` of function `index`.
    pub fn vmctx_funcref(&self, index: u32) -> u32 {
        assert!(index < self.num_funcs);
        self.vmctx_funcrefs_begin() + index * Self::size_of_vmfuncref()
    }

    /// Total size of a VMContext for this module.
    pub fn size_of_vmctx(&self) -> u32 {
        self.vmctx_funcrefs_begin() + self.num_funcs * Self::size_of_vmfuncref()
    }

    // --- VMThreadContext ---

    /// `VMThreadContext::magic`. JIT code never reads it, so only the layout tests need
    /// this offset.
    #[cfg(test)]
    pub const fn thread_magic() -> u32 {
        0
    }

    /// `VMThreadContext::interrupt`. JIT code never reads it (an interrupt reaches it through
    /// the stack limit or a nudge), so only the layout tests need this offset.
    #[cfg(test)]
    pub const fn thread_interrupt() -> u32 {
        4
    }

    /// `VMThreadContext::stack_limit`: JIT prologues trap when the stack pointer drops below it.
    pub const fn thread_stack_limit() -> u32 {
        8
    }

    /// `VMThreadContext::vmctx`; for the layout tests, as JIT code never reads it.
    #[cfg(test)]
    pub const fn thread_vmctx() -> u32 {
        16
    }

    /// `VMThreadContext::record`: the thread's record, where JIT code finds its fuel.
    pub const fn thread_record() -> u32 {
        24
    }

    // --- VMThreadRecord ---

    /// `VMThreadRecord::fuel`: what the thread may still run, in operators; JIT code
    /// subtracts what it ran and traps at a safepoint when it is negative.
    pub const fn record_fuel() -> u32 {
        0
    }

    /// `VMThreadRecord::lock_token`.
    pub const fn record_lock_token() -> u32 {
        8
    }

    /// Size of the block's static prefix; thread-local global slots start here.
    pub const fn thread_static_size() -> u32 {
        32
    }

    /// Offset of the slot holding this thread's copy of the `slot`-th thread-local global.
    pub fn thread_local_slot(&self, slot: u32) -> u32 {
        assert!(slot < self.num_thread_locals);
        Self::thread_static_size() + slot * VMVAL_SIZE
    }

    /// Total size of a VMThreadContext for this module.
    pub fn size_of_thread_context(&self) -> u32 {
        Self::thread_static_size() + self.num_thread_locals * VMVAL_SIZE
    }

    // --- VMMemoryDefinition ---

    /// `VMMemoryDefinition::base`; never changes for the memory's lifetime.
    pub const fn memory_base() -> u32 {
        0
    }

    /// `VMMemoryDefinition::current_length`, in bytes.
    pub const fn memory_current_length() -> u32 {
        8
    }

    /// Size of `VMMemoryDefinition`; for the layout tests (JIT code reaches memories
    /// through pointers, never by stepping over an array of definitions).
    #[cfg(test)]
    pub const fn size_of_memory_definition() -> u32 {
        16
    }

    // --- VMTableDefinition ---

    /// `VMTableDefinition::base`: pointer to the pointer-sized elements, which never move.
    pub const fn table_base() -> u32 {
        0
    }

    /// `VMTableDefinition::current_elements`.
    pub const fn table_current_elements() -> u32 {
        8
    }

    /// Size of `VMTableDefinition`; for the layout tests, as for memories.
    #[cfg(test)]
    pub const fn size_of_table_definition() -> u32 {
        16
    }

    /// Size of one table element (a nullable `*const VMFuncRef`, or an externref handle).
    pub const fn size_of_table_element() -> u32 {
        POINTER_SIZE
    }

    // --- VMFuncRef ---

    /// `VMFuncRef::wasm_call`: code with the wasm calling convention.
    pub const fn funcref_wasm_call() -> u32 {
        0
    }

    /// `VMFuncRef::vmctx`: the callee's context, passed as its first argument.
    pub const fn funcref_vmctx() -> u32 {
        8
    }

    /// `VMFuncRef::type_index`: engine-wide signature id, compared by `call_indirect`.
    pub const fn funcref_type_index() -> u32 {
        16
    }

    /// Size of `VMFuncRef`.
    pub const fn size_of_vmfuncref() -> u32 {
        24
    }

    // --- VMHostFuncContext ---

    /// `VMHostFuncContext::entry`: the Rust function a host-call trampoline calls.
    pub const fn host_func_entry() -> u32 {
        8
    }

    /// `VMHostFuncContext::fast_word`: after the entry and the 24-byte funcref.
    pub const fn host_func_fast_word() -> u32 {
        40
    }

    /// `VMHostFuncContext::slow_call`.
    pub const fn host_func_slow_call() -> u32 {
        48
    }

    /// `VMHostFuncContext::throw`: where a host-call trampoline sends the exception its host
    /// function threw.
    pub const fn host_func_throw() -> u32 {
        56
    }
}
