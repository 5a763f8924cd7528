//! The process's OS threads, from `/proc/self/task` (Linux), to show that threads which have
//! finished are gone.
//!
//! The count is the whole process's, so it means something only while nothing else in the
//! process starts or ends threads: the binary runs one suite at a time, and the suites'
//! integration test is the only test in its binary.

use std::time::Duration;

/// Prefix of every host thread the suites start, so a listing or a debugger tells them apart.
pub(crate) const HOST_THREAD_PREFIX: &str = "stress-";

/// Live threads of this process.
pub(crate) fn count() -> Result<usize, std::io::Error> {
    Ok(std::fs::read_dir("/proc/self/task")?.count())
}

/// The count once it is back at `baseline`, or after `patience`: a joined thread has
/// finished, but the kernel may list it a moment longer while it releases the task; a leaked
/// thread never goes.
fn settled(baseline: usize, patience: Duration) -> Result<usize, std::io::Error> {
    let step = Duration::from_millis(5);
    let mut waited = Duration::ZERO;
    loop {
        let now = count()?;
        if now <= baseline || waited >= patience {
            return Ok(now);
        }
        std::thread::sleep(step);
        waited += step;
    }
}

/// Threads before, at the busiest moment sampled, and after a suite.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ThreadCounts {
    pub before: usize,
    pub peak: usize,
    pub after: usize,
}

impl ThreadCounts {
    pub(crate) fn start() -> Result<ThreadCounts, std::io::Error> {
        let before = count()?;
        Ok(ThreadCounts {
            before,
            peak: before,
            after: before,
        })
    }

    pub(crate) fn sample(&mut self) -> Result<(), std::io::Error> {
        self.peak = self.peak.max(count()?);
        Ok(())
    }

    pub(crate) fn finish(&mut self) -> Result<(), std::io::Error> {
        self.after = settled(self.before, Duration::from_secs(10))?;
        Ok(())
    }

    /// Whether every thread started since `start` is gone.
    pub fn returned(&self) -> bool {
        self.after == self.before
    }
}

impl std::fmt::Display for ThreadCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "os threads {}/{}/{} (before/peak/after)",
            self.before, self.peak, self.after
        )
    }
}
