//! The `spectest` host module every spec script may import from.

use anyhow::Result;
use weft::{
    AbstractHeapType, AnyRef, ConcreteKind, ConcreteType, Engine, Error, ExnRef, Extern, ExternRef,
    ExternType, Func, FuncType, Global, GlobalType, HeapType, I31, Linker, Memory, MemoryType,
    Module, Mutability, RefType, SharedMemory, Store, Table, TableType, Tag, TagType, Val, ValType,
};

const MODULE: &str = "spectest";

/// Which `spectest` module a script's modules import from.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum Spectest {
    /// The spec interpreter's module, exactly ([`define`]).
    #[default]
    Standard,
    /// The standard module, plus whatever other types the module being instantiated
    /// imports under `spectest` names ([`provide_imports`]); for the shared-everything
    /// scripts.
    Adaptive,
}

/// Defines the spec interpreter's `spectest` module in `linker`: no-op `print*` functions,
/// immutable globals holding 666 / 666.6, funcref tables (10..20) with 32-bit (`table`) and
/// 64-bit (`table64`) indices, a memory (1..2 pages) and,
/// for the threads proposal, a shared memory (1..2 pages).
pub(crate) fn define<T: 'static>(
    linker: &mut Linker<T>,
    store: &mut Store<T>,
    engine: &Engine,
) -> Result<()> {
    // The scripts only check that these can be imported and called; printing would just be
    // noise in the report.
    linker.func_wrap(MODULE, "print", || {})?;
    linker.func_wrap(MODULE, "print_i32", |_: i32| {})?;
    linker.func_wrap(MODULE, "print_i64", |_: i64| {})?;
    linker.func_wrap(MODULE, "print_f32", |_: f32| {})?;
    linker.func_wrap(MODULE, "print_f64", |_: f64| {})?;
    linker.func_wrap(MODULE, "print_i32_f32", |_: i32, _: f32| {})?;
    linker.func_wrap(MODULE, "print_f64_f64", |_: f64, _: f64| {})?;
    // For the shared-everything-threads scripts, which import a shared function.
    linker.func_new(
        MODULE,
        "shared-func",
        FuncType::shared([], []),
        |_, _, _| Ok(()),
    )?;

    let globals = [
        ("global_i32", ValType::I32, Val::I32(666)),
        ("global_i64", ValType::I64, Val::I64(666)),
        ("global_f32", ValType::F32, Val::F32(666.6f32.to_bits())),
        ("global_f64", ValType::F64, Val::F64(666.6f64.to_bits())),
    ];
    for (name, ty, value) in globals {
        let global = Global::new(&mut *store, GlobalType::new(ty, Mutability::Const), value)?;
        linker.define(MODULE, name, global)?;
    }

    let table = Table::new(
        &mut *store,
        TableType::new(RefType::FUNCREF, 10, Some(20)),
        Val::FuncRef(None),
    )?;
    linker.define(MODULE, "table", table)?;
    // The same with 64-bit indices, for the memory64 proposal's scripts.
    let table64 = Table::new(
        &mut *store,
        TableType::new64(RefType::FUNCREF, 10, Some(20)),
        Val::FuncRef(None),
    )?;
    linker.define(MODULE, "table64", table64)?;

    let memory = Memory::new(&mut *store, MemoryType::new(1, Some(2)))?;
    linker.define(MODULE, "memory", memory)?;

    let shared_memory = SharedMemory::new(engine, MemoryType::shared(1, 2))?;
    linker.define(MODULE, "shared_memory", shared_memory)?;
    Ok(())
}

/// Defines, for every `spectest` import of `module` that the standard module does not satisfy
/// exactly, a fresh entity of precisely the imported type.
///
/// The shared-everything-threads scripts import the same `spectest` names with many types
/// (`global_i32` as `(shared i32)`, `table_eq` as a shared eqref table, `global_ref_func` as
/// `(shared (ref (shared func)))`, ...): wasm-tools only validates them. Numbers get the
/// spectest values (666, 666.6), nullable references null, and non-null references a host
/// value of their type where one exists: a host function, an i31 or an externref. No host
/// value exists for a non-null struct or array reference or for a bottom type such as
/// `(ref none)`; such imports stay unresolved and fail to link, with the reason in the error.
pub(crate) fn provide_imports<T: 'static>(
    linker: &mut Linker<T>,
    store: &mut Store<T>,
    module: &Module,
) -> Result<(), Error> {
    for import in module.imports() {
        if import.module() != MODULE {
            continue;
        }
        let existing = linker
            .get(&mut *store, MODULE, import.name())
            .and_then(Result::ok)
            .map(|item| item.ty(&*store));
        if existing.as_ref() == Some(import.ty()) {
            continue;
        }
        let item: Extern = match import.ty() {
            ExternType::Global(ty) => {
                let Some(value) = host_value(store, ty.content())? else {
                    continue;
                };
                Global::new(&mut *store, ty.clone(), value)?.into()
            }
            ExternType::Table(ty) => {
                let Some(init) = host_value(store, &ValType::Ref(ty.element().clone()))? else {
                    continue;
                };
                Table::new(&mut *store, ty.clone(), init)?.into()
            }
            ExternType::Func(ty) => host_func(store, ty.clone())?.into(),
            ExternType::Tag(ty) => Tag::new(&mut *store, ty).into(),
            ExternType::Memory(_) => continue,
        };
        linker.define(MODULE, import.name(), item)?;
    }
    Ok(())
}

