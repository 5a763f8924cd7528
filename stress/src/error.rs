//! What stops a suite from running at all, as opposed to an invariant that did not hold
//! (a [`Violation`](crate::Violation)).

/// A suite could not be set up or its results could not be collected.
#[derive(Debug, thiserror::Error)]
pub enum StressError {
    /// The engine refused something the suite needs: compiling, linking, spawning, reading
    /// memory.
    #[error("{context}: {source}")]
    Weft {
        context: String,
        #[source]
        source: weft::Error,
    },
    /// The operating system refused a host thread or the listing of the process's threads.
    #[error("operating system: {0}")]
    Io(#[from] std::io::Error),
    /// A host thread the suite started panicked, which is a bug in the suite itself.
    #[error("host thread `{0}` panicked")]
    HostPanic(String),
    /// The plan asks for something the suite cannot do.
    #[error("bad plan: {0}")]
    Plan(String),
}

/// Names what was being done when weft failed.
pub(crate) trait Context<T> {
    fn context(self, context: impl Into<String>) -> Result<T, StressError>;
}

impl<T> Context<T> for Result<T, weft::Error> {
    fn context(self, context: impl Into<String>) -> Result<T, StressError> {
        self.map_err(|source| StressError::Weft {
            context: context.into(),
            source,
        })
    }
}
