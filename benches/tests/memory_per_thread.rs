//! The memory-per-thread measurement as `thread_memory` runs it: the binary started once per
//! side, each side measured in a process of its own.

use std::path::Path;
use std::process::Command;
use weft_benches::thread_models::{
    MemorySide, Model, ModuleSize, NATIVE_ID, Runtime, SIDE_ARG, measure_in_processes,
};

const PROGRAM: &str = env!("CARGO_BIN_EXE_thread_memory");

#[test]
fn native_and_guest_threads_each_cost_some_resident_memory() {
    let guest = MemorySide::Guest(Runtime::Weft(Model::SharedEverything), ModuleSize::Small);
    let report =
        measure_in_processes(Path::new(PROGRAM), &[MemorySide::Native.id(), guest.id()]).unwrap();
    if let Some(reason) = &report.skipped {
        assert!(report.entries.is_empty());
        eprintln!("skipped: {reason}");
        return;
    }
    let ids: Vec<_> = report
        .entries
        .iter()
        .map(|entry| entry.id.as_str())
        .collect();
    assert_eq!(ids, [NATIVE_ID, "shared_everything/small_module"]);
    for entry in &report.entries {
        let bytes = entry.bytes_per_thread;
        // Each thread touches at least a page of its own stack.
        assert!(bytes.min > 0.0 && bytes.min <= bytes.median, "{entry:?}");
        assert!(bytes.median <= bytes.max, "{entry:?}");
        assert!(
            bytes.median < 1024.0 * 1024.0,
            "a blocked thread is not a MiB: {entry:?}"
        );
    }
}

#[test]
fn an_unknown_side_fails_and_lists_the_sides() {
    let output = Command::new(PROGRAM)
        .args([SIDE_ARG, "nope"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        output.stdout.is_empty(),
        "nothing measured, nothing printed"
    );
    assert!(
        stderr.contains("unknown side `nope`")
            && stderr.contains("instance_per_thread/10k_functions"),
        "{stderr}"
    );
}
