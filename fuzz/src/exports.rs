//! A module's exports as both engines see them: read once from the binary, in order.

use crate::outcome::{Param, Value};
use wasmparser::{ExternalKind, RefType, ValType};

/// One export: a function with its parameters, or a global or memory to compare.
pub enum Export {
    /// A function, with the arguments the case calls it with and their types.
    Func {
        name: String,
        args: Vec<(Param, Value)>,
    },
    Global {
        name: String,
    },
    Memory {
        name: String,
    },
}

/// The module's exports in order (tables and tags are left out: nothing is compared there),
/// each function's arguments drawn from `rng`.
pub fn exports(
    wasm: &[u8],
    rng: &mut impl rand::Rng,
) -> Result<Vec<Export>, wasmparser::BinaryReaderError> {
    let signatures = crate::signatures::read(wasm)?;
    let exports = signatures.exports.into_iter().filter_map(|export| {
        let name = export.name;
        Some(match export.kind {
            ExternalKind::Func | ExternalKind::FuncExact => {
                let args = export
                    .params
                    .unwrap_or_default()
                    .iter()
                    .map(|ty| {
                        let param = param(ty);
                        (param, param.arbitrary(rng))
                    })
                    .collect();
                Export::Func { name, args }
            }
            ExternalKind::Global => Export::Global { name },
            ExternalKind::Memory => Export::Memory { name },
            ExternalKind::Table | ExternalKind::Tag => return None,
        })
    });
    Ok(exports.collect())
}

/// The kind of argument a parameter of type `ty` takes.
pub fn param(ty: &ValType) -> Param {
    match ty {
        ValType::I32 => Param::I32,
        ValType::I64 => Param::I64,
        ValType::F32 => Param::F32,
        ValType::F64 => Param::F64,
        ValType::V128 => Param::V128,
        ValType::Ref(ty) if *ty == RefType::EXTERNREF => Param::ExternRef,
        ValType::Ref(_) => Param::FuncRef,
    }
}
