//! The instance-per-thread model on wasmtime: just enough of wasi-threads for the benchmarks.
//! `thread-spawn` (and the host's spawn) starts an OS thread that instantiates the module in a
//! new store, importing the same shared memory, and calls `wasi_thread_start(tid, arg)`; a
//! trap is its thread's failure, reported at the join (a full implementation would also stop
//! the other threads).

use super::{compile, typed, wasmtime_error};
use crate::thread_models::{GuestThreads, Job, Model, ModuleSize, ThreadArg, layout, module_text};
use crate::timing::pin_to_cpu;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::thread::JoinHandle;
use wasmtime::{Caller, Engine, InstancePre, Linker, MemoryType, SharedMemory, Store, TypedFunc};
use weft::Error;

const THREAD_START: &str = "wasi_thread_start";

/// The threads of one program and what each needs to start: the module pre-linked once with
/// its imports.
struct Process {
    /// Set right after linking, which needs the `Weak` to this process for `thread-spawn`.
    instance_pre: OnceLock<InstancePre<()>>,
    next_tid: AtomicU32,
    threads: Mutex<HashMap<u32, JoinHandle<Result<(), String>>>>,
}

impl Process {
    fn spawn(self: &Arc<Self>, arg: i32) -> Result<u32, Error> {
        // Ids start at 1, as the ABI has them.
        let tid = self.next_tid.fetch_add(1, Ordering::Relaxed) + 1;
        let process = Arc::clone(self);
        let handle = std::thread::Builder::new()
            .name(format!("wasmtime-wasi-{tid}"))
            .spawn(move || process.run(tid, arg))
            .map_err(|error| Error::msg(format!("cannot start a thread: {error}")))?;
        self.threads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(tid, handle);
        Ok(tid)
    }

    fn run(&self, tid: u32, arg: i32) -> Result<(), String> {
        let instance_pre = self.instance_pre.get().ok_or("the process is not linked")?;
        let mut store = Store::new(instance_pre.module().engine(), ());
        let started = instance_pre.instantiate(&mut store).and_then(|instance| {
            instance
                .get_typed_func::<(i32, i32), ()>(&mut store, THREAD_START)?
                .call(&mut store, (tid.cast_signed(), arg))
        });
        started.map_err(|error| format!("wasmtime thread {tid}: {error:#}"))
    }

    fn join(&self, tid: u32) -> Result<(), Error> {
        let handle = self
            .threads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&tid)
            .ok_or_else(|| Error::msg(format!("no thread {tid} to join")))?;
        match handle.join() {
            Ok(result) => result.map_err(Error::msg),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    fn tids(&self) -> Vec<u32> {
        let threads = self.threads.lock().unwrap_or_else(PoisonError::into_inner);
        threads.keys().copied().collect()
    }
}

/// The thread-models module's main instance on wasmtime, instance-per-thread model.
pub struct WasmtimeGuest {
    process: Arc<Process>,
    store: Store<()>,
    run_job: TypedFunc<(i32, i32, i32), ()>,
    result: TypedFunc<i32, i64>,
    added: TypedFunc<(), i32>,
    announced: TypedFunc<(), i32>,
    unblock: TypedFunc<(), ()>,
    reset: TypedFunc<(), ()>,
    fill: TypedFunc<(i64, i32), ()>,
    spawn: TypedFunc<i32, i32>,
}

impl WasmtimeGuest {
    pub fn new(engine: &Engine, size: ModuleSize) -> Result<WasmtimeGuest, Error> {
        let text = module_text(Model::InstancePerThread, size.extra_functions());
        let module = compile(engine, &text)?;
        let memory = SharedMemory::new(engine, MemoryType::shared(layout::PAGES, layout::PAGES))
            .map_err(wasmtime_error)?;
        let process = Arc::new(Process {
            instance_pre: OnceLock::new(),
            next_tid: AtomicU32::new(0),
            threads: Mutex::new(HashMap::new()),
        });
        let mut store = Store::new(engine, ());
        let mut linker = Linker::new(engine);
        let spawner: Weak<Process> = Arc::downgrade(&process);
        linker
            .define(&store, "env", "memory", memory)
            .and_then(|linker| {
                linker.func_wrap("bench", "pin", |index: i32| {
                    pin_to_cpu(index.cast_unsigned() as usize);
                })
            })
            .and_then(|linker| {
                linker.func_wrap(
                    "wasi",
                    "thread-spawn",
                    move |_: Caller<'_, ()>, arg: i32| -> i32 {
                        spawner
                            .upgrade()
                            .and_then(|process| process.spawn(arg).ok())
                            .map_or(-1, |tid| tid.cast_signed())
                    },
                )
            })
            .map_err(wasmtime_error)?;
        let instance_pre = linker.instantiate_pre(&module).map_err(wasmtime_error)?;
        let instance = instance_pre
            .instantiate(&mut store)
            .map_err(wasmtime_error)?;
        if process.instance_pre.set(instance_pre).is_err() {
            unreachable!("the process was linked once");
        }
        Ok(WasmtimeGuest {
            run_job: typed(&mut store, &instance, "run_job")?,
            result: typed(&mut store, &instance, "result")?,
            added: typed(&mut store, &instance, "added")?,
            announced: typed(&mut store, &instance, "announced")?,
            unblock: typed(&mut store, &instance, "unblock")?,
            reset: typed(&mut store, &instance, "reset")?,
            fill: typed(&mut store, &instance, "fill")?,
            spawn: typed(&mut store, &instance, "spawn")?,
            process,
            store,
        })
    }
}

