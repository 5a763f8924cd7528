//! The `#[repr(C)]` structures that JIT code reads, laid out as `environ::VMOffsets` says.
//! The tests at the bottom check every field against the offsets table.

use portable_atomic::AtomicU128;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering};

/// Opaque type of the builtin-function table every VMContext points at: `libcalls` defines
/// it, and JIT code reads it by `BuiltinIndex`.
#[repr(C)]
pub struct VMBuiltinTable {
    _private: [u8; 0],
}

/// The part of a thread's record that JIT code reads, through the block's `record` pointer:
/// the head of `threads::ThreadRecord`, which the layout knows nothing else of.
#[repr(C)]
#[derive(Debug)]
pub struct VMThreadRecord {
    /// Operators the thread may still run before a safepoint traps with `OutOfFuel`: only
    /// counted down by code compiled with `Tunables::consume_fuel`, and only by the thread
    /// itself. `i64::MAX` for a thread that runs unmetered.
    pub fuel: AtomicI64,
    /// The token of the OS thread running this record (`HostMutex::thread_token`), set each
    /// time the record starts running on one; 0 before. JIT code locks and unlocks host
    /// mutexes with it on their uncontended paths.
    pub lock_token: AtomicU64,
}

/// Opaque type of a VMContext pointer. The context is a variable-size allocation (see
/// [`VMOffsets`]) so Rust never names its fields directly; `Instance` writes them through
/// offsets.
#[repr(C)]
pub struct VMContext {
    _opaque: [u8; 0],
    _not_send_sync: PhantomData<*mut u8>,
}

/// The stack limit that fails every prologue's check: above any stack pointer, and far enough
/// below the top of the address space that a prologue, which adds its frame size (under
/// 32 KiB; larger frames compare the limit alone first) to the limit before comparing, cannot
/// wrap around to a small number.
pub const STOPPING_STACK_LIMIT: usize = usize::MAX / 2;

/// The header of a thread's block for one instance; the thread's copies of the module's
/// thread-local globals follow it (see `VMOffsets::thread_local_slot`).
#[repr(C)]
#[derive(Debug)]
pub struct VMThreadContext {
    pub magic: u32,
    /// Non-zero: the thread is interrupted. The runtime reads it; JIT code sees an interrupt
    /// through `stack_limit`, or is stopped by a nudge (`vm::nudge`). Set from other threads,
    /// hence atomic.
    pub interrupt: AtomicU32,
    /// Lowest address the wasm stack may grow to, which every function's prologue compares
    /// the stack pointer with; [`STOPPING_STACK_LIMIT`] when no call is active, so an entry that forgot
    /// to set it traps instead of overflowing, and while the block is interrupted, so that
    /// the next function entry traps with no check of its own (see
    /// [`VMThreadContext::set_stack_limit`]). Written from other threads, hence atomic.
    pub stack_limit: AtomicUsize,
    /// The instance this block serves.
    pub vmctx: *mut VMContext,
    /// The thread's record, through which a cross-instance call finds its other blocks:
    /// opaque here (the layout knows nothing of threads); `threads::ThreadRecord::of_block`
    /// reads it.
    pub record: *const VMThreadRecord,
}

impl VMThreadContext {
    /// Makes `limit` the block's stack limit unless the block is interrupted, in which case
    /// the limit is (or becomes) [`STOPPING_STACK_LIMIT`]; returns the limit it replaced.
    ///
    /// The interrupt side ([`VMThreadContext::set_interrupt`]) sets the flag, then the limit:
    /// with both sides sequentially consistent, either this load sees the flag, or the
    /// interrupter's store of the stopping limit comes after this store, so a real limit never
    /// hides an interrupt.
    pub fn set_stack_limit(&self, limit: usize) -> usize {
        let old = self.stack_limit.swap(limit, Ordering::SeqCst);
        if self.interrupt.load(Ordering::SeqCst) != 0 {
            self.stack_limit
                .store(STOPPING_STACK_LIMIT, Ordering::SeqCst);
        }
        old
    }

    /// Sets or clears the interrupt. Setting it also sets the stack limit to [`STOPPING_STACK_LIMIT`],
    /// so that the thread's next function entry traps; clearing leaves the limit to the
    /// thread's next entry into wasm, which sets a real one (the thread runs no wasm on this
    /// block when its interrupt is cleared).
    pub fn set_interrupt(&self, interrupted: bool) {
        self.interrupt
            .store(u32::from(interrupted), Ordering::SeqCst);
        if interrupted {
            self.stack_limit
                .store(STOPPING_STACK_LIMIT, Ordering::SeqCst);
        }
    }

