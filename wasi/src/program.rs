//! A WASI program run to its end, in whichever thread model it needs: the steps every
//! embedder of a `wasm32-wasip1` or `wasm32-wasip1-threads` program takes, in one place.

use crate::ctx::{ExitStatus, WasiCtx};
use weft::{
    Error, ExternType, Instance, Linker, Module, SharedMemory, Store, THREAD_SPAWN_MODULE,
    THREAD_SPAWN_NAME, Terminator, WasiThreads, WasiThreadsModel,
};

/// The export a WASI reactor (a library-like program, `-mexec-model=reactor`) is
/// initialized with.
pub const REACTOR_INITIALIZE: &str = "_initialize";

/// A WASI program, instantiated: a module that imports `wasi::thread-spawn` runs as a
/// wasi-threads program ([`WasiThreads`], in the [`WasiThreadsModel`] chosen, an instance
/// per thread by default); any other in one instance, whose shared-everything threads, if it
/// spawns any, are its store's.
///
/// Call its entry point through [`instance`](Self::instance) (`_start` for a command), then
/// [`finish`](Self::finish) it with the result: the program ends there, as a process ends
/// when its main function returns.
pub struct Program<T: Clone + Send + 'static> {
    instance: Instance,
    threads: Option<WasiThreads<T>>,
    ctx: WasiCtx,
    terminator: ProgramTerminator,
}

/// Stops a whole program from any thread, a watchdog's for example: every thread of it,
/// running or blocked, traps with `Interrupted` (see [`weft::Terminator`]). Cheap to clone.
#[derive(Clone, Debug)]
pub struct ProgramTerminator {
    store: Terminator,
    /// The wasi-threads process, if the program is one.
    process: Option<Terminator>,
}

impl ProgramTerminator {
    pub fn terminate(&self) {
        self.store.terminate();
        if let Some(process) = &self.process {
            process.terminate();
        }
    }
}

impl<T: Clone + Send + 'static> Program<T> {
    /// Instantiates `module` in `store` with `linker`, which must hold the WASI functions of
    /// `ctx` (see [`add_to_linker`](crate::add_to_linker)) and the program's other imports.
    /// A shared memory the module imports and `linker` does not define is created with the
    /// declared type, as wasi-threads programs expect of their host. `proc_exit` from any
    /// thread stops the whole program.
    ///
    /// A reactor's `_initialize` is called here. An error may be the program exiting during
    /// instantiation (from its start function or `_initialize`): [`WasiCtx::exit_status`]
    /// tells.
    pub fn instantiate(
        linker: Linker<T>,
        store: &mut Store<T>,
        module: &Module,
        ctx: &WasiCtx,
    ) -> Result<Program<T>, Error> {
        Program::instantiate_with_model(
            linker,
            store,
            module,
            ctx,
            WasiThreadsModel::InstancePerThread,
        )
    }

    /// As [`instantiate`](Self::instantiate), running a wasi-threads program's threads in
    /// `model` (which other programs ignore).
    pub fn instantiate_with_model(
        mut linker: Linker<T>,
        store: &mut Store<T>,
        module: &Module,
        ctx: &WasiCtx,
        model: WasiThreadsModel,
    ) -> Result<Program<T>, Error> {
        define_shared_memories(&mut linker, module)?;
        let store_terminator = store.terminator();
        ctx.stop_on_exit(store_terminator.clone());
        let spawns_wasi_threads = module.imports().any(|import| {
            import.module() == THREAD_SPAWN_MODULE && import.name() == THREAD_SPAWN_NAME
        });
        let (instance, threads) = if spawns_wasi_threads {
            let threads = WasiThreads::with_model(linker, module, model)?;
            ctx.stop_on_exit(threads.terminator());
            (threads.instantiate(store)?, Some(threads))
        } else {
            (linker.instantiate(&mut *store, module)?, None)
        };
        let terminator = ProgramTerminator {
            store: store_terminator,
            process: threads.as_ref().map(WasiThreads::terminator),
        };
        // A reactor is initialized before any of its exports is called, as the WASI ABI asks
        // of the host.
        if let Some(initialize) = instance.get_func(&mut *store, REACTOR_INITIALIZE) {
            initialize.typed::<(), ()>(&*store)?.call(&mut *store, ())?;
        }
        Ok(Program {
            instance,
            threads,
            ctx: ctx.clone(),
            terminator,
        })
    }

    /// A handle that stops the program from any thread.
    pub fn terminator(&self) -> ProgramTerminator {
        self.terminator.clone()
    }

    /// The program's (main) instance.
    pub fn instance(&self) -> Instance {
        self.instance
    }

    /// Ends the program once its entry point has returned with `ran`: stops every thread it
    /// still has and waits for them, then returns how it ended: the status a thread passed to
    /// `proc_exit`, 0 if the entry point returned, or the first trap of any thread.
    pub fn finish(self, store: &mut Store<T>, ran: Result<(), Error>) -> Result<ExitStatus, Error> {
        // A thread's trap interrupts the main call, so it is the cause to report.
        let threads_joined = self.threads.as_ref().map_or(Ok(()), |threads| {
            threads.terminate();
            threads.join()
        });
        // Last, so that the store's join also clears the interrupt the terminations left on
        // its own thread, and the store can run again.
        store.terminator().terminate();
        let store_joined = store.join_threads();
        self.ctx
            .exit_status(threads_joined.and(store_joined).and(ran))
    }
}

/// Defines each shared memory `module` imports and `linker` lacks as a new memory of the
/// declared type.
fn define_shared_memories<T: 'static>(
    linker: &mut Linker<T>,
    module: &Module,
) -> Result<(), Error> {
    for import in module.imports() {
        if let ExternType::Memory(ty) = import.ty()
            && ty.is_shared()
            && !linker.is_defined(import.module(), import.name())
        {
            let memory = SharedMemory::new(module.engine(), *ty)?;
            linker.define(import.module(), import.name(), memory)?;
        }
    }
    Ok(())
}
