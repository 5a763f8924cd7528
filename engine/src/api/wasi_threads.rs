//! The wasi-threads ABI, in two models: a new instance per thread, as the ABI specifies, or
//! every thread in one instance, as shared-everything threads run.
//!
//! A module written for wasi-threads imports its linear memory, which must be shared, and
//! `"wasi" "thread-spawn"` of type `[i32] -> [i32]`, and exports
//! `wasi_thread_start: [i32 i32] -> []`. `thread-spawn(arg)` starts an OS thread that calls
//! `wasi_thread_start(tid, arg)`, and returns the new thread's id, from 1 up to
//! `0x1FFF_FFFF`, or -1 if the thread could not start (at the thread limit, once no thread
//! has ended for `SPAWN_PATIENCE`). Where the new thread runs is the [`WasiThreadsModel`]:
//!
//! - [`InstancePerThread`](WasiThreadsModel::InstancePerThread): it instantiates the same
//!   module again, in a store of its own, with the same imports (so the same memory).
//!   Nothing but the imports is shared between the threads: each has its own globals,
//!   tables, function references and store. This is what wasi-threads runtimes do.
//! - [`OneInstance`](WasiThreadsModel::OneInstance): it attaches to the program's one
//!   instance, as an embedder's thread attaches to a [`SharedInstance`], leasing a block
//!   with its own copy of every mutable global the module defines, and runs there. Starting a
//!   thread costs the same for any module size. The module is compiled so that its threads
//!   cannot tell the difference; one that could is refused with
//!   [`CompileError::NotOneInstance`] (the rules are in the README).
//!
//! A trap in any thread ends the whole process, as the proposal asks: the other threads and
//! the main instance's call in progress are interrupted (as a store's terminate does: a
//! call that returns before it reaches a safepoint absorbs the interrupt), spawning fails
//! from then on, and [`WasiThreads::join`] returns the trap.
//! Instead of exiting the host process, weft leaves it to the embedder to drop the
//! `WasiThreads` (which stops and joins every thread) and start over.

use super::attach::{ReservedAttachment, SharedInstance, SharedTypedFunc, ThreadTerminator};
use super::engine::Engine;
use super::error::{Error, ThreadError, Trap, UsageError};
use super::func::Caller;
use super::instance::Instance;
use super::linker::Linker;
use super::module::{Module, Parse};
use super::store::Store;
use super::threads::{StopProcess, Terminator, ThreadOutcome, failure_to_error, outcome_to_api};
use super::types::{ExternType, FuncType, ValType};
use crate::environ::ModuleInfo;
use crate::vm::{Entered, Handoff, JoinHandoffs, OsThreads, ThreadFailure};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use weft_threads::{BudgetPermit, Interrupt, ThreadBudget, ThreadGroup, ThreadId};

pub use crate::environ::one_instance::{THREAD_SPAWN_MODULE, THREAD_SPAWN_NAME};
/// The export every new thread starts in.
pub const THREAD_START_EXPORT: &str = "wasi_thread_start";

/// The largest thread id the ABI allows: the top three bits are reserved.
const MAX_TID: ThreadId = 0x1FFF_FFFF;

/// How long a spawn at the thread limit waits for a thread to end. A guest learns that a
/// thread has ended from the thread itself (wasi-libc's `pthread_exit` wakes the joiner
/// before it returns from `wasi_thread_start`), a moment before the host frees its place, so
/// a program that joins a thread and starts another in its place would otherwise be refused
/// now and then.
const SPAWN_PATIENCE: std::time::Duration = std::time::Duration::from_millis(100);

/// How a thread failed, as the group keeps it for every joiner: the same record as a
/// store's guest threads, a trap by its kind and anything else (a failed instantiation, a
/// host function's error) as text.
fn failure_of(error: Error) -> ThreadFailure {
    match error {
        Error::Trap { trap, .. } => ThreadFailure::Trap(trap),
        Error::Exception(exception) => ThreadFailure::Exception(exception.word),
        error => ThreadFailure::Host(format!("a wasi thread failed: {error}")),
    }
}

