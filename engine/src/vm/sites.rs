//! Where in a program the concurrency tools saw something happen. Compiled code names an
//! instruction by its location (`environ::code_location`) and its module by a key, the
//! address of the runtime module;
//! [`SiteModules`] keeps each module a key names alive, so that a report can name functions
//! after the module itself is gone.

use super::module::ModuleRuntime;
use crate::environ::split_location;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// A code site as a report shows it: the function as backtraces name it
/// (`module!function`) and the instruction's byte offset in the binary.
pub(crate) fn describe(module: &ModuleRuntime, location: u64) -> (String, u32) {
    let (function, offset) = split_location(location);
    (module.info.names.function_label(function), offset)
}

/// The modules whose code the sites of one report belong to, by key.
#[derive(Default)]
pub(crate) struct SiteModules(Mutex<HashMap<u64, Arc<ModuleRuntime>>>);

impl SiteModules {
    /// The key sites of `module`'s code carry; the module is kept from now on.
    pub fn key(&self, module: &Arc<ModuleRuntime>) -> u64 {
        let key = Arc::as_ptr(module) as u64;
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key)
            .or_insert_with(|| Arc::clone(module));
        key
    }

    /// The module of `key`; `None` for a site that names none (key 0).
    pub fn module(&self, key: u64) -> Option<Arc<ModuleRuntime>> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .cloned()
    }
}
