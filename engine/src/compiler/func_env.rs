//! Everything generated code needs to know about the VMContext layout and the libcalls: how a
//! function reaches globals, memories, tables, other functions and the builtins from its
//! vmctx. The operator translator stays ignorant of offsets and calls in here instead.

use super::abi::{func_signature, value_type, value_types};
use super::traps::trap_code;
use crate::environ::gc::{EXCEPTION_TAG_OFFSET, exception_slot_offset};
use crate::environ::{
    BoundsChecks, BuiltinIndex, BuiltinParam, HOST_FUNC_MAGIC, MEMORY_GUARD_SIZE, ModuleInfo,
    ModuleTypes, RTT_DEPTH, TrapKind, Tunables, VMOffsets,
};
use cranelift_codegen::ir::{
    self, AbiParam, Block, BlockArg, Endianness, ExceptionTableData, ExceptionTableItem, FuncRef,
    GlobalValueData, InstBuilder, MemFlagsData, SigRef, Signature, TrapCode, Type, Value,
    condcodes::IntCC, types::I8, types::I32, types::I64,
};
use cranelift_codegen::isa::{CallConv, TargetFrontendConfig};
use cranelift_frontend::FunctionBuilder;
use cranelift_module::FuncId;
use std::collections::HashMap;
use weft_threads::Operation;

/// Pointers inside the VMContext and the definitions it points to that never change while
/// an instance exists (memory bases included: memories never move).
const VM_CONSTANT: MemFlagsData = MemFlagsData::trusted().with_readonly().with_can_move();

/// Fields that are valid to read but may change at any call (lengths, table bases, mutable
/// globals).
const VM_MUTABLE: MemFlagsData = MemFlagsData::trusted();

/// Fields of a `VMFuncRef`, which never change. Not movable: a funcref read from a table is
/// only known to be non-null after the check that dominates these loads.
const FUNCREF: MemFlagsData = MemFlagsData::trusted().with_readonly();

/// Linear-memory accesses: wasm is little-endian, and an access past the end faults in a
/// guard page, which the runtime reports as an out-of-bounds access.
const HEAP: MemFlagsData = MemFlagsData::new()
    .with_endianness(Endianness::Little)
    .with_trap_code(Some(TrapCode::HEAP_OUT_OF_BOUNDS));

/// Atomic linear-memory accesses, which are only emitted after explicit alignment and bounds
/// checks: they cannot fault (memories never move or shrink), so they record no trap site.
const ATOMIC_HEAP: MemFlagsData = MemFlagsData::new()
    .with_endianness(Endianness::Little)
    .with_aligned()
    .with_notrap();

/// Exception objects: allocated before they are thrown, filled once, then only read.
const EXCEPTION: MemFlagsData = MemFlagsData::trusted();

/// The `user_id` of the linear-memory alias region, the one region weft names.
const HEAP_REGION_ID: u32 = 0;

/// An address, size or count operand as the 64-bit value that bounds checks and builtins
/// take: an i32 (of a 32-bit memory or table) zero-extended, an i64 (memory64, table64) as
/// it is.
fn widen(b: &mut FunctionBuilder, value: Value) -> Value {
    if b.func.dfg.value_type(value) == I32 {
        b.ins().uextend(I64, value)
    } else {
        value
    }
}

/// A size or old size from a builtin, wrapped to the operator's type: i32 for a 32-bit
/// memory or table (the builtin's -1 stays -1), i64 for a 64-bit one.
fn narrow(b: &mut FunctionBuilder, value: Value, is_64: bool) -> Value {
    if is_64 {
        value
    } else {
        b.ins().ireduce(I32, value)
    }
}

/// `x + y`, trapping as an out-of-bounds memory access where the sum wraps, which only a
/// 64-bit address (memory64) can make it do.
fn add_in_bounds(b: &mut FunctionBuilder, x: Value, y: Value) -> Value {
    b.ins()
        .uadd_overflow_trap(x, y, trap_code(TrapKind::MemoryOutOfBounds))
}

/// Whether a call returns to its caller, or replaces the caller's frame and returns
/// straight to the caller's caller (`return_call*`, with Cranelift's tail calling
/// convention on both sides).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum CallKind {
    /// A call that returns. Inside a `try_table` it is a `try_call`: an exception thrown out
    /// of the callee lands at `handler`, whose one parameter is the exnref.
    Plain {
        handler: Option<Block>,
    },
    Tail,
}

/// What a call calls: a function of this code by reference, or code at an address.
#[derive(Copy, Clone)]
enum CallTarget {
    Direct(FuncRef),
    Indirect(SigRef, Value),
}

/// A call of `target` of the given kind: its results, none for a tail call.
fn emit_call(
    b: &mut FunctionBuilder,
    kind: CallKind,
    target: CallTarget,
    args: &[Value],
) -> Vec<Value> {
    match (kind, target) {
        (CallKind::Plain { handler: None }, CallTarget::Direct(func_ref)) => {
            let call = b.ins().call(func_ref, args);
            b.inst_results(call).to_vec()
        }
        (CallKind::Plain { handler: None }, CallTarget::Indirect(sig, code)) => {
            let call = b.ins().call_indirect(sig, code, args);
            b.inst_results(call).to_vec()
        }
        (
            CallKind::Plain {
                handler: Some(handler),
            },
            target,
        ) => {
            let sig = match target {
                CallTarget::Direct(func_ref) => b.func.dfg.ext_funcs[func_ref].signature,
                CallTarget::Indirect(sig, _) => sig,
            };
            let returns: Vec<Type> = b.func.dfg.signatures[sig]
                .returns
                .iter()
                .map(|param| param.value_type)
                .collect();
            let returned = b.create_block();
            for &ty in &returns {
                b.append_block_param(returned, ty);
            }
            let results: Vec<BlockArg> = (0..returns.len() as u32)
                .map(BlockArg::TryCallRet)
                .collect();
            let normal = b.func.dfg.block_call(returned, &results);
            let caught = b.func.dfg.block_call(handler, &[BlockArg::TryCallExn(0)]);
            let table = b.func.dfg.exception_tables.push(ExceptionTableData::new(
                sig,
                normal,
                [ExceptionTableItem::Default(caught)],
            ));
            match target {
                CallTarget::Direct(func_ref) => b.ins().try_call(func_ref, args, table),
                CallTarget::Indirect(_, code) => b.ins().try_call_indirect(code, args, table),
            };
            b.seal_block(returned);
            b.switch_to_block(returned);
            b.block_params(returned).to_vec()
        }
        (CallKind::Tail, CallTarget::Direct(func_ref)) => {
            b.ins().return_call(func_ref, args);
            Vec::new()
        }
        (CallKind::Tail, CallTarget::Indirect(sig, code)) => {
            b.ins().return_call_indirect(sig, code, args);
            Vec::new()
        }
    }
}

