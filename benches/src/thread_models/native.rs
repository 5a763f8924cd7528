//! The native side of the thread-model groups: Rust threads doing the guest's work the same
//! way (the same pool protocol, the same loops).

use super::{Job, Workers, chunk};
use crate::histogram;
use crate::timing::pin_to_cpu;
use std::cell::Cell;
use std::hint::black_box;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use weft::Error;

thread_local! {
    /// The native thread-local variable: a `Cell<u32>`, as `thread_local!` code keeps one.
    static COUNTER: Cell<u32> = const { Cell::new(0) };
}

/// `rounds` increments of a thread-local counter from 0; returns the counter. `black_box`
/// keeps each increment a load and a store of the thread-local, as in the guest loops,
/// instead of one addition of `rounds`.
pub fn thread_local_loop(rounds: u32) -> u32 {
    COUNTER.with(|counter| {
        counter.set(0);
        for _ in 0..rounds {
            counter.set(black_box(counter.get()).wrapping_add(1));
        }
        counter.get()
    })
}

/// `passes` histograms of `chunk`; returns the last one's checksum.
fn histogram_passes(chunk: &[u8], passes: u32) -> i64 {
    let mut counts = [0; 256];
    let mut sum = 0;
    for _ in 0..passes {
        sum = histogram(black_box(chunk), &mut counts);
    }
    i64::try_from(sum).expect("chunks are at most 8 MiB")
}

#[derive(Clone, Copy)]
struct Release {
    generation: u32,
    job: Job,
    rounds: u32,
}

struct PoolState {
    release: Release,
    done: u32,
}

struct Shared {
    state: Mutex<PoolState>,
    /// Signalled when the generation moves on.
    released: Condvar,
    /// Signalled by the last worker to finish a job.
    finished: Condvar,
    results: Vec<AtomicI64>,
    data: Arc<[u8]>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Native workers with the guest pool's protocol: started once, pinned like the guest's,
/// waiting for a new generation, running the job, the last one waking the releaser.
pub struct NativePool {
    shared: Arc<Shared>,
    handles: Vec<JoinHandle<()>>,
}

impl NativePool {
    /// Starts `workers` threads; the histogram job splits `data` among them.
    pub fn start(workers: u32, data: Arc<[u8]>) -> NativePool {
        let shared = Arc::new(Shared {
            state: Mutex::new(PoolState {
                release: Release {
                    generation: 0,
                    job: Job::Quit,
                    rounds: 0,
                },
                done: 0,
            }),
            released: Condvar::new(),
            finished: Condvar::new(),
            results: (0..workers).map(|_| AtomicI64::new(0)).collect(),
            data,
        });
        let handles = (0..workers)
            .map(|index| {
                let shared = shared.clone();
                std::thread::spawn(move || work(&shared, index, workers))
            })
            .collect();
        NativePool { shared, handles }
    }
}

fn work(shared: &Shared, index: u32, workers: u32) {
    if workers > 1 {
        pin_to_cpu(index as usize);
    }
    let range = chunk(index, workers, shared.data.len());
    let mut seen = 0;
    loop {
        let release = {
            let state = shared.lock();
            let state = shared
                .released
                .wait_while(state, |state| state.release.generation == seen)
                .unwrap_or_else(PoisonError::into_inner);
            state.release
        };
        seen = release.generation;
        let result = match release.job {
            Job::ThreadLocal => i64::from(thread_local_loop(release.rounds)),
            Job::Histogram => histogram_passes(&shared.data[range.clone()], release.rounds),
            Job::Quit => 0,
        };
        shared.results[index as usize].store(result, Ordering::SeqCst);
        let mut state = shared.lock();
        state.done += 1;
        if state.done == workers {
            shared.finished.notify_one();
        }
        drop(state);
        if release.job == Job::Quit {
            return;
        }
    }
}

impl Workers for NativePool {
    fn workers(&self) -> u32 {
        self.shared.results.len() as u32
    }

    fn run(&mut self, job: Job, rounds: u32) -> Result<(), Error> {
        let workers = self.workers();
        let mut state = self.shared.lock();
        state.release = Release {
            generation: state.release.generation.wrapping_add(1),
            job,
            rounds,
        };
        state.done = 0;
        self.shared.released.notify_all();
        drop(
            self.shared
                .finished
                .wait_while(state, |state| state.done < workers)
                .unwrap_or_else(PoisonError::into_inner),
        );
        Ok(())
    }

    fn results(&mut self) -> Result<Vec<i64>, Error> {
        Ok(self
            .shared
            .results
            .iter()
            .map(|result| result.load(Ordering::SeqCst))
            .collect())
    }
}

impl Drop for NativePool {
    fn drop(&mut self) {
        let _ = self.run(Job::Quit, 0);
        for handle in self.handles.drain(..) {
            // A worker only panics on a bug here; the drop must not hide it (unless the pool
            // is dropped by another panic, which is then the one to report).
            if let Err(panic) = handle.join()
                && !std::thread::panicking()
            {
                std::panic::resume_unwind(panic);
            }
        }
    }
}
