//! `weft run`: run a WASI program, or call one function of any module.

use crate::args::parse_args;
use crate::usage::UsageError;
use crate::wasm_options::WasmOptions;
use crate::watchdog::Watchdog;
use anyhow::{Context, Result, bail};
use std::io::{Write, stdout};
use std::path::Path;
use weft::{
    Config, Engine, Extern, ExternType, Func, Instance, Linker, Module, ProfilingStrategy, Store,
    Val, WasiThreadsModel, WasmFeatures,
};
use weft_spec_tests::{default_results, display_val};
use weft_wasi::{DirPerms, ExitStatus, FilePerms, Program, WasiCtx};

/// Functions called when no `--invoke` is given, in order of preference.
const ENTRY_POINTS: [&str; 2] = ["_start", "main"];

/// Run a WebAssembly module (`.wasm` binary or `.wat` text).
///
/// The module gets WASI preview 1 (`wasi_snapshot_preview1`): the ARGS after FILE are its
/// arguments (FILE itself is argument 0), and weft exits with the status the program passes
/// to `proc_exit` (0 when its entry point returns). Instantiating runs the module's start
/// function; then `_start` (or `main`) is called, or the export given with `--invoke`, whose
/// parameters are then parsed from ARGS and whose results are printed one per line.
///
/// A module that imports `wasi::thread-spawn` runs as a wasi-threads program: each imported
/// shared memory is created with its declared limits, and every spawned thread gets a new
/// instance (`--wasi-threads=instance`), or a block of the program's one instance
/// (`--wasi-threads=shared`). The program ends when its entry point returns or any thread
/// calls `proc_exit`; then every other thread is stopped.
///
/// Exit status: the program's own; 134 when it traps or throws an exception it does not catch
/// (as Wasmtime does, the status of a process aborted by a signal), with one `error:` line;
/// 1 when it cannot run (a missing or
/// invalid module, an unknown import or export); 2 for wrong options.
#[derive(clap::Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    program: ProgramArgs,
    /// Look for data races between the program's threads: plain loads and stores of a shared
    /// memory that no atomic, wait/notify, spawn or join orders. Each racing pair of
    /// accesses is printed once after the run, and a run that found any exits with 66 (as
    /// ThreadSanitizer's) unless it failed otherwise.
    #[arg(long)]
    race: bool,
}

/// How a program is set up to run, for each command that runs programs.
#[derive(clap::Args)]
pub(crate) struct ProgramArgs {
    /// Give the program a host directory: HOST, under the same name, or HOST::GUEST.
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    dirs: Vec<String>,
    /// Set an environment variable of the program: NAME=VALUE, or NAME for the host's value.
    #[arg(long = "env", value_name = "NAME[=VALUE]")]
    envs: Vec<String>,
    /// Call this export instead of `_start`/`main`, with ARGS as its parameters: integers
    /// in decimal or 0x hex, floats in decimal or as inf/nan, references as `null` (or a
    /// number for an externref).
    #[arg(long, value_name = "NAME")]
    invoke: Option<String>,
    /// Instantiate MODULE first and link its exports as the imports of module NAME.
    #[arg(long = "preload", value_name = "NAME=MODULE")]
    preloads: Vec<String>,
    /// WebAssembly options: a proposal, turned on (`-W threads`, `=y`) or off (`=n`); every
    /// proposal weft implements is on by default, shared-everything threads included.
    /// `-W timeout=DURATION` (200ms, 2s, 1m) stops every thread of a run that lasts longer;
    /// `-W fuel=N` lets the program's main thread run N operators, then traps.
    #[arg(short = 'W', long = "wasm", value_name = "OPT[=VALUE]")]
    wasm: Vec<String>,
    #[command(flatten)]
    wasi_threads: ThreadModelArg,
    #[command(flatten)]
    profile: ProfileArg,
    /// The module, then the program's arguments. Everything after FILE goes to the program.
    #[arg(value_name = "FILE [ARGS]", required = true, trailing_var_arg = true)]
    pub command: Vec<String>,
}

impl ProgramArgs {
    /// The `-W` values given.
    pub(crate) fn wasm_values(&self) -> &[String] {
        &self.wasm
    }

    /// These options and the command as they would be written on a command line, for a
    /// command that repeats a run.
    pub(crate) fn to_command_line(&self) -> Vec<String> {
        let mut words = Vec::new();
        let mut option = |name: &str, values: &[String]| {
            for value in values {
                words.push(format!("{name} {value}"));
            }
        };
        option("--dir", &self.dirs);
        option("--env", &self.envs);
        option("--invoke", self.invoke.as_slice());
        option("--preload", &self.preloads);
        option("-W", &self.wasm);
        if self.wasi_threads.model() == WasiThreadsModel::OneInstance {
            words.push("--wasi-threads shared".to_string());
        }
        words.extend(self.command.iter().cloned());
        words
    }
}

