//! `weft-fuzz`: the differential fuzzer's command line. Runs cases from a seed, for a number
//! of cases or a time, prints what it ran, and stops at the first divergence with the
//! module written out and the command that replays it.

use anyhow::{Context, Result, bail};
use clap::Parser;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use weft_fuzz::{Engines, Families, Proposals, Verdict, on_case_thread, run_case, tally};

/// Differential fuzzing of weft: case I of a run is seed SEED+I, which makes two modules:
/// one of the proposals weft and wasmi share, run in both (weft in three configurations),
/// and one with weft's own proposals too (GC, exceptions, relaxed SIMD), run in weft's three
/// configurations and compared among them.
#[derive(Parser)]
struct Args {
    /// The first case's seed; by default one from the clock, printed.
    #[arg(long)]
    seed: Option<u64>,
    /// How many cases to run.
    #[arg(long)]
    cases: Option<u64>,
    /// How long to run, in seconds (with --cases, whichever ends first).
    #[arg(long)]
    seconds: Option<u64>,
    /// Where a diverging case's module is written.
    #[arg(long, default_value = "target/fuzz-divergences")]
    save: PathBuf,
}

fn main() -> Result<ExitCode> {
    let args = Args::parse();
    on_case_thread(|| campaign(&args))
}

fn campaign(args: &Args) -> Result<ExitCode> {
    if args.cases.is_none() && args.seconds.is_none() {
        bail!("say how long to run: --cases N, --seconds T, or both");
    }
    let seed = args.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos() as u64)
    });
    println!("differential fuzzing from --seed {seed}");
    let deadline = args
        .seconds
        .map(|seconds| Instant::now() + Duration::from_secs(seconds));
    let engines = Engines::default();
    let mut families = Families::default();
    let (mut cases, mut modules, mut instantiated, mut calls, mut traps) =
        (0u64, 0u64, 0u64, 0usize, 0usize);
    let mut trap_kinds: BTreeMap<String, u64> = BTreeMap::new();
    let started = Instant::now();
    loop {
        if args.cases.is_some_and(|limit| cases >= limit)
            || deadline.is_some_and(|deadline| Instant::now() >= deadline)
        {
            break;
        }
        let case = seed.wrapping_add(cases);
        cases += 1;
        for proposals in [Proposals::Shared, Proposals::Weft] {
            match run_case(&engines, case, proposals) {
                Verdict::NoModule => {}
                Verdict::Agreed {
                    wasm,
                    instantiated: ran,
                    calls: made,
                    traps: trapped,
                    trap_messages,
                } => {
                    for message in trap_messages {
                        *trap_kinds.entry(message).or_default() += 1;
                    }
                    modules += 1;
                    instantiated += u64::from(ran);
                    calls += made;
                    traps += trapped;
                    families.add(&wasm);
                }
                Verdict::Diverged { wasm, which } => {
                    std::fs::create_dir_all(&args.save)
                        .with_context(|| format!("cannot create {}", args.save.display()))?;
                    let path = args.save.join(format!("case-{case}-{proposals:?}.wasm"));
                    std::fs::write(&path, &wasm)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    println!("case {case} ({proposals:?} proposals) diverged: {which}");
                    println!("module: {}", path.display());
                    println!("replay: cargo run --release -p weft-fuzz -- --seed {case} --cases 1");
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
    }
    println!(
        "{cases} cases, {modules} modules run ({instantiated} instantiated), {calls} calls \
         ({traps} trapped), no divergence, in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    println!("instruction families: {}", families.summary());
    println!(
        "traps, as the reference engines name them: {}",
        tally(trap_kinds)
    );
    Ok(ExitCode::SUCCESS)
}
