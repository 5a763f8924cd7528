//! A compiled module as the runtime needs it: metadata, bytes for data segments, engine-wide
//! type ids, and code registered with the trap handler.

use super::traphandlers::{CodeRegistration, register_code};
use crate::environ::{CompiledCode, ModuleInfo};
use std::sync::Arc;

pub(crate) struct ModuleRuntime {
    pub info: Arc<ModuleInfo>,
    /// The binary; data segments are copied out of it.
    pub bytes: Arc<[u8]>,
    /// Engine-wide signature id of each of the module's types.
    pub type_ids: Box<[u32]>,
    pub code: Arc<dyn CompiledCode>,
    _registrations: Vec<CodeRegistration>,
}

impl ModuleRuntime {
    pub fn new(
        info: Arc<ModuleInfo>,
        bytes: Arc<[u8]>,
        type_ids: Box<[u32]>,
        code: Arc<dyn CompiledCode>,
    ) -> ModuleRuntime {
        let registrations = register_all(code.code_ranges());
        ModuleRuntime {
            info,
            bytes,
            type_ids,
            code,
            _registrations: registrations,
        }
    }

    /// The module type index whose engine-wide id is `type_id`.
    pub fn type_index_of(&self, type_id: u32) -> Option<u32> {
        self.type_ids
            .iter()
            .position(|&id| id == type_id)
            .map(|index| index as u32)
    }
}

/// Tells the trap handler about every range of code, so faults in it become traps.
pub(crate) fn register_all<'a>(
    ranges: impl IntoIterator<Item = &'a crate::environ::CodeRange>,
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
            register_code(range.start, range.start + range.len, traps)
        })
        .collect()
}