impl Module {
    /// Compiles `bytes` as [`Module::new`] does, laid out for the wasi-threads programs of
    /// `model`: under [`WasiThreadsModel::OneInstance`], a module that imports
    /// `wasi::thread-spawn` gets one copy of each mutable global it defines per thread, which
    /// [`WasiThreads::with_model`] would otherwise compile it again for (and fails the same
    /// way if its threads could tell). Any other module compiles as usual.
    pub fn new_with_model(
        engine: &Engine,
        bytes: impl AsRef<[u8]>,
        model: WasiThreadsModel,
    ) -> Result<Module, Error> {
        Module::from_source(engine, bytes.as_ref(), None, parser(model))
    }

    /// Reads and compiles a `.wasm` or `.wat` file as [`Module::new_with_model`] does; fails
    /// as [`Module::from_file`].
    pub fn from_file_with_model(
        engine: &Engine,
        path: impl AsRef<Path>,
        model: WasiThreadsModel,
    ) -> Result<Module, Error> {
        Module::read_file(engine, path.as_ref(), parser(model))
    }
}

/// How a module run in `model` is decoded: laid out for one instance if it is a wasi-threads
/// program and `model` is one instance.
fn parser(model: WasiThreadsModel) -> Parse {
    match model {
        WasiThreadsModel::InstancePerThread => ModuleInfo::parse,
        WasiThreadsModel::OneInstance => |bytes| {
            let info = ModuleInfo::parse(bytes)?;
            if info.spawns_wasi_threads() {
                ModuleInfo::parse_one_instance(bytes)
            } else {
                Ok(info)
            }
        },
    }
}

/// Where a wasi-threads program's threads run.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum WasiThreadsModel {
    /// Each thread instantiates the module again, in a store of its own: the ABI's own
    /// semantics, and what every other wasi-threads runtime does.
    #[default]
    InstancePerThread,
    /// Every thread runs in the program's one instance, on a block of its own with its own
    /// copy of each mutable global the module defines; the module is compiled for it, and
    /// refused if its threads could tell the difference.
    OneInstance,
}

/// Stops one thread: everything running in its store.
struct StoreStopper(Terminator);

impl Interrupt for StoreStopper {
    fn interrupt(&self) {
        self.0.terminate();
    }
}

/// Stops one thread of the one instance: its attached call.
struct AttachmentStopper(ThreadTerminator);

impl Interrupt for AttachmentStopper {
    fn interrupt(&self) {
        self.0.terminate();
    }
}

/// A thread that could not attach, and so runs nothing.
struct NothingToStop;

impl Interrupt for NothingToStop {
    fn interrupt(&self) {}
}

/// What a new thread takes before it starts, so that a spawn at a limit fails at once.
enum Seat<T> {
    /// A store of its own, with a clone of the spawning store's data, in the engine's
    /// thread limit.
    Store { data: T, permit: BudgetPermit },
    /// A block of the one instance, in the store's and the engine's thread limits.
    Block(ReservedAttachment),
}

/// The one instance, as its threads enter it.
struct OneInstance {
    shared: SharedInstance,
    start: SharedTypedFunc<(i32, i32), ()>,
}

/// One wasi-threads program: the module, the imports every instance of it gets, and its
/// threads.
struct Process<T> {
    engine: Engine,
    model: WasiThreadsModel,
    module: Module,
    linker: Linker<T>,
    /// Under [`WasiThreadsModel::OneInstance`], the instance once it is made.
    one_instance: OnceLock<OneInstance>,
    group: ThreadGroup<ThreadFailure>,
    /// What a join gives the concurrency tools, for the threads they watch.
    handoffs: JoinHandoffs,
    os_threads: OsThreads,
    /// Live threads of every store and process of the engine.
    engine_budget: Arc<ThreadBudget>,
    /// The stores of the main instances, stopped with the threads.
    mains: Mutex<Vec<Terminator>>,
}

