//! GC objects through the embedding API: structs and arrays crossing the host boundary, the
//! type checks on typed parameters, casts, the GC heap limit, recursion groups shared by two
//! modules, the any/extern conversions, null and bounds traps, and shared structs and arrays
//! updated atomically by guest threads.

mod support;

use std::slice::from_ref;
use support::{call, i32_of, instantiate_with, shared_everything_engine};
use weft::*;

/// Plain (unshared) structs and arrays: `$t` has a declared subtype `$sub`, and `$other` is
/// unrelated to both.
const OBJECTS: &str = r#"
(module
  (type $point (struct (field $x i32) (field $y (mut i64))))
  (type $t (sub (struct (field i32))))
  (type $sub (sub $t (struct (field i32) (field f64))))
  (type $other (struct (field f32)))
  (type $ints (array (mut i32)))

  (func (export "make-point") (param i32 i64) (result (ref $point))
    (struct.new $point (local.get 0) (local.get 1)))
  (func (export "point-x") (param (ref $point)) (result i32)
    (struct.get $point $x (local.get 0)))
  (func (export "point-y") (param (ref null $point)) (result i64)
    (struct.get $point $y (local.get 0)))
  (func (export "set-y") (param (ref null $point) i64)
    (struct.set $point $y (local.get 0) (local.get 1)))

  (func (export "make-t") (param i32) (result (ref $t)) (struct.new $t (local.get 0)))
  (func (export "make-sub") (param i32) (result (ref $sub))
    (struct.new $sub (local.get 0) (f64.const 2.5)))
  (func (export "make-other") (result (ref $other)) (struct.new $other (f32.const 1)))
  (func (export "read-t") (param (ref $t)) (result i32) (struct.get $t 0 (local.get 0)))
  (func (export "read-sub-f64") (param (ref $sub)) (result f64) (struct.get $sub 1 (local.get 0)))
  (func (export "cast-t") (param anyref) (result i32)
    (struct.get $t 0 (ref.cast (ref $t) (local.get 0))))
  (func (export "cast-null-t") (param anyref) (result i32)
    (ref.is_null (ref.cast (ref null $t) (local.get 0))))
  (func (export "test-t") (param anyref) (result i32) (ref.test (ref $t) (local.get 0)))
  (func (export "test-sub") (param anyref) (result i32) (ref.test (ref $sub) (local.get 0)))
  ;; 1 for a $sub, 2 for another $t, 3 for an i31, 0 for anything else (null included).
  (func (export "classify") (param anyref) (result i32)
    (block $is-sub (result (ref $sub))
      (block $is-t (result (ref $t))
        (block $is-i31 (result (ref i31))
          local.get 0
          br_on_cast $is-sub anyref (ref $sub)
          br_on_cast $is-t anyref (ref $t)
          br_on_cast $is-i31 anyref (ref i31)
          drop
          i32.const 0
          return)
        drop
        i32.const 3
        return)
      drop
      i32.const 2
      return)
    drop
    i32.const 1)

  (func (export "make-ints") (param $len i32) (param $fill i32) (result (ref $ints))
    (array.new $ints (local.get $fill) (local.get $len)))
  (func (export "ints-len") (param (ref null $ints)) (result i32) (array.len (local.get 0)))
  (func (export "ints-get") (param (ref null $ints) i32) (result i32)
    (array.get $ints (local.get 0) (local.get 1)))
  (func (export "ints-set") (param (ref null $ints) i32 i32)
    (array.set $ints (local.get 0) (local.get 1) (local.get 2)))
  (func (export "ints-fill") (param (ref null $ints) i32 i32 i32)
    (array.fill $ints (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "ints-copy") (param (ref null $ints) i32 (ref null $ints) i32 i32)
    (array.copy $ints $ints (local.get 0) (local.get 1) (local.get 2) (local.get 3)
      (local.get 4)))
  (func (export "null-struct-get") (result i32) (struct.get $t 0 (ref.null $t)))
  (func (export "null-array-len") (result i32) (array.len (ref.null $ints)))
)
"#;

fn objects() -> (Store<()>, Instance) {
    instantiate_with(&shared_everything_engine(), OBJECTS)
}

/// Calls the export `name`, which returns nothing.
fn call0(
    store: &mut Store<()>,
    instance: &Instance,
    name: &str,
    params: &[Val],
) -> Result<(), Error> {
    let func = instance.get_func(&mut *store, name).expect("export exists");
    func.call(&mut *store, params, &mut [])
}

/// The object a successful call returned.
fn any_of(result: Result<Val, Error>) -> AnyRef {
    match result.expect("call succeeds") {
        Val::AnyRef(Some(any)) => any,
        other => panic!("expected a non-null anyref, got {other:?}"),
    }
}

/// The trap a failed call reports; also checks the message.
fn trap_of(result: Result<impl std::fmt::Debug, Error>, message: &str) -> Trap {
    let error = result.expect_err("the call traps");
    assert!(
        error.to_string().contains(message),
        "`{error}` should mention `{message}`"
    );
    error
        .trap()
        .unwrap_or_else(|| panic!("not a trap: {error}"))
}

#[test]
fn structs_cross_the_host_boundary_and_keep_their_fields() {
    let (mut store, instance) = objects();
    let point = call(
        &mut store,
        &instance,
        "make-point",
        &[Val::I32(-7), Val::I64(1 << 40)],
    )
    .expect("make-point");
    let Val::AnyRef(Some(AnyRef::Struct(object))) = point else {
        panic!("a struct comes back as AnyRef::Struct, got {point:?}");
    };
    assert_eq!(
        point.ty(),
        ValType::Ref(RefType::new(
            false,
            HeapType::unshared(AbstractHeapType::Struct)
        ))
    );
    assert_eq!(
        i32_of(call(&mut store, &instance, "point-x", from_ref(&point))),
        -7
    );
    let y = call(&mut store, &instance, "point-y", from_ref(&point)).expect("point-y");
    assert_eq!(y.i64(), Some(1 << 40));

    // A mutation through one handle is seen through a copy of it: both are the same object.
    let copy = Val::from(AnyRef::Struct(object));
    call0(&mut store, &instance, "set-y", &[copy, Val::I64(-3)]).expect("set-y");
    let y = call(&mut store, &instance, "point-y", from_ref(&point)).expect("point-y");
    assert_eq!(y.i64(), Some(-3));

    // Two allocations with equal fields are distinct objects.
    let twin = any_of(call(
        &mut store,
        &instance,
        "make-point",
        &[Val::I32(-7), Val::I64(-3)],
    ));
    assert_ne!(twin, AnyRef::Struct(object));

    // Arrays come back as AnyRef::Array.
    let ints = call(
        &mut store,
        &instance,
        "make-ints",
        &[Val::I32(5), Val::I32(9)],
    )
    .unwrap();
    assert!(
        matches!(ints, Val::AnyRef(Some(AnyRef::Array(_)))),
        "{ints:?}"
    );
    assert_eq!(
        i32_of(call(&mut store, &instance, "ints-len", from_ref(&ints))),
        5
    );
    let at = |i| [ints.clone(), Val::I32(i)];
    assert_eq!(i32_of(call(&mut store, &instance, "ints-get", &at(4))), 9);
    call0(
        &mut store,
        &instance,
        "ints-set",
        &[ints.clone(), Val::I32(4), Val::I32(-1)],
    )
    .unwrap();
    assert_eq!(i32_of(call(&mut store, &instance, "ints-get", &at(4))), -1);
    assert_eq!(i32_of(call(&mut store, &instance, "ints-get", &at(3))), 9);
}

#[test]
fn objects_belong_to_their_store() {
    let engine = shared_everything_engine();
    let (mut store, instance) = instantiate_with(&engine, OBJECTS);
    let (mut other_store, other_instance) = instantiate_with(&engine, OBJECTS);
    let t = call(&mut store, &instance, "make-t", &[Val::I32(3)]).unwrap();
    let error = call(&mut other_store, &other_instance, "read-t", from_ref(&t)).unwrap_err();
    assert!(
        matches!(error, Error::Usage(UsageError::WrongStore)),
        "{error}"
    );
    assert_eq!(i32_of(call(&mut store, &instance, "read-t", &[t])), 3);
}

#[test]
fn typed_parameters_accept_declared_subtypes_only() {
    let (mut store, instance) = objects();
    let t = call(&mut store, &instance, "make-t", &[Val::I32(11)]).unwrap();
    let sub = call(&mut store, &instance, "make-sub", &[Val::I32(22)]).unwrap();
    let other = call(&mut store, &instance, "make-other", &[]).unwrap();
    let point = call(
        &mut store,
        &instance,
        "make-point",
        &[Val::I32(1), Val::I64(2)],
    )
    .unwrap();

    assert_eq!(
        i32_of(call(&mut store, &instance, "read-t", from_ref(&t))),
        11
    );
    // `$sub` declares `$t` as its supertype, so a `$sub` is a `(ref $t)`.
    assert_eq!(
        i32_of(call(&mut store, &instance, "read-t", from_ref(&sub))),
        22
    );

    for wrong in [
        other.clone(),
        point,
        Val::AnyRef(None),
        Val::from(AnyRef::I31(I31::wrapping_i32(11))),
        Val::ExternRef(None),
    ] {
        let error = call(&mut store, &instance, "read-t", from_ref(&wrong)).unwrap_err();
        assert!(error.trap().is_none(), "{error}");
        assert!(
            matches!(
                &error,
                Error::Usage(UsageError::ArgumentType { index: 0, .. })
            ),
            "{wrong:?}: {error}"
        );
        assert!(error.to_string().contains("argument 0"), "{error}");
    }
    // A supertype does not fit where its subtype is expected.
    let error = call(&mut store, &instance, "read-sub-f64", from_ref(&t)).unwrap_err();
    assert!(error.to_string().contains("argument 0"), "{error}");
    let half = call(&mut store, &instance, "read-sub-f64", from_ref(&sub)).unwrap();
    assert_eq!(half.f64(), Some(2.5));

    // `Val::matches_ty` agrees with the call's check.
    let read_t = instance.get_func(&mut store, "read-t").unwrap();
    let t_ty = read_t.ty(&store).params()[0].clone();
    assert!(t.matches_ty(&store, &t_ty));
    assert!(sub.matches_ty(&store, &t_ty));
    assert!(!other.matches_ty(&store, &t_ty));
    assert!(!Val::AnyRef(None).matches_ty(&store, &t_ty));

    // The failed calls left the instance usable.
    assert_eq!(i32_of(call(&mut store, &instance, "read-t", &[t])), 11);
}

#[test]
fn failed_casts_trap_and_the_instance_stays_usable() {
    let (mut store, instance) = objects();
    let t = call(&mut store, &instance, "make-t", &[Val::I32(5)]).unwrap();
    let sub = call(&mut store, &instance, "make-sub", &[Val::I32(6)]).unwrap();
    let other = call(&mut store, &instance, "make-other", &[]).unwrap();
    let i31 = Val::from(AnyRef::I31(I31::wrapping_i32(5)));

    for bad in [other.clone(), i31.clone(), Val::AnyRef(None)] {
        let trap = trap_of(
            call(&mut store, &instance, "cast-t", &[bad]),
            "cast failure",
        );
        assert_eq!(trap, Trap::CastFailure);
        // The same store and instance keep working after the trap.
        assert_eq!(
            i32_of(call(&mut store, &instance, "cast-t", from_ref(&t))),
            5
        );
    }
    assert_eq!(
        i32_of(call(&mut store, &instance, "cast-t", from_ref(&sub))),
        6
    );

    // A nullable cast lets null through but not an object of another type.
    assert_eq!(
        i32_of(call(
            &mut store,
            &instance,
            "cast-null-t",
            &[Val::AnyRef(None)]
        )),
        1
    );
    assert_eq!(
        i32_of(call(&mut store, &instance, "cast-null-t", from_ref(&sub))),
        0
    );
    let trap = trap_of(
        call(&mut store, &instance, "cast-null-t", from_ref(&other)),
        "cast failure",
    );
    assert_eq!(trap, Trap::CastFailure);

    // ref.test and br_on_cast see the same subtyping.
    for (value, is_t, is_sub, class) in [
        (t.clone(), 1, 0, 2),
        (sub.clone(), 1, 1, 1),
        (other.clone(), 0, 0, 0),
        (i31.clone(), 0, 0, 3),
        (Val::AnyRef(None), 0, 0, 0),
    ] {
        let arg = [value.clone()];
        assert_eq!(
            i32_of(call(&mut store, &instance, "test-t", &arg)),
            is_t,
            "{value:?}"
        );
        assert_eq!(
            i32_of(call(&mut store, &instance, "test-sub", &arg)),
            is_sub,
            "{value:?}"
        );
        assert_eq!(
            i32_of(call(&mut store, &instance, "classify", &arg)),
            class,
            "{value:?}"
        );
    }
}

#[test]
fn null_and_out_of_bounds_accesses_trap() {
    let (mut store, instance) = objects();
    let null = Val::AnyRef(None);
    let ints = call(
        &mut store,
        &instance,
        "make-ints",
        &[Val::I32(4), Val::I32(1)],
    )
    .unwrap();
    let empty = call(
        &mut store,
        &instance,
        "make-ints",
        &[Val::I32(0), Val::I32(0)],
    )
    .unwrap();
    let i = Val::I32;

    let structs: [(&str, Vec<Val>); 3] = [
        ("point-y", vec![null.clone()]),
        ("set-y", vec![null.clone(), Val::I64(1)]),
        ("null-struct-get", vec![]),
    ];
    for (name, args) in structs {
        let result = if name == "set-y" {
            call0(&mut store, &instance, name, &args).map(|()| Val::I32(0))
        } else {
            call(&mut store, &instance, name, &args)
        };
        assert_eq!(
            trap_of(result, "null structure reference"),
            Trap::NullStructReference,
            "{name}"
        );
    }

    let null_arrays: [(&str, Vec<Val>); 6] = [
        ("ints-len", vec![null.clone()]),
        ("ints-get", vec![null.clone(), i(0)]),
        ("ints-set", vec![null.clone(), i(0), i(0)]),
        ("ints-fill", vec![null.clone(), i(0), i(0), i(0)]),
        (
            "ints-copy",
            vec![null.clone(), i(0), ints.clone(), i(0), i(0)],
        ),
        ("null-array-len", vec![]),
    ];
    let out_of_bounds: [(&str, Vec<Val>); 9] = [
        ("ints-get", vec![ints.clone(), i(4)]),
        ("ints-get", vec![ints.clone(), i(-1)]),
        ("ints-get", vec![empty.clone(), i(0)]),
        ("ints-set", vec![ints.clone(), i(4), i(0)]),
        ("ints-fill", vec![ints.clone(), i(2), i(7), i(3)]),
        ("ints-fill", vec![ints.clone(), i(5), i(7), i(0)]),
        ("ints-fill", vec![ints.clone(), i(1), i(7), i(-1)]),
        (
            "ints-copy",
            vec![ints.clone(), i(0), ints.clone(), i(1), i(4)],
        ),
        (
            "ints-copy",
            vec![empty.clone(), i(0), ints.clone(), i(0), i(1)],
        ),
    ];
    let mut run = |name: &str, args: &[Val]| {
        if name == "ints-len" || name == "ints-get" || name == "null-array-len" {
            call(&mut store, &instance, name, args)
        } else {
            call0(&mut store, &instance, name, args).map(|()| Val::I32(0))
        }
    };
    for (name, args) in null_arrays {
        assert_eq!(
            trap_of(run(name, &args), "null array reference"),
            Trap::NullArrayReference,
            "{name}"
        );
    }
    for (name, args) in out_of_bounds {
        assert_eq!(
            trap_of(run(name, &args), "out of bounds array access"),
            Trap::ArrayOutOfBounds,
            "{name} {args:?}"
        );
    }
    // Nothing was written by the trapping fills and copies, and in-bounds edge cases work.
    for index in 0..4 {
        assert_eq!(i32_of(run("ints-get", &[ints.clone(), i(index)])), 1);
    }
    run("ints-fill", &[ints.clone(), i(4), i(7), i(0)]).expect("an empty fill at the end");
    run("ints-fill", &[ints.clone(), i(3), i(7), i(1)]).expect("a fill of the last element");
    run("ints-copy", &[ints.clone(), i(0), ints.clone(), i(1), i(3)]).expect("overlapping copy");
    let values: Vec<i32> = (0..4)
        .map(|index| i32_of(run("ints-get", &[ints.clone(), i(index)])))
        .collect();
    assert_eq!(values, [1, 1, 7, 7]);
}

/// The GC heap limit: an allocation that does not fit traps, and the store goes on.
const ALLOCATIONS: &str = r#"
(module
  (type $bytes (array (mut i8)))
  (type $pair (struct (field i64) (field (mut i64))))
  (global $made (export "made") (mut i32) (i32.const 0))
  (func (export "bytes") (param i32) (result i32)
    (array.len (array.new_default $bytes (local.get 0))))
  (func (export "pair") (param i64) (result i64)
    (struct.get $pair 1 (struct.new $pair (i64.const 1) (local.get 0))))
  ;; Allocates 64-byte arrays until the heap is full, counting them in $made.
  (func (export "fill-heap")
    (global.set $made (i32.const 0))
    (loop $more
      (drop (array.new_default $bytes (i32.const 64)))
      (global.set $made (i32.add (global.get $made) (i32.const 1)))
      (br $more)))
)
"#;

fn small_heap_engine() -> Engine {
    let mut config = Config::new();
    config
        .wasm_features(WasmFeatures::default() | WasmFeatures::SHARED_EVERYTHING_THREADS)
        .max_gc_heap(4096);
    Engine::new(&config).unwrap()
}

/// How many 64-byte arrays fit in `store`'s heap after what it already holds.
fn fill_heap(store: &mut Store<()>, instance: &Instance) -> i32 {
    let trap = trap_of(
        call0(store, instance, "fill-heap", &[]),
        "allocation too large",
    );
    assert_eq!(trap, Trap::AllocationTooLarge);
    let made = instance.get_global(&mut *store, "made").unwrap();
    made.get(&mut *store).i32().unwrap()
}

#[test]
fn allocations_past_the_gc_heap_limit_trap() {
    let engine = small_heap_engine();
    let (mut store, instance) = instantiate_with(&engine, ALLOCATIONS);
    for len in [100_000, 4096, -1] {
        let trap = trap_of(
            call(&mut store, &instance, "bytes", &[Val::I32(len)]),
            "allocation too large",
        );
        assert_eq!(trap, Trap::AllocationTooLarge, "{len}");
    }
    // Small allocations still work in the same store afterwards.
    assert_eq!(
        call(&mut store, &instance, "pair", &[Val::I64(42)])
            .unwrap()
            .i64(),
        Some(42)
    );
    assert_eq!(
        i32_of(call(&mut store, &instance, "bytes", &[Val::I32(100)])),
        100
    );

    // The heap is never collected, so repeated allocations exhaust it. The failed big
    // allocations above took nothing from it, but the two small objects (more than 64 bytes
    // together) did: a fresh store fits more arrays.
    let made = fill_heap(&mut store, &instance);
    assert!((1..4096 / 64).contains(&made), "{made} arrays of 64 bytes");
    let (mut fresh, fresh_instance) = instantiate_with(&engine, ALLOCATIONS);
    let fresh_made = fill_heap(&mut fresh, &fresh_instance);
    assert!(fresh_made > made, "{fresh_made} <= {made}");
    assert!(fresh_made < 4096 / 64, "{fresh_made}");
    // The full store refuses a 2000-byte array, and a third store on the same engine has its
    // own budget.
    let trap = trap_of(
        call(&mut store, &instance, "bytes", &[Val::I32(2000)]),
        "allocation too large",
    );
    assert_eq!(trap, Trap::AllocationTooLarge);
    let (mut third, third_instance) = instantiate_with(&engine, ALLOCATIONS);
    assert_eq!(
        i32_of(call(
            &mut third,
            &third_instance,
            "bytes",
            &[Val::I32(2000)]
        )),
        2000
    );
}

#[test]
fn the_default_gc_heap_holds_large_arrays() {
    let (mut store, instance) = instantiate_with(&shared_everything_engine(), ALLOCATIONS);
    assert_eq!(
        i32_of(call(&mut store, &instance, "bytes", &[Val::I32(1 << 20)])),
        1 << 20
    );
    let trap = trap_of(
        call(&mut store, &instance, "bytes", &[Val::I32(-1)]),
        "allocation too large",
    );
    assert_eq!(trap, Trap::AllocationTooLarge);
}

const REC_A: &str = r#"
(module
  (rec
    (type $a (struct (field (ref null $b))))
    (type $b (struct (field (ref null $a)))))
  (func (export "make-a") (result (ref $a)) (struct.new $a (struct.new $b (ref.null $a))))
  (func (export "make-b") (result (ref $b)) (struct.new $b (ref.null $a)))
)
"#;

const REC_B: &str = r#"
(module
  (rec
    (type $a (struct (field (ref null $b))))
    (type $b (struct (field (ref null $a)))))
  ;; The same shapes in a bigger group, and a lone look-alike: neither is $a.
  (rec
    (type $a2 (struct (field (ref null $b2))))
    (type $b2 (struct (field (ref null $a2))))
    (type $c2 (struct)))
  (type $lone (struct (field (ref null struct))))
  (import "a" "make-a" (func $make-a (result (ref $a))))
  (func (export "is-a") (param anyref) (result i32) (ref.test (ref $a) (local.get 0)))
  (func (export "is-b") (param anyref) (result i32) (ref.test (ref $b) (local.get 0)))
  (func (export "is-a2") (param anyref) (result i32) (ref.test (ref $a2) (local.get 0)))
  (func (export "is-lone") (param anyref) (result i32) (ref.test (ref $lone) (local.get 0)))
  ;; Reads the inner $b of an $a, through a cast.
  (func (export "inner-is-b") (param anyref) (result i32)
    (ref.test (ref $b) (struct.get $a 0 (ref.cast (ref $a) (local.get 0)))))
  (func (export "take-a") (param (ref $a)) (result i32)
    (ref.is_null (struct.get $a 0 (local.get 0))))
  (func (export "imported-is-a") (result i32) (ref.test (ref $a) (call $make-a)))
)
"#;

#[test]
fn identical_recursion_groups_in_two_modules_are_one_type() {
    let engine = shared_everything_engine();
    let module_a = Module::new(&engine, REC_A).unwrap();
    let module_b = Module::new(&engine, REC_B).unwrap();
    let mut store = Store::new(&engine, ());
    let a = Instance::new(&mut store, &module_a, &[]).unwrap();
    let mut linker = Linker::new(&engine);
    linker.instance(&mut store, "a", a).unwrap();
    let b = linker.instantiate(&mut store, &module_b).unwrap();

    // Module A's `(ref $a)` is module B's: the types are the same, by id.
    let make_a = a.get_func(&mut store, "make-a").unwrap();
    let take_a = b.get_func(&mut store, "take-a").unwrap();
    assert_eq!(make_a.ty(&store).results(), take_a.ty(&store).params());

    let object_a = call(&mut store, &a, "make-a", &[]).unwrap();
    let object_b = call(&mut store, &a, "make-b", &[]).unwrap();
    for (name, for_a, for_b) in [
        ("is-a", 1, 0),
        ("is-b", 0, 1),
        ("is-a2", 0, 0),
        ("is-lone", 0, 0),
    ] {
        assert_eq!(
            i32_of(call(&mut store, &b, name, from_ref(&object_a))),
            for_a,
            "{name} of an $a"
        );
        assert_eq!(
            i32_of(call(&mut store, &b, name, from_ref(&object_b))),
            for_b,
            "{name} of a $b"
        );
    }
    assert_eq!(
        i32_of(call(&mut store, &b, "inner-is-b", from_ref(&object_a))),
        1
    );
    // The host passes A's object where B expects its own `(ref $a)`.
    assert_eq!(
        i32_of(call(&mut store, &b, "take-a", from_ref(&object_a))),
        0
    );
    let error = call(&mut store, &b, "take-a", from_ref(&object_b)).unwrap_err();
    assert!(error.to_string().contains("argument 0"), "{error}");
    // And through the import, B calls A directly.
    assert_eq!(i32_of(call(&mut store, &b, "imported-is-a", &[])), 1);
}

#[test]
fn imports_of_a_different_recursion_group_do_not_link() {
    let engine = shared_everything_engine();
    let module_a = Module::new(&engine, REC_A).unwrap();
    let mut store = Store::new(&engine, ());
    let a = Instance::new(&mut store, &module_a, &[]).unwrap();
    let mut linker = Linker::new(&engine);
    linker.instance(&mut store, "a", a).unwrap();
    let mismatched = Module::new(
        &engine,
        r#"(module
          (rec
            (type $a (struct (field (ref null $b))))
            (type $b (struct (field (ref null $a))))
            (type $c (struct)))
          (import "a" "make-a" (func (result (ref $a)))))"#,
    )
    .unwrap();
    let error = linker.instantiate(&mut store, &mismatched).unwrap_err();
    assert!(
        matches!(&error, Error::Link(LinkError::IncompatibleImport { name, .. }) if name == "make-a"),
        "{error}"
    );
}

