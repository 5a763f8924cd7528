use crate::differential::{Differential, Engines, Verdict, run_case};
use crate::outcome::{Call, Outcome, State, Trap, TrapClass, Value, compare};
use crate::target::Target;
use crate::weft_run;
use crate::{Proposals, generate, on_case_thread};
use weft::{BoundsChecks, OptLevel};

#[test]
fn a_seed_makes_the_same_module_every_time() {
    for proposals in [Proposals::Shared, Proposals::Weft] {
        for seed in 0..20 {
            assert_eq!(
                generate::module(seed, proposals),
                generate::module(seed, proposals)
            );
        }
        assert_ne!(
            generate::module(1, proposals),
            generate::module(2, proposals)
        );
    }
}

#[test]
fn the_first_cases_agree_and_make_calls() {
    on_case_thread(first_cases_agree);
}

fn first_cases_agree() {
    let engines = Engines::default();
    for proposals in [Proposals::Shared, Proposals::Weft] {
        let mut calls = 0;
        for seed in 0..40 {
            match run_case(&engines, seed, proposals) {
                Verdict::Agreed { calls: made, .. } => calls += made,
                Verdict::NoModule => {}
                Verdict::Diverged { which, .. } => panic!("case {seed}: {which}"),
            }
        }
        assert!(calls > 40, "{proposals:?}: only {calls} calls in 40 cases");
    }
}

fn ran(call: Call, memory: &[u8]) -> Outcome {
    let state = State {
        globals: vec![("g".to_string(), Value::I32(7))],
        memories: vec![("m".to_string(), memory.to_vec())],
    };
    Outcome::Ran(vec![("f".to_string(), call, state)])
}

#[test]
fn every_kind_of_difference_is_found() {
    let returned = |value| Call::Returned(vec![value]);
    let same = ran(returned(Value::I32(1)), &[0, 0]);
    assert!(compare(&same, &same.clone()).is_none());
    // NaNs compare by value once canonical; traps by class, whatever the engines' messages.
    assert_eq!(Value::f32(0x7fc0_0001), Value::f32(0xffc0_0000));
    let trap = |class: TrapClass, message: &str| {
        let message = message.to_string();
        ran(Call::Trapped(Trap { class, message }), &[0, 0])
    };
    let unreachable = trap(TrapClass::Unreachable, "unreachable");
    let overflow = trap(TrapClass::IntegerOverflow, "unreachable");
    assert!(compare(&unreachable, &overflow).is_some());
    assert!(
        compare(
            &unreachable,
            &trap(TrapClass::Unreachable, "wasm trap: unreachable")
        )
        .is_none()
    );
    let different = [
        ran(returned(Value::I32(2)), &[0, 0]),
        ran(returned(Value::f64(1)), &[0, 0]),
        unreachable.clone(),
        trap(TrapClass::IntegerOverflow, "unreachable"),
        ran(returned(Value::I32(1)), &[0, 1]),
        ran(returned(Value::I32(1)), &[0, 0, 0]),
        Outcome::InstantiationTrapped(Trap {
            class: TrapClass::MemoryOutOfBounds,
            message: "out of bounds".to_string(),
        }),
        Outcome::Rejected("invalid".to_string()),
    ];
    for other in different {
        let found = compare(&same, &other).expect("a difference");
        assert!(!found.0.is_empty());
    }
}

/// Case 7007124's shared module recurses as deep as the fuel guard allows; unoptimized code's
/// larger frames once ran out of weft's stack first, a difference of resources, not results.
#[test]
fn deep_recursion_ends_by_fuel_in_every_configuration() {
    on_case_thread(
        || match run_case(&Engines::default(), 7_007_124, Proposals::Shared) {
            Verdict::Agreed { .. } => {}
            Verdict::NoModule => panic!("the case makes a module"),
            Verdict::Diverged { which, .. } => panic!("{which}"),
        },
    );
}

