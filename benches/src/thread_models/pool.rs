//! Pre-started pool workers, released once per run: the guest's pool on any runtime, behind
//! the same trait as the native pool.

use super::{GuestThreads, Job, ThreadArg};
use weft::Error;

/// A pool of started workers that run a [`Job`] together when released.
pub trait Workers {
    /// How many workers there are.
    fn workers(&self) -> u32;
    /// Releases every worker to run `job` with `rounds` and returns once all are done.
    fn run(&mut self, job: Job, rounds: u32) -> Result<(), Error>;
    /// Each worker's result of the last job, in worker order.
    fn results(&mut self) -> Result<Vec<i64>, Error>;
}

/// The guest's own pool: threads started with [`ThreadArg::worker`] waiting in the guest for
/// the main instance's `run_job`. Dropping it stops and joins them.
pub struct GuestPool<'a> {
    guest: &'a mut dyn GuestThreads,
    workers: u32,
}

impl<'a> GuestPool<'a> {
    /// Starts `workers` threads on `guest`, which must have no other threads running.
    pub fn start(guest: &'a mut dyn GuestThreads, workers: u32) -> Result<GuestPool<'a>, Error> {
        // Workers count generations from 0, so an earlier pool's must not linger.
        guest.reset()?;
        let args = (0..workers)
            .map(|index| ThreadArg::worker(index, workers))
            .collect::<Result<Vec<_>, _>>()?;
        // Counted as they start, so that dropping the pool on an error stops those.
        let mut pool = GuestPool { guest, workers: 0 };
        for arg in args {
            pool.guest.spawn(arg)?;
            pool.workers += 1;
        }
        Ok(pool)
    }
}

impl Workers for GuestPool<'_> {
    fn workers(&self) -> u32 {
        self.workers
    }

    fn run(&mut self, job: Job, rounds: u32) -> Result<(), Error> {
        self.guest.run_job(job, rounds, self.workers)
    }

    fn results(&mut self) -> Result<Vec<i64>, Error> {
        (0..self.workers)
            .map(|index| self.guest.result(index))
            .collect()
    }
}

impl Drop for GuestPool<'_> {
    fn drop(&mut self) {
        if self.workers == 0 {
            return;
        }
        // A failure here leaves threads for the guest's own drop to stop; nothing to report.
        if self.guest.run_job(Job::Quit, 0, self.workers).is_ok() {
            let _ = self.guest.join_all();
        }
    }
}
