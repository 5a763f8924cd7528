//! weft's concurrency tools through the embedding API, on two C pthread programs:
//! schedule exploration finds the broken spin lock of `broken_spinlock.c` (a lock that checks
//! with a load and then stores) and replays the failing schedule from its seed; race
//! detection reports the unsynchronized counter of `data_race.c` with both access sites.
//!
//! ```text
//! cargo run --release -p weft-examples --example concurrency_tools
//! ```

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use weft::{Config, Engine, Linker, Module, Schedule, ScheduleReport, Store, WasiThreadsModel};
use weft_wasi::{ExitStatus, Program, WasiCtx};

fn program(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../wasi/tests/programs/{name}.wasm"))
}

/// Runs `module`'s `_start` from scratch (a new store, instance and WASI context, its output
/// discarded): the exit status, or the trap.
fn run(engine: &Engine, module: &Module) -> Result<ExitStatus, weft::Error> {
    let ctx = WasiCtx::builder()
        .arg("program.wasm")
        .build()
        .map_err(|error| weft::Error::msg(error.to_string()))?;
    let mut linker = Linker::new(engine);
    weft_wasi::add_to_linker(&mut linker, &ctx)?;
    let mut store = Store::new(engine, ());
    let model = WasiThreadsModel::OneInstance;
    let program = Program::instantiate_with_model(linker, &mut store, module, &ctx, model)?;
    let start = program
        .instance()
        .get_typed_func::<(), ()>(&mut store, "_start")?;
    let ran = start.call(&mut store, ());
    program.finish(&mut store, ran)
}

fn explore() -> Result<()> {
    let engine = Engine::new(Config::new().explore(true))?;
    let module = Module::from_file_with_model(
        &engine,
        program("broken_spinlock"),
        WasiThreadsModel::OneInstance,
    )?;
    // PCT spreads its priority changes over about as many decisions as a schedule makes:
    // measure them on a schedule that changes no priority.
    let (_, probe) = engine.explore(Schedule::pct(1, 1, 0), || run(&engine, &module))?;
    let length = probe.decisions.max(1);
    let under = |schedule| engine.explore(schedule, || run(&engine, &module));
    for seed in 0..1000 {
        let schedule = Schedule::pct(3, length, seed);
        let (result, report) = under(schedule)?;
        let Err(trap) = result else { continue };
        println!("schedule {seed} of PCT depth 3, length {length}: {trap}");
        print_steps(&report);
        // The seed replays the same interleaving, and the same trap.
        let (again, replayed) = under(schedule)?;
        let same = |report: &ScheduleReport| {
            let steps = report.trace.iter();
            steps
                .map(|step| (step.thread, step.operation, step.offset))
                .collect::<Vec<_>>()
        };
        if again.is_ok() || same(&replayed) != same(&report) {
            bail!("seed {seed} did not replay its schedule");
        }
        println!("seed {seed} replays it");
        return Ok(());
    }
    bail!("no schedule of 1000 broke the spin lock")
}

/// The workers' last steps before the failure.
fn print_steps(report: &ScheduleReport) {
    let in_worker = |step: &&weft::ScheduleStep| {
        step.function
            .as_deref()
            .is_some_and(|function| function.ends_with("!worker"))
    };
    let steps: Vec<_> = report.trace.iter().filter(in_worker).collect();
    for step in &steps[steps.len().saturating_sub(8)..] {
        println!("  {step}");
    }
}

fn detect_races() -> Result<()> {
    let engine = Engine::new(Config::new().detect_races(true))?;
    let module = Module::from_file(&engine, program("data_race"))?;
    let status = run(&engine, &module).context("running data_race.wasm")?;
    let races = engine.data_races();
    println!(
        "data_race.wasm exited with {}; {} racing pairs of accesses, the first:",
        status.code(),
        races.len()
    );
    let Some(first) = races.first() else {
        bail!("the racy counter was not reported");
    };
    println!("  {first}");
    Ok(())
}

fn main() -> Result<()> {
    explore()?;
    detect_races()
}
