//! Times every sightglass workload on weft and, with the `wasmtime` feature, on Wasmtime in
//! the same run, with the runner `weft bench` uses, and reports weft/Wasmtime ratios.
//!
//! ```text
//! sightglass [--iterations N] [FILE]...
//! ```
//!
//! Without FILEs it takes every `.wasm` under `../shared/benchmarks/sightglass` (or
//! `$WEFT_SIGHTGLASS`). Each file's iterations alternate between weft and Wasmtime, so drift
//! on a shared machine (frequency, other load) touches both alike. Writes, beside criterion's folder
//! (`target/sightglass/`):
//! - `report.json`: one `weft bench --json` line per file and runtime;
//! - `report.md`: the ratio table (compile, instantiate and execute medians, the fastest
//!   execute iterations; geometric means);
//! - `report.html`: the execute ratios as bars, 1.0 marked.
//!
//! The previous run's `report.json` is kept as `previous.json` and compared with: every
//! phase whose median grew by more than 10% is listed on stderr (a warning, not a failure:
//! these machines are noisy).

use anyhow::{Context, Result, bail};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use weft::{Config, WasiThreadsModel, WasmFeatures};
#[cfg(not(feature = "wasmtime"))]
use weft_bench_runner::measure;
#[cfg(feature = "wasmtime")]
use weft_bench_runner::measure_alternating;
use weft_bench_runner::report::{self, geometric_mean};
use weft_bench_runner::{Measurement, WeftRuntime, Workload};

const USAGE: &str = "usage: sightglass [--iterations N] [FILE]...";

/// The growth of a median the regression check lets pass.
const REGRESSION_THRESHOLD: f64 = 1.10;

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let (iterations, files) = parse_args(std::env::args().skip(1))?;
    let (root, files) = if files.is_empty() {
        let root = sightglass_dir();
        let files = workloads(&root)?;
        (Some(root), files)
    } else {
        (None, files)
    };
    let out_dir = weft_benches::estimates::criterion_dir()
        .parent()
        .expect("criterion's folder is inside the target folder")
        .join("sightglass");
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;

    let mut config = Config::new();
    config.wasm_features(WasmFeatures::default() | WasmFeatures::SHARED_EVERYTHING_THREADS);
    let weft = WeftRuntime::new(config, WasiThreadsModel::InstancePerThread);
    let mut weft_runs = Vec::new();
    let mut other_runs: Vec<Measurement> = Vec::new();
    for file in &files {
        let mut workload = Workload::from_file(file.clone(), Vec::new(), false)?;
        // Named from the suite's folder, for short rows.
        if let Some(relative) = root
            .as_deref()
            .and_then(|root| file.strip_prefix(root).ok())
        {
            workload.name = relative.display().to_string();
        }
        eprintln!("{}", file.display());
        let (weft_run, wasmtime_run) = measure_both(&weft, &workload, iterations)?;
        weft_runs.push(weft_run);
        other_runs.extend(wasmtime_run);
    }
    let all: Vec<Measurement> = weft_runs.iter().chain(&other_runs).cloned().collect();
    print!("{}", report::table(&all));

    let json: String = all.iter().map(|m| report::json_line(m) + "\n").collect();
    let report_json = out_dir.join("report.json");
    let previous_json = out_dir.join("previous.json");
    if report_json.exists() {
        std::fs::rename(&report_json, &previous_json)?;
        let previous = std::fs::read_to_string(&previous_json)?;
        for regression in report::regressions(&previous, &all, REGRESSION_THRESHOLD)? {
            eprintln!(
                "slower than the previous run: {} {} {} {:.2}×",
                regression.file, regression.runtime, regression.phase, regression.ratio
            );
        }
    }
    std::fs::write(&report_json, json)?;

    if !other_runs.is_empty() {
        let rows = report::ratios(&weft_runs, &other_runs);
        let table = report::ratio_table(&rows, "weft", "wasmtime");
        println!("\n{table}");
        std::fs::write(out_dir.join("report.md"), &table)?;
        std::fs::write(out_dir.join("report.html"), html(&rows))?;
        eprintln!("reports in {}", out_dir.display());
    }
    Ok(())
}

