//! Memories, globals, tables, and `Extern`, the sum of everything importable.

use super::engine::Engine;
use super::error::Trap;
use super::error::{Error, InstantiationError, UsageError};
use super::func::Func;
use super::store::{AsContext, AsContextMut, StoreId};
use super::tags::Tag;
use super::types::{ExternType, GlobalType, HeapType, MemoryType, Mutability, TableType, ValType};
use super::values::Val;
use crate::vm::WaitOutcome;
use crate::vm::{
    ExternIndex, LinearMemory, SharedMemory as VmSharedMemory, StoreMemory, StoreOpaque,
    Table as VmTable, VMGlobalDefinition, WaitValue,
};
use std::time::Duration;

/// Anything that can be imported or exported.
#[derive(Clone, Debug)]
pub enum Extern {
    /// A function.
    Func(Func),
    /// A global.
    Global(Global),
    /// An unshared memory, which belongs to one store.
    Memory(Memory),
    /// A shared memory, which belongs to no store.
    SharedMemory(SharedMemory),
    /// A table, shared or not.
    Table(Table),
    /// An exception tag.
    Tag(Tag),
}

impl Extern {
    /// The function, if this is one.
    pub fn into_func(self) -> Option<Func> {
        match self {
            Extern::Func(func) => Some(func),
            _ => None,
        }
    }

    /// The global, if this is one.
    pub fn into_global(self) -> Option<Global> {
        match self {
            Extern::Global(global) => Some(global),
            _ => None,
        }
    }

    /// The memory, if this is an unshared one.
    pub fn into_memory(self) -> Option<Memory> {
        match self {
            Extern::Memory(memory) => Some(memory),
            _ => None,
        }
    }

    /// The memory, if this is a shared one.
    pub fn into_shared_memory(self) -> Option<SharedMemory> {
        match self {
            Extern::SharedMemory(memory) => Some(memory),
            _ => None,
        }
    }

    /// The table, if this is one.
    pub fn into_table(self) -> Option<Table> {
        match self {
            Extern::Table(table) => Some(table),
            _ => None,
        }
    }

    /// The tag, if this is one.
    pub fn into_tag(self) -> Option<Tag> {
        match self {
            Extern::Tag(tag) => Some(tag),
            _ => None,
        }
    }

    /// The current type: for memories and tables the minimum is the current size, which is
    /// what import matching compares.
    ///
    /// # Panics
    ///
    /// If `store` is not the store this item belongs to (a shared memory belongs to none and
    /// takes any).
    pub fn ty(&self, store: impl AsContext) -> ExternType {
        match self {
            Extern::Func(func) => ExternType::Func(func.ty(store)),
            Extern::Global(global) => ExternType::Global(global.ty(store)),
            Extern::Memory(memory) => ExternType::Memory(memory.ty(store)),
            Extern::SharedMemory(memory) => ExternType::Memory(memory.ty()),
            Extern::Table(table) => ExternType::Table(table.ty(store)),
            Extern::Tag(tag) => ExternType::Tag(tag.ty(store)),
        }
    }

    /// The store this item belongs to; `None` for shared memories, which belong to none.
    pub(crate) fn store(&self) -> Option<StoreId> {
        match self {
            Extern::Func(func) => Some(func.store),
            Extern::Global(global) => Some(global.store),
            Extern::Memory(memory) => Some(memory.store),
            Extern::SharedMemory(_) => None,
            Extern::Table(table) => Some(table.store),
            Extern::Tag(tag) => Some(tag.store),
        }
    }

    /// The item's index in `store`, adding a shared memory to the store on first use.
    pub(crate) fn index_in(&self, store: &mut StoreOpaque) -> ExternIndex {
        match self {
            Extern::Func(func) => ExternIndex::Func(func.index),
            Extern::Global(global) => ExternIndex::Global(global.index),
            Extern::Memory(memory) => ExternIndex::Memory(memory.index),
            Extern::SharedMemory(memory) => {
                ExternIndex::Memory(store.import_shared_memory(&memory.0))
            }
            Extern::Table(table) => ExternIndex::Table(table.index),
            Extern::Tag(tag) => ExternIndex::Tag(tag.index),
        }
    }

