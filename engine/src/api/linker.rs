//! `Linker`: resolves imports by module and field name.

use super::engine::Engine;
use super::error::{Error, LinkError};
use super::externals::Extern;
use super::func::{Caller, HostFuncDef};
use super::instance::Instance;
use super::module::Module;
use super::store::AsContextMut;
use super::typed::{IntoFunc, IntoSharedFunc};
use super::types::{ExternType, FuncType};
use super::values::Val;
use crate::environ::EntityIndex;
use crate::vm::{HostCode, Intrinsic};
use std::collections::HashMap;

enum Definition<T> {
    Extern(Extern),
    /// Host functions are store-independent until instantiation adds them to a store.
    HostFunc(HostFuncDef<T>),
}

/// Named definitions that satisfy module imports, for stores of data type `T`.
///
/// A definition is an item of a store ([`define`](Self::define),
/// [`instance`](Self::instance)) or a host function, which belongs to no store until an
/// instantiation adds it to one ([`func_wrap`](Self::func_wrap),
/// [`func_wrap_shared`](Self::func_wrap_shared), [`func_new`](Self::func_new)), so one
/// linker can instantiate in many stores. The `"wasm:thread"` intrinsics (see the crate
/// docs) are always there without being defined.
pub struct Linker<T> {
    engine: Engine,
    definitions: HashMap<(String, String), Definition<T>>,
    allow_shadowing: bool,
}

