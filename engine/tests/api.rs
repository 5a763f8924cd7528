//! End-to-end tests of the embedding API: compile, link, call, trap, recover.

use weft::*;

fn instantiate(wat: &str) -> (Store<()>, Instance) {
    let engine = Engine::default();
    let module = Module::new(&engine, wat).expect("module compiles");
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
    (store, instance)
}

#[test]
fn typed_call_returns_results() {
    let (mut store, instance) = instantiate(
        r#"(module (func (export "add") (param i32 i32) (result i32)
              local.get 0 local.get 1 i32.add))"#,
    );
    let add = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "add")
        .unwrap();
    assert_eq!(add.call(&mut store, (2, 40)).unwrap(), 42);
}

#[test]
fn recursion_and_multi_value() {
    let (mut store, instance) = instantiate(
        r#"(module
             (func $fib (export "fib") (param i32) (result i32)
               (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
                 (then (local.get 0))
                 (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                                (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
             (func (export "swap") (param i64 f64) (result f64 i64)
               local.get 1 local.get 0))"#,
    );
    let fib = instance
        .get_typed_func::<i32, i32>(&mut store, "fib")
        .unwrap();
    assert_eq!(fib.call(&mut store, 20).unwrap(), 6765);
    let swap = instance
        .get_typed_func::<(i64, f64), (f64, i64)>(&mut store, "swap")
        .unwrap();
    assert_eq!(swap.call(&mut store, (7, 1.5)).unwrap(), (1.5, 7));
}

#[test]
fn traps_are_typed_and_the_store_stays_usable() {
    let (mut store, instance) = instantiate(
        r#"(module (memory 1)
             (func (export "load") (param i32) (result i32) local.get 0 i32.load)
             (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
             (func (export "boom") unreachable)
             (func $rec (export "rec") call $rec))"#,
    );
    let load = instance
        .get_typed_func::<i32, i32>(&mut store, "load")
        .unwrap();
    let div = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "div")
        .unwrap();
    let boom = instance
        .get_typed_func::<(), ()>(&mut store, "boom")
        .unwrap();
    let rec = instance
        .get_typed_func::<(), ()>(&mut store, "rec")
        .unwrap();
    for _ in 0..3 {
        assert_eq!(
            load.call(&mut store, 65536).unwrap_err().trap(),
            Some(Trap::MemoryOutOfBounds)
        );
        assert_eq!(
            div.call(&mut store, (1, 0)).unwrap_err().trap(),
            Some(Trap::IntegerDivisionByZero)
        );
        assert_eq!(
            div.call(&mut store, (i32::MIN, -1)).unwrap_err().trap(),
            Some(Trap::IntegerOverflow)
        );
        assert_eq!(
            boom.call(&mut store, ()).unwrap_err().trap(),
            Some(Trap::Unreachable)
        );
        assert_eq!(
            rec.call(&mut store, ()).unwrap_err().trap(),
            Some(Trap::StackOverflow)
        );
        assert_eq!(load.call(&mut store, 0).unwrap(), 0);
    }
}

#[test]
fn host_functions_see_the_store_and_can_fail() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "add" (func $add (param i32) (result i32)))
             (import "host" "fail" (func $fail))
             (func (export "run") (param i32) (result i32) local.get 0 call $add)
             (func (export "fail") call $fail))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, 100_i32);
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("host", "add", |caller: Caller<'_, i32>, x: i32| {
            x + *caller.data()
        })
        .unwrap()
        .func_wrap("host", "fail", || -> Result<(), Error> {
            Err(Error::msg("nope"))
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, 5).unwrap(), 105);
    *store.data_mut() = 1;
    assert_eq!(run.call(&mut store, 5).unwrap(), 6);
    let fail = instance
        .get_typed_func::<(), ()>(&mut store, "fail")
        .unwrap();
    let error = fail.call(&mut store, ()).unwrap_err();
    assert_eq!(error.to_string(), "nope");
    assert_eq!(run.call(&mut store, 1).unwrap(), 2);
}

