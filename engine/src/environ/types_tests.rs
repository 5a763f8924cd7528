//! The registry keeps exactly the types something holds: modules while they live, groups
//! that refer to others, and what is pinned.

use super::{ModuleTypes, TypeRegistry};
use crate::environ::ModuleInfo;

fn info(wat: &str) -> ModuleInfo {
    ModuleInfo::parse(&wat::parse_str(wat).expect("valid text")).expect("a parsable module")
}

const POINT: &str = r#"(module
    (type $point (sub (struct (field i32) (field i32))))
    (type $point3 (sub $point (struct (field i32) (field i32) (field i32))))
    (type $make (func (param i32) (result (ref $point)))))"#;

#[test]
fn a_module_s_types_go_when_it_releases_them() {
    let mut registry = TypeRegistry::default();
    let types = ModuleTypes::register(&mut registry, &info(POINT)).expect("registers");
    assert_eq!(registry.len(), 3);
    registry.release(&types.groups);
    assert_eq!(registry.len(), 0);
}

#[test]
fn a_group_two_modules_declare_stays_until_both_release_it() {
    let mut registry = TypeRegistry::default();
    let first = ModuleTypes::register(&mut registry, &info(POINT)).expect("registers");
    let second = ModuleTypes::register(&mut registry, &info(POINT)).expect("registers");
    assert_eq!(first.ids, second.ids);
    registry.release(&first.groups);
    assert_eq!(registry.len(), 3);
    assert!(registry.is_subtype(second.ids[1], second.ids[0]));
    registry.release(&second.groups);
    assert_eq!(registry.len(), 0);
}

