//! Functions: calling wasm from the host, and host closures callable from wasm.

use super::backtrace::WasmBacktrace;
use super::engine::Engine;
use super::error::{Error, LinkError, UncaughtException, UsageError};
use super::store::{AsContext, AsContextMut, StoreContext, StoreContextMut, StoreId};
use super::typed::{TypedFunc, WasmParams, WasmResults, shared_payload};
use super::types::{FuncType, HeapType, RefType, ValType};
use super::values::Val;
use crate::environ::{MutexFastPath, TrapKind};
use crate::vm::{
    FastPathEntry, FrameSymbol, HostBody, HostCode, HostError, HostFunc, HostPanic, Intrinsic,
    StoreInner, StoreOpaque, ThrownException, UnwindReason, VMVal,
};
use std::any::Any;
use std::sync::Arc;
use weft_threads::HostMutex;

/// A function in a store: exported by an instance, or defined by the host.
///
/// A handle, cheap to copy: an index into its store, which keeps the function alive until
/// the store is dropped. Calls check that they are given the store the handle belongs to.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Func {
    pub(crate) store: StoreId,
    pub(crate) index: usize,
}

/// What a store-bound host function gets first: the store (its data, and exclusive access
/// for calls back into wasm) and the calling instance's exports.
///
/// Host functions made by [`Func::wrap`], [`Func::new`] and the linker's `func_wrap` and
/// `func_new` are store-bound, whether they take a `Caller` or not: they run only on the
/// store's own thread, and a call from another thread fails. Functions that shared code
/// calls from any thread are made by
/// [`Linker::func_wrap_shared`](crate::Linker::func_wrap_shared) and get a
/// [`SharedCaller`](crate::SharedCaller) instead.
pub struct Caller<'a, T> {
    pub(crate) inner: &'a mut StoreInner<T>,
    pub(crate) engine: &'a Engine,
    pub(crate) instance: Option<usize>,
}

impl<T: 'static> Caller<'_, T> {
    /// The store's data.
    pub fn data(&self) -> &T {
        &self.inner.data
    }

    /// The store's data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.inner.data
    }

    /// An export of the calling instance; `None` when the caller is not a wasm instance or
    /// has no such export.
    pub fn get_export(&mut self, name: &str) -> Option<super::Extern> {
        let instance = super::Instance {
            store: StoreId::of(&self.inner.opaque),
            index: self.instance?,
        };
        instance.get_export(self, name)
    }
}

impl<T: 'static> AsContext for Caller<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext {
            inner: self.inner,
            engine: self.engine,
        }
    }
}

impl<T: 'static> AsContextMut for Caller<'_, T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut {
            inner: self.inner,
            engine: self.engine,
        }
    }
}

/// A host function ready to be added to stores of data type `T`: its signature and its
/// type-erased body. [`IntoFunc`](crate::IntoFunc) and
/// [`IntoSharedFunc`](crate::IntoSharedFunc) make them from closures; a
/// [`Linker`](crate::Linker) keeps them and adds one to a store per instantiation.
pub struct HostFuncDef<T> {
    pub(crate) ty: FuncType,
    pub(crate) body: HostBody<T>,
    /// For a host mutex's `lock` or `unlock`: the mutex, whose uncontended case JIT code
    /// settles before it calls `body`.
    pub(crate) fast: Option<(MutexFastPath, Arc<HostMutex>)>,
}

impl<T> Clone for HostFuncDef<T> {
    fn clone(&self) -> Self {
        HostFuncDef {
            ty: self.ty.clone(),
            body: self.body.clone(),
            fast: self.fast.clone(),
        }
    }
}

