//! The comparisons the `ratios` tool reports: which benchmark of a criterion group is
//! measured against which.

use crate::host::LockKind;
use crate::programs::ONE_INSTANCE_ID;
use crate::thread_models::{
    INSTANCE_PER_THREAD_ID, NATIVE_ID, SHARED_EVERYTHING_ID, THREAD_LOCAL_GLOBAL_ID,
    TLS_BASE_MEMORY_ID, WASMTIME_ID, parallel_thread_counts,
};
use crate::{
    ATTACH_CALL_DETACH_ID, ATTACH_GROUP, CALL_ATTACHED_ID, FIB_GROUP, FLOAT_GROUP,
    LOCK_CONTENDED_GROUP, LOCK_UNCONTENDED_GROUP, MEMORY_GROUP, MODEL_PARALLEL_GROUP,
    MODEL_SPAWN_LARGE_GROUP, MODEL_SPAWN_SMALL_GROUP, MODEL_TLS_GROUP, PARKING_LOT_ID,
    PING_PONG_GROUP, PROGRAM_PARALLEL_GROUP, PROGRAM_SPAWN_LARGE_GROUP, PROGRAM_SPAWN_SMALL_GROUP,
    RMW_1_GROUP, RMW_2_GROUP, SPAWN_LARGE_GROUP, SPAWN_SMALL_GROUP, TERMINATE_1_GROUP,
    TERMINATE_64_GROUP, TLS_GROUP,
};

/// The benches (`--bench` targets), for selecting their comparisons.
pub const COMPUTE_BENCH: &str = "compute";
pub const THREADS_BENCH: &str = "threads";
pub const SHARED_EVERYTHING_BENCH: &str = "shared_everything";
pub const HOST_INTEGRATION_BENCH: &str = "host_integration";
pub const THREAD_MODELS_BENCH: &str = "thread_models";
pub const BENCHES: [&str; 5] = [
    COMPUTE_BENCH,
    THREADS_BENCH,
    SHARED_EVERYTHING_BENCH,
    HOST_INTEGRATION_BENCH,
    THREAD_MODELS_BENCH,
];

/// One row of the `ratios` table: the median time of benchmark `subject` over that of
/// `baseline`, both in criterion group `group` of bench `bench`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comparison {
    pub bench: &'static str,
    pub group: &'static str,
    pub baseline: String,
    pub subject: String,
    /// Only measured with an optional feature (`wasmtime`): reported when both sides were
    /// measured, and never counted as missing.
    pub optional: bool,
}

fn compare(bench: &'static str, group: &'static str, baseline: &str, subject: &str) -> Comparison {
    Comparison {
        bench,
        group,
        baseline: baseline.into(),
        subject: subject.into(),
        optional: false,
    }
}

fn optional(bench: &'static str, group: &'static str, baseline: &str, subject: &str) -> Comparison {
    Comparison {
        optional: true,
        ..compare(bench, group, baseline, subject)
    }
}

/// A thread-model group's rows: each model against native, shared everything against
/// instance per thread (so below 1 means shared everything wins), and, with the `wasmtime`
/// feature, wasmtime against native and each weft model against wasmtime's instance per
/// thread. The ids carry `suffix` (the parallel group's `/threads`).
fn thread_model_rows(group: &'static str, se: &str, ipt: &str, suffix: &str) -> Vec<Comparison> {
    let bench = THREAD_MODELS_BENCH;
    let [native, se, ipt, wasmtime] =
        [NATIVE_ID, se, ipt, WASMTIME_ID].map(|id| format!("{id}{suffix}"));
    vec![
        compare(bench, group, &native, &se),
        compare(bench, group, &native, &ipt),
        compare(bench, group, &ipt, &se),
        optional(bench, group, &native, &wasmtime),
        optional(bench, group, &wasmtime, &ipt),
        optional(bench, group, &wasmtime, &se),
    ]
}

