//! The thread-models module on weft, under either model.

use super::{GuestThreads, Job, Model, ThreadArg, layout, module_text};
use crate::timing::pin_to_cpu;
use weft::{
    Config, Engine, Error, Func, Linker, MemoryType, Module, SharedMemory, Store, ThreadOutcome,
    TypedFunc, WasiThreads, WasmFeatures,
};

/// Live threads a store or process may have: the memory measurement keeps up to 6 × 64
/// blocked at once, past the default limit of 64.
const MAX_THREADS: u32 = 512;

/// An engine for both models (the shared-everything proposal validated), allowing the live
/// threads the benchmarks keep.
pub fn thread_models_engine() -> Result<Engine, Error> {
    let mut config = Config::new();
    config
        .wasm_features(WasmFeatures::default() | WasmFeatures::SHARED_EVERYTHING_THREADS)
        .max_threads(MAX_THREADS);
    Engine::new(&config)
}

/// How the host starts and joins threads under each model.
enum Threads {
    /// `Store::spawn` of the shared `entry`.
    SharedEverything(Func),
    /// `WasiThreads::spawn`: a new instance per thread.
    InstancePerThread(WasiThreads<()>),
}

/// The main instance of the thread-models module on weft, and the threads it has started.
pub struct WeftGuest {
    threads: Threads,
    store: Store<()>,
    memory: SharedMemory,
    run_job: TypedFunc<(i32, i32, i32), ()>,
    result: TypedFunc<i32, i64>,
    added: TypedFunc<(), i32>,
    announced: TypedFunc<(), i32>,
    unblock: TypedFunc<(), ()>,
    reset: TypedFunc<(), ()>,
    fill: TypedFunc<(i64, i32), ()>,
}

impl WeftGuest {
    /// Compiles the module for `model` with `extra_functions` and instantiates its main
    /// instance on a new shared memory.
    pub fn new(engine: &Engine, model: Model, extra_functions: usize) -> Result<WeftGuest, Error> {
        let module = Module::new(engine, module_text(model, extra_functions))?;
        let memory = SharedMemory::new(engine, MemoryType::shared(layout::PAGES, layout::PAGES))?;
        let mut linker = Linker::new(engine);
        linker.define("env", "memory", memory.clone())?;
        let pin = |index: i32| {
            pin_to_cpu(index.cast_unsigned() as usize);
        };
        let mut store = Store::new(engine, ());
        let (threads, instance) = match model {
            Model::SharedEverything => {
                // Shared code may only import shared (store-free) host functions.
                linker.func_wrap_shared("bench", "pin", pin)?;
                let instance = linker.instantiate(&mut store, &module)?;
                let entry = instance
                    .get_func(&mut store, "entry")
                    .ok_or_else(|| Error::msg("the module exports no `entry`"))?;
                (Threads::SharedEverything(entry), instance)
            }
            Model::InstancePerThread => {
                linker.func_wrap("bench", "pin", pin)?;
                let process = WasiThreads::new(linker, &module)?;
                let instance = process.instantiate(&mut store)?;
                (Threads::InstancePerThread(process), instance)
            }
        };
        Ok(WeftGuest {
            threads,
            memory,
            run_job: instance.get_typed_func(&mut store, "run_job")?,
            result: instance.get_typed_func(&mut store, "result")?,
            added: instance.get_typed_func(&mut store, "added")?,
            announced: instance.get_typed_func(&mut store, "announced")?,
            unblock: instance.get_typed_func(&mut store, "unblock")?,
            reset: instance.get_typed_func(&mut store, "reset")?,
            fill: instance.get_typed_func(&mut store, "fill")?,
            store,
        })
    }

    /// The memory every thread shares.
    pub fn memory(&self) -> &SharedMemory {
        &self.memory
    }
}

fn outcome(id: u32, outcome: Option<ThreadOutcome>) -> Result<(), Error> {
    match outcome {
        Some(ThreadOutcome::Finished) => Ok(()),
        Some(ThreadOutcome::Trapped(error)) => Err(error),
        Some(ThreadOutcome::Aborted) => Err(Error::msg(format!("thread {id} was aborted"))),
        None => Err(Error::msg(format!("no thread {id} to join"))),
    }
}

impl GuestThreads for WeftGuest {
    fn spawn(&mut self, arg: ThreadArg) -> Result<u32, Error> {
        match &self.threads {
            Threads::SharedEverything(entry) => self.store.spawn(entry, arg.get()),
            Threads::InstancePerThread(process) => process.spawn((), arg.get()),
        }
    }

    fn join(&mut self, id: u32) -> Result<(), Error> {
        let joined = match &self.threads {
            Threads::SharedEverything(_) => self.store.join_thread(id),
            Threads::InstancePerThread(process) => process.join_thread(id),
        };
        outcome(id, joined)
    }

    fn join_all(&mut self) -> Result<(), Error> {
        match &self.threads {
            Threads::SharedEverything(_) => self.store.join_threads(),
            Threads::InstancePerThread(process) => process.join(),
        }
    }

    fn run_job(&mut self, job: Job, rounds: u32, workers: u32) -> Result<(), Error> {
        let args = (job as i32, rounds.cast_signed(), workers.cast_signed());
        self.run_job.call(&mut self.store, args)
    }

    fn result(&mut self, index: u32) -> Result<i64, Error> {
        self.result.call(&mut self.store, index.cast_signed())
    }

    fn added(&mut self) -> Result<u32, Error> {
        Ok(self.added.call(&mut self.store, ())?.cast_unsigned())
    }

    fn announced(&mut self) -> Result<u32, Error> {
        Ok(self.announced.call(&mut self.store, ())?.cast_unsigned())
    }

    fn unblock(&mut self) -> Result<(), Error> {
        self.unblock.call(&mut self.store, ())
    }

    fn reset(&mut self) -> Result<(), Error> {
        self.reset.call(&mut self.store, ())
    }

    fn fill(&mut self, seed: u64, len: u32) -> Result<(), Error> {
        self.fill
            .call(&mut self.store, (seed.cast_signed(), len.cast_signed()))
    }
}
