//! The Rust side of the builtins: `extern "C"` entry points that JIT code calls through the
//! `VMBuiltins` table, generated from `environ::foreach_builtin_function!` in the same order
//! as the compiler's signatures.
//!
//! Each entry point only finds the calling instance and forwards to a safe method of it.
//! They never unwind: the trapping ones return non-zero and the JIT code raises the trap.

use super::instance::Instance;
use super::memory::WaitValue;
use super::threads::ThreadRecord;
use super::traphandlers::throw;
use super::vmcontext::{VMBuiltinTable, VMContext, VMGlobalDefinition, VMThreadContext};
use crate::environ::{HOST_FUNC_MAGIC, TrapKind, foreach_builtin_function};

/// Finds the instance a VMContext belongs to.
///
/// # Safety
///
/// `vmctx` must be the live VMContext of an [`Instance`] whose code is executing this call.
unsafe fn instance<'a>(vmctx: *mut VMContext) -> &'a Instance {
    // SAFETY: guaranteed by the caller.
    unsafe { Instance::from_vmctx(vmctx) }
}

fn trapped(result: Result<(), TrapKind>) -> u32 {
    u32::from(result.is_err())
}

mod entry {
    use super::*;

    pub unsafe extern "C" fn memory_grow(vmctx: *mut VMContext, memory: u32, delta: u64) -> u64 {
        // SAFETY: JIT code passes its own live VMContext.
        unsafe { instance(vmctx) }.memory_grow(memory, delta)
    }

    pub unsafe extern "C" fn memory_fill(
        vmctx: *mut VMContext,
        memory: u32,
        dst: u64,
        value: u32,
        len: u64,
    ) -> u32 {
        // SAFETY: JIT code passes its own live VMContext.
        trapped(unsafe { instance(vmctx) }.memory_fill(memory, dst, value as u8, len))
    }

    pub unsafe extern "C" fn memory_copy(
        vmctx: *mut VMContext,
        dst_memory: u32,
        src_memory: u32,
        dst: u64,
        src: u64,
        len: u64,
    ) -> u32 {
        // SAFETY: JIT code passes its own live VMContext.
        trapped(unsafe { instance(vmctx) }.memory_copy(dst_memory, src_memory, dst, src, len))
    }

    pub unsafe extern "C" fn memory_init(
        vmctx: *mut VMContext,
        memory: u32,
        data: u32,
        dst: u64,
        src: u32,
        len: u32,
    ) -> u32 {
        // SAFETY: JIT code passes its own live VMContext.
        trapped(unsafe { instance(vmctx) }.memory_init(memory, data, dst, src, len))
    }

    pub unsafe extern "C" fn data_drop(vmctx: *mut VMContext, data: u32) {
        // SAFETY: JIT code passes its own live VMContext.
        unsafe { instance(vmctx) }.data_drop(data)
    }

    pub unsafe extern "C" fn table_grow(
        vmctx: *mut VMContext,
        table: u32,
        init: usize,
        delta: u64,
    ) -> u64 {
        // SAFETY: JIT code passes its own live VMContext.
        unsafe { instance(vmctx) }.table_grow(table, init, delta)
    }

    pub unsafe extern "C" fn table_fill(
        vmctx: *mut VMContext,
        table: u32,
        dst: u64,
        value: usize,
        len: u64,
    ) -> u32 {
        // SAFETY: JIT code passes its own live VMContext.
        trapped(unsafe { instance(vmctx) }.table_fill(table, dst, value, len))
    }

    pub unsafe extern "C" fn table_copy(
        vmctx: *mut VMContext,
        dst_table: u32,
        src_table: u32,
        dst: u64,
        src: u64,
        len: u64,
    ) -> u32 {
        // SAFETY: JIT code passes its own live VMContext.
        trapped(unsafe { instance(vmctx) }.table_copy(dst_table, src_table, dst, src, len))
    }

    pub unsafe extern "C" fn table_init(
        vmctx: *mut VMContext,
        table: u32,
        elem: u32,
        dst: u64,
        src: u32,
        len: u32,
    ) -> u32 {
        // SAFETY: JIT code passes its own live VMContext.
        trapped(unsafe { instance(vmctx) }.table_init(table, elem, dst, src, len))
    }

    pub unsafe extern "C" fn elem_drop(vmctx: *mut VMContext, elem: u32) {
        // SAFETY: JIT code passes its own live VMContext.
        unsafe { instance(vmctx) }.elem_drop(elem)
    }

    pub unsafe extern "C" fn memory_atomic_notify(
        vmctx: *mut VMContext,
        memory: u32,
        addr: u64,
        count: u32,
    ) -> u32 {
        // SAFETY: JIT code passes its own live VMContext.
        unsafe { instance(vmctx) }.memory_atomic_notify(memory, addr, count)
    }

