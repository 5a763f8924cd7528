//! How wasm values and function types appear in Cranelift signatures.

use crate::environ::{WasmError, unsupported};
use cranelift_codegen::ir::{
    AbiParam, ArgumentPurpose, Endianness, MemFlagsData, Signature, Type, types,
};
use cranelift_codegen::isa::CallConv;
use wasmparser::{AbstractHeapType, FuncType, HeapType, RefType, ValType};

/// The one Cranelift type of every v128 value on the operand stack, in locals, globals and
/// signatures. SIMD operators bitcast to the lane shape they need and back.
pub(crate) const V128: Type = types::I8X16;

/// Flags for bitcasts between vector shapes: wasm numbers lanes little-endian.
pub(crate) const LITTLE_ENDIAN: MemFlagsData =
    MemFlagsData::new().with_endianness(Endianness::Little);

/// The Cranelift type of a wasm value. References are pointer-sized words with 0 as null: a
/// funcref is a `*const VMFuncRef`; in the any and extern hierarchies a word is a tagged i31
/// (`environ::i31`), a host-value handle or the address of a struct or array
/// (`environ::gc`).
pub(crate) fn value_type(ty: ValType, offset: u64) -> Result<Type, WasmError> {
    match ty {
        ValType::I32 => Ok(types::I32),
        ValType::I64 => Ok(types::I64),
        ValType::F32 => Ok(types::F32),
        ValType::F64 => Ok(types::F64),
        ValType::Ref(r) if is_supported_ref(r) => Ok(types::I64),
        ValType::V128 => Ok(V128),
        ValType::Ref(r) => unsupported(format!("reference type {r}"), offset),
    }
}

/// Whether weft represents `ty`: every reference of the function, extern, any and exception
/// hierarchies (an exnref is the address of an exception object), shared or not, nullable or
/// not. Continuations (stack switching) and exact types (custom
/// descriptors) are not supported.
pub(crate) fn is_supported_ref(ty: RefType) -> bool {
    use AbstractHeapType as A;
    match ty.heap_type() {
        HeapType::Concrete(_) => true,
        HeapType::Abstract { ty, .. } => !matches!(ty, A::Cont | A::NoCont),
        HeapType::Exact(_) => false,
    }
}

/// Cranelift types of a list of wasm values.
pub(crate) fn value_types(tys: &[ValType], offset: u64) -> Result<Vec<Type>, WasmError> {
    tys.iter().map(|&ty| value_type(ty, offset)).collect()
}

/// The signature of code with the wasm calling convention:
/// `(vmctx, thread, params...) -> results`, where `vmctx` is the callee instance's VMContext
/// and `thread` the running thread's block for that instance. The block carries the
/// `VMContext` purpose because it is what the stack-limit check reads.
pub(crate) fn wasm_signature(
    call_conv: CallConv,
    ty: &FuncType,
    offset: u64,
) -> Result<Signature, WasmError> {
    let mut sig = Signature::new(call_conv);
    sig.params.push(AbiParam::new(types::I64));
    sig.params
        .push(AbiParam::special(types::I64, ArgumentPurpose::VMContext));
    for param in value_types(ty.params(), offset)? {
        sig.params.push(AbiParam::new(param));
    }
    for result in value_types(ty.results(), offset)? {
        sig.returns.push(AbiParam::new(result));
    }
    Ok(sig)
}

/// The wasm signature of function type `type_index`.
pub(crate) fn func_signature(signatures: &[Option<Signature>], type_index: u32) -> &Signature {
    signatures[type_index as usize]
        .as_ref()
        .expect("validation makes the index a function type")
}