    /// Whether the block is interrupted.
    pub fn is_interrupted(&self) -> bool {
        self.interrupt.load(Ordering::SeqCst) != 0
    }
}

/// A linear memory as JIT code sees it.
#[repr(C)]
#[derive(Debug)]
pub struct VMMemoryDefinition {
    /// Start of the reservation; never moves while the memory lives.
    pub base: *mut u8,
    /// Accessible bytes. Atomic because, for a shared memory, other threads read it while one
    /// grows the memory; `memory.size` on a shared memory is a seq-cst load of it.
    pub current_length: AtomicUsize,
}

/// A table as JIT code sees it. Elements are pointer-sized: a nullable `*const VMFuncRef`
/// for funcref tables, a nullable extern handle for externref tables.
#[repr(C)]
#[derive(Debug)]
pub struct VMTableDefinition {
    pub base: *mut usize,
    /// Atomic: a shared table grows while other threads read it.
    pub current_elements: std::sync::atomic::AtomicUsize,
}

/// An exception tag. A tag is its definition: two tags are the same exactly when their
/// definitions are at the same address, so an imported tag is a pointer to its exporter's.
#[repr(C)]
#[derive(Debug)]
pub struct VMTagDefinition {
    /// Engine-wide id of the tag's function type (the exception's payload).
    pub type_id: u32,
}

/// Storage of one global: big enough and aligned for any value type, including v128.
#[repr(C, align(16))]
#[derive(Debug, Default, Clone, Copy)]
pub struct VMGlobalDefinition {
    pub bytes: [u8; 16],
}

impl VMGlobalDefinition {
    /// All 16 bytes of `global` as one atomic load, so that a concurrent
    /// [`VMGlobalDefinition::store_untorn`] is seen entirely or not at all (on x86-64 this
    /// is `cmpxchg16b`, or an AVX aligned load where the CPU guarantees it is atomic).
    ///
    /// # Safety
    ///
    /// `global` must point to a live definition, and every concurrent write to it must be
    /// atomic.
    pub unsafe fn load_untorn(global: *const VMGlobalDefinition) -> u128 {
        // SAFETY: per the contract; the definition is 16-byte aligned.
        unsafe { AtomicU128::from_ptr(global.cast_mut().cast()) }.load(Ordering::SeqCst)
    }

    /// Replaces all 16 bytes of `global` with one atomic store.
    ///
    /// # Safety
    ///
    /// As for [`VMGlobalDefinition::load_untorn`].
    pub unsafe fn store_untorn(global: *mut VMGlobalDefinition, value: u128) {
        // SAFETY: per the contract; the definition is 16-byte aligned.
        unsafe { AtomicU128::from_ptr(global.cast()) }.store(value, Ordering::SeqCst)
    }
}

/// A function reference: what `ref.func`, tables and imports hold.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMFuncRef {
    /// Code with the wasm calling convention.
    pub wasm_call: *const u8,
    /// First argument to pass to `wasm_call`.
    pub vmctx: *mut VMContext,
    /// Engine-wide signature id.
    pub type_index: u32,
}

/// One slot of the array-call convention, used by host↔wasm trampolines.
#[repr(C, align(16))]
#[derive(Debug, Default, Clone, Copy)]
pub struct VMVal {
    pub bytes: [u8; 16],
}

impl VMVal {
    pub fn from_u128(value: u128) -> VMVal {
        VMVal {
            bytes: value.to_le_bytes(),
        }
    }

    pub fn from_u64(value: u64) -> VMVal {
        VMVal::from_u128(u128::from(value))
    }

    pub fn from_u32(value: u32) -> VMVal {
        VMVal::from_u64(u64::from(value))
    }

    pub fn get_u128(&self) -> u128 {
        u128::from_le_bytes(self.bytes)
    }

    pub fn get_u64(&self) -> u64 {
        self.get_u128() as u64
    }

    pub fn get_u32(&self) -> u32 {
        u32::from_le_bytes(self.bytes[..4].try_into().expect("slot holds 4 bytes"))
    }
}

/// The Rust function a host-call trampoline calls: `(host_ctx, caller_thread, values, len)`,
/// returning non-zero when the host function failed and a pending error was recorded.
pub type HostEntry =
    unsafe extern "C" fn(*mut VMHostFuncContext, *mut VMThreadContext, *mut VMVal, u32) -> u32;

