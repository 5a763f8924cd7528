//! The two thread models run on the same guest work, for the `thread_models` bench.
//!
//! - **Shared everything** (weft's own model): one instance; a new thread is a guest thread
//!   of its store (`Store::spawn`) that leases a per-thread block of the instance.
//! - **Instance per thread** (wasi-threads): a new thread instantiates the module anew in a
//!   store of its own ([`weft::WasiThreads`], or `crate::wasmtime` with the `wasmtime`
//!   feature); only the imported shared memory is common.
//!
//! One generator ([`module_text`]) writes the module for either model: the same functions,
//! differing only in what the model forces (shared types and a thread-local global in one,
//! `wasi_thread_start` and a `__tls_base` block in linear memory in the other). Every thread
//! runs one body whose argument ([`ThreadArg`]) picks its work:
//!
//! - bump a counter and exit (spawn and join);
//! - announce itself and block (memory per thread);
//! - serve as a pool worker that runs [`Job`]s when the main instance releases it
//!   (thread-local access, the parallel histogram).
//!
//! The release/done protocol lives in the guest (`run_job`), so every runtime drives it with
//! the same calls ([`GuestThreads`]); [`native`] does the same in Rust.

mod memory;
mod module_text;
pub mod native;
mod pool;
mod weft_guest;

pub use memory::{
    BLOCKED_THREADS, BlockedThreads, GuestBlocked, MEMORY_REPETITIONS, MemoryEntry, MemoryReport,
    MemorySide, SIDE_ARG, ThreadMemory, bytes_per_thread, measure_in_processes,
};
pub use module_text::module_text;
pub use pool::{GuestPool, Workers};
pub use weft_guest::{WeftGuest, thread_models_engine};

use weft::Error;

/// Benchmark ids of the sides the thread-model groups compare.
pub const SHARED_EVERYTHING_ID: &str = "shared_everything";
pub const INSTANCE_PER_THREAD_ID: &str = "instance_per_thread";
pub const NATIVE_ID: &str = "native";
pub const WASMTIME_ID: &str = "wasmtime";
/// The thread-local access ids, named after the storage each side uses.
pub const THREAD_LOCAL_GLOBAL_ID: &str = "thread_local_global";
pub const TLS_BASE_MEMORY_ID: &str = "tls_base_memory";

/// The name of the memory-per-thread report, in criterion's output directory.
pub const MEMORY_REPORT_FILE: &str = "thread_models_memory.json";
/// Pool workers and blocked threads are told apart by an 8-bit index in their argument.
pub const MAX_WORKERS: u32 = 64;
/// The largest input of the parallel histogram.
pub const MAX_DATA_LEN: u32 = 8 << 20;

/// The two sizes of the thread-models module: the work alone, or with 10,000 more functions
/// and a 10,000-entry table, which a new instance must set up and a new thread need not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModuleSize {
    Small,
    Large,
}

impl ModuleSize {
    pub const ALL: [ModuleSize; 2] = [ModuleSize::Small, ModuleSize::Large];

    pub const fn extra_functions(self) -> usize {
        match self {
            ModuleSize::Small => 0,
            ModuleSize::Large => 10_000,
        }
    }

    /// How the memory report names this size.
    pub const fn id(self) -> &'static str {
        match self {
            ModuleSize::Small => "small_module",
            ModuleSize::Large => "10k_functions",
        }
    }
}

/// How a module instantiates threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    SharedEverything,
    InstancePerThread,
}

impl Model {
    pub const ALL: [Model; 2] = [Model::SharedEverything, Model::InstancePerThread];

    /// The criterion id of this model's side.
    pub const fn id(self) -> &'static str {
        match self {
            Model::SharedEverything => SHARED_EVERYTHING_ID,
            Model::InstancePerThread => INSTANCE_PER_THREAD_ID,
        }
    }

    /// Its id in the thread-local access group: the storage its thread-locals use.
    pub const fn thread_local_id(self) -> &'static str {
        match self {
            Model::SharedEverything => THREAD_LOCAL_GLOBAL_ID,
            Model::InstancePerThread => TLS_BASE_MEMORY_ID,
        }
    }
}