    pub(crate) fn from_index(store: &StoreOpaque, index: ExternIndex) -> Extern {
        let id = StoreId::of(store);
        match index {
            ExternIndex::Func(index) => Extern::Func(Func { store: id, index }),
            ExternIndex::Global(index) => Extern::Global(Global { store: id, index }),
            ExternIndex::Memory(index) => match store.memory(index).as_shared() {
                Some(shared) => Extern::SharedMemory(SharedMemory(shared.clone())),
                None => Extern::Memory(Memory { store: id, index }),
            },
            ExternIndex::Table(index) => Extern::Table(Table { store: id, index }),
            ExternIndex::Tag(index) => Extern::Tag(Tag { store: id, index }),
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
extern_from!(Func, Global, Memory, SharedMemory, Table, Tag);

/// A linear memory owned by a store (unshared). A handle, cheap to copy; shared memories
/// are [`SharedMemory`].
///
/// Host reads and writes copy bytes; no Rust reference into guest memory is ever handed
/// out, so nothing the host holds can dangle when the memory grows. Offsets are in bytes;
/// an access past the end fails with [`UsageError::OutOfBounds`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Memory {
    pub(crate) store: StoreId,
    pub(crate) index: usize,
}

/// The type of a memory with its current size as minimum, as import matching compares it.
fn current_type(memory: &StoreMemory) -> MemoryType {
    let mut ty = memory.ty();
    ty.initial = memory.view().pages();
    MemoryType::from_wasm(ty)
}

fn grow_error(delta: u64) -> Error {
    UsageError::GrowFailed {
        what: "memory",
        delta,
    }
    .into()
}

pub(super) fn access_result(in_bounds: bool, what: &'static str) -> Result<(), Error> {
    if in_bounds {
        Ok(())
    } else {
        Err(UsageError::OutOfBounds { what }.into())
    }
}

impl Memory {
    /// Creates an unshared memory in `store`, of `ty`'s minimum size; use
    /// [`SharedMemory::new`] for shared ones. Fails with [`UsageError::UnsupportedType`] for
    /// a shared type, and with [`InstantiationError::Resource`] when the address space
    /// cannot be reserved.
    pub fn new(mut store: impl AsContextMut, ty: MemoryType) -> Result<Memory, Error> {
        let mut cx = store.as_context_mut();
        if ty.is_shared() {
            return Err(UsageError::UnsupportedType(
                "a shared memory type for `Memory::new`; use `SharedMemory::new`".into(),
            )
            .into());
        }
        let bounds_checks = cx.opaque().bounds_checks();
        let memory = LinearMemory::new(ty.to_wasm(), bounds_checks)
            .map_err(|error| InstantiationError::Resource(format!("memory: {error}")))?;
        let index = cx.opaque().push_memory(StoreMemory::Local(memory));
        Ok(Memory {
            store: StoreId::of(cx.opaque()),
            index,
        })
    }

    fn entry<'a>(&self, store: &'a StoreOpaque) -> &'a StoreMemory {
        self.store.assert_owns(store);
        store.memory(self.index)
    }

    /// The type, with the current size as minimum.
    ///
    /// # Panics
    ///
    /// If `store` is not the store this handle belongs to.
    pub fn ty(&self, store: impl AsContext) -> MemoryType {
        current_type(self.entry(store.as_context().opaque()))
    }

    /// Size in 64 KiB pages.
    ///
    /// # Panics
    ///
    /// If `store` is not the store this handle belongs to.
    pub fn size(&self, store: impl AsContext) -> u64 {
        self.entry(store.as_context().opaque()).view().pages()
    }

    /// Size in bytes.
    ///
    /// # Panics
    ///
    /// If `store` is not the store this handle belongs to.
    pub fn data_size(&self, store: impl AsContext) -> usize {
        self.entry(store.as_context().opaque()).view().len()
    }

