//! Running a generated program once: its threads started as guest threads or as a
//! wasi-threads program (in either model), left to the OS or under a schedule; what the run
//! leaves is read back for the family's check.

use super::wat::{Flavor, SharedGlobal};
use super::watchdog::{RUN_DEADLINE, Watch, Watchdog};
use std::time::Duration;
use weft::{
    Config, Engine, Error, Linker, MemoryType, Module, Schedule, ScheduleReport, SharedMemory,
    Store, WasiThreads, WasiThreadsModel, WasmFeatures,
};

/// How many times the start barrier spins before waiting, in free runs: at a few
/// nanoseconds an atomic load, a few tens of microseconds, which a spawn takes.
const FREE_SPIN_LIMIT: i32 = 20_000;

/// Where a program's threads run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    /// Guest threads of the shared-everything proposal, in one store.
    Guest,
    /// A wasi-threads program in the model given.
    Wasi(WasiThreadsModel),
}

impl Host {
    /// A name for reports and failures.
    pub fn name(self) -> &'static str {
        match self {
            Host::Guest => "guest threads",
            Host::Wasi(WasiThreadsModel::InstancePerThread) => "wasi-threads, instance per thread",
            Host::Wasi(WasiThreadsModel::OneInstance) => "wasi-threads, one instance",
        }
    }

    /// The hosts a program of `flavor` runs under.
    pub fn all_for(flavor: Flavor) -> &'static [Host] {
        match flavor {
            Flavor::Guest => &[Host::Guest],
            Flavor::Wasi => &[
                Host::Wasi(WasiThreadsModel::InstancePerThread),
                Host::Wasi(WasiThreadsModel::OneInstance),
            ],
        }
    }
}

/// How a run is scheduled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheduling {
    /// Threads run as the OS runs them.
    Free,
    /// One thread at a time, in the order the schedule picks.
    Explored(Schedule),
}

/// One run's place: host and scheduling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mode {
    /// Where the threads run.
    pub host: Host,
    /// Who picks the order.
    pub scheduling: Scheduling,
}

impl Mode {
    /// A description for failure messages, with what replays the schedule.
    pub fn describe(self) -> String {
        match self.scheduling {
            Scheduling::Free => format!("{}, free run", self.host.name()),
            Scheduling::Explored(schedule) => format!(
                "{}, under schedule {:?} seed {} loop period {}",
                self.host.name(),
                schedule.strategy,
                schedule.seed,
                schedule.loop_period
            ),
        }
    }
}

/// What a run left.
pub struct Observation {
    /// The memory's first bytes, as many as the family asked for.
    pub memory: Vec<u8>,
    /// Each shared global's final value (guest threads only), zero-extended.
    pub globals: Vec<u64>,
    /// The schedule's report, for an explored run.
    pub schedule: Option<ScheduleReport>,
}

impl Observation {
    /// The little-endian word at `address`, if the memory read reaches past it.
    pub fn word(&self, address: u32) -> Option<u32> {
        let at = address as usize;
        let bytes = self.memory.get(at..at + 4)?;
        Some(u32::from_le_bytes(bytes.try_into().ok()?))
    }
}

/// What every run uses, made once: two engines, one for free runs and one whose code
/// passes schedule points, and the watchdog that stops a run that hangs.
pub struct Runner {
    free: Engine,
    exploring: Engine,
    watchdog: Watchdog,
}

impl Runner {
    /// Both engines, with the shared-everything threads proposal on, and the watchdog.
    pub fn new() -> anyhow::Result<Runner> {
        Runner::with_deadline(RUN_DEADLINE)
    }

    /// The same, with runs stopped after `deadline`.
    pub fn with_deadline(deadline: Duration) -> anyhow::Result<Runner> {
        let engine = |explore: bool| {
            let mut config = Config::new();
            config
                .wasm_features(WasmFeatures::default() | WasmFeatures::SHARED_EVERYTHING_THREADS)
                .explore(explore);
            Engine::new(&config)
        };
        Ok(Runner {
            free: engine(false)?,
            exploring: engine(true)?,
            watchdog: Watchdog::new(deadline)?,
        })
    }