impl<T: 'static> HostFuncDef<T> {
    /// A host function with a dynamically typed body.
    pub(crate) fn new(
        engine: &Engine,
        ty: FuncType,
        func: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<(), Error> + Send + Sync + 'static,
    ) -> Self {
        let engine = engine.clone();
        let signature = ty.clone();
        let body: HostFunc<T> = Arc::new(
            move |inner: &mut StoreInner<T>, instance, slots: &mut [VMVal]| {
                let params: Vec<Val> = signature
                    .params()
                    .iter()
                    .zip(slots.iter())
                    .map(|(ty, slot)| Val::from_raw(&mut inner.opaque, slot.get_u128(), ty))
                    .collect();
                let mut results: Vec<Val> =
                    signature.results().iter().map(Val::default_for).collect();
                let caller = Caller {
                    inner: &mut *inner,
                    engine: &engine,
                    instance,
                };
                func(caller, &params, &mut results).map_err(into_payload)?;
                for (index, (result, ty)) in results.iter().zip(signature.results()).enumerate() {
                    if !result.matches(&inner.opaque, &engine, ty) {
                        return Err(into_payload(Error::from(UsageError::ResultType {
                            index,
                            expected: ty.to_string(),
                            given: result.ty().to_string(),
                        })));
                    }
                    let raw = result.to_raw(&inner.opaque).map_err(into_payload)?;
                    slots[index] = VMVal::from_u128(raw);
                }
                Ok(())
            },
        );
        HostFuncDef {
            ty,
            body: HostBody::Bound(body),
            fast: None,
        }
    }

    /// The `"wasm:thread"` intrinsic `name` for `store`, if there is one by that name.
    pub(crate) fn thread_intrinsic(store: &StoreOpaque, name: &str) -> Option<Self> {
        let intrinsic = Intrinsic::by_name(name)?;
        let ty = match intrinsic {
            Intrinsic::SpawnRef => {
                let entry = FuncType::shared([ValType::I32], []);
                let entry = RefType::new(true, HeapType::ConcreteFunc(entry));
                FuncType::shared([ValType::Ref(entry), ValType::I32], [ValType::I32])
            }
            Intrinsic::SpawnIndirect => {
                FuncType::shared([ValType::I32, ValType::I32], [ValType::I32])
            }
            Intrinsic::AvailableParallelism => FuncType::shared([], [ValType::I32]),
        };
        Some(HostFuncDef {
            ty,
            body: HostBody::Shared(intrinsic.body(store.threads())),
            fast: None,
        })
    }

    /// A store-free function of type `ty` that fails every call with
    /// [`LinkError::UnknownImport`] for `module::name`.
    pub(crate) fn unknown_import(ty: FuncType, module: &str, name: &str) -> Self {
        let error = LinkError::UnknownImport {
            module: module.into(),
            name: name.into(),
        };
        HostFuncDef {
            ty,
            body: HostBody::Shared(Arc::new(move |_, _| {
                Err(shared_payload(error.clone().into()))
            })),
            fast: None,
        }
    }

    /// This function with the sharedness of `wanted`, an import's type, if it may serve that
    /// import: a store-free body runs on any thread, so it may be unshared as well as shared.
    pub(crate) fn with_sharedness_of(&self, wanted: &FuncType) -> Self {
        let same_signature =
            self.ty.params() == wanted.params() && self.ty.results() == wanted.results();
        match &self.body {
            HostBody::Shared(_) if same_signature && !wanted.is_shared() => HostFuncDef {
                ty: FuncType::new(self.ty.params().to_vec(), self.ty.results().to_vec()),
                body: self.body.clone(),
                fast: self.fast.clone(),
            },
            _ => self.clone(),
        }
    }

    /// Adds this function to a store.
    pub(crate) fn instantiate(&self, store: impl AsContextMut<Data = T>) -> Result<Func, Error> {
        self.instantiate_with(store, None)
    }

    /// Adds this function to a store, entered through `trampolines` when given (those an
    /// importing module compiled for the import's type), else through the engine's for its
    /// signature, compiled on first use.
    pub(crate) fn instantiate_with(
        &self,
        mut store: impl AsContextMut<Data = T>,
        trampolines: Option<HostCode>,
    ) -> Result<Func, Error> {
        let mut cx = store.as_context_mut();
        let type_id = cx.engine.register_type(&self.ty);
        let trampolines = match trampolines {
            Some(trampolines) => Arc::new(trampolines),
            None => cx.engine.host_trampolines(type_id)?,
        };
        let fast = match &self.fast {
            Some((path, mutex)) => Some(FastPathEntry {
                code: cx.engine.mutex_fast_paths()?,
                path: *path,
                mutex: Arc::clone(mutex),
            }),
            None => None,
        };
        let index = cx
            .inner()
            .add_host_func(type_id, trampolines, fast, self.body.clone());
        Ok(Func {
            store: StoreId::of(cx.opaque()),
            index,
        })
    }
}

/// Boxes a host error for the trip through the trap handler; an exception goes as
/// [`ThrownException`], which the trampoline throws on into wasm.
pub(crate) fn into_payload(error: Error) -> Box<dyn Any + Send> {
    match error {
        Error::Exception(exception) => Box::new(ThrownException(exception.word)),
        error => Box::new(error),
    }
}

