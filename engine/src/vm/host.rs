//! Host functions: Rust closures that wasm calls through a host-call trampoline.

use super::instance::Instance;
use super::memory::StoreMemory;
use super::module::FastPathCode;
use super::threads::ThreadRecord;
use super::traphandlers::{set_pending_host_error, throw};
use super::vmcontext::{VMFuncRef, VMHostFuncContext, VMThreadContext, VMVal};
use crate::environ::{EntityIndex, HOST_FUNC_MAGIC, MutexFastPath};
use std::any::Any;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;
use std::sync::Arc;
use weft_threads::HostMutex;

/// What host functions need of the store that owns them (`StoreInner<T>`), so that this
/// module names no store type and the store can build on it.
pub(crate) trait HostStore: 'static {
    /// The instance of the store whose block `thread` is, if any.
    fn instance_of_thread(&self, thread: *mut VMThreadContext) -> Option<usize>;
}

/// A host function's body: it gets the store `S`, the calling instance (if the caller is
/// wasm code of this store) and the array-call value slots. An `Err` payload becomes the
/// error the outermost call returns.
pub(crate) type HostFunc<S> = Arc<
    dyn Fn(&mut S, Option<usize>, &mut [VMVal]) -> Result<(), Box<dyn Any + Send>> + Send + Sync,
>;

/// A host function that needs no store, so any thread may call it: the engine's thread
/// intrinsics and the embedder's store-free functions. It gets the caller's block and the
/// value slots.
pub(crate) type SharedHostFunc =
    Arc<dyn Fn(CallerBlock<'_>, &mut [VMVal]) -> Result<(), Box<dyn Any + Send>> + Send + Sync>;

/// The calling thread's block, as a store-free host function sees it during one call.
#[derive(Copy, Clone)]
pub(crate) struct CallerBlock<'call> {
    block: NonNull<VMThreadContext>,
    _call: PhantomData<&'call VMThreadContext>,
}

impl<'call> CallerBlock<'call> {
    /// # Safety
    ///
    /// `block` must be the live block of the thread making the call, and stay live for
    /// `'call`: the host-call trampoline's caller guarantees it for the call's duration.
    unsafe fn new(block: NonNull<VMThreadContext>) -> Self {
        CallerBlock {
            block,
            _call: PhantomData,
        }
    }

    /// The calling instance; `None` when the host itself called (a root block has none).
    pub fn instance(self) -> Option<&'call Instance> {
        // SAFETY: the block is live for the call (see `new`); its instance, if any, outlives
        // every thread running its code.
        unsafe {
            let vmctx = (*self.block.as_ptr()).vmctx;
            (!vmctx.is_null()).then(|| Instance::from_vmctx(vmctx))
        }
    }

    /// The calling instance's exported memory `name`, if it has one that this thread may
    /// touch: a shared memory from any thread; an unshared one only from the store's home
    /// thread, which is blocked in this call and so uses the memory nowhere else.
    pub fn exported_memory(self, name: &str) -> Option<&'call StoreMemory> {
        let instance = self.instance()?;
        let index =
            instance
                .module()
                .info
                .exports
                .iter()
                .find_map(|(export, index)| match index {
                    EntityIndex::Memory(memory) if export == name => Some(*memory),
                    _ => None,
                })?;
        let memory = instance.memory(index);
        // SAFETY: both blocks are live; only their `record` fields are read, which their
        // threads wrote before running any code.
        let on_home_thread = unsafe {
            std::ptr::eq(
                ThreadRecord::of_block(self.block.as_ptr()),
                ThreadRecord::of_block(instance.home_block().as_ptr().as_ptr()),
            )
        };
        (memory.as_shared().is_some() || on_home_thread).then_some(memory)
    }
}

/// The body of a host function.
pub(crate) enum HostBody<S> {
    /// Gets the store, so only the store's own thread may call it.
    Bound(HostFunc<S>),
    Shared(SharedHostFunc),
}

impl<S> Clone for HostBody<S> {
    fn clone(&self) -> Self {
        match self {
            HostBody::Bound(func) => HostBody::Bound(Arc::clone(func)),
            HostBody::Shared(func) => HostBody::Shared(Arc::clone(func)),
        }
    }
}

/// What a store-bound host function called from a guest or attached thread fails with.
const BOUND_FROM_OTHER_THREAD: &str =
    "a host function that uses the store was called from a thread other than the store's";

/// A host function panicked; the payload is re-raised once the wasm frames are gone.
pub(crate) struct HostPanic(pub Box<dyn Any + Send>);

/// The context a host function's funcref points at. `#[repr(C)]` with the VM-visible part
/// first, so the entry can recover the whole context from the pointer JIT code passes.
#[repr(C)]
pub(crate) struct HostFuncContext<S> {
    vm: VMHostFuncContext,
    store: *mut S,
    /// The store's home thread record, the only one whose blocks may use `store`.
    home: *const ThreadRecord,
    func: HostBody<S>,
    /// The mutex whose lock word `vm.fast_word` points into, kept alive with the context.
    _fast_mutex: Option<Arc<HostMutex>>,
}