const CONVERSIONS: &str = r#"
(module
  (type $t (struct (field i32)))
  (func (export "internalize") (param externref) (result anyref) (any.convert_extern (local.get 0)))
  (func (export "externalize") (param anyref) (result externref) (extern.convert_any (local.get 0)))
  (func (export "make") (param i32) (result (ref $t)) (struct.new $t (local.get 0)))
  (func (export "read") (param (ref $t)) (result i32) (struct.get $t 0 (local.get 0)))
  ;; Out to extern and back in wasm, then read.
  (func (export "round-trip-read") (param (ref $t)) (result i32)
    (struct.get $t 0
      (ref.cast (ref $t) (any.convert_extern (extern.convert_any (local.get 0))))))
  (func (export "is-eq") (param anyref) (result i32) (ref.test (ref eq) (local.get 0)))
  (func (export "is-struct") (param anyref) (result i32) (ref.test (ref struct) (local.get 0)))
)
"#;

fn externref_of(result: Result<Val, Error>) -> Option<ExternRef> {
    match result.expect("call succeeds") {
        Val::ExternRef(externref) => externref,
        other => panic!("expected an externref, got {other:?}"),
    }
}

#[test]
fn host_externrefs_and_gc_objects_convert_both_ways() {
    let (mut store, instance) = instantiate_with(&shared_everything_engine(), CONVERSIONS);

    // A host value goes in as an anyref and comes out as the same externref.
    let host = ExternRef::new(&mut store, 42_u32);
    let inside = any_of(call(
        &mut store,
        &instance,
        "internalize",
        &[Val::ExternRef(Some(host))],
    ));
    assert_eq!(inside, AnyRef::Extern(host));
    let inside = Val::from(inside);
    assert_eq!(
        i32_of(call(&mut store, &instance, "is-eq", from_ref(&inside))),
        0
    );
    assert_eq!(
        i32_of(call(&mut store, &instance, "is-struct", from_ref(&inside))),
        0
    );
    let out = externref_of(call(&mut store, &instance, "externalize", &[inside]));
    assert_eq!(out, Some(host));
    let data = out.unwrap().data(&store).unwrap().expect("a host value");
    assert_eq!(data.downcast_ref::<u32>(), Some(&42));

    // A struct goes out as an externref without host data and comes back as itself.
    let object = any_of(call(&mut store, &instance, "make", &[Val::I32(17)]));
    assert!(matches!(object, AnyRef::Struct(_)), "{object:?}");
    let external = externref_of(call(
        &mut store,
        &instance,
        "externalize",
        &[Val::from(object)],
    ))
    .expect("non-null");
    assert!(external.data(&store).unwrap().is_none());
    let back = any_of(call(
        &mut store,
        &instance,
        "internalize",
        &[Val::ExternRef(Some(external))],
    ));
    assert_eq!(back, object);
    assert_eq!(
        i32_of(call(&mut store, &instance, "read", &[Val::from(back)])),
        17
    );
    assert_eq!(
        i32_of(call(
            &mut store,
            &instance,
            "round-trip-read",
            &[Val::from(object)]
        )),
        17
    );
    assert_eq!(
        i32_of(call(&mut store, &instance, "is-struct", &[Val::from(back)])),
        1
    );

    // An i31 survives the trip too, and null stays null.
    let small = AnyRef::I31(I31::wrapping_i32(-9));
    let external = externref_of(call(
        &mut store,
        &instance,
        "externalize",
        &[Val::from(small)],
    ))
    .expect("non-null");
    assert!(external.data(&store).unwrap().is_none());
    let back = any_of(call(
        &mut store,
        &instance,
        "internalize",
        &[Val::ExternRef(Some(external))],
    ));
    assert_eq!(back, small);
    assert_eq!(
        externref_of(call(
            &mut store,
            &instance,
            "externalize",
            &[Val::AnyRef(None)]
        )),
        None
    );
    let null = call(
        &mut store,
        &instance,
        "internalize",
        &[Val::ExternRef(None)],
    )
    .unwrap();
    assert!(matches!(null, Val::AnyRef(None)), "{null:?}");
}

