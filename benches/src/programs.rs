//! The wasi-threads programs of the thread-model report: one C source,
//! `programs/pthread_kernels.c`, built as a wasm32-wasip1-threads reactor (with and without
//! 10,000 more functions) that weft runs in either [`WasiThreadsModel`], and built natively
//! (`programs/native_driver.c`, by `build.rs`) as the baseline. Every side runs the same
//! pthread code: `spawn_join`, blocked threads for memory, and a parallel histogram.
//!
//! The native side runs as a child process that times its own kernel and prints the
//! nanoseconds, so both sides time only the kernel, and the benches need no foreign calls.

use crate::thread_models::{
    BLOCKED_THREADS, BlockedThreads, INSTANCE_PER_THREAD_ID, MEMORY_REPETITIONS, MemoryEntry,
    NATIVE_ID, ThreadMemory, bytes_per_thread,
};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use weft::{Config, Engine, Error, Linker, Module, Store, TypedFunc, WasiThreadsModel};
use weft_wasi::{Program, WasiCtx};

/// What the ids of the program's memory sides start with.
pub const PROGRAM_PREFIX: &str = "program/";
/// Benchmark id of the wasi-threads programs run in one instance.
pub const ONE_INSTANCE_ID: &str = "one_instance";
/// The seed every side fills the histogram's input with (`SEED` in `native_driver.c`).
pub const HISTOGRAM_SEED: i64 = 0x5eed;
/// The bytes one histogram call counts: its 8 MiB input (`DATA_LEN` in `pthread_kernels.c`),
/// `PASSES` (8) times over.
pub const PROGRAM_DATA_LEN: u64 = 8 * (8 << 20);

/// The two builds of the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgramSize {
    /// The kernels and wasi-libc: about 50 functions.
    Small,
    /// With 10,000 more functions, all in the function table.
    Large,
}

impl ProgramSize {
    pub const ALL: [ProgramSize; 2] = [ProgramSize::Small, ProgramSize::Large];

    /// The committed build, in `benches/programs/`.
    pub fn path(self) -> PathBuf {
        let name = match self {
            ProgramSize::Small => "pthread_kernels.wasm",
            ProgramSize::Large => "pthread_kernels_10k.wasm",
        };
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("programs")
            .join(name)
    }

    /// How reports name this size.
    pub const fn id(self) -> &'static str {
        match self {
            ProgramSize::Small => "small_program",
            ProgramSize::Large => "10k_functions",
        }
    }
}

/// The benchmark id of weft running the programs in `model`.
pub const fn model_id(model: WasiThreadsModel) -> &'static str {
    match model {
        WasiThreadsModel::InstancePerThread => INSTANCE_PER_THREAD_ID,
        WasiThreadsModel::OneInstance => ONE_INSTANCE_ID,
    }
}

/// Both models, in report order.
pub const MODELS: [WasiThreadsModel; 2] = [
    WasiThreadsModel::OneInstance,
    WasiThreadsModel::InstancePerThread,
];

/// The engine the programs run on: weft's defaults, with room for the blocked threads of the
/// memory measurement.
pub fn program_engine() -> Result<Engine, Error> {
    let threads = BLOCKED_THREADS * (MEMORY_REPETITIONS as u32 + 1);
    Engine::new(
        Config::new()
            .max_threads(threads)
            .max_total_threads(threads),
    )
}

/// The program, instantiated and initialized in one model, with its kernels.
pub struct WasiProgram {
    store: Store<()>,
    /// Held for its threads: dropping it stops and joins them.
    _program: Program<()>,
    spawn_join: TypedFunc<i32, i32>,
    start_blocked: TypedFunc<i32, i32>,
    release_blocked: TypedFunc<(), i32>,
    fill: TypedFunc<i64, ()>,
    histogram: TypedFunc<i32, i64>,
}

impl WasiProgram {
    pub fn new(
        engine: &Engine,
        model: WasiThreadsModel,
        size: ProgramSize,
    ) -> Result<WasiProgram, Error> {
        let module = Module::from_file_with_model(engine, size.path(), model)?;
        let ctx = WasiCtx::builder()
            .build()
            .map_err(|error| Error::msg(error.to_string()))?;
        let mut linker = Linker::new(engine);
        weft_wasi::add_to_linker(&mut linker, &ctx)?;
        let mut store = Store::new(engine, ());
        let program = Program::instantiate_with_model(linker, &mut store, &module, &ctx, model)?;
        let instance = program.instance();
        Ok(WasiProgram {
            spawn_join: instance.get_typed_func(&mut store, "spawn_join")?,
            start_blocked: instance.get_typed_func(&mut store, "start_blocked")?,
            release_blocked: instance.get_typed_func(&mut store, "release_blocked")?,
            fill: instance.get_typed_func(&mut store, "fill")?,
            histogram: instance.get_typed_func(&mut store, "histogram")?,
            store,
            _program: program,
        })
    }

    /// `count` pthread_create+join, one after the other.
    pub fn spawn_join(&mut self, count: i32) -> Result<(), Error> {
        match self.spawn_join.call(&mut self.store, count)? {
            done if done == count => Ok(()),
            failed => Err(Error::msg(format!("spawn_join({count}) failed: {failed}"))),
        }
    }

