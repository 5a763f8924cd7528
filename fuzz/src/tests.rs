use crate::outcome::{Call, Outcome, State, Trap, TrapClass, Value, compare};
use crate::{Engines, Proposals, Verdict, generate, on_case_thread, run_case};

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
