//! The rules a run of `weft` must keep, whatever its input ("bad input gets a clear error
//! and loses nothing"), checked on what the process did:
//!
//! 1. It ended by itself in time: a case that bounds its time (`-W timeout=2s`, a few
//!    schedules or iterations, a short script timeout) and is killed after
//!    [`TIME_LIMIT`](super::process::TIME_LIMIT) hung; one that outgrows
//!    [`MEMORY_LIMIT`](super::process::MEMORY_LIMIT) failed, bounded or not.
//! 2. It exited: no signal killed it (SIGSEGV, SIGABRT, SIGILL, SIGBUS...). A trap is
//!    weft's exit status 134, not a signal.
//! 3. It did not panic: no status 101, and nothing of Rust's panic or abort messages
//!    (`panicked at`, `stack backtrace:`, `RUST_BACKTRACE`, `memory allocation of`,
//!    `fatal runtime error`) on standard error.
//! 4. A failure says so on one line. When the guest cannot have written to standard error
//!    (it imports no WASI function that writes, or its output is discarded), every byte
//!    there is weft's: after the lines weft prints as reports (`weft: ...` races,
//!    `slower: ...` regressions), a non-zero status needs a first line `error: MESSAGE`,
//!    and every later line must be a continuation of it: blank, indented (a wasm
//!    backtrace's frames, clap's tips), `wasm backtrace:`, or clap's `Usage: ...` and
//!    `For more information...`. Nothing on standard error is allowed only for a status
//!    the program chose (`proc_exit` under `weft run`), for `weft explore` exiting 1 after
//!    reporting a failed schedule on standard output, and for 66 after data races were
//!    reported. When the guest may have written there, its text may come first: then only
//!    status 134 (a trap, which no guest's `proc_exit` can give) is checked, for an
//!    `error:` line anywhere.
//! 5. weft reads the FILE it was given: an error `cannot read `X`` naming one of the options
//!    before FILE means weft took that option for FILE.
//! 6. Status 0 is always fine (a mutation may leave a module valid).
//!
//! The sandbox rule (nothing outside a preopened folder changes) needs the file system; the
//! target checks it around the run.

use super::args::{Expect, Kind};
use super::process::{Ended, MEMORY_LIMIT, Output, TIME_LIMIT};

/// What Rust prints when a program panics or aborts.
const PANIC_MARKERS: [&str; 5] = [
    "panicked at",
    "stack backtrace:",
    "RUST_BACKTRACE",
    "memory allocation of",
    "fatal runtime error",
];

/// Report lines weft prints on standard error before its error line, if any.
const REPORT_PREFIXES: [&str; 2] = ["weft: ", "slower: "];

/// Lines that may follow the error line: the wasm backtrace's heading and clap's usage.
const CONTINUATIONS: [&str; 4] = ["wasm backtrace:", "Usage:", "For more information", "tip:"];

/// Checks `output` against the rules; `Err` says which rule failed, in a few words.
pub fn check(expect: &Expect, output: &Output) -> Result<(), String> {
    let code = match output.ended {
        Ended::Code(code) => code,
        Ended::Signal(signal) => return Err(format!("killed by signal {}", signal_name(signal))),
        Ended::TimedOut if expect.bounded => {
            return Err(format!(
                "hung: still running after {} s",
                TIME_LIMIT.as_secs()
            ));
        }
        // A case that may run for ever (a huge --iterations, no time limit) was stopped.
        Ended::TimedOut => return Ok(()),
        Ended::TooBig(bytes) => {
            return Err(format!(
                "held {} MiB of memory, past the limit of {} MiB",
                bytes >> 20,
                MEMORY_LIMIT >> 20
            ));
        }
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    if let Some(line) = stderr
        .lines()
        .find(|line| PANIC_MARKERS.iter().any(|marker| line.contains(marker)))
    {
        return Err(format!("panicked: {}", line.trim()));
    }
    if code == 101 {
        return Err("exit status 101, a Rust panic's".to_string());
    }
    if code == 0 {
        return Ok(());
    }
    // Before any guest runs, weft reads FILE: its error comes first whatever the guest.
    if let Some(name) = stderr
        .lines()
        .next()
        .and_then(|first| first.strip_prefix("error: cannot read `"))
        .and_then(|rest| rest.split('`').next())
        && expect.options.iter().any(|option| option == name)
    {
        return Err(format!("the option `{name}` was taken for FILE"));
    }
    if expect.guest_writes {
        if code == 134 && !stderr.lines().any(|line| line.starts_with("error: ")) {
            return Err("status 134 (a trap) without an `error:` line".to_string());
        }
        return Ok(());
    }
    let mut lines = stderr.lines().skip_while(|line| {
        REPORT_PREFIXES
            .iter()
            .any(|prefix| line.starts_with(prefix))
    });
    let Some(first) = lines.next() else {
        let stdout = String::from_utf8_lossy(&output.stdout);
        let explained = (expect.guest_exits && code != 134)
            || (expect.kind == Kind::Explore && code == 1 && reports_failed_schedule(&stdout))
            || (expect.race && code == 66);
        return if explained {
            Ok(())
        } else {
            Err(format!("status {code} with nothing on stderr"))
        };
    };
    match first.strip_prefix("error: ") {
        Some(message) if !message.trim().is_empty() => {}
        Some(_) => return Err("an empty `error:` line".to_string()),
        None => {
            return Err(format!(
                "the first stderr line is not `error: ...`: {first}"
            ));
        }
    }
    if let Some(extra) = lines.find(|line| {
        !(line.trim().is_empty()
            || line.starts_with(char::is_whitespace)
            || CONTINUATIONS.iter().any(|prefix| line.starts_with(prefix)))
    }) {
        return Err(format!("the error takes more than one line: {extra}"));
    }
    Ok(())
}

/// Whether `weft explore` reported a failed schedule (`schedule I (seed S) failed: ...`).
fn reports_failed_schedule(stdout: &str) -> bool {
    stdout
        .lines()
        .any(|line| line.starts_with("schedule ") && line.contains(" failed: "))
}

/// A signal's name, for the failures above.
fn signal_name(signal: i32) -> String {
    let name = match signal {
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        31 => "SIGSYS",
        _ => return signal.to_string(),
    };
    format!("{signal} ({name})")
}

/// The first line of standard error, numbers and quoted names taken out, so that messages
/// of one kind count together in the report.
pub fn kind(stderr: &[u8]) -> String {
    let stderr = String::from_utf8_lossy(stderr);
    let Some(first) = stderr.lines().next() else {
        return "(nothing)".to_string();
    };
    let mut out = String::new();
    let mut quoted = false;
    for c in first.chars() {
        match c {
            '`' => {
                if !quoted {
                    out.push_str("`…`");
                }
                quoted = !quoted;
            }
            _ if quoted => {}
            c if c.is_ascii_digit() => {
                if !out.ends_with('N') {
                    out.push('N');
                }
            }
            c => out.push(c),
        }
    }
    if out.chars().count() > 100 {
        out = out.chars().take(97).collect::<String>() + "...";
    }
    out
}
