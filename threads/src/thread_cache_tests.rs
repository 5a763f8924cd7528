//! The thread cache on real threads: jobs reuse finished threads, idle threads leave after
//! their timeout or when the cache closes, and each job gets a fresh waiter.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::{ThreadCache, Waiter};

/// Runs `job` on the cache, starting a thread for it if none is idle; the handles of started
/// threads go to `threads`.
fn run(
    cache: &Arc<ThreadCache>,
    threads: &mut Vec<thread::JoinHandle<()>>,
    job: impl FnOnce() + Send + 'static,
) {
    if let Some(worker) = ThreadCache::run(cache, Box::new(job)) {
        threads.push(thread::spawn(move || worker.run()));
    }
}

#[test]
fn sequential_jobs_reuse_one_thread() {
    let cache = Arc::new(ThreadCache::new(4, Duration::from_secs(60)));
    let mut threads = Vec::new();
    let ids = Arc::new(Mutex::new(Vec::new()));
    for _ in 0..20 {
        let ids = ids.clone();
        run(&cache, &mut threads, move || {
            ids.lock().unwrap().push(thread::current().id())
        });
        cache.wait_idle();
        // The finished thread parks right after counting its job done.
        while cache.idle() == 0 {
            thread::yield_now();
        }
    }
    assert_eq!(threads.len(), 1, "one thread served every job");
    let ids = ids.lock().unwrap();
    assert!(ids.iter().all(|id| *id == ids[0]));
    cache.close();
    for thread in threads {
        thread.join().unwrap();
    }
}

#[test]
fn concurrent_jobs_get_threads_of_their_own() {
    let cache = Arc::new(ThreadCache::new(4, Duration::from_secs(60)));
    let mut threads = Vec::new();
    let started = Arc::new(AtomicUsize::new(0));
    for _ in 0..3 {
        let started = started.clone();
        // Each job waits until all three run at once: they cannot share a thread.
        run(&cache, &mut threads, move || {
            started.fetch_add(1, Ordering::SeqCst);
            while started.load(Ordering::SeqCst) < 3 {
                thread::yield_now();
            }
        });
    }
    cache.wait_idle();
    assert_eq!(threads.len(), 3);
    cache.close();
    for thread in threads {
        thread.join().unwrap();
    }
}

#[test]
fn idle_threads_leave_after_their_timeout_or_beyond_the_idle_limit() {
    let cache = Arc::new(ThreadCache::new(1, Duration::from_millis(20)));
    let mut threads = Vec::new();
    let release = Arc::new(AtomicUsize::new(0));
    for _ in 0..2 {
        let release = release.clone();
        run(&cache, &mut threads, move || {
            while release.load(Ordering::SeqCst) == 0 {
                thread::yield_now();
            }
        });
    }
    release.store(1, Ordering::SeqCst);
    // One of the two finished threads stays idle (the limit is 1), and leaves 20 ms later.
    let started = Instant::now();
    for thread in threads {
        thread.join().unwrap();
    }
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(cache.idle(), 0);
}

#[test]
fn each_job_starts_with_a_fresh_waiter() {
    let cache = Arc::new(ThreadCache::new(1, Duration::from_secs(60)));
    let mut threads = Vec::new();
    let first: Arc<Mutex<Option<Waiter>>> = Arc::default();
    {
        let first = first.clone();
        run(&cache, &mut threads, move || {
            *first.lock().unwrap() = Some(Waiter::current())
        });
    }
    cache.wait_idle();
    while cache.idle() == 0 {
        thread::yield_now();
    }
    // An interrupt meant for the first job arrives late.
    first.lock().unwrap().as_ref().unwrap().interrupt();
    let interrupted = Arc::new(Mutex::new(None));
    {
        let interrupted = interrupted.clone();
        run(&cache, &mut threads, move || {
            *interrupted.lock().unwrap() = Some(Waiter::current().is_interrupted())
        });
    }
    cache.wait_idle();
    assert_eq!(threads.len(), 1, "the second job reused the thread");
    assert_eq!(*interrupted.lock().unwrap(), Some(false));
    cache.close();
    for thread in threads {
        thread.join().unwrap();
    }
}
