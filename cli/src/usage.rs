//! Wrong options: the one kind of failure that exits with status 2, as clap's own do.

use std::fmt;

/// An option value clap cannot check itself was wrong.
#[derive(Debug)]
pub(crate) struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}