/// What every function of one module shares during compilation.
pub(crate) struct ModuleEnv<'a> {
    pub(crate) module: &'a ModuleInfo,
    pub(crate) offsets: VMOffsets,
    /// Engine-wide id and runtime descriptor of each type index.
    pub(crate) types: &'a ModuleTypes,
    pub(crate) tunables: &'a Tunables,
    /// Wasm-ABI signature of each type index that is a function type.
    pub(crate) signatures: Vec<Option<Signature>>,
    /// Declarations of the defined functions, for direct calls.
    pub(crate) func_ids: Vec<FuncId>,
    /// The platform's C convention, which builtins (Rust `extern "C"` functions) use.
    pub(crate) native_call_conv: CallConv,
    /// The target as calls into libc (`memmove`) see it: pointer width and C convention.
    pub(crate) libc_target: TargetFrontendConfig,
}

/// The per-function view of a [`ModuleEnv`], caching what the function imports.
pub(crate) struct FuncEnv<'a, 'm> {
    env: &'a ModuleEnv<'m>,
    /// The alias region of linear-memory accesses: no VM structure lies in a linear memory,
    /// so a store to one leaves Cranelift free to reuse loaded globals, lengths and bases
    /// (an access without a region is treated as touching everything).
    heap_region: ir::AliasRegion,
    vmctx: Value,
    thread: Value,
    signatures: HashMap<u32, SigRef>,
    functions: HashMap<u32, FuncRef>,
    builtins: HashMap<u32, SigRef>,
}

/// Makes `func`'s prologue trap with a stack overflow when the stack pointer is below the
/// limit in the running thread's block, which the runtime sets when the thread enters wasm,
/// and to a limit above every stack when it interrupts the thread: one load and compare serve both, and
/// the runtime reports the trap of an interrupted thread as `Interrupted`.
pub(crate) fn install_stack_limit(func: &mut ir::Function) {
    let thread = func.create_global_value(GlobalValueData::VMContext);
    let mutable = func.dfg.mem_flags.insert_unchecked(VM_MUTABLE);
    let limit = func.create_global_value(GlobalValueData::Load {
        base: thread,
        offset: offset32(VMOffsets::thread_stack_limit()),
        global_type: I64,
        flags: mutable,
    });
    func.stack_limit = Some(limit);
}

fn offset32(offset: u32) -> ir::immediates::Offset32 {
    i32::try_from(offset)
        .expect("static VMContext fields are at small offsets")
        .into()
}

/// The signature of a builtin, derived from the one list of builtins.
fn builtin_signature(builtin: BuiltinIndex, call_conv: CallConv) -> Signature {
    let mut sig = Signature::new(call_conv);
    for param in builtin.params() {
        let ty = match param {
            BuiltinParam::VmCtx
            | BuiltinParam::Thread
            | BuiltinParam::I64
            | BuiltinParam::Pointer => I64,
            BuiltinParam::I32 => I32,
        };
        sig.params.push(AbiParam::new(ty));
    }
    match builtin.result() {
        Some(BuiltinParam::I32) => sig.returns.push(AbiParam::new(I32)),
        Some(_) => sig.returns.push(AbiParam::new(I64)),
        None => {}
    }
    sig
}

impl<'a, 'm> FuncEnv<'a, 'm> {
    /// `regions` is the function's set of alias regions, where the linear memories get
    /// theirs.
    pub(crate) fn new(
        env: &'a ModuleEnv<'m>,
        regions: &mut ir::AliasRegionSet,
        vmctx: Value,
        thread: Value,
    ) -> Self {
        FuncEnv {
            env,
            heap_region: regions.insert(ir::AliasRegionData {
                user_id: HEAP_REGION_ID,
                description: "linear memory".into(),
            }),
            vmctx,
            thread,
            signatures: HashMap::new(),
            functions: HashMap::new(),
            builtins: HashMap::new(),
        }
    }

