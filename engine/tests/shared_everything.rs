//! The parts of the shared-everything-threads proposal that run today: atomic operations on
//! globals and tables, shared function types, and the validation rules wasmparser leaves to
//! engines.

use weft::*;

mod support;

use support::shared_everything_engine as engine;

#[test]
fn global_atomics_read_modify_write_and_return_the_old_value() {
    let engine = engine();
    let module = Module::new(
        &engine,
        r#"(module
             (global $s (shared mut i32) (i32.const 10))
             (global $u (mut i64) (i64.const 7))
             (func (export "add") (param i32) (result i32) (global.atomic.rmw.add seqcst $s (local.get 0)))
             (func (export "sub") (param i32) (result i32) (global.atomic.rmw.sub acqrel $s (local.get 0)))
             (func (export "and") (param i64) (result i64) (global.atomic.rmw.and seqcst $u (local.get 0)))
             (func (export "or") (param i64) (result i64) (global.atomic.rmw.or seqcst $u (local.get 0)))
             (func (export "xor") (param i64) (result i64) (global.atomic.rmw.xor acqrel $u (local.get 0)))
             (func (export "xchg") (param i32) (result i32) (global.atomic.rmw.xchg seqcst $s (local.get 0)))
             (func (export "cmpxchg") (param i32 i32) (result i32)
               (global.atomic.rmw.cmpxchg seqcst $s (local.get 0) (local.get 1)))
             (func (export "get_s") (result i32) (global.atomic.get seqcst $s))
             (func (export "set_u") (param i64) (global.atomic.set acqrel $u (local.get 0)))
             (func (export "get_u") (result i64) (global.atomic.get acqrel $u)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let i32_op = |store: &mut Store<()>, name: &str, x: i32| {
        instance
            .get_typed_func::<i32, i32>(&mut *store, name)
            .unwrap()
            .call(store, x)
            .unwrap()
    };
    let i64_op = |store: &mut Store<()>, name: &str, x: i64| {
        instance
            .get_typed_func::<i64, i64>(&mut *store, name)
            .unwrap()
            .call(store, x)
            .unwrap()
    };
    assert_eq!(i32_op(&mut store, "add", 5), 10);
    assert_eq!(i32_op(&mut store, "sub", 3), 15);
    assert_eq!(i32_op(&mut store, "xchg", 100), 12);
    let cmpxchg = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "cmpxchg")
        .unwrap();
    assert_eq!(
        cmpxchg.call(&mut store, (1, 2)).unwrap(),
        100,
        "mismatch leaves the value"
    );
    assert_eq!(
        cmpxchg.call(&mut store, (100, 2)).unwrap(),
        100,
        "match replaces it"
    );
    let get_s = instance
        .get_typed_func::<(), i32>(&mut store, "get_s")
        .unwrap();
    assert_eq!(get_s.call(&mut store, ()).unwrap(), 2);

    assert_eq!(i64_op(&mut store, "and", 0b110), 7);
    assert_eq!(i64_op(&mut store, "or", 0b1000), 0b110);
    assert_eq!(i64_op(&mut store, "xor", -1), 0b1110);
    let set_u = instance
        .get_typed_func::<i64, ()>(&mut store, "set_u")
        .unwrap();
    set_u.call(&mut store, i64::MIN).unwrap();
    let get_u = instance
        .get_typed_func::<(), i64>(&mut store, "get_u")
        .unwrap();
    assert_eq!(get_u.call(&mut store, ()).unwrap(), i64::MIN);
}

#[test]
fn a_shared_global_may_only_be_initialized_from_shared_globals() {
    let engine = engine();
    Module::new(
        &engine,
        "(module (global $a (shared i32) (i32.const 1)) (global (shared i32) (global.get $a)))",
    )
    .unwrap();
    let error = Module::new(
        &engine,
        "(module (global $a i32 (i32.const 1)) (global (shared i32) (global.get $a)))",
    )
    .unwrap_err();
    assert!(
        matches!(&error, Error::Compile(CompileError::Invalid { message, .. }) if message.contains("not shared")),
        "{error}"
    );
}

fn invalid_message(engine: &Engine, wat: &str) -> String {
    match Module::new(engine, wat) {
        Err(Error::Compile(CompileError::Invalid { message, .. })) => message,
        Err(error) => panic!("expected an invalid module, got {error}"),
        Ok(_) => panic!("expected an invalid module"),
    }
}

#[test]
fn a_shared_function_may_not_touch_an_unshared_memory() {
    let engine = engine();
    let accesses = [
        "(drop (i32.load (i32.const 0)))",
        "(i64.store8 (i32.const 0) (i64.const 1))",
        "(drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))",
        "(drop (memory.size))",
        "(drop (memory.grow (i32.const 0)))",
        "(memory.fill (i32.const 0) (i32.const 0) (i32.const 0))",
        "(memory.copy $u $s (i32.const 0) (i32.const 0) (i32.const 0))",
        "(memory.copy $s $u (i32.const 0) (i32.const 0) (i32.const 0))",
        "(drop (v128.load (i32.const 0)))",
    ];
    for access in accesses {
        let message = invalid_message(
            &engine,
            &format!(
                "(module (memory $u 1) (memory $s 1 1 shared)
                   (type $f (shared (func)))
                   (func (type $f) {access}))"
            ),
        );
        assert_eq!(
            message, "shared functions cannot access unshared memories",
            "{access}"
        );
    }
}

