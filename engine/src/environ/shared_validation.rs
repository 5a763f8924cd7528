//! The shared-everything-threads rules for shared functions that wasmparser leaves to engines.
//!
//! A shared function may run on any thread, so it may only reach shared state. wasmparser
//! rejects shared functions that touch unshared functions, globals, tables, structs and
//! arrays, but not those that touch unshared memories or segments, or that declare locals of
//! unshared types; this module checks those.

use super::module::{ModuleInfo, WasmError};
use wasmparser::{BinaryReader, FunctionBody, HeapType, MemArgTarget, Operator, ValType};

/// Rejects any shared function defined by the module that reaches thread-bound state.
/// `bytes` is the module binary `info` was parsed from.
pub(crate) fn check_shared_functions(info: &ModuleInfo, bytes: &[u8]) -> Result<(), WasmError> {
    for (defined, range) in info.function_bodies.iter().enumerate() {
        if !info.is_shared_function(info.num_imported_functions + defined as u32) {
            continue;
        }
        let body = FunctionBody::new(BinaryReader::new(&bytes[range.clone()], range.start as u64));
        let mut locals = body.get_locals_reader()?;
        for _ in 0..locals.get_count() {
            let offset = locals.original_position();
            let (_, ty) = locals.read()?;
            if !is_shareable(info, ty) {
                return invalid(
                    format!("shared functions cannot have locals of unshared type {ty}"),
                    offset,
                );
            }
        }
        let mut operators = body.get_operators_reader()?;
        while !operators.eof() {
            let offset = operators.original_position();
            if let Some(what) = unshared_access(info, &operators.read()?) {
                return invalid(
                    format!("shared functions cannot access unshared {what}"),
                    offset,
                );
            }
        }
    }
    Ok(())
}

fn invalid(message: String, offset: u64) -> Result<(), WasmError> {
    Err(WasmError::Invalid { message, offset })
}

/// Numeric and vector values hold no reference to anything, so only references can be
/// unshared.
pub(crate) fn is_shareable(info: &ModuleInfo, ty: ValType) -> bool {
    let ValType::Ref(ty) = ty else {
        return true;
    };
    match ty.heap_type() {
        HeapType::Abstract { shared, .. } => shared,
        HeapType::Concrete(index) | HeapType::Exact(index) => index
            .as_module_index()
            .is_some_and(|index| info.is_shared_type(index)),
    }
}

fn memory(info: &ModuleInfo, index: u32) -> Option<&'static str> {
    (!info.memories[index as usize].shared).then_some("memories")
}

/// What one immediate of an operator refers to that a shared function may not reach,
/// dispatched on wasmparser's name for the immediate so that every memory and segment
/// instruction, present or future, is covered without listing them.
macro_rules! unshared_immediate {
    ($info:ident, memarg, $value:ident) => {
        match $value.target {
            MemArgTarget::Memory(index) => memory($info, index),
            // Accesses to GC arrays are checked by wasmparser.
            MemArgTarget::Array(_) => None,
        }
    };
    ($info:ident, mem, $value:ident) => {
        memory($info, *$value)
    };
    ($info:ident, dst_mem, $value:ident) => {
        memory($info, *$value)
    };
    ($info:ident, src_mem, $value:ident) => {
        memory($info, *$value)
    };
    // wasmparser 0.263 cannot declare shared segments, so every segment is unshared.
    ($info:ident, data_index, $value:ident) => {{
        let _ = $value;
        Some("data segments")
    }};
    ($info:ident, array_data_index, $value:ident) => {{
        let _ = $value;
        Some("data segments")
    }};
    ($info:ident, elem_index, $value:ident) => {{
        let _ = $value;
        Some("element segments")
    }};
    ($info:ident, array_elem_index, $value:ident) => {{
        let _ = $value;
        Some("element segments")
    }};
    ($info:ident, $other:ident, $value:ident) => {{
        let _ = $value;
        None
    }};
}

macro_rules! define_unshared_access {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*) )*) => {
        /// The kind of unshared entity `op` refers to, if any.
        fn unshared_access(info: &ModuleInfo, op: &Operator<'_>) -> Option<&'static str> {
            match op {
                $(
                    Operator::$op $({ $($arg),* })? => {
                        $($(
                            if let Some(what) = unshared_immediate!(info, $arg, $arg) {
                                return Some(what);
                            }
                        )*)?
                    }
                )*
                _ => {}
            }
            None
        }
    };
}

wasmparser::for_each_operator!(define_unshared_access);
