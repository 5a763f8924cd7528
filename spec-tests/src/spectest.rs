//! The `spectest` host module every spec script may import from.

use anyhow::Result;
use weft::{
    Engine, FuncType, Global, GlobalType, Linker, Memory, MemoryType, Mutability, RefType,
    SharedMemory, Store, Table, TableType, Val, ValType,
};

const MODULE: &str = "spectest";

/// Defines the spec interpreter's `spectest` module in `linker`: no-op `print*` functions,
/// immutable globals holding 666 / 666.6, a funcref table (10..20), a memory (1..2 pages) and,
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

    let memory = Memory::new(&mut *store, MemoryType::new(1, Some(2)))?;
    linker.define(MODULE, "memory", memory)?;

    let shared_memory = SharedMemory::new(engine, MemoryType::shared(1, 2))?;
    linker.define(MODULE, "shared_memory", shared_memory)?;
    Ok(())
}