#[test]
fn host_reads_and_writes_memory_by_copy() {
    let (mut store, instance) = instantiate(
        r#"(module (memory (export "memory") 1 3)
             (func (export "sum") (param i32 i32) (result i32)
               (local $acc i32)
               (block $done (loop $next
                 (br_if $done (i32.eqz (local.get 1)))
                 (local.set $acc (i32.add (local.get $acc) (i32.load8_u (local.get 0))))
                 (local.set 0 (i32.add (local.get 0) (i32.const 1)))
                 (local.set 1 (i32.sub (local.get 1) (i32.const 1)))
                 (br $next)))
               local.get $acc))"#,
    );
    let memory = instance.get_memory(&mut store, "memory").unwrap();
    memory.write(&mut store, 100, &[1, 2, 3, 4]).unwrap();
    let sum = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "sum")
        .unwrap();
    assert_eq!(sum.call(&mut store, (100, 4)).unwrap(), 10);
    let mut buffer = [0; 4];
    memory.read(&store, 100, &mut buffer).unwrap();
    assert_eq!(buffer, [1, 2, 3, 4]);
    assert!(memory.read(&store, 65535, &mut buffer).is_err());
    assert_eq!(memory.grow(&mut store, 2).unwrap(), 1);
    assert!(memory.grow(&mut store, 1).is_err());
    assert_eq!(memory.size(&store), 3);
    memory.write(&mut store, 3 * 65536 - 4, &[9; 4]).unwrap();
}

#[test]
fn globals_respect_mutability_and_types() {
    let (mut store, instance) = instantiate(
        r#"(module (global (export "counter") (mut i64) (i64.const 5))
             (global (export "fixed") f32 (f32.const 1.5))
             (func (export "bump") (global.set 0 (i64.add (global.get 0) (i64.const 1)))))"#,
    );
    let counter = instance.get_global(&mut store, "counter").unwrap();
    let fixed = instance.get_global(&mut store, "fixed").unwrap();
    let bump = instance
        .get_typed_func::<(), ()>(&mut store, "bump")
        .unwrap();
    bump.call(&mut store, ()).unwrap();
    assert_eq!(counter.get(&mut store).i64(), Some(6));
    counter.set(&mut store, Val::I64(41)).unwrap();
    bump.call(&mut store, ()).unwrap();
    assert_eq!(counter.get(&mut store).i64(), Some(42));
    assert_eq!(fixed.get(&mut store).f32(), Some(1.5));
    assert!(matches!(
        fixed.set(&mut store, Val::from(2.0_f32)),
        Err(Error::Usage(UsageError::ImmutableGlobal))
    ));
    assert!(matches!(
        counter.set(&mut store, Val::I32(1)),
        Err(Error::Usage(UsageError::ArgumentType { .. }))
    ));
}

#[test]
fn instances_link_through_exports_and_tables() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let provider = Module::new(
        &engine,
        r#"(module (memory (export "mem") 1)
             (table (export "table") 2 funcref)
             (func $seven (result i32) i32.const 7)
             (elem (i32.const 1) $seven)
             (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store))"#,
    )
    .unwrap();
    let consumer = Module::new(
        &engine,
        r#"(module (import "p" "mem" (memory 1))
             (import "p" "table" (table 1 funcref))
             (import "p" "store" (func $store (param i32 i32)))
             (type $ret_i32 (func (result i32)))
             (func (export "run") (result i32)
               (call $store (i32.const 8) (call_indirect (type $ret_i32) (i32.const 1)))
               (i32.load (i32.const 8)))
             (func (export "null") (result i32) (call_indirect (type $ret_i32) (i32.const 0))))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    let provider = linker.instantiate(&mut store, &provider).unwrap();
    linker.instance(&mut store, "p", provider).unwrap();
    let consumer = linker.instantiate(&mut store, &consumer).unwrap();
    let run = consumer
        .get_typed_func::<(), i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), 7);
    let null = consumer
        .get_typed_func::<(), i32>(&mut store, "null")
        .unwrap();
    assert_eq!(
        null.call(&mut store, ()).unwrap_err().trap(),
        Some(Trap::UninitializedElement)
    );
    let table = provider.get_table(&mut store, "table").unwrap();
    let Some(Val::FuncRef(Some(seven))) = table.get(&mut store, 1) else {
        panic!("table slot 1 holds $seven");
    };
    let mut results = [Val::I32(0)];
    seven.call(&mut store, &[], &mut results).unwrap();
    assert_eq!(results[0].i32(), Some(7));
}

