//! `weft`: run WebAssembly modules and spec scripts from the command line.
//!
//! Every failure ends as one `error: ...` line on stderr (a trap's is followed by its wasm
//! backtrace, one frame per line) and a non-zero exit status: 2 for
//! wrong options (as clap uses), 134 for a trap or an uncaught exception (as Wasmtime), 1
//! for everything else. A
//! program that runs to its end exits with its own status.

mod args;
mod bench;
mod explore;
mod run;
mod usage;
mod wasm_options;
mod wast;
mod watchdog;

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use usage::UsageError;

#[derive(Parser)]
#[command(
    name = "weft",
    version,
    about = "A WebAssembly JIT runtime built on Cranelift"
)]
#[command(subcommand_required = true, arg_required_else_help = false)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Run(run::RunArgs),
    Bench(bench::BenchArgs),
    Explore(explore::ExploreArgs),
    Wast(wast::WastArgs),
}

/// The status of a run that trapped, as Wasmtime gives it: a process aborted by SIGABRT.
const TRAP_STATUS: u8 = 128 + 6;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return clap_exit(&err),
    };
    let result = match cli.command {
        Command::Run(args) => run::run(&args).map(|status| status.code()),
        Command::Wast(args) => wast::run(&args).map(|()| 0),
        Command::Bench(args) => bench::run(&args).map(|()| 0),
        Command::Explore(args) => explore::run(&args).map(i32::from),
    };
    match result {
        // `proc_exit` only takes statuses below 126.
        Ok(status) => ExitCode::from(u8::try_from(status).unwrap_or(u8::MAX)),
        Err(err) => {
            eprintln!("error: {}", one_line(&err));
            if let Some(backtrace) = wasm_backtrace(&err) {
                eprint!("wasm backtrace:\n{backtrace}");
            }
            if err.is::<UsageError>() {
                ExitCode::from(2)
            } else if is_trap(&err) {
                ExitCode::from(TRAP_STATUS)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// What clap's own exit does, except that a help or version text that cannot be written (to
/// a full disk, a closed pipe) is a failure instead of a silent success.
fn clap_exit(err: &clap::Error) -> ExitCode {
    match err.print() {
        Ok(()) => ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2)),
        Err(error) => {
            eprintln!("error: cannot write to standard output: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Where the trap the error is, or is caused by, happened, if weft found its frames.
fn wasm_backtrace(err: &anyhow::Error) -> Option<&weft::WasmBacktrace> {
    err.chain()
        .find_map(|cause| cause.downcast_ref::<weft::Error>()?.backtrace())
}

/// Whether the error is wasm code trapping (in any thread) or throwing an exception it
/// does not catch, which ends the program the same way; not weft failing to run it.
fn is_trap(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<weft::Error>(),
            Some(weft::Error::Trap { .. } | weft::Error::Exception(_))
        )
    })
}

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
    // A cause may span lines (a decoder's pretty-printed bytes, an argument holding a
    // newline): the error is still one line.
    message.split_whitespace().collect::<Vec<_>>().join(" ")
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

    #[test]
    fn one_line_folds_line_breaks() {
        let err = anyhow::anyhow!("expected=[\n    0x0,\n    0x61,\n] in `a\nb`");
        assert_eq!(one_line(&err), "expected=[ 0x0, 0x61, ] in `a b`");
    }
}