    /// Grows by `delta` pages, returning the old size in pages. Fails with
    /// [`UsageError::GrowFailed`] past the maximum (the type's, or 4 GiB) and leaves the
    /// memory as it was.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64) -> Result<u64, Error> {
        let mut cx = store.as_context_mut();
        self.store.check(cx.opaque())?;
        match cx.opaque().memory_mut(self.index).grow(delta) {
            Ok(Some(old)) => Ok(old),
            Ok(None) | Err(_) => Err(grow_error(delta)),
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
        self.store.check(cx.opaque())?;
        let in_bounds = cx.opaque().memory(self.index).read(offset as u64, buffer);
        access_result(in_bounds, "memory read")
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
        let in_bounds = cx.opaque().memory(self.index).write(offset as u64, data);
        access_result(in_bounds, "memory write")
    }
}

/// What a wait on a shared memory ended with.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum WaitResult {
    /// A notify woke the waiter.
    Woken,
    /// The memory did not hold the expected value, so the waiter did not block.
    Mismatch,
    /// The timeout expired first.
    TimedOut,
}

/// A memory that many threads and stores may use at once. Cheap to clone; `Send + Sync`.
///
/// Guarantees for host access: [`read`](Self::read) and [`write`](Self::write) copy with
/// relaxed atomic byte accesses, so racing with wasm code on other threads is defined
/// behaviour, but a multi-byte copy is not atomic as a whole; the `atomic_*` methods are
/// sequentially consistent, like the wasm instructions of the same names.
#[derive(Clone, Debug)]
pub struct SharedMemory(pub(crate) VmSharedMemory);

impl SharedMemory {
    /// Creates a shared memory of `ty`'s minimum size; `ty` must be shared (see
    /// [`MemoryType::shared`]), else [`UsageError::UnsupportedType`]. It reserves address
    /// space up to the maximum, so it never moves; [`InstantiationError::Resource`] if that
    /// cannot be reserved.
    pub fn new(engine: &Engine, ty: MemoryType) -> Result<SharedMemory, Error> {
        if !ty.is_shared() {
            return Err(UsageError::UnsupportedType(
                "an unshared memory type for `SharedMemory::new`; use `Memory::new`".into(),
            )
            .into());
        }
        let bounds_checks = engine.config().tunables.bounds_checks;
        VmSharedMemory::new(ty.to_wasm(), bounds_checks)
            .map(SharedMemory)
            .map_err(|error| InstantiationError::Resource(format!("memory: {error}")).into())
    }

    /// The type, with the current size as minimum.
    pub fn ty(&self) -> MemoryType {
        current_type(&StoreMemory::Shared(self.0.clone()))
    }

    /// Size in 64 KiB pages.
    pub fn size(&self) -> u64 {
        self.0.view().pages()
    }

    /// Size in bytes.
    pub fn data_size(&self) -> usize {
        self.0.view().len()
    }

    /// Grows by `delta` pages, returning the old size in pages. Safe to race with other
    /// growers and with running code.
    pub fn grow(&self, delta: u64) -> Result<u64, Error> {
        match self.0.grow(delta) {
            Ok(Some(old)) => Ok(old),
            Ok(None) | Err(_) => Err(grow_error(delta)),
        }
    }

    /// Copies bytes out of the memory (see the type's guarantees).
    pub fn read(&self, offset: usize, buffer: &mut [u8]) -> Result<(), Error> {
        let in_bounds = StoreMemory::Shared(self.0.clone()).read(offset as u64, buffer);
        access_result(in_bounds, "memory read")
    }

    /// Copies bytes into the memory (see the type's guarantees).
    pub fn write(&self, offset: usize, data: &[u8]) -> Result<(), Error> {
        let in_bounds = StoreMemory::Shared(self.0.clone()).write(offset as u64, data);
        access_result(in_bounds, "memory write")
    }

    /// Checks an atomic access the way wasm does: alignment first, then bounds.
    fn check_atomic(&self, addr: u64, size: u64) -> Result<(), Error> {
        if !addr.is_multiple_of(size) {
            return Err(Trap::UnalignedAtomic.into());
        }
        match self.0.view().checked(addr, size) {
            Some(_) => Ok(()),
            None => Err(Trap::MemoryOutOfBounds.into()),
        }
    }

    /// Wakes up to `count` threads waiting on `addr`, oldest first; returns how many woke.
    /// An `addr` that is unaligned or out of bounds is the trap the wasm instruction would
    /// raise, as an [`Error::Trap`]; the same for the waits.
    pub fn atomic_notify(&self, addr: u64, count: u32) -> Result<u32, Error> {
        self.check_atomic(addr, 4)?;
        Ok(self.0.notify(addr, count))
    }

