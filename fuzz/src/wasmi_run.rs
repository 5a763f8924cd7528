//! Runs a case in the reference engine, wasmi: an interpreter that shares no code with weft.

use crate::drive::{self, Instantiated};
use crate::exports::Export;
use crate::outcome::{Outcome, Param, Trap, TrapClass, Value};
use wasmi::{Config, Engine, Instance, Linker, Module, Store, Val, ValType};

/// The reference engine, with the proposals the cases use and room for their recursion.
fn engine() -> Engine {
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
        .wasm_simd(true)
        .wasm_memory64(true)
        .set_max_recursion_depth(100_000);
    Engine::new(&config)
}

/// Runs `wasm` (whose exports are `exports`) in an engine of its own: a wasmi engine keeps
/// the code of every module it compiled for as long as it lives (about 2 KB a module, which
/// grew a one-hour campaign to 300 MB), and making one costs little next to running a module.
pub fn run(wasm: &[u8], exports: &[Export]) -> Outcome {
    drive::drive(instantiate(&engine(), wasm), exports)
}

type Case = drive::Case<Store<()>, Instance>;

fn instantiate(engine: &Engine, wasm: &[u8]) -> Instantiated<Case> {
    let store = Store::new(engine, ());
    Instantiated::from(Module::new(engine, wasm), store, |store, module| {
        Linker::<()>::new(engine).instantiate_and_start(store, &module)
    })
}

impl drive::Instance for Case {
    fn call(&mut self, name: &str, args: &[(Param, Value)]) -> Result<Vec<Value>, Trap> {
        let func = self
            .instance
            .get_func(&self.store, name)
            .expect("the module exports it");
        let args: Vec<Val> = args
            .iter()
            .map(|&(param, arg)| argument(param, arg))
            .collect();
        let ty = func.ty(&self.store);
        let mut results: Vec<Val> = ty
            .results()
            .iter()
            .map(|ty| Val::default_for_ty(*ty))
            .collect();
        func.call(&mut self.store, &args, &mut results)
            .map_err(trap)?;
        Ok(results.iter().map(value).collect())
    }

    fn global(&mut self, name: &str) -> Value {
        let global = self.instance.get_global(&self.store, name);
        value(&global.expect("exported").get(&self.store))
    }

    fn memory(&mut self, name: &str) -> Vec<u8> {
        let memory = self.instance.get_memory(&self.store, name);
        memory.expect("exported").data(&self.store).to_vec()
    }
}

fn argument(param: Param, arg: Value) -> Val {
    match (param, arg) {
        (_, Value::I32(v)) => Val::I32(v),
        (_, Value::I64(v)) => Val::I64(v),
        (_, Value::F32(bits)) => Val::F32(wasmi::F32::from_bits(bits)),
        (_, Value::F64(bits)) => Val::F64(wasmi::F64::from_bits(bits)),
        (_, Value::V128(v)) => Val::V128(v.into()),
        (Param::ExternRef, Value::Ref { .. }) => Val::default_for_ty(ValType::ExternRef),
        (_, Value::Ref { .. }) => Val::default_for_ty(ValType::FuncRef),
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

/// wasmi's error as a trap, in the classes weft's are mapped to.
fn trap(error: wasmi::Error) -> Trap {
    use wasmi::TrapCode as Code;
    let class = match error.as_trap_code() {
        Some(Code::UnreachableCodeReached) => TrapClass::Unreachable,
        Some(Code::MemoryOutOfBounds) => TrapClass::MemoryOutOfBounds,
        Some(Code::TableOutOfBounds) => TrapClass::TableOutOfBounds,
        Some(Code::IndirectCallToNull) => TrapClass::NullFunction,
        Some(Code::BadSignature) => TrapClass::SignatureMismatch,
        Some(Code::IntegerOverflow) => TrapClass::IntegerOverflow,
        Some(Code::IntegerDivisionByZero) => TrapClass::IntegerDivisionByZero,
        Some(Code::BadConversionToInteger) => TrapClass::BadConversionToInteger,
        Some(Code::StackOverflow) => TrapClass::StackOverflow,
        _ => TrapClass::Other(error.to_string()),
    };
    Trap {
        class,
        message: error.to_string(),
    }
}
