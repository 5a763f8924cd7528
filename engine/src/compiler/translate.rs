//! Translation of one function body from wasm operators to Cranelift IR.
//!
//! The wasm operand stack is mirrored by a stack of Cranelift values. Every `block`, `loop`
//! and `if` gets a continuation block whose parameters are the construct's results, so
//! branches carry their operands as block arguments and locals become SSA variables.
//! Code after an unconditional branch is unreachable and emitted nowhere: its operators are
//! skipped until the `else` or `end` that makes code reachable again.

use super::abi::{V128, is_supported_ref, value_type, value_types};
use super::func_env::{CallKind, FuncEnv, ModuleEnv, install_stack_limit};
use super::traps::trap_code;
use crate::environ::{TrapKind, WasmError, code_location, unsupported};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::immediates::{Ieee32, Ieee64};
use cranelift_codegen::ir::types::{F32, F64, I8, I16, I32, I64};
use cranelift_codegen::ir::{
    Block, BlockArg, InstBuilder, JumpTableData, MemFlagsData, SourceLoc, Type, Value,
};
use cranelift_frontend::{FunctionBuilder, Variable};
use wasmparser::{BlockType, FuncType, FunctionBody, MemArg, MemArgTarget, Operator, RefType};
use weft_threads::Operation;

/// Emits the IR of `body`, function `function` (imports included) of type `ty`, into `b`.
pub(crate) fn translate_function(
    env: &ModuleEnv<'_>,
    b: &mut FunctionBuilder<'_>,
    body: &FunctionBody<'_>,
    function: u32,
    ty: &FuncType,
) -> Result<(), WasmError> {
    install_stack_limit(b.func);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let params = b.block_params(entry).to_vec();
    let (vmctx, thread, wasm_params) = (params[0], params[1], &params[2..]);

    let mut locals = Vec::new();
    for &value in wasm_params {
        let var = b.declare_var(b.func.dfg.value_type(value));
        b.def_var(var, value);
        locals.push(var);
    }
    let mut declared = body.get_locals_reader()?;
    for _ in 0..declared.get_count() {
        let offset = declared.original_position();
        let (count, local_ty) = declared.read()?;
        let local_ty = value_type(local_ty, offset)?;
        let zero = match local_ty {
            F32 => b.ins().f32const(Ieee32::with_bits(0)),
            F64 => b.ins().f64const(Ieee64::with_bits(0)),
            V128 => v128_const(b, 0),
            _ => b.ins().iconst(local_ty, 0),
        };
        for _ in 0..count {
            let var = b.declare_var(local_ty);
            b.def_var(var, zero);
            locals.push(var);
        }
    }

    let mut operators = body.get_operators_reader()?;
    let results = value_types(ty.results(), operators.original_position())?;
    let exit = block_with_params(b, &results);
    let mut translator = Translator {
        env: FuncEnv::new(env, &mut b.func.dfg.alias_regions, vmctx, thread),
        b,
        stack: Vec::new(),
        control: vec![Frame {
            kind: FrameKind::Block,
            next: exit,
            params: 0,
            results: results.len(),
            height: 0,
            next_reachable: false,
        }],
        locals,
        reachable: true,
        dead_depth: 0,
        unflushed_fuel: 0,
        function,
    };
    // No interrupt check here: an interrupt sets the thread's stack limit above every stack, so the prologue's stack check traps (see `install_stack_limit`).
    if translator.env.consumes_fuel() {
        translator.env.check_fuel(translator.b);
    }
    while !translator.control.is_empty() {
        let offset = operators.original_position();
        let op = operators.read()?;
        // Traps and backtraces name the instruction by its offset in the binary.
        translator.b.set_srcloc(SourceLoc::new(
            u32::try_from(offset).unwrap_or(u32::MAX - 1),
        ));
        translator.operator(op, offset)?;
    }
    Ok(())
}

/// A v128 constant from its little-endian bits.
pub(super) fn v128_const(b: &mut FunctionBuilder<'_>, bits: u128) -> Value {
    let constant = b
        .func
        .dfg
        .constants
        .insert(bits.to_le_bytes().to_vec().into());
    b.ins().vconst(V128, constant)
}

pub(super) fn block_with_params(b: &mut FunctionBuilder<'_>, types: &[Type]) -> Block {
    let block = b.create_block();
    for &ty in types {
        b.append_block_param(block, ty);
    }
    block
}

pub(super) fn block_args(values: &[Value]) -> Vec<BlockArg> {
    values.iter().map(|&value| BlockArg::Value(value)).collect()
}

/// What a call operator calls.
#[derive(Copy, Clone)]
pub(super) enum Callee {
    /// A function of the module, by index (`call`, `return_call`).
    Function(u32),
    /// The funcref on top of the stack (`call_ref`, `return_call_ref`).
    Ref { type_index: u32 },
    /// The element of `table` whose index is on top of the stack (`call_indirect`,
    /// `return_call_indirect`).
    Indirect { type_index: u32, table: u32 },
}

/// What a proposal's entry point (`tail_call_operator`, `exception_operator`,
/// `atomic_operator`, `gc_operator`, `simd_operator`, `relaxed_simd_operator`) did with an
/// operator.
pub(super) enum Lowered<'a> {
    /// It emitted the operator's IR.
    Done,
    /// The operator is not the proposal's: the next entry point gets it.
    NotMine(Operator<'a>),
}

