//! The error type of every fallible API call.

use super::backtrace::WasmBacktrace;
use std::path::PathBuf;

// Defined with the compiler's and runtime's vocabulary, which records where each can happen.
pub use crate::environ::TrapKind as Trap;

/// Anything that can go wrong when compiling, linking, instantiating or calling.
///
/// One enum rather than an opaque error, so that a harness matches a trap or a link error
/// without downcasting. Host functions may fail with any error type that converts into a
/// `Box<dyn std::error::Error + Send + Sync>`, `anyhow::Error` among them: it comes back
/// from the call as [`Error::Host`], or as itself when it is a `weft::Error`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The module could not be compiled.
    #[error(transparent)]
    Compile(#[from] CompileError),
    /// Imports could not be resolved or did not match.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// Instantiation failed before any code ran.
    #[error(transparent)]
    Instantiate(#[from] InstantiationError),
    /// Wasm code trapped. A host function's error is returned as-is instead.
    #[error("wasm trap: {trap}")]
    Trap {
        /// What went wrong.
        trap: Trap,
        /// Where: the wasm frames the trap passed through, innermost first (empty when
        /// weft cannot tell; see [`WasmBacktrace`]).
        backtrace: WasmBacktrace,
    },
    /// Wasm code threw an exception that no wasm frame caught; the call ended as a trap
    /// would. [`UncaughtException::exnref`] gives the exception itself.
    #[error("uncaught wasm exception")]
    Exception(UncaughtException),
    /// An error raised by host code: a host function's error that is not a `weft::Error`,
    /// kept whole so that the embedder can downcast it.
    #[error("{0}")]
    Host(Box<dyn std::error::Error + Send + Sync>),
    /// The API was used with values that do not fit (wrong types, unknown names, ...).
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// A thread could not start or attach.
    #[error(transparent)]
    Thread(#[from] ThreadError),
    /// A file could not be read ([`Module::from_file`](crate::Module::from_file)).
    /// Not marked as the error's source: the message already includes it.
    #[error("cannot read `{}`: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
}

/// An exception that left wasm code uncaught ([`Error::Exception`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct UncaughtException {
    pub(crate) word: u64,
}

impl UncaughtException {
    /// The exception, as a reference into `store`, the store whose code threw it (exceptions
    /// live in their store's GC heap until the store is dropped).
    pub fn exnref(&self, store: impl super::store::AsContext) -> super::values::ExnRef {
        super::values::ExnRef {
            store: super::store::StoreId::of(store.as_context().opaque()),
            address: self.word,
        }
    }
}

impl Error {
    /// A host error carrying just a message.
    pub fn msg(message: impl std::fmt::Display) -> Error {
        Error::Host(message.to_string().into())
    }

    /// A host function's error as the API returns it: a `weft::Error`, boxed or not, as
    /// itself, and anything else, an `anyhow::Error` for one, as [`Error::Host`]. Typed host
    /// closures convert their errors this way; a dynamically typed one (see
    /// [`Func::new`](crate::Func::new)) can call it with `map_err`.
    pub fn host(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
        match error.into().downcast::<Error>() {
            Ok(error) => *error,
            Err(other) => Error::Host(other),
        }
    }

    /// The trap, if this error is one.
    pub fn trap(&self) -> Option<Trap> {
        match self {
            Error::Trap { trap, .. } => Some(*trap),
            _ => None,
        }
    }

    /// Where the trap happened, if this error is a trap whose frames weft found.
    pub fn backtrace(&self) -> Option<&WasmBacktrace> {
        match self {
            Error::Trap { backtrace, .. } if !backtrace.frames().is_empty() => Some(backtrace),
            _ => None,
        }
    }
}

impl From<Trap> for Error {
    /// A trap with no backtrace, as host code raises one.
    fn from(trap: Trap) -> Error {
        Error::Trap {
            trap,
            backtrace: WasmBacktrace::default(),
        }
    }
}

/// Why a module could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// The WebAssembly text could not be parsed.
    #[error("malformed WebAssembly text: {message}")]
    Text {
        /// The parser's message and the location, on one line.
        message: String,
    },
    /// The binary is malformed or fails validation.
    #[error("invalid module: {message} (at offset {offset:#x})")]
    Invalid {
        /// The validator's message.
        message: String,
        /// Where in the binary, in bytes.
        offset: u64,
    },
    /// The module is valid but uses a feature weft does not implement.
    #[error("unsupported feature: {feature} (at offset {offset:#x})")]
    Unsupported {
        /// What is missing.
        feature: String,
        /// Where in the binary, in bytes (0 when the feature is a whole type).
        offset: u64,
    },
    /// A wasi-threads program's threads cannot share one instance without noticing
    /// ([`WasiThreadsModel::OneInstance`](crate::WasiThreadsModel::OneInstance)); it runs
    /// with an instance per thread instead.
    #[error("its threads cannot share one instance: {reason} (at offset {offset:#x})")]
    NotOneInstance {
        /// What would differ from an instance per thread, and where.
        reason: String,
        /// Where in the binary, in bytes (0 when the reason is a whole global).
        offset: u64,
    },
    /// Code generation failed: a bug in weft, or the operating system refused executable
    /// memory.
    #[error("code generation failed: {message}")]
    Codegen {
        /// Cranelift's message.
        message: String,
    },
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
            WasmError::NotOneInstance { reason, offset } => {
                CompileError::NotOneInstance { reason, offset }
            }
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
    /// The linker has no definition for an import. Also what calling a function made by
    /// [`Linker::define_unknown_imports_as_traps`](crate::Linker::define_unknown_imports_as_traps)
    /// fails with.
    #[error("unknown import: `{module}::{name}` has not been defined")]
    UnknownImport {
        /// The import's module name.
        module: String,
        /// The import's field name.
        name: String,
    },
    /// The definition given for an import has a type the import does not accept.
    #[error("incompatible import type for `{module}::{name}`: expected {expected}, found {found}")]
    IncompatibleImport {
        /// The import's module name.
        module: String,
        /// The import's field name.
        name: String,
        /// The import's type, in the text format.
        expected: String,
        /// The definition's type, in the text format.
        found: String,
    },
    /// [`Instance::new`](crate::Instance::new) got a different number of imports than the
    /// module declares.
    #[error("wrong number of imports: the module needs {expected}, {given} were given")]
    ImportCount {
        /// How many the module declares.
        expected: usize,
        /// How many were given.
        given: usize,
    },
    /// A linker definition would replace an earlier one (see
    /// [`Linker::allow_shadowing`](crate::Linker::allow_shadowing)).
    #[error("`{module}::{name}` is already defined")]
    Duplicate {
        /// The module name.
        module: String,
        /// The field name.
        name: String,
    },
}

