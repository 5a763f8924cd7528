//! Runs a case in weft.

use crate::exports::Export;
use crate::outcome::{Call, Outcome, Param, State, TrapName, Value};
use weft::{BoundsChecks, Config, Engine, Instance, Module, Store, Val, WasmFeatures};

/// An engine for the cases, with `bounds_checks`.
pub fn engine(bounds_checks: BoundsChecks) -> Engine {
    let mut config = Config::new();
    config
        .wasm_features(WasmFeatures::default())
        .bounds_checks(bounds_checks);
    Engine::new(&config).expect("the host is a supported target")
}

/// Runs `wasm` (whose exports are `exports`) on `engine`.
pub fn run(engine: &Engine, wasm: &[u8], exports: &[Export]) -> Outcome {
    let module = match Module::new(engine, wasm) {
        Ok(module) => module,
        Err(error) => return Outcome::Rejected(error.to_string()),
    };
    let mut store = Store::new(engine, ());
    let instance = match Instance::new(&mut store, &module, &[]) {
        Ok(instance) => instance,
        Err(error) => return Outcome::InstantiationTrapped(TrapName(error.to_string())),
    };
    let mut calls = Vec::new();
    for export in exports {
        let Export::Func { name, params, args } = export else {
            continue;
        };
        let func = instance
            .get_func(&mut store, name)
            .expect("the module exports it");
        let params: Vec<Val> = params
            .iter()
            .zip(args)
            .map(|(&param, &arg)| argument(param, arg))
            .collect();
        let ty = func.ty(&store);
        let mut results: Vec<Val> = ty.results().iter().map(Val::default_for).collect();
        let call = match func.call(&mut store, &params, &mut results) {
            Ok(()) => Call::Returned(results.iter().map(value).collect()),
            Err(error) => Call::Trapped(TrapName(error.to_string())),
        };
        let state = state(&mut store, &instance, exports);
        calls.push((name.clone(), call, state));
    }
    Outcome::Ran(calls)
}

fn argument(param: Param, arg: Value) -> Val {
    match (param, arg) {
        (_, Value::I32(v)) => Val::I32(v),
        (_, Value::I64(v)) => Val::I64(v),
        (_, Value::F32(bits)) => Val::F32(bits),
        (_, Value::F64(bits)) => Val::F64(bits),
        (_, Value::V128(v)) => Val::V128(v),
        (Param::ExternRef, Value::Ref { .. }) => Val::ExternRef(None),
        (_, Value::Ref { .. }) => Val::FuncRef(None),
    }
}

fn value(val: &Val) -> Value {
    match val {
        Val::I32(v) => Value::I32(*v),
        Val::I64(v) => Value::I64(*v),
        Val::F32(bits) => Value::f32(*bits),
        Val::F64(bits) => Value::f64(*bits),
        Val::V128(v) => Value::V128(*v),
        Val::FuncRef(r) => Value::Ref { null: r.is_none() },
        Val::ExternRef(r) => Value::Ref { null: r.is_none() },
        Val::AnyRef(r) => Value::Ref { null: r.is_none() },
        Val::ExnRef(r) => Value::Ref { null: r.is_none() },
    }
}

fn state(store: &mut Store<()>, instance: &Instance, exports: &[Export]) -> State {
    let mut state = State::default();
    for export in exports {
        match export {
            Export::Global { name } => {
                let global = instance.get_global(&mut *store, name).expect("exported");
                state
                    .globals
                    .push((name.clone(), value(&global.get(&mut *store))));
            }
            Export::Memory { name } => {
                let memory = instance.get_memory(&mut *store, name).expect("exported");
                let mut bytes = vec![0; memory.data_size(&*store)];
                memory
                    .read(&*store, 0, &mut bytes)
                    .expect("the whole memory is in bounds");
                state.memories.push((name.clone(), bytes));
            }
            Export::Func { .. } => {}
        }
    }
    state
}