/// `--wasi-threads MODEL`, for each command that runs programs.
#[derive(clap::Args)]
pub(crate) struct ThreadModelArg {
    /// Where a wasi-threads program's threads run: `instance`, a new instance each (the
    /// ABI's own semantics), or `shared`, every thread in the program's one instance with its
    /// own copy of each mutable global (a program whose threads could tell is refused).
    #[arg(
        long = "wasi-threads",
        value_name = "MODEL",
        default_value = "instance"
    )]
    model: ThreadModel,
}

impl ThreadModelArg {
    pub(crate) fn model(&self) -> WasiThreadsModel {
        match self.model {
            ThreadModel::Instance => WasiThreadsModel::InstancePerThread,
            ThreadModel::Shared => WasiThreadsModel::OneInstance,
        }
    }
}

/// `--profile STRATEGY`, for each command that compiles programs.
#[derive(clap::Args)]
pub(crate) struct ProfileArg {
    /// Tell a profiler about the compiled code: `perfmap` lists every wasm function in
    /// /tmp/perf-PID.map, so that `perf record` then `perf report` names them.
    #[arg(long = "profile", value_name = "STRATEGY")]
    strategy: Option<Profiler>,
}

impl ProfileArg {
    pub(crate) fn strategy(&self) -> ProfilingStrategy {
        match self.strategy {
            None => ProfilingStrategy::None,
            Some(Profiler::Perfmap) => ProfilingStrategy::PerfMap,
        }
    }
}

/// `--profile`'s values.
#[derive(Copy, Clone, Debug, clap::ValueEnum)]
enum Profiler {
    /// perf's map file of JIT code.
    Perfmap,
}

/// `--wasi-threads`' values.
#[derive(Copy, Clone, Debug, clap::ValueEnum)]
enum ThreadModel {
    /// A new instance per thread.
    Instance,
    /// Every thread in one instance.
    Shared,
}

/// `--dir HOST[::GUEST]`: the host path and the guest's name for it (the same by default).
pub(crate) fn dir_mapping(dir: &str) -> (&str, &str) {
    dir.split_once("::").unwrap_or((dir, dir))
}

/// `--preload NAME=MODULE`: the module name and the file.
pub(crate) fn preload_mapping(preload: &str) -> Result<(&str, &str), UsageError> {
    preload
        .split_once('=')
        .ok_or_else(|| UsageError(format!("--preload {preload}: expected NAME=MODULE")))
}

/// Runs the program; its exit status, unless it trapped or could not run.
pub(crate) fn run(args: &RunArgs) -> Result<ExitStatus> {
    let program = PreparedProgram::new(&args.program, |config| {
        config.detect_races(args.race);
    })?;
    let ran = program.run_once(true);
    let ran = Ran {
        result: report_races(&program.engine, ran.result),
        ..ran
    };
    program.explain_timeout(ran)
}

/// A program compiled once, ready to be run any number of times from scratch: each run gets
/// a new store, instance and WASI context.
pub(crate) struct PreparedProgram<'a> {
    pub engine: Engine,
    module: Module,
    args: &'a ProgramArgs,
    options: WasmOptions,
    file: &'a str,
    entry: Entry<'a>,
}

/// One run of a [`PreparedProgram`].
pub(crate) struct Ran {
    /// The exit status, unless it trapped or could not run.
    pub result: Result<ExitStatus, weft::Error>,
    /// Whether `-W timeout` stopped it.
    pub timed_out: bool,
}

