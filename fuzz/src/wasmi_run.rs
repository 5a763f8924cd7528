//! Runs a case in the reference engine, wasmi: an interpreter that shares no code with weft.

use crate::exports::Export;
use crate::outcome::{Call, Outcome, Param, State, TrapName, Value};
use wasmi::{Config, Engine, Instance, Linker, Module, Store, Val};

/// The reference engine, with the proposals the cases use and room for their recursion.
pub fn engine() -> Engine {
    let mut config = Config::default();
    config
        .wasm_bulk_memory(true)
        .wasm_reference_types(true)
        .wasm_multi_value(true)
        .wasm_multi_memory(true)
        .wasm_tail_call(true)
        .wasm_extended_const(true)
        .wasm_sign_extension(true)
        .wasm_saturating_float_to_int(true)
        .set_max_recursion_depth(100_000);
    Engine::new(&config)
}

/// Runs `wasm` (whose exports are `exports`) on `engine`.
pub fn run(engine: &Engine, wasm: &[u8], exports: &[Export]) -> Outcome {
    let module = match Module::new(engine, wasm) {
        Ok(module) => module,
        Err(error) => return Outcome::Rejected(error.to_string()),
    };
    let mut store = Store::new(engine, ());
    let instance = match Linker::<()>::new(engine).instantiate_and_start(&mut store, &module) {
        Ok(instance) => instance,
        Err(error) => return Outcome::InstantiationTrapped(TrapName(error.to_string())),
    };
    let mut calls = Vec::new();
    for export in exports {
        let Export::Func { name, params, args } = export else {
            continue;
        };
        let func = instance
            .get_func(&store, name)
            .expect("the module exports it");
        let params: Vec<Val> = params
            .iter()
            .zip(args)
            .map(|(&param, &arg)| argument(param, arg))
            .collect();
        let ty = func.ty(&store);
        let mut results: Vec<Val> = ty
            .results()
            .iter()
            .map(|ty| Val::default_for_ty(*ty))
            .collect();
        let call = match func.call(&mut store, &params, &mut results) {
            Ok(()) => Call::Returned(results.iter().map(value).collect()),
            Err(error) => Call::Trapped(TrapName(error.to_string())),
        };
        let state = state(&store, &instance, exports);
        calls.push((name.clone(), call, state));
    }
    Outcome::Ran(calls)
}

fn argument(param: Param, arg: Value) -> Val {
    match (param, arg) {
        (_, Value::I32(v)) => Val::I32(v),
        (_, Value::I64(v)) => Val::I64(v),
        (_, Value::F32(bits)) => Val::F32(wasmi::F32::from_bits(bits)),
        (_, Value::F64(bits)) => Val::F64(wasmi::F64::from_bits(bits)),
        (_, Value::V128(v)) => Val::V128(v.into()),
        (Param::ExternRef, Value::Ref { .. }) => Val::default_for_ty(wasmi::ValType::ExternRef),
        (_, Value::Ref { .. }) => Val::default_for_ty(wasmi::ValType::FuncRef),
    }
}

fn value(val: &Val) -> Value {
    match val {
        Val::I32(v) => Value::I32(*v),
        Val::I64(v) => Value::I64(*v),
        Val::F32(v) => Value::f32(v.to_bits()),
        Val::F64(v) => Value::f64(v.to_bits()),
        Val::V128(v) => Value::V128(v.as_u128()),
        Val::FuncRef(r) => Value::Ref { null: r.is_null() },
        Val::ExternRef(r) => Value::Ref { null: r.is_null() },
    }
}

fn state(store: &Store<()>, instance: &Instance, exports: &[Export]) -> State {
    let mut state = State::default();
    for export in exports {
        match export {
            Export::Global { name } => {
                let global = instance.get_global(store, name).expect("exported");
                state
                    .globals
                    .push((name.clone(), value(&global.get(store))));
            }
            Export::Memory { name } => {
                let memory = instance.get_memory(store, name).expect("exported");
                state
                    .memories
                    .push((name.clone(), memory.data(store).to_vec()));
            }
            Export::Func { .. } => {}
        }
    }
    state
}
