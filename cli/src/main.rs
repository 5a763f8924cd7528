//! `weft`: run WebAssembly modules and spec scripts from the command line.
//!
//! Every failure ends as one `error: ...` line on stderr and a non-zero exit status: 2 for
//! wrong options (as clap uses), 1 for everything else.

mod args;
mod run;
mod wast;

use clap::{Parser, Subcommand};
use std::fmt;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "weft",
    version,
    about = "A WebAssembly JIT runtime built on Cranelift"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Run(run::RunArgs),
    Wast(wast::WastArgs),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Run(args) => run::run(&args),
        Command::Wast(args) => wast::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", one_line(&err));
            if err.is::<UsageError>() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// An option value clap cannot check itself was wrong.
#[derive(Debug)]
struct UsageError(String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// The error and its causes as `outer: inner: ...`, leaving out a cause whose text the
/// message already contains (some errors repeat their source in their own text).
fn one_line(err: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in err.chain().map(ToString::to_string) {
        if message.is_empty() {
            message = cause;
        } else if !message.contains(&cause) {
            message = format!("{message}: {cause}");
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn one_line_joins_causes_without_repeats() {
        let io = std::io::Error::other("disk on fire");
        let err = Err::<(), _>(io).context("cannot read `x`: disk on fire");
        let err = err.context("loading").unwrap_err();
        assert_eq!(one_line(&err), "loading: cannot read `x`: disk on fire");
    }
}