/// The workload on weft and, when this build has it (feature `wasmtime`), on Wasmtime, their
/// iterations alternating so that both see the same machine.
fn measure_both(
    weft: &WeftRuntime,
    workload: &Workload,
    iterations: usize,
) -> Result<(Measurement, Option<Measurement>)> {
    #[cfg(feature = "wasmtime")]
    {
        let (weft, wasmtime) = measure_alternating(
            weft,
            &weft_benches::wasmtime::WasmtimeRuntime,
            workload,
            iterations,
        )?;
        Ok((weft, Some(wasmtime)))
    }
    #[cfg(not(feature = "wasmtime"))]
    Ok((measure(weft, workload, iterations)?, None))
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<(usize, Vec<PathBuf>)> {
    let mut iterations = 10;
    let mut files = Vec::new();
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--iterations" => {
                let value = args.next().context(USAGE)?;
                iterations = value
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .with_context(|| format!("--iterations {value}: {USAGE}"))?;
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            // What `cargo bench` passes to every bench target.
            "--bench" => {}
            option if option.starts_with('-') => bail!("unknown option {option}: {USAGE}"),
            file => files.push(PathBuf::from(file)),
        }
    }
    Ok((iterations, files))
}

/// `$WEFT_SIGHTGLASS`, else `../shared/benchmarks/sightglass` beside the workspace.
fn sightglass_dir() -> PathBuf {
    std::env::var_os("WEFT_SIGHTGLASS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/benchmarks/sightglass"),
        PathBuf::from,
    )
}

/// Every `.wasm` file in the folders of `root`, sorted.
fn workloads(root: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let entries =
        std::fs::read_dir(root).with_context(|| format!("cannot read {}", root.display()))?;
    for entry in entries {
        let folder = entry?.path();
        if !folder.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&folder)? {
            let file = file?.path();
            if file.extension().is_some_and(|ext| ext == "wasm") {
                found.push(file);
            }
        }
    }
    found.sort();
    if found.is_empty() {
        bail!("no .wasm workloads under {}", root.display());
    }
    Ok(found)
}

/// The execute ratios as horizontal bars on a log scale, with 1.0 marked.
fn html(rows: &[(String, [f64; 4])]) -> String {
    const ROW: f64 = 22.0;
    const LABEL: f64 = 260.0;
    const WIDTH: f64 = 420.0;
    // Two on either side of 1.0: from 0.25× to 4×.
    let x = |ratio: f64| LABEL + WIDTH / 2.0 * (1.0 + ratio.clamp(0.25, 4.0).log2() / 2.0);
    let height = ROW * (rows.len() as f64 + 2.0);
    let mut svg = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' width='{}' height='{height}' \
         font-family='sans-serif' font-size='12'>",
        LABEL + WIDTH + 60.0
    );
    let mut bar = |index: usize, label: &str, ratio: f64| {
        let y = ROW * index as f64;
        let (from, to) = (x(1.0).min(x(ratio)), x(1.0).max(x(ratio)));
        let colour = if ratio <= 1.0 { "#2a7" } else { "#c53" };
        let _ = write!(
            svg,
            "<text x='{}' y='{}' text-anchor='end'>{label}</text>\
             <rect x='{from}' y='{}' width='{}' height='{}' fill='{colour}'/>\
             <text x='{}' y='{}'>{ratio:.2}</text>",
            LABEL - 6.0,
            y + 15.0,
            y + 4.0,
            (to - from).max(1.0),
            ROW - 8.0,
            LABEL + WIDTH + 6.0,
            y + 15.0
        );
    };
    for (index, (file, ratios)) in rows.iter().enumerate() {
        let name = Path::new(file)
            .file_name()
            .map_or_else(|| file.clone(), |n| n.to_string_lossy().into_owned());
        bar(index, &name, ratios[2]);
    }
    let mean = geometric_mean(rows.iter().map(|(_, r)| r[2]));
    bar(rows.len(), "geometric mean", mean);
    let _ = write!(
        svg,
        "<line x1='{0}' x2='{0}' y1='0' y2='{height}' stroke='#000'/></svg>",
        x(1.0)
    );
    format!(
        "<!doctype html><meta charset='utf-8'><title>weft/Wasmtime, sightglass</title>\
         <h1>Execute time, weft/Wasmtime (median; below 1 weft is faster)</h1>{svg}\
         <h2>All phases</h2><pre>{}</pre>",
        report::ratio_table(rows, "weft", "wasmtime")
    )
}