/// Shared structs and arrays updated by guest threads the host spawns.
const SHARED: &str = r#"
(module
  (type $c (shared (struct (field (mut i32)) (field (mut i64)))))
  (type $v (shared (array (mut i64))))
  (type $u (struct (field (mut i32))))
  (type $entry (shared (func (param i32))))
  (type $make_t (func (result (ref $c))))
  (type $read_t (func (param (ref $c)) (result i64)))
  (type $sum_t (func (result i64)))
  (global $counter (shared (ref $c)) (struct.new_default $c))
  (global $slots (shared (ref $v)) (array.new_default $v (i32.const 8)))
  ;; Thread $id adds 1 to the i32 field and $id to the i64 field, 1000 times, and adds
  ;; $id to slot $id % 8.
  (func (export "work") (type $entry) (param $id i32)
    (local $i i32)
    (loop $l
      (drop (struct.atomic.rmw.add seqcst $c 0 (global.get $counter) (i32.const 1)))
      (drop (struct.atomic.rmw.add seqcst $c 1 (global.get $counter)
        (i64.extend_i32_u (local.get $id))))
      (drop (array.atomic.rmw.add seqcst $v (global.get $slots)
        (i32.and (local.get $id) (i32.const 7)) (i64.extend_i32_u (local.get $id))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 1000)))))
  (func (export "counter") (type $make_t) (global.get $counter))
  (func (export "wide") (type $read_t) (struct.atomic.get seqcst $c 1 (local.get 0)))
  (func (export "count") (param (ref null $c)) (result i32) (struct.atomic.get seqcst $c 0 (local.get 0)))
  (func (export "slots-sum") (type $sum_t)
    (local $i i32) (local $sum i64)
    (loop $l
      (local.set $sum (i64.add (local.get $sum)
        (array.atomic.get seqcst $v (global.get $slots) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 8))))
    (local.get $sum))
  (func (export "make-unshared") (result (ref $u)) (struct.new $u (i32.const 0)))
)
"#;