impl WasmtimeGuest {
    /// Starts a thread from the guest, through its `thread-spawn` import; returns its id, or
    /// -1 if it could not start.
    pub fn guest_spawn(&mut self, arg: ThreadArg) -> Result<i32, Error> {
        self.spawn
            .call(&mut self.store, arg.get())
            .map_err(wasmtime_error)
    }
}

impl GuestThreads for WasmtimeGuest {
    fn spawn(&mut self, arg: ThreadArg) -> Result<u32, Error> {
        self.process.spawn(arg.get())
    }

    fn join(&mut self, id: u32) -> Result<(), Error> {
        self.process.join(id)
    }

    fn join_all(&mut self) -> Result<(), Error> {
        // Every thread is joined even if one failed; the first failure is the result.
        let mut first = Ok(());
        for tid in self.process.tids() {
            let joined = self.process.join(tid);
            if first.is_ok() {
                first = joined;
            }
        }
        first
    }

    fn run_job(&mut self, job: Job, rounds: u32, workers: u32) -> Result<(), Error> {
        let args = (job as i32, rounds.cast_signed(), workers.cast_signed());
        self.run_job
            .call(&mut self.store, args)
            .map_err(wasmtime_error)
    }

    fn result(&mut self, index: u32) -> Result<i64, Error> {
        self.result
            .call(&mut self.store, index.cast_signed())
            .map_err(wasmtime_error)
    }

    fn added(&mut self) -> Result<u32, Error> {
        let added = self.added.call(&mut self.store, ());
        Ok(added.map_err(wasmtime_error)?.cast_unsigned())
    }

    fn announced(&mut self) -> Result<u32, Error> {
        let announced = self.announced.call(&mut self.store, ());
        Ok(announced.map_err(wasmtime_error)?.cast_unsigned())
    }

    fn unblock(&mut self) -> Result<(), Error> {
        self.unblock
            .call(&mut self.store, ())
            .map_err(wasmtime_error)
    }

    fn reset(&mut self) -> Result<(), Error> {
        self.reset.call(&mut self.store, ()).map_err(wasmtime_error)
    }

    fn fill(&mut self, seed: u64, len: u32) -> Result<(), Error> {
        self.fill
            .call(&mut self.store, (seed.cast_signed(), len.cast_signed()))
            .map_err(wasmtime_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_thread_spawn_starts_a_new_instance_thread() {
        let engine = super::super::engine().unwrap();
        let mut guest = WasmtimeGuest::new(&engine, ModuleSize::Small).unwrap();
        guest.reset().unwrap();
        let first = guest.guest_spawn(ThreadArg::add()).unwrap();
        let second = guest.guest_spawn(ThreadArg::add()).unwrap();
        assert_eq!((first, second), (1, 2), "ids start at 1");
        guest.join(first.cast_unsigned()).unwrap();
        guest.join_all().unwrap();
        assert_eq!(guest.added().unwrap(), 2);
        assert!(guest.join(1).is_err(), "joined already");
    }
}