    /// Blocks the calling thread while the 32-bit word at `addr` equals `expected`, until a
    /// notify or the timeout (`None`: forever). Never returns spuriously.
    pub fn atomic_wait32(
        &self,
        addr: u64,
        expected: u32,
        timeout: Option<Duration>,
    ) -> Result<WaitResult, Error> {
        self.check_atomic(addr, 4)?;
        Ok(wait_result(self.0.wait(
            addr,
            WaitValue::I32(expected),
            timeout,
        )))
    }

    /// As [`atomic_wait32`](Self::atomic_wait32), for the 64-bit word at `addr`.
    pub fn atomic_wait64(
        &self,
        addr: u64,
        expected: u64,
        timeout: Option<Duration>,
    ) -> Result<WaitResult, Error> {
        self.check_atomic(addr, 8)?;
        Ok(wait_result(self.0.wait(
            addr,
            WaitValue::I64(expected),
            timeout,
        )))
    }
}

fn wait_result(outcome: WaitOutcome) -> WaitResult {
    match outcome {
        WaitOutcome::Woken => WaitResult::Woken,
        WaitOutcome::Mismatch => WaitResult::Mismatch,
        // Nothing interrupts host waits yet; termination comes in a later issue.
        WaitOutcome::TimedOut | WaitOutcome::Interrupted => WaitResult::TimedOut,
    }
}

/// Resolves the concrete heap types of stored globals and tables, which name engine ids.
fn stored_types(engine: &Engine) -> impl Fn(u32) -> HeapType + '_ {
    |id| engine.heap_type(id)
}

/// A global variable, shared or not: a handle into its store, cheap to copy.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Global {
    pub(crate) store: StoreId,
    pub(crate) index: usize,
}

fn global_bytes(raw: u128) -> VMGlobalDefinition {
    VMGlobalDefinition {
        bytes: raw.to_le_bytes(),
    }
}

impl Global {
    /// Creates a global of type `ty` holding `value`, in `store`. Fails with a
    /// [`UsageError`] when `value` does not fit the type, or a shared type has a content
    /// that cannot be shared.
    pub fn new(mut store: impl AsContextMut, ty: GlobalType, value: Val) -> Result<Global, Error> {
        let mut cx = store.as_context_mut();
        let raw = value.to_raw(cx.opaque())?;
        value.check(&cx.inner.opaque, cx.engine, ty.content(), 0)?;
        if ty.is_shared() && !ty.content().is_shareable() {
            return Err(UsageError::UnsupportedType(format!(
                "{ty}: a shared global needs a shared value type"
            ))
            .into());
        }
        let ty = ty.to_wasm(cx.engine);
        let index = cx.opaque().push_global(global_bytes(raw), ty);
        Ok(Global {
            store: StoreId::of(cx.opaque()),
            index,
        })
    }

    /// The global's type.
    ///
    /// # Panics
    ///
    /// If `store` is not the store this handle belongs to.
    pub fn ty(&self, store: impl AsContext) -> GlobalType {
        let cx = store.as_context();
        self.store.assert_owns(cx.opaque());
        let ty = cx.opaque().global_type(self.index);
        GlobalType::from_wasm(ty, &stored_types(cx.engine))
            .expect("only API-describable globals are created")
    }

    /// The current value.
    ///
    /// # Panics
    ///
    /// If `store` is not the store this handle belongs to.
    pub fn get(&self, mut store: impl AsContextMut) -> Val {
        let ty = self.ty(&store).content().clone();
        let mut cx = store.as_context_mut();
        let raw = cx.opaque().global_raw(self.index);
        Val::from_raw(cx.opaque(), raw, &ty)
    }

    /// Sets the value. Fails with [`UsageError::ImmutableGlobal`] for a constant, and with
    /// [`UsageError::ArgumentType`] when `value` does not fit.
    pub fn set(&self, mut store: impl AsContextMut, value: Val) -> Result<(), Error> {
        self.store.check(store.as_context().opaque())?;
        let ty = self.ty(&store);
        let mut cx = store.as_context_mut();
        if ty.mutability() == Mutability::Const {
            return Err(UsageError::ImmutableGlobal.into());
        }
        let raw = value.to_raw(cx.opaque())?;
        value.check(&cx.inner.opaque, cx.engine, ty.content(), 0)?;
        cx.opaque().set_global_raw(self.index, raw);
        Ok(())
    }
}

