//! i31 references and the abstract heap types of the any hierarchy, shared and unshared:
//! `ref.i31`/`ref.i31_shared`, `i31.get_s`/`i31.get_u`, `ref.eq`, and i31s crossing the
//! embedding API.

mod support;

use support::{call, i32_of, instantiate_with, shared_everything_engine};
use weft::*;

/// The same functions for `i31` and `(shared i31)`: `$ref` names the heap type and `$new`
/// the instruction that builds one.
fn module_text(shared: bool) -> String {
    let (i31, eq, new) = if shared {
        ("(shared i31)", "(shared eq)", "ref.i31_shared")
    } else {
        ("i31", "eq", "ref.i31")
    };
    format!(
        r#"(module
  (global $g (ref {i31}) ({new} (i32.const -5)))
  (table $t 2 (ref null {eq}))
  (func (export "new") (param i32) (result (ref {i31})) ({new} (local.get 0)))
  (func (export "get_s") (param i32) (result i32) (i31.get_s ({new} (local.get 0))))
  (func (export "get_u") (param i32) (result i32) (i31.get_u ({new} (local.get 0))))
  (func (export "get_s-ref") (param (ref null {i31})) (result i32) (i31.get_s (local.get 0)))
  (func (export "get_u-ref") (param (ref null {i31})) (result i32) (i31.get_u (local.get 0)))
  (func (export "get_s-null") (result i32) (i31.get_s (ref.null {i31})))
  (func (export "get_u-null") (result i32) (i31.get_u (ref.null {i31})))
  (func (export "global") (result i32) (i31.get_s (global.get $g)))
  (func (export "eq") (param i32 i32) (result i32)
    (ref.eq ({new} (local.get 0)) ({new} (local.get 1))))
  (func (export "eq-null") (param i32) (result i32)
    (ref.eq ({new} (local.get 0)) (ref.null {eq})))
  (func (export "eq-nulls") (result i32) (ref.eq (ref.null {eq}) (ref.null {i31})))
  (func (export "eq-table") (param i32) (result i32)
    (table.set $t (i32.const 1) ({new} (local.get 0)))
    (ref.eq (table.get $t (i32.const 0)) (table.get $t (i32.const 1))))
  (func (export "is-null") (param (ref null {eq})) (result i32) (ref.is_null (local.get 0))))"#
    )
}

fn setup(shared: bool) -> (Store<()>, Instance) {
    instantiate_with(&shared_everything_engine(), &module_text(shared))
}

fn i31(value: i32) -> Val {
    Val::from(AnyRef::I31(I31::wrapping_i32(value)))
}

#[test]
fn round_trips_extend_at_the_31_bit_boundary() {
    for shared in [false, true] {
        let (mut store, instance) = setup(shared);
        for (value, signed, unsigned) in [
            (0, 0, 0),
            (100, 100, 100),
            (-1, -1, 0x7fff_ffff),
            (0x3fff_ffff, 0x3fff_ffff, 0x3fff_ffff),
            (0x4000_0000, -0x4000_0000, 0x4000_0000),
            (0x7fff_ffff, -1, 0x7fff_ffff),
            (i32::MIN, 0, 0),
            (0xcaaa_aaaau32 as i32, 0xcaaa_aaaau32 as i32, 0x4aaa_aaaa),
        ] {
            let arg = [Val::I32(value)];
            assert_eq!(i32_of(call(&mut store, &instance, "get_s", &arg)), signed);
            assert_eq!(i32_of(call(&mut store, &instance, "get_u", &arg)), unsigned);

            // The same value leaves wasm as a `Val` and comes back unchanged.
            let Val::AnyRef(Some(AnyRef::I31(got))) =
                call(&mut store, &instance, "new", &arg).expect("new")
            else {
                panic!("`new` returns an i31");
            };
            assert_eq!((got.get_s(), got.get_u()), (signed, unsigned as u32));
            let back = [Val::from(AnyRef::I31(got))];
            assert_eq!(
                i32_of(call(&mut store, &instance, "get_s-ref", &back)),
                signed
            );
            assert_eq!(
                i32_of(call(&mut store, &instance, "get_u-ref", &back)),
                unsigned
            );
        }
        assert_eq!(i32_of(call(&mut store, &instance, "global", &[])), -5);
    }
}