#[test]
fn guest_threads_update_shared_structs_and_arrays_atomically() {
    let (mut store, instance) = instantiate_with(&shared_everything_engine(), SHARED);
    let work = instance.get_func(&mut store, "work").unwrap();
    for id in 1..=16 {
        store.spawn(&work, id).expect("below the thread limit");
    }
    store.join_threads().unwrap();

    let counter = call(&mut store, &instance, "counter", &[]).unwrap();
    assert!(
        matches!(counter, Val::AnyRef(Some(AnyRef::Struct(_)))),
        "{counter:?}"
    );
    assert_eq!(
        i32_of(call(&mut store, &instance, "count", from_ref(&counter))),
        16_000
    );
    let ids: i64 = (1..=16).sum();
    let wide = call(&mut store, &instance, "wide", from_ref(&counter)).unwrap();
    assert_eq!(wide.i64(), Some(1000 * ids));
    let slots = call(&mut store, &instance, "slots-sum", &[]).unwrap();
    assert_eq!(slots.i64(), Some(1000 * ids));

    // An unshared struct is not a `(ref null $c)`, and null shared structs trap.
    let unshared = call(&mut store, &instance, "make-unshared", &[]).unwrap();
    let error = call(&mut store, &instance, "count", &[unshared]).unwrap_err();
    assert!(error.to_string().contains("argument 0"), "{error}");
    let trap = trap_of(
        call(&mut store, &instance, "count", &[Val::AnyRef(None)]),
        "null structure reference",
    );
    assert_eq!(trap, Trap::NullStructReference);
}