#[test]
fn a_group_another_refers_to_stays_while_the_other_does() {
    let mut registry = TypeRegistry::default();
    let holder = ModuleTypes::register(
        &mut registry,
        &info(r#"(module (type $s (struct (field i64))))"#),
    )
    .expect("registers");
    let user = ModuleTypes::register(
        &mut registry,
        &info(r#"(module (type $s (struct (field i64))) (type (func (param (ref $s)))))"#),
    )
    .expect("registers");
    assert_eq!(registry.len(), 2);
    // The struct is the holder's and the function type's: releasing the holder keeps it.
    registry.release(&holder.groups);
    assert_eq!(registry.len(), 2);
    registry.release(&user.groups);
    assert_eq!(registry.len(), 0);
}

#[test]
fn forgotten_ids_are_reused_and_pinned_groups_stay() {
    let mut registry = TypeRegistry::default();
    let before = ModuleTypes::register(&mut registry, &info(POINT)).expect("registers");
    registry.release(&before.groups);
    assert!(registry.find(before.ids[0]).is_none());
    let after = ModuleTypes::register(&mut registry, &info(POINT)).expect("registers");
    assert_eq!(after.ids, before.ids);
    // Compiling and dropping more modules than ids fit in a type reference never runs out.
    for fields in 0..(1 << 20) + 10 {
        let wat = format!(
            "(module (type (struct {})))",
            "(field i32) ".repeat(fields % 7 + 1)
        );
        let types = ModuleTypes::register(&mut registry, &info(&wat)).expect("registers");
        registry.release(&types.groups);
    }
    registry.pin(after.ids[1]);
    registry.release(&after.groups);
    // The pinned subtype keeps its own group, and that group its supertype's.
    assert!(registry.find(after.ids[1]).is_some());
    assert!(registry.find(after.ids[0]).is_some());
}

/// An engine that compiles and drops module after module, each with types of its own, ends
/// with the types it started with.
#[test]
fn an_engine_forgets_the_types_of_dropped_modules() {
    let engine = crate::Engine::default();
    let baseline = engine.types().len();
    for fields in 1..60 {
        let wat = format!(
            "(module (type $s (struct {})) (type (func (param (ref null $s)) (result i32))) \
             (func (export \"f\") (param (ref null $s)) (result i32) (i32.const {fields})))",
            "(field i32) ".repeat(fields)
        );
        let module = crate::Module::new(&engine, &wat).expect("compiles");
        assert!(engine.types().len() > baseline);
        drop(module);
    }
    assert_eq!(engine.types().len(), baseline);
    // A module that fails to compile after registering its types releases them too.
    let mut config = crate::Config::new();
    config.wasm_features(crate::WasmFeatures::all());
    let engine = crate::Engine::new(&config).expect("an engine");
    let refused = crate::Module::new(
        &engine,
        "(module (type $s (struct (field i32))) (memory 1 (pagesize 1)))",
    );
    assert!(
        matches!(refused, Err(crate::Error::Compile(_))),
        "{:?}",
        refused.err()
    );
    assert_eq!(engine.types().len(), baseline);
}

/// The type of `f`'s parameter in a module declaring `(struct (field i32))`, once the module
/// is dropped: a reference naming that struct type by id, as a host takes it from a module.
fn struct_reference(engine: &crate::Engine) -> crate::RefType {
    let module = crate::Module::new(
        engine,
        "(module (type $s (struct (field i32))) (func (export \"f\") (param (ref null $s))))",
    )
    .expect("compiles");
    let export_type = module.exports().next().expect("one export").ty().clone();
    let crate::ExternType::Func(func_type) = export_type else {
        panic!("a function export")
    };
    let crate::ValType::Ref(reference) = func_type.params()[0].clone() else {
        panic!("a reference parameter")
    };
    reference
}

/// A type the API handed out by id stays registered while the API value lives, after its
/// module is gone: hosts take struct types from a module they then drop.
#[test]
fn an_api_type_keeps_its_type_after_the_module_is_dropped() {
    let engine = crate::Engine::default();
    let baseline = engine.types().len();
    let reference = struct_reference(&engine);
    let crate::HeapType::Concrete(struct_type) = reference.heap_type().clone() else {
        panic!("a concrete type")
    };
    drop(reference);
    assert_eq!(engine.types().len(), baseline + 1);
    let mut store = crate::Store::new(&engine, ());
    crate::AnyRef::new_struct_default(&mut store, &struct_type).expect("a struct of it");
    drop(struct_type);
    // The object made from it pins the type: the store's objects point at its descriptor.
    assert_eq!(engine.types().len(), baseline + 1);
}

/// A host global or table whose type names a concrete type by id keeps that type: its type
/// is checked against importing modules long after the API value that named it is gone,
/// and a forgotten id would be given to another group.
#[test]
fn host_globals_and_tables_keep_the_concrete_types_they_name() {
    let engine = crate::Engine::default();
    let baseline = engine.types().len();
    let reference = struct_reference(&engine);
    let mut store = crate::Store::new(&engine, ());
    let global_type = crate::GlobalType::new(
        crate::ValType::Ref(reference.clone()),
        crate::Mutability::Var,
    );
    let global =
        crate::Global::new(&mut store, global_type, crate::Val::AnyRef(None)).expect("a global");
    let table = crate::Table::new(
        &mut store,
        crate::TableType::new(reference, 1, None),
        crate::Val::AnyRef(None),
    )
    .expect("a table");
    // Only the global and the table name the struct type now.
    assert_eq!(engine.types().len(), baseline + 1);
    // A module importing them with that type links; one expecting another type does not,
    // even when that type is registered after the first could have been forgotten.
    let importer = |fields: &str| {
        crate::Module::new(
            &engine,
            format!(
                "(module (type $s (struct {fields})) \
                 (import \"host\" \"g\" (global (mut (ref null $s)))) \
                 (import \"host\" \"t\" (table 1 (ref null $s))))"
            ),
        )
        .expect("compiles")
    };
    let link = |store: &mut crate::Store<()>, module: &crate::Module| {
        let mut linker = crate::Linker::new(&engine);
        linker.define("host", "g", global)?;
        linker.define("host", "t", table)?;
        linker.instantiate(&mut *store, module)
    };
    let other = importer("(field i64)");
    assert!(
        link(&mut store, &other).is_err(),
        "another struct type linked"
    );
    let same = importer("(field i32)");
    link(&mut store, &same).expect("the global's and table's own type links");
}