#[test]
fn a_shared_function_may_not_touch_a_segment() {
    let engine = engine();
    let cases = [
        (
            "(memory.init $d (i32.const 0) (i32.const 0) (i32.const 0))",
            "data segments",
        ),
        ("(data.drop $d)", "data segments"),
        (
            "(table.init $t $e (i32.const 0) (i32.const 0) (i32.const 0))",
            "element segments",
        ),
        ("(elem.drop $e)", "element segments"),
    ];
    for (access, what) in cases {
        let message = invalid_message(
            &engine,
            &format!(
                "(module (memory 1 1 shared) (table $t shared 1 1 (ref null (shared func)))
                   (type $f (shared (func)))
                   (data $d \"x\")
                   (elem $e (ref null (shared func)))
                   (func (type $f) {access}))"
            ),
        );
        assert_eq!(
            message,
            format!("shared functions cannot access unshared {what}"),
            "{access}"
        );
    }
}

#[test]
fn a_shared_function_may_not_have_locals_of_unshared_types() {
    let engine = engine();
    for local in ["funcref", "externref", "(ref null $u)"] {
        let message = invalid_message(
            &engine,
            &format!(
                "(module (type $u (func)) (type $f (shared (func)))
                   (func (type $f) (local i32 {local})))"
            ),
        );
        assert!(
            message.starts_with("shared functions cannot have locals of unshared type"),
            "{local}: {message}"
        );
    }
    // An unshared function may declare the same locals.
    Module::new(
        &engine,
        "(module (type $u (func)) (func (local funcref externref (ref null $u))))",
    )
    .unwrap();
}

#[test]
fn a_conforming_shared_function_compiles_and_runs() {
    let engine = engine();
    let module = Module::new(
        &engine,
        r#"(module
             (memory 1 1 shared)
             (type $s (shared (func (param i32) (result i32))))
             (global $g (shared mut i32) (i32.const 5))
             (func $f (export "f") (type $s)
               (local i64 (ref null (shared func)) (ref null $s) (ref null (shared any)))
               (local.set 2 (ref.func $f))
               (i32.store (i32.const 0) (local.get 0))
               (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
               (drop (memory.grow (i32.const 0)))
               (i32.add (i32.load (i32.const 0)) (global.get $g))))"#,
    )
    .unwrap();
    let export = module.exports().next().unwrap();
    let ExternType::Func(ty) = export.ty() else {
        panic!("f is a function");
    };
    assert!(ty.is_shared());
    assert_eq!(ty, &FuncType::shared([ValType::I32], [ValType::I32]));
    assert_eq!(ty.to_string(), "(shared (func (param i32) (result i32)))");
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let f = instance
        .get_typed_func::<i32, i32>(&mut store, "f")
        .unwrap();
    assert_eq!(f.call(&mut store, 10).unwrap(), 16);
}

