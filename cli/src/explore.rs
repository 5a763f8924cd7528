//! `weft explore`: run a program or spec script many times, each under a different
//! deterministic schedule of its threads, and report the schedules that fail with how to
//! replay them.

use crate::run::{PreparedProgram, ProgramArgs, report_races};
use crate::usage::UsageError;
use crate::wasm_options::WasmOptions;
use anyhow::{Context, Result, bail};
use std::fmt::Write as _;
use std::io::{Write, stdout};
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use weft::{Config, DEFAULT_LOOP_PERIOD, Engine, Schedule, ScheduleReport, ScheduleStrategy};
use weft_spec_tests::{RunOptions, run_path, suite_features};
use weft_wasi::ExitStatus;

/// Explore how a program's threads interleave: run it under many seeded schedules.
///
/// Each schedule runs the program (a `.wasm`/`.wat` WASI program, or a `.wast` spec script)
/// from scratch with its threads taking turns: at every atomic access, fence, wait,
/// notify, spawn, join, host primitive and every --loop-period-th loop header, the schedule
/// picks which thread runs next. Schedule I of N uses seed S+I. A schedule fails when the
/// program traps, deadlocks (every thread blocked, none with a timeout), exits with a status
/// other than --expect-exit, or, for a script, when a directive fails. Each failure is
/// printed with its seed, the threads' blocking sites for a deadlock, the last steps of the
/// interleaving, and a command that replays exactly that schedule.
///
/// Exit status: 0 when every schedule passed, 1 when any failed or the program cannot run,
/// 66 when --race found data races and nothing failed, 2 for wrong options.
#[derive(clap::Args)]
pub(crate) struct ExploreArgs {
    /// The first schedule's seed; the I-th (from 0) uses SEED+I. By default a seed from the
    /// clock, printed first.
    #[arg(long)]
    seed: Option<u64>,
    /// How many schedules to run (at least one).
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..))]
    schedules: u64,
    /// How the next thread is picked: `pct` (probabilistic concurrency testing: random
    /// priorities, changed at DEPTH-1 random steps) or `random` (any thread, at every point).
    #[arg(long, value_enum, default_value = "pct")]
    strategy: StrategyArg,
    /// PCT's bug depth: how many ordering constraints the bug sought needs (1 to 64; the
    /// bugs PCT finds in practice need 2 or 3).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=64))]
    depth: u32,
    /// PCT's schedule length, the decisions (points where more than one thread could run)
    /// its priority changes are spread over. By default those of a first run that changes
    /// no priority (a schedule that changes them may spin far longer); replays pass it.
    #[arg(long)]
    length: Option<u64>,
    /// A loop header is a schedule point every this many times a thread reaches one.
    #[arg(long, default_value_t = DEFAULT_LOOP_PERIOD)]
    loop_period: u32,
    /// The exit status a passing run of a program has.
    #[arg(long, default_value_t = 0)]
    expect_exit: i32,
    /// Run every schedule, rather than stopping at the first that fails.
    #[arg(long)]
    keep_going: bool,
    /// Show the program's standard output and error (discarded by default).
    #[arg(long)]
    guest_output: bool,
    /// Also look for data races, over every schedule (see `weft run --race`).
    #[arg(long)]
    race: bool,
    /// How the program is run (FILE may also be a `.wast` script, which takes no ARGS).
    #[command(flatten)]
    program: ProgramArgs,
}

/// `--strategy`'s values.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
enum StrategyArg {
    Pct,
    Random,
}

/// Exit status when data races were found and no schedule failed, as `weft run --race`.
const RACES_FOUND: u8 = 66;

