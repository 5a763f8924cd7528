//! The libcalls that JIT code reaches through the builtins array in every VMContext.
//!
//! The list is written once, here. The compiler expands it into Cranelift signatures and the
//! runtime into `extern "C"` entry points and the array itself, so their order and types
//! cannot disagree.

/// The `location` the race-detection and exploration builtins pass for the instruction at
/// byte `offset` of the module's binary, in function `function`: the function index in the
/// high half, the offset in the low half.
pub fn code_location(function: u32, offset: u64) -> u64 {
    (u64::from(function) << 32) | (offset & 0xffff_ffff)
}

/// The function index and byte offset of a [`code_location`].
pub fn split_location(location: u64) -> (u32, u32) {
    ((location >> 32) as u32, location as u32)
}

/// Invokes `$mac` with every builtin as `name(param: type, ...) -> result;`.
///
/// Parameter types are `vmctx` (the caller's VMContext), `thread` (the caller's
/// VMThreadContext), `i32`, `i64` or `pointer`. A builtin that can trap returns `i32`: non-zero
/// means the trap named in its doc comment must be raised by the caller, so the trap kind is
/// known statically at the call site.
macro_rules! foreach_builtin_function {
    ($mac:ident) => {
        $mac! {
            /// `memory.grow`: returns the old size in pages, or -1. Addresses, sizes and
            /// page counts are 64-bit in every builtin: JIT code zero-extends those of a
            /// 32-bit memory or table, and wraps results back.
            memory_grow(vmctx: vmctx, memory: i32, delta: i64) -> i64;
            /// `memory.fill`; non-zero result: out of bounds memory access.
            memory_fill(vmctx: vmctx, memory: i32, dst: i64, value: i32, len: i64) -> i32;
            /// `memory.copy`; non-zero result: out of bounds memory access.
            memory_copy(vmctx: vmctx, dst_memory: i32, src_memory: i32, dst: i64, src: i64, len: i64) -> i32;
            /// `memory.init`; non-zero result: out of bounds memory access.
            memory_init(vmctx: vmctx, memory: i32, data: i32, dst: i64, src: i32, len: i32) -> i32;
            /// `data.drop`.
            data_drop(vmctx: vmctx, data: i32) -> ();
            /// `table.grow`: returns the old size, or -1.
            table_grow(vmctx: vmctx, table: i32, init: pointer, delta: i64) -> i64;
            /// `table.fill`; non-zero result: out of bounds table access.
            table_fill(vmctx: vmctx, table: i32, dst: i64, value: pointer, len: i64) -> i32;
            /// `table.copy`; non-zero result: out of bounds table access.
            table_copy(vmctx: vmctx, dst_table: i32, src_table: i32, dst: i64, src: i64, len: i64) -> i32;
            /// `table.init`; non-zero result: out of bounds table access.
            table_init(vmctx: vmctx, table: i32, elem: i32, dst: i64, src: i32, len: i32) -> i32;
            /// `elem.drop`.
            elem_drop(vmctx: vmctx, elem: i32) -> ();
            /// `memory.atomic.notify` on a shared memory, at an address the caller has already
            /// checked for alignment and bounds: returns how many waiters were woken.
            memory_atomic_notify(vmctx: vmctx, memory: i32, addr: i64, count: i32) -> i32;
            /// `memory.atomic.wait32` on a shared memory, at a checked address: returns 0 (woken),
            /// 1 (value differed), 2 (timed out) or 3 (the thread was interrupted, which the
            /// caller turns into a trap). A negative timeout waits forever.
            memory_atomic_wait32(vmctx: vmctx, memory: i32, addr: i64, expected: i32, timeout: i64) -> i32;
            /// `memory.atomic.wait64`, as `memory_atomic_wait32` with a 64-bit expected value.
            memory_atomic_wait64(vmctx: vmctx, memory: i32, addr: i64, expected: i64, timeout: i64) -> i32;
            /// `throw`: a new exception of the module's tag `tag`, its payload slots zeroed for
            /// the caller to fill; 0 when the GC heap has no room for it.
            exception_new(vmctx: vmctx, tag: i32) -> pointer;
            /// Throws the non-null exception `exn` out of the wasm frame whose frame pointer
            /// is `fp`, which has no handler for it: resumes at the nearest handler of a
            /// calling wasm frame, or ends the call from the host. Never returns.
            throw_ref(vmctx: vmctx, exn: pointer, fp: pointer) -> ();
            /// With race detection: a plain access of `size` bytes at native `address` of a
            /// shared memory, by the code at `location` (function index in the high half,
            /// wasm offset in the low half); `write` is 0 or 1.
            race_access(vmctx: vmctx, address: i64, size: i32, location: i64, write: i32) -> ();
            /// With race detection: just before an atomic access, `wait` or `notify` at
            /// native `address`.
            race_release(vmctx: vmctx, address: i64) -> ();
            /// With race detection: just after an atomic access, `wait` or `notify`.
            race_acquire(vmctx: vmctx, address: i64) -> ();
            /// With race detection: an `atomic.fence`.
            race_fence(vmctx: vmctx) -> ();
            /// With exploration: a schedule point before the operation numbered `operation`
            /// (`weft_threads::Operation::code`) at native `address` (0 for none), by the code
            /// at `location`.
            explore_point(vmctx: vmctx, operation: i32, address: i64, location: i64) -> ();
            /// A call through a funcref whose context is another instance's: returns the
            /// running thread's block for that instance (creating it on the thread's first
            /// call there), or the caller's own block when the callee is a host function.
            enter_instance(vmctx: vmctx, thread: thread, callee_vmctx: pointer) -> pointer;
            /// `struct.new` and `array.new*` without initial elements: a zeroed object of the
            /// module's type `ty` whose header is filled in (`length` is ignored for structs).
            /// Returns 0 when the GC heap cannot hold it.
            gc_alloc(vmctx: vmctx, ty: i32, length: i32) -> pointer;
            /// `array.new_data`: returns the new array, 0 when the heap cannot hold it, or 1
            /// when the range is outside the data segment (out of bounds memory access).
            array_new_data(vmctx: vmctx, ty: i32, data: i32, offset: i32, length: i32) -> pointer;
            /// `array.new_elem`, as `array_new_data` with an element segment (out of bounds
            /// table access).
            array_new_elem(vmctx: vmctx, ty: i32, elem: i32, offset: i32, length: i32) -> pointer;
            /// `array.fill` on a non-null array; non-zero result: out of bounds array access.
            array_fill(vmctx: vmctx, ty: i32, array: pointer, dst: i32, value_low: i64, value_high: i64, length: i32) -> i32;
            /// `array.copy` between non-null arrays of type `ty`'s element size; non-zero
            /// result: out of bounds array access.
            array_copy(vmctx: vmctx, ty: i32, dst_array: pointer, dst: i32, src_array: pointer, src: i32, length: i32) -> i32;
            /// `array.init_data` on a non-null array: 0, 1 for an out of bounds array access or
            /// 2 for an out of bounds memory access.
            array_init_data(vmctx: vmctx, ty: i32, array: pointer, dst: i32, data: i32, src: i32, length: i32) -> i32;
            /// `array.init_elem`, as `array_init_data` with 2 meaning an out of bounds table
            /// access.
            array_init_elem(vmctx: vmctx, ty: i32, array: pointer, dst: i32, elem: i32, src: i32, length: i32) -> i32;
            /// Whether engine type `sub` is `sup` or one of its declared subtypes (1 or 0), for
            /// casts of function references and `call_indirect` to non-final types.
            is_subtype(vmctx: vmctx, sub: i32, sup: i32) -> i32;
            /// Plain `global.get` of a mutable shared v128 global: copies its 16 bytes to
            /// `out` with one atomic load, so a concurrent `global.set` is never seen half
            /// done.
            shared_v128_load(vmctx: vmctx, global: pointer, out: pointer) -> ();
            /// Plain `global.set` of a mutable shared v128 global: one atomic 16-byte store of
            /// the bytes at `value`.
            shared_v128_store(vmctx: vmctx, global: pointer, value: pointer) -> ();
        }
    };
}
pub(crate) use foreach_builtin_function;