/// Struct references in globals, tables and host function signatures, checked by the API.
const CONTAINERS: &str = r#"
(module
  (type $t (sub (struct (field i32))))
  (type $sub (sub $t (struct (field i32) (field i64))))
  (type $other (struct (field i32)))
  (import "host" "pass" (func $pass (param anyref) (result (ref null $t))))
  (global $g (export "g") (mut (ref null $t)) (ref.null $t))
  (table $tab (export "tab") 2 (ref null $t))
  (func (export "make-t") (param i32) (result (ref $t)) (struct.new $t (local.get 0)))
  (func (export "make-sub") (param i32) (result (ref $sub)) (struct.new $sub (local.get 0) (i64.const 0)))
  (func (export "make-other") (result (ref $other)) (struct.new $other (i32.const 0)))
  (func (export "read-global") (result i32) (struct.get $t 0 (global.get $g)))
  (func (export "read-table") (param i32) (result i32) (struct.get $t 0 (table.get $tab (local.get 0))))
  (func (export "via-host") (param anyref) (result i32) (struct.get $t 0 (call $pass (local.get 0))))
)
"#;

#[test]
fn globals_tables_and_host_functions_check_struct_types() {
    let engine = shared_everything_engine();
    let module = Module::new(&engine, CONTAINERS).unwrap();
    let mut store = Store::new(&engine, ());
    // The host function's result type is the module's `(ref null $t)`, taken from the import.
    let import_ty = match module.imports().next().unwrap().ty() {
        ExternType::Func(ty) => ty.clone(),
        other => panic!("a function import, got {other:?}"),
    };
    let pass = Func::new(&mut store, import_ty, |_, params, results| {
        results[0] = params[0].clone();
        Ok(())
    })
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[Extern::Func(pass)]).unwrap();
    let t = call(&mut store, &instance, "make-t", &[Val::I32(1)]).unwrap();
    let sub = call(&mut store, &instance, "make-sub", &[Val::I32(2)]).unwrap();
    let other = call(&mut store, &instance, "make-other", &[]).unwrap();

    // Globals.
    let global = instance.get_global(&mut store, "g").unwrap();
    let error = global.set(&mut store, other.clone()).unwrap_err();
    assert!(matches!(error, Error::Usage(_)), "{error}");
    let trap = trap_of(
        call(&mut store, &instance, "read-global", &[]),
        "null structure reference",
    );
    assert_eq!(trap, Trap::NullStructReference);
    global.set(&mut store, sub.clone()).unwrap();
    assert_eq!(i32_of(call(&mut store, &instance, "read-global", &[])), 2);
    let Val::AnyRef(Some(sub_ref)) = sub.clone() else {
        panic!("make-sub returns a struct");
    };
    let read_back = global.get(&mut store);
    assert!(
        matches!(read_back, Val::AnyRef(Some(got)) if got == sub_ref),
        "{read_back:?}"
    );

    // Tables.
    let table = instance.get_table(&mut store, "tab").unwrap();
    let error = table.set(&mut store, 0, other.clone()).unwrap_err();
    assert!(matches!(error, Error::Usage(_)), "{error}");
    table.set(&mut store, 0, t.clone()).unwrap();
    table.set(&mut store, 1, sub.clone()).unwrap();
    assert_eq!(
        i32_of(call(&mut store, &instance, "read-table", &[Val::I32(0)])),
        1
    );
    assert_eq!(
        i32_of(call(&mut store, &instance, "read-table", &[Val::I32(1)])),
        2
    );

    // Host functions: a result of the wrong struct type is refused.
    assert_eq!(
        i32_of(call(&mut store, &instance, "via-host", from_ref(&sub))),
        2
    );
    let error = call(&mut store, &instance, "via-host", &[other]).unwrap_err();
    assert!(error.to_string().contains("result 0"), "{error}");
    assert_eq!(i32_of(call(&mut store, &instance, "via-host", &[t])), 1);
}

