//! What every suite needs to run guest code: an engine with shared-everything threads, an
//! instance with its shared memory, spawning and joining guest threads, host threads
//! attached to the instance, and copies of results out of the shared memory.

use crate::error::{Context, StressError};
use crate::os_threads::HOST_THREAD_PREFIX;
use crate::report::Checks;
use crate::rng::Rng;
use crate::watchdog::Watchdog;
use std::thread::JoinHandle;
use std::time::Duration;
use weft::{
    BoundsChecks, Config, Engine, Extern, Func, Instance, Linker, SharedInstance, SharedMemory,
    Store, ThreadId, ThreadOutcome, Trap, TypedFunc, WasmFeatures, WasmParams, WasmResults,
};

/// A suite's module: the types every suite shares (which the suite's types may refer to),
/// the suite's `imports` (which the text format wants before any function), the functions
/// every suite shares, and the suite's `body`.
pub(crate) fn module(imports: &str, body: &str) -> String {
    format!("(module\n{SHARED_TYPES}\n{imports}\n{SHARED_FUNCS}\n{body}\n)")
}

/// The spawnable entry type, and the type of the guests' random generator.
const SHARED_TYPES: &str = r#"
  (type $entry (shared (func (param i32))))
  (type $next_t (shared (func (param i32) (result i32))))"#;

/// The guests' own random generator (xorshift32, seeded by the host) and spin delay.
const SHARED_FUNCS: &str = r#"
  (func $next (type $next_t) (param $x i32) (result i32)
    (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 13))))
    (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 17))))
    (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 5))))
  (func $spin (type $entry) (param $n i32)
    (loop $more
      (if (local.get $n)
        (then
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $more)))))"#;

/// An engine for the suites: shared-everything threads, room for `max_threads` live threads
/// per store, and the given bounds-checking strategy.
pub(crate) fn engine(
    max_threads: usize,
    bounds_checks: BoundsChecks,
) -> Result<Engine, StressError> {
    let limit = u32::try_from(max_threads)
        .map_err(|_| StressError::Plan(format!("{max_threads} threads")))?;
    let mut config = Config::new();
    config
        .wasm_features(WasmFeatures::default() | WasmFeatures::SHARED_EVERYTHING_THREADS)
        .bounds_checks(bounds_checks)
        .max_threads(limit)
        .max_total_threads(limit.max(1024));
    Engine::new(&config).context("creating the engine")
}

/// How a set of threads ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub finished: usize,
    /// Stopped by a termination (spawned threads) or interrupted (attached threads).
    pub aborted: usize,
    /// How each thread that failed otherwise failed.
    pub trapped: Vec<String>,
    /// Threads the store did not know when joined.
    pub missing: usize,
    /// Whether the watchdog had to terminate the run at its deadline.
    pub deadline_passed: bool,
}

impl Tally {
    pub(crate) fn record(&mut self, outcome: Option<ThreadOutcome>) {
        match outcome {
            Some(ThreadOutcome::Finished) => self.finished += 1,
            Some(ThreadOutcome::Aborted) => self.aborted += 1,
            Some(ThreadOutcome::Trapped(error)) => self.trapped.push(error.to_string()),
            None => self.missing += 1,
        }
    }

    /// An attached thread's call: interrupted counts as aborted, like a spawned thread's.
    pub(crate) fn record_call(&mut self, result: Result<(), weft::Error>) {
        match result {
            Ok(()) => self.finished += 1,
            Err(error) if error.trap() == Some(Trap::Interrupted) => self.aborted += 1,
            Err(error) => self.trapped.push(error.to_string()),
        }
    }

    pub(crate) fn total(&self) -> usize {
        self.finished + self.aborted + self.trapped.len() + self.missing
    }

