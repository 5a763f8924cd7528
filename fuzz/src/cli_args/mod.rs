//! The command line's fuzz target: malformed and valid modules, scripts and arguments through
//! the `weft` binary (`run`, `explore`, `bench`, `wast`, and no or a wrong subcommand), each
//! run checked to end as the project's rule says: "bad input gets a clear error and loses
//! nothing" (see [`check`] for the rules as checked).
//!
//! Case `seed` builds one command line and the files it names in a directory of its own
//! (`args`): modules from the repository's WASI programs, this target's own modules and
//! scripts, and wasm-smith, mutated or not (`mutate`), under good and odd paths, with option
//! values good and bad (`values`). It runs `weft` there as a child process (`process`),
//! killed after 20 s (a hang: every case bounds its time, `-W timeout=2s` and the like, but
//! for the few that test such an option itself, which are stopped after 3 s instead), and
//! checks its status and standard error, and that nothing outside the preopened folders
//! changed (`scratch`). A failure comes with `cli-SEED.sh`, which rebuilds the case's
//! directory from the other files saved with it and runs the command line again.

mod args;
mod check;
mod corpus;
mod mutate;
mod process;
mod scratch;
#[cfg(test)]
mod tests;
mod values;

use crate::target::{Failure, Target};
use anyhow::{Context, Result, ensure};
use args::{Case, Writable};
use corpus::Corpus;
use process::{Ended, Output};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How many lines of a failed run's standard error its one-line failure quotes.
const QUOTED_LINES: usize = 3;

/// The target: the `weft` binary it runs, the corpus, a scratch folder, and what its cases
/// covered.
pub struct CliArgs {
    weft: PathBuf,
    corpus: Corpus,
    /// The folder under which each case gets its own; removed on drop.
    root: PathBuf,
    stats: Stats,
}

/// What the cases so far did, for the report.
#[derive(Default)]
struct Stats {
    cases: u64,
    processes: u64,
    elapsed: Duration,
    statuses: BTreeMap<String, u64>,
    first_lines: BTreeMap<String, u64>,
    mutations: BTreeMap<&'static str, u64>,
    commands: BTreeMap<&'static str, u64>,
    hangs: u64,
    /// The longest run's seed and time.
    slowest: (u64, Duration),
    /// Runs of unbounded cases stopped at the time limit (not failures).
    stopped: u64,
    failures: u64,
}

