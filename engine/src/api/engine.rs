//! `Config` and `Engine`: compilation settings and the state shared by every module and store.

use super::error::{CompileError, Error, UsageError};
use super::explore::{Schedule, ScheduleReport};
use super::handoff::ThreadHandoff;
use super::profiling::{ProfilingStrategy, open_perf_map};
use super::races::DataRace;
use super::types::{ConcreteKind, ConcreteType, FuncType, HeapType};
use crate::compiler::Compiler;
use crate::environ::{BoundsChecks, OptLevel, Tunables, TypeKind, TypeRegistry};
use crate::vm::{Exploration, FastPathCode, Handoff, HostCode, RaceTracker, start_nudge_courier};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use wasmparser::WasmFeatures;
use weft_threads::ThreadBudget;

/// Settings for an [`Engine`]: the proposals it accepts, how it bounds memory accesses,
/// stack and thread limits. The setters return `&mut Self`, so calls chain.
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) tunables: Tunables,
    pub(crate) features: WasmFeatures,
    pub(crate) max_wasm_stack: usize,
    pub(crate) max_threads: u32,
    pub(crate) max_total_threads: u32,
    pub(crate) max_gc_heap: usize,
    pub(crate) profiler: ProfilingStrategy,
}

/// Bytes of structs and arrays one store may allocate unless [`Config::max_gc_heap`] says
/// otherwise.
pub const DEFAULT_MAX_GC_HEAP: usize = 1 << 30;

/// Live threads one store may have unless [`Config::max_threads`] says otherwise.
pub const DEFAULT_MAX_THREADS: u32 = 64;

/// Live threads all of an engine's stores may have unless [`Config::max_total_threads`] says
/// otherwise.
pub const DEFAULT_MAX_TOTAL_THREADS: u32 = 1024;

impl Default for Config {
    fn default() -> Self {
        Config {
            tunables: Tunables::default(),
            features: WasmFeatures::default(),
            max_wasm_stack: 512 * 1024,
            max_threads: DEFAULT_MAX_THREADS,
            max_total_threads: DEFAULT_MAX_TOTAL_THREADS,
            max_gc_heap: DEFAULT_MAX_GC_HEAP,
            profiler: ProfilingStrategy::None,
        }
    }
}

impl Config {
    /// The defaults: wasmparser's default features (WebAssembly 2.0 and the finished
    /// proposals, threads and GC among them, but not shared-everything threads: enable it
    /// with [`Config::wasm_features`]), guard pages, a 512 KiB wasm stack, 64 threads per
    /// store, 1024 per engine and a 1 GiB GC heap per store.
    pub fn new() -> Config {
        Config::default()
    }

    /// The proposals the validator accepts. Valid modules that use a proposal weft does not
    /// implement fail with [`CompileError::Unsupported`].
    pub fn wasm_features(&mut self, features: WasmFeatures) -> &mut Self {
        self.features = features;
        self
    }

    /// How memory accesses are bounds-checked; guard pages by default.
    pub fn bounds_checks(&mut self, bounds_checks: BoundsChecks) -> &mut Self {
        self.tunables.bounds_checks = bounds_checks;
        self
    }

    /// The most bytes of structs and arrays a store may allocate. weft never frees GC
    /// objects before their store is dropped (see the README), so this bounds a store's
    /// heap; an allocation past it traps.
    pub fn max_gc_heap(&mut self, bytes: usize) -> &mut Self {
        self.max_gc_heap = bytes;
        self
    }

    /// How many live threads one store (the group of instances one set of threads runs) may
    /// have: guest threads spawned by `"wasm:thread"` intrinsics or
    /// [`Store::spawn`](crate::Store::spawn), and host threads
    /// [attached](crate::SharedInstance::attach) to it. The store's own thread does not count.
    /// Beyond it, spawn returns -1 to the guest, and spawning or attaching fails with
    /// [`ThreadError::StoreLimit`](crate::ThreadError::StoreLimit) for the embedder.
    /// `available-parallelism` never reports more than this.
    pub fn max_threads(&mut self, threads: u32) -> &mut Self {
        self.max_threads = threads;
        self
    }