/// One open `block`, `loop`, `if` or the function body itself.
struct Frame {
    kind: FrameKind,
    /// Where execution continues after the construct; its parameters are the results.
    next: Block,
    params: usize,
    results: usize,
    /// Operand stack height below the construct's parameters.
    height: usize,
    /// Whether any branch or fallthrough reaches `next` so far.
    next_reachable: bool,
}

pub(super) enum FrameKind {
    Block,
    Loop {
        /// Branch target of the loop; its parameters are the loop's parameters.
        header: Block,
    },
    If {
        /// Entered when the condition is false, holding the `else` arm if there is one.
        else_block: Block,
        /// The `if`'s parameters, which the `else` arm starts with again.
        params: Vec<Value>,
        else_seen: bool,
    },
    /// A `try_table`: a block whose exceptions `dispatch` handles.
    TryTable(TryTable),
}

/// What an open `try_table` does with an exception thrown inside it.
pub(super) struct TryTable {
    /// Where calls inside it land when their callee throws, and throws inside it jump; its
    /// one parameter is the exnref. Filled when the `try_table` ends.
    pub(super) dispatch: Block,
    /// The catch clauses in order, with the block each branches to.
    pub(super) clauses: Vec<(CatchClause, Block)>,
}

/// One catch clause of a `try_table`, after its label is resolved.
#[derive(Copy, Clone)]
pub(super) enum CatchClause {
    /// `catch`/`catch_ref` of one tag: its payload, then, with `with_ref`, the exnref.
    Tag { tag: u32, with_ref: bool },
    /// `catch_all`/`catch_all_ref`: nothing, or the exnref.
    All { with_ref: bool },
}

/// The translation state of one function body. Operators of the threads proposal are
/// lowered by the methods in `atomics.rs`, GC operators in `gc.rs` and SIMD in `simd.rs`.
pub(super) struct Translator<'a, 'm, 'b, 'f> {
    pub(super) env: FuncEnv<'a, 'm>,
    pub(super) b: &'b mut FunctionBuilder<'f>,
    pub(super) stack: Vec<Value>,
    control: Vec<Frame>,
    locals: Vec<Variable>,
    /// Whether the current position can execute.
    pub(super) reachable: bool,
    /// Constructs opened in unreachable code, whose `end`s must be skipped as well.
    dead_depth: u32,
    /// Fuel the operators translated since the last subtraction cost (with
    /// `Tunables::consume_fuel`): subtracted in one go where straight-line code ends.
    unflushed_fuel: u64,
    /// This function's index, imports included.
    function: u32,
}

/// What an operator costs in fuel: as in Wasmtime, nothing for those that do no work of their
/// own, one for every other.
fn fuel_cost(op: &Operator<'_>) -> u64 {
    use Operator as O;
    match op {
        O::Nop
        | O::Drop
        | O::Block { .. }
        | O::Loop { .. }
        | O::Unreachable
        | O::Return
        | O::Else
        | O::End => 0,
        _ => 1,
    }
}

/// Whether straight-line code ends at `op`: it branches, calls, or starts or ends a
/// construct, so the fuel of the operators before it is subtracted first.
fn ends_straight_line(op: &Operator<'_>) -> bool {
    use Operator as O;
    matches!(
        op,
        O::Loop { .. }
            | O::If { .. }
            | O::Else
            | O::End
            | O::Br { .. }
            | O::BrIf { .. }
            | O::BrTable { .. }
            | O::BrOnNull { .. }
            | O::BrOnNonNull { .. }
            | O::BrOnCast { .. }
            | O::BrOnCastFail { .. }
            | O::Return
            | O::Call { .. }
            | O::CallRef { .. }
            | O::CallIndirect { .. }
            | O::ReturnCall { .. }
            | O::ReturnCallRef { .. }
            | O::ReturnCallIndirect { .. }
            | O::TryTable { .. }
            | O::Throw { .. }
            | O::ThrowRef
    )
}