/// A wasi-threads process: instantiate its main instance with [`instantiate`], call into
/// it, and [`join`] the threads it spawned. Dropping it stops and joins every thread.
///
/// The process's live threads count against [`Config::max_threads`] (a process is the
/// instance-per-thread counterpart of a store) and [`Config::max_total_threads`]. Each
/// thread's store gets a clone of the data of the store that spawned it.
///
/// [`instantiate`]: WasiThreads::instantiate
/// [`join`]: WasiThreads::join
/// [`Config::max_threads`]: crate::Config::max_threads
/// [`Config::max_total_threads`]: crate::Config::max_total_threads
pub struct WasiThreads<T: Clone + Send + 'static> {
    process: Arc<Process<T>>,
}

impl<T: Clone + Send + 'static> WasiThreads<T> {
    /// Checks that `module` follows the wasi-threads ABI and adds `"wasi" "thread-spawn"` to
    /// `linker`, which must define every other import, the shared memory among them. Its
    /// threads get an instance each ([`WasiThreadsModel::InstancePerThread`]).
    pub fn new(linker: Linker<T>, module: &Module) -> Result<WasiThreads<T>, Error> {
        WasiThreads::with_model(linker, module, WasiThreadsModel::InstancePerThread)
    }

    /// As [`new`](Self::new), with the threads in `model`. For
    /// [`OneInstance`](WasiThreadsModel::OneInstance) the module is compiled again for it
    /// (the threads need a copy of each mutable global), which fails with
    /// [`CompileError::NotOneInstance`](crate::CompileError::NotOneInstance) if the threads
    /// could tell; every import must then be callable from any thread (the WASI functions
    /// are; a store-bound host function fails when another thread calls it), and the
    /// program has one instance.
    pub fn with_model(
        mut linker: Linker<T>,
        module: &Module,
        model: WasiThreadsModel,
    ) -> Result<WasiThreads<T>, Error> {
        check_abi(module)?;
        let module = match model {
            WasiThreadsModel::InstancePerThread => module.clone(),
            WasiThreadsModel::OneInstance if module.info().one_instance_threads => module.clone(),
            WasiThreadsModel::OneInstance => Module::compile(
                module.engine(),
                module.binary(),
                ModuleInfo::parse_one_instance,
            )?,
        };
        let engine = module.engine().clone();
        let mut defined = Ok(());
        let process = Arc::new_cyclic(|process: &Weak<Process<T>>| {
            defined = define_thread_spawn(&mut linker, model, process.clone());
            Process {
                model,
                module,
                linker,
                one_instance: OnceLock::new(),
                group: ThreadGroup::new(engine.config().max_threads),
                handoffs: JoinHandoffs::default(),
                os_threads: OsThreads::new("weft-wasi", engine.config().max_wasm_stack),
                engine_budget: Arc::clone(engine.thread_budget()),
                mains: Mutex::new(Vec::new()),
                engine,
            }
        });
        defined?;
        Ok(WasiThreads { process })
    }

    /// Instantiates the main instance in `store`, whose calls a trapping thread stops. Under
    /// [`OneInstance`](WasiThreadsModel::OneInstance) this is the instance every thread runs
    /// in, and there is only one: a second call fails with
    /// [`UsageError::SecondInstance`].
    pub fn instantiate(&self, store: &mut Store<T>) -> Result<Instance, Error> {
        let process = &self.process;
        if process.one_instance.get().is_some() {
            return Err(UsageError::SecondInstance.into());
        }
        let instance = process.linker.instantiate(&mut *store, &process.module)?;
        if process.model == WasiThreadsModel::OneInstance {
            let shared = instance.share(&mut *store)?;
            let start = shared.get_typed_func(THREAD_START_EXPORT)?;
            if process
                .one_instance
                .set(OneInstance { shared, start })
                .is_err()
            {
                return Err(UsageError::SecondInstance.into());
            }
        }
        self.process
            .mains
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(store.terminator());
        Ok(instance)
    }

    /// Starts a thread as the guest's `thread-spawn(arg)` would, with `data` for its store
    /// (none under [`OneInstance`](WasiThreadsModel::OneInstance), where `data` is unused),
    /// and returns its id.
    pub fn spawn(&self, data: T, arg: i32) -> Result<ThreadId, Error> {
        self.process.spawn(Some(data), arg)
    }

    /// Waits for every thread, including those spawned while it waits, and returns the
    /// first failure any thread had, if there was one.
    pub fn join(&self) -> Result<(), Error> {
        let process = &self.process;
        let result = process.handoffs.join_all(|| process.group.join_all());
        self.process.os_threads.wait_idle();
        result.map_err(failure_to_error)
    }

    /// Waits for thread `tid` and returns how it ended; `None` for an unknown or already
    /// joined id.
    pub fn join_thread(&self, tid: ThreadId) -> Option<ThreadOutcome> {
        let process = &self.process;
        process
            .handoffs
            .join(tid, || process.group.join(tid))
            .map(outcome_to_api)
    }

    /// Stops the process from any thread: every thread, and the main instances' calls.
    /// Running code traps with [`Trap::Interrupted`]; blocked waits wake at once. No thread
    /// starts afterwards.
    pub fn terminate(&self) {
        StopProcess::terminate(&*self.process);
    }

    /// Stops thread `tid` alone. Returns whether this call stopped it.
    pub fn terminate_thread(&self, tid: ThreadId) -> bool {
        self.process.terminate_thread(tid)
    }

    /// A handle that stops this process from any thread, as [`terminate`](Self::terminate)
    /// and [`terminate_thread`](Self::terminate_thread) do; it does nothing once the
    /// `WasiThreads` is dropped.
    pub fn terminator(&self) -> Terminator {
        let process: Arc<dyn StopProcess> = self.process.clone();
        Terminator::of_process(Arc::downgrade(&process))
    }

    /// The threads started and not yet finished.
    pub fn live_threads(&self) -> usize {
        self.process.group.live()
    }
}

