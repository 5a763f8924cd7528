//! Exception handling end to end: exceptions thrown across several frames and caught by
//! every kind of catch clause, tag identity across instances, exceptions crossing the host
//! boundary both ways, and an uncaught exception in a spawned guest thread. No toolchain at
//! hand emits wasm exceptions (the sysroot has no C++ runtime), so the modules are written
//! by hand.

mod support;

use support::shared_everything_engine;
use weft::*;

/// Throws `$boom` with an i32, an i64, an f64 and a v128 five calls deep, and catches it in
/// every way `try_table` can.
const THROWER: &str = r#"
(module
  (tag $boom (export "boom") (param i32 i64 f64 v128))
  (tag $other (param i32))
  (func $deep (param $depth i32) (param $value i32)
    (if (i32.eqz (local.get $depth))
      (then
        (throw $boom
          (local.get $value)
          (i64.extend_i32_s (local.get $value))
          (f64.convert_i32_s (local.get $value))
          (i32x4.splat (local.get $value)))))
    (call $deep (i32.sub (local.get $depth) (i32.const 1)) (local.get $value)))

  ;; catch: the payload, summed.
  (func (export "catch") (param i32) (result f64)
    (local $i i32) (local $l i64) (local $d f64) (local $v v128)
    (block $caught (result i32 i64 f64 v128)
      (try_table (catch $boom $caught)
        (call $deep (i32.const 5) (local.get 0)))
      (return (f64.const -1)))
    (local.set $v)
    (local.set $d)
    (local.set $l)
    (local.set $i)
    (f64.add
      (f64.add (f64.convert_i32_s (local.get $i)) (f64.convert_i64_s (local.get $l)))
      (f64.add (local.get $d) (f64.convert_i32_s (i32x4.extract_lane 3 (local.get $v))))))

  ;; catch_ref, then throw_ref to an outer try_table's catch_all_ref, then catch_all.
  (func (export "rethrow") (param i32) (result i32)
    (local $exn exnref)
    (block $outer (result exnref)
      (try_table (catch_all_ref $outer)
        (block $inner (result i32 i64 f64 v128 exnref)
          (try_table (catch_ref $boom $inner)
            (call $deep (i32.const 3) (local.get 0)))
          (return (i32.const -1)))
        (throw_ref))
      (return (i32.const -2)))
    (local.set $exn)
    (block $last
      (try_table (catch_all $last) (throw_ref (local.get $exn)))
      (return (i32.const -3)))
    (i32.const 1))

  ;; A clause for another tag lets the exception through to the next one.
  (func (export "skip") (param i32) (result i32)
    (block $all
      (block $other_caught (result i32)
        (try_table (catch $other $other_caught) (catch_all $all)
          (call $deep (i32.const 2) (local.get 0)))
        (return (i32.const -1)))
      (return (i32.const -2)))
    (i32.const 7))

  ;; Thrown and caught in the same function, a hundred thousand times.
  (func (export "loop") (param $n i32) (result i32)
    (local $sum i32)
    (loop $again
      (block $caught (result i32)
        (try_table (catch $other $caught)
          (throw $other (local.get $n)))
        (unreachable))
      (local.set $sum (i32.add (local.get $sum)))
      (br_if $again (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))

  (func (export "uncaught") (param i32) (call $deep (i32.const 4) (local.get 0)))
  (func (export "null") (throw_ref (ref.null exn)))
)
"#;

fn thrower() -> (Store<()>, Instance) {
    support::instantiate_with(&Engine::default(), THROWER)
}

#[test]
fn every_kind_of_catch_takes_an_exception_thrown_five_frames_down() {
    let (mut store, instance) = thrower();
    let catch = instance
        .get_typed_func::<i32, f64>(&mut store, "catch")
        .unwrap();
    assert_eq!(catch.call(&mut store, 21).unwrap(), 84.0);
    let rethrow = instance
        .get_typed_func::<i32, i32>(&mut store, "rethrow")
        .unwrap();
    assert_eq!(rethrow.call(&mut store, 3).unwrap(), 1);
    let skip = instance
        .get_typed_func::<i32, i32>(&mut store, "skip")
        .unwrap();
    assert_eq!(skip.call(&mut store, 3).unwrap(), 7);
    let looping = instance
        .get_typed_func::<i32, i32>(&mut store, "loop")
        .unwrap();
    let n = 100_000;
    assert_eq!(
        looping.call(&mut store, n).unwrap(),
        (n as i64 * (n as i64 + 1) / 2) as i32
    );
}

#[test]
fn an_uncaught_exception_reaches_the_host_with_its_tag_and_payload() {
    let (mut store, instance) = thrower();
    let uncaught = instance
        .get_typed_func::<i32, ()>(&mut store, "uncaught")
        .unwrap();
    let error = uncaught.call(&mut store, 9).unwrap_err();
    let Error::Exception(exception) = &error else {
        panic!("expected an exception, got {error}");
    };
    let exn = exception.exnref(&store);
    let boom = instance.get_tag(&mut store, "boom").unwrap();
    assert_eq!(exn.tag(&store), boom);
    assert_eq!(exn.field(&mut store, 0).unwrap().i32(), Some(9));
    assert_eq!(exn.field(&mut store, 1).unwrap().i64(), Some(9));
    assert_eq!(exn.field(&mut store, 2).unwrap().f64(), Some(9.0));
    assert!(exn.field(&mut store, 4).is_none());
    assert_eq!(
        boom.ty(&store).to_string(),
        "(tag (param i32) (param i64) (param f64) (param v128))"
    );
    // The store runs on, and a null exnref traps.
    let null = instance
        .get_typed_func::<(), ()>(&mut store, "null")
        .unwrap();
    assert_eq!(
        null.call(&mut store, ()).unwrap_err().trap(),
        Some(Trap::NullExceptionReference)
    );
    let catch = instance
        .get_typed_func::<i32, f64>(&mut store, "catch")
        .unwrap();
    assert_eq!(catch.call(&mut store, 1).unwrap(), 4.0);
}

#[test]
fn tags_are_identities_shared_by_import() {
    let engine = Engine::default();
    let thrower = Module::new(&engine, THROWER).unwrap();
    // Catches `boom` as imported, and its own tag of the same type, which is another tag.
    let catcher = Module::new(
        &engine,
        r#"(module
             (tag $boom (import "thrower" "boom") (param i32 i64 f64 v128))
             (tag $lookalike (param i32 i64 f64 v128))
             (import "thrower" "uncaught" (func $uncaught (param i32)))
             (func (export "by_import") (param i32) (result i32)
               (block $caught (result i32 i64 f64 v128)
                 (try_table (catch $boom $caught) (call $uncaught (local.get 0)))
                 (return (i32.const -1)))
               (drop) (drop) (drop))
             (func (export "by_lookalike") (param i32) (result i32)
               (block $caught (result i32 i64 f64 v128)
                 (try_table (catch $lookalike $caught) (call $uncaught (local.get 0)))
                 (return (i32.const -1)))
               (drop) (drop) (drop)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    let thrower = linker.instantiate(&mut store, &thrower).unwrap();
    linker.instance(&mut store, "thrower", thrower).unwrap();
    let catcher = linker.instantiate(&mut store, &catcher).unwrap();
    let by_import = catcher
        .get_typed_func::<i32, i32>(&mut store, "by_import")
        .unwrap();
    assert_eq!(by_import.call(&mut store, 5).unwrap(), 5);
    let by_lookalike = catcher
        .get_typed_func::<i32, i32>(&mut store, "by_lookalike")
        .unwrap();
    assert!(matches!(
        by_lookalike.call(&mut store, 5),
        Err(Error::Exception(_))
    ));
    // A tag of another type does not satisfy the import.
    let narrow = Tag::new(
        &mut store,
        &TagType::new(FuncType::new([ValType::I32], [])).unwrap(),
    );
    let importer = Module::new(
        &engine,
        r#"(module (tag (import "t" "tag") (param i32 i64 f64 v128)))"#,
    )
    .unwrap();
    assert!(matches!(
        Instance::new(&mut store, &importer, &[narrow.into()]),
        Err(Error::Link(LinkError::IncompatibleImport { .. }))
    ));
    assert!(TagType::new(FuncType::new([], [ValType::I32])).is_err());
}

#[test]
fn exceptions_cross_host_functions_both_ways() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (tag $t (import "host" "tag") (param i32))
             (import "host" "throws" (func $throws (param i32)))
             (import "host" "reenters" (func $reenters (param i32)))
             ;; Catches what the host throws, and what it lets through from `inner`.
             (func (export "catch_host") (param i32) (result i32)
               (block $caught (result i32)
                 (try_table (catch $t $caught) (call $throws (local.get 0)))
                 (i32.const -1)))
             (func (export "catch_through_host") (param i32) (result i32)
               (block $caught (result i32)
                 (try_table (catch $t $caught) (call $reenters (local.get 0)))
                 (i32.const -1)))
             (func (export "inner") (param i32)
               (throw $t (i32.mul (local.get 0) (i32.const 10)))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let tag = Tag::new(
        &mut store,
        &TagType::new(FuncType::new([ValType::I32], [])).unwrap(),
    );
    let mut linker = Linker::new(&engine);
    linker.define("host", "tag", tag).unwrap();
    linker
        .func_wrap(
            "host",
            "throws",
            move |mut caller: Caller<'_, ()>, value: i32| -> Result<(), Error> {
                let exn = ExnRef::new(&mut caller, &tag, &[Val::I32(value + 1)])?;
                Err(exn.throw())
            },
        )
        .unwrap();
    linker
        .func_wrap(
            "host",
            "reenters",
            |mut caller: Caller<'_, ()>, value: i32| -> Result<(), Error> {
                let inner = caller
                    .get_export("inner")
                    .and_then(Extern::into_func)
                    .expect("the caller exports inner");
                // The inner call's exception comes back as an error; `?` throws it on.
                inner.call(&mut caller, &[Val::I32(value)], &mut [])?;
                Ok(())
            },
        )
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let catch_host = instance
        .get_typed_func::<i32, i32>(&mut store, "catch_host")
        .unwrap();
    assert_eq!(catch_host.call(&mut store, 41).unwrap(), 42);
    let catch_through_host = instance
        .get_typed_func::<i32, i32>(&mut store, "catch_through_host")
        .unwrap();
    assert_eq!(catch_through_host.call(&mut store, 4).unwrap(), 40);
    // Called from the host directly, the host function's exception is the call's error.
    let throws = linker
        .get(&mut store, "host", "throws")
        .unwrap()
        .unwrap()
        .into_func()
        .unwrap();
    let error = throws
        .call(&mut store, &[Val::I32(1)], &mut [])
        .unwrap_err();
    let Error::Exception(exception) = error else {
        panic!("expected an exception, got {error}");
    };
    assert_eq!(
        exception.exnref(&store).field(&mut store, 0).unwrap().i32(),
        Some(2)
    );
}

#[test]
fn an_uncaught_exception_ends_its_guest_thread_as_a_trap_does() {
    let engine = shared_everything_engine();
    let (mut store, instance) = support::instantiate_with(
        &engine,
        r#"(module
             (type $entry (shared (func (param i32))))
             (tag $t (param i32))
             (func $throw (param i32) (throw $t (local.get 0)))
             (func (export "run") (type $entry)
               (block $caught (result i32)
                 (try_table (catch $t $caught) (call $throw (local.get 0)))
                 (unreachable))
               (if (i32.ne (local.get 0)) (then unreachable)))
             (func (export "escape") (type $entry) (call $throw (local.get 0))))"#,
    );
    let run = instance.get_func(&mut store, "run").unwrap();
    let escape = instance.get_func(&mut store, "escape").unwrap();
    let caught = store.spawn(&run, 3).unwrap();
    assert!(matches!(
        store.join_thread(caught),
        Some(ThreadOutcome::Finished)
    ));
    let escaped = store.spawn(&escape, 4).unwrap();
    match store.join_thread(escaped) {
        Some(ThreadOutcome::Trapped(Error::Exception(exception))) => assert_eq!(
            exception.exnref(&store).field(&mut store, 0).unwrap().i32(),
            Some(4)
        ),
        other => panic!("expected the thread to end with its exception, got {other:?}"),
    }
}