/// A fast path wasm code calls instead of a host function's trampoline: a host mutex's
/// `lock` or `unlock`, which settles the uncontended case itself and calls the trampoline
/// otherwise.
pub(crate) struct FastPathEntry {
    pub code: Arc<FastPathCode>,
    pub path: MutexFastPath,
    pub mutex: Arc<HostMutex>,
}

impl<S: HostStore> HostFuncContext<S> {
    /// A context whose funcref enters through `host_call` (the signature's host-call
    /// trampoline), or through `fast`'s code, which calls `host_call` when it must.
    pub fn new(
        store: *mut S,
        home: *const ThreadRecord,
        host_call: *const u8,
        fast: Option<&FastPathEntry>,
        type_index: u32,
        func: HostBody<S>,
    ) -> Box<Self> {
        let (wasm_call, fast_word, slow_call) = match fast {
            Some(fast) => (
                fast.code.code.path(fast.path).start as *const u8,
                fast.mutex.lock_word(),
                host_call,
            ),
            None => (host_call, std::ptr::null(), std::ptr::null()),
        };
        let mut context = Box::new(HostFuncContext {
            vm: VMHostFuncContext {
                magic: HOST_FUNC_MAGIC,
                entry: host_entry::<S>,
                funcref: VMFuncRef {
                    wasm_call,
                    vmctx: std::ptr::null_mut(),
                    type_index,
                },
                fast_word,
                slow_call,
                throw: throw_from_host,
            },
            store,
            home,
            func,
            _fast_mutex: fast.map(|fast| Arc::clone(&fast.mutex)),
        });
        let vmctx: *mut VMHostFuncContext = &mut context.vm;
        context.vm.funcref.vmctx = vmctx.cast();
        context
    }

    /// The funcref for this function; stable because the context is boxed.
    pub fn funcref(&mut self) -> NonNull<VMFuncRef> {
        NonNull::from(&mut self.vm.funcref)
    }
}

/// A host function's error that is an exception (the exnref's word): the host-call
/// trampoline throws it on into wasm instead of trapping.
pub(crate) struct ThrownException(pub u64);

/// [`VMHostFuncContext::throw`].
///
/// # Safety
///
/// As for [`throw`]: `fp` is the frame pointer of the host-call trampoline that called the
/// host function, and `exn` a live exception.
unsafe extern "C" fn throw_from_host(exn: usize, fp: usize) {
    // SAFETY: guaranteed by the caller; the trampoline's frame and this one own nothing.
    unsafe { throw(exn, fp) }
}

/// Entry point every host-call trampoline of a store `S` calls: 0 when the host function
/// returned its results (in `values`), 1 when it failed (the error is pending in the
/// activation) and 2 when it threw an exception (its exnref word in `values[0]`).
///
/// # Safety
///
/// `context` must be the `vm` field of a live `HostFuncContext<S>`, and `values` must point
/// to `len` value slots; host-call trampolines guarantee both.
unsafe extern "C" fn host_entry<S: HostStore>(
    context: *mut VMHostFuncContext,
    caller: *mut VMThreadContext,
    values: *mut VMVal,
    len: u32,
) -> u32 {
    let context = context.cast::<HostFuncContext<S>>();
    // SAFETY: the trampoline passes its own slot array of `len` values.
    let values = unsafe { std::slice::from_raw_parts_mut(values, len as usize) };
    // SAFETY: `vm` is the first field of the `#[repr(C)]` context, so the pointers coincide;
    // the store owns the context and outlives every thread that can call it, and nothing
    // writes the body after the context is made. Borrowed, not cloned: cloning the `Arc`
    // would cost two atomic read-modify-writes per call on a counter every calling thread
    // shares.
    let (body, home, store) = unsafe { (&(*context).func, (*context).home, (*context).store) };
    let outcome = catch_unwind(AssertUnwindSafe(|| match body {
        // SAFETY: the trampoline passes the calling thread's live block, which outlives the
        // call.
        HostBody::Shared(func) => func(
            unsafe { CallerBlock::new(NonNull::new_unchecked(caller)) },
            values,
        ),
        // SAFETY: the home record is the store's and outlives it; `caller` is a live block.
        HostBody::Bound(_) if !unsafe { (*home).owns(caller) } => {
            Err(Box::new(BOUND_FROM_OTHER_THREAD.to_string()) as Box<dyn Any + Send>)
        }
        HostBody::Bound(func) => {
            // SAFETY: the caller runs on the store's home thread, which is blocked in the
            // call that led here, so nothing else uses the store.
            let store = unsafe { &mut *store };
            let caller = store.instance_of_thread(caller);
            func(store, caller, values)
        }
    }));
    match outcome {
        Ok(Ok(())) => 0,
        Ok(Err(error)) => match error.downcast::<ThrownException>() {
            Ok(thrown) => {
                values[0] = VMVal::from_u64(thrown.0);
                2
            }
            Err(error) => {
                set_pending_host_error(error);
                1
            }
        },
        Err(panic) => {
            set_pending_host_error(Box::new(HostPanic(panic)));
            1
        }
    }
}