    /// How many live threads, counted as for [`Config::max_threads`], all stores of the
    /// engine may have together. Beyond it, spawning or attaching fails the same way, with
    /// [`ThreadError::EngineLimit`](crate::ThreadError::EngineLimit).
    pub fn max_total_threads(&mut self, threads: u32) -> &mut Self {
        self.max_total_threads = threads;
        self
    }

    /// Whether wasm code counts the operators it runs against its store's fuel
    /// ([`Store::set_fuel`](crate::Store::set_fuel)), trapping with
    /// [`Trap::OutOfFuel`](crate::Trap::OutOfFuel) when it runs out, as Wasmtime's
    /// `consume_fuel` does. Off by default: counting costs a load, a subtraction and a store
    /// per straight-line run of code, and a compare at every function entry and loop header.
    pub fn consume_fuel(&mut self, enabled: bool) -> &mut Self {
        self.tunables.consume_fuel = enabled;
        self
    }

    /// Whether to look for data races in guest code ([`Engine::data_races`]): compiled code
    /// reports every plain load and store of a shared memory and every atomic access, wait
    /// and notify to a happens-before detector, and spawn and join order threads. Off by
    /// default, when it costs nothing; on, each reported access is a runtime call.
    pub fn detect_races(&mut self, enabled: bool) -> &mut Self {
        self.tunables.detect_races = enabled;
        self
    }

    /// Whether code can run under schedule exploration ([`Engine::explore`]): compiled code
    /// passes a schedule point, a runtime call, before every atomic access, fence, `wait`
    /// and `notify` and at every loop header. Outside a schedule each point returns at once.
    /// Off by default, when it costs nothing.
    pub fn explore(&mut self, enabled: bool) -> &mut Self {
        self.tunables.explore = enabled;
        self
    }

    /// Bytes of native stack wasm code may use before trapping with "call stack exhausted".
    /// The thread calling into wasm must have this much stack left, plus room for host code.
    pub fn max_wasm_stack(&mut self, bytes: usize) -> &mut Self {
        self.max_wasm_stack = bytes;
        self
    }

    /// How to tell profilers about compiled code: with [`ProfilingStrategy::PerfMap`] every
    /// function is listed in [`perf_map_path`](crate::perf_map_path)
    /// (`/tmp/perf-PID.map`) as it is compiled, so that `perf report` names wasm functions.
    /// [`Engine::new`] fails if the file cannot be opened.
    pub fn profiler(&mut self, strategy: ProfilingStrategy) -> &mut Self {
        self.profiler = strategy;
        self.tunables.name_functions = strategy == ProfilingStrategy::PerfMap;
        self
    }

    /// How hard Cranelift optimizes the code it generates: [`OptLevel::Speed`] by default;
    /// [`OptLevel::None`] compiles faster, and is what the fuzzer compares optimized code
    /// against.
    pub fn cranelift_opt_level(&mut self, level: OptLevel) -> &mut Self {
        self.tunables.opt_level = level;
        self
    }

    /// Whether optimized code inlines small functions (a few dozen wasm instructions) into
    /// their calls, one level deep: on by default, as call-heavy code runs faster for it;
    /// traps and backtraces still name the inlined functions. Unlike Wasmtime, whose
    /// `compiler_inlining` is off by default.
    pub fn cranelift_inlining(&mut self, inline: bool) -> &mut Self {
        self.tunables.inline_functions = inline;
        self
    }

    /// Run Cranelift's IR verifier on all generated code (on by default in debug builds).
    pub fn verify_ir(&mut self, verify: bool) -> &mut Self {
        self.tunables.verify_ir = verify;
        self
    }
}

