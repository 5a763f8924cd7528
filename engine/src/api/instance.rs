//! `Instance`: a module linked to its imports and initialized in a store.

use super::error::{Error, InstantiationError, LinkError, UsageError};
use super::externals::{Extern, Global, Memory, SharedMemory, Table};
use super::func::{Func, unwind_in_store};
use super::module::Module;
use super::store::{AsContext, AsContextMut, StoreId};
use super::tags::Tag;
use super::typed::{TypedFunc, WasmParams, WasmResults};
use super::types::{ExternType, Mutability};
use crate::environ::EntityIndex;
use crate::vm::InstantiationFailure;
use std::sync::Arc;

/// An instance of a module in a store, made by [`Linker::instantiate`](crate::Linker::instantiate)
/// or [`Instance::new`]. A handle, cheap to copy, valid until its store is dropped.
///
/// The `get_*` accessors return `None` both for a missing export and for one of another
/// kind; [`Instance::get_typed_func`] says which, as an error.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    pub(crate) store: StoreId,
    pub(crate) index: usize,
}

/// Whether an entity of type `actual` may satisfy an import of type `expected`
/// (the spec's import subtyping: limits may be narrower, an immutable global's content may be
/// a subtype, and everything else must be equal: mutable globals and tables are read and
/// written, so their types must match both ways).
fn import_matches(expected: &ExternType, actual: &ExternType) -> bool {
    let limits_fit =
        |expected_min: u64, expected_max: Option<u64>, actual_min: u64, actual_max: Option<u64>| {
            actual_min >= expected_min
                && match expected_max {
                    None => true,
                    Some(expected_max) => {
                        actual_max.is_some_and(|actual_max| actual_max <= expected_max)
                    }
                }
        };
    match (expected, actual) {
        (ExternType::Func(expected), ExternType::Func(actual)) => expected == actual,
        (ExternType::Global(expected), ExternType::Global(actual)) => {
            expected.mutability() == actual.mutability()
                && expected.is_shared() == actual.is_shared()
                && match expected.mutability() {
                    Mutability::Const => actual.content().matches(expected.content()),
                    Mutability::Var => actual.content() == expected.content(),
                }
        }
        (ExternType::Memory(expected), ExternType::Memory(actual)) => {
            expected.is_shared() == actual.is_shared()
                && expected.is_64() == actual.is_64()
                && limits_fit(
                    expected.minimum(),
                    expected.maximum(),
                    actual.minimum(),
                    actual.maximum(),
                )
        }
        (ExternType::Tag(expected), ExternType::Tag(actual)) => expected == actual,
        (ExternType::Table(expected), ExternType::Table(actual)) => {
            expected.element() == actual.element()
                && expected.is_shared() == actual.is_shared()
                && expected.is_64() == actual.is_64()
                && limits_fit(
                    expected.minimum(),
                    expected.maximum(),
                    actual.minimum(),
                    actual.maximum(),
                )
        }
        _ => false,
    }
}

impl Instance {
    /// Instantiates `module` with `imports` given in the module's import order, then runs
    /// its start function. A trap during initialization is returned as an error; the
    /// effects of segments applied before it stay visible, as the spec requires.
    ///
    /// # Errors
    ///
    /// [`LinkError::ImportCount`] or [`LinkError::IncompatibleImport`] when the imports do
    /// not fit, [`UsageError::WrongStore`] when one belongs to another store,
    /// [`InstantiationError`] when a memory or table cannot be allocated, and the start
    /// function's trap or host error.
    pub fn new(
        mut store: impl AsContextMut,
        module: &Module,
        imports: &[Extern],
    ) -> Result<Instance, Error> {
        let mut cx = store.as_context_mut();
        let needed = &module.info().imports;
        if needed.len() != imports.len() {
            return Err(LinkError::ImportCount {
                expected: needed.len(),
                given: imports.len(),
            }
            .into());
        }
        for (import, item) in needed.iter().zip(imports) {
            if let Some(store) = item.store() {
                store.check(cx.opaque())?;
            }
            let expected = module.entity_type(import.index);
            let actual = item.ty(&cx);
            let matches = match (import.index, item) {
                // Function types match by declared subtyping, which only the engine's ids
                // capture.
                (EntityIndex::Function(index), Extern::Func(func)) => {
                    let runtime = module.runtime();
                    let type_index = runtime.info.functions[index as usize];
                    let expected_id = runtime.types.ids[type_index as usize];
                    let actual_id = cx.opaque().func_type_id(func.index);
                    cx.engine.types().is_subtype(actual_id, expected_id)
                }
                // A tag's type must be the very same type: in a recursion group, its
                // position counts, which only the engine's ids capture.
                (EntityIndex::Tag(index), Extern::Tag(tag)) => {
                    let runtime = module.runtime();
                    let type_index = runtime.info.tags[index as usize];
                    runtime.types.ids[type_index as usize] == cx.opaque().tag_type_id(tag.index)
                }
                _ => import_matches(&expected, &actual),
            };
            if !matches {
                return Err(LinkError::IncompatibleImport {
                    module: import.module.clone(),
                    name: import.name.clone(),
                    expected: expected.to_string(),
                    found: actual.to_string(),
                }
                .into());
            }
        }
        let indices: Vec<_> = imports
            .iter()
            .map(|item| item.index_in(cx.opaque()))
            .collect();
        let store_id = StoreId::of(cx.opaque());
        match cx
            .opaque()
            .instantiate(Arc::clone(module.runtime()), &indices)
        {
            Ok(index) => Ok(Instance {
                store: store_id,
                index,
            }),
            Err(InstantiationFailure::Unwind(reason)) => Err(unwind_in_store(cx.opaque(), reason)),
            Err(InstantiationFailure::Resource(message)) => {
                Err(InstantiationError::Resource(message).into())
            }
        }
    }