/// What pool workers do when released; the discriminants are the guest's job codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Job {
    /// `rounds` increments of the thread's thread-local counter, from 0; the result is the
    /// counter.
    ThreadLocal = 1,
    /// `rounds` passes of the byte histogram over the worker's chunk of the input; the result
    /// is the last pass's `sum(i * counts[i])`.
    Histogram = 2,
    /// The worker exits.
    Quit = 3,
}

/// A thread body's argument: its kind, and for pool workers their index and the pool size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadArg(i32);

impl ThreadArg {
    const ADD: i32 = 1;
    const BLOCK: i32 = 2;
    const WORKER: i32 = 3;

    /// Adds one to the guest's `added` counter and exits.
    pub const fn add() -> ThreadArg {
        ThreadArg(Self::ADD << 16)
    }

    /// Counts itself in `announced`, then waits until the main instance calls `unblock`.
    pub const fn block() -> ThreadArg {
        ThreadArg(Self::BLOCK << 16)
    }

    /// Worker `index` of a pool of `workers`; it pins itself to the `index`th CPU when there
    /// are several, as `timing::timed_on_threads` does.
    pub fn worker(index: u32, workers: u32) -> Result<ThreadArg, Error> {
        if index >= workers || workers > MAX_WORKERS {
            return Err(Error::msg(format!(
                "worker {index} of {workers}: pools have at most {MAX_WORKERS} workers"
            )));
        }
        let packed = (Self::WORKER << 16) as u32 | (workers << 8) | index;
        Ok(ThreadArg(packed.cast_signed()))
    }

    pub const fn get(self) -> i32 {
        self.0
    }
}

/// The guest's control words and areas in the shared memory (byte addresses), written into
/// the module text and, for the pool's results, read back through exports.
pub(crate) mod layout {
    pub const GENERATION: u32 = 0;
    pub const JOB: u32 = 4;
    pub const ROUNDS: u32 = 8;
    pub const WORKERS: u32 = 12;
    pub const DONE: u32 = 16;
    pub const ADDED: u32 = 20;
    pub const ANNOUNCED: u32 = 24;
    pub const RELEASED: u32 = 28;
    pub const DATA_LEN: u32 = 32;
    /// Control words `reset` clears: everything but `DATA_LEN`.
    pub const CONTROL_WORDS: u32 = 8;
    /// One result per worker, a cache line apart so workers do not share lines.
    pub const RESULTS: u32 = 4096;
    pub const RESULT_STRIDE_LOG2: u32 = 6;
    /// The instance-per-thread model's per-thread TLS blocks (`__tls_base` points at one),
    /// and the variable's offset in a block (what a linker's `@TLSREL` would give).
    pub const TLS_BLOCKS: u32 = 8192;
    pub const TLS_BLOCK_LOG2: u32 = 6;
    pub const TLS_VARIABLE: u32 = 8;
    /// One 256 × u32 histogram table per worker.
    pub const COUNTS: u32 = 16384;
    pub const COUNTS_STRIDE_LOG2: u32 = 10;
    pub const DATA: u32 = 131_072;
    /// 64 KiB pages: the areas above, then the largest input.
    pub const PAGES: u32 = (DATA + super::MAX_DATA_LEN) / 65_536;
}

/// A running thread-models module under one thread model and runtime: its main instance,
/// and the threads started from the host. Every call but `spawn` and the joins runs an
/// export of the main instance.
pub trait GuestThreads {
    /// Starts a thread running the module's thread body with `arg`; returns its id.
    fn spawn(&mut self, arg: ThreadArg) -> Result<u32, Error>;
    /// Waits for thread `id`; its trap or failure is the error.
    fn join(&mut self, id: u32) -> Result<(), Error>;
    /// Waits for every thread started so far.
    fn join_all(&mut self) -> Result<(), Error>;
    /// Releases the pool of `workers` to run `job` and returns when they all have.
    fn run_job(&mut self, job: Job, rounds: u32, workers: u32) -> Result<(), Error>;
    /// Worker `index`'s result of the last job.
    fn result(&mut self, index: u32) -> Result<i64, Error>;
    /// Threads that have run the [`ThreadArg::add`] body since the last reset.
    fn added(&mut self) -> Result<u32, Error>;
    /// Threads blocked (or about to block) in the [`ThreadArg::block`] body since the last
    /// reset.
    fn announced(&mut self) -> Result<u32, Error>;
    /// Wakes every blocked thread; they exit.
    fn unblock(&mut self) -> Result<(), Error>;
    /// Clears the control words, once no thread is running.
    fn reset(&mut self) -> Result<(), Error>;
    /// Fills the histogram input with `len` bytes of `XorShift::new(seed)`,
    /// generated by the guest so that no runtime needs host writes into shared memory.
    fn fill(&mut self, seed: u64, len: u32) -> Result<(), Error>;
}