impl Translator<'_, '_, '_, '_> {
    fn operator(&mut self, op: Operator<'_>, offset: u64) -> Result<(), WasmError> {
        if !self.reachable {
            match op {
                Operator::Block { .. }
                | Operator::Loop { .. }
                | Operator::If { .. }
                | Operator::TryTable { .. } => self.dead_depth += 1,
                Operator::Else if self.dead_depth == 0 => self.else_(),
                Operator::End if self.dead_depth == 0 => self.end(),
                Operator::End => self.dead_depth -= 1,
                _ => {}
            }
            return Ok(());
        }
        if self.env.consumes_fuel() {
            self.unflushed_fuel += fuel_cost(&op);
            if ends_straight_line(&op) && self.unflushed_fuel > 0 {
                self.env.consume_fuel(self.b, self.unflushed_fuel);
                self.unflushed_fuel = 0;
            }
        }
        use Operator as O;
        match op {
            // --- control ---
            O::Unreachable => {
                self.b.ins().trap(trap_code(TrapKind::Unreachable));
                self.reachable = false;
            }
            O::Nop => {}
            O::Block { blockty } => {
                let (params, results) = self.block_type(blockty, offset)?;
                let next = block_with_params(self.b, &results);
                self.push_frame(FrameKind::Block, next, params.len(), results.len());
            }
            O::Loop { blockty } => {
                let (params, results) = self.block_type(blockty, offset)?;
                let header = block_with_params(self.b, &params);
                let args = self.pop_n(params.len());
                self.b.ins().jump(header, &block_args(&args));
                self.b.switch_to_block(header);
                if self.env.consumes_fuel() {
                    self.env.check_fuel(self.b);
                }
                // A loop that spins on plain loads must let other threads run too.
                self.explore_point(Operation::Loop, None);
                self.stack.extend_from_slice(self.b.block_params(header));
                let next = block_with_params(self.b, &results);
                self.push_frame(
                    FrameKind::Loop { header },
                    next,
                    params.len(),
                    results.len(),
                );
            }
            O::If { blockty } => {
                let (params, results) = self.block_type(blockty, offset)?;
                let condition = self.pop();
                let then_block = self.b.create_block();
                let else_block = self.b.create_block();
                self.b
                    .ins()
                    .brif(condition, then_block, &[], else_block, &[]);
                self.b.seal_block(then_block);
                self.b.seal_block(else_block);
                self.b.switch_to_block(then_block);
                let next = block_with_params(self.b, &results);
                let if_params = self.stack[self.stack.len() - params.len()..].to_vec();
                let kind = FrameKind::If {
                    else_block,
                    params: if_params,
                    else_seen: false,
                };
                self.push_frame(kind, next, params.len(), results.len());
            }
            O::Else => self.else_(),
            O::End => self.end(),
            O::Br { relative_depth } => {
                let (target, arity) = self.branch_target(relative_depth);
                let args = self.peek_n(arity).to_vec();
                self.b.ins().jump(target, &block_args(&args));
                self.reachable = false;
            }
            O::BrIf { relative_depth } => {
                let condition = self.pop();
                let (target, arity) = self.branch_target(relative_depth);
                let args = self.peek_n(arity).to_vec();
                let fallthrough = self.b.create_block();
                self.b
                    .ins()
                    .brif(condition, target, &block_args(&args), fallthrough, &[]);
                self.b.seal_block(fallthrough);
                self.b.switch_to_block(fallthrough);
            }
            O::BrTable { targets } => {
                let index = self.pop();
                let (default, arity) = self.branch_target(targets.default());
                let args = block_args(self.peek_n(arity));
                let mut calls = Vec::with_capacity(targets.len() as usize);
                for depth in targets.targets() {
                    let (target, _) = self.branch_target(depth?);
                    calls.push(self.b.func.dfg.block_call(target, &args));
                }
                let default = self.b.func.dfg.block_call(default, &args);
                let table = self
                    .b
                    .create_jump_table(JumpTableData::new(default, &calls));
                self.b.ins().br_table(index, table);
                self.reachable = false;
            }
            O::Return => {
                let results = self.control[0].results;
                let values = self.peek_n(results).to_vec();
                self.b.ins().return_(&values);
                self.reachable = false;
            }
            O::Call { function_index } => self.call(Callee::Function(function_index)),
            O::CallRef { type_index } => self.call(Callee::Ref { type_index }),
            O::CallIndirect {
                type_index,
                table_index,
            } => self.call(Callee::Indirect {
                type_index,
                table: table_index,
            }),

            // --- parametric ---
            O::Drop => {
                self.pop();
            }
            O::Select | O::TypedSelect { .. } => {
                let condition = self.pop();
                let if_false = self.pop();
                let if_true = self.pop();
                let value = self.b.ins().select(condition, if_true, if_false);
                self.stack.push(value);
            }

            // --- variables ---
            O::LocalGet { local_index } => {
                let value = self.b.use_var(self.locals[local_index as usize]);
                self.stack.push(value);
            }
            O::LocalSet { local_index } => {
                let value = self.pop();
                self.b.def_var(self.locals[local_index as usize], value);
            }
            O::LocalTee { local_index } => {
                let value = self.peek_n(1)[0];
                self.b.def_var(self.locals[local_index as usize], value);
            }
            O::GlobalGet { global_index } => {
                let content = self.env.module().globals[global_index as usize].content_type;
                let ty = value_type(content, offset)?;
                if self.env.detects_global_races(global_index) {
                    let location = self.location(offset);
                    self.env.race_global(self.b, global_index, false, location);
                }
                let value = self.env.global_get(self.b, global_index, ty);
                self.stack.push(value);
            }
            O::GlobalSet { global_index } => {
                let value = self.pop();
                if self.env.detects_global_races(global_index) {
                    let location = self.location(offset);
                    self.env.race_global(self.b, global_index, true, location);
                }
                self.env.global_set(self.b, global_index, value);
            }

            // --- memory ---
            O::I32Load { memarg } => {
                self.load(&memarg, 4, offset, |b, f, p, o| b.ins().load(I32, f, p, o))?
            }
            O::I64Load { memarg } => {
                self.load(&memarg, 8, offset, |b, f, p, o| b.ins().load(I64, f, p, o))?
            }
            O::F32Load { memarg } => {
                self.load(&memarg, 4, offset, |b, f, p, o| b.ins().load(F32, f, p, o))?
            }
            O::F64Load { memarg } => {
                self.load(&memarg, 8, offset, |b, f, p, o| b.ins().load(F64, f, p, o))?
            }
            O::I32Load8S { memarg } => self.load(&memarg, 1, offset, |b, f, p, o| {
                b.ins().sload8(I32, f, p, o)
            })?,
            O::I32Load8U { memarg } => self.load(&memarg, 1, offset, |b, f, p, o| {
                b.ins().uload8(I32, f, p, o)
            })?,
            O::I32Load16S { memarg } => self.load(&memarg, 2, offset, |b, f, p, o| {
                b.ins().sload16(I32, f, p, o)
            })?,
            O::I32Load16U { memarg } => self.load(&memarg, 2, offset, |b, f, p, o| {
                b.ins().uload16(I32, f, p, o)
            })?,
            O::I64Load8S { memarg } => self.load(&memarg, 1, offset, |b, f, p, o| {
                b.ins().sload8(I64, f, p, o)
            })?,
            O::I64Load8U { memarg } => self.load(&memarg, 1, offset, |b, f, p, o| {
                b.ins().uload8(I64, f, p, o)
            })?,
            O::I64Load16S { memarg } => self.load(&memarg, 2, offset, |b, f, p, o| {
                b.ins().sload16(I64, f, p, o)
            })?,
            O::I64Load16U { memarg } => self.load(&memarg, 2, offset, |b, f, p, o| {
                b.ins().uload16(I64, f, p, o)
            })?,
            O::I64Load32S { memarg } => {
                self.load(&memarg, 4, offset, |b, f, p, o| b.ins().sload32(f, p, o))?
            }
            O::I64Load32U { memarg } => {
                self.load(&memarg, 4, offset, |b, f, p, o| b.ins().uload32(f, p, o))?
            }
            O::I32Store { memarg } | O::F32Store { memarg } => {
                self.store(&memarg, 4, offset, |b, f, v, p, o| {
                    b.ins().store(f, v, p, o);
                })?
            }
            O::I64Store { memarg } | O::F64Store { memarg } => {
                self.store(&memarg, 8, offset, |b, f, v, p, o| {
                    b.ins().store(f, v, p, o);
                })?
            }
            O::I32Store8 { memarg } | O::I64Store8 { memarg } => {
                self.store(&memarg, 1, offset, |b, f, v, p, o| {
                    b.ins().istore8(f, v, p, o);
                })?
            }
            O::I32Store16 { memarg } | O::I64Store16 { memarg } => {
                self.store(&memarg, 2, offset, |b, f, v, p, o| {
                    b.ins().istore16(f, v, p, o);
                })?
            }
            O::I64Store32 { memarg } => self.store(&memarg, 4, offset, |b, f, v, p, o| {
                b.ins().istore32(f, v, p, o);
            })?,
            O::MemorySize { mem } => {
                let size = self.env.memory_size(self.b, mem);
                self.stack.push(size);
            }
            O::MemoryGrow { mem } => {
                let delta = self.pop();
                let old = self.env.memory_grow(self.b, mem, delta);
                self.stack.push(old);
            }
            O::MemoryFill { mem } => {
                let args = self.pop3();
                self.race_bulk(mem, [args[0], args[2]], true, offset);
                self.env.memory_fill(self.b, mem, args);
            }
            O::MemoryCopy { dst_mem, src_mem } => {
                let args = self.pop3();
                self.race_bulk(src_mem, [args[1], args[2]], false, offset);
                self.race_bulk(dst_mem, [args[0], args[2]], true, offset);
                self.env.memory_copy(self.b, dst_mem, src_mem, args);
            }
            O::MemoryInit { data_index, mem } => {
                let args = self.pop3();
                self.race_bulk(mem, [args[0], args[2]], true, offset);
                self.env.memory_init(self.b, mem, data_index, args);
            }
            O::DataDrop { data_index } => self.env.data_drop(self.b, data_index),

            // --- references and tables ---
            O::RefNull { hty } => {
                // Validation allows every heap type, but GC objects (structs, arrays) and
                // exceptions have no representation.
                let nullable = RefType::new(true, hty).filter(|&ty| is_supported_ref(ty));
                if nullable.is_none() {
                    return unsupported(format!("ref.null of heap type {hty:?}"), offset);
                }
                let null = self.b.ins().iconst(I64, 0);
                self.stack.push(null);
            }
            O::RefIsNull => self.unary(|b, x| {
                let is_null = b.ins().icmp_imm_u(IntCC::Equal, x, 0);
                b.ins().uextend(I32, is_null)
            }),
            O::RefFunc { function_index } => {
                let funcref = self.env.ref_func(self.b, function_index);
                self.stack.push(funcref);
            }
            O::RefAsNonNull => {
                let reference = self.peek_n(1)[0];
                self.b
                    .ins()
                    .trapz(reference, trap_code(TrapKind::NullReference));
            }
            O::BrOnNull { relative_depth } => {
                let reference = self.pop();
                let (target, arity) = self.branch_target(relative_depth);
                let args = block_args(self.peek_n(arity));
                let fallthrough = self.b.create_block();
                self.b
                    .ins()
                    .brif(reference, fallthrough, &[], target, &args);
                self.b.seal_block(fallthrough);
                self.b.switch_to_block(fallthrough);
                self.stack.push(reference);
            }
            O::BrOnNonNull { relative_depth } => {
                // The target's last operand is the reference itself, on top of the stack.
                let (target, arity) = self.branch_target(relative_depth);
                let args = block_args(self.peek_n(arity));
                let reference = self.pop();
                let fallthrough = self.b.create_block();
                self.b
                    .ins()
                    .brif(reference, target, &args, fallthrough, &[]);
                self.b.seal_block(fallthrough);
                self.b.switch_to_block(fallthrough);
            }
            O::TableGet { table } => {
                let index = self.pop();
                let element = self.env.table_get(self.b, table, index);
                self.stack.push(element);
            }
            O::TableSet { table } => {
                let value = self.pop();
                let index = self.pop();
                self.env.table_set(self.b, table, index, value);
            }
            O::TableSize { table } => {
                let size = self.env.table_size(self.b, table);
                self.stack.push(size);
            }
            O::TableGrow { table } => {
                let delta = self.pop();
                let init = self.pop();
                let old = self.env.table_grow(self.b, table, init, delta);
                self.stack.push(old);
            }
            O::TableFill { table } => {
                let args = self.pop3();
                self.env.table_fill(self.b, table, args);
            }
            O::TableCopy {
                dst_table,
                src_table,
            } => {
                let args = self.pop3();
                self.env.table_copy(self.b, dst_table, src_table, args);
            }
            O::TableInit { elem_index, table } => {
                let args = self.pop3();
                self.env.table_init(self.b, table, elem_index, args);
            }
            O::ElemDrop { elem_index } => self.env.elem_drop(self.b, elem_index),

            // --- constants ---
            O::I32Const { value } => {
                let value = self.b.ins().iconst(I32, i64::from(value));
                self.stack.push(value);
            }
            O::I64Const { value } => {
                let value = self.b.ins().iconst(I64, value);
                self.stack.push(value);
            }
            O::F32Const { value } => {
                let value = self.b.ins().f32const(Ieee32::with_bits(value.bits()));
                self.stack.push(value);
            }
            O::F64Const { value } => {
                let value = self.b.ins().f64const(Ieee64::with_bits(value.bits()));
                self.stack.push(value);
            }
            O::V128Const { value } => {
                let value = v128_const(self.b, value.i128() as u128);
                self.stack.push(value);
            }

            // --- integer comparisons ---
            O::I32Eqz | O::I64Eqz => self.unary(|b, x| {
                let is_zero = b.ins().icmp_imm_u(IntCC::Equal, x, 0);
                b.ins().uextend(I32, is_zero)
            }),
            O::I32Eq | O::I64Eq => self.icmp(IntCC::Equal),
            O::I32Ne | O::I64Ne => self.icmp(IntCC::NotEqual),
            O::I32LtS | O::I64LtS => self.icmp(IntCC::SignedLessThan),
            O::I32LtU | O::I64LtU => self.icmp(IntCC::UnsignedLessThan),
            O::I32GtS | O::I64GtS => self.icmp(IntCC::SignedGreaterThan),
            O::I32GtU | O::I64GtU => self.icmp(IntCC::UnsignedGreaterThan),
            O::I32LeS | O::I64LeS => self.icmp(IntCC::SignedLessThanOrEqual),
            O::I32LeU | O::I64LeU => self.icmp(IntCC::UnsignedLessThanOrEqual),
            O::I32GeS | O::I64GeS => self.icmp(IntCC::SignedGreaterThanOrEqual),
            O::I32GeU | O::I64GeU => self.icmp(IntCC::UnsignedGreaterThanOrEqual),

            // --- float comparisons ---
            O::F32Eq | O::F64Eq => self.fcmp(FloatCC::Equal),
            O::F32Ne | O::F64Ne => self.fcmp(FloatCC::NotEqual),
            O::F32Lt | O::F64Lt => self.fcmp(FloatCC::LessThan),
            O::F32Gt | O::F64Gt => self.fcmp(FloatCC::GreaterThan),
            O::F32Le | O::F64Le => self.fcmp(FloatCC::LessThanOrEqual),
            O::F32Ge | O::F64Ge => self.fcmp(FloatCC::GreaterThanOrEqual),

            // --- integer arithmetic ---
            O::I32Clz | O::I64Clz => self.unary(|b, x| b.ins().clz(x)),
            O::I32Ctz | O::I64Ctz => self.unary(|b, x| b.ins().ctz(x)),
            O::I32Popcnt | O::I64Popcnt => self.unary(|b, x| b.ins().popcnt(x)),
            O::I32Add | O::I64Add => self.binary(|b, x, y| b.ins().iadd(x, y)),
            O::I32Sub | O::I64Sub => self.binary(|b, x, y| b.ins().isub(x, y)),
            O::I32Mul | O::I64Mul => self.binary(|b, x, y| b.ins().imul(x, y)),
            // Cranelift traps on a zero divisor and on signed overflow, as wasm requires, and
            // defines `srem` of the minimum by -1 as 0.
            O::I32DivS | O::I64DivS => self.binary(|b, x, y| b.ins().sdiv(x, y)),
            O::I32DivU | O::I64DivU => self.binary(|b, x, y| b.ins().udiv(x, y)),
            O::I32RemS | O::I64RemS => self.binary(|b, x, y| b.ins().srem(x, y)),
            O::I32RemU | O::I64RemU => self.binary(|b, x, y| b.ins().urem(x, y)),
            O::I32And | O::I64And => self.binary(|b, x, y| b.ins().band(x, y)),
            O::I32Or | O::I64Or => self.binary(|b, x, y| b.ins().bor(x, y)),
            O::I32Xor | O::I64Xor => self.binary(|b, x, y| b.ins().bxor(x, y)),
            // Cranelift shifts and rotates by the amount modulo the width, like wasm.
            O::I32Shl | O::I64Shl => self.binary(|b, x, y| b.ins().ishl(x, y)),
            O::I32ShrS | O::I64ShrS => self.binary(|b, x, y| b.ins().sshr(x, y)),
            O::I32ShrU | O::I64ShrU => self.binary(|b, x, y| b.ins().ushr(x, y)),
            O::I32Rotl | O::I64Rotl => self.binary(|b, x, y| b.ins().rotl(x, y)),
            O::I32Rotr | O::I64Rotr => self.binary(|b, x, y| b.ins().rotr(x, y)),

            // --- float arithmetic ---
            O::F32Abs | O::F64Abs => self.unary(|b, x| b.ins().fabs(x)),
            O::F32Neg | O::F64Neg => self.unary(|b, x| b.ins().fneg(x)),
            O::F32Ceil | O::F64Ceil => self.unary(|b, x| b.ins().ceil(x)),
            O::F32Floor | O::F64Floor => self.unary(|b, x| b.ins().floor(x)),
            O::F32Trunc | O::F64Trunc => self.unary(|b, x| b.ins().trunc(x)),
            O::F32Nearest | O::F64Nearest => self.unary(|b, x| b.ins().nearest(x)),
            O::F32Sqrt | O::F64Sqrt => self.unary(|b, x| b.ins().sqrt(x)),
            O::F32Add | O::F64Add => self.binary(|b, x, y| b.ins().fadd(x, y)),
            O::F32Sub | O::F64Sub => self.binary(|b, x, y| b.ins().fsub(x, y)),
            O::F32Mul | O::F64Mul => self.binary(|b, x, y| b.ins().fmul(x, y)),
            O::F32Div | O::F64Div => self.binary(|b, x, y| b.ins().fdiv(x, y)),
            // Cranelift's fmin and fmax follow wasm's NaN and signed-zero rules.
            O::F32Min | O::F64Min => self.binary(|b, x, y| b.ins().fmin(x, y)),
            O::F32Max | O::F64Max => self.binary(|b, x, y| b.ins().fmax(x, y)),
            O::F32Copysign | O::F64Copysign => self.binary(|b, x, y| b.ins().fcopysign(x, y)),

            // --- conversions ---
            O::I32WrapI64 => self.unary(|b, x| b.ins().ireduce(I32, x)),
            O::I64ExtendI32S => self.unary(|b, x| b.ins().sextend(I64, x)),
            O::I64ExtendI32U => self.unary(|b, x| b.ins().uextend(I64, x)),
            O::I32TruncF32S | O::I32TruncF64S => self.unary(|b, x| b.ins().fcvt_to_sint(I32, x)),
            O::I32TruncF32U | O::I32TruncF64U => self.unary(|b, x| b.ins().fcvt_to_uint(I32, x)),
            O::I64TruncF32S | O::I64TruncF64S => self.unary(|b, x| b.ins().fcvt_to_sint(I64, x)),
            O::I64TruncF32U | O::I64TruncF64U => self.unary(|b, x| b.ins().fcvt_to_uint(I64, x)),
            O::I32TruncSatF32S | O::I32TruncSatF64S => {
                self.unary(|b, x| b.ins().fcvt_to_sint_sat(I32, x))
            }
            O::I32TruncSatF32U | O::I32TruncSatF64U => {
                self.unary(|b, x| b.ins().fcvt_to_uint_sat(I32, x))
            }
            O::I64TruncSatF32S | O::I64TruncSatF64S => {
                self.unary(|b, x| b.ins().fcvt_to_sint_sat(I64, x))
            }
            O::I64TruncSatF32U | O::I64TruncSatF64U => {
                self.unary(|b, x| b.ins().fcvt_to_uint_sat(I64, x))
            }
            O::F32ConvertI32S | O::F32ConvertI64S => {
                self.unary(|b, x| b.ins().fcvt_from_sint(F32, x))
            }
            O::F32ConvertI32U | O::F32ConvertI64U => {
                self.unary(|b, x| b.ins().fcvt_from_uint(F32, x))
            }
            O::F64ConvertI32S | O::F64ConvertI64S => {
                self.unary(|b, x| b.ins().fcvt_from_sint(F64, x))
            }
            O::F64ConvertI32U | O::F64ConvertI64U => {
                self.unary(|b, x| b.ins().fcvt_from_uint(F64, x))
            }
            O::F32DemoteF64 => self.unary(|b, x| b.ins().fdemote(F32, x)),
            O::F64PromoteF32 => self.unary(|b, x| b.ins().fpromote(F64, x)),
            O::I32ReinterpretF32 => self.reinterpret(I32),
            O::I64ReinterpretF64 => self.reinterpret(I64),
            O::F32ReinterpretI32 => self.reinterpret(F32),
            O::F64ReinterpretI64 => self.reinterpret(F64),
            O::I32Extend8S => self.sign_extend(I8, I32),
            O::I32Extend16S => self.sign_extend(I16, I32),
            O::I64Extend8S => self.sign_extend(I8, I64),
            O::I64Extend16S => self.sign_extend(I16, I64),
            O::I64Extend32S => self.sign_extend(I32, I64),

            // --- every later proposal, each behind its own entry point ---
            other => self.proposal_operator(other, offset)?,
        }
        Ok(())
    }