    /// The export called `name`, or `None` if there is none (or `store` is not this
    /// instance's). A shared memory is an [`Extern::SharedMemory`].
    pub fn get_export(&self, mut store: impl AsContextMut, name: &str) -> Option<Extern> {
        let mut cx = store.as_context_mut();
        self.store.check(cx.opaque()).ok()?;
        let module = Arc::clone(cx.opaque().instance_module(self.index));
        let (_, index) = module
            .info
            .exports
            .iter()
            .find(|(export, _)| export == name)?;
        let item = cx.opaque().instance_export(self.index, *index);
        Some(Extern::from_index(cx.opaque(), item))
    }

    /// Every export, in the module's order.
    ///
    /// # Panics
    ///
    /// If `store` is not the store this instance belongs to.
    pub fn exports(&self, mut store: impl AsContextMut) -> Vec<(String, Extern)> {
        let mut cx = store.as_context_mut();
        self.store.assert_owns(cx.opaque());
        let module = Arc::clone(cx.opaque().instance_module(self.index));
        module
            .info
            .exports
            .iter()
            .map(|(name, index)| {
                let item = cx.opaque().instance_export(self.index, *index);
                (name.clone(), Extern::from_index(cx.opaque(), item))
            })
            .collect()
    }

    fn export_of_kind<T>(
        &self,
        store: impl AsContextMut,
        name: &str,
        kind: &'static str,
        pick: impl FnOnce(Extern) -> Option<T>,
    ) -> Result<T, Error> {
        let item = self
            .get_export(store, name)
            .ok_or_else(|| UsageError::UnknownExport { name: name.into() })?;
        pick(item).ok_or_else(|| {
            UsageError::ExportKind {
                name: name.into(),
                expected: kind,
            }
            .into()
        })
    }

    /// Per-thread blocks this instance has created for threads other than the store's own:
    /// spawned guest threads and attached host threads. Blocks are reused after their thread
    /// leaves, so this stays at the most such threads the instance has had at once (up to
    /// the 64 idle blocks an instance keeps).
    ///
    /// # Panics
    ///
    /// If `store` is not the store this instance belongs to.
    pub fn thread_blocks_created(&self, store: impl AsContext) -> usize {
        let cx = store.as_context();
        self.store.assert_owns(cx.opaque());
        cx.opaque().instance_blocks_created(self.index)
    }

    /// The exported function `name`; `None` if there is no such export or it is not a
    /// function.
    pub fn get_func(&self, store: impl AsContextMut, name: &str) -> Option<Func> {
        self.get_export(store, name)?.into_func()
    }

    /// The exported unshared memory `name`; `None` if there is no such export or it is not
    /// an unshared memory. A shared memory is not a [`Memory`], which belongs to one store:
    /// ask [`get_shared_memory`](Self::get_shared_memory) for it.
    pub fn get_memory(&self, store: impl AsContextMut, name: &str) -> Option<Memory> {
        self.get_export(store, name)?.into_memory()
    }

    /// The exported shared memory `name`; `None` if there is no such export or it is not a
    /// shared memory. The [`SharedMemory`] is the memory itself, not a copy, and may be used
    /// from any thread, with or without the store.
    pub fn get_shared_memory(&self, store: impl AsContextMut, name: &str) -> Option<SharedMemory> {
        self.get_export(store, name)?.into_shared_memory()
    }

    /// The exported global `name`; `None` if there is no such export or it is not a global.
    pub fn get_global(&self, store: impl AsContextMut, name: &str) -> Option<Global> {
        self.get_export(store, name)?.into_global()
    }

    /// The exported table `name`; `None` if there is no such export or it is not a table.
    pub fn get_table(&self, store: impl AsContextMut, name: &str) -> Option<Table> {
        self.get_export(store, name)?.into_table()
    }

    /// The exported tag `name`; `None` if there is no such export or it is not a tag.
    pub fn get_tag(&self, store: impl AsContextMut, name: &str) -> Option<Tag> {
        self.get_export(store, name)?.into_tag()
    }

    /// The exported function `name`, checked against `Params` and `Results`.
    ///
    /// # Errors
    ///
    /// [`UsageError::UnknownExport`], [`UsageError::ExportKind`] when the export is not a
    /// function, and [`UsageError::FuncType`] when its signature differs.
    pub fn get_typed_func<Params: WasmParams, Results: WasmResults>(
        &self,
        mut store: impl AsContextMut,
        name: &str,
    ) -> Result<TypedFunc<Params, Results>, Error> {
        let func = self.export_of_kind(&mut store, name, "function", Extern::into_func)?;
        func.typed(&store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::{MemoryType, RefType, TableType};

    #[test]
    fn import_limits_may_be_narrower_but_not_wider() {
        let memory = |min, max| ExternType::Memory(MemoryType::new(min, max));
        assert!(import_matches(&memory(1, None), &memory(2, Some(3))));
        assert!(import_matches(&memory(1, Some(4)), &memory(2, Some(3))));
        assert!(!import_matches(&memory(1, Some(2)), &memory(1, Some(3))));
        assert!(!import_matches(&memory(1, Some(2)), &memory(1, None)));
        assert!(!import_matches(&memory(2, None), &memory(1, None)));
        let table = |element, min| ExternType::Table(TableType::new(element, min, None));
        assert!(!import_matches(
            &table(RefType::FUNCREF, 1),
            &table(RefType::EXTERNREF, 1)
        ));
    }
}