impl<T: 'static> Linker<T> {
    /// The engine whose modules this linker links, as in Wasmtime.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// An empty linker for modules of `engine`.
    pub fn new(engine: &Engine) -> Linker<T> {
        Linker {
            engine: engine.clone(),
            definitions: HashMap::new(),
            allow_shadowing: false,
        }
    }

    /// Whether a later definition may replace an earlier one of the same name (off by
    /// default, so accidental duplicates are reported).
    pub fn allow_shadowing(&mut self, allow: bool) -> &mut Self {
        self.allow_shadowing = allow;
        self
    }

    fn insert(
        &mut self,
        module: &str,
        name: &str,
        definition: Definition<T>,
    ) -> Result<&mut Self, Error> {
        let key = (module.to_string(), name.to_string());
        if !self.allow_shadowing && self.definitions.contains_key(&key) {
            return Err(LinkError::Duplicate {
                module: key.0,
                name: key.1,
            }
            .into());
        }
        self.definitions.insert(key, definition);
        Ok(self)
    }

    /// Defines `module::name` as `item`: a [`Func`](crate::Func), [`Memory`](crate::Memory),
    /// [`SharedMemory`](crate::SharedMemory), [`Global`](crate::Global),
    /// [`Table`](crate::Table) or [`Extern`]. Every item but a shared memory belongs to one
    /// store, and instantiating in another fails with
    /// [`UsageError::WrongStore`](crate::UsageError::WrongStore).
    ///
    /// # Errors
    ///
    /// [`LinkError::Duplicate`] when the name is taken, unless
    /// [`allow_shadowing`](Self::allow_shadowing) is on; the same for every `define_*` and
    /// `func_*` method.
    pub fn define(
        &mut self,
        module: &str,
        name: &str,
        item: impl Into<Extern>,
    ) -> Result<&mut Self, Error> {
        self.insert(module, name, Definition::Extern(item.into()))
    }

    /// Defines a host function from a typed Rust closure: see [`IntoFunc`] for the
    /// closures it takes and [`HostResult`](crate::HostResult) for what they may return.
    /// It is store-bound, like [`Func::wrap`](crate::Func::wrap)'s.
    pub fn func_wrap<Params, Results>(
        &mut self,
        module: &str,
        name: &str,
        func: impl IntoFunc<T, Params, Results>,
    ) -> Result<&mut Self, Error> {
        let definition = func.into_func_def(&self.engine);
        self.insert(module, name, Definition::HostFunc(definition))
    }

    /// Defines `definition` as `module::name`.
    pub(crate) fn define_host_func(
        &mut self,
        module: &str,
        name: &str,
        definition: HostFuncDef<T>,
    ) -> Result<&mut Self, Error> {
        self.insert(module, name, Definition::HostFunc(definition))
    }

    /// Defines a *store-free* host function from a typed Rust closure: it gets no store, so
    /// any thread may call it. Its type is shared, so shared functions may import it, and
    /// [`instantiate`](Self::instantiate) also gives it to an unshared import of the same
    /// signature. The closure may take a [`SharedCaller`](crate::SharedCaller) first, for
    /// the calling instance's memories.
    pub fn func_wrap_shared<Params, Results>(
        &mut self,
        module: &str,
        name: &str,
        func: impl IntoSharedFunc<Params, Results>,
    ) -> Result<&mut Self, Error> {
        self.insert(
            module,
            name,
            Definition::HostFunc(func.into_shared_func_def()),
        )
    }

    /// Defines a host function of type `ty` with a dynamically typed body, as
    /// [`Func::new`](crate::Func::new) makes one.
    pub fn func_new(
        &mut self,
        module: &str,
        name: &str,
        ty: FuncType,
        func: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<(), Error> + Send + Sync + 'static,
    ) -> Result<&mut Self, Error> {
        let definition = HostFuncDef::new(&self.engine, ty, func);
        self.insert(module, name, Definition::HostFunc(definition))
    }

    /// Defines every export of `instance` under the module name `module`.
    ///
    /// # Panics
    ///
    /// If `store` is not the store `instance` belongs to.
    pub fn instance(
        &mut self,
        mut store: impl AsContextMut<Data = T>,
        module: &str,
        instance: Instance,
    ) -> Result<&mut Self, Error> {
        for (name, item) in instance.exports(&mut store) {
            self.define(module, &name, item)?;
        }
        Ok(self)
    }

    /// Defines every function import of `module` that this linker cannot resolve as a host
    /// function that fails when called, with [`LinkError::UnknownImport`] naming the import:
    /// a module can then be instantiated, and run as far as it goes, without the functions
    /// it does not use. Imports of memories, tables and globals stay unknown. The functions
    /// need no store, so a shared import gets one too, and they fail the same way on any
    /// thread.
    pub fn define_unknown_imports_as_traps(&mut self, module: &Module) -> Result<(), Error> {
        for import in module.imports() {
            let ExternType::Func(ty) = import.ty() else {
                continue;
            };
            let (module, name) = (import.module(), import.name());
            let intrinsic = module == Intrinsic::MODULE && Intrinsic::by_name(name).is_some();
            if intrinsic || self.is_defined(module, name) {
                continue;
            }
            let definition = HostFuncDef::unknown_import(ty.clone(), module, name);
            self.insert(module, name, Definition::HostFunc(definition))?;
        }
        Ok(())
    }

    /// Whether the linker itself defines `module::name` (the `"wasm:thread"` intrinsics it
    /// provides on its own do not count).
    pub fn is_defined(&self, module: &str, name: &str) -> bool {
        self.definitions
            .contains_key(&(module.to_string(), name.to_string()))
    }

    /// The definition of `module::name`, added to `store` if it is a host function; `None`
    /// if there is none. The `Err` case is [`Func::wrap`](crate::Func::wrap)'s.
    pub fn get(
        &self,
        store: impl AsContextMut<Data = T>,
        module: &str,
        name: &str,
    ) -> Option<Result<Extern, Error>> {
        let mut store = store;
        let Some(definition) = self
            .definitions
            .get(&(module.to_string(), name.to_string()))
        else {
            // The `"wasm:thread"` intrinsics are always there unless the linker defines a
            // name of that module itself.
            if module != Intrinsic::MODULE {
                return None;
            }
            let intrinsic = HostFuncDef::thread_intrinsic(store.as_context_mut().opaque(), name)?;
            return Some(intrinsic.instantiate(store).map(Extern::Func));
        };
        Some(match definition {
            Definition::Extern(item) => Ok(item.clone()),
            Definition::HostFunc(func) => func.instantiate(store).map(Extern::Func),
        })
    }

    /// Resolves `module`'s imports by name and instantiates it in `store`, as
    /// [`Instance::new`] does; host function definitions are added to `store` first.
    ///
    /// # Errors
    ///
    /// [`LinkError::UnknownImport`] for an import the linker does not define, then
    /// [`Instance::new`]'s errors.
    pub fn instantiate(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &Module,
    ) -> Result<Instance, Error> {
        let info = module.info();
        let imports = module
            .imports()
            .zip(&info.imports)
            .map(|(import, entity)| {
                let key = (import.module().to_string(), import.name().to_string());
                // A store-free host function serves shared and unshared imports alike.
                if let (Some(Definition::HostFunc(func)), ExternType::Func(wanted)) =
                    (self.definitions.get(&key), import.ty())
                {
                    // Entered through the trampolines the module compiled for the import's
                    // type, so instantiating compiles nothing; a function of other value
                    // types fails to link below, through the engine's trampolines.
                    let same_values = func.ty.params() == wanted.params()
                        && func.ty.results() == wanted.results();
                    let trampolines = match entity.index {
                        EntityIndex::Function(index) if same_values => {
                            HostCode::of_import(module.runtime(), info.functions[index as usize])
                        }
                        _ => None,
                    };
                    return func
                        .with_sharedness_of(wanted)
                        .instantiate_with(&mut store, trampolines)
                        .map(Extern::Func);
                }
                self.get(&mut store, import.module(), import.name())
                    .unwrap_or_else(|| {
                        Err(LinkError::UnknownImport {
                            module: key.0,
                            name: key.1,
                        }
                        .into())
                    })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Instance::new(store, module, &imports)
    }
}