#[test]
fn misuse_gets_typed_errors() {
    let (mut store, instance) =
        instantiate(r#"(module (func (export "id") (param i32) (result i32) local.get 0))"#);
    assert!(matches!(
        instance.get_typed_func::<i32, i32>(&mut store, "missing"),
        Err(Error::Usage(UsageError::UnknownExport { .. }))
    ));
    assert!(matches!(
        instance.get_typed_func::<i64, i32>(&mut store, "id"),
        Err(Error::Usage(UsageError::FuncType { .. }))
    ));
    let id = instance.get_func(&mut store, "id").unwrap();
    let mut results = [Val::I32(0)];
    assert!(matches!(
        id.call(&mut store, &[], &mut results),
        Err(Error::Usage(UsageError::ArgumentCount {
            expected: 1,
            given: 0
        }))
    ));
    assert!(matches!(
        id.call(&mut store, &[Val::F64(0)], &mut results),
        Err(Error::Usage(UsageError::ArgumentType { index: 0, .. }))
    ));
    let mut other_store = Store::new(store.engine(), ());
    assert!(matches!(
        id.call(&mut other_store, &[Val::I32(1)], &mut results),
        Err(Error::Usage(UsageError::WrongStore))
    ));
    let engine = Engine::default();
    assert!(matches!(
        Module::new(&engine, "(module (func (result i32)))"),
        Err(Error::Compile(CompileError::Invalid { .. }))
    ));
    assert!(matches!(
        Module::new(&engine, "(module (func"),
        Err(Error::Compile(CompileError::Text { .. }))
    ));
    assert!(matches!(
        Module::new(
            &engine,
            "(module (func (param i64 i64 i64 i64) (result i64 i64)
               local.get 0 local.get 1 local.get 2 local.get 3 i64.add128))"
        ),
        Err(Error::Compile(CompileError::Unsupported { .. }))
    ));
    let needs_import = Module::new(&engine, r#"(module (import "a" "b" (func)))"#).unwrap();
    let linker = Linker::<()>::new(&engine);
    let mut store = Store::new(&engine, ());
    assert!(matches!(
        linker.instantiate(&mut store, &needs_import),
        Err(Error::Link(LinkError::UnknownImport { .. }))
    ));
}

#[test]
fn externrefs_round_trip_through_wasm() {
    let (mut store, instance) = instantiate(
        r#"(module (table $t 1 externref)
             (func (export "keep") (param externref) (table.set $t (i32.const 0) (local.get 0)))
             (func (export "get") (result externref) (table.get $t (i32.const 0))))"#,
    );
    let value = ExternRef::new(&mut store, String::from("hello"));
    let keep = instance.get_func(&mut store, "keep").unwrap();
    keep.call(&mut store, &[Val::ExternRef(Some(value))], &mut [])
        .unwrap();
    let get = instance.get_func(&mut store, "get").unwrap();
    let mut results = [Val::ExternRef(None)];
    get.call(&mut store, &[], &mut results).unwrap();
    let Val::ExternRef(Some(back)) = &results[0] else {
        panic!("expected a non-null externref");
    };
    assert_eq!(
        back.data(&store)
            .unwrap()
            .unwrap()
            .downcast_ref::<String>()
            .unwrap(),
        "hello"
    );
}

#[test]
fn failed_start_function_leaves_the_engine_usable() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let module = Module::new(
        &engine,
        r#"(module (memory (export "m") 1)
             (data (i32.const 0) "\01")
             (func $start (i32.store (i32.const 70000) (i32.const 1)))
             (start $start))"#,
    )
    .unwrap();
    let error = Instance::new(&mut store, &module, &[]).unwrap_err();
    assert_eq!(error.trap(), Some(Trap::MemoryOutOfBounds));
    let (mut store, instance) =
        instantiate(r#"(module (func (export "f") (result i32) i32.const 3))"#);
    let f = instance.get_typed_func::<(), i32>(&mut store, "f").unwrap();
    assert_eq!(f.call(&mut store, ()).unwrap(), 3);
}

