//! Adapters between the host's calling convention and wasm's.
//!
//! The runtime calls wasm code of any signature through one native function type by passing
//! arguments and results in an array of 16-byte slots (the array call); host functions are
//! reached from wasm through the mirror image of that (the host call).

use super::traps::trap_code;
use crate::environ::{MutexFastPath, TrapKind, VMOffsets, VMVAL_SIZE};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I32, I64};
use cranelift_codegen::ir::{
    AbiParam, Endianness, InstBuilder, MemFlagsData, Signature, StackSlotData, StackSlotKind, Value,
};
use cranelift_codegen::isa::CallConv;
use cranelift_frontend::FunctionBuilder;

/// Slots of the values array hold little-endian values in their low bytes.
const VALUES: MemFlagsData = MemFlagsData::trusted().with_endianness(Endianness::Little);

/// `extern "C" fn(vmctx, thread, wasm_call, values)`.
pub(crate) fn array_call_signature(native: CallConv) -> Signature {
    let mut sig = Signature::new(native);
    sig.params.extend([AbiParam::new(I64); 4]);
    sig
}

/// `extern "C" fn(host_ctx, caller_thread, values, len) -> i32`, the entry point of a host
/// function: 0 when it returned its results in `values`, 1 when it failed and
/// [`HOST_THREW`] when it threw an exception, whose exnref is then in `values[0]`.
fn host_entry_signature(native: CallConv) -> Signature {
    let mut sig = Signature::new(native);
    sig.params.extend([AbiParam::new(I64); 3]);
    sig.params.push(AbiParam::new(I32));
    sig.returns.push(AbiParam::new(I32));
    sig
}

/// Starts the function in `b` with its entry block; returns the function's parameters.
fn enter(b: &mut FunctionBuilder<'_>) -> Vec<Value> {
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    b.block_params(entry).to_vec()
}

fn slot_offset(index: usize) -> i32 {
    i32::try_from(index * VMVAL_SIZE as usize).expect("wasm signatures have few values")
}

fn load_values(b: &mut FunctionBuilder<'_>, types: &[AbiParam], values: Value) -> Vec<Value> {
    types
        .iter()
        .enumerate()
        .map(|(i, param)| {
            b.ins()
                .load(param.value_type, VALUES, values, slot_offset(i))
        })
        .collect()
}

fn store_values(b: &mut FunctionBuilder<'_>, results: &[Value], values: Value) {
    for (i, &result) in results.iter().enumerate() {
        b.ins().store(VALUES, result, values, slot_offset(i));
    }
}

/// Emits the array-call trampoline for functions with signature `wasm` into `b`, whose
/// signature is [`array_call_signature`].
pub(crate) fn build_array_call(b: &mut FunctionBuilder<'_>, wasm: &Signature) {
    let &[vmctx, thread, wasm_call, values] = enter(b).as_slice() else {
        unreachable!("the array-call signature has four parameters")
    };
    let mut args = vec![vmctx, thread];
    args.extend(load_values(b, &wasm.params[2..], values));
    let sig = b.import_signature(wasm.clone());
    let call = b.ins().call_indirect(sig, wasm_call, &args);
    let results = b.inst_results(call).to_vec();
    store_values(b, &results, values);
    b.ins().return_(&[]);
}