pub(crate) fn run(args: &ExploreArgs) -> Result<u8> {
    let seed = args.seed.unwrap_or_else(clock_seed);
    let mut out = stdout().lock();
    if args.seed.is_none() {
        writeln!(out, "exploring with --seed {seed}")?;
    }
    let file = &args.program.command[0];
    let mut subject = if Path::new(file).extension().is_some_and(|ext| ext == "wast") {
        Subject::script(args, file)?
    } else {
        Subject::program(args)?
    };
    let started = Instant::now();
    let length = match args.length {
        Some(length) => length,
        None => {
            let probe = Schedule {
                strategy: ScheduleStrategy::Pct {
                    depth: 1,
                    length: 1,
                },
                seed,
                loop_period: args.loop_period,
            };
            subject.run(probe)?.1.decisions.max(1)
        }
    };
    let (mut ran, mut failed) = (0u64, 0u64);
    for index in 0..args.schedules {
        let schedule = Schedule {
            strategy: match args.strategy {
                StrategyArg::Pct => ScheduleStrategy::Pct {
                    depth: args.depth,
                    length,
                },
                StrategyArg::Random => ScheduleStrategy::Random,
            },
            seed: seed.wrapping_add(index),
            loop_period: args.loop_period,
        };
        let (failure, report) = subject.run(schedule)?;
        ran += 1;
        if let Some(failure) = failure {
            failed += 1;
            writeln!(
                out,
                "schedule {index} (seed {}) failed: {failure}",
                schedule.seed
            )?;
            write!(out, "{}", describe(&report))?;
            writeln!(out, "replay: {}", replay_command(args, &schedule))?;
            if !args.keep_going {
                break;
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    writeln!(
        out,
        "{ran} schedules, {failed} failed, in {seconds:.2} s ({:.1} schedules/s)",
        ran as f64 / seconds.max(f64::EPSILON)
    )?;
    drop(out);
    let raced = subject.report_races();
    Ok(if failed > 0 {
        1
    } else if raced {
        RACES_FOUND
    } else {
        0
    })
}

/// What is explored: a program compiled once, or a spec script.
enum Subject<'a> {
    Program {
        program: PreparedProgram<'a>,
        guest_output: bool,
        expect_exit: i32,
    },
    Script {
        path: &'a Path,
        options: RunOptions,
    },
}

impl<'a> Subject<'a> {
    fn program(args: &'a ExploreArgs) -> Result<Subject<'a>> {
        let program = PreparedProgram::new(&args.program, |config| {
            config.explore(true).detect_races(args.race);
        })?;
        Ok(Subject::Program {
            program,
            guest_output: args.guest_output,
            expect_exit: args.expect_exit,
        })
    }

    fn script(args: &'a ExploreArgs, file: &'a str) -> Result<Subject<'a>> {
        let command = &args.program.command;
        if command.len() > 1 {
            bail!(UsageError(format!(
                "a spec script takes no arguments, but `{}` follow it",
                command[1..].join(" ")
            )));
        }
        let path = Path::new(file);
        let features = suite_features(path).unwrap_or_default();
        let features = WasmOptions::parse(args.program.wasm_values(), false)?.features(features);
        let engine = Engine::new(
            Config::new()
                .wasm_features(features)
                .explore(true)
                .detect_races(args.race),
        )
        .context("cannot configure the engine")?;
        Ok(Subject::Script {
            path,
            options: RunOptions::new(engine),
        })
    }

    /// Runs one schedule: why it failed, if it did, and what it did.
    fn run(&mut self, schedule: Schedule) -> Result<(Option<String>, ScheduleReport)> {
        match self {
            Subject::Program {
                program,
                guest_output,
                expect_exit,
            } => {
                let (ran, report) = program
                    .engine
                    .explore(schedule, || program.run_once(*guest_output))?;
                let failure = match (&report.deadlock, ran.result) {
                    (Some(_), _) => Some("deadlock: every thread is blocked".to_string()),
                    (None, Ok(ExitStatus(status))) if status == *expect_exit => None,
                    (None, Ok(ExitStatus(status))) => {
                        Some(format!("exited with {status}, expected {expect_exit}"))
                    }
                    (None, Err(error)) if ran.timed_out => {
                        Some(format!("stopped by -W timeout: {error}"))
                    }
                    (None, Err(error)) => Some(error.to_string()),
                };
                Ok((failure, report))
            }
            Subject::Script { path, options } => {
                options.schedule = Some(schedule);
                let file = run_path(path, options)?;
                let report = file
                    .schedule
                    .clone()
                    .context("the script runner reported no schedule")?;
                let failure = if report.deadlock.is_some() {
                    Some("deadlock: every thread is blocked".to_string())
                } else {
                    file.failures.first().map(|first| {
                        format!(
                            "{} directives failed, the first at line {}: {}: {}",
                            file.failed, first.line, first.kind, first.message
                        )
                    })
                };
                Ok((failure, report))
            }
        }
    }

    /// Prints the data races found over every schedule; whether there were any.
    fn report_races(&self) -> bool {
        let engine = match self {
            Subject::Program { program, .. } => &program.engine,
            Subject::Script { options, .. } => &options.engine,
        };
        matches!(
            report_races(engine, Ok(ExitStatus(0))),
            Ok(ExitStatus(status)) if status != 0
        )
    }
}

/// A failed schedule's deadlock, if any, and its last steps, one per line.
fn describe(report: &ScheduleReport) -> String {
    let mut text = String::new();
    if let Some(blocked) = &report.deadlock {
        for thread in blocked {
            let _ = writeln!(text, "  {thread}");
        }
    }
    let _ = writeln!(
        text,
        "  the last {} of {} steps ({} threads):",
        report.trace.len(),
        report.steps,
        report.threads
    );
    for step in &report.trace {
        let _ = writeln!(text, "    {step}");
    }
    text
}

/// The command that runs exactly `schedule` again.
fn replay_command(args: &ExploreArgs, schedule: &Schedule) -> String {
    let mut command = format!("weft explore --seed {} --schedules 1", schedule.seed);
    match schedule.strategy {
        ScheduleStrategy::Pct { depth, length } => {
            let _ = write!(command, " --strategy pct --depth {depth} --length {length}");
        }
        ScheduleStrategy::Random => command.push_str(" --strategy random"),
    }
    if schedule.loop_period != DEFAULT_LOOP_PERIOD {
        let _ = write!(command, " --loop-period {}", schedule.loop_period);
    }
    if args.expect_exit != 0 {
        let _ = write!(command, " --expect-exit {}", args.expect_exit);
    }
    for word in args.program.to_command_line() {
        command.push(' ');
        command.push_str(&word);
    }
    command
}

/// A seed for a run that was given none.
fn clock_seed() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos() as u64)
}
