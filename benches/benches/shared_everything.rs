//! Shared-everything threads: the cost of starting a guest thread, against starting a native
//! thread, for a small module and one with 10,000 functions and a 10,000-entry table (a new
//! thread gets a block, not an instance, so the two should cost the same); and thread-local
//! global access against a plain global.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use weft::{Config, Engine, Func, Instance, Module, Store, Val, WasmFeatures};
use weft_benches::{SPAWN_LARGE_GROUP, SPAWN_SMALL_GROUP, TLS_GROUP};

fn engine() -> Engine {
    let mut config = Config::new();
    config.wasm_features(WasmFeatures::default() | WasmFeatures::SHARED_EVERYTHING_THREADS);
    Engine::new(&config).expect("the host is a supported target")
}

/// A module whose exported `entry` does nothing, with `extra` more shared functions, all in a
/// shared table of that size.
fn spawn_module(extra: usize) -> String {
    let mut wat = String::from(
        "(module (type $entry (shared (func (param i32))))\n\
         (func (export \"entry\") (type $entry))\n",
    );
    for _ in 0..extra {
        wat += "(func (type $entry) (drop (i32.add (local.get 0) (i32.const 1))))\n";
    }
    if extra > 0 {
        wat += &format!("(table shared {extra} {extra} (ref null $entry))\n");
        wat += "(elem (table 0) (i32.const 0) (ref null $entry)";
        for index in 1..=extra {
            wat += &format!(" (ref.func {index})");
        }
        wat += ")\n";
    }
    wat + ")"
}

fn spawn_join(c: &mut Criterion, group_name: &str, extra: usize) {
    let engine = engine();
    let module = Module::new(&engine, spawn_module(extra)).expect("the module compiles");
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
    let entry = instance.get_func(&mut store, "entry").expect("exported");
    let mut group = c.benchmark_group(group_name);
    group.bench_function("native", |b| {
        b.iter(|| std::thread::spawn(|| black_box(1)).join().unwrap())
    });
    group.bench_function("weft", |b| {
        b.iter(|| {
            let id = store.spawn(&entry, 1).expect("below the limit");
            black_box(store.join_thread(id));
        })
    });
    group.finish();
}

fn spawn_small(c: &mut Criterion) {
    spawn_join(c, SPAWN_SMALL_GROUP, 0);
}

fn spawn_large(c: &mut Criterion) {
    spawn_join(c, SPAWN_LARGE_GROUP, 10_000);
}

/// `run(n)` reads and writes global 0 `n` times; in `thread_local` it is listed in the
/// `thread-locals` section.
fn global_loop(thread_local: bool) -> String {
    let section = if thread_local {
        r#"(@custom "thread-locals" "\01\00")"#
    } else {
        ""
    };
    format!(
        r#"(module
             (global $g (shared mut i32) (i32.const 0))
             (func (export "run") (param $n i32) (result i32)
               (loop $l
                 (global.set $g (i32.add (global.get $g) (i32.const 1)))
                 (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
               (global.get $g))
             {section})"#
    )
}

fn loop_func(engine: &Engine, store: &mut Store<()>, thread_local: bool) -> Func {
    let module = Module::new(engine, global_loop(thread_local)).expect("the module compiles");
    let instance = Instance::new(&mut *store, &module, &[]).expect("instantiates");
    instance.get_func(&mut *store, "run").expect("exported")
}

fn thread_local_global(c: &mut Criterion) {
    const ITERATIONS: i32 = 10_000;
    let engine = engine();
    let mut store = Store::new(&engine, ());
    let plain = loop_func(&engine, &mut store, false);
    let local = loop_func(&engine, &mut store, true);
    let mut group = c.benchmark_group(TLS_GROUP);
    for (id, func) in [("plain", plain), ("weft", local)] {
        group.bench_function(id, |b| {
            let mut results = [Val::I32(0)];
            b.iter(|| {
                func.call(&mut store, &[Val::I32(ITERATIONS)], &mut results)
                    .unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, spawn_small, spawn_large, thread_local_global);
criterion_main!(benches);