/// Turns the reason a call unwound into the error the embedder sees; re-raises host panics.
/// A trap's backtrace stays empty: use [`unwind_in_store`] where the store is at hand.
pub(crate) fn unwind_to_error(reason: UnwindReason) -> Error {
    unwind_with(reason, |_| Vec::new())
}

/// As [`unwind_to_error`], naming a trap's frames with the functions of `store`'s modules.
pub(crate) fn unwind_in_store(store: &StoreOpaque, reason: UnwindReason) -> Error {
    unwind_with(reason, |pcs| store.symbolize(pcs))
}

fn unwind_with(
    reason: UnwindReason,
    symbolize: impl FnOnce(&[usize]) -> Vec<FrameSymbol>,
) -> Error {
    match reason {
        UnwindReason::Trap { kind, pcs } => Error::Trap {
            trap: kind,
            backtrace: WasmBacktrace::new(symbolize(&pcs)),
        },
        UnwindReason::Host(payload) => host_payload_to_error(payload),
        UnwindReason::Exception(word) => Error::Exception(UncaughtException { word }),
    }
}

/// The error a host function's payload stands for, in each form a payload takes.
fn host_payload_to_error(payload: Box<dyn Any + Send>) -> Error {
    let payload = match payload.downcast::<HostPanic>() {
        Ok(panic) => std::panic::resume_unwind(panic.0),
        Err(payload) => payload,
    };
    // A store-bound host function's error.
    let payload = match payload.downcast::<Error>() {
        Ok(error) => return *error,
        Err(payload) => payload,
    };
    // A store-free host function's error, whole.
    let payload = match payload.downcast::<HostError>() {
        Ok(error) => {
            return match (*error).downcast::<Error>() {
                Ok(error) => *error,
                Err(other) => Error::Host(other),
            };
        }
        Err(payload) => payload,
    };
    // The thread intrinsics and store-free functions trap with a kind; guest threads report
    // host failures as text.
    let payload = match payload.downcast::<TrapKind>() {
        Ok(kind) => return Error::from(*kind),
        Err(payload) => payload,
    };
    match payload.downcast::<String>() {
        Ok(message) => Error::msg(*message),
        Err(_) => Error::msg("host function failed with an unknown error"),
    }
}