struct EngineInner {
    config: Config,
    compiler: Compiler,
    /// Shared with the runtime, whose function casts consult it.
    types: Arc<Mutex<TypeRegistry>>,
    host_trampolines: Mutex<HashMap<u32, Arc<HostCode>>>,
    /// The fast paths of host mutexes, compiled when the first one is defined.
    mutex_fast_paths: Mutex<Option<Arc<FastPathCode>>>,
    /// Live threads of all stores, against [`Config::max_total_threads`].
    threads: Arc<ThreadBudget>,
    /// With [`Config::detect_races`], the detector every store's threads report to.
    race: Option<Arc<RaceTracker>>,
}

/// Compiles modules and owns what they share: the Cranelift backend, the type registry
/// (so that `call_indirect` compares signatures across modules), the compiled host-call
/// trampolines and the engine-wide thread count. Cheap to clone; `Send + Sync`.
///
/// `Engine::default()` is `Engine::new(&Config::default())`; it panics where `new` would
/// fail, on a host Cranelift cannot target.
#[derive(Clone)]
pub struct Engine(Arc<EngineInner>);

impl Default for Engine {
    fn default() -> Self {
        Engine::new(&Config::default()).expect("the host is a supported target")
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.0.config)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine with `config`'s settings, which every module and store it makes keeps.
    /// Fails with [`CompileError::Codegen`] when Cranelift has no backend for the host.
    pub fn new(config: &Config) -> Result<Engine, Error> {
        let compiler = Compiler::new(&config.tunables).map_err(CompileError::from)?;
        if config.profiler == ProfilingStrategy::PerfMap {
            open_perf_map()?;
        }
        // Its thread's first nudge must not be the moment a thread count changes.
        start_nudge_courier();
        Ok(Engine(Arc::new(EngineInner {
            config: config.clone(),
            compiler,
            types: Arc::default(),
            host_trampolines: Mutex::default(),
            mutex_fast_paths: Mutex::default(),
            threads: Arc::new(ThreadBudget::new(config.max_total_threads)),
            race: config
                .tunables
                .detect_races
                .then(|| Arc::new(RaceTracker::default())),
        })))
    }

    /// The race detector, with [`Config::detect_races`] on.
    pub(crate) fn race_tracker(&self) -> Option<&Arc<RaceTracker>> {
        self.0.race.as_ref()
    }

    /// The hand-off for a thread the calling thread is about to start to run wasm of this
    /// engine, through which race detection and schedule exploration see it as they see
    /// weft's own threads (see [`ThreadHandoff`] for the steps).
    pub fn thread_handoff(&self) -> ThreadHandoff {
        ThreadHandoff(Handoff::fork(self.race_tracker()))
    }

    /// Runs `body` on the calling thread as the root of `schedule`: the calling thread and
    /// every thread started from it while `body` runs (by `wasm:thread`, wasi-threads in
    /// either model, or an embedder's [`ThreadHandoff`]) run one at a time, and at each
    /// schedule point the schedule picks which runs next. The points are every atomic
    /// access, fence, `memory.atomic.wait` and `notify`, spawn and join, host primitive
    /// ([`Linker::define_mutex`](crate::Linker::define_mutex) and its kin), and every
    /// [`Schedule::loop_period`]-th loop header.
    ///
    /// The schedule ends when `body` returns, when a thread fails in a way that ends the
    /// program, or when every thread is blocked with none able to time out (a deadlock,
    /// reported, whose waits are then interrupted); from then on threads run freely. The
    /// same schedule replays exactly if the program does the same thing when it is given
    /// the same order (no clocks, randomness or input that differ between runs).
    ///
    /// Fails with [`UsageError::ExplorationOff`] unless the engine was made with
    /// [`Config::explore`].
    pub fn explore<R>(
        &self,
        schedule: Schedule,
        body: impl FnOnce() -> R,
    ) -> Result<(R, ScheduleReport), Error> {
        if !self.0.config.tunables.explore {
            return Err(UsageError::ExplorationOff.into());
        }
        let scope = Exploration::start(schedule.strategy, schedule.seed, schedule.loop_period);
        let exploration = Arc::clone(scope.exploration());
        let result = body();
        scope.finish(false);
        Ok((result, ScheduleReport::new(schedule, &exploration)))
    }