/// The concrete type of the first result of export `name`.
fn result_type(store: &mut Store<()>, instance: &Instance, name: &str) -> ConcreteType {
    let func = instance.get_func(&mut *store, name).expect("export exists");
    match func.ty(&*store).results()[0].clone() {
        ValType::Ref(reference) => match reference.heap_type() {
            HeapType::Concrete(ty) => ty.clone(),
            other => panic!("{name} returns {other}, not a concrete reference"),
        },
        other => panic!("{name} returns {other}"),
    }
}

#[test]
fn the_host_allocates_structs_and_arrays_that_wasm_reads() {
    let (mut store, instance) = objects();
    let point_type = result_type(&mut store, &instance, "make-point");
    let point = AnyRef::new_struct(&mut store, &point_type, &[Val::I32(5), Val::I64(-9)])
        .expect("fields fit");
    let point = Val::from(point);
    assert_eq!(
        i32_of(call(&mut store, &instance, "point-x", from_ref(&point))),
        5
    );
    let y = call(&mut store, &instance, "point-y", from_ref(&point)).unwrap();
    assert_eq!(y.i64(), Some(-9));

    // A host-made subtype passes where its supertype is expected, and casts see its type.
    let sub_type = result_type(&mut store, &instance, "make-sub");
    let sub = Val::from(
        AnyRef::new_struct(
            &mut store,
            &sub_type,
            &[Val::I32(11), Val::F64(0.5f64.to_bits())],
        )
        .unwrap(),
    );
    assert_eq!(
        i32_of(call(&mut store, &instance, "read-t", from_ref(&sub))),
        11
    );
    assert_eq!(
        i32_of(call(&mut store, &instance, "classify", from_ref(&sub))),
        1
    );

    let ints_type = result_type(&mut store, &instance, "make-ints");
    let ints = Val::from(AnyRef::new_array(&mut store, &ints_type, &Val::I32(7), 3).unwrap());
    assert_eq!(
        i32_of(call(&mut store, &instance, "ints-len", from_ref(&ints))),
        3
    );
    assert_eq!(
        i32_of(call(
            &mut store,
            &instance,
            "ints-get",
            &[ints.clone(), Val::I32(2)]
        )),
        7
    );
    let zeros = Val::from(AnyRef::new_array_default(&mut store, &ints_type, 2).unwrap());
    assert_eq!(
        i32_of(call(
            &mut store,
            &instance,
            "ints-get",
            &[zeros, Val::I32(1)]
        )),
        0
    );
    let t_type = result_type(&mut store, &instance, "make-t");
    let t = Val::from(AnyRef::new_struct_default(&mut store, &t_type).unwrap());
    assert_eq!(i32_of(call(&mut store, &instance, "read-t", &[t])), 0);
}

