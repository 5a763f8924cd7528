//! `Store`: the owner of instances and their entities, plus the context traits that let
//! API calls accept a store, a `Caller`, or a reference to either.

use super::engine::Engine;
use super::error::{Error, UsageError};
use crate::vm::{StoreBox, StoreInner, StoreOpaque, UNMETERED};
use std::sync::Arc;

/// Owns instances, memories, tables, globals and functions, and the embedder's data `T`.
///
/// Entities live until the store is dropped: handles such as [`Func`](crate::Func) or
/// [`Memory`](crate::Memory) are indices into their store, cheap to copy, and checked
/// against the store they are used with. A store is used by one thread at a time, its
/// *own* thread; other threads reach its shared functions through guest threads
/// ([`Store::spawn`]) or attached host threads ([`Instance::share`](crate::Instance::share)).
///
/// Dropping the store stops its guest threads and attached threads' calls, and waits for
/// them to unwind.
pub struct Store<T> {
    inner: StoreBox<T>,
    engine: Engine,
}

impl<T: 'static> Store<T> {
    /// An empty store of `engine`, holding `data`, which host functions reach through
    /// [`Caller::data`](crate::Caller::data). It takes the engine's stack, thread and GC
    /// heap limits.
    pub fn new(engine: &Engine, data: T) -> Store<T> {
        let config = engine.config();
        let inner = StoreBox::new(
            data,
            config.max_wasm_stack,
            config.max_threads,
            Arc::clone(engine.thread_budget()),
            config.max_gc_heap,
            config.tunables.bounds_checks,
            engine.race_tracker().cloned(),
        );
        if config.tunables.consume_fuel {
            // As in Wasmtime, a store starts with no fuel.
            inner.inner().opaque.set_fuel(0);
        }
        Store {
            inner,
            engine: engine.clone(),
        }
    }

    /// Gives the store's own thread `fuel` more operators to run, replacing what was left
    /// ([`Config::consume_fuel`]). Running out traps with [`Trap::OutOfFuel`] at the next
    /// function entry or loop header; the store stays usable, and more fuel lets it go on.
    /// Threads spawned by guest code or by a wasi-threads program, and attached host threads,
    /// run unmetered: stop those with a [`Terminator`](crate::Terminator).
    ///
    /// [`Config::consume_fuel`]: crate::Config::consume_fuel
    /// [`Trap::OutOfFuel`]: crate::Trap::OutOfFuel
    pub fn set_fuel(&mut self, fuel: u64) -> Result<(), Error> {
        self.check_fuel_enabled()?;
        self.inner
            .inner()
            .opaque
            .set_fuel(i64::try_from(fuel).unwrap_or(i64::MAX));
        Ok(())
    }

    /// The fuel the store's own thread has left: what [`set_fuel`](Self::set_fuel) gave it,
    /// less the operators it ran since (0 once it ran out).
    pub fn get_fuel(&self) -> Result<u64, Error> {
        self.check_fuel_enabled()?;
        Ok(u64::try_from(self.inner.inner().opaque.fuel()).unwrap_or(0))
    }

    /// Lets the store's own thread run without counting fuel: a wasi-threads thread's store,
    /// which is not the program's own.
    pub(crate) fn run_unmetered(&mut self) {
        self.inner.inner().opaque.set_fuel(UNMETERED);
    }

    fn check_fuel_enabled(&self) -> Result<(), Error> {
        if self.engine.config().tunables.consume_fuel {
            Ok(())
        } else {
            Err(UsageError::FuelNotEnabled.into())
        }
    }

    /// The engine this store belongs to.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The embedder's data.
    pub fn data(&self) -> &T {
        &self.inner.inner().data
    }

    /// The embedder's data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.inner.inner_mut().data
    }

    /// Drops the store and returns its data. The data is swapped out for `T::default()`
    /// rather than moved out, so that the store is dropped whole, its usual teardown
    /// (stopping its threads) included.
    pub fn into_data(self) -> T
    where
        T: Default,
    {
        let mut store = self;
        std::mem::take(store.data_mut())
    }
}

