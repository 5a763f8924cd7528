//! `weft run`: instantiate a module and call one of its functions.

use crate::args::parse_args;
use anyhow::{Context, Result, bail};
use std::io::{Write, stdout};
use std::path::PathBuf;
use weft::{
    Engine, Extern, ExternType, Func, Instance, Linker, Module, SharedMemory, Store,
    THREAD_SPAWN_MODULE, THREAD_SPAWN_NAME, WasiThreads,
};
use weft_spec_tests::{default_results, display_val};

/// Functions called when no `--invoke` is given, in order of preference.
const ENTRY_POINTS: [&str; 2] = ["_start", "main"];

/// Run a WebAssembly module (`.wasm` binary or `.wat` text) and print each result on its own line.
///
/// Instantiating runs the module's start function. Then, with `--invoke NAME`, the export NAME is
/// called with ARGS; without it, `_start` or `main` is called if exported with no parameters.
///
/// A module that imports `wasi::thread-spawn` runs as a wasi-threads program: each imported
/// shared memory is created with its declared limits, every spawned thread gets a new
/// instance, and weft waits for all of them after the call.
#[derive(clap::Args)]
pub(crate) struct RunArgs {
    /// The module to run.
    file: PathBuf,
    /// The exported function to call.
    #[arg(long, value_name = "NAME")]
    invoke: Option<String>,
    /// Arguments, parsed by the function's parameter types: integers in decimal or 0x hex,
    /// floats in decimal or as inf/nan, references as `null` (or a number for an externref).
    #[arg(
        value_name = "ARGS",
        allow_hyphen_values = true,
        trailing_var_arg = true
    )]
    args: Vec<String>,
}

pub(crate) fn run(args: &RunArgs) -> Result<()> {
    let engine = Engine::default();
    let module = Module::from_file(&engine, &args.file)?;
    let mut store = Store::new(&engine, ());
    if !spawns_wasi_threads(&module) {
        let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
        return call_entry(args, &mut store, &instance);
    }
    let process = WasiThreads::new(shared_memories(&engine, &module)?, &module)?;
    let instance = process.instantiate(&mut store)?;
    let called = call_entry(args, &mut store, &instance);
    if called.is_err() {
        process.terminate();
    }
    // A thread's trap interrupts the main call, so it is the cause to report.
    process
        .join()
        .context("a thread of the wasi-threads program failed")?;
    called
}

fn spawns_wasi_threads(module: &Module) -> bool {
    module
        .imports()
        .any(|import| import.module() == THREAD_SPAWN_MODULE && import.name() == THREAD_SPAWN_NAME)
}

/// A linker defining each imported memory as a new memory of its declared type.
fn shared_memories(engine: &Engine, module: &Module) -> Result<Linker<()>> {
    let mut linker = Linker::new(engine);
    for import in module.imports() {
        if let ExternType::Memory(ty) = import.ty()
            && ty.is_shared()
        {
            linker.define(
                import.module(),
                import.name(),
                SharedMemory::new(engine, *ty)?,
            )?;
        }
    }
    Ok(linker)
}

/// Calls the function `args` name (or the entry point) and prints its results.
fn call_entry(args: &RunArgs, store: &mut Store<()>, instance: &Instance) -> Result<()> {
    let store = &mut *store;

    let (name, func) = match &args.invoke {
        Some(name) => (name.as_str(), exported_func(store, instance, name)?),
        None => match entry_point(store, instance) {
            Some(entry) => entry,
            None if args.args.is_empty() => return Ok(()),
            None => bail!(
                "arguments given, but the module exports no `_start` or `main`; use --invoke NAME"
            ),
        },
    };
    let ty = func.ty(&*store);
    let params = parse_args(&mut *store, name, ty.params(), &args.args)?;
    let mut results = default_results(&ty);
    func.call(&mut *store, &params, &mut results)?;

    let mut out = stdout().lock();
    for result in &results {
        writeln!(out, "{}", display_val(&*store, result))?;
    }
    Ok(())
}

fn exported_func(store: &mut Store<()>, instance: &Instance, name: &str) -> Result<Func> {
    match instance.get_export(&mut *store, name) {
        Some(Extern::Func(func)) => Ok(func),
        Some(_) => bail!("export `{name}` is not a function"),
        None => bail!("unknown export `{name}`"),
    }
}

/// The conventional entry point, if the module exports one that takes no parameters.
fn entry_point(store: &mut Store<()>, instance: &Instance) -> Option<(&'static str, Func)> {
    ENTRY_POINTS.into_iter().find_map(|name| {
        let func = instance.get_func(&mut *store, name)?;
        func.ty(&*store).params().is_empty().then_some((name, func))
    })
}
