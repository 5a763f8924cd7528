//! The `thread-locals` custom section: weft's encoding of the proposal's `thread_local`
//! globals, which have no binary encoding yet (see DESIGN.md §2).
//!
//! The section is a vector of u32 indices of defined globals. Each listed global gets one
//! copy per thread, kept in the thread's VMThreadContext; its slot there is its position in
//! the section. The proposal requires a thread-local global to be mutable, of a type valid
//! as shared, and defaultable with the default value as its initializer, so that a new thread
//! can start without running any initializer.
//!
//! A thread-local global may be declared `shared`, and must be for shared functions to reach
//! it (validation forbids them unshared globals); the section then gives it one copy per
//! thread instead of one for all.

use super::module::{ConstOp, ModuleInfo, WasmError};
use super::shared_validation::is_shareable;
use wasmparser::{BinaryReader, ValType};

/// Name of the custom section.
pub const SECTION_NAME: &str = "thread-locals";

/// Decodes the section's global indices. `offset` is the section's offset in the module, for
/// error messages.
pub(crate) fn parse(data: &[u8], offset: u64) -> Result<Vec<u32>, WasmError> {
    let mut reader = BinaryReader::new(data, offset);
    let count = reader.read_var_u32()?;
    let mut globals = Vec::new();
    for _ in 0..count {
        globals.push(reader.read_var_u32()?);
    }
    if !reader.eof() {
        return invalid(
            "unexpected data after the global indices".to_string(),
            reader.original_position(),
        );
    }
    Ok(globals)
}

fn invalid<T>(message: String, offset: u64) -> Result<T, WasmError> {
    Err(WasmError::Invalid {
        message: format!("invalid `{SECTION_NAME}` section: {message}"),
        offset,
    })
}

/// Checks the globals listed in the section against the proposal's rules and records each
/// one's slot in `info.thread_local_slots`.
pub(crate) fn validate(info: &mut ModuleInfo, offset: u64) -> Result<(), WasmError> {
    info.thread_local_slots = vec![None; info.globals.len()];
    for (slot, &global) in info.thread_locals.iter().enumerate() {
        let index = global as usize;
        let Some(ty) = info.globals.get(index) else {
            return invalid(
                format!(
                    "global {global} is out of range (the module has {} globals)",
                    info.globals.len()
                ),
                offset,
            );
        };
        let Some(defined) = index.checked_sub(info.num_imported_globals as usize) else {
            return invalid(
                format!("global {global} is imported; only defined globals can be thread-local"),
                offset,
            );
        };
        if info.thread_local_slots[index].is_some() {
            return invalid(format!("global {global} is listed twice"), offset);
        }
        if !ty.mutable {
            return invalid(
                format!("global {global} is immutable; thread-local globals must be mutable"),
                offset,
            );
        }
        if !is_shareable(info, ty.content_type) {
            return invalid(
                format!(
                    "global {global} has type {}, which is not valid as shared",
                    ty.content_type
                ),
                offset,
            );
        }
        let default = match ty.content_type {
            ValType::I32 => ConstOp::I32Const(0),
            ValType::I64 => ConstOp::I64Const(0),
            ValType::F32 => ConstOp::F32Const(0),
            ValType::F64 => ConstOp::F64Const(0),
            ValType::V128 => ConstOp::V128Const(0),
            ValType::Ref(r) if r.is_nullable() => ConstOp::RefNull,
            other => {
                return invalid(
                    format!("global {global} has type {other}, which is not defaultable"),
                    offset,
                );
            }
        };
        if info.global_inits[defined].ops != [default] {
            return invalid(
                format!(
                    "global {global} must be initialized to the default value of {}",
                    ty.content_type
                ),
                offset,
            );
        }
        info.thread_local_slots[index] = Some(slot as u32);
    }
    Ok(())
}