    pub unsafe extern "C" fn memory_atomic_wait32(
        vmctx: *mut VMContext,
        memory: u32,
        addr: u64,
        expected: u32,
        timeout: u64,
    ) -> u32 {
        // SAFETY: JIT code passes its own live VMContext.
        unsafe { instance(vmctx) }.memory_atomic_wait(
            memory,
            addr,
            WaitValue::I32(expected),
            timeout as i64,
        )
    }

    pub unsafe extern "C" fn memory_atomic_wait64(
        vmctx: *mut VMContext,
        memory: u32,
        addr: u64,
        expected: u64,
        timeout: u64,
    ) -> u32 {
        // SAFETY: JIT code passes its own live VMContext.
        unsafe { instance(vmctx) }.memory_atomic_wait(
            memory,
            addr,
            WaitValue::I64(expected),
            timeout as i64,
        )
    }

    pub unsafe extern "C" fn enter_instance(
        _vmctx: *mut VMContext,
        thread: *mut VMThreadContext,
        callee_vmctx: usize,
    ) -> usize {
        let callee_vmctx = callee_vmctx as *mut VMContext;
        // SAFETY: a funcref's context is a live VMContext or host function context, and both
        // start with a u32 magic number.
        if unsafe { callee_vmctx.cast::<u32>().read() } == HOST_FUNC_MAGIC {
            return thread as usize;
        }
        // SAFETY: JIT code passes its own live block, whose record outlives it; the callee's
        // instance is alive while funcrefs to it exist.
        unsafe {
            let source = instance(callee_vmctx).block_source();
            let block = (*ThreadRecord::of_block(thread)).block_for(callee_vmctx, source);
            (*block.as_ptr()).set_stack_limit(
                (*thread)
                    .stack_limit
                    .load(std::sync::atomic::Ordering::SeqCst),
            );
            block.as_ptr() as usize
        }
    }

    pub unsafe extern "C" fn exception_new(vmctx: *mut VMContext, tag: u32) -> usize {
        // SAFETY: JIT code passes its own live VMContext.
        unsafe { instance(vmctx) }.exception_new_raw(tag)
    }

    pub unsafe extern "C" fn throw_ref(_vmctx: *mut VMContext, exn: usize, fp: usize) {
        // SAFETY: JIT code passes a non-null exception and its own frame pointer, and this
        // frame owns nothing that skipping it would leak.
        unsafe { throw(exn, fp) }
    }

    pub unsafe extern "C" fn race_access(
        vmctx: *mut VMContext,
        address: u64,
        size: u32,
        location: u64,
        write: u32,
    ) {
        // SAFETY: JIT code passes its own live VMContext.
        unsafe { instance(vmctx) }.race_access(address, size, location, write != 0)
    }

    pub unsafe extern "C" fn race_release(vmctx: *mut VMContext, address: u64) {
        // SAFETY: JIT code passes its own live VMContext.
        unsafe { instance(vmctx) }.race_release(address)
    }

    pub unsafe extern "C" fn race_fence(vmctx: *mut VMContext) {
        // SAFETY: JIT code passes its own live VMContext.
        unsafe { instance(vmctx) }.race_fence()
    }

    pub unsafe extern "C" fn explore_point(
        vmctx: *mut VMContext,
        operation: u32,
        address: u64,
        location: u64,
    ) {
        // SAFETY: JIT code passes its own live VMContext.
        unsafe { instance(vmctx) }.explore_point(operation, address, location)
    }

    pub unsafe extern "C" fn race_acquire(vmctx: *mut VMContext, address: u64) {
        // SAFETY: JIT code passes its own live VMContext.
        unsafe { instance(vmctx) }.race_acquire(address)
    }

    pub unsafe extern "C" fn gc_alloc(vmctx: *mut VMContext, ty: u32, length: u32) -> usize {
        // SAFETY: JIT code passes its own live VMContext.
        unsafe { instance(vmctx) }.gc_alloc_raw(ty, length)
    }

    pub unsafe extern "C" fn array_new_data(
        vmctx: *mut VMContext,
        ty: u32,
        data: u32,
        offset: u32,
        length: u32,
    ) -> usize {
        // SAFETY: JIT code passes its own live VMContext.
        unsafe { instance(vmctx) }.array_new_data(ty, data, offset, length)
    }

    pub unsafe extern "C" fn array_new_elem(
        vmctx: *mut VMContext,
        ty: u32,
        elem: u32,
        offset: u32,
        length: u32,
    ) -> usize {
        // SAFETY: JIT code passes its own live VMContext.
        unsafe { instance(vmctx) }.array_new_elem(ty, elem, offset, length)
    }