    /// Routes an operator outside the core instruction set to its proposal's entry point.
    /// One that no entry point takes is reported here, the one place weft names an operator
    /// it does not support.
    fn proposal_operator(&mut self, op: Operator<'_>, offset: u64) -> Result<(), WasmError> {
        let Lowered::NotMine(op) = self.tail_call_operator(op)? else {
            return Ok(());
        };
        let Lowered::NotMine(op) = self.exception_operator(op, offset)? else {
            return Ok(());
        };
        let Lowered::NotMine(op) = self.atomic_operator(op, offset)? else {
            return Ok(());
        };
        let Lowered::NotMine(op) = self.gc_operator(op, offset)? else {
            return Ok(());
        };
        let Lowered::NotMine(op) = self.simd_operator(op, offset)? else {
            return Ok(());
        };
        let Lowered::NotMine(op) = self.relaxed_simd_operator(op, offset)? else {
            return Ok(());
        };
        unsupported(format!("operator {op:?}"), offset)
    }

    /// A call of `callee` with its arguments from the stack, pushing its results. Inside a
    /// `try_table`, an exception thrown out of the callee lands at the innermost one's
    /// handler.
    fn call(&mut self, callee: Callee) {
        let handler = self.innermost_handler();
        self.emit_call(callee, CallKind::Plain { handler });
    }