/// Scripts kept from bugs the fuzzer found in a reference engine (each file says which):
/// weft must give the spec's answers in every configuration the fuzzer compares.
#[test]
fn reference_engine_bug_regressions_pass_in_every_weft_configuration() {
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let mut scripts = 0;
    for entry in std::fs::read_dir(&directory).expect("the regressions directory") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_none_or(|extension| extension != "wast") {
            continue;
        }
        scripts += 1;
        let text = std::fs::read_to_string(&path).expect("a readable script");
        for (name, engine) in Engines::default().weft_configurations() {
            let options = weft_spec_tests::RunOptions::new(engine.clone());
            let report = weft_spec_tests::run_text(&text, &options).expect("the script runs");
            assert!(
                report.failed == 0 && report.passed > 0,
                "{} in weft ({name}): {} passed, failures {:?}",
                path.display(),
                report.passed,
                report.failures
            );
        }
    }
    assert!(scripts > 0, "no script in {}", directory.display());
}

/// The shrinker keeps what its predicate asks for and makes the module smaller.
#[test]
fn shrinking_keeps_the_property_and_removes_the_rest() {
    let has_multiply = |wasm: &[u8]| {
        wasmparser::Parser::new(0)
            .parse_all(wasm)
            .flatten()
            .any(|payload| match payload {
                wasmparser::Payload::CodeSectionEntry(body) => body
                    .get_operators_reader()
                    .into_iter()
                    .flat_map(|reader| reader.into_iter().flatten())
                    .any(|operator| matches!(operator, wasmparser::Operator::I64Mul)),
                _ => false,
            })
    };
    let original = (0..200)
        .filter_map(|seed| generate::module(seed, Proposals::Shared))
        .find(|wasm| has_multiply(wasm))
        .expect("a generated module multiplies i64s");
    let shrunk = crate::shrink::shrink(original.clone(), has_multiply).expect("it shrinks");
    assert!(has_multiply(&shrunk.wasm));
    assert!(
        shrunk.wasm.len() * 4 < original.len(),
        "{} bytes shrunk only to {}",
        original.len(),
        shrunk.wasm.len()
    );
    assert!(shrunk.text.contains("i64.mul"), "{}", shrunk.text);
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&shrunk.wasm)
        .expect("the shrunk module is valid");
}

/// A divergence is caught and shrunk: weft with a small stack, unoptimized, runs out of it
/// in case 7007124's deep recursion where wasmi ends by the fuel guard (the harness's own
/// first false positive, here made on purpose). The failure names the configuration and
/// carries a smaller module that still diverges, as text.
#[test]
fn a_divergence_is_reported_with_a_shrunk_reproducer() {
    on_case_thread(|| {
        let mut small_stack = weft::Config::new();
        small_stack
            .bounds_checks(BoundsChecks::Explicit)
            .cranelift_opt_level(OptLevel::None)
            .max_wasm_stack(256 << 10);
        let engines = Engines::with_weft([
            (
                "guard pages, optimized",
                weft_run::engine(BoundsChecks::GuardPages, OptLevel::Speed),
            ),
            (
                "explicit bounds checks, optimized",
                weft_run::engine(BoundsChecks::Explicit, OptLevel::Speed),
            ),
            (
                "a stack too small",
                weft::Engine::new(&small_stack).expect("an engine"),
            ),
        ]);
        let failure = Differential::with_engines(engines)
            .run(7_007_124)
            .expect_err("the small stack runs out");
        assert!(
            failure.what.contains("a stack too small"),
            "{}",
            failure.what
        );
        let artifact = |suffix: &str| {
            failure
                .artifacts
                .iter()
                .find(|(name, _)| name.ends_with(suffix))
                .map(|(_, bytes)| bytes.clone())
                .unwrap_or_else(|| panic!("no {suffix} among {:?}", failure.artifacts))
        };
        let (original, shrunk) = (artifact("Shared.wasm"), artifact(".shrunk.wasm"));
        assert!(
            shrunk.len() * 2 < original.len(),
            "{} bytes shrunk only to {}",
            original.len(),
            shrunk.len()
        );
        let text = String::from_utf8(artifact(".shrunk.wat")).expect("text");
        assert!(text.starts_with("(module"), "{text}");
    });
}

