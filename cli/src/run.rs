//! `weft run`: instantiate a module and call one of its functions.

use crate::args::parse_args;
use anyhow::{Result, bail};
use std::io::{Write, stdout};
use std::path::PathBuf;
use weft::{Engine, Extern, Func, Instance, Linker, Module, Store};
use weft_spec_tests::{default_results, display_val};

/// Functions called when no `--invoke` is given, in order of preference.
const ENTRY_POINTS: [&str; 2] = ["_start", "main"];

/// Run a WebAssembly module (`.wasm` binary or `.wat` text) and print each result on its own line.
///
/// Instantiating runs the module's start function. Then, with `--invoke NAME`, the export NAME is
/// called with ARGS; without it, `_start` or `main` is called if exported with no parameters.
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
    let instance = Linker::new(&engine).instantiate(&mut store, &module)?;

    let (name, func) = match &args.invoke {
        Some(name) => (name.as_str(), exported_func(&mut store, &instance, name)?),
        None => match entry_point(&mut store, &instance) {
            Some(entry) => entry,
            None if args.args.is_empty() => return Ok(()),
            None => bail!(
                "arguments given, but the module exports no `_start` or `main`; use --invoke NAME"
            ),
        },
    };
    let ty = func.ty(&store);
    let params = parse_args(&mut store, name, ty.params(), &args.args)?;
    let mut results = default_results(&ty);
    func.call(&mut store, &params, &mut results)?;

    let mut out = stdout().lock();
    for result in &results {
        writeln!(out, "{}", display_val(&store, result))?;
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
