//! The two thread models on the same guest work (see `weft_benches::thread_models`), each
//! group with native Rust threads as the baseline:
//!
//! - spawn + join of one thread that bumps an atomic counter, with a small module and one
//!   with 10,000 functions and a 10,000-entry table;
//! - increments of a thread-local variable, on a started worker thread: a thread-local global
//!   (shared everything) against a `__tls_base` block in linear memory (instance per thread);
//! - a byte histogram of 8 MiB of shared memory split among 1, 2 and all available threads,
//!   started before the clock and released once per sample.
//!
//! - the same three on a real program, `programs/pthread_kernels.c` built for
//!   wasm32-wasip1-threads and run in both wasi-threads models, against the same C source
//!   built natively: pthread_create+join (small program and 10,000 more functions), and a
//!   parallel histogram whose every call starts and joins its threads.
//!
//! Memory per live thread is not a time: the `thread_memory` binary measures it.
//!
//! With the `wasmtime` feature, wasmtime's instance-per-thread model joins each group.

mod common;

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;
use weft::Engine;
use weft_benches::programs::{
    HISTOGRAM_SEED, MODELS, NativeProgram, PROGRAM_DATA_LEN, ProgramSize, WasiProgram, model_id,
    program_engine,
};
use weft_benches::thread_models::native::NativePool;
use weft_benches::thread_models::{
    self, GuestPool, Job, MAX_DATA_LEN, ModuleSize, NATIVE_ID, Side, ThreadArg, Workers,
    expected_histogram, parallel_thread_counts, thread_models_engine,
};
use weft_benches::timing::rounds;
use weft_benches::{
    MODEL_PARALLEL_GROUP, MODEL_SPAWN_LARGE_GROUP, MODEL_SPAWN_SMALL_GROUP, MODEL_TLS_GROUP,
    PROGRAM_PARALLEL_GROUP, PROGRAM_SPAWN_LARGE_GROUP, PROGRAM_SPAWN_SMALL_GROUP, XorShift,
};

/// The parallel histogram's input.
const DATA_SEED: u64 = 0x5eed;
const DATA_LEN: u32 = MAX_DATA_LEN;
/// Increments of the correctness check of the thread-local loop.
const CHECK_ROUNDS: u32 = 1000;

fn engine() -> Engine {
    thread_models_engine().expect("the host is a supported target")
}

fn sides(engine: &Engine, size: ModuleSize) -> Vec<Side> {
    thread_models::sides(engine, size).expect("the thread-models module instantiates")
}

fn spawn_join(c: &mut Criterion) {
    let engine = engine();
    for (group_name, size) in [
        (MODEL_SPAWN_SMALL_GROUP, ModuleSize::Small),
        (MODEL_SPAWN_LARGE_GROUP, ModuleSize::Large),
    ] {
        let mut group = c.benchmark_group(group_name);
        let counter = Arc::new(AtomicU32::new(0));
        group.bench_function(NATIVE_ID, |b| {
            b.iter(|| {
                let counter = counter.clone();
                let thread = std::thread::spawn(move || counter.fetch_add(1, Ordering::SeqCst));
                black_box(thread.join().expect("the thread runs"))
            })
        });
        for Side { id, mut guest, .. } in sides(&engine, size) {
            guest.reset().expect("resets");
            let thread = guest.spawn(ThreadArg::add()).expect("spawns");
            guest.join(thread).expect("the thread runs");
            assert_eq!(
                guest.added().expect("readable"),
                1,
                "{id}: one thread, one add"
            );
            group.bench_function(id, |b| {
                b.iter(|| {
                    let thread = guest.spawn(ThreadArg::add()).expect("below the limit");
                    guest.join(thread).expect("the thread runs");
                })
            });
        }
        group.finish();
    }
}

/// A pool job, and what one run of it with `rounds` must give (the native result).
struct Checked<'a> {
    job: Job,
    rounds: u32,
    expected: &'a dyn Fn(&[i64]) -> bool,
}

/// Times `checked.job` on `workers` as benchmark `side` (with `threads` as its parameter, if
/// any), once its results are checked. One iteration is one round of the job per worker; a
/// sample releases the workers once.
fn bench_workers(
    group: &mut BenchmarkGroup<'_, WallTime>,
    (side, threads): (&str, Option<u32>),
    workers: &mut dyn Workers,
    checked: &Checked,
) {
    let (id, label) = match threads {
        Some(threads) => (BenchmarkId::new(side, threads), format!("{side}/{threads}")),
        None => (BenchmarkId::from_parameter(side), side.to_string()),
    };
    let job = checked.job;
    workers.run(job, checked.rounds).expect("the job runs");
    let results = workers.results().expect("results readable");
    assert!(
        (checked.expected)(&results),
        "{label}: wrong results {results:?}"
    );
    group.bench_function(id, |b| {
        b.iter_custom(|iterations| {
            let start = Instant::now();
            workers.run(job, rounds(iterations)).expect("the job runs");
            start.elapsed()
        })
    });
}

