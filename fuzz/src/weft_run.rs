//! Runs a case in weft.

use crate::drive::{self, Instantiated};
use crate::exports::Export;
use crate::outcome::{Outcome, Param, Trap, TrapClass, Value};
use weft::{BoundsChecks, Config, Engine, Instance, Module, OptLevel, Store, Val, WasmFeatures};

/// The native stack wasm code may use; cases run on threads with [`THREAD_STACK`].
const WASM_STACK: usize = 32 << 20;

/// The stack of the threads that run cases: the wasm stack and room for host code.
pub const THREAD_STACK: usize = WASM_STACK + (8 << 20);

/// An engine for the cases, with `bounds_checks` and Cranelift's `opt_level`.
pub fn engine(bounds_checks: BoundsChecks, opt_level: OptLevel) -> Engine {
    Engine::new(&config(bounds_checks, opt_level)).expect("the host is a supported target")
}

/// The configuration of [`engine`], for a variant of it.
pub fn config(bounds_checks: BoundsChecks, opt_level: OptLevel) -> Config {
    let mut config = Config::new();
    config
        .wasm_features(WasmFeatures::default())
        .bounds_checks(bounds_checks)
        .cranelift_opt_level(opt_level)
        // The same small limit in every configuration: a case that allocates past it traps
        // alike in all of them, and soon.
        .max_gc_heap(64 << 20)
        // Room for the deepest recursion the fuel guard allows, even in unoptimized code's
        // larger frames: a stack limit is a resource, not a result to compare.
        .max_wasm_stack(WASM_STACK);
    config
}

/// Runs `wasm` (whose exports are `exports`) on `engine`.
pub fn run(engine: &Engine, wasm: &[u8], exports: &[Export]) -> Outcome {
    drive::drive(instantiate(engine, wasm), exports)
}

type Case = drive::Case<Store<()>, Instance>;

fn instantiate(engine: &Engine, wasm: &[u8]) -> Instantiated<Case> {
    let store = Store::new(engine, ());
    Instantiated::from(Module::new(engine, wasm), store, |store, module| {
        Instance::new(store, &module, &[])
    })
}

impl drive::Instance for Case {
    fn call(&mut self, name: &str, args: &[(Param, Value)]) -> Result<Vec<Value>, Trap> {
        let func = self
            .instance
            .get_func(&mut self.store, name)
            .expect("the module exports it");
        let ty = func.ty(&self.store);
        // A null of the parameter's own type: GC modules take references of every hierarchy.
        let args: Vec<Val> = args
            .iter()
            .zip(ty.params())
            .map(|(&(_, arg), ty)| argument(arg).unwrap_or_else(|| Val::default_for(ty)))
            .collect();
        let mut results: Vec<Val> = ty.results().iter().map(Val::default_for).collect();
        func.call(&mut self.store, &args, &mut results)
            .map_err(trap)?;
        Ok(results.iter().map(value).collect())
    }

    fn global(&mut self, name: &str) -> Value {
        let global = self.instance.get_global(&mut self.store, name);
        value(&global.expect("exported").get(&mut self.store))
    }

    fn memory(&mut self, name: &str) -> Vec<u8> {
        let memory = self.instance.get_memory(&mut self.store, name);
        let memory = memory.expect("exported");
        let mut bytes = vec![0; memory.data_size(&self.store)];
        memory
            .read(&self.store, 0, &mut bytes)
            .expect("the whole memory is in bounds");
        bytes
    }
}

/// A number's value; `None` for a reference (always null).
fn argument(arg: Value) -> Option<Val> {
    Some(match arg {
        Value::I32(v) => Val::I32(v),
        Value::I64(v) => Val::I64(v),
        Value::F32(bits) => Val::F32(bits),
        Value::F64(bits) => Val::F64(bits),
        Value::V128(v) => Val::V128(v),
        Value::Ref { .. } => return None,
    })
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

/// weft's error as a trap: classified by its kind (the other engine's names are mapped to
/// the same classes), or, for an error that is no trap (an uncaught exception), by its text.
fn trap(error: weft::Error) -> Trap {
    use weft::Trap as Kind;
    let class = match &error {
        weft::Error::Trap { trap, .. } => match trap {
            Kind::Unreachable => TrapClass::Unreachable,
            Kind::MemoryOutOfBounds => TrapClass::MemoryOutOfBounds,
            Kind::TableOutOfBounds | Kind::UndefinedElement => TrapClass::TableOutOfBounds,
            Kind::UninitializedElement | Kind::NullFunctionReference => TrapClass::NullFunction,
            Kind::IndirectCallTypeMismatch => TrapClass::SignatureMismatch,
            Kind::IntegerOverflow => TrapClass::IntegerOverflow,
            Kind::IntegerDivisionByZero => TrapClass::IntegerDivisionByZero,
            Kind::BadConversionToInteger => TrapClass::BadConversionToInteger,
            Kind::StackOverflow => TrapClass::StackOverflow,
            other => TrapClass::Other(format!("{other:?}")),
        },
        other => TrapClass::Other(other.to_string()),
    };
    Trap {
        class,
        message: error.to_string(),
    }
}
