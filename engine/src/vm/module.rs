//! A compiled module as the runtime needs it: metadata, bytes for data segments, engine-wide
//! type ids, and code registered with the trap handler.

use super::traphandlers::{CodeRegistration, register_code};
use crate::environ::{
    CodeRange, CompiledCode, HostTrampolineCode, ModuleInfo, ModuleTypes, MutexFastPath,
    MutexFastPathCode, TypeRegistry,
};
use std::sync::{Arc, Mutex, PoisonError};

/// A wasm function a trap's backtrace passed through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FrameSymbol {
    /// The module's name, from its `name` section.
    pub module_name: Option<String>,
    /// The function's index in its module, imports included.
    pub func_index: u32,
    /// The function's name, from the `name` section.
    pub func_name: Option<String>,
    /// The byte offset, in the module's binary, of the instruction the frame was at.
    pub wasm_offset: Option<u32>,
}

pub(crate) struct ModuleRuntime {
    /// Declared first so it drops first: the trap handler must forget the code before
    /// `code` frees it, or a new module could be placed at the same addresses while the old
    /// registration still claims them.
    _registrations: Vec<CodeRegistration>,
    pub info: Arc<ModuleInfo>,
    /// The binary; data segments are copied out of it.
    pub bytes: Arc<[u8]>,
    /// Engine-wide id and runtime descriptor of each of the module's types; objects the
    /// instances allocate point at the descriptors.
    pub types: ModuleTypes,
    /// The engine's registry, for function casts that need the subtype relation.
    registry: Arc<Mutex<TypeRegistry>>,
    pub code: Arc<dyn CompiledCode>,
}

impl Drop for ModuleRuntime {
    fn drop(&mut self) {
        let mut registry = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        registry.release(&self.types.groups);
    }
}

impl ModuleRuntime {
    pub fn new(
        info: Arc<ModuleInfo>,
        bytes: Arc<[u8]>,
        types: ModuleTypes,
        registry: Arc<Mutex<TypeRegistry>>,
        code: Arc<dyn CompiledCode>,
    ) -> ModuleRuntime {
        let registrations = register_all(code.code_ranges());
        ModuleRuntime {
            _registrations: registrations,
            info,
            bytes,
            types,
            registry,
            code,
        }
    }

    /// Whether engine type `sub` is `sup` or declares it as an ancestor.
    pub fn is_subtype(&self, sub: u32, sup: u32) -> bool {
        let registry = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        registry.is_subtype(sub, sup)
    }

    /// The wasm frames of the code at `pc`, innermost first, if one of this module's
    /// functions holds it: the function, preceded by the functions inlined into it there.
    pub fn symbolize(&self, pc: usize) -> Vec<FrameSymbol> {
        let found = (0..self.info.function_bodies.len() as u32).find_map(|defined| {
            let code = self.code.function(defined);
            let offset = pc
                .checked_sub(code.start)
                .filter(|&offset| offset < code.len)?;
            Some((defined, code.wasm_offsets(offset as u32)))
        });
        let Some((defined, offsets)) = found else {
            return Vec::new();
        };
        let Some((&outermost, inlined)) = offsets.split_last() else {
            return vec![self.function_symbol(defined)];
        };
        let inlined_frames = inlined.iter().map(|&offset| FrameSymbol {
            wasm_offset: Some(offset),
            ..self.function_symbol(self.info.defined_function_at(offset).unwrap_or(defined))
        });
        inlined_frames
            .chain([FrameSymbol {
                wasm_offset: Some(outermost),
                ..self.function_symbol(defined)
            }])
            .collect()
    }

    /// Defined function `defined` (imports not counted) by its names, at no offset.
    pub fn function_symbol(&self, defined: u32) -> FrameSymbol {
        let index = self.info.num_imported_functions + defined;
        FrameSymbol {
            module_name: self.info.names.module.clone(),
            func_index: index,
            func_name: self.info.names.functions.get(&index).cloned(),
            wasm_offset: None,
        }
    }

    /// The module type index whose engine-wide id is `type_id`.
    pub fn type_index_of(&self, type_id: u32) -> Option<u32> {
        self.types
            .ids
            .iter()
            .position(|&id| id == type_id)
            .map(|index| index as u32)
    }
}

/// Host-function trampolines of one signature, registered with the trap handler once for
/// every store of the engine that compiled them.
pub(crate) struct HostCode {
    /// First, so the registration drops before the code (see [`ModuleRuntime`]).
    _registrations: Vec<CodeRegistration>,
    pub code: Arc<dyn HostTrampolineCode>,
}

impl HostCode {
    pub fn new(code: Arc<dyn HostTrampolineCode>) -> HostCode {
        HostCode {
            _registrations: register_all([code.array_call(), code.host_call()]),
            code,
        }
    }

    /// The trampolines `module` compiled for its imported function type `type_index`, for
    /// a host function bound to such an import; `None` if it compiled none for that type.
    pub fn of_import(module: &Arc<ModuleRuntime>, type_index: u32) -> Option<HostCode> {
        if module.code.host_call(type_index).len == 0 {
            return None;
        }
        Some(HostCode {
            // The module registered its code when it was made.
            _registrations: Vec::new(),
            code: Arc::new(ImportTrampolines {
                module: Arc::clone(module),
                type_index,
            }),
        })
    }
}

/// A module's trampolines for one of its imported function types, kept alive (and
/// registered with the trap handler) by the module they belong to.
struct ImportTrampolines {
    module: Arc<ModuleRuntime>,
    type_index: u32,
}

// SAFETY: both ranges are code of `module`, which this value keeps alive: the array-call
// trampoline and the host-call trampoline (`CompiledCode::host_call`) of one function type,
// which have exactly the conventions this trait promises.
unsafe impl HostTrampolineCode for ImportTrampolines {
    fn array_call(&self) -> &CodeRange {
        self.module.code.array_trampoline(self.type_index)
    }

    fn host_call(&self) -> &CodeRange {
        self.module.code.host_call(self.type_index)
    }
}

/// The fast paths of host mutexes, registered with the trap handler (a slow path's host
/// error unwinds through them) for as long as a store holds them.
pub(crate) struct FastPathCode {
    /// First, so the registration drops before the code (see [`ModuleRuntime`]).
    _registrations: Vec<CodeRegistration>,
    pub code: Arc<dyn MutexFastPathCode>,
}

impl FastPathCode {
    pub fn new(code: Arc<dyn MutexFastPathCode>) -> FastPathCode {
        FastPathCode {
            _registrations: register_all([
                code.path(MutexFastPath::Lock),
                code.path(MutexFastPath::Unlock),
            ]),
            code,
        }
    }
}

/// Tells the trap handler about every range of code, so faults in it become traps.
pub(crate) fn register_all<'a>(
    ranges: impl IntoIterator<Item = &'a CodeRange>,
) -> Vec<CodeRegistration> {
    ranges
        .into_iter()
        .filter(|range| range.len > 0)
        .map(|range| {
            let traps = range
                .traps
                .iter()
                .map(|site| (site.code_offset, site.kind))
                .collect();
            register_code(
                range.start,
                range.start + range.len,
                traps,
                range.handlers.clone(),
            )
        })
        .collect()
}