/// The kinds of builtin parameters, for code that builds signatures from the list.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BuiltinParam {
    /// The calling instance's VMContext pointer.
    VmCtx,
    /// The calling thread's VMThreadContext pointer.
    Thread,
    /// A 32-bit integer.
    I32,
    /// A 64-bit integer.
    I64,
    /// A pointer-sized value (table elements are pointer-sized).
    Pointer,
}

macro_rules! define_builtin_index {
    ($( $(#[$attr:meta])* $name:ident($($param:ident: $ty:ident),*) -> $result:tt;)*) => {
        /// Index of a builtin in the builtins array.
        #[allow(non_camel_case_types, reason = "variants are named after the libcalls")]
        #[derive(Copy, Clone, Debug, PartialEq, Eq)]
        #[repr(u32)]
        pub enum BuiltinIndex {
            $( $(#[$attr])* $name, )*
        }

        impl BuiltinIndex {
            /// Every builtin, in array order (for the tests that check the array).
            #[cfg(test)]
            pub const ALL: &'static [BuiltinIndex] = &[$(BuiltinIndex::$name),*];

            /// Position in the builtins array.
            pub const fn index(self) -> u32 {
                self as u32
            }

            /// The libcall's name, for the tests' diagnostics.
            #[cfg(test)]
            pub const fn name(self) -> &'static str {
                match self { $(BuiltinIndex::$name => stringify!($name),)* }
            }

            /// Parameter kinds, in order.
            pub fn params(self) -> &'static [BuiltinParam] {
                match self {
                    $(BuiltinIndex::$name => &[$(builtin_param!($ty)),*],)*
                }
            }

            /// The kind of the builtin's result, if it has one (`I32` or `Pointer`).
            pub const fn result(self) -> Option<BuiltinParam> {
                match self { $(BuiltinIndex::$name => builtin_returns!($result),)* }
            }
        }
    };
}

macro_rules! builtin_param {
    (vmctx) => {
        BuiltinParam::VmCtx
    };
    (thread) => {
        BuiltinParam::Thread
    };
    (i32) => {
        BuiltinParam::I32
    };
    (i64) => {
        BuiltinParam::I64
    };
    (pointer) => {
        BuiltinParam::Pointer
    };
}

macro_rules! builtin_returns {
    (i32) => {
        Some(BuiltinParam::I32)
    };
    (i64) => {
        Some(BuiltinParam::I64)
    };
    (pointer) => {
        Some(BuiltinParam::Pointer)
    };
    (()) => {
        None
    };
}

foreach_builtin_function!(define_builtin_index);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_takes_the_vmctx_first() {
        for builtin in BuiltinIndex::ALL {
            assert_eq!(
                builtin.params().first(),
                Some(&BuiltinParam::VmCtx),
                "{}",
                builtin.name()
            );
        }
    }

    #[test]
    fn indices_are_dense() {
        for (position, builtin) in BuiltinIndex::ALL.iter().enumerate() {
            assert_eq!(builtin.index() as usize, position);
        }
    }
}
