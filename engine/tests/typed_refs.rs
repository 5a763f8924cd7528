//! Typed function references end to end: `call_ref`, non-null checks, `br_on_null` and
//! `br_on_non_null`, and typed references crossing the embedding API.

mod support;

use support::{call, i32_of, instantiate_with};
use weft::*;

const MODULE: &str = r#"(module
  (type $ii (func (param i32) (result i32)))
  (func $inc (type $ii) (i32.add (local.get 0) (i32.const 1)))
  (func $nop)
  (table $t 2 (ref null $ii))
  (elem (table $t) (i32.const 1) (ref null $ii) (ref.func $inc))
  (global $g (export "g") (ref $ii) (ref.func $inc))
  (elem declare func $nop)
  (func (export "via-global") (param i32) (result i32)
    (call_ref $ii (local.get 0) (global.get $g)))
  (func (export "via-table") (param i32 i32) (result i32)
    (call_ref $ii (local.get 0) (table.get $t (local.get 1))))
  (func (export "as-non-null") (param (ref null $ii)) (result i32)
    (call_ref $ii (i32.const 10) (ref.as_non_null (local.get 0))))
  (func (export "br-on-null") (param (ref null $ii)) (result i32)
    (block $null
      (return (call_ref $ii (i32.const 41) (br_on_null $null (local.get 0)))))
    (i32.const -1))
  (func (export "br-on-non-null") (param (ref null $ii)) (result i32)
    (call_ref $ii (i32.const 9)
      (block $some (result (ref $ii))
        (br_on_non_null $some (local.get 0))
        (return (i32.const -2)))))
  (func (export "apply") (param (ref $ii) i32) (result i32)
    (call_ref $ii (local.get 1) (local.get 0)))
  (func (export "inc") (result (ref $ii)) (ref.func $inc))
  (func (export "nop") (result (ref func)) (ref.func $nop)))"#;

fn setup() -> (Store<()>, Instance) {
    instantiate_with(&Engine::default(), MODULE)
}

#[test]
fn call_ref_through_a_typed_global_and_table() {
    let (mut store, instance) = setup();
    assert_eq!(
        i32_of(call(&mut store, &instance, "via-global", &[Val::I32(1)])),
        2
    );
    let via_table = &[Val::I32(5), Val::I32(1)];
    assert_eq!(
        i32_of(call(&mut store, &instance, "via-table", via_table)),
        6
    );
    let null = call(
        &mut store,
        &instance,
        "via-table",
        &[Val::I32(5), Val::I32(0)],
    );
    assert_eq!(null.unwrap_err().trap(), Some(Trap::NullFunctionReference));
}

#[test]
fn null_references_trap_and_branch() {
    let (mut store, instance) = setup();
    let null = [Val::FuncRef(None)];
    let trap = call(&mut store, &instance, "as-non-null", &null).unwrap_err();
    assert_eq!(trap.trap(), Some(Trap::NullReference));
    assert_eq!(trap.trap().unwrap().to_string(), "null reference");
    assert_eq!(i32_of(call(&mut store, &instance, "br-on-null", &null)), -1);
    assert_eq!(
        i32_of(call(&mut store, &instance, "br-on-non-null", &null)),
        -2
    );

    let inc = [call(&mut store, &instance, "inc", &[]).unwrap()];
    assert_eq!(i32_of(call(&mut store, &instance, "as-non-null", &inc)), 11);
    assert_eq!(i32_of(call(&mut store, &instance, "br-on-null", &inc)), 42);
    assert_eq!(
        i32_of(call(&mut store, &instance, "br-on-non-null", &inc)),
        10
    );
}

#[test]
fn typed_references_cross_the_api_with_their_types_checked() {
    let (mut store, instance) = setup();
    let ii = FuncType::new([ValType::I32], [ValType::I32]);
    let typed = RefType::new(false, HeapType::ConcreteFunc(ii.clone()));
    let apply = instance.get_func(&mut store, "apply").unwrap();
    assert_eq!(apply.ty(&store).params()[0], ValType::Ref(typed.clone()));
    assert_eq!(
        apply.ty(&store).params()[0].to_string(),
        "(ref (func (param i32) (result i32)))"
    );

    let inc = call(&mut store, &instance, "inc", &[]).unwrap();
    assert!(inc.matches_ty(&store, &ValType::Ref(typed.clone())));
    assert_eq!(
        i32_of(call(&mut store, &instance, "apply", &[inc, Val::I32(1)])),
        2
    );

    // A function of another signature, and a null, do not fit a non-null `(ref $ii)`.
    let nop = call(&mut store, &instance, "nop", &[]).unwrap();
    assert!(nop.matches_ty(&store, &ValType::FUNCREF));
    assert!(!nop.matches_ty(&store, &ValType::Ref(typed)));
    for wrong in [nop, Val::FuncRef(None)] {
        let error = call(&mut store, &instance, "apply", &[wrong, Val::I32(1)]).unwrap_err();
        assert!(error.trap().is_none(), "{error}");
    }

    let global = instance.get_global(&mut store, "g").unwrap();
    let content = global.ty(&store).content().clone();
    assert_eq!(
        content,
        ValType::Ref(RefType::new(false, HeapType::ConcreteFunc(ii)))
    );
    assert!(global.get(&mut store).matches_ty(&store, &content));
}