/// Shared access to a store, as [`AsContext`] hands it out.
pub struct StoreContext<'a, T> {
    pub(crate) inner: &'a StoreInner<T>,
    pub(crate) engine: &'a Engine,
}

/// Exclusive access to a store, as [`AsContextMut`] hands it out.
pub struct StoreContextMut<'a, T> {
    pub(crate) inner: &'a mut StoreInner<T>,
    pub(crate) engine: &'a Engine,
}

impl<'a, T> StoreContext<'a, T> {
    /// The embedder's data.
    pub fn data(&self) -> &T {
        &self.inner.data
    }

    /// The store's engine.
    pub fn engine(&self) -> &Engine {
        self.engine
    }

    pub(crate) fn opaque(&self) -> &StoreOpaque {
        &self.inner.opaque
    }
}

impl<'a, T> StoreContextMut<'a, T> {
    /// The embedder's data.
    pub fn data(&self) -> &T {
        &self.inner.data
    }

    /// The embedder's data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.inner.data
    }

    /// The store's engine.
    pub fn engine(&self) -> &Engine {
        self.engine
    }

    pub(crate) fn opaque(&mut self) -> &mut StoreOpaque {
        &mut self.inner.opaque
    }

    pub(crate) fn inner(&mut self) -> &mut StoreInner<T> {
        self.inner
    }
}

/// Anything that gives shared access to a store: a [`Store`], a [`Caller`](crate::Caller),
/// a context, or a reference to one. API calls that only read take `impl AsContext`.
pub trait AsContext {
    /// The store's data type `T`.
    type Data: 'static;
    /// Borrows the store.
    fn as_context(&self) -> StoreContext<'_, Self::Data>;
}

/// Anything that gives exclusive access to a store. API calls that may run code, allocate
/// or write take `impl AsContextMut`; pass `&mut store` to keep the store.
pub trait AsContextMut: AsContext {
    /// Borrows the store exclusively.
    fn as_context_mut(&mut self) -> StoreContextMut<'_, Self::Data>;
}

impl<T: 'static> AsContext for Store<T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext {
            inner: self.inner.inner(),
            engine: &self.engine,
        }
    }
}

impl<T: 'static> AsContextMut for Store<T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut {
            inner: self.inner.inner_mut(),
            engine: &self.engine,
        }
    }
}

impl<T: 'static> AsContext for StoreContext<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext {
            inner: self.inner,
            engine: self.engine,
        }
    }
}

impl<T: 'static> AsContext for StoreContextMut<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext {
            inner: self.inner,
            engine: self.engine,
        }
    }
}

impl<T: 'static> AsContextMut for StoreContextMut<'_, T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut {
            inner: self.inner,
            engine: self.engine,
        }
    }
}

impl<C: AsContext + ?Sized> AsContext for &C {
    type Data = C::Data;
    fn as_context(&self) -> StoreContext<'_, C::Data> {
        (**self).as_context()
    }
}

impl<C: AsContext + ?Sized> AsContext for &mut C {
    type Data = C::Data;
    fn as_context(&self) -> StoreContext<'_, C::Data> {
        (**self).as_context()
    }
}

impl<C: AsContextMut + ?Sized> AsContextMut for &mut C {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, C::Data> {
        (**self).as_context_mut()
    }
}

/// Identifies the store a handle belongs to, so handles cannot be used with another store.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct StoreId(u64);

impl StoreId {
    pub(crate) fn of(store: &StoreOpaque) -> StoreId {
        StoreId(store.id())
    }

    /// For accessors that cannot fail: using a handle with another store is a programming
    /// error, and reading whatever entity has the same index there would hide it.
    pub(crate) fn assert_owns(self, store: &StoreOpaque) {
        assert!(
            self.0 == store.id(),
            "weft: a handle was used with a store it does not belong to"
        );
    }

    pub(crate) fn check(self, store: &StoreOpaque) -> Result<(), Error> {
        if self.0 == store.id() {
            Ok(())
        } else {
            Err(UsageError::WrongStore.into())
        }
    }
}