    pub(crate) fn module(&self) -> &'m ModuleInfo {
        self.env.module
    }

    /// Loads a `ty` at `base + offset`; the offset may exceed Cranelift's 31-bit immediates.
    fn load_at(
        b: &mut FunctionBuilder,
        ty: Type,
        flags: MemFlagsData,
        base: Value,
        offset: u32,
    ) -> Value {
        match i32::try_from(offset) {
            Ok(offset) => b.ins().load(ty, flags, base, offset),
            Err(_) => {
                let address = b.ins().iadd_imm_u(base, i64::from(offset));
                b.ins().load(ty, flags, address, 0)
            }
        }
    }

    /// Stores `value` at `base + offset`, like [`FuncEnv::load_at`].
    fn store_at(
        b: &mut FunctionBuilder,
        flags: MemFlagsData,
        value: Value,
        base: Value,
        offset: u32,
    ) {
        match i32::try_from(offset) {
            Ok(offset) => {
                b.ins().store(flags, value, base, offset);
            }
            Err(_) => {
                let address = b.ins().iadd_imm_u(base, i64::from(offset));
                b.ins().store(flags, value, address, 0);
            }
        }
    }

    fn vmctx_address(&self, b: &mut FunctionBuilder, offset: u32) -> Value {
        b.ins().iadd_imm_u(self.vmctx, i64::from(offset))
    }

    // --- globals ---

    /// Where global `global` lives, as a base and an offset from it: a thread-local global
    /// is a slot in the running thread's block, any other global is reached through the
    /// pointer in the VMContext.
    fn global_location(&self, b: &mut FunctionBuilder, global: u32) -> (Value, u32) {
        match self.env.module.thread_local_slot(global) {
            Some(slot) => (self.thread, self.env.offsets.thread_local_slot(slot)),
            None => {
                let offset = self.env.offsets.vmctx_global_pointer(global);
                (Self::load_at(b, I64, VM_CONSTANT, self.vmctx, offset), 0)
            }
        }
    }

    fn global_pointer(&self, b: &mut FunctionBuilder, global: u32) -> Value {
        match self.global_location(b, global) {
            (base, 0) => base,
            (base, offset) => b.ins().iadd_imm_u(base, i64::from(offset)),
        }
    }

    /// The address of global `global`'s storage, for atomic instructions on it. The storage
    /// is 16-byte aligned, so every atomic width is naturally aligned there.
    pub(crate) fn global_address(&self, b: &mut FunctionBuilder, global: u32) -> Value {
        self.global_pointer(b, global)
    }

    /// Flags for atomic accesses to VM-owned storage such as globals: always valid and
    /// aligned, so they cannot trap.
    pub(crate) fn atomic_vm_flags(&self) -> MemFlagsData {
        VM_MUTABLE
    }

    /// Whether plain accesses to `global` must be single 16-byte atomics: a mutable shared
    /// v128 global, which other threads may write while this one reads. No Cranelift
    /// instruction does that on every target, so a libcall does. A thread-local one is
    /// private to its thread and needs nothing.
    fn is_untearable_v128(&self, global: u32) -> bool {
        self.is_contended_global(global)
            && self.env.module.globals[global as usize].content_type == wasmparser::ValType::V128
    }

    /// Whether other threads may access `global` while this one does: it is mutable, shared
    /// and not thread-local.
    fn is_contended_global(&self, global: u32) -> bool {
        let ty = &self.env.module.globals[global as usize];
        ty.shared && ty.mutable && self.env.module.thread_local_slot(global).is_none()
    }

    /// A 16-byte aligned stack slot that passes a v128 to or from a libcall.
    fn v128_scratch(b: &mut FunctionBuilder) -> ir::StackSlot {
        b.create_sized_stack_slot(ir::StackSlotData::new(
            ir::StackSlotKind::ExplicitSlot,
            16,
            4,
        ))
    }

    /// A thread-local global is one load from the thread's block; any other global one
    /// load through its pointer.
    pub(crate) fn global_get(&mut self, b: &mut FunctionBuilder, global: u32, ty: Type) -> Value {
        if self.is_untearable_v128(global) {
            let slot = Self::v128_scratch(b);
            let (pointer, out) = (
                self.global_pointer(b, global),
                b.ins().stack_addr(I64, slot, 0),
            );
            self.call_builtin(b, BuiltinIndex::shared_v128_load, &[pointer, out]);
            return Self::load_at(b, ty, VM_MUTABLE, out, 0);
        }
        let (base, offset) = self.global_location(b, global);
        // Immutable globals are written once, before any code of the instance runs.
        let flags = if self.env.module.globals[global as usize].mutable {
            VM_MUTABLE
        } else {
            VM_CONSTANT
        };
        Self::load_at(b, ty, flags, base, offset)
    }

    pub(crate) fn global_set(&mut self, b: &mut FunctionBuilder, global: u32, value: Value) {
        if self.is_untearable_v128(global) {
            let slot = Self::v128_scratch(b);
            let src = b.ins().stack_addr(I64, slot, 0);
            Self::store_at(b, VM_MUTABLE, value, src, 0);
            let pointer = self.global_pointer(b, global);
            self.call_builtin(b, BuiltinIndex::shared_v128_store, &[pointer, src]);
            return;
        }
        let (base, offset) = self.global_location(b, global);
        Self::store_at(b, VM_MUTABLE, value, base, offset);
    }

    // --- linear memories ---

    fn memory_definition(&self, b: &mut FunctionBuilder, memory: u32) -> Value {
        let offset = self.env.offsets.vmctx_memory_pointer(memory);
        Self::load_at(b, I64, VM_CONSTANT, self.vmctx, offset)
    }

    fn memory_length(b: &mut FunctionBuilder, definition: Value) -> Value {
        let offset = VMOffsets::memory_current_length();
        Self::load_at(b, I64, VM_MUTABLE, definition, offset)
    }

    /// The address of a `size`-byte access at `index + offset` in `memory`, bounds-checked,
    /// as a base value and an immediate offset for the load or store instruction.
    pub(crate) fn heap_address(
        &self,
        b: &mut FunctionBuilder,
        memory: u32,
        index: Value,
        offset: u64,
        size: u32,
    ) -> (Value, i32) {
        let index = widen(b, index);
        // Only a 64-bit memory's offset can come this close to 2^64; an access that ends past
        // it is out of bounds however it is rounded.
        let end = offset.saturating_add(u64::from(size));
        // A 32-bit index plus a static offset within the guard region can only land in the
        // reservation or the guard pages, where the hardware catches it. A 64-bit index can
        // land anywhere, so a 64-bit memory is always checked.
        let needs_check = match self.env.tunables.bounds_checks {
            BoundsChecks::GuardPages => self.is_memory64(memory) || end > MEMORY_GUARD_SIZE,
            BoundsChecks::Explicit => true,
        };
        let base = self.checked_heap_base(b, memory, index, end, needs_check);
        let address = b.ins().iadd(base, index);
        match i32::try_from(offset) {
            Ok(offset) => (address, offset),
            Err(_) => (b.ins().iadd_imm_u(address, offset as i64), 0),
        }
    }

    /// The address of an atomic `size`-byte access at `index + offset` in `memory`, in the
    /// threads proposal's order: the effective address is computed without wrapping, traps as
    /// unaligned unless it is a multiple of `size`, and then as out of bounds unless the
    /// access fits the memory's current length. The bounds check is always explicit: atomic
    /// instructions may be lowered to loops, and a fault in the middle of one is not a trap
    /// this runtime wants to reason about.
    ///
    /// Returns the native address and the effective address (the byte offset in `memory`).
    pub(crate) fn atomic_heap_address(
        &self,
        b: &mut FunctionBuilder,
        memory: u32,
        index: Value,
        offset: u64,
        size: u32,
    ) -> (Value, Value) {
        debug_assert!(size.is_power_of_two());
        let index = widen(b, index);
        let effective = self.address_plus(b, memory, index, offset);
        if size > 1 {
            let misaligned = b.ins().band_imm_u(effective, i64::from(size - 1));
            b.ins()
                .trapnz(misaligned, trap_code(TrapKind::UnalignedAtomic));
        }
        let base = self.checked_heap_base(b, memory, effective, u64::from(size), true);
        (b.ins().iadd(base, effective), effective)
    }

    /// The base of `memory`, after trapping with an out-of-bounds access if `check` is set
    /// and the access ending `end` bytes after the 64-bit `index` exceeds the memory's length.
    fn checked_heap_base(
        &self,
        b: &mut FunctionBuilder,
        memory: u32,
        index: Value,
        end: u64,
        check: bool,
    ) -> Value {
        let definition = self.memory_definition(b, memory);
        let base = Self::load_at(b, I64, VM_CONSTANT, definition, VMOffsets::memory_base());
        if check {
            // A plain length read even on a shared memory: a stale, smaller length only makes
            // the check stricter, and memories never shrink.
            let length = Self::memory_length(b, definition);
            let access_end = self.address_plus(b, memory, index, end);
            let out_of_bounds = b.ins().icmp(IntCC::UnsignedGreaterThan, access_end, length);
            b.ins()
                .trapnz(out_of_bounds, trap_code(TrapKind::MemoryOutOfBounds));
        }
        base
    }

    /// `address + bytes` in `memory`: a plain add for a 32-bit memory, where neither can
    /// reach 2^33, and one that traps as out of bounds where it wraps for a 64-bit memory.
    fn address_plus(
        &self,
        b: &mut FunctionBuilder,
        memory: u32,
        address: Value,
        bytes: u64,
    ) -> Value {
        if self.is_memory64(memory) {
            let bytes = b.ins().iconst(I64, bytes as i64);
            add_in_bounds(b, address, bytes)
        } else {
            b.ins().iadd_imm_u(address, bytes as i64)
        }
    }

    /// Flags for the load or store at a [`heap_address`](Self::heap_address).
    pub(crate) fn heap_flags(&self) -> MemFlagsData {
        HEAP.with_alias_region(Some(self.heap_region))
    }

    /// Flags for the atomic instruction at an [`atomic_heap_address`](Self::atomic_heap_address).
    pub(crate) fn atomic_heap_flags(&self) -> MemFlagsData {
        ATOMIC_HEAP.with_alias_region(Some(self.heap_region))
    }

    /// Whether `memory` takes 64-bit addresses (memory64).
    pub(crate) fn is_memory64(&self, memory: u32) -> bool {
        self.env.module.memories[memory as usize].memory64
    }

    /// Whether `table` takes 64-bit indices (table64).
    fn is_table64(&self, table: u32) -> bool {
        self.env.module.tables[table as usize].table64
    }

    /// Whether `memory` is shared between threads.
    pub(crate) fn is_shared_memory(&self, memory: u32) -> bool {
        self.env.module.memories[memory as usize].shared
    }

    pub(crate) fn memory_size(&self, b: &mut FunctionBuilder, memory: u32) -> Value {
        let definition = self.memory_definition(b, memory);
        let length = if self.is_shared_memory(memory) {
            // `memory.size` of a shared memory is a sequentially consistent read of its length,
            // which other threads may grow at any time.
            let offset = VMOffsets::memory_current_length();
            let address = b.ins().iadd_imm_u(definition, i64::from(offset));
            b.ins().atomic_load(I64, VM_MUTABLE, address)
        } else {
            Self::memory_length(b, definition)
        };
        let pages = b.ins().ushr_imm_u(length, 16);
        narrow(b, pages, self.is_memory64(memory))
    }

    pub(crate) fn memory_grow(
        &mut self,
        b: &mut FunctionBuilder,
        memory: u32,
        delta: Value,
    ) -> Value {
        let is_64 = self.is_memory64(memory);
        let memory = b.ins().iconst(I32, i64::from(memory));
        let delta = widen(b, delta);
        let old = self
            .call_builtin(b, BuiltinIndex::memory_grow, &[memory, delta])
            .expect("memory_grow returns the old size");
        narrow(b, old, is_64)
    }

    pub(crate) fn memory_fill(
        &mut self,
        b: &mut FunctionBuilder,
        memory: u32,
        [dst, value, len]: [Value; 3],
    ) {
        let (dst, len) = (widen(b, dst), widen(b, len));
        if !self.is_shared_memory(memory) {
            let (base, length) = self.memory_base_and_length(b, memory);
            let dst = Self::checked_range(b, base, length, dst, len);
            let byte = b.ins().ireduce(I8, value);
            b.call_memset(self.env.libc_target, dst, byte, len);
            return;
        }
        let memory = b.ins().iconst(I32, i64::from(memory));
        let args = [memory, dst, value, len];
        self.call_trapping_builtin(
            b,
            BuiltinIndex::memory_fill,
            &args,
            TrapKind::MemoryOutOfBounds,
        );
    }

    pub(crate) fn memory_copy(
        &mut self,
        b: &mut FunctionBuilder,
        dst_memory: u32,
        src_memory: u32,
        [dst, src, len]: [Value; 3],
    ) {
        let [dst, src, len] = [dst, src, len].map(|value| widen(b, value));
        if dst_memory == src_memory && !self.is_shared_memory(dst_memory) {
            self.memory_copy_within(b, dst_memory, [dst, src, len]);
            return;
        }
        let dst_memory = b.ins().iconst(I32, i64::from(dst_memory));
        let src_memory = b.ins().iconst(I32, i64::from(src_memory));
        let args = [dst_memory, src_memory, dst, src, len];
        self.call_trapping_builtin(
            b,
            BuiltinIndex::memory_copy,
            &args,
            TrapKind::MemoryOutOfBounds,
        );
    }

    /// `memory.copy` within one unshared memory, the form compilers emit for `memmove`: both
    /// ranges checked here, then libc's `memmove` on the native addresses, with no runtime
    /// call in between (`memory.fill` likewise calls `memset`). A shared memory's copy must
    /// not tear bytes another thread reads, and one between two memories is rare: both go
    /// through the `memory_copy` builtin.
    fn memory_copy_within(
        &mut self,
        b: &mut FunctionBuilder,
        memory: u32,
        [dst, src, len]: [Value; 3],
    ) {
        let (base, length) = self.memory_base_and_length(b, memory);
        // Both ranges are checked before any byte moves, as the bulk-memory proposal requires.
        let dst = Self::checked_range(b, base, length, dst, len);
        let src = Self::checked_range(b, base, length, src, len);
        b.call_memmove(self.env.libc_target, dst, src, len);
    }

    /// The base and current length of `memory`.
    fn memory_base_and_length(&self, b: &mut FunctionBuilder, memory: u32) -> (Value, Value) {
        let definition = self.memory_definition(b, memory);
        let base = Self::load_at(b, I64, VM_CONSTANT, definition, VMOffsets::memory_base());
        (base, Self::memory_length(b, definition))
    }

    /// The native address of the `len` bytes at `index` (both 64-bit) of the memory at
    /// `base` whose length is `length`, after trapping if they do not all fit.
    fn checked_range(
        b: &mut FunctionBuilder,
        base: Value,
        length: Value,
        index: Value,
        len: Value,
    ) -> Value {
        let end = add_in_bounds(b, index, len);
        let out_of_bounds = b.ins().icmp(IntCC::UnsignedGreaterThan, end, length);
        b.ins()
            .trapnz(out_of_bounds, trap_code(TrapKind::MemoryOutOfBounds));
        b.ins().iadd(base, index)
    }

    pub(crate) fn memory_init(
        &mut self,
        b: &mut FunctionBuilder,
        memory: u32,
        data: u32,
        [dst, src, len]: [Value; 3],
    ) {
        let memory = b.ins().iconst(I32, i64::from(memory));
        let data = b.ins().iconst(I32, i64::from(data));
        let dst = widen(b, dst);
        let args = [memory, data, dst, src, len];
        self.call_trapping_builtin(
            b,
            BuiltinIndex::memory_init,
            &args,
            TrapKind::MemoryOutOfBounds,
        );
    }

    /// `memory.atomic.notify` on a shared memory, at an effective address that is already
    /// checked: the number of waiters woken.
    pub(crate) fn memory_atomic_notify(
        &mut self,
        b: &mut FunctionBuilder,
        memory: u32,
        effective: Value,
        count: Value,
    ) -> Value {
        let memory = b.ins().iconst(I32, i64::from(memory));
        self.call_builtin(
            b,
            BuiltinIndex::memory_atomic_notify,
            &[memory, effective, count],
        )
        .expect("memory_atomic_notify returns the number woken")
    }

    /// `memory.atomic.wait32` or `wait64` (after the type of `expected`) on a shared memory,
    /// at an effective address that is already checked: 0 (woken), 1 (not equal) or 2 (timed
    /// out).
    pub(crate) fn memory_atomic_wait(
        &mut self,
        b: &mut FunctionBuilder,
        memory: u32,
        effective: Value,
        expected: Value,
        timeout: Value,
    ) -> Value {
        let builtin = if b.func.dfg.value_type(expected) == I64 {
            BuiltinIndex::memory_atomic_wait64
        } else {
            BuiltinIndex::memory_atomic_wait32
        };
        let memory = b.ins().iconst(I32, i64::from(memory));
        let outcome = self
            .call_builtin(b, builtin, &[memory, effective, expected, timeout])
            .expect("memory_atomic_wait returns its outcome");
        let interrupted = b.ins().icmp_imm_u(IntCC::Equal, outcome, 3);
        b.ins()
            .trapnz(interrupted, trap_code(TrapKind::Interrupted));
        outcome
    }

    pub(crate) fn data_drop(&mut self, b: &mut FunctionBuilder, data: u32) {
        let data = b.ins().iconst(I32, i64::from(data));
        self.call_builtin(b, BuiltinIndex::data_drop, &[data]);
    }

    // --- tables ---

    fn table_definition(&self, b: &mut FunctionBuilder, table: u32) -> Value {
        let offset = self.env.offsets.vmctx_table_pointer(table);
        Self::load_at(b, I64, VM_CONSTANT, self.vmctx, offset)
    }

    fn table_length(b: &mut FunctionBuilder, definition: Value) -> Value {
        let offset = VMOffsets::table_current_elements();
        Self::load_at(b, I64, VM_MUTABLE, definition, offset)
    }

    /// The address of element `index` of `table`, trapping with `kind` when it is out of
    /// bounds.
    fn table_element_address(
        &self,
        b: &mut FunctionBuilder,
        table: u32,
        index: Value,
        kind: TrapKind,
    ) -> Value {
        let definition = self.table_definition(b, table);
        let length = Self::table_length(b, definition);
        let index = widen(b, index);
        let out_of_bounds = b
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index, length);
        b.ins().trapnz(out_of_bounds, trap_code(kind));
        // Tables never move their elements (`vm::table`), so the base is a constant.
        let base = Self::load_at(b, I64, VM_CONSTANT, definition, VMOffsets::table_base());
        let element_size = i64::from(VMOffsets::size_of_table_element());
        let byte_offset = b.ins().imul_imm_u(index, element_size);
        b.ins().iadd(base, byte_offset)
    }

    /// The bounds-checked address of element `index` of `table`, for atomic instructions on
    /// it. Elements are pointer-sized and pointer-aligned, so word atomics apply directly.
    pub(crate) fn table_atomic_address(
        &self,
        b: &mut FunctionBuilder,
        table: u32,
        index: Value,
    ) -> Value {
        self.table_element_address(b, table, index, TrapKind::TableOutOfBounds)
    }

    pub(crate) fn table_get(&self, b: &mut FunctionBuilder, table: u32, index: Value) -> Value {
        let address = self.table_element_address(b, table, index, TrapKind::TableOutOfBounds);
        b.ins().load(I64, VM_MUTABLE, address, 0)
    }

    pub(crate) fn table_set(
        &self,
        b: &mut FunctionBuilder,
        table: u32,
        index: Value,
        value: Value,
    ) {
        let address = self.table_element_address(b, table, index, TrapKind::TableOutOfBounds);
        b.ins().store(VM_MUTABLE, value, address, 0);
    }

    pub(crate) fn table_size(&self, b: &mut FunctionBuilder, table: u32) -> Value {
        let definition = self.table_definition(b, table);
        let length = Self::table_length(b, definition);
        narrow(b, length, self.is_table64(table))
    }

    pub(crate) fn table_grow(
        &mut self,
        b: &mut FunctionBuilder,
        table: u32,
        init: Value,
        delta: Value,
    ) -> Value {
        let is_64 = self.is_table64(table);
        let table = b.ins().iconst(I32, i64::from(table));
        let delta = widen(b, delta);
        let old = self
            .call_builtin(b, BuiltinIndex::table_grow, &[table, init, delta])
            .expect("table_grow returns the old size");
        narrow(b, old, is_64)
    }

    pub(crate) fn table_fill(
        &mut self,
        b: &mut FunctionBuilder,
        table: u32,
        [dst, value, len]: [Value; 3],
    ) {
        let table = b.ins().iconst(I32, i64::from(table));
        let (dst, len) = (widen(b, dst), widen(b, len));
        let args = [table, dst, value, len];
        self.call_trapping_builtin(
            b,
            BuiltinIndex::table_fill,
            &args,
            TrapKind::TableOutOfBounds,
        );
    }

    pub(crate) fn table_copy(
        &mut self,
        b: &mut FunctionBuilder,
        dst_table: u32,
        src_table: u32,
        [dst, src, len]: [Value; 3],
    ) {
        let dst_table = b.ins().iconst(I32, i64::from(dst_table));
        let src_table = b.ins().iconst(I32, i64::from(src_table));
        let [dst, src, len] = [dst, src, len].map(|value| widen(b, value));
        let args = [dst_table, src_table, dst, src, len];
        self.call_trapping_builtin(
            b,
            BuiltinIndex::table_copy,
            &args,
            TrapKind::TableOutOfBounds,
        );
    }

    pub(crate) fn table_init(
        &mut self,
        b: &mut FunctionBuilder,
        table: u32,
        elem: u32,
        [dst, src, len]: [Value; 3],
    ) {
        let table = b.ins().iconst(I32, i64::from(table));
        let elem = b.ins().iconst(I32, i64::from(elem));
        let dst = widen(b, dst);
        let args = [table, elem, dst, src, len];
        self.call_trapping_builtin(
            b,
            BuiltinIndex::table_init,
            &args,
            TrapKind::TableOutOfBounds,
        );
    }

    pub(crate) fn elem_drop(&mut self, b: &mut FunctionBuilder, elem: u32) {
        let elem = b.ins().iconst(I32, i64::from(elem));
        self.call_builtin(b, BuiltinIndex::elem_drop, &[elem]);
    }

    // --- race detection ---

    /// Whether accesses to `memory` are reported to the race detector.
    pub(crate) fn detects_races(&self, memory: u32) -> bool {
        self.env.tunables.detect_races && self.is_shared_memory(memory)
    }

    /// Whether atomic accesses to globals and tables synchronize for the race detector.
    pub(crate) fn detects_vm_races(&self) -> bool {
        self.env.tunables.detect_races
    }

    /// Whether plain accesses to `global` are reported to the race detector: a mutable
    /// shared global that is not thread-local, which other threads may access at once.
    pub(crate) fn detects_global_races(&self, global: u32) -> bool {
        self.env.tunables.detect_races && self.is_contended_global(global)
    }

    /// Reports a plain access to `global` by the code at `location`.
    pub(crate) fn race_global(
        &mut self,
        b: &mut FunctionBuilder,
        global: u32,
        write: bool,
        location: u64,
    ) {
        let address = self.global_address(b, global);
        let content = self.env.module.globals[global as usize].content_type;
        let size = value_type(content, 0).expect("globals of supported types were checked");
        let size = b.ins().iconst(I32, i64::from(size.bytes()));
        self.race_range(b, address, size, write, location);
    }

    /// Reports a plain access of `size` bytes at `address + imm` by the code at `location`.
    pub(crate) fn race_access(
        &mut self,
        b: &mut FunctionBuilder,
        (address, imm): (Value, i32),
        size: u32,
        write: bool,
        location: u64,
    ) {
        let address = b.ins().iadd_imm_u(address, i64::from(imm));
        let size = b.ins().iconst(I32, i64::from(size));
        self.race_range(b, address, size, write, location);
    }

    /// Reports a bulk operation's plain access to the `len` bytes at `index` of `memory`
    /// (both of the memory's address width), after trapping as the operation would if they
    /// do not all fit.
    pub(crate) fn race_memory_range(
        &mut self,
        b: &mut FunctionBuilder,
        memory: u32,
        [index, len]: [Value; 2],
        write: bool,
        location: u64,
    ) {
        let (index, len) = (widen(b, index), widen(b, len));
        let (base, length) = self.memory_base_and_length(b, memory);
        let address = Self::checked_range(b, base, length, index, len);
        let size = b.ins().ireduce(I32, len);
        self.race_range(b, address, size, write, location);
    }

    /// Reports a plain access of the (i32) `size` bytes at native `address`.
    fn race_range(
        &mut self,
        b: &mut FunctionBuilder,
        address: Value,
        size: Value,
        write: bool,
        location: u64,
    ) {
        let location = b.ins().iconst(I64, location as i64);
        let write = b.ins().iconst(I32, i64::from(write));
        self.call_builtin(
            b,
            BuiltinIndex::race_access,
            &[address, size, location, write],
        );
    }

    /// Reports that an atomic access, `wait` or `notify` at `address` comes next.
    pub(crate) fn race_release(&mut self, b: &mut FunctionBuilder, address: Value) {
        self.call_builtin(b, BuiltinIndex::race_release, &[address]);
    }

    /// Reports an `atomic.fence`.
    pub(crate) fn race_fence(&mut self, b: &mut FunctionBuilder) {
        self.call_builtin(b, BuiltinIndex::race_fence, &[]);
    }

    /// Whether compiled code passes schedule points for exploration.
    pub(crate) fn explores(&self) -> bool {
        self.env.tunables.explore
    }

    /// A schedule point before `operation` at native `address` (an i64), by the code at
    /// `location`.
    pub(crate) fn explore_point(
        &mut self,
        b: &mut FunctionBuilder,
        operation: Operation,
        address: Value,
        location: u64,
    ) {
        let operation = b.ins().iconst(I32, i64::from(operation.code()));
        let location = b.ins().iconst(I64, location as i64);
        self.call_builtin(
            b,
            BuiltinIndex::explore_point,
            &[operation, address, location],
        );
    }

    /// Reports that an atomic access, `wait` or `notify` at `address` is done.
    pub(crate) fn race_acquire(&mut self, b: &mut FunctionBuilder, address: Value) {
        self.call_builtin(b, BuiltinIndex::race_acquire, &[address]);
    }

    // --- exceptions ---

    /// The identity of tag `tag`: the address of its definition, shared by every module that
    /// imports it.
    pub(crate) fn tag_identity(&self, b: &mut FunctionBuilder, tag: u32) -> Value {
        let offset = self.env.offsets.vmctx_tag_pointer(tag);
        Self::load_at(b, I64, VM_CONSTANT, self.vmctx, offset)
    }

    /// The Cranelift types of the values an exception of tag `tag` carries.
    pub(crate) fn tag_payload_types(&self, tag: u32) -> Vec<Type> {
        let module = self.env.module;
        let ty = module.func_type(module.tags[tag as usize]);
        value_types(ty.params(), 0).expect("tags of supported types were checked at compile time")
    }

    /// The offset of an exception's payload slot `index`.
    fn payload_offset(index: usize) -> i32 {
        i32::try_from(exception_slot_offset(index)).expect("tags carry few values")
    }

    /// A new exception of tag `tag` carrying `values`.
    pub(crate) fn new_exception(
        &mut self,
        b: &mut FunctionBuilder,
        tag: u32,
        values: &[Value],
    ) -> Value {
        let tag_index = b.ins().iconst(I32, i64::from(tag));
        let exn = self
            .call_builtin(b, BuiltinIndex::exception_new, &[tag_index])
            .expect("exception_new returns the exception");
        b.ins().trapz(exn, trap_code(TrapKind::AllocationTooLarge));
        for (index, &value) in values.iter().enumerate() {
            b.ins()
                .store(EXCEPTION, value, exn, Self::payload_offset(index));
        }
        exn
    }

    /// The tag identity of the exception `exn`.
    pub(crate) fn exception_tag(b: &mut FunctionBuilder, exn: Value) -> Value {
        Self::load_at(b, I64, EXCEPTION, exn, EXCEPTION_TAG_OFFSET)
    }

    /// The values the exception `exn`, of tag `tag`, carries.
    pub(crate) fn exception_payload(
        &self,
        b: &mut FunctionBuilder,
        tag: u32,
        exn: Value,
    ) -> Vec<Value> {
        self.tag_payload_types(tag)
            .into_iter()
            .enumerate()
            .map(|(index, ty)| {
                b.ins()
                    .load(ty, EXCEPTION, exn, Self::payload_offset(index))
            })
            .collect()
    }

    /// Throws the exception `exn`, for which this function has no handler, to its callers;
    /// the code after it is unreachable.
    pub(crate) fn throw_to_caller(&mut self, b: &mut FunctionBuilder, exn: Value) {
        let fp = b.ins().get_frame_pointer(I64);
        self.call_builtin(b, BuiltinIndex::throw_ref, &[exn, fp]);
        b.ins().trap(trap_code(TrapKind::Unreachable));
    }

    // --- functions and calls ---

    /// `ref.func`: every function's `VMFuncRef` lives inside the vmctx.
    pub(crate) fn ref_func(&self, b: &mut FunctionBuilder, function: u32) -> Value {
        self.vmctx_address(b, self.env.offsets.vmctx_funcref(function))
    }

    fn signature(&mut self, b: &mut FunctionBuilder, type_index: u32) -> SigRef {
        *self.signatures.entry(type_index).or_insert_with(|| {
            let signature = &self.env.signatures[type_index as usize];
            b.import_signature(signature.clone().expect("a function type"))
        })
    }

    pub(crate) fn call(
        &mut self,
        b: &mut FunctionBuilder,
        function: u32,
        args: &[Value],
        kind: CallKind,
    ) -> Vec<Value> {
        let module = self.env.module;
        if module.is_defined_function(function) {
            let func_ref = match self.functions.get(&function) {
                Some(&func_ref) => func_ref,
                None => {
                    let defined = (function - module.num_imported_functions) as usize;
                    let id = self.env.func_ids[defined];
                    let signature =
                        func_signature(&self.env.signatures, module.functions[function as usize]);
                    let signature = b.func.import_signature(signature.clone());
                    // The name the JIT resolves when it links the call: what
                    // `cranelift_module` gives a function it declares, in namespace 0.
                    let name = b.func.declare_imported_user_function(ir::UserExternalName {
                        namespace: 0,
                        index: id.as_u32(),
                    });
                    let func_ref = b.func.import_function(ir::ExtFuncData {
                        name: ir::ExternalName::user(name),
                        signature,
                        // The JIT may place functions of one module more than 2 GiB apart,
                        // out of reach of a pc-relative call; an absolute address always
                        // works.
                        colocated: false,
                        patchable: false,
                    });
                    self.functions.insert(function, func_ref);
                    func_ref
                }
            };
            let call_args = [&[self.vmctx, self.thread][..], args].concat();
            emit_call(b, kind, CallTarget::Direct(func_ref), &call_args)
        } else {
            let funcref = self.ref_func(b, function);
            self.call_funcref(b, module.functions[function as usize], funcref, args, kind)
        }
    }

    /// Calls through a non-null `VMFuncRef` known to have type `type_index`.
    fn call_funcref(
        &mut self,
        b: &mut FunctionBuilder,
        type_index: u32,
        funcref: Value,
        args: &[Value],
        kind: CallKind,
    ) -> Vec<Value> {
        let sig = self.signature(b, type_index);
        let code = Self::load_at(b, I64, FUNCREF, funcref, VMOffsets::funcref_wasm_call());
        let callee_vmctx = Self::load_at(b, I64, FUNCREF, funcref, VMOffsets::funcref_vmctx());
        let callee_thread = self.callee_thread(b, callee_vmctx);
        let call_args = [&[callee_vmctx, callee_thread][..], args].concat();
        emit_call(b, kind, CallTarget::Indirect(sig, code), &call_args)
    }

    /// The block to pass to a callee with context `callee_vmctx`: ours when the callee is in
    /// this instance (the common case, one compare) or is a host function (whose context
    /// starts with `HOST_FUNC_MAGIC` where a VMContext has its own magic: a load and a
    /// compare), otherwise the running thread's block for the callee's instance, which the
    /// runtime looks up.
    fn callee_thread(&mut self, b: &mut FunctionBuilder, callee_vmctx: Value) -> Value {
        let not_same = b.create_block();
        let other_instance = b.create_block();
        let done = b.create_block();
        let thread = b.append_block_param(done, I64);
        let same = b.ins().icmp(IntCC::Equal, callee_vmctx, self.vmctx);
        b.ins()
            .brif(same, done, &[self.thread.into()], not_same, &[]);
        b.switch_to_block(not_same);
        b.seal_block(not_same);
        let magic = Self::load_at(b, I32, VM_CONSTANT, callee_vmctx, VMOffsets::vmctx_magic());
        let host = b
            .ins()
            .icmp_imm_u(IntCC::Equal, magic, i64::from(HOST_FUNC_MAGIC));
        b.ins()
            .brif(host, done, &[self.thread.into()], other_instance, &[]);
        b.set_cold_block(other_instance);
        b.switch_to_block(other_instance);
        b.seal_block(other_instance);
        let entered = self
            .call_builtin(
                b,
                BuiltinIndex::enter_instance,
                &[self.thread, callee_vmctx],
            )
            .expect("enter_instance returns a block");
        b.ins().jump(done, &[entered.into()]);
        b.switch_to_block(done);
        b.seal_block(done);
        thread
    }

    /// Whether this function counts its operators against the thread's fuel.
    pub(crate) fn consumes_fuel(&self) -> bool {
        self.env.tunables.consume_fuel
    }

    /// The running thread's fuel, in its record, which the block points at (for as long as
    /// the block is bound, so the pointer is constant here).
    fn fuel_address(&self, b: &mut FunctionBuilder) -> Value {
        let record = Self::load_at(b, I64, VM_CONSTANT, self.thread, VMOffsets::thread_record());
        b.ins()
            .iadd_imm_u(record, i64::from(VMOffsets::record_fuel()))
    }

    /// Subtracts `operators` from the running thread's fuel. Plain accesses: only the thread
    /// itself changes its fuel while it runs wasm.
    pub(crate) fn consume_fuel(&self, b: &mut FunctionBuilder, operators: u64) {
        let address = self.fuel_address(b);
        let fuel = b.ins().load(I64, VM_MUTABLE, address, 0);
        let left = b.ins().iadd_imm_s(fuel, -(operators as i64));
        b.ins().store(VM_MUTABLE, left, address, 0);
    }

    /// A fuel safepoint, at function entries and loop headers: traps once the thread has no
    /// fuel left (none or less), as Wasmtime's check does.
    pub(crate) fn check_fuel(&self, b: &mut FunctionBuilder) {
        let address = self.fuel_address(b);
        let fuel = b.ins().load(I64, VM_MUTABLE, address, 0);
        let out = b.ins().icmp_imm_s(IntCC::SignedLessThanOrEqual, fuel, 0);
        b.ins().trapnz(out, trap_code(TrapKind::OutOfFuel));
    }

    /// `call_ref`: validation guarantees the reference has type `type_index`, so only null
    /// needs a check.
    pub(crate) fn call_ref(
        &mut self,
        b: &mut FunctionBuilder,
        type_index: u32,
        funcref: Value,
        args: &[Value],
        kind: CallKind,
    ) -> Vec<Value> {
        b.ins()
            .trapz(funcref, trap_code(TrapKind::NullFunctionReference));
        self.call_funcref(b, type_index, funcref, args, kind)
    }

    pub(crate) fn call_indirect(
        &mut self,
        b: &mut FunctionBuilder,
        type_index: u32,
        table: u32,
        index: Value,
        args: &[Value],
        kind: CallKind,
    ) -> Vec<Value> {
        let address = self.table_element_address(b, table, index, TrapKind::UndefinedElement);
        let funcref = b.ins().load(I64, VM_MUTABLE, address, 0);
        b.ins()
            .trapz(funcref, trap_code(TrapKind::UninitializedElement));
        let actual = self.funcref_type_id(b, funcref);
        let expected = self.env.types.ids[type_index as usize];
        let mismatch = b
            .ins()
            .icmp_imm_u(IntCC::NotEqual, actual, i64::from(expected));
        if self.env.module.types[type_index as usize].is_final {
            b.ins()
                .trapnz(mismatch, trap_code(TrapKind::IndirectCallTypeMismatch));
        } else {
            // A declared subtype of the expected type is callable too; the runtime knows
            // the subtype relation.
            let subtype_check = b.create_block();
            let call = b.create_block();
            b.ins().brif(mismatch, subtype_check, &[], call, &[]);
            b.set_cold_block(subtype_check);
            b.seal_block(subtype_check);
            b.switch_to_block(subtype_check);
            let expected = b.ins().iconst(I32, i64::from(expected));
            let subtype = self
                .call_builtin(b, BuiltinIndex::is_subtype, &[actual, expected])
                .expect("is_subtype returns a flag");
            b.ins()
                .trapz(subtype, trap_code(TrapKind::IndirectCallTypeMismatch));
            b.ins().jump(call, &[]);
            b.seal_block(call);
            b.switch_to_block(call);
        }
        self.call_funcref(b, type_index, funcref, args, kind)
    }

    /// The engine-wide type id of the non-null funcref `funcref`.
    pub(crate) fn funcref_type_id(&self, b: &mut FunctionBuilder, funcref: Value) -> Value {
        Self::load_at(b, I32, FUNCREF, funcref, VMOffsets::funcref_type_index())
    }

    // --- GC types ---

    /// The engine-wide id of type `type_index`.
    pub(crate) fn type_id(&self, type_index: u32) -> u32 {
        self.env.types.ids[type_index as usize]
    }

    /// How many declared supertypes type `type_index` has above it.
    pub(crate) fn type_depth(&self, type_index: u32) -> u32 {
        self.env.types.rtts[type_index as usize][RTT_DEPTH]
    }

    // --- builtins ---

    /// Calls `builtin` with the caller's vmctx followed by `args` (which start with the thread
    /// block for builtins that take one).
    pub(super) fn call_builtin(
        &mut self,
        b: &mut FunctionBuilder,
        builtin: BuiltinIndex,
        args: &[Value],
    ) -> Option<Value> {
        let sig = *self.builtins.entry(builtin.index()).or_insert_with(|| {
            b.import_signature(builtin_signature(builtin, self.env.native_call_conv))
        });
        let array = Self::load_at(b, I64, VM_CONSTANT, self.vmctx, VMOffsets::vmctx_builtins());
        let slot = builtin.index() * 8;
        let entry = Self::load_at(b, I64, VM_CONSTANT, array, slot);
        let call_args = [&[self.vmctx][..], args].concat();
        let call = b.ins().call_indirect(sig, entry, &call_args);
        b.inst_results(call).first().copied()
    }

    /// Calls a builtin that reports failure with a non-zero result, raising `kind` then.
    pub(super) fn call_trapping_builtin(
        &mut self,
        b: &mut FunctionBuilder,
        builtin: BuiltinIndex,
        args: &[Value],
        kind: TrapKind,
    ) {
        let status = self
            .call_builtin(b, builtin, args)
            .expect("trapping builtins return a status");
        b.ins().trapnz(status, trap_code(kind));
    }
}
