//! Functions with loops get a start within a cache line, and land there in code memory.

use super::inline::InlineBodies;
use super::placement::{LINE, STEP};
use super::tests::compiler;
use super::{CodeBuilder, CompiledBody, Scratch};
use crate::environ::BoundsChecks;
use cranelift_codegen::ir::{AbiParam, InstBuilder, Signature, types};
use cranelift_frontend::FunctionBuilder;

fn signature() -> Signature {
    let mut signature = Signature::new(cranelift_codegen::isa::CallConv::SystemV);
    signature.params.push(AbiParam::new(types::I32));
    signature.returns.push(AbiParam::new(types::I32));
    signature
}

/// `n + (n - 1) + ... + 1`, as a loop.
fn sum_loop(b: &mut FunctionBuilder<'_>) {
    let entry = b.create_block();
    let header = b.create_block();
    let exit = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.append_block_param(header, types::I32);
    b.append_block_param(header, types::I32);
    b.switch_to_block(entry);
    let n = b.block_params(entry)[0];
    let zero = b.ins().iconst(types::I32, 0);
    b.ins().jump(header, &[n.into(), zero.into()]);
    b.switch_to_block(header);
    let (count, sum) = (b.block_params(header)[0], b.block_params(header)[1]);
    let sum = b.ins().iadd(sum, count);
    let count = b.ins().iadd_imm_s(count, -1);
    b.ins()
        .brif(count, header, &[count.into(), sum.into()], exit, &[]);
    b.switch_to_block(exit);
    b.ins().return_(&[sum]);
    b.seal_all_blocks();
}

fn straight(b: &mut FunctionBuilder<'_>) {
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    let n = b.block_params(entry)[0];
    let doubled = b.ins().iadd(n, n);
    b.ins().return_(&[doubled]);
    b.seal_all_blocks();
}

fn line_offset_of(build: fn(&mut FunctionBuilder<'_>)) -> Option<u32> {
    let compiler = compiler(BoundsChecks::Explicit);
    let mut code = CodeBuilder::new(compiler.isa.clone());
    let id = code.declare(&signature()).expect("declared");
    let body = Scratch::new()
        .compile(
            &*compiler.isa,
            id,
            &signature(),
            |b| {
                build(b);
                Ok(())
            },
            &InlineBodies::default(),
        )
        .expect("compiles");
    body.line_offset
}

#[test]
fn a_function_with_a_loop_asks_for_a_line_offset_and_straight_code_does_not() {
    let offset = line_offset_of(sum_loop).expect("the loop is found");
    assert_eq!(offset % STEP, 0);
    assert!(offset < LINE);
    assert_eq!(line_offset_of(straight), None);
}

#[test]
fn functions_start_at_the_line_offset_they_ask_for() {
    let compiler = compiler(BoundsChecks::Explicit);
    let mut code = CodeBuilder::new(compiler.isa.clone());
    // `ret` after a few bytes of `nop`, of lengths that leave the next free byte anywhere
    // within a line.
    let body = |len: usize| {
        let mut bytes = vec![0x90; len - 1];
        bytes.push(0xc3);
        bytes
    };
    let asked = [
        (None, 37),
        (Some(16), 5),
        (Some(48), 100),
        (Some(0), 17),
        (Some(32), 64),
        (None, 3),
        (Some(16), 200),
        (Some(48), 1),
    ];
    let mut pending = Vec::new();
    for &(line_offset, len) in &asked {
        let id = code.declare(&signature()).expect("declared");
        let body = CompiledBody {
            id,
            alignment: 32,
            line_offset,
            code: body(len),
            relocs: Vec::new(),
            traps: Vec::new(),
            sources: Vec::new(),
            inlined: Vec::new(),
            handlers: Vec::new(),
        };
        pending.push(code.define(body).expect("defined"));
    }
    let functions = code.finish().expect("finalized").locate_all(pending);
    for (function, &(line_offset, _)) in functions.iter().zip(&asked) {
        match line_offset {
            Some(offset) => assert_eq!(function.start % LINE as usize, offset as usize),
            None => assert_eq!(function.start % 32, 0),
        }
    }
}