/// A runtime and thread model that runs the thread-models module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {
    Weft(Model),
    /// wasmtime, instance per thread.
    #[cfg(feature = "wasmtime")]
    Wasmtime,
}

impl Runtime {
    /// Each weft model and, with the `wasmtime` feature, wasmtime.
    pub const ALL: &[Runtime] = &[
        Runtime::Weft(Model::SharedEverything),
        Runtime::Weft(Model::InstancePerThread),
        #[cfg(feature = "wasmtime")]
        Runtime::Wasmtime,
    ];

    /// The criterion id of this runtime's side.
    pub const fn id(self) -> &'static str {
        match self {
            Runtime::Weft(model) => model.id(),
            #[cfg(feature = "wasmtime")]
            Runtime::Wasmtime => WASMTIME_ID,
        }
    }

    /// Its id in the thread-local access group.
    pub const fn thread_local_id(self) -> &'static str {
        match self {
            Runtime::Weft(model) => model.thread_local_id(),
            #[cfg(feature = "wasmtime")]
            Runtime::Wasmtime => WASMTIME_ID,
        }
    }

    /// The main instance of the module of `size` (`engine` is weft's; wasmtime gets an engine
    /// of its own).
    pub fn guest(
        self,
        engine: &weft::Engine,
        size: ModuleSize,
    ) -> Result<Box<dyn GuestThreads>, Error> {
        Ok(match self {
            Runtime::Weft(model) => {
                Box::new(WeftGuest::new(engine, model, size.extra_functions())?)
            }
            #[cfg(feature = "wasmtime")]
            Runtime::Wasmtime => Box::new(crate::wasmtime::WasmtimeGuest::new(
                &crate::wasmtime::engine()?,
                size,
            )?),
        })
    }
}

/// One side of the thread-model groups: the main instance of a runtime and model, and its
/// criterion ids.
pub struct Side {
    /// The id in every group but thread-local access.
    pub id: &'static str,
    /// The id in the thread-local access group, after the storage its thread-locals use.
    pub thread_local_id: &'static str,
    pub guest: Box<dyn GuestThreads>,
}

/// The module of `size` on every [`Runtime`].
pub fn sides(engine: &weft::Engine, size: ModuleSize) -> Result<Vec<Side>, Error> {
    Runtime::ALL
        .iter()
        .map(|&runtime| {
            Ok(Side {
                id: runtime.id(),
                thread_local_id: runtime.thread_local_id(),
                guest: runtime.guest(engine, size)?,
            })
        })
        .collect()
}

/// The thread counts of the parallel kernel: 1, 2 and the available parallelism, in order and
/// without repeats.
pub fn parallel_thread_counts() -> Vec<u32> {
    let available = std::thread::available_parallelism()
        .map_or(1, |cpus| u32::try_from(cpus.get()).unwrap_or(u32::MAX))
        .min(MAX_WORKERS);
    let mut counts = vec![1, 2, available];
    counts.sort_unstable();
    counts.dedup();
    counts
}

/// The parallel histogram's chunk for worker `index` of `workers`: equal parts, the last one
/// taking the remainder (the guest splits the same way).
pub fn chunk(index: u32, workers: u32, len: usize) -> std::ops::Range<usize> {
    let size = len / workers as usize;
    let start = index as usize * size;
    let end = if index + 1 == workers {
        len
    } else {
        start + size
    };
    start..end
}

/// The native result the parallel histogram must reproduce: the histogram checksum of the
/// whole input, which is the sum of the workers' chunk checksums.
pub fn expected_histogram(data: &[u8]) -> i64 {
    let mut counts = [0; 256];
    i64::try_from(crate::histogram(data, &mut counts)).expect("inputs are at most 8 MiB")
}

#[cfg(test)]
mod tests;
