//! What every fuzz target is to the campaign that runs it: a function from a seed to a
//! checked case, and a report of what the cases covered.

/// A fuzz target. Case `seed` must do the same thing every time it runs, so that its seed
/// alone replays it.
pub trait Target {
    /// Runs case `seed` and checks it: `Ok` when every check held, `Err` with what failed.
    fn run(&mut self, seed: u64) -> Result<(), Failure>;

    /// What the cases run so far did and covered, one line per fact, for the end of a run.
    fn report(&self) -> Vec<String>;
}

/// A case that failed its checks.
#[derive(Debug)]
pub struct Failure {
    /// One line: what went wrong, and where.
    pub what: String,
    /// Files that reproduce it, each a name (no directory) and its bytes, written out by the
    /// campaign: a `.wat` reproducer, the module, the arguments.
    pub artifacts: Vec<(String, Vec<u8>)>,
}

impl Failure {
    /// A failure with no file to save.
    pub fn new(what: impl Into<String>) -> Failure {
        Failure {
            what: what.into(),
            artifacts: Vec::new(),
        }
    }

    /// Adds a file to save.
    pub fn with_artifact(mut self, name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Failure {
        self.artifacts.push((name.into(), bytes.into()));
        self
    }
}
