//! Thread-model benchmarks: wait/notify round trips and atomic read-modify-write throughput,
//! guest threads (one store each, sharing a memory) against native Rust threads doing the
//! same protocol. Thread start-up and instantiation are not timed (see `timed_on_threads`).

mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use weft::Engine;
use weft_benches::timing::{rounds, timed_on_threads};
use weft_benches::{
    NativePingPong, PING_PONG_GROUP, RMW_1_GROUP, RMW_2_GROUP, WeftThreads, native_add,
};

fn ping_pong(c: &mut Criterion) {
    let threads = WeftThreads::new(&Engine::default()).expect("thread kernels compile");
    let mut group = c.benchmark_group(PING_PONG_GROUP);
    group.throughput(Throughput::Elements(1));
    group.bench_function("native", |b| {
        b.iter_custom(|iterations| {
            let pair = Arc::new(NativePingPong::default());
            timed_on_threads(
                vec![(pair.clone(), true), (pair, false)],
                iterations,
                |(pair, pings)| {
                    pair.register(pings);
                    (pair, pings)
                },
                |(pair, pings), n| {
                    if *pings {
                        pair.ping(rounds(n))
                    } else {
                        pair.pong(rounds(n))
                    }
                },
            )
        })
    });
    group.bench_function("weft", |b| {
        b.iter_custom(|iterations| {
            let sides = vec![
                (threads.thread().expect("instantiates"), true),
                (threads.thread().expect("instantiates"), false),
            ];
            timed_on_threads(
                sides,
                iterations,
                |side| side,
                |(thread, pings), n| {
                    let result = if *pings {
                        thread.ping(rounds(n))
                    } else {
                        thread.pong(rounds(n))
                    };
                    result.expect("ping-pong runs");
                },
            )
        })
    });
    group.finish();
}

fn atomic_rmw(c: &mut Criterion) {
    let threads = WeftThreads::new(&Engine::default()).expect("thread kernels compile");
    for (group_name, thread_count) in [(RMW_1_GROUP, 1), (RMW_2_GROUP, 2)] {
        let mut group = c.benchmark_group(group_name);
        // Elements are increments per thread, so ratios compare equal work per thread.
        group.throughput(Throughput::Elements(1));
        group.bench_function("native", |b| {
            b.iter_custom(|iterations| {
                let counter = Arc::new(AtomicU32::new(0));
                let states = vec![counter; thread_count];
                timed_on_threads(
                    states,
                    iterations,
                    |counter| counter,
                    |counter, n| native_add(counter, rounds(n)),
                )
            })
        });
        group.bench_function("weft", |b| {
            b.iter_custom(|iterations| {
                let states = (0..thread_count)
                    .map(|_| threads.thread().expect("instantiates"))
                    .collect();
                timed_on_threads(
                    states,
                    iterations,
                    |thread| thread,
                    |thread, n| thread.add(rounds(n)).expect("increments run"),
                )
            })
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = common::criterion_config();
    targets = ping_pong, atomic_rmw
}
criterion_main!(benches);