#[test]
fn explicit_bounds_checks_trap_like_guard_pages() {
    let mut config = Config::new();
    config.bounds_checks(BoundsChecks::Explicit);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(
        &engine,
        r#"(module (memory 1 2)
             (func (export "load") (param i32) (result i64) (i64.load offset=4 (local.get 0)))
             (func (export "grow") (result i32) (memory.grow (i32.const 1))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let load = instance
        .get_typed_func::<i32, i64>(&mut store, "load")
        .unwrap();
    let grow = instance
        .get_typed_func::<(), i32>(&mut store, "grow")
        .unwrap();
    assert_eq!(load.call(&mut store, 65536 - 12).unwrap(), 0);
    assert_eq!(
        load.call(&mut store, 65536 - 11).unwrap_err().trap(),
        Some(Trap::MemoryOutOfBounds)
    );
    assert_eq!(grow.call(&mut store, ()).unwrap(), 1);
    assert_eq!(load.call(&mut store, 65536 - 11).unwrap(), 0);
    assert_eq!(
        load.call(&mut store, -1).unwrap_err().trap(),
        Some(Trap::MemoryOutOfBounds)
    );
}

#[test]
fn dynamic_host_functions_check_result_types() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let good = Func::new(
        &mut store,
        FuncType::new([ValType::I32], [ValType::I32]),
        |_caller, params, results| {
            results[0] = Val::I32(params[0].i32().unwrap() * 2);
            Ok(())
        },
    )
    .unwrap();
    let bad = Func::new(
        &mut store,
        FuncType::new([], [ValType::I32]),
        |_caller, _params, results| {
            results[0] = Val::I64(1);
            Ok(())
        },
    )
    .unwrap();
    let doubled = good.typed::<i32, i32>(&store).unwrap();
    assert_eq!(doubled.call(&mut store, 21).unwrap(), 42);
    let mut results = [Val::I32(0)];
    assert!(matches!(
        bad.call(&mut store, &[], &mut results),
        Err(Error::Usage(UsageError::ResultType { .. }))
    ));
}

#[test]
fn host_panics_propagate_after_unwinding_wasm_frames() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "h" "panic" (func $p)) (func (export "run") call $p))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("h", "panic", || -> () { panic!("host panic") })
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<(), ()>(&mut store, "run")
        .unwrap();
    let outcome =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run.call(&mut store, ())));
    assert!(outcome.is_err());
    let (mut store, instance) =
        instantiate(r#"(module (func (export "f") (result i32) i32.const 3))"#);
    let f = instance.get_typed_func::<(), i32>(&mut store, "f").unwrap();
    assert_eq!(f.call(&mut store, ()).unwrap(), 3);
}

#[test]
fn handles_cross_threads_where_they_may() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Engine>();
    send_sync::<Module>();
    send_sync::<Func>();
    send_sync::<Memory>();
    send::<Store<Vec<u8>>>();
    send::<Linker<()>>();

    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (func (export "f") (result i32) i32.const 9))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let f = instance.get_typed_func::<(), i32>(&mut store, "f").unwrap();
    let result = std::thread::spawn(move || f.call(&mut store, ()).unwrap())
        .join()
        .unwrap();
    assert_eq!(result, 9);
}

