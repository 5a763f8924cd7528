//! Ownership of JIT-compiled code, so that it is freed exactly when nothing can run it
//! anymore, and the promises about that code the runtime relies on.

use super::{CompiledFunction, CompiledModule, HostTrampolines, MutexFastPaths};
use crate::environ::{
    CodeRange, CompiledCode, HostTrampolineCode, MutexFastPath, MutexFastPathCode,
};
use cranelift_jit::JITModule;

/// A `JITModule` whose code is freed when this value is dropped, including when compilation
/// fails halfway.
pub(crate) struct CodeMemory(Option<JITModule>);

impl CodeMemory {
    pub(crate) fn new(module: JITModule) -> Self {
        CodeMemory(Some(module))
    }

    /// The module, while its functions are being defined and finalized.
    pub(crate) fn module_mut(&mut self) -> &mut JITModule {
        self.0.as_mut().expect("the module is only taken on drop")
    }
}

// SAFETY: nothing in a `JITModule` is tied to the thread that created it: its code and data
// are plain memory mappings, and its symbol cache and lookup closures are owned data that
// moves along with it.
unsafe impl Send for CodeMemory {}

// SAFETY: `CodeMemory` gives access to the module only through `&mut self`, so shared
// references can never reach the module's interior mutability (its `RefCell` symbol cache).
unsafe impl Sync for CodeMemory {}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        if let Some(module) = self.0.take() {
            // SAFETY: a `CodeMemory` is owned by a compiled module or a set of trampolines,
            // which the runtime drops only once no instance or store can call their code, or
            // by a compilation that failed before handing out any function pointer. Either
            // way no function of this module is executing or will be called afterwards.
            unsafe { module.free_memory() };
        }
    }
}

// SAFETY: every range was located in the finalized `CodeMemory` that the module owns, so it
// stays executable for the module's lifetime; functions were compiled with the wasm signature
// of their type, array-call trampolines by `build_array_call` and host-call trampolines by
// `build_host_call`.
unsafe impl CompiledCode for CompiledModule {
    fn function(&self, index: u32) -> &CodeRange {
        &self.functions[index as usize]
    }

    fn array_trampoline(&self, index: u32) -> &CodeRange {
        &self.array_trampolines[index as usize]
    }

    fn host_call(&self, index: u32) -> &CodeRange {
        &self.host_calls[index as usize]
    }

    fn code_ranges(&self) -> Vec<&CodeRange> {
        self.functions
            .iter()
            .chain(&self.array_trampolines)
            .chain(&self.host_calls)
            .collect()
    }
}

// SAFETY: both ranges live in the `CodeMemory` owned by the trampolines, built by
// `build_array_call` and `build_host_call` for the same signature.
unsafe impl HostTrampolineCode for HostTrampolines {
    fn array_call(&self) -> &CompiledFunction {
        &self.array_call
    }

    fn host_call(&self) -> &CompiledFunction {
        &self.host_call
    }
}

// SAFETY: both ranges were located in the finalized `CodeMemory` the value owns; they were
// built by `build_mutex_fast_path` with the signatures the trait names.
unsafe impl MutexFastPathCode for MutexFastPaths {
    fn path(&self, path: MutexFastPath) -> &CompiledFunction {
        match path {
            MutexFastPath::Lock => &self.lock,
            MutexFastPath::Unlock => &self.unlock,
        }
    }
}
