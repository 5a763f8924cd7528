//! Host-thread integration: how fast a terminator stops blocked guest threads (against native
//! threads blocked on a condition variable), what a lock/unlock costs guest code for the host
//! semaphore, the host mutex and a futex lock written in wasm (against `parking_lot::Mutex`),
//! uncontended and with two host threads attached to one instance, and what attaching and
//! detaching add to a call (against a call on a thread that is already attached).
//!
//! Only the measured operation is timed: blocked threads are spawned, and worker threads
//! started and attached, before the clock starts.

mod common;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weft::{SharedInstance, SharedTypedFunc};
use weft_benches::host::{
    LockKind, LockWorker, NativeBlocked, WeftBlocked, WeftLocks, shared_everything_engine,
};
use weft_benches::timing::{rounds, timed_on_threads};
use weft_benches::{
    ATTACH_CALL_DETACH_ID, ATTACH_GROUP, CALL_ATTACHED_ID, LOCK_CONTENDED_GROUP,
    LOCK_UNCONTENDED_GROUP, PARKING_LOT_ID, TERMINATE_1_GROUP, TERMINATE_64_GROUP,
};

/// How long the blocked threads get, once the last has announced itself, to fall asleep
/// before the clock starts; the same on both sides, and not timed.
const SETTLE: Duration = Duration::from_micros(500);

/// Lets the threads that were just blocked fall asleep, then times `stop`.
fn settle_then_time(stop: impl FnOnce()) -> Duration {
    std::thread::sleep(SETTLE);
    let start = Instant::now();
    stop();
    start.elapsed()
}

fn terminate_join(c: &mut Criterion) {
    let engine = shared_everything_engine().expect("the host is a supported target");
    let mut blocked = WeftBlocked::new(&engine).expect("the kernel compiles");
    for (group_name, count) in [(TERMINATE_1_GROUP, 1), (TERMINATE_64_GROUP, 64)] {
        let mut group = c.benchmark_group(group_name);
        // Every iteration also spawns `count` threads and sleeps, untimed (criterion budgets
        // the wall time of `iter_custom`, so that is what the budget buys): flat sampling,
        // as criterion advises for long iterations, and 10 samples of equal size.
        group
            .sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_millis(100))
            .measurement_time(Duration::from_secs(1));
        group.bench_function("native", |b| {
            b.iter_custom(|iterations| {
                (0..iterations)
                    .map(|_| {
                        let threads = NativeBlocked::block(count);
                        settle_then_time(|| threads.stop_and_join())
                    })
                    .sum()
            })
        });
        group.bench_function("weft", |b| {
            b.iter_custom(|iterations| {
                (0..iterations)
                    .map(|_| {
                        blocked.block(count).expect("below the thread limit");
                        settle_then_time(|| {
                            blocked
                                .terminate_and_join()
                                .expect("termination is not a trap")
                        })
                    })
                    .sum()
            })
        });
        group.finish();
    }
}

/// The native twin of the lock kernels: lock, bump a plain counter, unlock, `rounds` times.
fn parking_lot_loop(lock: &Mutex<u32>, rounds: u64) {
    for _ in 0..rounds {
        let mut counter = lock.lock();
        *counter = counter.wrapping_add(1);
    }
}

fn lock_unlock(c: &mut Criterion) {
    let engine = shared_everything_engine().expect("the host is a supported target");
    let locks = WeftLocks::new(&engine).expect("the kernel compiles and links");
    for (group_name, thread_count) in [(LOCK_UNCONTENDED_GROUP, 1), (LOCK_CONTENDED_GROUP, 2)] {
        let mut group = c.benchmark_group(group_name);
        // Elements are lock/unlock pairs per thread, as for the atomic RMW groups.
        group.throughput(Throughput::Elements(1));
        group.bench_function(PARKING_LOT_ID, |b| {
            b.iter_custom(|iterations| {
                let lock = Arc::new(Mutex::new(0));
                timed_on_threads(
                    vec![lock; thread_count],
                    iterations,
                    |lock| lock,
                    |lock, n| parking_lot_loop(lock, n),
                )
            })
        });
        for kind in LockKind::ALL {
            group.bench_function(kind.id(), |b| {
                b.iter_custom(|iterations| {
                    timed_on_threads(
                        vec![(locks.shared().clone(), kind); thread_count],
                        iterations,
                        |(shared, kind)| LockWorker::attach(&shared, kind).expect("attaches"),
                        |worker, n| worker.run(rounds(n)).expect("the loop runs"),
                    )
                })
            });
        }
        group.finish();
    }
}

fn nothing(shared: &SharedInstance) -> SharedTypedFunc<(), ()> {
    shared
        .get_typed_func("nothing")
        .expect("exported and shared")
}

fn attach_call_detach(c: &mut Criterion) {
    let engine = shared_everything_engine().expect("the host is a supported target");
    let locks = WeftLocks::new(&engine).expect("the kernel compiles and links");
    // Both run on a host thread of their own, not the store's.
    let mut group = c.benchmark_group(ATTACH_GROUP);
    group.bench_function(CALL_ATTACHED_ID, |b| {
        b.iter_custom(|iterations| {
            timed_on_threads(
                vec![locks.shared().clone()],
                iterations,
                |shared| (shared.attach().expect("attaches"), nothing(&shared)),
                |(thread, nothing), n| {
                    for _ in 0..n {
                        nothing.call(thread, ()).expect("calls");
                    }
                },
            )
        })
    });
    group.bench_function(ATTACH_CALL_DETACH_ID, |b| {
        b.iter_custom(|iterations| {
            timed_on_threads(
                vec![locks.shared().clone()],
                iterations,
                |shared| {
                    let nothing = nothing(&shared);
                    (shared, nothing)
                },
                |(shared, nothing), n| {
                    for _ in 0..n {
                        let thread = shared.attach().expect("attaches");
                        nothing.call(&thread, ()).expect("calls");
                        drop(thread);
                    }
                },
            )
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion_config();
    targets = terminate_join, lock_unlock, attach_call_detach
}
criterion_main!(benches);