    /// The engine for runs scheduled as `scheduling`.
    fn for_scheduling(&self, scheduling: Scheduling) -> &Engine {
        match scheduling {
            Scheduling::Free => &self.free,
            Scheduling::Explored(_) => &self.exploring,
        }
    }
}

/// One program, compiled lazily for each engine and thread model it runs under.
pub struct Program<'a> {
    runner: &'a Runner,
    wat: &'a str,
    /// Bytes of memory each run reads back.
    extent: usize,
    globals: &'a [SharedGlobal],
    compiled: Vec<((bool, Host), Module)>,
}

impl<'a> Program<'a> {
    /// `wat`, whose runs read back `extent` bytes of memory and `globals`.
    pub fn new(
        runner: &'a Runner,
        wat: &'a str,
        extent: u32,
        globals: &'a [SharedGlobal],
    ) -> Program<'a> {
        Program {
            runner,
            wat,
            extent: extent as usize,
            globals,
            compiled: Vec::new(),
        }
    }

    /// The module for `mode`: compiled for the exploring engine or not, and laid out for one
    /// instance when that is the model.
    fn module(&mut self, mode: Mode) -> Result<Module, String> {
        let explored = matches!(mode.scheduling, Scheduling::Explored(_));
        let key = (explored, mode.host);
        if let Some((_, module)) = self.compiled.iter().find(|(compiled, _)| *compiled == key) {
            return Ok(module.clone());
        }
        let engine = self.runner.for_scheduling(mode.scheduling);
        let module = match mode.host {
            Host::Guest => Module::new(engine, self.wat),
            Host::Wasi(model) => Module::new_with_model(engine, self.wat, model),
        }
        .map_err(|error| {
            format!(
                "the program does not compile ({}): {error}",
                mode.host.name()
            )
        })?;
        self.compiled.push((key, module.clone()));
        Ok(module)
    }

    /// Runs the program once in `mode`: the memory and globals it left, or what went wrong
    /// (a trap, a deadlock, an API error).
    pub fn run(&mut self, mode: Mode) -> Result<Observation, String> {
        let module = self.module(mode)?;
        let watch = self.runner.watchdog.begin();
        let observed = self.run_watched(mode, &module, &watch);
        if watch.finish() {
            return Err(format!(
                "still running after {:?}, stopped",
                self.runner.watchdog.deadline()
            ));
        }
        observed
    }

    /// Runs `module` once in `mode`, stopped by `watch` if it hangs.
    fn run_watched(
        &self,
        mode: Mode,
        module: &Module,
        watch: &Watch,
    ) -> Result<Observation, String> {
        let engine = self.runner.for_scheduling(mode.scheduling);
        let (extent, globals) = (self.extent, self.globals);
        let guest = |spin_limit| run_guest(engine, module, watch, spin_limit, extent, globals);
        // A wasi-threads program's threads are joined inside the schedule, which the join
        // takes part in (it once did not, and never returned: this target found it).
        let wasi = |model, spin_limit| start_wasi(engine, module, watch, model, spin_limit);
        let Scheduling::Explored(schedule) = mode.scheduling else {
            // The barrier spins only in free runs, where it makes the threads start together.
            let (memory, globals) = match mode.host {
                Host::Guest => guest(FREE_SPIN_LIMIT)?,
                Host::Wasi(model) => wasi(model, FREE_SPIN_LIMIT)?.finish(extent)?,
            };
            return Ok(Observation {
                memory,
                globals,
                schedule: None,
            });
        };
        let cannot_explore = |error: Error| format!("cannot explore: {error}");
        let (left, report) = match mode.host {
            Host::Guest => engine
                .explore(schedule, || guest(0))
                .map_err(cannot_explore)?,
            Host::Wasi(model) => engine
                .explore(schedule, || {
                    wasi(model, 0).and_then(|started| started.finish(extent))
                })
                .map_err(cannot_explore)?,
        };
        if let Some(blocked) = &report.deadlock {
            let threads: Vec<String> = blocked.iter().map(ToString::to_string).collect();
            return Err(format!("deadlock: {}", threads.join("; ")));
        }
        let (memory, globals) = left?;
        Ok(Observation {
            memory,
            globals,
            schedule: Some(report),
        })
    }
}

/// Memory and globals a run left.
type Left = (Vec<u8>, Vec<u64>);