/// The context of a host function; its [`VMFuncRef::vmctx`] points here.
#[repr(C)]
pub struct VMHostFuncContext {
    pub magic: u32,
    pub entry: HostEntry,
    /// The funcref handed out for this function, pointing back at this context.
    pub funcref: VMFuncRef,
    /// For a function whose `wasm_call` is a fast path (a host mutex's lock or unlock): the
    /// word it works on. Null otherwise.
    pub fast_word: *const u64,
    /// For a fast path: the host-call trampoline it calls when it cannot finish alone.
    pub slow_call: *const u8,
    /// Throws an exception the host function threw on to the wasm callers of the
    /// trampoline whose frame pointer it is given (see `traphandlers::throw`).
    pub throw: unsafe extern "C" fn(exn: usize, fp: usize),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environ::{VMOffsets, VMVAL_SIZE};
    use std::mem::{align_of, offset_of, size_of};

    #[test]
    fn thread_record_layout() {
        assert_eq!(
            offset_of!(VMThreadRecord, fuel),
            VMOffsets::record_fuel() as usize
        );
        assert_eq!(
            offset_of!(VMThreadRecord, lock_token),
            VMOffsets::record_lock_token() as usize
        );
    }

    #[test]
    fn host_func_context_layout() {
        let fields = [
            (
                offset_of!(VMHostFuncContext, entry),
                VMOffsets::host_func_entry(),
            ),
            (
                offset_of!(VMHostFuncContext, fast_word),
                VMOffsets::host_func_fast_word(),
            ),
            (
                offset_of!(VMHostFuncContext, slow_call),
                VMOffsets::host_func_slow_call(),
            ),
            (
                offset_of!(VMHostFuncContext, throw),
                VMOffsets::host_func_throw(),
            ),
        ];
        for (actual, expected) in fields {
            assert_eq!(actual, expected as usize);
        }
    }

    #[test]
    fn thread_context_layout() {
        let fields = [
            (
                offset_of!(VMThreadContext, magic),
                VMOffsets::thread_magic(),
            ),
            (
                offset_of!(VMThreadContext, interrupt),
                VMOffsets::thread_interrupt(),
            ),
            (
                offset_of!(VMThreadContext, stack_limit),
                VMOffsets::thread_stack_limit(),
            ),
            (
                offset_of!(VMThreadContext, vmctx),
                VMOffsets::thread_vmctx(),
            ),
            (
                offset_of!(VMThreadContext, record),
                VMOffsets::thread_record(),
            ),
            (
                size_of::<VMThreadContext>(),
                VMOffsets::thread_static_size(),
            ),
        ];
        for (actual, expected) in fields {
            assert_eq!(actual, expected as usize);
        }
    }

    #[test]
    fn memory_definition_layout() {
        assert_eq!(
            offset_of!(VMMemoryDefinition, base),
            VMOffsets::memory_base() as usize
        );
        assert_eq!(
            offset_of!(VMMemoryDefinition, current_length),
            VMOffsets::memory_current_length() as usize
        );
        assert_eq!(
            size_of::<VMMemoryDefinition>(),
            VMOffsets::size_of_memory_definition() as usize
        );
    }

    #[test]
    fn table_definition_layout() {
        assert_eq!(
            offset_of!(VMTableDefinition, base),
            VMOffsets::table_base() as usize
        );
        assert_eq!(
            offset_of!(VMTableDefinition, current_elements),
            VMOffsets::table_current_elements() as usize
        );
        assert_eq!(
            size_of::<VMTableDefinition>(),
            VMOffsets::size_of_table_definition() as usize
        );
        assert_eq!(
            size_of::<usize>(),
            VMOffsets::size_of_table_element() as usize
        );
    }

    #[test]
    fn funcref_layout() {
        assert_eq!(
            offset_of!(VMFuncRef, wasm_call),
            VMOffsets::funcref_wasm_call() as usize
        );
        assert_eq!(
            offset_of!(VMFuncRef, vmctx),
            VMOffsets::funcref_vmctx() as usize
        );
        assert_eq!(
            offset_of!(VMFuncRef, type_index),
            VMOffsets::funcref_type_index() as usize
        );
        assert_eq!(
            size_of::<VMFuncRef>(),
            VMOffsets::size_of_vmfuncref() as usize
        );
    }

    #[test]
    fn value_slots_match_the_array_call_convention() {
        assert_eq!(size_of::<VMVal>(), VMVAL_SIZE as usize);
        assert_eq!(size_of::<VMGlobalDefinition>(), VMVAL_SIZE as usize);
        assert_eq!(align_of::<VMGlobalDefinition>(), 16);
    }
}
