//! Memories, globals, tables, and `Extern`, the sum of everything importable.

use super::error::{Error, InstantiationError, UsageError};
use super::func::Func;
use super::store::{AsContext, AsContextMut, StoreId};
use super::types::{ExternType, GlobalType, MemoryType, Mutability, TableType};
use super::values::Val;
use crate::vm::{ExternIndex, LinearMemory, StoreOpaque, Table as VmTable, VMGlobalDefinition};

/// Anything that can be imported or exported.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Extern {
    Func(Func),
    Global(Global),
    Memory(Memory),
    Table(Table),
}

impl Extern {
    pub fn into_func(self) -> Option<Func> {
        match self {
            Extern::Func(func) => Some(func),
            _ => None,
        }
    }

    pub fn into_global(self) -> Option<Global> {
        match self {
            Extern::Global(global) => Some(global),
            _ => None,
        }
    }

    pub fn into_memory(self) -> Option<Memory> {
        match self {
            Extern::Memory(memory) => Some(memory),
            _ => None,
        }
    }

    pub fn into_table(self) -> Option<Table> {
        match self {
            Extern::Table(table) => Some(table),
            _ => None,
        }
    }

    /// The current type: for memories and tables the minimum is the current size, which is
    /// what import matching compares.
    pub fn ty(&self, store: impl AsContext) -> ExternType {
        match self {
            Extern::Func(func) => ExternType::Func(func.ty(store)),
            Extern::Global(global) => ExternType::Global(global.ty(store)),
            Extern::Memory(memory) => ExternType::Memory(memory.ty(store)),
            Extern::Table(table) => ExternType::Table(table.ty(store)),
        }
    }

    pub(crate) fn store(&self) -> StoreId {
        match self {
            Extern::Func(func) => func.store,
            Extern::Global(global) => global.store,
            Extern::Memory(memory) => memory.store,
            Extern::Table(table) => table.store,
        }
    }

    pub(crate) fn index(&self) -> ExternIndex {
        match self {
            Extern::Func(func) => ExternIndex::Func(func.index),
            Extern::Global(global) => ExternIndex::Global(global.index),
            Extern::Memory(memory) => ExternIndex::Memory(memory.index),
            Extern::Table(table) => ExternIndex::Table(table.index),
        }
    }

    pub(crate) fn from_index(store: &StoreOpaque, index: ExternIndex) -> Extern {
        let store = StoreId::of(store);
        match index {
            ExternIndex::Func(index) => Extern::Func(Func { store, index }),
            ExternIndex::Global(index) => Extern::Global(Global { store, index }),
            ExternIndex::Memory(index) => Extern::Memory(Memory { store, index }),
            ExternIndex::Table(index) => Extern::Table(Table { store, index }),
        }
    }
}

macro_rules! extern_from {
    ($($ty:ident),*) => {$(
        impl From<$ty> for Extern {
            fn from(item: $ty) -> Extern {
                Extern::$ty(item)
            }
        }
    )*};
}
extern_from!(Func, Global, Memory, Table);

/// A linear memory.
///
/// Host reads and writes copy bytes; no Rust reference into guest memory is ever handed
/// out, so the API stays sound when memories become shared between threads.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Memory {
    pub(crate) store: StoreId,
    pub(crate) index: usize,
}

impl Memory {
    pub fn new(mut store: impl AsContextMut, ty: MemoryType) -> Result<Memory, Error> {
        let mut cx = store.as_context_mut();
        let bounds_checks = cx.opaque().bounds_checks();
        let memory = LinearMemory::new(ty.to_wasm(), bounds_checks)
            .map_err(|error| InstantiationError::Resource(format!("memory: {error}")))?;
        let index = cx.opaque().push_memory(memory);
        Ok(Memory {
            store: StoreId::of(cx.opaque()),
            index,
        })
    }

    fn get<'a>(&self, store: &'a StoreOpaque) -> Result<&'a LinearMemory, Error> {
        self.store.check(store)?;
        Ok(store.memory(self.index))
    }

    /// The type, with the current size as minimum.
    pub fn ty(&self, store: impl AsContext) -> MemoryType {
        let cx = store.as_context();
        let memory = cx.opaque().memory(self.index);
        let mut ty = memory.ty();
        ty.initial = memory.pages();
        MemoryType::from_wasm(ty)
    }

    /// Size in 64 KiB pages.
    pub fn size(&self, store: impl AsContext) -> u64 {
        store.as_context().opaque().memory(self.index).pages()
    }

    /// Size in bytes.
    pub fn data_size(&self, store: impl AsContext) -> usize {
        store.as_context().opaque().memory(self.index).byte_len()
    }

    /// Grows by `delta` pages, returning the old size in pages.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64) -> Result<u64, Error> {
        let mut cx = store.as_context_mut();
        self.store.check(cx.opaque())?;
        match cx.opaque().memory_mut(self.index).grow(delta) {
            Ok(Some(old)) => Ok(old),
            Ok(None) | Err(_) => Err(UsageError::GrowFailed {
                what: "memory",
                delta,
            }
            .into()),
        }
    }

    /// Copies `buffer.len()` bytes starting at `offset` out of the memory.
    pub fn read(
        &self,
        store: impl AsContext,
        offset: usize,
        buffer: &mut [u8],
    ) -> Result<(), Error> {
        let cx = store.as_context();
        self.get(cx.opaque())?;
        if cx.opaque().memory_read(self.index, offset as u64, buffer) {
            Ok(())
        } else {
            Err(UsageError::OutOfBounds {
                what: "memory read",
            }
            .into())
        }
    }

    /// Copies `data` into the memory at `offset`.
    pub fn write(
        &self,
        mut store: impl AsContextMut,
        offset: usize,
        data: &[u8],
    ) -> Result<(), Error> {
        let mut cx = store.as_context_mut();
        self.store.check(cx.opaque())?;
        if cx.opaque().memory_write(self.index, offset as u64, data) {
            Ok(())
        } else {
            Err(UsageError::OutOfBounds {
                what: "memory write",
            }
            .into())
        }
    }
}

