//! What a module's binary says about its interface, read once for every target that needs
//! it: its function imports, and its exports in order with each exported function's
//! parameter types.

use wasmparser::{CompositeInnerType, ExternalKind, Parser, Payload, TypeRef, ValType};

/// One export.
pub struct ExportSignature {
    pub name: String,
    pub kind: ExternalKind,
    /// An exported function's parameter types; `None` for anything else.
    pub params: Option<Vec<ValType>>,
}

/// A module's function imports (module and name) and exports, each in order.
pub struct Signatures {
    pub function_imports: Vec<(String, String)>,
    pub exports: Vec<ExportSignature>,
}

/// Reads `wasm`'s imports and exports.
pub fn read(wasm: &[u8]) -> wasmparser::Result<Signatures> {
    // The parameters of each type index (`None` for struct and array types), and the type
    // index of each function index, imports first.
    let mut types: Vec<Option<Vec<ValType>>> = Vec::new();
    let mut functions: Vec<u32> = Vec::new();
    let mut signatures = Signatures {
        function_imports: Vec::new(),
        exports: Vec::new(),
    };
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::TypeSection(section) => {
                for group in section {
                    for ty in group?.into_types() {
                        types.push(match &ty.composite_type.inner {
                            CompositeInnerType::Func(func) => Some(func.params().to_vec()),
                            _ => None,
                        });
                    }
                }
            }
            Payload::ImportSection(section) => {
                for import in section.into_imports() {
                    let import = import?;
                    if let TypeRef::Func(ty) | TypeRef::FuncExact(ty) = import.ty {
                        functions.push(ty);
                        signatures
                            .function_imports
                            .push((import.module.to_string(), import.name.to_string()));
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
                    let params = match export.kind {
                        ExternalKind::Func | ExternalKind::FuncExact => {
                            let ty = functions.get(export.index as usize);
                            let params = ty.and_then(|&ty| types.get(ty as usize)?.clone());
                            Some(params.unwrap_or_default())
                        }
                        _ => None,
                    };
                    signatures.exports.push(ExportSignature {
                        name: export.name.to_string(),
                        kind: export.kind,
                        params,
                    });
                }
            }
            _ => {}
        }
    }
    Ok(signatures)
}