impl<'a> PreparedProgram<'a> {
    /// Compiles the module of `args`' command (FILE, then the program's ARGS) with the
    /// engine settings of `args`, and of `configure`.
    pub fn new(
        args: &'a ProgramArgs,
        configure: impl FnOnce(&mut Config),
    ) -> Result<PreparedProgram<'a>> {
        let (file, program_args) = args
            .command
            .split_first()
            .expect("clap requires the module");
        let options = WasmOptions::parse(&args.wasm, true)?;
        let mut config = Config::new();
        config
            .wasm_features(options.features(all_implemented()))
            .consume_fuel(options.fuel.is_some())
            .profiler(args.profile.strategy());
        configure(&mut config);
        let engine = Engine::new(&config)?;
        let model = args.wasi_threads.model();
        let module = Module::from_file_with_model(&engine, Path::new(file), model)?;
        let entry = Entry {
            invoke: args.invoke.as_deref(),
            args: program_args,
        };
        check_arguments_reach(&module, &entry)?;
        check_something_runs(&module, &entry)?;
        // Checked once here, so that no run finds a bad option.
        wasi_ctx(args, file, program_args, false)?;
        for preload in &args.preloads {
            preload_mapping(preload)?;
        }
        Ok(PreparedProgram {
            engine,
            module,
            args,
            options,
            file,
            entry,
        })
    }

    /// Runs the program once, its standard output and error the host's if `inherit_output`,
    /// else discarded.
    pub fn run_once(&self, inherit_output: bool) -> Ran {
        let mut timed_out = false;
        let result = self.run_with(inherit_output, &mut timed_out);
        Ran { result, timed_out }
    }

    fn run_with(
        &self,
        inherit_output: bool,
        timed_out: &mut bool,
    ) -> Result<ExitStatus, weft::Error> {
        let ctx = wasi_ctx(self.args, self.file, self.entry.args, inherit_output)
            .map_err(|error| weft::Error::msg(format!("{error:#}")))?;
        let model = self.args.wasi_threads.model();
        let mut linker = Linker::new(&self.engine);
        weft_wasi::add_to_linker(&mut linker, &ctx)?;
        let mut store = Store::new(&self.engine, ());
        if let Some(fuel) = self.options.fuel {
            store.set_fuel(fuel)?;
        }
        let watchdog = self.options.timeout.map(Watchdog::start);
        if let Some(watchdog) = &watchdog {
            let store = store.terminator();
            watchdog.watch(move || store.terminate());
        }
        for preload in &self.args.preloads {
            self::preload(&self.engine, &mut linker, &mut store, preload)
                .map_err(|error| weft::Error::msg(format!("{error:#}")))?;
        }
        let instantiated =
            Program::instantiate_with_model(linker, &mut store, &self.module, &ctx, model);
        let (program, ran) = match instantiated {
            Ok(program) => {
                if let Some(watchdog) = &watchdog {
                    let program = program.terminator();
                    watchdog.watch(move || program.terminate());
                }
                let ran = call_entry(&mut store, &program.instance(), &self.entry);
                (Some(program), ran)
            }
            // The start function may have trapped or exited.
            Err(error) => (None, Err(error)),
        };
        let status = match program {
            Some(program) => program.finish(&mut store, ran),
            None => ctx.exit_status(ran),
        };
        *timed_out = watchdog.is_some_and(Watchdog::disarm);
        status
    }

    /// A run's result, an error that `-W timeout` caused saying so.
    pub fn explain_timeout(&self, ran: Ran) -> Result<ExitStatus> {
        match (ran.result, self.options.timeout) {
            (Err(error), Some(timeout)) if ran.timed_out => {
                Err(anyhow::Error::new(error).context(format!(
                    "the program ran longer than its timeout of {} (-W timeout) and was stopped",
                    humantime::format_duration(timeout)
                )))
            }
            (status, _) => Ok(status?),
        }
    }
}

/// Exit status of a run that found data races and otherwise succeeded.
const RACES_FOUND: i32 = 66;

/// Prints the data races the run found, one per line on stderr, and turns a successful
/// status into [`RACES_FOUND`] if there were any.
pub(crate) fn report_races(
    engine: &Engine,
    status: Result<ExitStatus, weft::Error>,
) -> Result<ExitStatus, weft::Error> {
    let races = engine.data_races();
    for race in &races {
        eprintln!("weft: {race}");
    }
    match status {
        Ok(ExitStatus(0)) if !races.is_empty() => {
            eprintln!("weft: {} data races found", races.len());
            Ok(ExitStatus(RACES_FOUND))
        }
        status => status,
    }
}

/// Refuses a run that would do nothing: no `--invoke`, no `_start` or `main` export, and no
/// start function.
fn check_something_runs(module: &Module, entry: &Entry<'_>) -> Result<()> {
    let exports_entry = module.exports().any(|export| {
        ENTRY_POINTS.contains(&export.name()) && matches!(export.ty(), ExternType::Func(_))
    });
    if entry.invoke.is_some() || exports_entry || module.has_start_function() {
        return Ok(());
    }
    bail!(
        "the module has nothing to run: it exports no `_start` or `main` function and has no \
         start function; name an export to call with --invoke NAME"
    )
}

/// What `weft run` turns on: every proposal weft implements, shared-everything threads
/// among them.
pub(crate) fn all_implemented() -> WasmFeatures {
    WasmFeatures::default() | WasmFeatures::SHARED_EVERYTHING_THREADS
}

/// Refuses arguments the module could never see: with no `--invoke`, ARGS go to the
/// program, which reads them through WASI's `args_get` (or counts them with
/// `args_sizes_get`). A module that imports neither was most likely given weft's own options
/// after FILE.
fn check_arguments_reach(module: &Module, entry: &Entry<'_>) -> Result<()> {
    if entry.invoke.is_some() || entry.args.is_empty() {
        return Ok(());
    }
    let reads_arguments = module.imports().any(|import| {
        import.module() == weft_wasi::abi::MODULE
            && matches!(import.name(), "args_get" | "args_sizes_get")
    });
    if reads_arguments {
        return Ok(());
    }
    let args = entry.args.join(" ");
    bail!(UsageError(format!(
        "arguments `{args}` follow the module, but it cannot read arguments (it imports \
         neither WASI `args_get` nor `args_sizes_get`); weft's own options go before the module (weft run [OPTIONS] FILE \
         [ARGS]), and --invoke NAME passes ARGS to the export NAME"
    )))
}