    /// A tail call of `callee` with its arguments from the stack: it returns its results
    /// from this function, whose frame it replaces, and the code after it is unreachable.
    pub(super) fn return_call(&mut self, callee: Callee) {
        self.emit_call(callee, CallKind::Tail);
    }

    fn emit_call(&mut self, callee: Callee, kind: CallKind) {
        let module = self.env.module();
        let arity = match callee {
            Callee::Function(function) => module.function_type(function).params().len(),
            Callee::Ref { type_index } | Callee::Indirect { type_index, .. } => {
                module.func_type(type_index).params().len()
            }
        };
        let results = match callee {
            Callee::Function(function) => {
                let args = self.pop_n(arity);
                self.env.call(self.b, function, &args, kind)
            }
            Callee::Ref { type_index } => {
                let funcref = self.pop();
                let args = self.pop_n(arity);
                self.env.call_ref(self.b, type_index, funcref, &args, kind)
            }
            Callee::Indirect { type_index, table } => {
                let index = self.pop();
                let args = self.pop_n(arity);
                self.env
                    .call_indirect(self.b, type_index, table, index, &args, kind)
            }
        };
        match kind {
            CallKind::Plain { .. } => self.stack.extend(results),
            CallKind::Tail => self.reachable = false,
        }
    }

    // --- operand stack ---

