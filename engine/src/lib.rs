//! weft: a WebAssembly runtime built on Cranelift, for shared-everything threads.
//!
//! The crate is layered (see the README's architecture section):
//! - `environ`: vocabulary shared by compiler and runtime (layouts, libcalls, traps);
//! - `compiler`: WebAssembly → Cranelift IR → machine code;
//! - `vm`: the structures JIT code uses, trap handling, and all unsafe code;
//! - `api`: the safe embedding API re-exported here.

pub(crate) mod api;
pub(crate) mod compiler;
pub mod environ;
pub(crate) mod vm;

pub use api::*;
pub use environ::BoundsChecks;
pub use wasmparser::WasmFeatures;

/// Compiles and runs the README's examples as doctests.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
