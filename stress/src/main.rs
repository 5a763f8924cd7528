//! `weft-stress`: runs the stress suites, prints the figures each one checked, and exits
//! non-zero if any invariant did not hold.
#![forbid(unsafe_code)]

use anyhow::Result;
use clap::Parser;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use weft_stress::{Plan, Report, Suite};

#[derive(Parser)]
#[command(
    name = "weft-stress",
    about = "Concurrency stress suites for weft, each checking exact invariants"
)]
struct Cli {
    /// Threads the suites aim at, 2 to 32 [default: the available parallelism]
    #[arg(long)]
    threads: Option<usize>,
    /// Repetition scale: litmus repetitions per test; the other suites scale in proportion
    #[arg(long, default_value_t = 100_000, conflicts_with = "ci")]
    iterations: usize,
    /// Keep repeating the suites until this many seconds have passed
    #[arg(long, conflicts_with = "ci")]
    seconds: Option<f64>,
    /// Seed of every random choice; a failure replays with the seed it names [default: the clock]
    #[arg(long)]
    seed: Option<u64>,
    /// Run this suite (repeatable) [default: all]
    #[arg(long = "suite", value_enum)]
    suites: Vec<Suite>,
    /// Bounded mode for CI: every suite above its required minimum, about a minute on two cores
    #[arg(long)]
    ci: bool,
    /// List the suites and exit
    #[arg(long)]
    list: bool,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs the selected suites; whether every invariant held.
fn run(cli: Cli) -> Result<bool> {
    if cli.list {
        for suite in Suite::ALL {
            println!("{:<12} {}", suite.name(), suite.about());
        }
        return Ok(true);
    }
    let threads = cli
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, std::num::NonZero::get));
    let plan = if cli.ci {
        Plan::ci(threads)
    } else {
        Plan::scaled(threads, cli.iterations)
    };
    let requested = if cli.suites.is_empty() {
        Suite::ALL.to_vec()
    } else {
        cli.suites
    };
    let mut suites: Vec<Suite> = Vec::with_capacity(requested.len());
    for suite in requested {
        if !suites.contains(&suite) {
            suites.push(suite);
        }
    }
    let seed = cli.seed.unwrap_or_else(clock_seed);
    let mode = if cli.ci { "ci" } else { "scaled" };
    println!(
        "weft-stress: seed {seed}, {} threads, {mode} plan (iterations {})",
        plan.threads, plan.litmus.reps
    );

    let guard = HangGuard::start(&plan)?;
    let started = Instant::now();
    let until = cli.seconds.map(Duration::from_secs_f64);
    let mut failures = 0;
    let mut runs = 0;
    // Round r runs with seed + r, so any failing round replays alone with that seed.
    for round in 0.. {
        let round_seed = seed.wrapping_add(round);
        if until.is_some() {
            println!("round {round} (seed {round_seed})");
        }
        for &suite in &suites {
            guard.entering(suite, round_seed);
            match suite.run(&plan, round_seed) {
                Ok(report) => {
                    print_report(&report);
                    for violation in &report.violations {
                        println!("FAIL {} (seed {round_seed}): {violation}", suite.name());
                    }
                    failures += report.violations.len();
                }
                Err(error) => {
                    println!("{:<12} ERROR", suite.name());
                    println!(
                        "FAIL {} (seed {round_seed}): could not run: {error}",
                        suite.name()
                    );
                    failures += 1;
                }
            }
            runs += 1;
        }
        if until.is_none_or(|until| started.elapsed() >= until) {
            break;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    if failures == 0 {
        println!(
            "summary: {runs} suite runs in {elapsed:.1} s, every invariant held (seed {seed})"
        );
    } else {
        println!(
            "summary: {runs} suite runs in {elapsed:.1} s, {failures} invariants violated (seed {seed}); \
             replay one with --seed <its seed> --suite <its suite> and the same sizes"
        );
    }
    Ok(failures == 0)
}

fn print_report(report: &Report) {
    let status = if report.passed() { "ok" } else { "FAIL" };
    let mut lines = report.figures.iter();
    println!(
        "{:<12} {status:<4} {:>6.1}s  {}",
        report.suite.name(),
        report.elapsed.as_secs_f64(),
        lines.next().map_or("", String::as_str)
    );
    for line in lines {
        println!("{:<25}{line}", "");
    }
}

fn clock_seed() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64)
}

/// Ends the process if a suite hangs where its own watchdog cannot help (a join that never
/// returns after the threads were terminated), naming the suite and seed.
struct HangGuard {
    current: Arc<Mutex<(Suite, u64, Instant)>>,
}

impl HangGuard {
    fn start(plan: &Plan) -> Result<HangGuard> {
        let current = Arc::new(Mutex::new((Suite::ALL[0], 0, Instant::now())));
        let limit = plan.deadline * 2 + Duration::from_secs(60);
        let watched = Arc::clone(&current);
        std::thread::Builder::new()
            .name("stress-hang-guard".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_secs(1));
                    let (suite, seed, since) = *watched.lock().unwrap_or_else(|e| e.into_inner());
                    if since.elapsed() > limit {
                        eprintln!(
                            "FAIL {} (seed {seed}): hung for {} s, past every deadline; aborting",
                            suite.name(),
                            since.elapsed().as_secs()
                        );
                        std::process::exit(3);
                    }
                }
            })?;
        Ok(HangGuard { current })
    }

    fn entering(&self, suite: Suite, seed: u64) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = (suite, seed, Instant::now());
    }
}