fn thread_local_access(c: &mut Criterion) {
    let engine = engine();
    let mut group = c.benchmark_group(MODEL_TLS_GROUP);
    group.throughput(Throughput::Elements(1));
    let checked = Checked {
        job: Job::ThreadLocal,
        rounds: CHECK_ROUNDS,
        expected: &|results| results == [i64::from(CHECK_ROUNDS)],
    };
    let mut native = NativePool::start(1, Arc::from(Vec::new()));
    bench_workers(&mut group, (NATIVE_ID, None), &mut native, &checked);
    drop(native);
    for mut side in sides(&engine, ModuleSize::Small) {
        let mut pool = GuestPool::start(side.guest.as_mut(), 1).expect("the worker starts");
        bench_workers(
            &mut group,
            (side.thread_local_id, None),
            &mut pool,
            &checked,
        );
    }
    group.finish();
}

fn parallel_histogram(c: &mut Criterion) {
    let engine = engine();
    let data: Arc<[u8]> = XorShift::new(DATA_SEED).bytes(DATA_LEN as usize).into();
    let expected = expected_histogram(&data);
    let checked = Checked {
        job: Job::Histogram,
        rounds: 1,
        expected: &|results| results.iter().sum::<i64>() == expected,
    };
    let mut sides = sides(&engine, ModuleSize::Small);
    for side in &mut sides {
        side.guest
            .fill(DATA_SEED, DATA_LEN)
            .expect("the input fits");
    }
    let mut group = c.benchmark_group(MODEL_PARALLEL_GROUP);
    group
        .throughput(Throughput::Bytes(u64::from(DATA_LEN)))
        .sample_size(10);
    for threads in parallel_thread_counts() {
        let mut native = NativePool::start(threads, data.clone());
        bench_workers(
            &mut group,
            (NATIVE_ID, Some(threads)),
            &mut native,
            &checked,
        );
        drop(native);
        for side in &mut sides {
            let pool = GuestPool::start(side.guest.as_mut(), threads);
            let mut pool = pool.expect("the workers start");
            bench_workers(&mut group, (side.id, Some(threads)), &mut pool, &checked);
        }
    }
    group.finish();
}

/// The wasi-threads program (`programs/pthread_kernels.c`): pthread_create+join in a loop,
/// in the small build and the one with 10,000 more functions, natively and in each model.
/// One iteration is one create+join; a sample is one call of the program's `spawn_join`.
fn program_spawn_join(c: &mut Criterion) {
    let engine = program_engine().expect("the engine is configured");
    for (group_name, size) in [
        (PROGRAM_SPAWN_SMALL_GROUP, ProgramSize::Small),
        (PROGRAM_SPAWN_LARGE_GROUP, ProgramSize::Large),
    ] {
        let mut group = c.benchmark_group(group_name);
        NativeProgram::spawn_join(1).expect("the native program runs");
        group.bench_function(NATIVE_ID, |b| {
            b.iter_custom(|iterations| {
                NativeProgram::spawn_join(iterations).expect("the native program runs")
            })
        });
        for model in MODELS {
            let mut program = WasiProgram::new(&engine, model, size).expect("instantiates");
            program
                .spawn_join(1)
                .expect("a thread starts and is joined");
            group.bench_function(model_id(model), |b| {
                b.iter_custom(|iterations| {
                    let count = i32::try_from(iterations).expect("criterion's counts are small");
                    let start = Instant::now();
                    program
                        .spawn_join(count)
                        .expect("threads start and are joined");
                    start.elapsed()
                })
            });
        }
        group.finish();
    }
}

/// The program's histogram of 8 MiB with 1, 2 and every available thread, each call starting
/// and joining its threads: one iteration is one histogram.
fn program_histogram(c: &mut Criterion) {
    let engine = program_engine().expect("the engine is configured");
    let mut programs: Vec<_> = MODELS
        .into_iter()
        .map(|model| {
            let mut program =
                WasiProgram::new(&engine, model, ProgramSize::Small).expect("instantiates");
            program.fill(HISTOGRAM_SEED).expect("fills");
            (model_id(model), program)
        })
        .collect();
    let mut group = c.benchmark_group(PROGRAM_PARALLEL_GROUP);
    group
        .throughput(Throughput::Bytes(PROGRAM_DATA_LEN))
        .sample_size(10);
    for threads in parallel_thread_counts() {
        let (_, expected) = NativeProgram::histogram(threads, 1).expect("the native program runs");
        group.bench_function(BenchmarkId::new(NATIVE_ID, threads), |b| {
            b.iter_custom(|iterations| {
                let (elapsed, checksum) =
                    NativeProgram::histogram(threads, iterations).expect("the native program runs");
                assert_eq!(checksum, expected);
                elapsed
            })
        });
        let threads_arg = i32::try_from(threads).expect("a few threads");
        for (id, program) in &mut programs {
            let checksum = program.histogram(threads_arg).expect("the threads run");
            assert_eq!(checksum, expected, "{id}/{threads}: the native checksum");
            group.bench_function(BenchmarkId::new(*id, threads), |b| {
                b.iter_custom(|iterations| {
                    let start = Instant::now();
                    for _ in 0..iterations {
                        black_box(program.histogram(threads_arg).expect("the threads run"));
                    }
                    start.elapsed()
                })
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion_config();
    targets = spawn_join, thread_local_access, parallel_histogram, program_spawn_join,
        program_histogram
}
criterion_main!(benches);
