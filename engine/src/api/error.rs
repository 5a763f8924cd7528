//! The error type of every fallible API call.

use crate::environ::TrapKind;
use std::path::PathBuf;

/// A trap: WebAssembly code stopped abnormally.
pub type Trap = TrapKind;

/// Anything that can go wrong when compiling, linking, instantiating or calling.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Compile(#[from] CompileError),
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error(transparent)]
    Instantiate(#[from] InstantiationError),
    /// Wasm code trapped. A host function's error is returned as-is instead.
    #[error("wasm trap: {0}")]
    Trap(Trap),
    /// An error raised by host code.
    #[error("{0}")]
    Host(Box<dyn std::error::Error + Send + Sync>),
    /// The API was used with values that do not fit (wrong types, unknown names, ...).
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// A thread could not start or attach.
    #[error(transparent)]
    Thread(#[from] ThreadError),
    /// Not marked as the error's source: the message already includes it.
    #[error("cannot read `{}`: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

impl Error {
    /// A host error carrying just a message.
    pub fn msg(message: impl std::fmt::Display) -> Error {
        Error::Host(message.to_string().into())
    }

    /// The trap, if this error is one.
    pub fn trap(&self) -> Option<Trap> {
        match self {
            Error::Trap(trap) => Some(*trap),
            _ => None,
        }
    }
}

/// Why a module could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// The WebAssembly text could not be parsed.
    #[error("malformed WebAssembly text: {message}")]
    Text { message: String },
    /// The binary is malformed or fails validation.
    #[error("invalid module: {message} (at offset {offset:#x})")]
    Invalid { message: String, offset: u64 },
    /// The module is valid but uses a feature weft does not implement.
    #[error("unsupported feature: {feature} (at offset {offset:#x})")]
    Unsupported { feature: String, offset: u64 },
    /// Code generation failed; this is a bug in weft.
    #[error("code generation failed: {message}")]
    Codegen { message: String },
}

impl From<crate::environ::WasmError> for CompileError {
    fn from(error: crate::environ::WasmError) -> Self {
        use crate::environ::WasmError;
        match error {
            WasmError::Invalid { message, offset } => CompileError::Invalid { message, offset },
            WasmError::Unsupported { feature, offset } => {
                CompileError::Unsupported { feature, offset }
            }
            WasmError::Codegen { message } => CompileError::Codegen { message },
        }
    }
}

impl From<crate::environ::WasmError> for Error {
    fn from(error: crate::environ::WasmError) -> Self {
        Error::Compile(error.into())
    }
}

/// Why imports could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("unknown import: `{module}::{name}` has not been defined")]
    UnknownImport { module: String, name: String },
    #[error("incompatible import type for `{module}::{name}`: expected {expected}, found {found}")]
    IncompatibleImport {
        module: String,
        name: String,
        expected: String,
        found: String,
    },
    #[error("wrong number of imports: the module needs {expected}, {given} were given")]
    ImportCount { expected: usize, given: usize },
    #[error("`{module}::{name}` is already defined")]
    Duplicate { module: String, name: String },
}

/// Why instantiation failed before any code ran.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstantiationError {
    #[error("resource limit exceeded: {0}")]
    Resource(String),
}

/// Why a thread could not start (spawned) or attach (a host thread).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThreadError {
    #[error("thread limit reached: the store already has its maximum of {0} live threads")]
    StoreLimit(u32),
    #[error("thread limit reached: the engine already has its maximum of {0} live threads")]
    EngineLimit(u32),
    #[error(
        "the store's threads were stopped (by a trap or a terminate) and have not been joined yet"
    )]
    Stopped,
    #[error("the operating system could not start a thread: {0}")]
    Os(String),
}

/// The API was called with something that does not fit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsageError {
    #[error("unknown export `{name}`")]
    UnknownExport { name: String },
    #[error("export `{name}` is not a {expected}")]
    ExportKind {
        name: String,
        expected: &'static str,
    },
    #[error("wrong number of arguments: expected {expected}, got {given}")]
    ArgumentCount { expected: usize, given: usize },
    #[error("argument {index} has the wrong type: expected {expected}, got {given}")]
    ArgumentType {
        index: usize,
        expected: String,
        given: String,
    },
    #[error("wrong number of result slots: expected {expected}, got {given}")]
    ResultCount { expected: usize, given: usize },
    #[error("result {index} has the wrong type: expected {expected}, got {given}")]
    ResultType {
        index: usize,
        expected: String,
        given: String,
    },
    #[error("function type mismatch: the function is {actual}, but {expected} was requested")]
    FuncType { expected: String, actual: String },
    #[error("value belongs to a different store")]
    WrongStore,
    #[error("global is immutable")]
    ImmutableGlobal,
    #[error("{what} out of bounds")]
    OutOfBounds { what: &'static str },
    #[error("{what} cannot grow by {delta}")]
    GrowFailed { what: &'static str, delta: u64 },
    #[error("unsupported type: {0}")]
    UnsupportedType(String),
    #[error(
        "only a shared function taking one i32 and returning nothing can run on its own thread; this one is {actual}"
    )]
    NotSpawnable { actual: String },
    #[error("export `{name}` is not a shared function, so only the store's own thread may call it")]
    NotShared { name: String },
    #[error("the store has been dropped")]
    StoreGone,
    #[error("not a wasi-threads module: {reason}")]
    NotWasiThreads { reason: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traps_display_the_spec_message() {
        let error = Error::Trap(Trap::MemoryOutOfBounds);
        assert_eq!(error.to_string(), "wasm trap: out of bounds memory access");
        assert_eq!(error.trap(), Some(Trap::MemoryOutOfBounds));
    }
}