/// Every comparison the benches make. The baseline is native Rust, except for thread-local
/// globals (a plain global in the same loop), the locks (`parking_lot::Mutex`), attaching (a
/// call on a thread that is already attached), shared everything against instance per
/// thread, and weft against wasmtime.
pub fn comparisons() -> Vec<Comparison> {
    let mut rows = Vec::new();
    for group in [FIB_GROUP, MEMORY_GROUP, FLOAT_GROUP] {
        rows.push(compare(COMPUTE_BENCH, group, NATIVE_ID, "weft"));
        rows.push(optional(COMPUTE_BENCH, group, NATIVE_ID, WASMTIME_ID));
        rows.push(optional(COMPUTE_BENCH, group, WASMTIME_ID, "weft"));
    }
    for group in [PING_PONG_GROUP, RMW_1_GROUP, RMW_2_GROUP] {
        rows.push(compare(THREADS_BENCH, group, NATIVE_ID, "weft"));
    }
    rows.push(compare(
        SHARED_EVERYTHING_BENCH,
        SPAWN_SMALL_GROUP,
        NATIVE_ID,
        "weft",
    ));
    rows.push(compare(
        SHARED_EVERYTHING_BENCH,
        SPAWN_LARGE_GROUP,
        NATIVE_ID,
        "weft",
    ));
    rows.push(compare(SHARED_EVERYTHING_BENCH, TLS_GROUP, "plain", "weft"));
    for group in [TERMINATE_1_GROUP, TERMINATE_64_GROUP] {
        rows.push(compare(HOST_INTEGRATION_BENCH, group, NATIVE_ID, "weft"));
    }
    for group in [LOCK_UNCONTENDED_GROUP, LOCK_CONTENDED_GROUP] {
        for kind in LockKind::ALL {
            rows.push(compare(
                HOST_INTEGRATION_BENCH,
                group,
                PARKING_LOT_ID,
                kind.id(),
            ));
        }
    }
    rows.push(compare(
        HOST_INTEGRATION_BENCH,
        ATTACH_GROUP,
        CALL_ATTACHED_ID,
        ATTACH_CALL_DETACH_ID,
    ));
    for group in [MODEL_SPAWN_SMALL_GROUP, MODEL_SPAWN_LARGE_GROUP] {
        rows.extend(thread_model_rows(
            group,
            SHARED_EVERYTHING_ID,
            INSTANCE_PER_THREAD_ID,
            "",
        ));
    }
    rows.extend(thread_model_rows(
        MODEL_TLS_GROUP,
        THREAD_LOCAL_GLOBAL_ID,
        TLS_BASE_MEMORY_ID,
        "",
    ));
    for threads in parallel_thread_counts() {
        rows.extend(thread_model_rows(
            MODEL_PARALLEL_GROUP,
            SHARED_EVERYTHING_ID,
            INSTANCE_PER_THREAD_ID,
            &format!("/{threads}"),
        ));
    }
    for group in [PROGRAM_SPAWN_SMALL_GROUP, PROGRAM_SPAWN_LARGE_GROUP] {
        rows.extend(program_rows(group, ""));
    }
    for threads in parallel_thread_counts() {
        rows.extend(program_rows(PROGRAM_PARALLEL_GROUP, &format!("/{threads}")));
    }
    rows
}

/// A wasi-threads program group's rows: each model against the program built natively, and
/// one instance against an instance per thread.
fn program_rows(group: &'static str, suffix: &str) -> Vec<Comparison> {
    let bench = THREAD_MODELS_BENCH;
    let [native, one, ipt] =
        [NATIVE_ID, ONE_INSTANCE_ID, INSTANCE_PER_THREAD_ID].map(|id| format!("{id}{suffix}"));
    vec![
        compare(bench, group, &native, &one),
        compare(bench, group, &native, &ipt),
        compare(bench, group, &ipt, &one),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_are_distinct_and_compare_two_ids() {
        let rows = comparisons();
        for (index, comparison) in rows.iter().enumerate() {
            assert_ne!(comparison.baseline, comparison.subject, "{comparison:?}");
            assert!(BENCHES.contains(&comparison.bench), "{comparison:?}");
            assert!(
                rows[..index].iter().all(|earlier| {
                    (earlier.group, &earlier.baseline, &earlier.subject)
                        != (comparison.group, &comparison.baseline, &comparison.subject)
                }),
                "{comparison:?} is listed twice"
            );
        }
    }

    #[test]
    fn only_wasmtime_comparisons_are_optional() {
        for comparison in comparisons() {
            let wasmtime = comparison.baseline.starts_with(WASMTIME_ID)
                || comparison.subject.starts_with(WASMTIME_ID);
            assert_eq!(comparison.optional, wasmtime, "{comparison:?}");
        }
    }
}