#[test]
fn null_i31_traps() {
    for shared in [false, true] {
        let (mut store, instance) = setup(shared);
        for name in ["get_s-null", "get_u-null"] {
            let error = call(&mut store, &instance, name, &[]).unwrap_err();
            assert_eq!(error.trap(), Some(Trap::NullI31Reference), "{name}");
            assert!(error.to_string().contains("null i31 reference"), "{error}");
        }
        let null = [Val::AnyRef(None)];
        let error = call(&mut store, &instance, "get_u-ref", &null).unwrap_err();
        assert_eq!(error.trap(), Some(Trap::NullI31Reference));
    }
}

#[test]
fn ref_eq_compares_i31_values_and_nulls() {
    for shared in [false, true] {
        let (mut store, instance) = setup(shared);
        let eq = |store: &mut Store<()>, a: i32, b: i32| {
            i32_of(call(store, &instance, "eq", &[Val::I32(a), Val::I32(b)]))
        };
        assert_eq!(eq(&mut store, 7, 7), 1);
        assert_eq!(eq(&mut store, 7, 8), 0);
        // `ref.i31` drops the top bit, so these are the same i31.
        assert_eq!(eq(&mut store, 1, 1 | i32::MIN), 1);
        assert_eq!(eq(&mut store, -1, 0x7fff_ffff), 1);
        for value in [0, 1, -1] {
            let arg = [Val::I32(value)];
            assert_eq!(i32_of(call(&mut store, &instance, "eq-null", &arg)), 0);
            // The table's slot 0 is null, and an i31 of 0 must not look like it.
            assert_eq!(i32_of(call(&mut store, &instance, "eq-table", &arg)), 0);
        }
        assert_eq!(i32_of(call(&mut store, &instance, "eq-nulls", &[])), 1);
        assert_eq!(
            i32_of(call(&mut store, &instance, "is-null", &[Val::AnyRef(None)])),
            1
        );
        assert_eq!(i32_of(call(&mut store, &instance, "is-null", &[i31(0)])), 0);
    }
}

#[test]
fn types_follow_the_any_hierarchy_within_one_sharedness() {
    let i31_ty = |shared| {
        RefType::new(
            false,
            HeapType::Abstract {
                shared,
                ty: AbstractHeapType::I31,
            },
        )
    };
    let eq_ty = |shared| {
        RefType::new(
            true,
            HeapType::Abstract {
                shared,
                ty: AbstractHeapType::Eq,
            },
        )
    };
    for shared in [false, true] {
        assert!(i31_ty(shared).matches(&eq_ty(shared)));
        assert!(!eq_ty(shared).matches(&i31_ty(shared)));
        assert!(!i31_ty(shared).matches(&eq_ty(!shared)));
    }
    assert_eq!(i31_ty(true).to_string(), "(ref (shared i31))");
    assert_eq!(eq_ty(false).to_string(), "eqref");

    let (mut store, instance) = setup(true);
    let func = instance.get_func(&mut store, "new").expect("export");
    let results = func.ty(&store).results().to_vec();
    assert_eq!(results, [ValType::Ref(i31_ty(true))]);
    assert!(i31(3).matches_ty(&store, &results[0]));
    assert!(!Val::AnyRef(None).matches_ty(&store, &results[0]));
    assert!(!Val::ExternRef(None).matches_ty(&store, &ValType::Ref(eq_ty(true))));

    // An externref is not an i31, so a host cannot pass one where wasm expects an i31.
    let error = call(&mut store, &instance, "get_s-ref", &[Val::ExternRef(None)]).unwrap_err();
    assert!(error.trap().is_none(), "{error}");
}

/// Function references are not in the eq hierarchy, so `ref.eq` never sees one, and shared
/// and unshared operands do not mix.
#[test]
fn ref_eq_rejects_funcrefs_and_mixed_sharedness() {
    let engine = shared_everything_engine();
    for text in [
        "(module (func $f) (elem declare func $f)
           (func (result i32) (ref.eq (ref.func $f) (ref.func $f))))",
        "(module (func (result i32) (ref.eq (ref.i31 (i32.const 0)) (ref.i31_shared (i32.const 0)))))",
    ] {
        let error = Module::new(&engine, text).unwrap_err();
        assert!(error.to_string().contains("type mismatch"), "{error}");
    }
}
