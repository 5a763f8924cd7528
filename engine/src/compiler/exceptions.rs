//! The exception-handling proposal's operators: `try_table`, `throw` and `throw_ref`.
//!
//! An exception is an object in the store's GC heap (`environ::gc`): its tag's identity (the
//! address of the tag's definition, shared by every importer) and one 16-byte slot per
//! payload value; an exnref is its address. Handlers use Cranelift's exception support:
//!
//! - Every call inside a `try_table` is a `try_call` whose one, catch-all, handler edge goes
//!   to the innermost `try_table`'s *dispatch* block with the exnref. The runtime's unwinder
//!   (`vm::traphandlers::throw`) only finds that landing pad; it never looks at tags.
//! - A dispatch block compares the exception's tag with each `catch` clause's in order and
//!   branches to the first clause that takes it, with the payload (and the exnref for the
//!   `_ref` forms). One that no clause takes goes on to the enclosing `try_table`'s dispatch
//!   block, or, in the outermost, to the `throw_ref` builtin, which unwinds to the callers.
//! - `throw` and `throw_ref` jump straight to the innermost dispatch block of their own
//!   function; outside any `try_table` they call the builtin.

use super::translate::{
    CatchClause, FrameKind, Lowered, Translator, TryTable, block_args, block_with_params,
};
use super::traps::trap_code;
use crate::environ::{TrapKind, WasmError};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::I64;
use cranelift_codegen::ir::{Block, InstBuilder, Value};
use wasmparser::{Catch, Operator};

impl Translator<'_, '_, '_, '_> {
    /// The entry point of the exception-handling proposal's operators; every other operator
    /// goes back to the caller.
    pub(super) fn exception_operator<'a>(
        &mut self,
        op: Operator<'a>,
        offset: u64,
    ) -> Result<Lowered<'a>, WasmError> {
        match op {
            Operator::TryTable { try_table } => {
                let (params, results) = self.block_type(try_table.ty, offset)?;
                // Catch labels count from the construct around the `try_table`.
                let clauses = try_table
                    .catches
                    .iter()
                    .map(|catch| {
                        let (label, clause) = match *catch {
                            Catch::One { tag, label } => (
                                label,
                                CatchClause::Tag {
                                    tag,
                                    with_ref: false,
                                },
                            ),
                            Catch::OneRef { tag, label } => (
                                label,
                                CatchClause::Tag {
                                    tag,
                                    with_ref: true,
                                },
                            ),
                            Catch::All { label } => (label, CatchClause::All { with_ref: false }),
                            Catch::AllRef { label } => (label, CatchClause::All { with_ref: true }),
                        };
                        (clause, self.branch_target(label).0)
                    })
                    .collect();
                let dispatch = self.b.create_block();
                self.b.append_block_param(dispatch, I64);
                let next = block_with_params(self.b, &results);
                let kind = FrameKind::TryTable(TryTable { dispatch, clauses });
                self.push_frame(kind, next, params.len(), results.len());
            }
            Operator::Throw { tag_index } => {
                let arity = self.env.tag_payload_types(tag_index).len();
                let values = self.pop_n(arity);
                let exn = self.env.new_exception(self.b, tag_index, &values);
                self.raise(exn);
            }
            Operator::ThrowRef => {
                let exn = self.pop();
                self.b
                    .ins()
                    .trapz(exn, trap_code(TrapKind::NullExceptionReference));
                self.raise(exn);
            }
            other => return Ok(Lowered::NotMine(other)),
        }
        Ok(Lowered::Done)
    }

    /// Throws `exn` from here: to the innermost `try_table` of this function, or to the
    /// callers. The code after it is unreachable.
    fn raise(&mut self, exn: Value) {
        match self.innermost_handler() {
            Some(dispatch) => {
                self.b.ins().jump(dispatch, &block_args(&[exn]));
            }
            None => self.env.throw_to_caller(self.b, exn),
        }
        self.reachable = false;
    }

    /// Fills the dispatch block of a `try_table` that has just ended (its frame is already
    /// off the control stack, so an exception no clause takes goes on to the enclosing one).
    pub(super) fn dispatch(&mut self, try_table: TryTable) {
        let TryTable { dispatch, clauses } = try_table;
        let outer = self.innermost_handler();
        self.b.switch_to_block(dispatch);
        self.b.set_cold_block(dispatch);
        let exn = self.b.block_params(dispatch)[0];
        let mut caught_by_all = false;
        for (clause, target) in clauses {
            match clause {
                CatchClause::Tag { tag, with_ref } => {
                    let thrown = super::func_env::FuncEnv::exception_tag(self.b, exn);
                    let expected = self.env.tag_identity(self.b, tag);
                    let matches = self.b.ins().icmp(IntCC::Equal, thrown, expected);
                    let take = self.b.create_block();
                    let next_clause = self.b.create_block();
                    self.b.ins().brif(matches, take, &[], next_clause, &[]);
                    self.b.seal_block(take);
                    self.b.seal_block(next_clause);
                    self.b.switch_to_block(take);
                    let mut values = self.env.exception_payload(self.b, tag, exn);
                    if with_ref {
                        values.push(exn);
                    }
                    self.b.ins().jump(target, &block_args(&values));
                    self.b.switch_to_block(next_clause);
                }
                CatchClause::All { with_ref } => {
                    let values: &[Value] = if with_ref { &[exn] } else { &[] };
                    self.b.ins().jump(target, &block_args(values));
                    caught_by_all = true;
                    break;
                }
            }
        }
        if !caught_by_all {
            self.propagate(exn, outer);
        }
        self.b.seal_block(dispatch);
    }

    /// Sends an exception that this `try_table` does not catch to `outer`, the enclosing
    /// one's dispatch block, or to the callers.
    fn propagate(&mut self, exn: Value, outer: Option<Block>) {
        match outer {
            Some(outer) => {
                self.b.ins().jump(outer, &block_args(&[exn]));
            }
            None => self.env.throw_to_caller(self.b, exn),
        }
    }
}