impl<T: Clone + Send + 'static> Drop for WasiThreads<T> {
    fn drop(&mut self) {
        self.process.group.abort();
        // Failures were the embedder's to collect with `join`; the drop only waits.
        let _ = self.process.group.join_all();
        self.process.os_threads.join_all();
    }
}

impl<T: Clone + Send + 'static> StopProcess for Process<T> {
    fn terminate(&self) {
        self.group.abort();
        self.stop_mains();
    }

    fn terminate_thread(&self, id: ThreadId) -> bool {
        self.group.terminate(id)
    }
}

impl<T: Clone + Send + 'static> Process<T> {
    /// Starts a thread, with `data` for its store under an instance per thread.
    fn spawn(self: &Arc<Self>, data: Option<T>, arg: i32) -> Result<ThreadId, Error> {
        // The id first: its patience covers a thread that has told its joiner it is done
        // but still holds its seat.
        let tid = self.reserve_tid()?;
        let seat = self.seat(data).inspect_err(|_| self.group.cancel(tid))?;
        let process = Arc::clone(self);
        // With race detection, the new thread sees what its spawner did so far; in a
        // schedule being explored, it is one of the schedule's threads.
        let handoff = Handoff::fork(self.engine.race_tracker());
        let entering = handoff.clone();
        self.handoffs.record(tid, &handoff);
        let started = self
            .os_threads
            .start(move || process.run(tid, arg, seat, entering.enter()));
        match started {
            Ok(()) => {
                handoff.started();
                Ok(tid)
            }
            Err(error) => {
                handoff.cancel();
                self.handoffs.forget(tid);
                self.group.cancel(tid);
                Err(ThreadError::Os(error.to_string()).into())
            }
        }
    }

    /// A new thread's id, waiting up to `SPAWN_PATIENCE` at the thread limit.
    fn reserve_tid(&self) -> Result<ThreadId, Error> {
        let Some(tid) = self.group.reserve_within(SPAWN_PATIENCE) else {
            return Err(if self.group.is_aborted() {
                ThreadError::Stopped
            } else {
                ThreadError::StoreLimit(self.engine.config().max_threads)
            }
            .into());
        };
        if tid > MAX_TID {
            self.group.cancel(tid);
            return Err(ThreadError::Os(format!(
                "thread ids are used up (the ABI's last is {MAX_TID})"
            ))
            .into());
        }
        Ok(tid)
    }

    /// What a new thread takes before it starts; `data` is for its store under an instance
    /// per thread, where every spawn brings it, and unused in one instance.
    fn seat(&self, data: Option<T>) -> Result<Seat<T>, Error> {
        Ok(match data {
            Some(data) if self.model == WasiThreadsModel::InstancePerThread => Seat::Store {
                data,
                permit: self
                    .engine_budget
                    .try_acquire()
                    .ok_or(ThreadError::EngineLimit(self.engine_budget.limit()))?,
            },
            // Before the instance exists there is nowhere to run.
            _ => Seat::Block(
                self.one_instance
                    .get()
                    .ok_or(ThreadError::Stopped)?
                    .shared
                    .reserve()?,
            ),
        })
    }

    fn run(&self, tid: ThreadId, arg: i32, seat: Seat<T>, entered: Entered) {
        let result = match seat {
            Seat::Store { data, permit } => {
                let mut store = Store::new(&self.engine, data);
                // Fuel meters the program's own thread; spawned threads run unmetered.
                store.run_unmetered();
                let stopper = Arc::new(StoreStopper(store.terminator()));
                let result = if self.group.start(tid, stopper) {
                    self.start_thread(&mut store, tid, arg)
                } else {
                    Err(ThreadFailure::Trap(Trap::Interrupted))
                };
                drop(store);
                // Before `finish`: a joiner that sees the thread finished may spawn in its
                // place.
                drop(permit);
                result
            }
            // Detaches (and frees the slots) before `finish`, for the same reason.
            Seat::Block(reserved) => self.run_in_instance(reserved, tid, arg),
        };
        let failed =
            matches!(&result, Err(failure) if *failure != ThreadFailure::Trap(Trap::Interrupted));
        self.group.finish(tid, result);
        // After `finish` has recorded a failure: ending the schedule wakes the other
        // threads' waits as interrupted, which must not pass for the program's error.
        entered.finish(failed);
        // After `finish` has made the failure the group's error: a main call it interrupts
        // may terminate the process at once, and the failure must not count as aborted.
        if failed {
            self.stop_mains();
        }
    }

    fn start_thread(
        &self,
        store: &mut Store<T>,
        tid: ThreadId,
        arg: i32,
    ) -> Result<(), ThreadFailure> {
        let instance = self
            .linker
            .instantiate(&mut *store, &self.module)
            .map_err(failure_of)?;
        let start = instance
            .get_typed_func::<(i32, i32), ()>(&mut *store, THREAD_START_EXPORT)
            .map_err(failure_of)?;
        start
            .call(&mut *store, (tid as i32, arg))
            .map_err(failure_of)?;
        // Shared-everything threads the instance started are part of this thread's work.
        store.join_threads().map_err(failure_of)
    }

    /// Runs thread `tid` in the one instance: attaches, calls `wasi_thread_start(tid, arg)`
    /// on the thread's own block, and detaches.
    fn run_in_instance(
        &self,
        reserved: ReservedAttachment,
        tid: ThreadId,
        arg: i32,
    ) -> Result<(), ThreadFailure> {
        let attached = reserved.attach();
        let stopper: Arc<dyn Interrupt> = match &attached {
            Ok(thread) => Arc::new(AttachmentStopper(thread.terminator())),
            Err(_) => Arc::new(NothingToStop),
        };
        if !self.group.start(tid, stopper) {
            return Err(ThreadFailure::Trap(Trap::Interrupted));
        }
        let thread = attached.map_err(failure_of)?;
        let start = &self
            .one_instance
            .get()
            .expect("a thread is only spawned into an instance that exists")
            .start;
        start.call(&thread, (tid as i32, arg)).map_err(failure_of)
    }

    fn stop_mains(&self) {
        for main in self.mains.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            main.terminate();
        }
    }
}

