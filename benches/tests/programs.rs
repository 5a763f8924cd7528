//! The wasi-threads program of the thread-model report on every side: each model of weft
//! runs the same pthread kernels as the native build of the same C source, with the same
//! results, and each side's memory per thread can be measured in a process of its own.

use std::path::Path;
use weft_benches::programs::{
    HISTOGRAM_SEED, MODELS, NativeProgram, ProgramMemorySide, ProgramSize, WasiProgram, model_id,
    program_engine,
};
use weft_benches::thread_models::measure_in_processes;

#[test]
fn every_model_runs_the_kernels_as_the_native_build_does() {
    let engine = program_engine().unwrap();
    let (_, one_thread) = NativeProgram::histogram(1, 1).unwrap();
    let (_, two_threads) = NativeProgram::histogram(2, 1).unwrap();
    assert_eq!(one_thread, two_threads, "the native chunks add up");
    NativeProgram::spawn_join(10).unwrap();
    for size in ProgramSize::ALL {
        for model in MODELS {
            let label = format!("{}/{}", model_id(model), size.id());
            let mut program = WasiProgram::new(&engine, model, size).unwrap();
            program
                .spawn_join(10)
                .unwrap_or_else(|e| panic!("{label}: {e}"));
            program.fill(HISTOGRAM_SEED).unwrap();
            for threads in [1, 2, 3] {
                assert_eq!(
                    program.histogram(threads).unwrap(),
                    one_thread,
                    "{label}: {threads} threads"
                );
            }
            program.start_blocked(4).unwrap();
            program.release_blocked().unwrap();
        }
    }
}

#[test]
fn program_memory_sides_are_measured_in_their_own_processes() {
    let sides = [
        ProgramMemorySide::Native,
        ProgramMemorySide::Weft(MODELS[0], ProgramSize::Small),
    ];
    let ids: Vec<String> = sides.iter().map(|side| side.id()).collect();
    assert!(
        ids.iter()
            .all(|id| ProgramMemorySide::from_id(id).is_some())
    );
    let report =
        measure_in_processes(Path::new(env!("CARGO_BIN_EXE_thread_memory")), &ids).unwrap();
    if let Some(reason) = &report.skipped {
        eprintln!("skipped: {reason}");
        return;
    }
    for entry in &report.entries {
        let bytes = entry.bytes_per_thread;
        assert!(bytes.min > 0.0 && bytes.median <= bytes.max, "{entry:?}");
        assert!(bytes.median < 1024.0 * 1024.0, "{entry:?}");
    }
}