/// Runs a guest-threads program: `run` on this thread, then every thread joined.
fn run_guest(
    engine: &Engine,
    module: &Module,
    watch: &Watch,
    spin_limit: i32,
    extent: usize,
    globals: &[SharedGlobal],
) -> Result<Left, String> {
    let mut store = Store::new(engine, ());
    watch.stop_with(store.terminator());
    let instance = Linker::new(engine)
        .instantiate(&mut store, module)
        .map_err(|error| format!("instantiation failed: {error}"))?;
    let run = instance
        .get_typed_func::<i32, ()>(&mut store, "run")
        .map_err(|error| format!("no `run`: {error}"))?;
    let ran = run.call(&mut store, spin_limit);
    if ran.is_err() {
        // The other threads may wait for the main thread's work: stop them rather than
        // wait for their timeouts.
        store.terminator().terminate();
    }
    let joined = store.join_threads();
    ran.map_err(|error| format!("the main thread failed: {error}"))?;
    joined.map_err(|error| format!("a thread failed: {error}"))?;
    let memory = instance
        .get_shared_memory(&mut store, "memory")
        .ok_or("the shared memory is not exported")?;
    let mut bytes = vec![0; extent];
    memory
        .read(0, &mut bytes)
        .map_err(|error| format!("cannot read the memory: {error}"))?;
    let values = globals
        .iter()
        .enumerate()
        .map(|(index, global)| {
            let getter = SharedGlobal::getter(index);
            let value = if global.wide {
                instance
                    .get_typed_func::<(), i64>(&mut store, &getter)
                    .and_then(|get| get.call(&mut store, ()))
                    .map(|value| value as u64)
            } else {
                instance
                    .get_typed_func::<(), i32>(&mut store, &getter)
                    .and_then(|get| get.call(&mut store, ()))
                    .map(|value| u64::from(value as u32))
            };
            value.map_err(|error| format!("cannot read global {index}: {error}"))
        })
        .collect::<Result<_, String>>()?;
    Ok((bytes, values))
}

/// A wasi-threads program whose `run` has returned, its threads not joined yet.
struct StartedWasi {
    threads: WasiThreads<()>,
    /// The main instance's store, kept until the threads are joined: under one instance
    /// they run attached to its instance.
    store: Store<()>,
    memory: SharedMemory,
    ran: Result<(), Error>,
}

/// Instantiates a wasi-threads program in `model` and calls `run` on this thread.
fn start_wasi(
    engine: &Engine,
    module: &Module,
    watch: &Watch,
    model: WasiThreadsModel,
    spin_limit: i32,
) -> Result<StartedWasi, String> {
    let api = |error: Error| format!("cannot set the program up: {error}");
    let memory = SharedMemory::new(engine, MemoryType::shared(1, 1)).map_err(api)?;
    let mut linker = Linker::new(engine);
    linker
        .define("env", "memory", memory.clone())
        .map_err(api)?;
    let threads = WasiThreads::with_model(linker, module, model).map_err(api)?;
    watch.stop_with(threads.terminator());
    let mut store = Store::new(engine, ());
    watch.stop_with(store.terminator());
    let instance = threads
        .instantiate(&mut store)
        .map_err(|error| format!("instantiation failed: {error}"))?;
    let run = instance
        .get_typed_func::<i32, ()>(&mut store, "run")
        .map_err(|error| format!("no `run`: {error}"))?;
    let ran = run.call(&mut store, spin_limit);
    Ok(StartedWasi {
        threads,
        store,
        memory,
        ran,
    })
}

impl StartedWasi {
    /// Joins the threads (stopping them first if `run` failed, since they may wait for
    /// it), then reads `extent` bytes of memory.
    fn finish(self, extent: usize) -> Result<Left, String> {
        if self.ran.is_err() {
            self.threads.terminate();
        }
        let joined = self.threads.join();
        drop(self.store);
        self.ran
            .map_err(|error| format!("the main thread failed: {error}"))?;
        joined.map_err(|error| format!("a thread failed: {error}"))?;
        let mut bytes = vec![0; extent];
        self.memory
            .read(0, &mut bytes)
            .map_err(|error| format!("cannot read the memory: {error}"))?;
        Ok((bytes, Vec::new()))
    }
}