/// Adds `thread-spawn` to `linker`: store-bound under an instance per thread, whose new
/// store gets a clone of the spawning store's data; store-free in one instance, where any
/// thread may spawn.
fn define_thread_spawn<T: Clone + Send + 'static>(
    linker: &mut Linker<T>,
    model: WasiThreadsModel,
    process: Weak<Process<T>>,
) -> Result<(), Error> {
    let spawn = |process: &Weak<Process<T>>, data: Option<T>, arg: i32| -> i32 {
        process.upgrade().map_or(-1, |process| {
            process.spawn(data, arg).map_or(-1, |tid| tid as i32)
        })
    };
    match model {
        WasiThreadsModel::InstancePerThread => linker.func_wrap(
            THREAD_SPAWN_MODULE,
            THREAD_SPAWN_NAME,
            move |caller: Caller<'_, T>, arg: i32| -> i32 {
                spawn(&process, Some(caller.data().clone()), arg)
            },
        ),
        WasiThreadsModel::OneInstance => linker.func_wrap_shared(
            THREAD_SPAWN_MODULE,
            THREAD_SPAWN_NAME,
            move |arg: i32| -> i32 { spawn(&process, None, arg) },
        ),
    }
    .map(drop)
}

/// The ABI's requirements a module must meet before any thread runs it.
fn check_abi(module: &Module) -> Result<(), Error> {
    let not_abi = |reason: String| Error::from(UsageError::NotWasiThreads { reason });
    let start = FuncType::new([ValType::I32, ValType::I32], []);
    match module
        .exports()
        .find(|export| export.name() == THREAD_START_EXPORT)
    {
        Some(export) => match export.ty() {
            ExternType::Func(ty) if ty.params() == start.params() && ty.results().is_empty() => {}
            ty => {
                return Err(not_abi(format!(
                    "`{THREAD_START_EXPORT}` must be a function {start}, not {ty:?}"
                )));
            }
        },
        None => {
            return Err(not_abi(format!(
                "it does not export `{THREAD_START_EXPORT}`"
            )));
        }
    }
    let spawn = FuncType::new([ValType::I32], [ValType::I32]);
    let mut imports_memory = false;
    for import in module.imports() {
        match import.ty() {
            ExternType::Func(ty)
                if import.module() == THREAD_SPAWN_MODULE
                    && import.name() == THREAD_SPAWN_NAME
                    && (ty.params() != spawn.params() || ty.results() != spawn.results()) =>
            {
                return Err(not_abi(format!(
                    "`{THREAD_SPAWN_MODULE}::{THREAD_SPAWN_NAME}` must be imported as {spawn}"
                )));
            }
            ExternType::Memory(ty) if !ty.is_shared() => {
                return Err(not_abi(format!(
                    "its memory `{}::{}` is not shared",
                    import.module(),
                    import.name()
                )));
            }
            ExternType::Memory(_) => imports_memory = true,
            _ => {}
        }
    }
    let info = module.info();
    if info.memories.len() > info.num_imported_memories as usize {
        return Err(not_abi(
            "it defines its own memory, which every thread would get a new copy of".into(),
        ));
    }
    if !imports_memory {
        return Err(not_abi(
            "it imports no shared memory for its threads to share".into(),
        ));
    }
    Ok(())
}