/// A table of references, shared or not: a handle into its store, cheap to copy.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Table {
    pub(crate) store: StoreId,
    pub(crate) index: usize,
}

impl Table {
    /// Creates a table of type `ty` in `store`, its elements set to `init`. Fails with a
    /// [`UsageError`] when `init` does not fit, or a shared table's elements are unshared,
    /// and with [`InstantiationError::Resource`] when the table is too large.
    pub fn new(mut store: impl AsContextMut, ty: TableType, init: Val) -> Result<Table, Error> {
        let mut cx = store.as_context_mut();
        let raw = init.to_raw(cx.opaque())? as usize;
        init.check(&cx.inner.opaque, cx.engine, &ty.element().clone().into(), 0)?;
        if ty.is_shared() && !ty.element().heap_type().is_shared() {
            return Err(UsageError::UnsupportedType(format!(
                "{ty}: a shared table needs a shared element type"
            ))
            .into());
        }
        let table = VmTable::new(ty.to_wasm(cx.engine), raw).ok_or_else(|| {
            InstantiationError::Resource(format!("table of {} elements", ty.minimum()))
        })?;
        let index = cx.opaque().push_table(table);
        Ok(Table {
            store: StoreId::of(cx.opaque()),
            index,
        })
    }

    /// The type, with the current size as minimum.
    ///
    /// # Panics
    ///
    /// If `store` is not the store this handle belongs to.
    pub fn ty(&self, store: impl AsContext) -> TableType {
        let cx = store.as_context();
        self.store.assert_owns(cx.opaque());
        let table = cx.opaque().table(self.index);
        let mut ty = table.ty();
        ty.initial = table.len();
        TableType::from_wasm(ty, &stored_types(cx.engine))
            .expect("only API-describable tables are created")
    }

    /// Number of elements.
    ///
    /// # Panics
    ///
    /// If `store` is not the store this handle belongs to.
    pub fn size(&self, store: impl AsContext) -> u64 {
        let cx = store.as_context();
        self.store.assert_owns(cx.opaque());
        cx.opaque().table(self.index).len()
    }

    /// Element `index`, or `None` past the end.
    ///
    /// # Panics
    ///
    /// If `store` is not the store this handle belongs to.
    pub fn get(&self, mut store: impl AsContextMut, index: u64) -> Option<Val> {
        let element = ValType::Ref(self.ty(&store).element().clone());
        let mut cx = store.as_context_mut();
        let raw = cx.opaque().table(self.index).get(index)?;
        Some(Val::from_raw(cx.opaque(), raw as u128, &element))
    }

    /// Sets element `index`. Fails with [`UsageError::OutOfBounds`] past the end, and with
    /// [`UsageError::ArgumentType`] when `value` does not fit.
    pub fn set(&self, mut store: impl AsContextMut, index: u64, value: Val) -> Result<(), Error> {
        self.store.check(store.as_context().opaque())?;
        let element = ValType::Ref(self.ty(&store).element().clone());
        let mut cx = store.as_context_mut();
        let raw = value.to_raw(cx.opaque())? as usize;
        value.check(&cx.inner.opaque, cx.engine, &element, 0)?;
        if cx.opaque().table(self.index).set(index, raw) {
            Ok(())
        } else {
            Err(UsageError::OutOfBounds {
                what: "table index",
            }
            .into())
        }
    }

    /// Grows by `delta` elements set to `init`, returning the old size. Fails with
    /// [`UsageError::GrowFailed`] past the maximum.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64, init: Val) -> Result<u64, Error> {
        self.store.check(store.as_context().opaque())?;
        let element = ValType::Ref(self.ty(&store).element().clone());
        let mut cx = store.as_context_mut();
        let raw = init.to_raw(cx.opaque())? as usize;
        init.check(&cx.inner.opaque, cx.engine, &element, 0)?;
        cx.opaque()
            .table(self.index)
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