impl Func {
    /// A host function of type `ty` with a dynamically typed body. The body gets one
    /// [`Val`] per parameter, and one slot per result, each holding its type's zero value,
    /// to overwrite. A result of the wrong type fails the call with
    /// [`UsageError::ResultType`]. An `Err` unwinds the wasm that called the function and is
    /// what the host's call returns; [`Error::host`] converts other error types.
    ///
    /// # Errors
    ///
    /// As [`Func::wrap`].
    pub fn new<T: 'static>(
        store: impl AsContextMut<Data = T>,
        ty: FuncType,
        func: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<(), Error> + Send + Sync + 'static,
    ) -> Result<Func, Error> {
        let engine = store.as_context().engine().clone();
        HostFuncDef::new(&engine, ty, func).instantiate(store)
    }

    /// A host function from a Rust closure with typed parameters and results: see
    /// [`IntoFunc`](crate::IntoFunc) for the closures it takes and
    /// [`HostResult`](crate::HostResult) for what they may return. The function is
    /// store-bound: only the store's own thread may call it.
    ///
    /// ```
    /// # fn main() -> Result<(), weft::Error> {
    /// use weft::{Caller, Engine, Func, Store};
    ///
    /// let mut store = Store::new(&Engine::default(), 10);
    /// let add = Func::wrap(
    ///     &mut store,
    ///     |caller: Caller<'_, i32>, x: i32| -> anyhow::Result<i32> {
    ///         x.checked_add(*caller.data())
    ///             .ok_or_else(|| anyhow::anyhow!("overflow"))
    ///     },
    /// )?;
    /// let add = add.typed::<i32, i32>(&store)?;
    /// assert_eq!(add.call(&mut store, 5)?, 15);
    /// assert!(add.call(&mut store, i32::MAX).is_err());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// Only when the engine cannot compile the trampolines between wasm and host code for a
    /// signature it has not seen before, which means the operating system refused executable
    /// memory. Wasmtime's `Func::wrap` returns the `Func` itself, because rustc compiles its
    /// trampolines; weft's are compiled by Cranelift at run time, once per signature and
    /// engine, so that failure is reported rather than turned into a panic.
    pub fn wrap<T: 'static, Params, Results>(
        store: impl AsContextMut<Data = T>,
        func: impl super::IntoFunc<T, Params, Results>,
    ) -> Result<Func, Error> {
        let engine = store.as_context().engine().clone();
        func.into_func_def(&engine).instantiate(store)
    }

    /// A shared host function from a Rust closure with typed parameters and results: see
    /// [`Linker::func_wrap_shared`](crate::Linker::func_wrap_shared).
    ///
    /// # Errors
    ///
    /// As [`Func::wrap`].
    pub fn wrap_shared<T: 'static, Params, Results>(
        store: impl AsContextMut<Data = T>,
        func: impl super::IntoSharedFunc<Params, Results>,
    ) -> Result<Func, Error> {
        func.into_shared_func_def().instantiate(store)
    }

    /// The function's signature.
    ///
    /// # Panics
    ///
    /// If `store` is not the store this handle belongs to.
    pub fn ty(&self, store: impl AsContext) -> FuncType {
        let cx = store.as_context();
        self.store.assert_owns(cx.opaque());
        cx.engine.func_type(cx.opaque().func_type_id(self.index))
    }

    /// Calls the function. `params` must match its parameter types and `results` must have
    /// one slot per result, which the call overwrites.
    ///
    /// # Errors
    ///
    /// A [`UsageError`] when the arguments or slots do not fit or a handle belongs to
    /// another store; [`Error::Trap`] when the code traps; a host function's error as
    /// [`HostResult`](crate::HostResult) describes. The store stays usable after any of them.
    pub fn call(
        &self,
        mut store: impl AsContextMut,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<(), Error> {
        let mut cx = store.as_context_mut();
        self.store.check(cx.opaque())?;
        let ty = self.ty(&cx);
        check_arity(&ty, params, results)?;
        let mut slots = vec![VMVal::default(); params.len().max(results.len())];
        for (index, (param, expected)) in params.iter().zip(ty.params()).enumerate() {
            let raw = param.to_raw(cx.opaque())?;
            param.check(&cx.inner.opaque, cx.engine, expected, index)?;
            slots[index] = VMVal::from_u128(raw);
        }
        call_raw(cx.opaque(), self.index, &mut slots)?;
        for (slot, (result, ty)) in slots.iter().zip(results.iter_mut().zip(ty.results())) {
            *result = Val::from_raw(cx.opaque(), slot.get_u128(), ty);
        }
        Ok(())
    }

    /// A statically typed view of this function, checked once here, so that its calls
    /// need no checks. Shared and unshared functions alike: only the parameters and results
    /// must match, else [`UsageError::FuncType`].
    pub fn typed<Params: WasmParams, Results: WasmResults>(
        &self,
        store: impl AsContext,
    ) -> Result<TypedFunc<Params, Results>, Error> {
        let cx = store.as_context();
        self.store.check(cx.opaque())?;
        let actual = self.ty(&cx);
        let expected = FuncType::new(Params::valtypes(), Results::valtypes());
        // The host calls shared and unshared functions alike, so only the signature counts.
        if actual.params() != expected.params() || actual.results() != expected.results() {
            return Err(UsageError::FuncType {
                expected: expected.to_string(),
                actual: actual.to_string(),
            }
            .into());
        }
        Ok(TypedFunc::new(*self))
    }
}

/// Checks that a dynamically typed call of a function of type `ty` passes one value per
/// parameter and has one slot per result.
pub(crate) fn check_arity(ty: &FuncType, params: &[Val], results: &[Val]) -> Result<(), Error> {
    if params.len() != ty.params().len() {
        return Err(UsageError::ArgumentCount {
            expected: ty.params().len(),
            given: params.len(),
        }
        .into());
    }
    if results.len() != ty.results().len() {
        return Err(UsageError::ResultCount {
            expected: ty.results().len(),
            given: results.len(),
        }
        .into());
    }
    Ok(())
}

/// Calls `func` with slots already holding its parameters.
pub(crate) fn call_raw(
    store: &mut StoreOpaque,
    func: usize,
    slots: &mut [VMVal],
) -> Result<(), Error> {
    store
        .call(func, slots)
        .map_err(|reason| unwind_in_store(store, reason))
}