/// Emits the host-call trampoline for signature `wasm` into `b`, whose signature is `wasm`
/// itself: wasm code calls host functions exactly like wasm functions.
pub(crate) fn build_host_call(b: &mut FunctionBuilder<'_>, wasm: &Signature, native: CallConv) {
    let params = enter(b);
    let (host_ctx, caller_thread) = (params[0], params[1]);

    let len = (wasm.params.len() - 2).max(wasm.returns.len());
    let size = u32::try_from(len.max(1)).expect("wasm signatures have few values") * VMVAL_SIZE;
    let slot = b.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, size, 4));
    let values = b.ins().stack_addr(I64, slot, 0);
    store_values(b, &params[2..], values);

    let entry_offset = offset(VMOffsets::host_func_entry());
    let flags = MemFlagsData::trusted().with_readonly().with_can_move();
    let host_entry = b.ins().load(I64, flags, host_ctx, entry_offset);
    let sig = b.import_signature(host_entry_signature(native));
    let len = b.ins().iconst(I32, i64::try_from(len).expect("few values"));
    let call = b
        .ins()
        .call_indirect(sig, host_entry, &[host_ctx, caller_thread, values, len]);
    let status = b.inst_results(call)[0];
    let threw = b.ins().icmp_imm_u(IntCC::Equal, status, HOST_THREW);
    let throw = b.create_block();
    let returned = b.create_block();
    b.ins().brif(threw, throw, &[], returned, &[]);
    b.set_cold_block(throw);
    b.seal_block(throw);
    b.seal_block(returned);

    // The exception goes on to this trampoline's callers, as if the host function were wasm.
    b.switch_to_block(throw);
    let exn = b.ins().load(I64, VALUES, values, 0);
    let fp = b.ins().get_frame_pointer(I64);
    let thrower = b
        .ins()
        .load(I64, flags, host_ctx, offset(VMOffsets::host_func_throw()));
    let mut throw_sig = Signature::new(native);
    throw_sig.params.extend([AbiParam::new(I64); 2]);
    let throw_sig = b.import_signature(throw_sig);
    b.ins().call_indirect(throw_sig, thrower, &[exn, fp]);
    b.ins().trap(trap_code(TrapKind::Unreachable));

    b.switch_to_block(returned);
    b.ins().trapnz(status, trap_code(TrapKind::HostError));
    let results = load_values(b, &wasm.returns, values);
    b.ins().return_(&results);
}

/// [`host_entry_signature`]'s status for a host function that threw an exception.
const HOST_THREW: i64 = 2;

/// Emits `path` for a host mutex, with signature `wasm` (that of the host function it stands
/// in for): one compare-exchange on the lock word the host function's context names, with
/// the calling thread's token from its record, and a call of the host function's own
/// trampoline with the same arguments whenever that does not settle it (the mutex is held
/// or contended, the caller does not hold it, or the thread has no token yet). The protocol
/// is `weft_threads::HostMutex`'s: its `lock` and `unlock` start with the same exchange.
pub(crate) fn build_mutex_fast_path(
    b: &mut FunctionBuilder<'_>,
    wasm: &Signature,
    path: MutexFastPath,
) {
    let params = enter(b);
    let (host_ctx, caller_thread) = (params[0], params[1]);
    let constant = MemFlagsData::trusted().with_readonly().with_can_move();
    let word = b.ins().load(
        I64,
        constant,
        host_ctx,
        offset(VMOffsets::host_func_fast_word()),
    );
    let record = b.ins().load(
        I64,
        constant,
        caller_thread,
        offset(VMOffsets::thread_record()),
    );
    let token = b.ins().load(
        I64,
        MemFlagsData::trusted(),
        record,
        offset(VMOffsets::record_lock_token()),
    );

    let slow = b.create_block();
    let exchange = b.create_block();
    let no_token = b.ins().icmp_imm_u(IntCC::Equal, token, 0);
    b.ins().brif(no_token, slow, &[], exchange, &[]);

    b.switch_to_block(exchange);
    b.seal_block(exchange);
    let free = b.ins().iconst(I64, 0);
    let (expected, replacement) = match path {
        MutexFastPath::Lock => (free, token),
        MutexFastPath::Unlock => (token, free),
    };
    let before = b
        .ins()
        .atomic_cas(MemFlagsData::trusted(), word, expected, replacement);
    let settled = b.ins().icmp(IntCC::Equal, before, expected);
    let done = b.create_block();
    b.ins().brif(settled, done, &[], slow, &[]);

    b.switch_to_block(done);
    b.seal_block(done);
    match path {
        MutexFastPath::Lock => {
            let acquired = b.ins().iconst(I32, 1);
            b.ins().return_(&[acquired]);
        }
        MutexFastPath::Unlock => {
            b.ins().return_(&[]);
        }
    }

    b.switch_to_block(slow);
    b.seal_block(slow);
    b.set_cold_block(slow);
    let slow_call = b.ins().load(
        I64,
        constant,
        host_ctx,
        offset(VMOffsets::host_func_slow_call()),
    );
    let sig = b.import_signature(wasm.clone());
    let call = b.ins().call_indirect(sig, slow_call, &params);
    let results = b.inst_results(call).to_vec();
    b.ins().return_(&results);
}

fn offset(offset: u32) -> i32 {
    i32::try_from(offset).expect("static context fields are at small offsets")
}
