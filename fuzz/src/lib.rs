//! weft's fuzzing, on stable Rust: every case is a seed, and a target turns it into a
//! checked run. Four targets:
//! - [`differential`]: [wasm-smith](https://docs.rs/wasm-smith) modules run in weft (three
//!   configurations) and in the reference engine, wasmi, compared;
//! - [`threads`]: small multi-threaded programs over shared memory whose outcomes are
//!   checked without an oracle;
//! - [`wasi_calls`]: WASI calls with hostile arguments in a sandbox directory;
//! - [`cli_args`]: malformed modules and arguments through the `weft` command line.
//!
//! A seed replays its case exactly.

pub mod cli_args;
pub mod differential;
mod drive;
mod exports;
mod families;
mod generate;
mod outcome;
pub mod panics;
mod shrink;
mod signatures;
pub mod target;
#[cfg(test)]
mod tests;
pub mod threads;
pub mod wasi_calls;
mod wasmi_run;
mod weft_run;

pub use generate::{FUEL, Proposals};
pub use target::{Failure, Target};

/// Runs `work` on a thread whose stack holds the deepest recursion a case may reach in
/// weft ([`weft_run::THREAD_STACK`]); every case must run on one.
pub fn on_case_thread<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("fuzz-cases".to_string())
            .stack_size(weft_run::THREAD_STACK)
            .spawn_scoped(scope, work)
            .expect("the OS starts a thread")
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}
