//! Inlining small callees into their callers, keeping the inlined frames for backtraces.
//!
//! A module's small functions are translated to IR first; then, as each function is
//! compiled, its plain `call`s of them are replaced by the callee's IR before Cranelift
//! optimizes it, so the callee's work folds into the caller's registers and the call, its
//! prologue and its stack check disappear. One level: a callee is inlined as it was
//! translated, with its own calls left as calls, so recursion unrolls once and no call graph
//! is needed.
//!
//! Which calls:
//! - the callee is a defined function of the same module (same VMContext) whose IR has at most
//!   [`SMALL_CALLEE`] values and no exception handler or tail call (the handler tables and
//!   tail-call frames are per function);
//! - the call is a plain `call`: one inside a `try_table` keeps its handler;
//! - a caller grows to at most [`CALLER_BUDGET`] values.
//!
//! Nothing observable changes. The caller's prologue checks the stack for the larger frame,
//! and an interrupt still reaches every loop (signals, `vm::nudge`) and every remaining call.
//! Traps and backtraces still name the callee: before inlining, every instruction of a
//! callee's IR and every inlined call are tagged with their binary offsets; Cranelift
//! prepends the call's tags to those of each instruction it inlines, and afterwards each
//! inlined instruction's source location becomes [`INLINED`] plus the index of its chain of
//! offsets, outermost first, which the compiled function keeps (`CodeRange::inlined`).

use crate::environ::INLINED;
use cranelift_codegen::Context;
use cranelift_codegen::inline::{Inline, InlineCommand};
use cranelift_codegen::ir::{self, DebugTag, Opcode, SourceLoc};
use cranelift_module::FuncId;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::ops::Range;

/// The most values a callee's IR may have to be inlined: a few dozen wasm instructions.
/// Wasmtime's threshold is 50; on sightglass's `regex` (hundreds of small functions) that
/// cost 15% more compile time than no inlining, and 30 costs 3% while keeping the gains on
/// call-heavy code (`fib2`, `ctype`).
pub(super) const SMALL_CALLEE: usize = 30;

/// The most values a caller may grow to by inlining, so that compile time stays linear.
pub(super) const CALLER_BUDGET: usize = 2000;

/// The longest function body, in bytes of the binary, that is translated to see whether its
/// IR is small enough to inline: generous, as most wasm instructions take two or three bytes
/// and many make no value.
const SMALL_BODY: usize = 8 * SMALL_CALLEE;

/// Whether the function whose body is at `range` of the binary may be small enough to inline.
pub(super) fn may_inline(range: &Range<usize>) -> bool {
    range.len() <= SMALL_BODY
}

/// Whether every offset of a binary of `len` bytes leaves [`INLINED`] clear.
pub(super) fn fits_offsets(len: usize) -> bool {
    len < INLINED as usize
}

/// The IR of the functions that may be inlined, each instruction tagged with its offset,
/// by the `FuncId` calls name them with.
#[derive(Default)]
pub(super) struct InlineBodies {
    by_id: HashMap<u32, ir::Function>,
}

impl InlineBodies {
    /// Keeps `body` (translated as `id`) if it is small enough and can be inlined.
    pub(super) fn offer(&mut self, id: FuncId, mut body: ir::Function) {
        if body.dfg.num_values() > SMALL_CALLEE || !inlinable(&body) {
            return;
        }
        let tagged: Vec<(ir::Inst, SourceLoc)> = instructions(&body)
            .map(|inst| (inst, body.srcloc(inst)))
            .filter(|(_, loc)| !loc.is_default())
            .collect();
        for (inst, loc) in tagged {
            body.debug_tags.set(inst, [DebugTag::User(loc.bits())]);
        }
        self.by_id.insert(id.as_u32(), body);
    }

    fn body_of(&self, caller: &ir::Function, callee: ir::FuncRef) -> Option<&ir::Function> {
        let ir::ExternalName::User(name) = caller.dfg.ext_funcs[callee].name else {
            return None;
        };
        let name = &caller.params.user_named_funcs()[name];
        // Functions the JIT declares are in namespace 0 (see `FuncEnv::call`).
        (name.namespace == 0)
            .then(|| self.by_id.get(&name.index))
            .flatten()
    }