    pub unsafe extern "C" fn array_fill(
        vmctx: *mut VMContext,
        ty: u32,
        array: usize,
        dst: u32,
        value_low: u64,
        value_high: u64,
        length: u32,
    ) -> u32 {
        // SAFETY: JIT code passes its own live VMContext and a non-null array reference.
        let instance = unsafe { instance(vmctx) };
        let value = u128::from(value_low) | (u128::from(value_high) << 64);
        trapped(instance.array_fill(ty, array as *mut u8, dst, value, length))
    }

    pub unsafe extern "C" fn shared_v128_load(_vmctx: *mut VMContext, global: usize, out: usize) {
        // SAFETY: JIT code passes the address of a live global definition and of a 16-byte
        // aligned stack slot of its own.
        unsafe {
            let value = VMGlobalDefinition::load_untorn(global as *const VMGlobalDefinition);
            (out as *mut u128).write(value);
        }
    }

    pub unsafe extern "C" fn shared_v128_store(
        _vmctx: *mut VMContext,
        global: usize,
        value: usize,
    ) {
        // SAFETY: as in `shared_v128_load`.
        unsafe {
            let value = (value as *const u128).read();
            VMGlobalDefinition::store_untorn(global as *mut VMGlobalDefinition, value);
        }
    }

    pub unsafe extern "C" fn array_copy(
        vmctx: *mut VMContext,
        ty: u32,
        dst_array: usize,
        dst: u32,
        src_array: usize,
        src: u32,
        length: u32,
    ) -> u32 {
        // SAFETY: JIT code passes its own live VMContext and non-null array references.
        let instance = unsafe { instance(vmctx) };
        let (dst_array, src_array) = (dst_array as *mut u8, src_array as *mut u8);
        trapped(instance.array_copy(ty, dst_array, dst, src_array, src, length))
    }

    pub unsafe extern "C" fn array_init_data(
        vmctx: *mut VMContext,
        ty: u32,
        array: usize,
        dst: u32,
        data: u32,
        src: u32,
        length: u32,
    ) -> u32 {
        // SAFETY: JIT code passes its own live VMContext and a non-null array reference.
        let instance = unsafe { instance(vmctx) };
        instance.array_init_data(ty, array as *mut u8, dst, data, src, length)
    }

    pub unsafe extern "C" fn array_init_elem(
        vmctx: *mut VMContext,
        _ty: u32,
        array: usize,
        dst: u32,
        elem: u32,
        src: u32,
        length: u32,
    ) -> u32 {
        // SAFETY: JIT code passes its own live VMContext and a non-null array reference.
        let instance = unsafe { instance(vmctx) };
        instance.array_init_elem(array as *mut u8, dst, elem, src, length)
    }

    pub unsafe extern "C" fn is_subtype(vmctx: *mut VMContext, sub: u32, sup: u32) -> u32 {
        // SAFETY: JIT code passes its own live VMContext.
        u32::from(unsafe { instance(vmctx) }.is_subtype(sub, sup))
    }
}

macro_rules! builtin_rust_type {
    (vmctx) => { *mut VMContext };
    (thread) => { *mut VMThreadContext };
    (i32) => { u32 };
    (i64) => { u64 };
    (pointer) => { usize };
}

macro_rules! builtin_rust_result {
    (i32) => {
        u32
    };
    (i64) => {
        u64
    };
    (pointer) => {
        usize
    };
    (()) => {
        ()
    };
}

macro_rules! define_builtins_table {
    ($( $(#[$attr:meta])* $name:ident($($param:ident: $ty:ident),*) -> $result:tt;)*) => {
        /// The table every VMContext points at; field `i` is builtin `BuiltinIndex` `i`.
        #[repr(C)]
        pub struct VMBuiltins {
            $( $name: unsafe extern "C" fn($(builtin_rust_type!($ty)),*) -> builtin_rust_result!($result), )*
        }

        pub static VM_BUILTINS: VMBuiltins = VMBuiltins {
            $( $name: entry::$name, )*
        };

        #[cfg(test)]
        #[test]
        fn builtins_table_follows_builtin_indices() {
            use crate::environ::BuiltinIndex;
            $(
                assert_eq!(
                    std::mem::offset_of!(VMBuiltins, $name),
                    BuiltinIndex::$name.index() as usize * size_of::<usize>(),
                );
            )*
        }
    };
}

foreach_builtin_function!(define_builtins_table);

/// The table every VMContext points at, as the context's layout names it.
pub(crate) fn builtin_table() -> *const VMBuiltinTable {
    (&raw const VM_BUILTINS).cast()
}
