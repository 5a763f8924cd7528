//! Structured fuzzing of weft's WASI preview 1 (`weft-wasi`) in a sandbox directory.
//!
//! Case `seed` is a WAT module (`program`) whose `_start` makes 5 to 40 calls of
//! `wasi_snapshot_preview1` functions with arguments drawn from the seed: descriptors
//! (preopens, ones earlier calls opened, closed and wild numbers), pointers and lengths
//! (mostly into staged memory, sometimes out of bounds or misaligned), paths (names in the
//! sandbox, `..`, absolute paths, links that lead out, NULs, invalid UTF-8, very long
//! names), and flags (valid combinations, now and then undefined bits). It runs against a
//! sandbox directory (`sandbox`) beside a directory holding secrets, and every case is
//! checked (`check`): no panic in weft, nothing outside the preopen touched, no secret in
//! the guest's memory or output, no path that always leaves resolved, every errno valid,
//! and an end its calls allow, within a time limit.

mod args;
mod calls;
mod check;
mod generate;
mod memory;
mod paths;
mod program;
mod recipes;
mod run;
mod sandbox;
mod stats;
#[cfg(test)]
mod tests;

use crate::target::{Failure, Target};
use program::Program;
use run::HostPreopen;
use sandbox::Sandbox;
use stats::Stats;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use weft::Engine;

/// How long a case may run before it is stopped; cases take milliseconds, but a
/// `poll_oneoff` may wait forever, now and then on purpose.
const TIME_LIMIT: Duration = Duration::from_secs(2);

/// The WASI fuzz target: one engine and one sandbox for all its cases.
pub struct WasiCalls {
    engine: Engine,
    sandbox: Sandbox,
    stats: Stats,
    time_limit: Duration,
}

impl WasiCalls {
    /// Makes the engine and the sandbox (under the system's temporary directory, removed
    /// when the target is dropped).
    pub fn new() -> anyhow::Result<WasiCalls> {
        // The secrets come from the clock and the process, never from a case's seed.
        let secret_seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos() as u64)
            ^ u64::from(std::process::id()).rotate_left(40);
        Ok(WasiCalls {
            engine: Engine::default(),
            sandbox: Sandbox::create(secret_seed)?,
            stats: Stats::default(),
            time_limit: TIME_LIMIT,
        })
    }

    /// Runs `program` with its preopens given `host_dir` (the sandbox, except in tests that
    /// check the checks), records it, and checks it.
    fn run_program(&mut self, program: &Program, host_dir: &Path) -> Result<(), String> {
        self.sandbox
            .reset()
            .map_err(|error| format!("cannot rebuild the sandbox: {error}"))?;
        let preopens: Vec<HostPreopen> = program
            .preopens
            .iter()
            .map(|&preopen| HostPreopen {
                host: host_dir.to_path_buf(),
                preopen,
            })
            .collect();
        let ran = run::run_case(&self.engine, &program.wat, &preopens, self.time_limit)?;
        let outside = self.sandbox.check_outside();
        if outside.is_err() {
            // So that the cases after this one start from the tree they expect.
            self.sandbox
                .rebuild()
                .map_err(|error| format!("cannot rebuild the sandbox's surroundings: {error}"))?;
        }
        self.stats.cases += 1;
        self.stats.record(program, &ran);
        check::case(program, &ran, outside, self.sandbox.secrets())?;
        self.stats.frequent_timeouts().map_or(Ok(()), Err)
    }
}

impl Target for WasiCalls {
    fn run(&mut self, seed: u64) -> Result<(), Failure> {
        let started = Instant::now();
        let program = generate::program(seed);
        let host_dir = self.sandbox.preopen_dir();
        let checked = self.run_program(&program, &host_dir);
        self.stats.busy += started.elapsed();
        checked.map_err(|what| {
            Failure::new(format!("wasi_calls case {seed}: {what}"))
                .with_artifact(format!("wasi-{seed}.wat"), program.wat)
        })
    }

    fn report(&self) -> Vec<String> {
        self.stats.lines(self.time_limit)
    }
}