    /// Inlines the calls of `context`'s function that qualify; returns the chains of binary
    /// offsets its inlined instructions' source locations index.
    pub(super) fn inline_into(
        &self,
        context: &mut Context,
    ) -> Result<Vec<Vec<u32>>, cranelift_codegen::CodegenError> {
        if self.by_id.is_empty() {
            return Ok(Vec::new());
        }
        let func = &mut context.func;
        let mut size = func.dfg.num_values();
        let mut chosen = HashSet::new();
        let calls: Vec<(ir::Inst, ir::FuncRef)> = instructions(func)
            .filter_map(|inst| match func.dfg.insts[inst] {
                ir::InstructionData::Call {
                    opcode: Opcode::Call,
                    func_ref,
                    ..
                } => Some((inst, func_ref)),
                _ => None,
            })
            .collect();
        for (inst, callee) in calls {
            let loc = func.srcloc(inst);
            let Some(body) = self.body_of(func, callee) else {
                continue;
            };
            let grown = size + body.dfg.num_values();
            if loc.is_default() || grown > CALLER_BUDGET {
                continue;
            }
            size = grown;
            func.debug_tags.set(inst, [DebugTag::User(loc.bits())]);
            chosen.insert(inst);
        }
        if chosen.is_empty() {
            return Ok(Vec::new());
        }
        context.inline(Chosen {
            bodies: self,
            calls: &chosen,
        })?;
        Ok(number_chains(&mut context.func))
    }
}

/// The calls `InlineBodies::inline_into` picked.
struct Chosen<'a> {
    bodies: &'a InlineBodies,
    calls: &'a HashSet<ir::Inst>,
}

impl Inline for Chosen<'_> {
    fn inline(
        &mut self,
        caller: &ir::Function,
        call: ir::Inst,
        _opcode: Opcode,
        callee: ir::FuncRef,
        _args: &[ir::Value],
    ) -> InlineCommand<'_> {
        match self.bodies.body_of(caller, callee) {
            Some(body) if self.calls.contains(&call) => InlineCommand::Inline {
                callee: Cow::Borrowed(body),
                visit_callee: false,
            },
            _ => InlineCommand::KeepCall,
        }
    }
}

/// Whether `function` has nothing that ties it to its own frame: exception handlers, whose
/// tables are per function, and tail calls, which replace the frame.
fn inlinable(function: &ir::Function) -> bool {
    instructions(function).all(|inst| {
        !matches!(
            function.dfg.insts[inst].opcode(),
            Opcode::TryCall
                | Opcode::TryCallIndirect
                | Opcode::ReturnCall
                | Opcode::ReturnCallIndirect
        )
    })
}

/// Turns the offset tags inlining left into source locations that index chains.
fn number_chains(func: &mut ir::Function) -> Vec<Vec<u32>> {
    let mut chains: Vec<Vec<u32>> = Vec::new();
    let mut indices: HashMap<Vec<u32>, u32> = HashMap::new();
    let tagged: Vec<ir::Inst> = instructions(func)
        .filter(|&inst| func.debug_tags.has(inst))
        .collect();
    for inst in tagged {
        let chain: Vec<u32> = func
            .debug_tags
            .get(inst)
            .iter()
            .filter_map(|tag| match *tag {
                DebugTag::User(offset) => Some(offset),
                DebugTag::StackSlot(_) => None,
            })
            .collect();
        func.debug_tags.set(inst, []);
        let index = *indices.entry(chain.clone()).or_insert_with(|| {
            chains.push(chain);
            (chains.len() - 1) as u32
        });
        func.set_srcloc(inst, SourceLoc::new(INLINED | index));
    }
    chains
}

fn instructions(function: &ir::Function) -> impl Iterator<Item = ir::Inst> + '_ {
    function
        .layout
        .blocks()
        .flat_map(move |block| function.layout.block_insts(block))
}