/// A value of type `ty` the host can make, if there is one.
fn host_value<T: 'static>(store: &mut Store<T>, ty: &ValType) -> Result<Option<Val>, Error> {
    Ok(Some(match ty {
        ValType::I32 => Val::I32(666),
        ValType::I64 => Val::I64(666),
        ValType::F32 => Val::F32(666.6f32.to_bits()),
        ValType::F64 => Val::F64(666.6f64.to_bits()),
        ValType::V128 => Val::V128(666),
        ValType::Ref(ty) if ty.is_nullable() => Val::null(ty),
        ValType::Ref(ty) => match ty.heap_type() {
            HeapType::Abstract { shared, ty } => match ty {
                AbstractHeapType::Func => {
                    let func_type = if *shared {
                        FuncType::shared([], [])
                    } else {
                        FuncType::new([], [])
                    };
                    Val::FuncRef(Some(host_func(store, func_type)?))
                }
                AbstractHeapType::Any | AbstractHeapType::Eq | AbstractHeapType::I31 => {
                    Val::AnyRef(Some(AnyRef::I31(I31::wrapping_u32(0))))
                }
                AbstractHeapType::Extern => Val::ExternRef(Some(ExternRef::new(&mut *store, 0u32))),
                // An exception of a fresh tag that carries nothing.
                AbstractHeapType::Exn => {
                    let tag = Tag::new(&mut *store, &TagType::new(FuncType::new([], []))?);
                    Val::ExnRef(Some(ExnRef::new(&mut *store, &tag, &[])?))
                }
                AbstractHeapType::Struct | AbstractHeapType::Array => {
                    let object_type = plain_object_type(store.engine(), *shared, *ty)?;
                    return host_object(store, &object_type);
                }
                _ => return Ok(None),
            },
            HeapType::ConcreteFunc(func_type) => {
                Val::FuncRef(Some(host_func(store, func_type.clone())?))
            }
            HeapType::Concrete(object_type) => return host_object(store, object_type),
        },
    }))
}

/// A struct or array of `ty` with default fields, if it has them; `None` for function types
/// that only wasm can define (subtyped or recursive ones).
fn host_object<T: 'static>(store: &mut Store<T>, ty: &ConcreteType) -> Result<Option<Val>, Error> {
    let object = match ty.kind() {
        ConcreteKind::Struct => AnyRef::new_struct_default(&mut *store, ty),
        ConcreteKind::Array => AnyRef::new_array_default(&mut *store, ty, 1),
        ConcreteKind::Func => return Ok(None),
    };
    Ok(Some(Val::AnyRef(Some(object?))))
}

/// An empty struct type or an `i8` array type, shared or not, to stand for the abstract
/// `struct` or `array`. Hosts make types the way wasm does: a module declares them.
fn plain_object_type(
    engine: &Engine,
    shared: bool,
    kind: AbstractHeapType,
) -> Result<ConcreteType, Error> {
    let definition = match kind {
        AbstractHeapType::Struct => "(struct)",
        _ => "(array i8)",
    };
    let definition = if shared {
        format!("(shared {definition})")
    } else {
        definition.to_string()
    };
    let module = Module::new(
        engine,
        format!("(module (type $t {definition}) (func (export \"f\") (param (ref null $t))))"),
    )?;
    let export = module
        .exports()
        .next()
        .expect("the module exports one function");
    let ExternType::Func(func_type) = export.ty() else {
        unreachable!("the export is a function")
    };
    match func_type.params()[0].clone() {
        ValType::Ref(reference) => match reference.heap_type() {
            HeapType::Concrete(ty) => Ok(ty.clone()),
            other => unreachable!("{other} is a struct or array type"),
        },
        other => unreachable!("{other} is a reference type"),
    }
}

/// A host function of type `ty` that returns zeros and nulls (the values its result slots
/// start with).
fn host_func<T: 'static>(store: &mut Store<T>, ty: FuncType) -> Result<Func, Error> {
    Func::new(&mut *store, ty, |_, _, _| Ok(()))
}
