//! Which calls the compiler inlines, and the chains of offsets that name inlined code.

use super::Compiler;
use super::inline::{CALLER_BUDGET, SMALL_CALLEE};
use super::tests::parse;
use crate::environ::{ModuleInfo, ModuleTypes, OptLevel, Tunables, TypeRegistry};

/// The inlined chains of each defined function of `wat`, compiled with `tunables`.
fn chains_with(tunables: &Tunables, wat: &str) -> (Vec<Vec<Vec<u32>>>, ModuleInfo) {
    let (bytes, info) = parse(wat);
    let types = ModuleTypes::register(&mut TypeRegistry::default(), &info).expect("types");
    let module = Compiler::new(tunables)
        .expect("the host is supported")
        .compile_module(&bytes, &info, &types)
        .expect("compiles");
    let chains = module
        .functions
        .iter()
        .map(|function| function.inlined.clone())
        .collect();
    (chains, info)
}

fn chains(wat: &str) -> (Vec<Vec<Vec<u32>>>, ModuleInfo) {
    let tunables = Tunables {
        verify_ir: true,
        ..Tunables::default()
    };
    chains_with(&tunables, wat)
}

/// The defined functions whose code each chain's offsets are in, outermost first.
fn functions_of(info: &ModuleInfo, chains: &[Vec<u32>]) -> Vec<Vec<u32>> {
    chains
        .iter()
        .map(|chain| {
            chain
                .iter()
                .map(|&offset| {
                    info.defined_function_at(offset)
                        .expect("an offset in a body")
                })
                .collect()
        })
        .collect()
}

const NESTED: &str = r#"(module
  (memory 1)
  (func $leaf (param i32) (result i32) (i32.load (local.get 0)))
  (func $middle (param i32) (result i32) (call $leaf (i32.add (local.get 0) (i32.const 4))))
  (func (export "outer") (param i32) (result i32) (call $middle (local.get 0))))"#;

#[test]
fn a_small_callee_is_inlined_with_the_offsets_of_the_call_and_of_its_instructions() {
    let (chains, info) = chains(NESTED);
    assert!(chains[0].is_empty(), "the leaf calls nothing");
    // One level: `middle` holds `leaf`'s code; `outer` holds `middle`'s as it was
    // translated, whose call of `leaf` stays a call.
    for (caller, callee) in [(1u32, 0u32), (2, 1)] {
        let functions = functions_of(&info, &chains[caller as usize]);
        assert!(!functions.is_empty(), "function {caller} inlined nothing");
        assert!(
            functions.iter().all(|chain| *chain == [caller, callee]),
            "function {caller}: {functions:?}"
        );
    }
}

#[test]
fn nothing_is_inlined_when_inlining_is_off_or_code_is_not_optimized() {
    for tunables in [
        Tunables {
            inline_functions: false,
            ..Tunables::default()
        },
        Tunables {
            opt_level: OptLevel::None,
            ..Tunables::default()
        },
    ] {
        let (chains, _) = chains_with(&tunables, NESTED);
        assert!(chains.iter().all(Vec::is_empty), "{chains:?}");
    }
}

#[test]
fn recursion_unrolls_once() {
    let (chains, info) = chains(
        r#"(module
          (func $fib (param i32) (result i32)
            (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
              (then (local.get 0))
              (else (i32.add
                (call $fib (i32.sub (local.get 0) (i32.const 1)))
                (call $fib (i32.sub (local.get 0) (i32.const 2))))))))"#,
    );
    let functions = functions_of(&info, &chains[0]);
    assert!(!functions.is_empty());
    assert!(
        functions.iter().all(|chain| *chain == [0, 0]),
        "{functions:?}"
    );
}

#[test]
fn calls_that_keep_their_frames_are_not_inlined() {
    // A callee with a handler, a callee that tail-calls, a call inside `try_table` and a
    // callee too large: each stays a call.
    let large_body = "(local.set 0 (i32.mul (local.get 0) (i32.const 3)))".repeat(SMALL_CALLEE);
    let (chains, _) = chains(&format!(
        r#"(module
          (tag $oops)
          (func $catches (param i32) (result i32)
            (block $caught
              (try_table (catch_all $caught) (call $throws (local.get 0))))
            (local.get 0))
          (func $throws (param i32) (if (local.get 0) (then (throw $oops))))
          (func $tail (param i32) (result i32) (return_call $catches (local.get 0)))
          (func $large (param i32) (result i32) {large_body} (local.get 0))
          (func $small (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
          (func (export "caller") (param i32) (result i32)
            (drop (call $catches (local.get 0)))
            (drop (call $tail (local.get 0)))
            (drop (call $large (local.get 0)))
            (block $caught
              (try_table (catch_all $caught) (drop (call $small (local.get 0)))))
            (local.get 0)))"#
    ));
    assert!(chains[5].is_empty(), "{:?}", chains[5]);
    // `throws` is small and plain, but `catches` calls it inside its `try_table`.
    assert!(chains[0].is_empty(), "{:?}", chains[0]);
}

#[test]
fn a_caller_grows_only_to_its_budget() {
    // A few values per call, and a callee of about ten: the caller starts well below its
    // budget, and inlining every call would take it far past.
    let count = CALLER_BUDGET / 8;
    let calls = "(local.set 0 (call $small (local.get 0)))".repeat(count);
    let (chains, info) = chains(&format!(
        r#"(module
          (func $small (param i32) (result i32)
            (i32.add (i32.mul (local.get 0) (i32.const 3)) (i32.const 1)))
          (func (export "caller") (param i32) (result i32) {calls} (local.get 0)))"#
    ));
    let inlined_calls: std::collections::HashSet<u32> =
        chains[1].iter().map(|chain| chain[0]).collect();
    assert!(!inlined_calls.is_empty());
    assert!(
        inlined_calls.len() < count,
        "{} of {count} calls inlined",
        inlined_calls.len()
    );
    assert!(
        functions_of(&info, &chains[1])
            .iter()
            .all(|chain| *chain == [1, 0])
    );
}
