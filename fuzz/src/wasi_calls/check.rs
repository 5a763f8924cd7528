//! The checks every case must pass, on what it did: weft did not panic; nothing outside
//! the preopen changed; no secret reached the guest's memory or output; no path that leaves
//! its directory whatever the sandbox holds was resolved; every errno is one of preview 1's;
//! and the case ended in one of the ways its calls allow.

use super::program::Program;
use super::run::{CaseRun, Ending};

/// The largest preview 1 errno (`notcapable`).
pub const LAST_ERRNO: i32 = 76;

/// Checks a case; `outside` is the sandbox's comparison of everything outside the preopen
/// with how it was made, `secrets` what no guest may see. The error is one line.
pub fn case(
    program: &Program,
    run: &CaseRun,
    outside: Result<(), String>,
    secrets: [&str; 2],
) -> Result<(), String> {
    if let Ending::Panicked(message) = &run.ending {
        return Err(format!("weft panicked: {message}"));
    }
    outside.map_err(|difference| format!("escape: outside the preopen, {difference}"))?;
    for secret in secrets {
        if let Some(at) = find(&run.memory, secret.as_bytes()) {
            return Err(format!(
                "escape: the guest's memory holds the secret `{secret}` from outside the \
                 preopen, at {at:#x}"
            ));
        }
        if find(&run.output, secret.as_bytes()).is_some() {
            return Err(format!(
                "escape: the guest wrote the secret `{secret}` from outside the preopen to its \
                 output"
            ));
        }
    }
    resolved_escapes(program, &run.errnos)?;
    for (index, &errno) in run.errnos.iter().enumerate() {
        if !(0..=LAST_ERRNO).contains(&errno) {
            return Err(format!(
                "call {index} ({}) returned {errno}, which is no preview 1 errno",
                program.calls[index].function
            ));
        }
    }
    ending(program, run)
}

/// Fails if a call whose path leaves its directory however the sandbox looks (absolute, or
/// `..` first) succeeded: the host must have resolved it outside.
pub fn resolved_escapes(program: &Program, errnos: &[i32]) -> Result<(), String> {
    for (index, (call, &errno)) in program.calls.iter().zip(errnos).enumerate() {
        let escaping = call
            .paths
            .iter()
            .find(|path| path.resolved && path.exact && path.class.always_escapes());
        if let (0, Some(path)) = (errno, escaping) {
            return Err(format!(
                "escape: call {index}, {} of the path {} ({}), succeeded",
                call.function,
                path.text,
                path.class.describe()
            ));
        }
    }
    Ok(())
}

/// Fails if the case ended in a way its calls do not allow: returning or exiting before
/// every call returned, exiting with another status than it gave, or an error that is none
/// of the host errors a bad argument makes.
fn ending(program: &Program, run: &CaseRun) -> Result<(), String> {
    let all_returned = run.errnos.len() == program.calls.len();
    match &run.ending {
        Ending::Returned if all_returned && program.exit.is_none() => Ok(()),
        Ending::Exited(status) if all_returned && program.exit == Some(*status) => Ok(()),
        Ending::Returned | Ending::Exited(_) => Err(format!(
            "the case ended {:?} after {} of its {} calls returned (its exit: {:?})",
            run.ending,
            run.errnos.len(),
            program.calls.len(),
            program.exit
        )),
        Ending::Trapped(message) if trap_kind(message).is_none() => Err(format!(
            "call {} ({}) ended the case with an unexpected error: {message}",
            run.errnos.len(),
            program
                .calls
                .get(run.errnos.len())
                .map_or("proc_exit", |call| call.function)
        )),
        Ending::Trapped(_) | Ending::TimedOut | Ending::Panicked(_) => Ok(()),
    }
}

/// The kind of a host error a WASI call may end a case with, by its message: the
/// guest's fault, not weft's. `None` for any other error.
pub fn trap_kind(message: &str) -> Option<&'static str> {
    [
        ("out of bounds of memory", "pointer out of bounds"),
        ("misaligned pointer", "misaligned pointer"),
        ("invalid value", "undefined enum value or flag"),
        ("proc_exit with the invalid status", "invalid exit status"),
    ]
    .into_iter()
    .find(|(text, _)| message.contains(text))
    .map(|(_, kind)| kind)
}

/// Where `needle` first occurs in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut from = 0;
    while let Some(offset) = haystack[from..].iter().position(|&byte| byte == first) {
        let at = from + offset;
        if haystack[at + 1..].starts_with(rest) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}