/// Why instantiation failed before any code ran.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstantiationError {
    /// A memory or table could not be allocated (address space, or a size past the
    /// implementation's limits); the text says which.
    #[error("resource limit exceeded: {0}")]
    Resource(String),
}

/// Why a thread could not start (spawned) or attach (a host thread).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThreadError {
    /// The store has [`Config::max_threads`](crate::Config::max_threads) live threads, the
    /// limit given here.
    #[error("thread limit reached: the store already has its maximum of {0} live threads")]
    StoreLimit(u32),
    /// The engine's stores have
    /// [`Config::max_total_threads`](crate::Config::max_total_threads) live threads, the
    /// limit given here.
    #[error("thread limit reached: the engine already has its maximum of {0} live threads")]
    EngineLimit(u32),
    /// A trap or a terminate stopped the store's threads; after
    /// [`Store::join_threads`](crate::Store::join_threads) it can spawn again.
    #[error(
        "the store's threads were stopped (by a trap or a terminate) and have not been joined yet"
    )]
    Stopped,
    /// The operating system refused a new thread; its message.
    #[error("the operating system could not start a thread: {0}")]
    Os(String),
}

/// The API was called with something that does not fit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsageError {
    /// [`Engine::explore`](crate::Engine::explore) on an engine whose code has no schedule
    /// points.
    #[error("schedule exploration needs an engine made with `Config::explore`")]
    ExplorationOff,
    /// The instance has no export of that name.
    #[error("unknown export `{name}`")]
    UnknownExport {
        /// The name asked for.
        name: String,
    },
    /// The export exists but is of another kind.
    #[error("export `{name}` is not a {expected}")]
    ExportKind {
        /// The name asked for.
        name: String,
        /// The kind asked for: `"function"`, ...
        expected: &'static str,
    },
    /// A dynamic call passed the wrong number of arguments.
    #[error("wrong number of arguments: expected {expected}, got {given}")]
    ArgumentCount {
        /// The function's parameter count.
        expected: usize,
        /// How many were passed.
        given: usize,
    },
    /// A value does not fit the type it is used as: a call's argument, a global's or table
    /// element's new value, a struct field.
    #[error("argument {index} has the wrong type: expected {expected}, got {given}")]
    ArgumentType {
        /// Its position (0 for a single value).
        index: usize,
        /// The expected type, in the text format.
        expected: String,
        /// The value's type, in the text format.
        given: String,
    },
    /// A dynamic call gave the wrong number of result slots.
    #[error("wrong number of result slots: expected {expected}, got {given}")]
    ResultCount {
        /// The function's result count.
        expected: usize,
        /// How many slots were given.
        given: usize,
    },
    /// A dynamically typed host function stored a result of the wrong type.
    #[error("result {index} has the wrong type: expected {expected}, got {given}")]
    ResultType {
        /// The result's position.
        index: usize,
        /// The declared type, in the text format.
        expected: String,
        /// The stored value's type, in the text format.
        given: String,
    },
    /// A typed view asked for a signature the function does not have.
    #[error("function type mismatch: the function is {actual}, but {expected} was requested")]
    FuncType {
        /// The signature asked for.
        expected: String,
        /// The function's signature.
        actual: String,
    },
    /// A handle or reference was used with a store it does not belong to.
    #[error("value belongs to a different store")]
    WrongStore,
    /// [`Global::set`](crate::Global::set) on an immutable global.
    #[error("global is immutable")]
    ImmutableGlobal,
    /// A host access past the end of a memory or table.
    #[error("{what} out of bounds")]
    OutOfBounds {
        /// The access: `"memory read"`, `"table index"`, ...
        what: &'static str,
    },
    /// A memory or table could not grow: past its maximum, or out of address space.
    #[error("{what} cannot grow by {delta}")]
    GrowFailed {
        /// `"memory"` or `"table"`.
        what: &'static str,
        /// The requested growth, in pages or elements.
        delta: u64,
    },
    /// A type the call cannot take here; the text says which and why.
    #[error("unsupported type: {0}")]
    UnsupportedType(String),
    /// [`Store::spawn`](crate::Store::spawn) was given a function that cannot be a thread's
    /// entry point.
    #[error(
        "only a shared function taking one i32 and returning nothing can run on its own thread; this one is {actual}"
    )]
    NotSpawnable {
        /// The function's type.
        actual: String,
    },
    /// A [`SharedInstance`](crate::SharedInstance) was asked for an unshared function.
    #[error("export `{name}` is not a shared function, so only the store's own thread may call it")]
    NotShared {
        /// The export's name.
        name: String,
    },
    /// An attached thread called into a store that has been dropped.
    #[error("the store has been dropped")]
    StoreGone,
    /// [`Store::set_fuel`](crate::Store::set_fuel) or `get_fuel` on a store whose engine does
    /// not count fuel.
    #[error("fuel is not enabled: turn it on with `Config::consume_fuel`")]
    FuelNotEnabled,
    /// A wasi-threads program whose threads share one instance
    /// ([`WasiThreadsModel::OneInstance`](crate::WasiThreadsModel::OneInstance)) was
    /// instantiated a second time.
    #[error("a wasi-threads program whose threads share one instance has only that instance")]
    SecondInstance,
    /// [`WasiThreads::new`](crate::WasiThreads::new) was given a module that does not follow
    /// the wasi-threads ABI.
    #[error("not a wasi-threads module: {reason}")]
    NotWasiThreads {
        /// What is missing or has the wrong type.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traps_display_the_spec_message() {
        let error = Error::from(Trap::MemoryOutOfBounds);
        assert_eq!(error.to_string(), "wasm trap: out of bounds memory access");
        assert_eq!(error.trap(), Some(Trap::MemoryOutOfBounds));
    }
}