    /// The data races the engine's code has run into so far, each pair of accesses once, in
    /// the order they were found; always empty unless [`Config::detect_races`] is on.
    pub fn data_races(&self) -> Vec<DataRace> {
        self.race_tracker()
            .map(|tracker| {
                tracker
                    .races()
                    .into_iter()
                    .map(DataRace::from_sited)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The count of live threads across the engine's stores.
    pub(crate) fn thread_budget(&self) -> &Arc<ThreadBudget> {
        &self.0.threads
    }

    pub(crate) fn config(&self) -> &Config {
        &self.0.config
    }

    pub(crate) fn compiler(&self) -> &Compiler {
        &self.0.compiler
    }

    /// Whether two handles refer to the same engine.
    pub fn same(a: &Engine, b: &Engine) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }

    pub(crate) fn type_registry(&self) -> &Arc<Mutex<TypeRegistry>> {
        &self.0.types
    }

    /// The engine's interned types. Held only briefly: converting a type to the API's form
    /// resolves its references through this lock again.
    pub(crate) fn types(&self) -> MutexGuard<'_, TypeRegistry> {
        self.0.types.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The engine-wide id of a host function type (final, without supertype).
    pub(crate) fn register_type(&self, ty: &FuncType) -> u32 {
        let wasm = ty.to_wasm(self);
        self.types().register_func(wasm, ty.is_shared())
    }

    /// Function type `id` as the API describes it. Types declaring subtyping lose that here;
    /// their heap type ([`Engine::heap_type`]) keeps it.
    pub(crate) fn func_type(&self, id: u32) -> FuncType {
        let (wasm, shared) = {
            let types = self.types();
            let ty = &types.get(id).sub_type.composite_type;
            (ty.unwrap_func().clone(), ty.shared)
        };
        FuncType::from_wasm(&wasm, shared, &|id| self.heap_type(id))
            .expect("every registered type has an API form")
    }

    /// The heap type of registered type `id`: structural for a plain function type, by id
    /// for everything else.
    pub(crate) fn heap_type(&self, id: u32) -> HeapType {
        let (describable, kind, shared, ancestors) = {
            let types = self.types();
            let ty = types.get(id);
            let kind = match ty.kind() {
                TypeKind::Func => ConcreteKind::Func,
                TypeKind::Struct => ConcreteKind::Struct,
                TypeKind::Array => ConcreteKind::Array,
            };
            let ancestors: Arc<[u32]> = ty.ancestors().into();
            (ty.describable, kind, ty.is_shared(), ancestors)
        };
        if describable {
            HeapType::ConcreteFunc(self.func_type(id))
        } else {
            HeapType::Concrete(ConcreteType {
                id,
                kind,
                shared,
                ancestors,
                _hold: Arc::new(TypeRegistry::hold(&self.0.types, id)),
            })
        }
    }

    /// The fast paths of host mutexes' `lock` and `unlock`, compiled on first use.
    pub(crate) fn mutex_fast_paths(&self) -> Result<Arc<FastPathCode>, Error> {
        let mut cache = self
            .0
            .mutex_fast_paths
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(code) = &*cache {
            return Ok(Arc::clone(code));
        }
        let compiled = self
            .0
            .compiler
            .compile_mutex_fast_paths()
            .map_err(CompileError::from)?;
        let code = Arc::new(FastPathCode::new(Arc::new(compiled)));
        *cache = Some(Arc::clone(&code));
        Ok(code)
    }

    /// The trampolines for host functions of signature `id`, compiled on first use.
    pub(crate) fn host_trampolines(&self, id: u32) -> Result<Arc<HostCode>, Error> {
        let mut cache = self
            .0
            .host_trampolines
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(code) = cache.get(&id) {
            return Ok(Arc::clone(code));
        }
        let ty = self.func_type(id).to_wasm(self);
        let compiled = self
            .0
            .compiler
            .compile_host_trampolines(&ty)
            .map_err(CompileError::from)?;
        let code = Arc::new(HostCode::new(Arc::new(compiled)));
        cache.insert(id, Arc::clone(&code));
        Ok(code)
    }
}