#[test]
fn host_allocation_checks_types_counts_and_the_heap_limit() {
    let (mut store, instance) = objects();
    let point_type = result_type(&mut store, &instance, "make-point");
    let ints_type = result_type(&mut store, &instance, "make-ints");
    let error = AnyRef::new_struct(&mut store, &point_type, &[Val::I64(5), Val::I64(9)]);
    assert!(
        matches!(
            error,
            Err(Error::Usage(UsageError::ArgumentType { index: 0, .. }))
        ),
        "{error:?}"
    );
    let error = AnyRef::new_struct(&mut store, &point_type, &[Val::I32(5)]);
    assert!(
        matches!(
            error,
            Err(Error::Usage(UsageError::ArgumentCount {
                expected: 2,
                given: 1
            }))
        ),
        "{error:?}"
    );
    let error = AnyRef::new_struct(&mut store, &ints_type, &[]);
    assert!(
        matches!(error, Err(Error::Usage(UsageError::UnsupportedType(_)))),
        "{error:?}"
    );
    let error = AnyRef::new_array(&mut store, &ints_type, &Val::F32(0), 1);
    assert!(
        matches!(error, Err(Error::Usage(UsageError::ArgumentType { .. }))),
        "{error:?}"
    );

    // A field without a default value refuses the default constructor.
    let (mut store, instance) = instantiate_with(
        &shared_everything_engine(),
        r#"(module
             (type $inner (struct))
             (type $outer (struct (field (ref $inner))))
             (func (export "make") (result (ref $outer))
               (struct.new $outer (struct.new $inner))))"#,
    );
    let outer_type = result_type(&mut store, &instance, "make");
    let error = AnyRef::new_struct_default(&mut store, &outer_type);
    assert!(error.unwrap_err().to_string().contains("no default value"));

    // The host shares the store's heap limit with wasm, and the store stays usable.
    let engine = small_heap_engine();
    let (mut store, instance) = instantiate_with(&engine, OBJECTS);
    let ints_type = result_type(&mut store, &instance, "make-ints");
    let error = AnyRef::new_array(&mut store, &ints_type, &Val::I32(1), 10_000).unwrap_err();
    assert_eq!(error.trap(), Some(Trap::AllocationTooLarge));
    let small = Val::from(AnyRef::new_array(&mut store, &ints_type, &Val::I32(4), 4).unwrap());
    assert_eq!(i32_of(call(&mut store, &instance, "ints-len", &[small])), 4);
}