/// The reference engine's own bug, kept so that an upgrade that fixes it shows: wasmi 2.0.0
/// evaluates `select(1, x, i32.eqz(x))`, wasm-smith's guard of a divisor, as 1 for every x.
/// While it does, trap-free modules (where every division is so guarded) are compared
/// among weft's configurations only.
#[test]
fn wasmi_misevaluates_the_divisor_guard_that_weft_gets_right() {
    let wasm = wat::parse_str(
        r#"(module (func (export "guarded_divisor") (param i32) (result i32)
             (select (i32.const 1) (local.get 0) (i32.eqz (local.get 0)))))"#,
    )
    .expect("valid text");
    // Case 1's arguments give the parameter -1 (an edge value).
    match crate::differential::compare_module(&Engines::default(), wasm, 1, Proposals::Shared) {
        Verdict::Diverged { which, .. } => assert!(
            which.contains("weft Returned([I32(-1)]), reference Returned([I32(1)])"),
            "{which}"
        ),
        _ => panic!("wasmi now agrees: give trap-free modules to it again (generate.rs)"),
    }
}

/// The reference engine's other bug, kept for the same reason: wasmi 2.0.0 panics
/// translating a store whose address and value are one computed value, at an offset past
/// 16 bits (`regressions/store_of_its_own_address.wast`). The fuzzer compares weft's
/// configurations among themselves on such a module and counts the panic.
#[test]
fn wasmi_panics_on_a_store_of_its_own_address_where_weft_agrees_with_itself() {
    let wasm = wat::parse_str(
        r#"(module (memory 2) (func (export "store_own_address") (param i32)
             (local.get 0) (i32.const 4) (i32.add) (local.tee 0) (local.get 0)
             (i32.store offset=70000)))"#,
    )
    .expect("valid text");
    match crate::differential::compare_module(&Engines::default(), wasm, 1, Proposals::Shared) {
        Verdict::Agreed {
            reference_bug: Some(panic),
            calls,
            ..
        } => {
            assert!(panic.contains("unreachable"), "{panic}");
            assert_eq!(calls, 1);
        }
        Verdict::Agreed { .. } => {
            panic!("wasmi no longer panics: drop this test, keep the regression script")
        }
        Verdict::NoModule => unreachable!("the module is given"),
        Verdict::Diverged { which, .. } => panic!("{which}"),
    }
}

/// A panic inside a catch comes back as what it said and where; a result passes through.
#[test]
fn a_caught_panic_says_what_and_where() {
    let caught = crate::panics::catch(|| -> u32 { panic!("broken at case {}", 7) });
    let said = caught.expect_err("it panicked");
    assert!(said.starts_with("broken at case 7 at "), "{said}");
    assert!(said.contains("tests.rs"), "{said}");
    assert_eq!(crate::panics::catch(|| 5), Ok(5));
}

/// wasmi 2.0.0 reads a stale value for a local its function never set
/// (`regressions/stale_local_in_wasmi.wast`), once other code has run on the thread: the
/// case that stopped the one-hour campaign. A reference whose answer changes with the thread
/// is no reference, so the case compares weft's configurations among themselves and agrees.
#[test]
fn a_reference_that_changes_its_answer_with_the_thread_is_no_divergence() {
    let script = include_str!("../regressions/stale_local_in_wasmi.wast");
    let module = script
        .split("\n(invoke")
        .next()
        .expect("the script starts with its module");
    let wasm = wat::parse_str(module).expect("valid text");
    on_case_thread(|| {
        let engines = Engines::default();
        // As in the campaign: weft's configurations run on the thread before wasmi does.
        for seed in [2_026_192_540, 1, 2] {
            match crate::differential::compare_module(
                &engines,
                wasm.clone(),
                seed,
                Proposals::Shared,
            ) {
                Verdict::Agreed { .. } => {}
                Verdict::NoModule => unreachable!("the module is given"),
                Verdict::Diverged { which, .. } => panic!("{which}"),
            }
        }
    });
}