#[test]
fn stores_on_many_threads_share_one_engine() {
    // Host trampolines are compiled once per engine and shared by every store; modules are
    // compiled and dropped concurrently, so code ranges are registered and freed while other
    // threads trap.
    let engine = Engine::default();
    let threads: Vec<_> = (0..4)
        .map(|thread| {
            let engine = engine.clone();
            std::thread::spawn(move || {
                for round in 0..25 {
                    let module = Module::new(
                        &engine,
                        r#"(module (import "h" "f" (func $f (param i32) (result i32)))
                             (memory 1)
                             (func (export "run") (param i32) (result i32) (call $f (local.get 0)))
                             (func (export "oob") (result i32) (i32.load (i32.const 65536))))"#,
                    )
                    .unwrap();
                    let mut store = Store::new(&engine, thread);
                    let mut linker = Linker::new(&engine);
                    linker
                        .func_wrap("h", "f", |caller: Caller<'_, i32>, x: i32| {
                            x + *caller.data()
                        })
                        .unwrap();
                    let instance = linker.instantiate(&mut store, &module).unwrap();
                    let run = instance
                        .get_typed_func::<i32, i32>(&mut store, "run")
                        .unwrap();
                    assert_eq!(run.call(&mut store, round).unwrap(), round + thread);
                    let oob = instance
                        .get_typed_func::<(), i32>(&mut store, "oob")
                        .unwrap();
                    assert_eq!(
                        oob.call(&mut store, ()).unwrap_err().trap(),
                        Some(Trap::MemoryOutOfBounds)
                    );
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}

#[test]
fn host_functions_can_reenter_wasm() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "h" "twice" (func $twice (param i32) (result i32)))
             (import "h" "bounce" (func $bounce (param i32) (result i32)))
             (func (export "double") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
             (func (export "quad") (param i32) (result i32) (call $twice (local.get 0)))
             (func (export "trap") (param i32) (result i32) unreachable)
             (func (export "deep") (param i32) (result i32) (call $bounce (local.get 0))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "h",
            "twice",
            |mut caller: Caller<'_, ()>, x: i32| -> Result<i32, Error> {
                let double = caller
                    .get_export("double")
                    .and_then(Extern::into_func)
                    .ok_or_else(|| Error::msg("no double"))?
                    .typed::<i32, i32>(&caller)?;
                let once = double.call(&mut caller, x)?;
                double.call(&mut caller, once)
            },
        )
        .unwrap()
        .func_wrap(
            "h",
            "bounce",
            |mut caller: Caller<'_, ()>, x: i32| -> Result<i32, Error> {
                // Calls back into `deep` forever, so the stack limit must stop wasm that recurses
                // through host frames.
                let deep = caller
                    .get_export("deep")
                    .and_then(Extern::into_func)
                    .ok_or_else(|| Error::msg("no deep"))?
                    .typed::<i32, i32>(&caller)?;
                deep.call(&mut caller, x + 1)
            },
        )
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let quad = instance
        .get_typed_func::<i32, i32>(&mut store, "quad")
        .unwrap();
    assert_eq!(quad.call(&mut store, 3).unwrap(), 12);
    let deep = instance
        .get_typed_func::<i32, i32>(&mut store, "deep")
        .unwrap();
    assert_eq!(
        deep.call(&mut store, 0).unwrap_err().trap(),
        Some(Trap::StackOverflow)
    );
    assert_eq!(quad.call(&mut store, 5).unwrap(), 20);
}

#[test]
fn a_trap_in_a_nested_call_reaches_the_host_function_first() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "h" "catch" (func $catch (result i32)))
             (func (export "trap") (result i32) unreachable)
             (func (export "run") (result i32) (call $catch)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("h", "catch", |mut caller: Caller<'_, ()>| -> i32 {
            let trap = caller
                .get_export("trap")
                .and_then(Extern::into_func)
                .unwrap();
            let error = trap.call(&mut caller, &[], &mut [Val::I32(0)]).unwrap_err();
            // The host function saw the trap and recovered; the outer call succeeds.
            if error.trap() == Some(Trap::Unreachable) {
                1
            } else {
                0
            }
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<(), i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), 1);
}

