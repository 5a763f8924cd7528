//! `weft run`: run a WASI program, or call one function of any module.

use crate::UsageError;
use crate::args::parse_args;
use anyhow::{Context, Result, bail};
use std::io::{Write, stdout};
use std::path::{Path, PathBuf};
use weft::{Engine, Extern, Func, Instance, Linker, Module, Store, Val};
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
/// instance. The program ends when its entry point returns or any thread calls `proc_exit`;
/// then every other thread is stopped.
///
/// Exit status: the program's own; 134 when it traps (as Wasmtime does, the status of a
/// process aborted by a signal), with one `error:` line; 1 when it cannot run (a missing or
/// invalid module, an unknown import or export); 2 for wrong options.
#[derive(clap::Args)]
pub(crate) struct RunArgs {
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
    /// The module, then the program's arguments. Everything after FILE goes to the program.
    #[arg(
        value_name = "FILE [ARGS]",
        required = true,
        allow_hyphen_values = true,
        trailing_var_arg = true
    )]
    command: Vec<String>,
}

/// Runs the program; its exit status, unless it trapped or could not run.
pub(crate) fn run(args: &RunArgs) -> Result<ExitStatus> {
    let (file, program_args) = args
        .command
        .split_first()
        .expect("clap requires the module");
    let engine = Engine::default();
    let module = Module::from_file(&engine, Path::new(file))?;
    let ctx = wasi_ctx(args, file, program_args)?;
    let mut linker = Linker::new(&engine);
    weft_wasi::add_to_linker(&mut linker, &ctx)?;
    let mut store = Store::new(&engine, ());
    for preload in &args.preloads {
        self::preload(&engine, &mut linker, &mut store, preload)?;
    }
    let program = match Program::instantiate(linker, &mut store, &module, &ctx) {
        Ok(program) => program,
        // The start function may have exited.
        Err(error) => return Ok(ctx.exit_status(Err(error))?),
    };
    let entry = Entry {
        invoke: args.invoke.as_deref(),
        args: program_args,
    };
    let ran = call_entry(&mut store, &program.instance(), &entry);
    Ok(program.finish(&mut store, ran)?)
}

/// What to call once the module is instantiated.
struct Entry<'a> {
    invoke: Option<&'a str>,
    args: &'a [String],
}

/// The program's WASI context, from the command line.
fn wasi_ctx(args: &RunArgs, file: &str, program_args: &[String]) -> Result<WasiCtx> {
    // As Wasmtime: the program's name is the module's file name, without its folders.
    let name = Path::new(file).file_name().map_or_else(
        || file.to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    let mut builder = WasiCtx::builder();
    builder
        .inherit_stdio()
        .arg(name)
        .args(program_args.iter().cloned());
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
        let (host, guest) = dir.split_once("::").unwrap_or((dir, dir));
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
    let Some((name, path)) = preload.split_once('=') else {
        bail!(UsageError(format!(
            "--preload {preload}: expected NAME=MODULE"
        )));
    };
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
        None => match entry_point(store, instance) {
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
            .map_err(|error| weft::Error::Io {
                path: PathBuf::from(format!("<stdout, results of `{name}`>")),
                error,
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

/// The conventional entry point, if the module exports one that takes no parameters.
fn entry_point(store: &mut Store<()>, instance: &Instance) -> Option<(&'static str, Func)> {
    ENTRY_POINTS.into_iter().find_map(|name| {
        let func = instance.get_func(&mut *store, name)?;
        func.ty(&*store).params().is_empty().then_some((name, func))
    })
}