    /// Checks that all `expected` threads of `who` ran to completion.
    pub(crate) fn check_finished(&self, who: &str, expected: usize, checks: &mut Checks) {
        checks.expect(!self.deadline_passed, || {
            format!("{who}: the deadline passed and the watchdog terminated the run ({self})")
        });
        checks.expect(
            self.finished == expected && self.total() == expected,
            || format!("{who}: {self}, expected {expected} finished"),
        );
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} finished, {} aborted", self.finished, self.aborted)?;
        if !self.trapped.is_empty() {
            write!(
                f,
                ", {} trapped (first: {})",
                self.trapped.len(),
                self.trapped[0]
            )?;
        }
        if self.missing > 0 {
            write!(f, ", {} unknown to the store", self.missing)?;
        }
        Ok(())
    }
}

/// One instance of a suite's module, with its exported shared memory `memory`.
pub(crate) struct Guest {
    pub store: Store<()>,
    pub instance: Instance,
    pub memory: SharedMemory,
}

impl Guest {
    pub fn new(engine: &Engine, linker: &Linker<()>, wat: &str) -> Result<Guest, StressError> {
        let module = weft::Module::new(engine, wat).context("compiling the guest")?;
        let mut store = Store::new(engine, ());
        let instance = linker
            .instantiate(&mut store, &module)
            .context("instantiating the guest")?;
        let memory = instance
            .get_export(&mut store, "memory")
            .and_then(Extern::into_shared_memory)
            .ok_or_else(|| StressError::Plan("the guest exports no shared `memory`".into()))?;
        Ok(Guest {
            store,
            instance,
            memory,
        })
    }

    /// A guest that imports only the `"wasm:thread"` intrinsics every linker has.
    pub fn standalone(engine: &Engine, wat: &str) -> Result<Guest, StressError> {
        Guest::new(engine, &Linker::new(engine), wat)
    }

    pub fn func(&mut self, name: &str) -> Result<Func, StressError> {
        self.instance
            .get_func(&mut self.store, name)
            .ok_or_else(|| StressError::Plan(format!("the guest exports no `{name}`")))
    }

    pub fn typed<Params: WasmParams, Results: WasmResults>(
        &mut self,
        name: &str,
    ) -> Result<TypedFunc<Params, Results>, StressError> {
        self.instance
            .get_typed_func(&mut self.store, name)
            .context(format!("looking up `{name}`"))
    }

    pub fn share(&mut self) -> Result<SharedInstance, StressError> {
        self.instance
            .share(&mut self.store)
            .context("sharing the instance")
    }

    /// Spawns the export `name` once per argument (thread indices, typically).
    pub fn spawn_each(
        &mut self,
        name: &str,
        args: impl IntoIterator<Item = usize>,
    ) -> Result<Vec<ThreadId>, StressError> {
        let func = self.func(name)?;
        args.into_iter()
            .map(|arg| {
                self.store
                    .spawn(&func, guest_arg(arg)?)
                    .context(format!("spawning `{name}({arg})`"))
            })
            .collect()
    }

    pub fn join(&mut self, ids: &[ThreadId], tally: &mut Tally) {
        for &id in ids {
            tally.record(self.store.join_thread(id));
        }
    }

    pub fn read_bytes(&self, offset: usize, len: usize) -> Result<Vec<u8>, StressError> {
        let mut bytes = vec![0; len];
        self.memory
            .read(offset, &mut bytes)
            .context(format!("reading {len} bytes at {offset}"))?;
        Ok(bytes)
    }

    pub fn read_u32s(&self, offset: usize, count: usize) -> Result<Vec<u32>, StressError> {
        let bytes = self.read_bytes(offset, count * 4)?;
        Ok(bytes
            .chunks_exact(4)
            .map(|word| u32::from_le_bytes(word.try_into().expect("four bytes")))
            .collect())
    }

    pub fn read_u32(&self, offset: usize) -> Result<u32, StressError> {
        Ok(self.read_u32s(offset, 1)?[0])
    }

