//! Whether a failure is the one an assertion expects.

use crate::session::BuildError;
use anyhow::{Result, bail};
use weft::{CompileError, Error, Module, Val};

/// Passes when the action failed at run time with a message containing `expected`
/// (case-insensitively: the spec's wording is a substring of weft's trap messages).
pub(crate) fn expect_trap(result: Result<Vec<Val>, Error>, expected: &str) -> Result<()> {
    let err = match result {
        Ok(_) => bail!("expected a trap `{expected}`, but it returned normally"),
        Err(err) => err,
    };
    // A compile or link error containing the words would still be the wrong failure.
    let message = err.to_string();
    if err.trap().is_none() || !trap_message_matches(&message, expected) {
        bail!("expected a trap `{expected}`, got: {message}");
    }
    Ok(())
}

/// Checks that an `assert_exception` action ended with an exception that no wasm frame
/// caught.
pub(crate) fn expect_exception(result: Result<Vec<Val>, Error>) -> Result<()> {
    match result {
        Ok(_) => bail!("expected an uncaught exception, but it returned normally"),
        Err(Error::Exception(_)) => Ok(()),
        Err(err) => bail!("expected an uncaught exception, got: {err}"),
    }
}

/// Whether weft's error message says what the spec's trap message says: it contains the spec
/// text, compared case-insensitively. A trailing number is dropped from the spec text first:
/// the reference interpreter names the culprit (`uninitialized element 2`) where weft does not.
fn trap_message_matches(actual: &str, expected: &str) -> bool {
    let expected = expected.trim();
    let expected = match expected.rsplit_once(' ') {
        Some((words, number)) if number.parse::<u64>().is_ok() => words,
        _ => expected,
    };
    actual.to_lowercase().contains(&expected.to_lowercase())
}

/// Passes when building the module failed because the module is malformed or invalid.
pub(crate) fn expect_rejected(result: Result<Module, BuildError>, expected: &str) -> Result<()> {
    match result {
        Ok(_) => bail!("expected the module to be rejected (`{expected}`), but it compiled"),
        Err(BuildError::Encode(_))
        | Err(BuildError::Compile(Error::Compile(
            CompileError::Text { .. } | CompileError::Invalid { .. },
        ))) => Ok(()),
        // `Unsupported` means weft cannot judge the module, and `Codegen` comes after
        // validation accepted it: neither is a rejection.
        Err(BuildError::Compile(err)) => {
            bail!("expected the module to be rejected (`{expected}`), got: {err}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trap_messages_match_as_substrings_ignoring_case() {
        assert!(trap_message_matches(
            "wasm trap: unreachable executed",
            "unreachable"
        ));
        assert!(trap_message_matches(
            "wasm trap: out of bounds memory access",
            " Out of bounds memory access "
        ));
        assert!(!trap_message_matches(
            "wasm trap: integer overflow",
            "integer divide by zero"
        ));
    }

    #[test]
    fn trap_messages_ignore_a_trailing_index() {
        assert!(trap_message_matches(
            "wasm trap: uninitialized element",
            "uninitialized element 2"
        ));
        // Only a whole trailing number is dropped.
        assert!(!trap_message_matches("wasm trap: call", "call-7"));
        assert!(!trap_message_matches(
            "wasm trap: uninitialized element",
            "undefined element 2"
        ));
    }
}