/// What to call once the module is instantiated.
struct Entry<'a> {
    invoke: Option<&'a str>,
    args: &'a [String],
}

/// The program's WASI context, from the command line.
fn wasi_ctx(
    args: &ProgramArgs,
    file: &str,
    program_args: &[String],
    inherit_output: bool,
) -> Result<WasiCtx> {
    // As Wasmtime: the program's name is the module's file name, without its folders.
    let name = Path::new(file).file_name().map_or_else(
        || file.to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    let mut builder = WasiCtx::builder();
    if inherit_output {
        builder.inherit_stdio();
    }
    builder.arg(name).args(program_args.iter().cloned());
    for var in &args.envs {
        match var.split_once('=') {
            Some((name, value)) => builder.env(name, value),
            None => match std::env::var(var) {
                Ok(value) => builder.env(var, value),
                Err(_) => bail!(UsageError(format!(
                    "--env {var}: the host has no environment variable `{var}` to pass on"
                ))),
            },
        };
    }
    for dir in &args.dirs {
        let (host, guest) = dir_mapping(dir);
        builder.preopened_dir(host, guest, DirPerms::ALL, FilePerms::ALL);
    }
    Ok(builder.build()?)
}

/// `--preload NAME=MODULE`: instantiates MODULE and links its exports under NAME.
fn preload(
    engine: &Engine,
    linker: &mut Linker<()>,
    store: &mut Store<()>,
    preload: &str,
) -> Result<()> {
    let (name, path) = preload_mapping(preload)?;
    let module = Module::from_file(engine, Path::new(path))
        .with_context(|| format!("cannot preload `{path}`"))?;
    let instance = linker
        .instantiate(&mut *store, &module)
        .with_context(|| format!("cannot preload `{path}`"))?;
    linker.instance(&mut *store, name, instance)?;
    Ok(())
}

/// Calls the entry point and prints its results.
fn call_entry(
    store: &mut Store<()>,
    instance: &Instance,
    entry: &Entry<'_>,
) -> Result<(), weft::Error> {
    let (name, func, params) = match entry.invoke {
        Some(name) => {
            let func = exported_func(store, instance, name)?;
            let ty = func.ty(&*store);
            let params = parse_args(&mut *store, name, ty.params(), entry.args)
                .map_err(|error| weft::Error::msg(format!("{error:#}")))?;
            (name, func, params)
        }
        None => match entry_point(store, instance)? {
            Some((name, func)) => (name, func, Vec::new()),
            None => return Ok(()),
        },
    };
    let ty = func.ty(&*store);
    let mut results = default_results(&ty);
    func.call(&mut *store, &params, &mut results)?;
    print_results(store, name, &results)
}

fn print_results(store: &Store<()>, name: &str, results: &[Val]) -> Result<(), weft::Error> {
    let mut out = stdout().lock();
    for result in results {
        writeln!(out, "{}", display_val(store, result))
            .and_then(|()| out.flush())
            .map_err(|error| {
                weft::Error::msg(format!(
                    "cannot write the results of `{name}` to standard output: {error}"
                ))
            })?;
    }
    Ok(())
}

fn exported_func(
    store: &mut Store<()>,
    instance: &Instance,
    name: &str,
) -> Result<Func, weft::Error> {
    match instance.get_export(&mut *store, name) {
        Some(Extern::Func(func)) => Ok(func),
        Some(_) => Err(weft::UsageError::ExportKind {
            name: name.into(),
            expected: "function",
        }
        .into()),
        None => Err(weft::UsageError::UnknownExport { name: name.into() }.into()),
    }
}

/// The conventional entry point, if the module exports one; an error if it takes
/// parameters, which only `--invoke` can give.
fn entry_point(
    store: &mut Store<()>,
    instance: &Instance,
) -> Result<Option<(&'static str, Func)>, weft::Error> {
    let Some((name, func)) = ENTRY_POINTS
        .into_iter()
        .find_map(|name| Some((name, instance.get_func(&mut *store, name)?)))
    else {
        return Ok(None);
    };
    let ty = func.ty(&*store);
    if !ty.params().is_empty() {
        let params: Vec<String> = ty.params().iter().map(ToString::to_string).collect();
        return Err(weft::Error::msg(format!(
            "the entry point `{name}` takes parameters ({}), which a program's entry point \
             does not; call it with --invoke {name} and the arguments",
            params.join(", ")
        )));
    }
    Ok(Some((name, func)))
}
