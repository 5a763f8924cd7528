//! `weft bench`: time WASI workloads as sightglass does.

use crate::run::{ProfileArg, ThreadModelArg, all_implemented, dir_mapping, preload_mapping};
use crate::usage::UsageError;
use crate::wasm_options::WasmOptions;
use anyhow::{Context, Result, bail};
use std::io::Write;
use std::path::PathBuf;
use weft::Config;
use weft_bench_runner::{Measurement, WeftRuntime, Workload, measure, report};

/// Time WASI programs: compile, instantiate and execute, each file ITERATIONS times.
///
/// Sightglass-compatible: a program may import `bench.start` and `bench.end` (weft provides
/// them) to mark the region to time as its execute phase; otherwise the whole of `_start`
/// is. Each iteration compiles the module afresh with a new engine. Prints a table of each
/// phase's median with the fastest and slowest iteration, or with `--json` one JSON object
/// per file: `{"file", "runtime", "iterations", "compile_s", "instantiate_s", "execute_s",
/// ...}`, medians in seconds, with `*_min_s` and `*_max_s` beside each.
///
/// A program gets its file name as its one argument and, unless `--dir` says otherwise, its
/// own folder as `.` (where sightglass workloads read their inputs). Its output is discarded
/// unless `--guest-output`. A program that traps or exits with a non-zero status fails the
/// run.
///
/// Exit status: 0; 1 when a program fails or, with `--compare`, a phase got slower than
/// the threshold allows; 2 for wrong options.
#[derive(clap::Args)]
pub(crate) struct BenchArgs {
    /// How many times to compile, instantiate and run each file.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    iterations: u32,
    /// One JSON object per file on stdout instead of a table.
    #[arg(long)]
    json: bool,
    /// Give every program this host directory: HOST, under the same name, or HOST::GUEST
    /// (replacing the default, the program's own folder as `.`).
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    dirs: Vec<String>,
    /// Instantiate MODULE before each program and link its exports as module NAME.
    #[arg(long = "preload", value_name = "NAME=MODULE")]
    preloads: Vec<String>,
    /// Let the programs' standard output and error through.
    #[arg(long)]
    guest_output: bool,
    /// Compare with an earlier `--json` report: list every phase whose median grew by more
    /// than `--threshold`, and exit with 1 if any did.
    #[arg(long, value_name = "REPORT.json")]
    compare: Option<PathBuf>,
    /// The growth `--compare` tolerates, as a ratio of medians.
    #[arg(long, default_value_t = 1.10, requires = "compare")]
    threshold: f64,
    /// WebAssembly proposals to turn on or off, as for `weft run` (no limits here).
    #[arg(short = 'W', long = "wasm", value_name = "OPT[=VALUE]")]
    wasm: Vec<String>,
    #[command(flatten)]
    wasi_threads: ThreadModelArg,
    #[command(flatten)]
    profile: ProfileArg,
    /// The programs.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
}

/// Times every file and prints the report.
pub(crate) fn run(args: &BenchArgs) -> Result<()> {
    let options = WasmOptions::parse(&args.wasm, false)?;
    let mut config = Config::new();
    config
        .wasm_features(options.features(all_implemented()))
        .profiler(args.profile.strategy());
    let mut runtime = WeftRuntime::new(config, args.wasi_threads.model());
    for preload in &args.preloads {
        let (name, path) = preload_mapping(preload)?;
        let bytes = std::fs::read(path).with_context(|| format!("cannot read `{path}`"))?;
        runtime.preload(name, bytes);
    }
    let dirs: Vec<(PathBuf, String)> = args
        .dirs
        .iter()
        .map(|dir| {
            let (host, guest) = dir_mapping(dir);
            (PathBuf::from(host), guest.to_string())
        })
        .collect();
    let previous = match &args.compare {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read `{}`", path.display()))?,
        ),
        None => None,
    };
    let mut measurements: Vec<Measurement> = Vec::new();
    let mut out = std::io::stdout().lock();
    for file in &args.files {
        let workload = Workload::from_file(file.clone(), dirs.clone(), args.guest_output)?;
        let measurement = measure(&runtime, &workload, args.iterations as usize)?;
        if args.json {
            writeln!(out, "{}", report::json_line(&measurement))?;
            out.flush()?;
        }
        measurements.push(measurement);
    }
    if !args.json {
        write!(out, "{}", report::table(&measurements))?;
    }
    if let Some(previous) = previous {
        let regressions = report::regressions(&previous, &measurements, args.threshold)
            .map_err(|error| UsageError(format!("--compare: {error}")))?;
        for regression in &regressions {
            eprintln!(
                "slower: {} {} {} is {:.2}× the earlier median",
                regression.file, regression.runtime, regression.phase, regression.ratio
            );
        }
        if !regressions.is_empty() {
            bail!(
                "{} phase(s) got slower than --threshold {} allows",
                regressions.len(),
                args.threshold
            );
        }
    }
    Ok(())
}
