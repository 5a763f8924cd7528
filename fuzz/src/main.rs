//! `weft-fuzz`: runs one fuzz target's cases from a seed, for a number of cases or a time,
//! prints what they covered, and stops at the first failure with its files written out and
//! the command that replays it.

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use weft_fuzz::cli_args::CliArgs;
use weft_fuzz::differential::Differential;
use weft_fuzz::threads::Threads;
use weft_fuzz::wasi_calls::WasiCalls;
use weft_fuzz::{Failure, Target, on_case_thread};

/// Fuzzing of weft on stable Rust. Case I of a run is seed SEED+I; a target turns it into
/// a checked run.
#[derive(Parser)]
struct Args {
    /// What to fuzz.
    #[arg(value_enum, default_value_t = TargetName::Differential)]
    target: TargetName,
    /// The first case's seed; by default one from the clock, printed.
    #[arg(long)]
    seed: Option<u64>,
    /// How many cases to run.
    #[arg(long)]
    cases: Option<u64>,
    /// How long to run, in seconds (with --cases, whichever ends first).
    #[arg(long)]
    seconds: Option<u64>,
    /// Where a failing case's files (its module, a shrunk `.wat` reproducer) are written.
    #[arg(long, default_value = "target/fuzz-failures")]
    save: PathBuf,
    /// The `weft` binary the `cli` target runs; by default the one beside this program
    /// (`cargo build --release -p weft-cli` builds it).
    #[arg(long)]
    weft: Option<PathBuf>,
}

/// The fuzz targets.
#[derive(Clone, Copy, ValueEnum)]
enum TargetName {
    /// wasm-smith modules in weft's three configurations and in wasmi, compared.
    Differential,
    /// Small multi-threaded programs whose outcomes are checked without an oracle.
    Threads,
    /// WASI calls with hostile arguments, in a sandbox directory.
    Wasi,
    /// Malformed modules and arguments through the `weft` command line.
    Cli,
}

impl TargetName {
    /// The name the command line takes, for the replay command.
    fn name(self) -> &'static str {
        match self {
            TargetName::Differential => "differential",
            TargetName::Threads => "threads",
            TargetName::Wasi => "wasi",
            TargetName::Cli => "cli",
        }
    }
}

fn main() -> Result<ExitCode> {
    let args = Args::parse();
    on_case_thread(|| campaign(&args))
}

fn target(args: &Args) -> Result<Box<dyn Target>> {
    Ok(match args.target {
        TargetName::Differential => Box::new(Differential::default()),
        TargetName::Threads => Box::new(Threads::new()?),
        TargetName::Wasi => Box::new(WasiCalls::new()?),
        TargetName::Cli => {
            let weft = match &args.weft {
                Some(weft) => weft.clone(),
                None => std::env::current_exe()
                    .context("cannot find this program's path")?
                    .with_file_name("weft"),
            };
            if !weft.is_file() {
                bail!(
                    "no weft binary at {}: build it with `cargo build --release -p weft-cli`, \
                     or say where it is with --weft",
                    weft.display()
                );
            }
            // The cases run weft in directories of their own, so a relative path would name
            // another file there.
            let weft = std::fs::canonicalize(&weft)
                .with_context(|| format!("cannot resolve {}", weft.display()))?;
            Box::new(CliArgs::new(weft)?)
        }
    })
}

fn campaign(args: &Args) -> Result<ExitCode> {
    if args.cases.is_none() && args.seconds.is_none() {
        bail!("say how long to run: --cases N, --seconds T, or both");
    }
    let name = args.target.name();
    let seed = args.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos() as u64)
    });
    println!("fuzzing {name} from --seed {seed}");
    let mut target = target(args)?;
    let deadline = args
        .seconds
        .map(|seconds| Instant::now() + Duration::from_secs(seconds));
    let started = Instant::now();
    let mut cases = 0u64;
    loop {
        if args.cases.is_some_and(|limit| cases >= limit)
            || deadline.is_some_and(|deadline| Instant::now() >= deadline)
        {
            break;
        }
        let case = seed.wrapping_add(cases);
        cases += 1;
        let failure = match weft_fuzz::panics::catch(|| target.run(case)) {
            Ok(checked) => checked.err(),
            Err(panic) => Some(Failure::new(format!("panicked: {panic}"))),
        };
        if let Some(failure) = failure {
            println!("case {case} failed: {}", failure.what);
            if !failure.artifacts.is_empty() {
                std::fs::create_dir_all(&args.save)
                    .with_context(|| format!("cannot create {}", args.save.display()))?;
            }
            for (file, bytes) in &failure.artifacts {
                let path = args.save.join(file);
                std::fs::write(&path, bytes)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                println!("wrote {}", path.display());
            }
            println!("replay: cargo run --release -p weft-fuzz -- {name} --seed {case} --cases 1");
            return Ok(ExitCode::FAILURE);
        }
    }
    println!(
        "{name}: {cases} cases passed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    for line in target.report() {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}
