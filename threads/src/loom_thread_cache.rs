//! Loom models of the thread cache (`thread_cache.rs`), each with a twin that runs it on a
//! cache with a deliberate bug ([`CacheFlaw`]) and asserts that loom finds the failure.

use crate::flaw::CacheFlaw;
use crate::loom_tests::{Model, assert_caught, check};
use crate::sync::{Arc, AtomicU64, Ordering, thread};
use crate::{ThreadCache, Worker};

fn cache(flaw: Option<CacheFlaw>) -> Arc<ThreadCache> {
    Arc::new(match flaw {
        Some(flaw) => ThreadCache::with_flaw(1, flaw),
        None => ThreadCache::new(1, std::time::Duration::ZERO),
    })
}

/// Runs a job that adds `amount` to `total`: on an idle thread, or on a new one, whose handle
/// joins `threads`.
fn run_adding(
    cache: &Arc<ThreadCache>,
    total: &Arc<AtomicU64>,
    amount: u64,
    threads: &mut Vec<thread::JoinHandle<()>>,
) {
    let total = total.clone();
    let job = Box::new(move || {
        total.fetch_add(amount, Ordering::SeqCst);
    });
    if let Some(worker) = ThreadCache::run(cache, job) {
        threads.push(thread::spawn(move || Worker::run(worker)));
    }
}

/// A second job is handed out while the first job's thread finishes, parks, and (at any
/// point loom picks) runs out of idle time: the second job still runs, once, and `wait_idle`
/// returns only after it has.
fn every_job_runs(flaw: Option<CacheFlaw>) -> Model {
    Box::new(move || {
        let cache = cache(flaw);
        let total = Arc::new(AtomicU64::new(0));
        let mut threads = Vec::new();
        run_adding(&cache, &total, 1, &mut threads);
        let clock = {
            let cache = cache.clone();
            thread::spawn(move || cache.expire_idle())
        };
        run_adding(&cache, &total, 10, &mut threads);
        cache.wait_idle();
        assert_eq!(total.load(Ordering::SeqCst), 11, "a job did not run");
        clock.join().unwrap();
        cache.close();
        for thread in threads {
            thread.join().unwrap();
        }
    })
}

/// A closed cache's threads all leave, idle or busy, so joining them returns.
fn close_ends_every_thread(flaw: Option<CacheFlaw>) -> Model {
    Box::new(move || {
        let cache = cache(flaw);
        let total = Arc::new(AtomicU64::new(0));
        let mut threads = Vec::new();
        run_adding(&cache, &total, 1, &mut threads);
        cache.wait_idle();
        cache.close();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(total.load(Ordering::SeqCst), 1);
    })
}

#[test]
fn loom_thread_cache_every_job_runs() {
    check(every_job_runs(None));
}

#[test]
fn loom_thread_cache_every_job_runs_catches_leave_without_recheck() {
    assert_caught(
        "loom_thread_cache_every_job_runs_catches_leave_without_recheck",
        every_job_runs(Some(CacheFlaw::LeaveWithoutRecheck)),
    );
}

#[test]
fn loom_thread_cache_every_job_runs_catches_count_when_started() {
    assert_caught(
        "loom_thread_cache_every_job_runs_catches_count_when_started",
        every_job_runs(Some(CacheFlaw::CountWhenStarted)),
    );
}

#[test]
fn loom_thread_cache_close_ends_every_thread() {
    check(close_ends_every_thread(None));
}

#[test]
fn loom_thread_cache_close_ends_every_thread_catches_close_forgets_idle() {
    assert_caught(
        "loom_thread_cache_close_ends_every_thread_catches_close_forgets_idle",
        close_ends_every_thread(Some(CacheFlaw::CloseForgetsIdle)),
    );
}
