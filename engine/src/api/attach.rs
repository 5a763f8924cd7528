//! Host threads calling an instance's shared functions: the embedder's own threads, running
//! alongside the thread that owns the store and the guest threads it spawned. The rules are
//! on [`SharedInstance`], this module's way in.

use super::error::{Error, UsageError};
use super::externals::Extern;
use super::func::{check_arity, unwind_to_error};
use super::instance::Instance;
use super::store::AsContextMut;
use super::threads::refusal_to_error;
use super::typed::{WasmParams, WasmResults, with_slots};
use super::types::{FuncType, ValType};
use super::values::Val;
use crate::vm::{
    AttachedCallError, Attachment, GuestThreads, HostThread, InstanceRef, SharedEntry,
    ThreadPermits, VMVal,
};
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

/// An instance's shared functions, for any thread. Cheap to clone; `Send + Sync`.
///
/// A host thread [attaches](SharedInstance::attach), which leases it one block in the
/// instance (its own thread-local globals, stack limit and interrupt flag) and nothing more,
/// and calls shared functions through the [`AttachedThread`]. Dropping the attachment
/// detaches: the block goes back to the instance for the next thread.
///
/// Only shared functions can be called this way. Everything unshared (unshared functions,
/// memories, tables and globals) belongs to the store's own thread; validation keeps shared
/// code away from it, and asking for an unshared function is [`UsageError::NotShared`]. The
/// exception is a module laid out for a wasi-threads program whose threads share one
/// instance ([`WasiThreadsModel::OneInstance`](crate::WasiThreadsModel::OneInstance)), all of
/// whose functions may run on any thread.
///
/// The store may be dropped while host threads are attached: it interrupts their calls,
/// waits for them to unwind, and takes their blocks back. Their later calls fail with
/// [`UsageError::StoreGone`].
#[derive(Clone)]
pub struct SharedInstance(Arc<SharedInstanceData>);

struct SharedInstanceData {
    instance: InstanceRef,
    /// Every function export: callable from any thread, or not shared.
    funcs: HashMap<String, Option<SharedFunc>>,
    threads: Arc<GuestThreads>,
}

/// A shared function of a store, callable from any thread attached to that store.
#[derive(Clone)]
pub struct SharedFunc {
    entry: SharedEntry,
    ty: FuncType,
}

/// The calling host thread's attachment to a store: its blocks in the store's instances.
/// Detaches when dropped. It cannot move to another thread: its blocks are that thread's, and
/// interrupts wake that thread's waits.
pub struct AttachedThread {
    thread: HostThread,
}

/// A thread's slots under the thread limits, taken before the thread exists; it attaches
/// with them on its own OS thread.
pub(crate) struct ReservedAttachment {
    permits: ThreadPermits,
    shared: SharedInstance,
}

impl ReservedAttachment {
    /// Attaches the calling thread as [`SharedInstance::attach`] does, in the reserved slots.
    pub fn attach(self) -> Result<AttachedThread, Error> {
        let thread = self
            .shared
            .0
            .threads
            .attach_with(self.shared.0.instance, self.permits)
            .map_err(refusal_to_error)?;
        Ok(AttachedThread { thread })
    }
}

/// Stops one attached thread's call from any thread: see [`AttachedThread::terminator`].
#[derive(Clone)]
pub struct ThreadTerminator(Arc<Attachment>);

impl Instance {
    /// This instance's shared functions, for host threads to call concurrently: see
    /// [`SharedInstance`].
    pub fn share(&self, mut store: impl AsContextMut) -> Result<SharedInstance, Error> {
        let mut cx = store.as_context_mut();
        self.store.check(cx.opaque())?;
        let funcs = self
            .exports(&mut cx)
            .into_iter()
            .filter_map(|(name, item)| match item {
                Extern::Func(func) => Some((name, func)),
                _ => None,
            })
            .map(|(name, func)| {
                let ty = func.ty(&cx);
                let shared = cx
                    .opaque()
                    .shared_entry(func.index)
                    .map(|entry| SharedFunc { entry, ty });
                (name, shared)
            })
            .collect();
        let opaque = cx.opaque();
        Ok(SharedInstance(Arc::new(SharedInstanceData {
            instance: opaque.instance_ref(self.index),
            funcs,
            threads: Arc::clone(opaque.threads()),
        })))
    }
}

impl SharedInstance {
    /// Attaches the calling thread, leasing its block in this instance. An attached thread
    /// counts against the same limits as a spawned one ([`ThreadError`]), and fails with
    /// [`UsageError::StoreGone`] once the store has been dropped.
    ///
    /// [`ThreadError`]: crate::ThreadError
    pub fn attach(&self) -> Result<AttachedThread, Error> {
        let thread = self
            .0
            .threads
            .attach(self.0.instance)
            .map_err(refusal_to_error)?;
        Ok(AttachedThread { thread })
    }

    /// Takes the thread-limit slots of a thread that attaches later (see
    /// [`attach`](Self::attach)), so that the thread starting it learns of a limit at once.
    pub(crate) fn reserve(&self) -> Result<ReservedAttachment, Error> {
        let permits = self
            .0
            .threads
            .reserve_attachment()
            .map_err(refusal_to_error)?;
        Ok(ReservedAttachment {
            permits,
            shared: self.clone(),
        })
    }

    /// The exported shared function `name`. An unshared function is an error: only the
    /// store's own thread may call it.
    pub fn get_func(&self, name: &str) -> Result<SharedFunc, Error> {
        match self.0.funcs.get(name) {
            Some(Some(func)) => Ok(func.clone()),
            Some(None) => Err(UsageError::NotShared { name: name.into() }.into()),
            None => Err(UsageError::UnknownExport { name: name.into() }.into()),
        }
    }