impl CliArgs {
    /// The target running the `weft` binary at `weft`; reads the corpus and makes the
    /// scratch folder.
    pub fn new(weft: PathBuf) -> Result<CliArgs> {
        ensure!(
            weft.is_file(),
            "no weft binary at {}: build it with `cargo build --release -p weft-cli`",
            weft.display()
        );
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .context("weft-fuzz lies inside the workspace")?;
        let corpus = Corpus::load(repo)?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        let root =
            std::env::temp_dir().join(format!("weft-fuzz-cli-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&root)
            .with_context(|| format!("cannot make the scratch folder {}", root.display()))?;
        Ok(CliArgs {
            weft,
            corpus,
            root,
            stats: Stats::default(),
        })
    }

    /// Case `seed`'s command line and files, without running it.
    fn case(&self, seed: u64) -> Case {
        args::case(seed, &self.corpus)
    }

    /// Runs `case` in `dir`: what the process did, or the first file outside the preopened
    /// folders it changed.
    fn execute(&mut self, case: &Case, dir: &Path) -> Result<(Output, Option<String>)> {
        scratch::build(dir, &case.entries).context("cannot make the case's files")?;
        let skipped = match &case.expect.writable {
            Writable::Dirs(dirs) => Some(dirs.clone()),
            Writable::Everything => None,
        };
        let before = skipped
            .as_ref()
            .map(|skipped| scratch::snapshot(dir, skipped));
        let limit = if case.expect.bounded {
            process::TIME_LIMIT
        } else {
            process::UNBOUNDED_TIME_LIMIT
        };
        let output = process::run(&self.weft, &case.args, dir, limit, case.full_stdout)
            .context("cannot run weft")?;
        self.stats.processes += 1;
        if case.perfmap {
            let _ = std::fs::remove_file(format!("/tmp/perf-{}.map", output.pid));
        }
        let changed = match (before, skipped) {
            (Some(before), Some(skipped)) => {
                scratch::difference(&before, &scratch::snapshot(dir, &skipped))
            }
            _ => None,
        };
        Ok((output, changed))
    }

    fn count(&mut self, case: &Case, output: &Output) {
        let stats = &mut self.stats;
        stats.cases += 1;
        *stats.commands.entry(case.command).or_default() += 1;
        for kind in &case.mutations {
            *stats.mutations.entry(kind).or_default() += 1;
        }
        let status = match output.ended {
            Ended::Code(code) => code.to_string(),
            Ended::Signal(signal) => format!("signal {signal}"),
            Ended::TimedOut => "killed: time".to_string(),
            Ended::TooBig(_) => "killed: memory".to_string(),
        };
        *stats.statuses.entry(status).or_default() += 1;
        *stats
            .first_lines
            .entry(check::kind(&output.stderr))
            .or_default() += 1;
        if output.ended == Ended::TimedOut {
            if case.expect.bounded {
                stats.hangs += 1;
            } else {
                stats.stopped += 1;
            }
        }
    }

    /// Builds, runs and checks case `seed`.
    fn run_case(&mut self, seed: u64) -> Result<(), Failure> {
        let case = self.case(seed);
        let dir = self.root.join(format!("case-{seed}"));
        let executed = self.execute(&case, &dir);
        let _ = scratch::remove(&dir);
        let (output, changed) = executed.map_err(|error| {
            self.stats.failures += 1;
            Failure::new(format!("cli_args seed {seed}: {error:#}"))
        })?;
        self.count(&case, &output);
        if output.elapsed > self.stats.slowest.1 {
            self.stats.slowest = (seed, output.elapsed);
        }
        let verdict = match changed {
            Some(change) => Err(format!("outside the preopened folders, {change}")),
            None => check::check(&case.expect, &output),
        };
        verdict.map_err(|problem| {
            self.stats.failures += 1;
            failure(seed, &case, &output, &problem)
        })
    }
}

impl Target for CliArgs {
    fn run(&mut self, seed: u64) -> Result<(), Failure> {
        let started = Instant::now();
        let result = self.run_case(seed);
        self.stats.elapsed += started.elapsed();
        result
    }

    fn report(&self) -> Vec<String> {
        let stats = &self.stats;
        let per_second = stats.cases as f64 / stats.elapsed.as_secs_f64().max(f64::EPSILON);
        let mut lines = vec![
            format!(
                "cli_args: {} cases, {} weft processes, {:.1} cases/s",
                stats.cases, stats.processes, per_second
            ),
            format!(
                "cli_args: {} hangs, {} runs without a time bound stopped after {} s, {} failures",
                stats.hangs,
                stats.stopped,
                process::UNBOUNDED_TIME_LIMIT.as_secs(),
                stats.failures
            ),
            format!(
                "cli_args: the slowest run: seed {}, {:.2} s",
                stats.slowest.0,
                stats.slowest.1.as_secs_f64()
            ),
            format!("cli_args: subcommands: {}", listing(&stats.commands)),
            format!("cli_args: exit statuses: {}", listing(&stats.statuses)),
            format!("cli_args: mutations: {}", listing(&stats.mutations)),
        ];
        let mut first_lines: Vec<_> = stats.first_lines.iter().collect();
        first_lines.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        lines.push("cli_args: most common first lines of stderr:".to_string());
        for (line, count) in first_lines.into_iter().take(10) {
            lines.push(format!("cli_args:   {count:>6}  {line}"));
        }
        lines
    }
}

impl Drop for CliArgs {
    fn drop(&mut self) {
        let _ = scratch::remove(&self.root);
    }
}

/// `name count, ...`, the largest counts first.
fn listing<K: std::fmt::Display>(counts: &BTreeMap<K, u64>) -> String {
    let mut entries: Vec<_> = counts.iter().collect();
    entries.sort_by(|a, b| b.1.cmp(a.1));
    let entries: Vec<String> = entries
        .into_iter()
        .map(|(name, count)| format!("{name} {count}"))
        .collect();
    entries.join(", ")
}

/// The failure of case `seed`: one line (the problem, the status, the first lines of
/// stderr, the command line), the replay script, stderr in full, and the case's files.
fn failure(seed: u64, case: &Case, output: &Output, problem: &str) -> Failure {
    let status = match output.ended {
        Ended::Code(code) => format!("exit status {code}"),
        Ended::Signal(signal) => format!("signal {signal}"),
        Ended::TimedOut => "killed at the time limit".to_string(),
        Ended::TooBig(_) => "killed at the memory limit".to_string(),
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    let quoted: Vec<&str> = stderr.lines().take(QUOTED_LINES).collect();
    let what = format!(
        "cli_args seed {seed}: {problem} ({status}; stderr: {:?}); replay: cli-{seed}.sh; {}",
        quoted.join(" ⏎ "),
        scratch::command_line(&case.args)
    );
    let (script, attached) = scratch::replay(seed, &case.entries, &case.args, case.full_stdout);
    let mut failure = Failure::new(what)
        .with_artifact(format!("cli-{seed}.sh"), script)
        .with_artifact(format!("cli-{seed}.stderr"), output.stderr.clone());
    for (name, bytes) in attached {
        failure = failure.with_artifact(name, bytes);
    }
    failure
}