    /// Fills the histogram's input from `seed`.
    pub fn fill(&mut self, seed: i64) -> Result<(), Error> {
        self.fill.call(&mut self.store, seed)
    }

    /// One histogram of the input with `threads` threads; its checksum.
    pub fn histogram(&mut self, threads: i32) -> Result<u64, Error> {
        match self.histogram.call(&mut self.store, threads)? {
            0 => Err(Error::msg(format!("histogram({threads}) failed"))),
            checksum => Ok(checksum as u64),
        }
    }

    /// Starts `count` more threads that block until released.
    pub fn start_blocked(&mut self, count: i32) -> Result<(), Error> {
        match self.start_blocked.call(&mut self.store, count)? {
            -1 => Err(Error::msg(format!("start_blocked({count}) failed"))),
            _ => Ok(()),
        }
    }

    /// Releases and joins every blocked thread.
    pub fn release_blocked(&mut self) -> Result<(), Error> {
        self.release_blocked.call(&mut self.store, ()).map(drop)
    }
}

/// The native build of the program, `native_driver` in a child process.
pub struct NativeProgram;

impl NativeProgram {
    fn run(args: &[String]) -> Result<String, Error> {
        let driver = env!("NATIVE_DRIVER");
        let output = Command::new(driver)
            .args(args)
            .output()
            .map_err(|error| Error::msg(format!("cannot run {driver}: {error}")))?;
        if !output.status.success() {
            return Err(Error::msg(format!(
                "{driver} {}: {}; {}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    }

    fn numbers(line: &str) -> Result<Vec<f64>, Error> {
        line.split_whitespace()
            .map(|word| {
                word.parse()
                    .map_err(|_| Error::msg(format!("native_driver printed `{line}`")))
            })
            .collect()
    }

    /// The time `count` pthread_create+join took.
    pub fn spawn_join(count: u64) -> Result<Duration, Error> {
        let line = NativeProgram::run(&["spawn_join".into(), count.to_string()])?;
        let [ns] = NativeProgram::numbers(&line)?[..] else {
            return Err(Error::msg(format!("native_driver printed `{line}`")));
        };
        Ok(Duration::from_nanos(ns as u64))
    }

    /// The time `count` histograms with `threads` threads took, and the checksum.
    pub fn histogram(threads: u32, count: u64) -> Result<(Duration, u64), Error> {
        let args = ["histogram".into(), threads.to_string(), count.to_string()];
        let line = NativeProgram::run(&args)?;
        let [ns, checksum] = NativeProgram::numbers(&line)?[..] else {
            return Err(Error::msg(format!("native_driver printed `{line}`")));
        };
        Ok((Duration::from_nanos(ns as u64), checksum as u64))
    }

    /// Resident-set growth per thread of `batches` batches of `count` blocked threads, on
    /// top of a first, uncounted one.
    pub fn memory(count: u32, batches: usize) -> Result<ThreadMemory, Error> {
        let args = ["memory".into(), count.to_string(), batches.to_string()];
        let samples = NativeProgram::numbers(&NativeProgram::run(&args)?)?;
        ThreadMemory::of(samples).ok_or_else(|| Error::msg("native_driver measured nothing"))
    }
}

/// A side of the program memory report: `program/native`, or
/// `program/<model>/<program size>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgramMemorySide {
    Native,
    Weft(WasiThreadsModel, ProgramSize),
}

impl ProgramMemorySide {
    pub fn all() -> Vec<ProgramMemorySide> {
        let weft = ProgramSize::ALL.into_iter().flat_map(|size| {
            MODELS
                .into_iter()
                .map(move |model| ProgramMemorySide::Weft(model, size))
        });
        std::iter::once(ProgramMemorySide::Native)
            .chain(weft)
            .collect()
    }

    pub fn id(self) -> String {
        match self {
            ProgramMemorySide::Native => format!("{PROGRAM_PREFIX}{NATIVE_ID}"),
            ProgramMemorySide::Weft(model, size) => {
                format!("{PROGRAM_PREFIX}{}/{}", model_id(model), size.id())
            }
        }
    }

    pub fn from_id(id: &str) -> Option<ProgramMemorySide> {
        ProgramMemorySide::all()
            .into_iter()
            .find(|side| side.id() == id)
    }
}

impl ProgramMemorySide {
    /// Measures this side in the calling process, which should have done nothing else (see
    /// `thread_models::MemorySide::measure`).
    pub fn measure(self) -> Result<MemoryEntry, Error> {
        let bytes_per_thread = match self {
            ProgramMemorySide::Native => {
                NativeProgram::memory(BLOCKED_THREADS, MEMORY_REPETITIONS)?
            }
            ProgramMemorySide::Weft(model, size) => {
                let mut program = WasiProgram::new(&program_engine()?, model, size)?;
                bytes_per_thread(&mut program, BLOCKED_THREADS, MEMORY_REPETITIONS)?.ok_or_else(
                    || Error::msg("the resident set size cannot be read in this process"),
                )?
            }
        };
        Ok(MemoryEntry {
            id: self.id(),
            bytes_per_thread,
        })
    }
}

/// The program's blocked threads wait on a condition variable until released.
impl BlockedThreads for WasiProgram {
    fn block(&mut self, count: u32) -> Result<(), Error> {
        self.start_blocked(count as i32)
    }

    fn release(&mut self) -> Result<(), Error> {
        self.release_blocked()
    }
}