#[test]
fn a_shared_function_does_not_fit_a_funcref_table() {
    let engine = engine();
    let module = Module::new(
        &engine,
        r#"(module
             (type $s (shared (func)))
             (table (export "t") 1 funcref)
             (func (export "f") (type $s)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let table = instance.get_table(&mut store, "t").unwrap();
    let func = instance.get_func(&mut store, "f").unwrap();
    assert!(table.set(&mut store, 0, Val::FuncRef(Some(func))).is_err());
}

#[test]
fn shared_and_unshared_function_types_differ_for_imports() {
    let engine = engine();
    assert_ne!(FuncType::shared([], []), FuncType::new([], []));
    let exporter = Module::new(
        &engine,
        r#"(module
             (type $s (shared (func)))
             (type $u (func))
             (func (export "shared") (type $s))
             (func (export "unshared") (type $u)))"#,
    )
    .unwrap();
    let importer = |ty: &str| {
        Module::new(
            &engine,
            format!("(module (type $t {ty}) (import \"m\" \"f\" (func (type $t))))"),
        )
        .unwrap()
    };
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &exporter, &[]).unwrap();
    for (import, export, fits) in [
        ("(shared (func))", "shared", true),
        ("(func)", "unshared", true),
        ("(shared (func))", "unshared", false),
        ("(func)", "shared", false),
    ] {
        let func = instance.get_func(&mut store, export).unwrap();
        let result = Instance::new(&mut store, &importer(import), &[func.into()]);
        assert_eq!(
            result.is_ok(),
            fits,
            "{import} from {export}: {:?}",
            result.err()
        );
    }

    let mut linker = Linker::new(&engine);
    linker
        .func_new("m", "f", FuncType::shared([], []), |_, _, _| Ok(()))
        .unwrap();
    assert!(
        linker
            .instantiate(&mut store, &importer("(shared (func))"))
            .is_ok()
    );
    assert!(linker.instantiate(&mut store, &importer("(func)")).is_err());
}

#[test]
fn table_atomics_exchange_and_compare_exchange_whole_elements() {
    let engine = engine();
    let module = Module::new(
        &engine,
        r#"(module
             (table $t 2 (ref null (shared i31)))
             (func (export "set") (param i32 i32)
               (table.atomic.set seqcst $t (local.get 0) (ref.i31_shared (local.get 1))))
             (func (export "get") (param i32) (result i32)
               (i31.get_s (table.atomic.get acqrel $t (local.get 0))))
             (func (export "xchg") (param i32 i32) (result i32)
               (i31.get_s (table.atomic.rmw.xchg seqcst $t (local.get 0) (ref.i31_shared (local.get 1)))))
             (func (export "claim") (param i32 i32) (result i32)
               ;; Claims an empty slot: succeeds (returns 1) only if it still holds null.
               (ref.is_null (table.atomic.rmw.cmpxchg seqcst $t (local.get 0)
                 (ref.null (shared i31)) (ref.i31_shared (local.get 1))))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let claim = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "claim")
        .unwrap();
    assert_eq!(claim.call(&mut store, (0, 7)).unwrap(), 1);
    assert_eq!(
        claim.call(&mut store, (0, 8)).unwrap(),
        0,
        "the slot is taken"
    );
    let get = instance
        .get_typed_func::<i32, i32>(&mut store, "get")
        .unwrap();
    assert_eq!(get.call(&mut store, 0).unwrap(), 7);
    let xchg = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "xchg")
        .unwrap();
    assert_eq!(xchg.call(&mut store, (0, -3)).unwrap(), 7);
    let set = instance
        .get_typed_func::<(i32, i32), ()>(&mut store, "set")
        .unwrap();
    set.call(&mut store, (1, 42)).unwrap();
    assert_eq!(get.call(&mut store, 1).unwrap(), 42);
    assert_eq!(get.call(&mut store, 0).unwrap(), -3);
    assert_eq!(
        get.call(&mut store, 2).unwrap_err().trap(),
        Some(Trap::TableOutOfBounds)
    );
}
