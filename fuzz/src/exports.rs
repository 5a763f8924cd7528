//! A module's exports as both engines see them: read once from the binary, in order.

use crate::outcome::{Param, Value};
use wasmparser::{CompositeInnerType, ExternalKind, Parser, Payload, RefType, ValType};

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
    let mut types = Vec::new();
    let mut functions = Vec::new();
    let mut exports = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::TypeSection(section) => {
                for group in section {
                    for ty in group?.into_types() {
                        // Struct and array types have no parameters; no function has them.
                        types.push(match &ty.composite_type.inner {
                            CompositeInnerType::Func(func) => {
                                func.params().iter().map(param).collect()
                            }
                            _ => Vec::new(),
                        });
                    }
                }
            }
            Payload::FunctionSection(section) => {
                for ty in section {
                    functions.push(ty?);
                }
            }
            Payload::ExportSection(section) => {
                for export in section {
                    let export = export?;
                    let name = export.name.to_string();
                    exports.push(match export.kind {
                        ExternalKind::Func | ExternalKind::FuncExact => {
                            let params = &types[functions[export.index as usize] as usize];
                            let args = params
                                .iter()
                                .map(|&param| (param, param.arbitrary(rng)))
                                .collect();
                            Export::Func { name, args }
                        }
                        ExternalKind::Global => Export::Global { name },
                        ExternalKind::Memory => Export::Memory { name },
                        ExternalKind::Table | ExternalKind::Tag => continue,
                    });
                }
            }
            _ => {}
        }
    }
    Ok(exports)
}

fn param(ty: &ValType) -> Param {
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