#[test]
fn shared_memories_are_shared_across_stores_and_threads() {
    let engine = Engine::default();
    let definer = Module::new(
        &engine,
        r#"(module (memory (export "mem") 1 4 shared)
             (data (i32.const 0) "\2a")
             (func (export "get") (param i32) (result i32) (i32.load8_u (local.get 0))))"#,
    )
    .unwrap();
    let user = Module::new(
        &engine,
        r#"(module (import "env" "mem" (memory 1 4 shared))
             (func (export "set") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
             (func (export "size") (result i32) memory.size)
             (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &definer, &[]).unwrap();
    let Some(Extern::SharedMemory(memory)) = instance.get_export(&mut store, "mem") else {
        panic!("a shared memory is exported as `Extern::SharedMemory`");
    };
    assert!(memory.ty().is_shared());
    let get = instance
        .get_typed_func::<i32, i32>(&mut store, "get")
        .unwrap();
    assert_eq!(get.call(&mut store, 0).unwrap(), 42);

    let on_thread = memory.clone();
    let engine_for_thread = engine.clone();
    std::thread::spawn(move || {
        let mut store = Store::new(&engine_for_thread, ());
        let instance = Instance::new(&mut store, &user, &[on_thread.into()]).unwrap();
        let set = instance
            .get_typed_func::<(i32, i32), ()>(&mut store, "set")
            .unwrap();
        set.call(&mut store, (0, 7)).unwrap();
        let grow = instance
            .get_typed_func::<i32, i32>(&mut store, "grow")
            .unwrap();
        assert_eq!(grow.call(&mut store, 1).unwrap(), 1);
        assert_eq!(grow.call(&mut store, 9).unwrap(), -1);
    })
    .join()
    .unwrap();
    assert_eq!(get.call(&mut store, 0).unwrap(), 7);
    assert_eq!(memory.size(), 2);
    let mut byte = [0];
    memory.read(65536, &mut byte).unwrap();
    assert_eq!(byte, [0]);
}

#[test]
fn host_threads_wait_and_notify_on_shared_memory() {
    use std::time::Duration;
    let engine = Engine::default();
    let memory = SharedMemory::new(&engine, MemoryType::shared(1, 1)).unwrap();
    assert_eq!(
        memory.atomic_wait32(0, 1, None).unwrap(),
        WaitResult::Mismatch
    );
    assert_eq!(
        memory.atomic_wait32(0, 0, Some(Duration::ZERO)).unwrap(),
        WaitResult::TimedOut
    );
    assert_eq!(
        memory.atomic_wait32(2, 0, None).unwrap_err().trap(),
        Some(Trap::UnalignedAtomic)
    );
    assert_eq!(
        memory.atomic_notify(65536, 1).unwrap_err().trap(),
        Some(Trap::MemoryOutOfBounds)
    );
    assert_eq!(memory.atomic_notify(8, 1).unwrap(), 0);

    let waiter = {
        let memory = memory.clone();
        std::thread::spawn(move || memory.atomic_wait64(8, 0, None).unwrap())
    };
    // Keep notifying until the waiter is queued; a notify before it blocks wakes nobody.
    while memory.atomic_notify(8, 1).unwrap() == 0 {
        std::thread::yield_now();
    }
    assert_eq!(waiter.join().unwrap(), WaitResult::Woken);
    assert!(matches!(
        Memory::new(&mut Store::new(&engine, ()), MemoryType::shared(1, 2)),
        Err(Error::Usage(_))
    ));
    assert!(SharedMemory::new(&engine, MemoryType::new(1, Some(2))).is_err());
}

#[test]
fn handles_from_another_store_are_refused() {
    let (mut store, instance) = instantiate(
        r#"(module (global (export "g") (mut i32) (i32.const 1))
             (table (export "t") 1 funcref))"#,
    );
    let global = instance.get_global(&mut store, "g").unwrap();
    let table = instance.get_table(&mut store, "t").unwrap();
    let mut other = Store::new(store.engine(), ());
    assert!(matches!(
        global.set(&mut other, Val::I32(2)),
        Err(Error::Usage(UsageError::WrongStore))
    ));
    assert!(matches!(
        table.set(&mut other, 0, Val::FuncRef(None)),
        Err(Error::Usage(UsageError::WrongStore))
    ));
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| table.size(&other)));
    assert!(
        panicked.is_err(),
        "infallible accessors refuse foreign handles loudly"
    );
    assert_eq!(global.get(&mut store).i32(), Some(1));
}

#[test]
fn v128_values_cross_the_api_whole() {
    let (mut store, instance) = instantiate(
        r#"(module
             (global (export "g") (mut v128) (v128.const i32x4 1 2 3 4))
             (func (export "get") (result v128) (global.get 0)))"#,
    );
    let g = instance.get_global(&mut store, "g").unwrap();
    assert_eq!(
        g.get(&mut store).v128(),
        Some(0x4_0000_0003_0000_0002_0000_0001)
    );
    g.set(&mut store, Val::V128(u128::MAX - 1)).unwrap();
    let get = instance
        .get_typed_func::<(), u128>(&mut store, "get")
        .unwrap();
    assert_eq!(get.call(&mut store, ()).unwrap(), u128::MAX - 1);
    assert!(matches!(
        g.set(&mut store, Val::I64(1)),
        Err(Error::Usage(UsageError::ArgumentType { .. }))
    ));

    // Host functions take and return v128s, dynamically and statically typed.
    let engine = store.engine().clone();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "swap" (func $swap (param v128) (result v128)))
             (func (export "run") (param v128) (result v128) (call $swap (local.get 0))))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("host", "swap", |_: Caller<'_, ()>, x: u128| {
            x.rotate_left(64)
        })
        .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<u128, u128>(&mut store, "run")
        .unwrap();
    assert_eq!(
        run.call(&mut store, 0x1_0000_0000_0000_0002).unwrap(),
        (2 << 64) | 1
    );
    let run = instance.get_func(&mut store, "run").unwrap();
    let mut results = [Val::V128(0)];
    run.call(&mut store, &[Val::V128(5)], &mut results).unwrap();
    assert_eq!(results[0].v128(), Some(5 << 64));
}
