//! The seam between the compiler and the runtime: finished machine code, described without
//! naming Cranelift.

use super::TrapSite;

/// One finished function or trampoline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeRange {
    /// Address of the first instruction.
    pub start: usize,
    /// Length in bytes.
    pub len: usize,
    /// Instructions in the range that raise traps.
    pub traps: Vec<TrapSite>,
    /// Where the code of each wasm instruction starts, in code order: for backtraces.
    /// Empty for trampolines, which have no wasm source.
    pub sources: Vec<SourceSite>,
    /// For code inlined from other functions: the binary offsets of the inlined instruction
    /// and of the calls it was inlined at, outermost call first. A source site whose
    /// `wasm_offset` has [`INLINED`] set indexes this list.
    pub inlined: Vec<Vec<u32>>,
    /// The calls inside a `try_table`, where an exception thrown out of the callee lands.
    pub handlers: Vec<HandlerSite>,
}

/// A call inside a `try_table`: an exception thrown out of its callee resumes the function
/// at `handler_offset`, with the stack pointer `frame_offset` bytes below the function's frame
/// pointer and the exception in the first payload register.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct HandlerSite {
    /// Offset of the call's return address in the function's code.
    pub return_offset: u32,
    pub handler_offset: u32,
    pub frame_offset: u32,
}

/// The machine code of one wasm instruction starts at `code_offset` of its function's code;
/// the instruction is at byte `wasm_offset` of the module's binary, or, with [`INLINED`] set,
/// was inlined: the rest of `wasm_offset` indexes [`CodeRange::inlined`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SourceSite {
    pub code_offset: u32,
    pub wasm_offset: u32,
}

/// The bit of [`SourceSite::wasm_offset`] that marks inlined code; the compiler inlines
/// nothing in binaries of 2 GiB or more, whose offsets could have it set.
pub const INLINED: u32 = 1 << 31;

impl CodeRange {
    /// The binary offsets of the wasm instructions behind the code at `code_offset`,
    /// innermost first: the one instruction, or for inlined code the inlined instruction
    /// and then each call it was inlined at. Empty for code of no instruction.
    pub fn wasm_offsets(&self, code_offset: u32) -> Vec<u32> {
        let after = self
            .sources
            .partition_point(|site| site.code_offset <= code_offset);
        let Some(site) = after.checked_sub(1).map(|index| self.sources[index]) else {
            return Vec::new();
        };
        if site.wasm_offset & INLINED == 0 {
            return vec![site.wasm_offset];
        }
        self.inlined
            .get((site.wasm_offset & !INLINED) as usize)
            .map(|chain| chain.iter().rev().copied().collect())
            .unwrap_or_default()
    }
}

/// A compiled module's code.
///
/// # Safety
///
/// Implementors promise that every address they return is the start of finished, executable
/// machine code with the calling convention documented on the method, and that it stays
/// valid for as long as the implementor is alive. The runtime calls these addresses.
#[allow(
    unsafe_code,
    reason = "declares the contract the runtime relies on; no unsafe operation"
)]
pub unsafe trait CompiledCode: Send + Sync {
    /// Defined function `index` with the wasm calling convention:
    /// `(callee_vmctx, caller_vmctx, params...) -> results`.
    fn function(&self, index: u32) -> &CodeRange;

    /// Array-call trampoline for the module's type `index`:
    /// `extern "C" fn(callee_vmctx, caller_vmctx, wasm_call, values: *mut VMVal)`.
    fn array_trampoline(&self, index: u32) -> &CodeRange;

    /// Host-call trampoline for the module's type `index`, with the wasm convention, calling
    /// the entry of the `VMHostFuncContext` it receives as callee vmctx; compiled for the
    /// types of imported functions only (an empty range otherwise).
    fn host_call(&self, index: u32) -> &CodeRange;

    /// Every range of code, for trap handling.
    fn code_ranges(&self) -> Vec<&CodeRange>;
}

/// The trampolines of one signature, for host functions.
///
/// # Safety
///
/// As for [`CompiledCode`]: `array_call` has the array-call convention and `host_call` the wasm
/// convention, calling the entry of the `VMHostFuncContext` it receives as callee vmctx.
#[allow(
    unsafe_code,
    reason = "declares the contract the runtime relies on; no unsafe operation"
)]
pub unsafe trait HostTrampolineCode: Send + Sync {
    fn array_call(&self) -> &CodeRange;
    fn host_call(&self) -> &CodeRange;
}

/// The fast paths of a host mutex's `lock` and `unlock`, compiled once per engine.
///
/// # Safety
///
/// As for [`CompiledCode`]: both have the wasm convention of the host function they stand in
/// for (`lock`: `(param i64) (result i32)`, `unlock`: no parameters or results), reading the
/// lock word and the slow path's code from the `VMHostFuncContext` they receive as callee
/// vmctx.
#[allow(
    unsafe_code,
    reason = "declares the contract the runtime relies on; no unsafe operation"
)]
pub unsafe trait MutexFastPathCode: Send + Sync {
    fn path(&self, path: MutexFastPath) -> &CodeRange;
}

/// Which end of a host mutex a fast path serves.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MutexFastPath {
    /// `lock`, of wasm type `(param i64) (result i32)`: the word goes from free (0) to the
    /// caller's token, and the call returns 1.
    Lock,
    /// `unlock`, of wasm type `()`: the word goes from the caller's token back to free.
    Unlock,
}