    pub(super) fn pop(&mut self) -> Value {
        self.stack.pop().expect("validated code never underflows")
    }

    fn pop3(&mut self) -> [Value; 3] {
        let third = self.pop();
        let second = self.pop();
        let first = self.pop();
        [first, second, third]
    }

    pub(super) fn pop_n(&mut self, n: usize) -> Vec<Value> {
        self.stack.split_off(self.stack.len() - n)
    }

    pub(super) fn peek_n(&self, n: usize) -> &[Value] {
        &self.stack[self.stack.len() - n..]
    }

    pub(super) fn unary(&mut self, op: impl FnOnce(&mut FunctionBuilder<'_>, Value) -> Value) {
        let x = self.pop();
        let result = op(self.b, x);
        self.stack.push(result);
    }

    fn binary(&mut self, op: impl FnOnce(&mut FunctionBuilder<'_>, Value, Value) -> Value) {
        let y = self.pop();
        let x = self.pop();
        let result = op(self.b, x, y);
        self.stack.push(result);
    }

    /// Integer comparisons produce an `i8` in Cranelift and an `i32` in wasm.
    pub(super) fn icmp(&mut self, cc: IntCC) {
        self.binary(|b, x, y| {
            let flag = b.ins().icmp(cc, x, y);
            b.ins().uextend(I32, flag)
        });
    }

    fn fcmp(&mut self, cc: FloatCC) {
        self.binary(|b, x, y| {
            let flag = b.ins().fcmp(cc, x, y);
            b.ins().uextend(I32, flag)
        });
    }

    fn reinterpret(&mut self, to: Type) {
        self.unary(|b, x| b.ins().bitcast(to, MemFlagsData::new(), x));
    }

    /// `extendN_s`: sign-extends the low `from` bits of the operand to `to`.
    fn sign_extend(&mut self, from: Type, to: Type) {
        self.unary(|b, x| {
            let narrow = b.ins().ireduce(from, x);
            b.ins().sextend(to, narrow)
        });
    }

    // --- memory ---

    pub(super) fn memory_index(memarg: &MemArg, offset: u64) -> Result<u32, WasmError> {
        match memarg.target {
            MemArgTarget::Memory(memory) => Ok(memory),
            MemArgTarget::Array(_) => unsupported("GC array accesses", offset),
        }
    }

    pub(super) fn load(
        &mut self,
        memarg: &MemArg,
        size: u32,
        offset: u64,
        emit: impl FnOnce(&mut FunctionBuilder<'_>, MemFlagsData, Value, i32) -> Value,
    ) -> Result<(), WasmError> {
        let memory = Self::memory_index(memarg, offset)?;
        let index = self.pop();
        let (address, imm) = self
            .env
            .heap_address(self.b, memory, index, memarg.offset, size);
        if self.env.detects_races(memory) {
            let location = self.location(offset);
            self.env
                .race_access(self.b, (address, imm), size, false, location);
        }
        let value = emit(self.b, self.env.heap_flags(), address, imm);
        self.stack.push(value);
        Ok(())
    }

    pub(super) fn store(
        &mut self,
        memarg: &MemArg,
        size: u32,
        offset: u64,
        emit: impl FnOnce(&mut FunctionBuilder<'_>, MemFlagsData, Value, Value, i32),
    ) -> Result<(), WasmError> {
        let memory = Self::memory_index(memarg, offset)?;
        let value = self.pop();
        let index = self.pop();
        let (address, imm) = self
            .env
            .heap_address(self.b, memory, index, memarg.offset, size);
        if self.env.detects_races(memory) {
            let location = self.location(offset);
            self.env
                .race_access(self.b, (address, imm), size, true, location);
        }
        emit(self.b, self.env.heap_flags(), value, address, imm);
        Ok(())
    }

    /// With race detection on a shared `memory`, reports a bulk operation's access to the
    /// `[index, len]` range it reads or writes.
    fn race_bulk(&mut self, memory: u32, range: [Value; 2], write: bool, offset: u64) {
        if self.env.detects_races(memory) {
            let location = self.location(offset);
            self.env
                .race_memory_range(self.b, memory, range, write, location);
        }
    }

    /// Where the instruction at binary offset `offset` of this function is, as the race
    /// detector reports it: the function index in the high half, the offset in the low.
    fn location(&self, offset: u64) -> u64 {
        code_location(self.function, offset)
    }

    /// The location of the instruction being translated (its offset is the source location
    /// every instruction sets).
    pub(super) fn current_location(&self) -> u64 {
        self.location(u64::from(self.b.srcloc().bits()))
    }

    /// With exploration, a schedule point before `operation` (of the instruction being
    /// translated) at native `address`, if it has one.
    pub(super) fn explore_point(&mut self, operation: Operation, address: Option<Value>) {
        if self.env.explores() {
            let location = self.current_location();
            let address = address.unwrap_or_else(|| self.b.ins().iconst(I64, 0));
            self.env.explore_point(self.b, operation, address, location);
        }
    }

    // --- control ---

    pub(super) fn block_type(
        &self,
        blockty: BlockType,
        offset: u64,
    ) -> Result<(Vec<Type>, Vec<Type>), WasmError> {
        match blockty {
            BlockType::Empty => Ok((Vec::new(), Vec::new())),
            BlockType::Type(ty) => Ok((Vec::new(), vec![value_type(ty, offset)?])),
            BlockType::FuncType(index) => {
                let ty = self.env.module().func_type(index);
                Ok((
                    value_types(ty.params(), offset)?,
                    value_types(ty.results(), offset)?,
                ))
            }
        }
    }

    pub(super) fn push_frame(
        &mut self,
        kind: FrameKind,
        next: Block,
        params: usize,
        results: usize,
    ) {
        self.control.push(Frame {
            kind,
            next,
            params,
            results,
            height: self.stack.len() - params,
            next_reachable: false,
        });
    }

    /// The block a branch to `depth` jumps to and how many operands it carries.
    pub(super) fn branch_target(&mut self, depth: u32) -> (Block, usize) {
        let position = self.control.len() - 1 - depth as usize;
        let frame = &mut self.control[position];
        match frame.kind {
            FrameKind::Loop { header } => (header, frame.params),
            FrameKind::Block | FrameKind::If { .. } | FrameKind::TryTable(_) => {
                frame.next_reachable = true;
                (frame.next, frame.results)
            }
        }
    }

    /// Where an exception thrown here goes first: the dispatch block of the innermost open
    /// `try_table` of this function, if any.
    pub(super) fn innermost_handler(&self) -> Option<Block> {
        self.control
            .iter()
            .rev()
            .find_map(|frame| match &frame.kind {
                FrameKind::TryTable(try_table) => Some(try_table.dispatch),
                _ => None,
            })
    }

    /// Jumps from the end of a reachable arm to the construct's continuation.
    fn fall_through(&mut self) {
        let frame = self.control.last_mut().expect("an open construct");
        let arity = frame.results;
        let next = frame.next;
        frame.next_reachable = true;
        let results = self.pop_n(arity);
        self.b.ins().jump(next, &block_args(&results));
    }

    fn else_(&mut self) {
        if self.reachable {
            self.fall_through();
        }
        let frame = self.control.last_mut().expect("`else` closes an `if`");
        let FrameKind::If {
            else_block,
            params,
            else_seen,
        } = &mut frame.kind
        else {
            unreachable!("validated `else` follows an `if`")
        };
        *else_seen = true;
        self.stack.truncate(frame.height);
        self.stack.extend_from_slice(params);
        self.b.switch_to_block(*else_block);
        self.reachable = true;
    }

    fn end(&mut self) {
        if self.reachable {
            self.fall_through();
        }
        let mut frame = self.control.pop().expect("`end` closes a construct");
        match frame.kind {
            FrameKind::Block => {}
            FrameKind::Loop { header } => self.b.seal_block(header),
            // Without an `else`, a false condition passes the parameters on as results.
            FrameKind::If {
                else_block,
                params,
                else_seen: false,
            } => {
                self.b.switch_to_block(else_block);
                self.b.ins().jump(frame.next, &block_args(&params));
                frame.next_reachable = true;
            }
            FrameKind::If { .. } => {}
            FrameKind::TryTable(try_table) => self.dispatch(try_table),
        }
        self.stack.truncate(frame.height);
        self.b.switch_to_block(frame.next);
        self.b.seal_block(frame.next);
        self.reachable = frame.next_reachable;
        let results = self.b.block_params(frame.next).to_vec();
        if self.control.is_empty() {
            if self.reachable {
                self.b.ins().return_(&results);
            }
        } else {
            self.stack.extend(results);
        }
    }
}
