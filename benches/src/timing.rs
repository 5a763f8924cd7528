//! Timing helpers for benchmarks whose work runs on several threads at once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// Runs `work(&mut prepared, iterations)` on one thread per state and returns the wall time
/// from the first thread starting its work to the last one finishing it.
///
/// With more than one state, thread `i` is pinned to the `i`th CPU the process may use (when
/// there are that many), so the threads really run in parallel: left alone, the scheduler
/// now and then keeps two of them on one core for a whole sample, which then measures them
/// taking turns (for a lock, twice the uncontended time) instead of contending. Each thread
/// first runs `prepare(state)` (thread start-up, attaching to an instance,
/// registering for wake-ups), then waits, spinning, until every thread has prepared, so that
/// they start together without waiting for a wake-up. The threads read the clock themselves:
/// a timer thread of its own would need a core too, and with as many busy threads as cores
/// it is scheduled late, which moves both ends of the measurement by up to a time slice. The
/// prepared values are dropped (detaching, for example) only once every thread is done, and
/// untimed.
pub fn timed_on_threads<S: Send + 'static, P: 'static>(
    states: Vec<S>,
    iterations: u64,
    prepare: impl Fn(S) -> P + Send + Sync + Copy + 'static,
    work: impl Fn(&mut P, u64) + Send + Sync + Copy + 'static,
) -> Duration {
    let threads = states.len();
    let prepared = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = states
        .into_iter()
        .enumerate()
        .map(|(index, state)| {
            let (ready, finished) = (prepared.clone(), finished.clone());
            std::thread::spawn(move || {
                if threads > 1 {
                    pin_to_cpu(index);
                }
                let mut prepared = prepare(state);
                ready.fetch_add(1, Ordering::SeqCst);
                spin_until(|| ready.load(Ordering::SeqCst) == threads);
                let start = Instant::now();
                work(&mut prepared, iterations);
                let end = Instant::now();
                finished.wait();
                drop(prepared);
                (start, end)
            })
        })
        .collect();
    let spans: Vec<_> = handles
        .into_iter()
        .map(|handle| handle.join().expect("benchmark thread panicked"))
        .collect();
    let start = spans.iter().map(|&(start, _)| start).min();
    let end = spans.iter().map(|&(_, end)| end).max();
    match (start, end) {
        (Some(start), Some(end)) => end.saturating_duration_since(start),
        _ => Duration::ZERO,
    }
}

/// Pins the calling thread to the `index`th CPU it may run on. Returns whether it did: not if
/// there are no more than `index` such CPUs, or where `core_affinity` cannot list or set them
/// (on macOS it only sets an affinity hint). The CPUs are those of the calling thread's
/// affinity mask (on Linux), so a process limited by `taskset` or a cgroup still gets one
/// thread per allowed CPU.
pub fn pin_to_cpu(index: usize) -> bool {
    core_affinity::get_core_ids()
        .and_then(|cpus| cpus.into_iter().nth(index))
        .is_some_and(core_affinity::set_for_current)
}

/// Spins until `done()`, yielding now and then in case the thread it waits for needs this
/// core.
fn spin_until(done: impl Fn() -> bool) {
    let mut spins = 0u32;
    while !done() {
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(1024) {
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

/// A criterion iteration count as the `u32` loop count the kernels take.
pub fn rounds(iterations: u64) -> u32 {
    u32::try_from(iterations).expect("criterion iteration counts fit in u32 here")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_the_span_of_the_work_and_not_the_preparation() {
        let elapsed = timed_on_threads(
            vec![Duration::from_millis(20), Duration::from_millis(5)],
            20,
            |delay| {
                // Preparing takes far longer than the work and is not counted.
                std::thread::sleep(Duration::from_millis(500));
                delay
            },
            |delay, _| std::thread::sleep(*delay),
        );
        // The slower thread's 20 ms, plus scheduling, but none of the 500 ms.
        assert!(elapsed >= Duration::from_millis(20), "{elapsed:?}");
        assert!(elapsed < Duration::from_millis(500), "{elapsed:?}");
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn pins_to_one_of_the_cpus_the_thread_may_use() {
        let pinned = std::thread::spawn(|| {
            let first = pin_to_cpu(0);
            let cpus = std::thread::available_parallelism().map(|cpus| cpus.get());
            // Now there is only the one.
            (first, cpus.ok(), pin_to_cpu(0), pin_to_cpu(1))
        });
        assert_eq!(pinned.join().unwrap(), (true, Some(1), true, false));
    }

    #[test]
    fn passes_the_iteration_count_and_drops_after_all_work() {
        let done = Arc::new(AtomicUsize::new(0));
        let states = vec![done.clone(), done.clone(), done.clone()];
        timed_on_threads(
            states,
            7,
            |done| done,
            |done, iterations| {
                assert_eq!(iterations, 7);
                done.fetch_add(1, Ordering::SeqCst);
            },
        );
        assert_eq!(done.load(Ordering::SeqCst), 3);
        assert_eq!(
            Arc::strong_count(&done),
            1,
            "every prepared value was dropped"
        );
        assert_eq!(
            timed_on_threads(Vec::<()>::new(), 1, |s| s, |_, _| {}),
            Duration::ZERO
        );
    }
}
