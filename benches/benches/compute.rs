//! Compute kernels on weft against the same algorithm compiled natively (and, with the
//! `wasmtime` feature, on wasmtime). Only timings are reported; `cargo run -p weft-benches
//! --bin ratios` turns them into weft/native ratios.

mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use weft::Engine;
use weft_benches::{
    FIB_GROUP, FLOAT_GROUP, MEMORY_GROUP, WeftFib, WeftHistogram, WeftMatmul, XorShift, fib,
    histogram, matmul,
};

const FIB_N: u32 = 25;
const HISTOGRAM_LEN: usize = 1 << 20;
const MATRIX_N: usize = 64;

#[cfg(feature = "wasmtime")]
fn wasmtime_engine() -> wasmtime::Engine {
    weft_benches::wasmtime::engine().expect("the host is a supported target")
}

fn fib_recursive(c: &mut Criterion) {
    let mut weft = WeftFib::new(&Engine::default()).expect("fib kernel instantiates");
    assert_eq!(
        weft.call(FIB_N).expect("fib runs"),
        fib(FIB_N),
        "weft and native disagree"
    );

    let mut group = c.benchmark_group(FIB_GROUP);
    group.bench_function("native", |b| b.iter(|| black_box(fib(black_box(FIB_N)))));
    group.bench_function("weft", |b| {
        b.iter(|| black_box(weft.call(black_box(FIB_N)).expect("fib runs")))
    });
    #[cfg(feature = "wasmtime")]
    {
        let mut wasmtime = weft_benches::wasmtime::WasmtimeFib::new(&wasmtime_engine())
            .expect("fib kernel instantiates on wasmtime");
        assert_eq!(wasmtime.call(FIB_N).expect("fib runs"), fib(FIB_N));
        group.bench_function("wasmtime", |b| {
            b.iter(|| black_box(wasmtime.call(black_box(FIB_N)).expect("fib runs")))
        });
    }
    group.finish();
}

fn memory_loop(c: &mut Criterion) {
    let data = XorShift::new(0x5eed).bytes(HISTOGRAM_LEN);
    let mut weft =
        WeftHistogram::new(&Engine::default(), &data).expect("histogram kernel instantiates");
    let mut counts = [0; 256];
    let expected = histogram(&data, &mut counts);
    assert_eq!(
        weft.run().expect("histogram runs"),
        expected,
        "weft and native disagree"
    );
    assert_eq!(
        weft.counts().expect("counts readable"),
        counts,
        "weft and native disagree"
    );

    let mut group = c.benchmark_group(MEMORY_GROUP);
    group.throughput(Throughput::Bytes(HISTOGRAM_LEN as u64));
    group.bench_function("native", |b| {
        b.iter(|| black_box(histogram(black_box(&data), black_box(&mut counts))))
    });
    group.bench_function("weft", |b| {
        b.iter(|| black_box(weft.run().expect("histogram runs")))
    });
    #[cfg(feature = "wasmtime")]
    {
        let mut wasmtime =
            weft_benches::wasmtime::WasmtimeHistogram::new(&wasmtime_engine(), &data)
                .expect("histogram kernel instantiates on wasmtime");
        assert_eq!(wasmtime.run().expect("histogram runs"), expected);
        group.bench_function("wasmtime", |b| {
            b.iter(|| black_box(wasmtime.run().expect("histogram runs")))
        });
    }
    group.finish();
}

fn float_kernel(c: &mut Criterion) {
    let mut rng = XorShift::new(0xf10a7);
    let (a, b) = (rng.f64s(MATRIX_N * MATRIX_N), rng.f64s(MATRIX_N * MATRIX_N));
    let mut weft =
        WeftMatmul::new(&Engine::default(), &a, &b, MATRIX_N).expect("matmul kernel instantiates");
    let mut product = vec![0.0; MATRIX_N * MATRIX_N];
    let expected = matmul(&a, &b, &mut product, MATRIX_N);
    assert_eq!(
        weft.run().expect("matmul runs").to_bits(),
        expected.to_bits(),
        "weft and native disagree"
    );

    let mut group = c.benchmark_group(FLOAT_GROUP);
    group.bench_function("native", |bencher| {
        bencher.iter(|| {
            black_box(matmul(
                black_box(&a),
                black_box(&b),
                black_box(&mut product),
                black_box(MATRIX_N),
            ))
        })
    });
    group.bench_function("weft", |bencher| {
        bencher.iter(|| black_box(weft.run().expect("matmul runs")))
    });
    #[cfg(feature = "wasmtime")]
    {
        let mut wasmtime =
            weft_benches::wasmtime::WasmtimeMatmul::new(&wasmtime_engine(), &a, &b, MATRIX_N)
                .expect("matmul kernel instantiates on wasmtime");
        let total = wasmtime.run().expect("matmul runs");
        assert_eq!(
            total.to_bits(),
            expected.to_bits(),
            "wasmtime and native disagree"
        );
        group.bench_function("wasmtime", |bencher| {
            bencher.iter(|| black_box(wasmtime.run().expect("matmul runs")))
        });
    }
    group.finish();
}

criterion_group! {
    name = compute;
    // Short settings: CI machines are small, and only the ratios matter.
    config = common::criterion_config();
    targets = fib_recursive, memory_loop, float_kernel
}
criterion_main!(compute);