    /// The exported shared function `name`, checked against `Params` and `Results`.
    pub fn get_typed_func<Params: WasmParams, Results: WasmResults>(
        &self,
        name: &str,
    ) -> Result<SharedTypedFunc<Params, Results>, Error> {
        self.get_func(name)?.typed()
    }

    /// Host threads attached to this instance's store now.
    pub fn attached_threads(&self) -> usize {
        self.0.threads.attached()
    }
}

impl std::fmt::Debug for SharedInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<_> = self.0.funcs.keys().collect();
        names.sort();
        f.debug_struct("SharedInstance")
            .field("funcs", &names)
            .finish_non_exhaustive()
    }
}

impl SharedFunc {
    /// The function's type.
    pub fn ty(&self) -> &FuncType {
        &self.ty
    }

    /// Calls the function on `thread`, which must be attached to the function's store.
    /// Parameters and results are numbers or vectors: references need the store.
    pub fn call(
        &self,
        thread: &AttachedThread,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<(), Error> {
        let ty = &self.ty;
        check_arity(ty, params, results)?;
        let is_reference = |ty: &&ValType| matches!(ty, ValType::Ref(_));
        if let Some(reference) = ty.params().iter().chain(ty.results()).find(is_reference) {
            return Err(UsageError::UnsupportedType(format!(
                "{reference} in a call from an attached thread (only numbers and vectors)"
            ))
            .into());
        }
        let mut slots = vec![VMVal::default(); params.len().max(results.len())];
        for (index, (param, expected)) in params.iter().zip(ty.params()).enumerate() {
            if param.ty() != *expected {
                return Err(UsageError::ArgumentType {
                    index,
                    expected: expected.to_string(),
                    given: param.ty().to_string(),
                }
                .into());
            }
            let bits = param
                .number_bits()
                .expect("the type check ruled out references");
            slots[index] = VMVal::from_u128(bits);
        }
        thread.call_raw(self, &mut slots)?;
        for (slot, (result, ty)) in slots.iter().zip(results.iter_mut().zip(ty.results())) {
            *result = Val::from_number_bits(slot.get_u128(), ty)
                .expect("the type check ruled out references");
        }
        Ok(())
    }

    /// A statically typed view of this function, checked once here.
    pub fn typed<Params: WasmParams, Results: WasmResults>(
        &self,
    ) -> Result<SharedTypedFunc<Params, Results>, Error> {
        let expected = FuncType::new(Params::valtypes(), Results::valtypes());
        if self.ty.params() != expected.params() || self.ty.results() != expected.results() {
            return Err(UsageError::FuncType {
                expected: expected.to_string(),
                actual: self.ty.to_string(),
            }
            .into());
        }
        Ok(SharedTypedFunc {
            func: self.clone(),
            _signature: PhantomData,
        })
    }
}

impl std::fmt::Debug for SharedFunc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedFunc")
            .field("ty", &self.ty.to_string())
            .finish_non_exhaustive()
    }
}

/// A [`SharedFunc`] whose signature was checked against `Params` and `Results`.
pub struct SharedTypedFunc<Params, Results> {
    func: SharedFunc,
    _signature: PhantomData<fn(Params) -> Results>,
}

impl<Params, Results> Clone for SharedTypedFunc<Params, Results> {
    fn clone(&self) -> Self {
        SharedTypedFunc {
            func: self.func.clone(),
            _signature: PhantomData,
        }
    }
}

impl<Params: WasmParams, Results: WasmResults> SharedTypedFunc<Params, Results> {
    /// The function, untyped.
    pub fn func(&self) -> &SharedFunc {
        &self.func
    }

    /// Calls the function on `thread`, which must be attached to the function's store.
    pub fn call(&self, thread: &AttachedThread, params: Params) -> Result<Results, Error> {
        with_slots::<Params, Results, _>(|slots| {
            params.write_slots(slots);
            thread.call_raw(&self.func, slots)?;
            Ok(Results::read_slots(slots))
        })
    }
}

impl AttachedThread {
    /// Calls `func` with slots already holding its parameters.
    fn call_raw(&self, func: &SharedFunc, slots: &mut [VMVal]) -> Result<(), Error> {
        self.thread
            .call(&func.entry, slots)
            .map_err(|error| match error {
                AttachedCallError::StoreGone => UsageError::StoreGone.into(),
                AttachedCallError::WrongStore => UsageError::WrongStore.into(),
                AttachedCallError::Unwind(reason) => unwind_to_error(reason),
            })
    }

    /// A handle that stops this thread's call from any thread: its current call into wasm
    /// traps with [`Trap::Interrupted`](crate::Trap::Interrupted) at once (at its next
    /// function entry, or by a signal in a loop without calls; a blocked wait wakes at once);
    /// if it is not in a call, its next call does.
    pub fn terminator(&self) -> ThreadTerminator {
        ThreadTerminator(Arc::clone(self.thread.attachment()))
    }

    /// Blocks this thread holds: one for each instance it has entered.
    pub fn blocks(&self) -> usize {
        self.thread.blocks()
    }
}

impl std::fmt::Debug for AttachedThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttachedThread")
            .field("blocks", &self.blocks())
            .finish_non_exhaustive()
    }
}

impl ThreadTerminator {
    /// Interrupts the thread's current (or next) call.
    pub fn terminate(&self) {
        self.0.interrupt();
    }
}

impl std::fmt::Debug for ThreadTerminator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ThreadTerminator")
    }
}
