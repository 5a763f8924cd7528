//! The tail-call proposal's operators: `return_call`, `return_call_indirect` and
//! `return_call_ref`.
//!
//! Every wasm function, and every trampoline or fast path wasm code calls, uses Cranelift's
//! tail calling convention (`CallConv::Tail`), so any callee can replace its caller's frame:
//! a tail call finds its callee exactly as the plain call does (the same funcref, vmctx and
//! thread-block lookup, the same `call_indirect` checks) and then emits Cranelift's
//! `return_call` or `return_call_indirect`, which pops the caller's frame before jumping.
//! A loop of tail calls therefore runs in constant stack, and each callee's prologue still
//! checks the stack limit, which is also how an interrupt stops such a loop.

use super::translate::{Callee, Lowered, Translator};
use crate::environ::WasmError;
use wasmparser::Operator;

impl Translator<'_, '_, '_, '_> {
    /// The entry point of the tail-call proposal's operators; every other operator goes back
    /// to the caller.
    pub(super) fn tail_call_operator<'a>(
        &mut self,
        op: Operator<'a>,
    ) -> Result<Lowered<'a>, WasmError> {
        let callee = match op {
            Operator::ReturnCall { function_index } => Callee::Function(function_index),
            Operator::ReturnCallRef { type_index } => Callee::Ref { type_index },
            Operator::ReturnCallIndirect {
                type_index,
                table_index,
            } => Callee::Indirect {
                type_index,
                table: table_index,
            },
            other => return Ok(Lowered::NotMine(other)),
        };
        self.return_call(callee);
        Ok(Lowered::Done)
    }
}
