//! A sightglass-compatible benchmark runner.
//!
//! A *workload* is a WASI command module, as in sightglass's `benchmarks/`: it may import
//! `bench.start` and `bench.end` to mark the region it wants timed, and reads its inputs from
//! a preopened directory (by default the module's own folder, as `.`). For each workload the
//! runner does, `iterations` times: compile the module afresh, instantiate it, run `_start`.
//! It times three phases (see [`Phases`]) and reports each phase's median and spread
//! ([`Summary`]) as a table or as one JSON object per file ([`report`]).
//!
//! The runtime is a parameter ([`Runtime`]): [`WeftRuntime`] here, and Wasmtime in the
//! benches crate behind its `wasmtime` feature, so both are timed on the same files in the
//! same run and compared as ratios ([`report::ratio_table`]).

mod measure;
pub mod report;
mod runtime;
mod weft_runtime;

pub use measure::{Measurement, Phases, Summary, measure, measure_alternating};
pub use runtime::{Marks, Runtime, Workload};
pub use weft_runtime::WeftRuntime;