    pub fn write_u32s(&self, offset: usize, values: &[u32]) -> Result<(), StressError> {
        let bytes: Vec<u8> = values
            .iter()
            .flat_map(|value| value.to_le_bytes())
            .collect();
        self.memory
            .write(offset, &bytes)
            .context(format!("writing {} bytes at {offset}", bytes.len()))
    }

    pub fn zero(&self, offset: usize, len: usize) -> Result<(), StressError> {
        self.memory
            .write(offset, &vec![0; len])
            .context(format!("zeroing {len} bytes at {offset}"))
    }

    /// Gives `count` guest threads their own generator seeds, as u32s from `offset`.
    pub fn write_seeds(
        &self,
        offset: usize,
        count: usize,
        rng: &mut Rng,
    ) -> Result<(), StressError> {
        let seeds: Vec<u32> = (0..count).map(|_| rng.guest_seed()).collect();
        self.write_u32s(offset, &seeds)
    }
}

/// A thread index as the i32 argument of a guest function.
fn guest_arg(index: usize) -> Result<i32, StressError> {
    i32::try_from(index).map_err(|_| StressError::Plan(format!("thread index {index}")))
}

/// A host thread attached to an instance, making one call of a shared `[i32] -> []` export.
pub(crate) struct HostCall {
    name: String,
    handle: JoinHandle<Result<(), weft::Error>>,
}

impl HostCall {
    /// Starts a host thread that attaches to `shared` and calls `export(arg)`.
    pub fn start(
        shared: &SharedInstance,
        export: &str,
        arg: usize,
    ) -> Result<HostCall, StressError> {
        let arg = guest_arg(arg)?;
        let name = format!("{HOST_THREAD_PREFIX}{export}");
        let (shared, export_name) = (shared.clone(), export.to_owned());
        let handle = std::thread::Builder::new()
            .name(name.clone())
            .spawn(move || {
                let thread = shared.attach()?;
                let func = shared.get_typed_func::<i32, ()>(&export_name)?;
                func.call(&thread, arg)
            })?;
        Ok(HostCall { name, handle })
    }

    pub fn join(self, tally: &mut Tally) -> Result<(), StressError> {
        let result = self
            .handle
            .join()
            .map_err(|_| StressError::HostPanic(self.name))?;
        tally.record_call(result);
        Ok(())
    }
}

/// Who runs a two-role suite: the first `attached` workers of `workers` are host threads
/// attached to the instance, the rest guest threads, and every `helpers` index is a guest
/// thread of the second role (notifiers, producers).
pub(crate) struct Crew<'a> {
    pub workers: (&'a str, usize),
    pub attached: usize,
    pub helpers: (&'a str, usize),
}

impl Guest {
    /// Runs `crew` to the end under a watchdog that terminates the store at `deadline`, and
    /// tallies how every thread ended.
    pub fn run_crew(&mut self, crew: Crew<'_>, deadline: Duration) -> Result<Tally, StressError> {
        let shared = self.share()?;
        let watchdog = Watchdog::arm(self.store.terminator(), deadline)?;
        let (worker, workers) = crew.workers;
        let attached = (0..crew.attached)
            .map(|index| HostCall::start(&shared, worker, index))
            .collect::<Result<Vec<_>, _>>()?;
        let spawned = self.spawn_each(worker, crew.attached..workers)?;
        let helpers = self.spawn_each(crew.helpers.0, 0..crew.helpers.1)?;
        let mut tally = Tally::default();
        self.join(&spawned, &mut tally);
        self.join(&helpers, &mut tally);
        join_calls(attached, &mut tally)?;
        tally.deadline_passed = watchdog.disarm()?;
        Ok(tally)
    }
}

/// Joins every host call into `tally`.
pub(crate) fn join_calls(calls: Vec<HostCall>, tally: &mut Tally) -> Result<(), StressError> {
    calls.into_iter().try_for_each(|call| call.join(tally))
}