/// A global variable.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Global {
    pub(crate) store: StoreId,
    pub(crate) index: usize,
}

fn check_type(value: &Val, expected: super::ValType) -> Result<(), Error> {
    if value.ty() == expected {
        Ok(())
    } else {
        Err(UsageError::ArgumentType {
            index: 0,
            expected: expected.to_string(),
            given: value.ty().to_string(),
        }
        .into())
    }
}

fn global_bytes(raw: u64) -> VMGlobalDefinition {
    let mut definition = VMGlobalDefinition::default();
    definition.bytes[..8].copy_from_slice(&raw.to_le_bytes());
    definition
}

impl Global {
    pub fn new(mut store: impl AsContextMut, ty: GlobalType, value: Val) -> Result<Global, Error> {
        let mut cx = store.as_context_mut();
        check_type(&value, ty.content())?;
        let raw = value.to_raw(cx.opaque())?;
        let index = cx.opaque().push_global(global_bytes(raw), ty.to_wasm());
        Ok(Global {
            store: StoreId::of(cx.opaque()),
            index,
        })
    }

    pub fn ty(&self, store: impl AsContext) -> GlobalType {
        let ty = store.as_context().opaque().global_type(self.index);
        GlobalType::from_wasm(ty).expect("only API-describable globals are created")
    }

    pub fn get(&self, mut store: impl AsContextMut) -> Val {
        let ty = self.ty(&store).content();
        let mut cx = store.as_context_mut();
        let bytes = cx.opaque().global(self.index).bytes;
        let raw = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
        Val::from_raw(cx.opaque(), raw, ty)
    }

    pub fn set(&self, mut store: impl AsContextMut, value: Val) -> Result<(), Error> {
        let ty = self.ty(&store);
        let mut cx = store.as_context_mut();
        self.store.check(cx.opaque())?;
        if ty.mutability() == Mutability::Const {
            return Err(UsageError::ImmutableGlobal.into());
        }
        check_type(&value, ty.content())?;
        let raw = value.to_raw(cx.opaque())?;
        *cx.opaque().global_mut(self.index) = global_bytes(raw);
        Ok(())
    }
}

/// A table of references.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Table {
    pub(crate) store: StoreId,
    pub(crate) index: usize,
}

impl Table {
    pub fn new(mut store: impl AsContextMut, ty: TableType, init: Val) -> Result<Table, Error> {
        let mut cx = store.as_context_mut();
        check_type(&init, ty.element().into())?;
        let raw = init.to_raw(cx.opaque())? as usize;
        let table = VmTable::new(ty.to_wasm(), raw).ok_or_else(|| {
            InstantiationError::Resource(format!("table of {} elements", ty.minimum()))
        })?;
        let index = cx.opaque().push_table(table);
        Ok(Table {
            store: StoreId::of(cx.opaque()),
            index,
        })
    }

    /// The type, with the current size as minimum.
    pub fn ty(&self, store: impl AsContext) -> TableType {
        let cx = store.as_context();
        let table = cx.opaque().table(self.index);
        let mut ty = table.ty();
        ty.initial = table.len();
        TableType::from_wasm(ty).expect("only API-describable tables are created")
    }

    pub fn size(&self, store: impl AsContext) -> u64 {
        store.as_context().opaque().table(self.index).len()
    }

    /// Element `index`, or `None` past the end.
    pub fn get(&self, mut store: impl AsContextMut, index: u64) -> Option<Val> {
        let element = self.ty(&store).element();
        let mut cx = store.as_context_mut();
        let raw = cx.opaque().table(self.index).get(index)?;
        Some(Val::from_raw(cx.opaque(), raw as u64, element.into()))
    }

    pub fn set(&self, mut store: impl AsContextMut, index: u64, value: Val) -> Result<(), Error> {
        let element = self.ty(&store).element();
        let mut cx = store.as_context_mut();
        self.store.check(cx.opaque())?;
        check_type(&value, element.into())?;
        let raw = value.to_raw(cx.opaque())? as usize;
        if cx.opaque().table_mut(self.index).set(index, raw) {
            Ok(())
        } else {
            Err(UsageError::OutOfBounds {
                what: "table index",
            }
            .into())
        }
    }

    /// Grows by `delta` elements set to `init`, returning the old size.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64, init: Val) -> Result<u64, Error> {
        let element = self.ty(&store).element();
        let mut cx = store.as_context_mut();
        self.store.check(cx.opaque())?;
        check_type(&init, element.into())?;
        let raw = init.to_raw(cx.opaque())? as usize;
        cx.opaque()
            .table_mut(self.index)
            .grow(delta, raw)
            .ok_or_else(|| {
                UsageError::GrowFailed {
                    what: "table",
                    delta,
                }
                .into()
            })
    }
}
