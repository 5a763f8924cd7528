//! The one sequence every engine is run through: instantiate, then call each function export
//! in order, reading the exported globals and memories after each call.

use crate::exports::Export;
use crate::outcome::{Call, Outcome, Param, State, Trap, TrapClass, Value};

/// An engine's instance of a case, as the driver uses it.
pub trait Instance {
    /// Calls function export `name` with `args` (each with its type): its results, or its
    /// trap.
    fn call(&mut self, name: &str, args: &[(Param, Value)]) -> Result<Vec<Value>, Trap>;
    /// The value of global export `name`.
    fn global(&mut self, name: &str) -> Value;
    /// The bytes of memory export `name`.
    fn memory(&mut self, name: &str) -> Vec<u8>;
}

/// An engine's store and its instance of a case.
pub struct Case<S, I> {
    pub store: S,
    pub instance: I,
}

/// What instantiating a case did in one engine.
pub enum Instantiated<I> {
    Rejected(String),
    Trapped(Trap),
    Ready(I),
}

impl<S, I> Instantiated<Case<S, I>> {
    /// From compiling (`module`) and then instantiating (`instantiate`, with a new `store`).
    /// Failures to instantiate are one class: engines report a segment out of bounds as an
    /// error of their own, not a trap.
    pub fn from<M, E: std::fmt::Display, F: std::fmt::Display>(
        module: Result<M, E>,
        mut store: S,
        instantiate: impl FnOnce(&mut S, M) -> Result<I, F>,
    ) -> Self {
        let module = match module {
            Ok(module) => module,
            Err(error) => return Instantiated::Rejected(error.to_string()),
        };
        match instantiate(&mut store, module) {
            Ok(instance) => Instantiated::Ready(Case { store, instance }),
            Err(error) => Instantiated::Trapped(Trap {
                class: TrapClass::Other("instantiation failed".to_string()),
                message: error.to_string(),
            }),
        }
    }
}

/// Runs a case's exports on `instantiated`.
pub fn drive<I: Instance>(instantiated: Instantiated<I>, exports: &[Export]) -> Outcome {
    let mut instance = match instantiated {
        Instantiated::Rejected(why) => return Outcome::Rejected(why),
        Instantiated::Trapped(trap) => return Outcome::InstantiationTrapped(trap),
        Instantiated::Ready(instance) => instance,
    };
    let mut calls = Vec::new();
    for export in exports {
        let Export::Func { name, args } = export else {
            continue;
        };
        let call = match instance.call(name, args) {
            Ok(results) => Call::Returned(results),
            Err(trap) => Call::Trapped(trap),
        };
        let mut state = State::default();
        for export in exports {
            match export {
                Export::Global { name } => {
                    state.globals.push((name.clone(), instance.global(name)))
                }
                Export::Memory { name } => {
                    state.memories.push((name.clone(), instance.memory(name)));
                }
                Export::Func { .. } => {}
            }
        }
        calls.push((name.clone(), call, state));
    }
    Outcome::Ran(calls)
}
