//! Trap kinds shared by the compiler (which records where each can happen) and the runtime
//! (which reports them).

/// Why a WebAssembly computation stopped abnormally.
///
/// The `Display` text of each kind contains the message the spec test suite expects, so that
/// `assert_trap` directives can match on it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TrapKind {
    /// `unreachable` was executed.
    Unreachable = 1,
    /// A load, store or bulk memory operation touched bytes outside the memory.
    MemoryOutOfBounds,
    /// A table access or bulk table operation was outside the table.
    TableOutOfBounds,
    /// `call_indirect` with an index past the end of the table.
    UndefinedElement,
    /// `call_indirect` through a null table entry.
    UninitializedElement,
    /// `call_indirect` found a function of the wrong type.
    IndirectCallTypeMismatch,
    /// Signed division overflow, or a float-to-int conversion out of range.
    IntegerOverflow,
    /// Integer division or remainder by zero.
    IntegerDivisionByZero,
    /// A float-to-int conversion of NaN.
    BadConversionToInteger,
    /// The wasm stack limit was reached.
    StackOverflow,
    /// A host function returned an error; the runtime carries the error itself separately.
    HostError,
    /// An atomic access whose effective address is not a multiple of its size.
    UnalignedAtomic,
    /// `memory.atomic.wait` on a memory that is not shared.
    ExpectedSharedMemory,
    /// `call_ref` through a null function reference.
    NullFunctionReference,
    /// `ref.as_non_null` of a null reference.
    NullReference,
    /// `i31.get_s` or `i31.get_u` of a null reference.
    NullI31Reference,
    /// The thread was interrupted: another thread of its instance trapped, or the embedder
    /// stopped it.
    Interrupted,
    /// A thread-spawn intrinsic was given a null function reference.
    NullSpawnFunction,
    /// A struct access through a null reference.
    NullStructReference,
    /// An array access through a null reference.
    NullArrayReference,
    /// An array index or range outside the array.
    ArrayOutOfBounds,
    /// `ref.cast` of a value that does not have the target type.
    CastFailure,
    /// A struct or array allocation the store's GC heap has no room for.
    AllocationTooLarge,
    /// The store's thread used up the fuel the embedder gave it (`Config::consume_fuel`).
    OutOfFuel,
    /// `throw_ref` of a null exception reference.
    NullExceptionReference,
}

impl TrapKind {
    /// Every kind, in discriminant order.
    pub(crate) const ALL: [TrapKind; 25] = [
        TrapKind::Unreachable,
        TrapKind::MemoryOutOfBounds,
        TrapKind::TableOutOfBounds,
        TrapKind::UndefinedElement,
        TrapKind::UninitializedElement,
        TrapKind::IndirectCallTypeMismatch,
        TrapKind::IntegerOverflow,
        TrapKind::IntegerDivisionByZero,
        TrapKind::BadConversionToInteger,
        TrapKind::StackOverflow,
        TrapKind::HostError,
        TrapKind::UnalignedAtomic,
        TrapKind::ExpectedSharedMemory,
        TrapKind::NullFunctionReference,
        TrapKind::NullReference,
        TrapKind::NullI31Reference,
        TrapKind::Interrupted,
        TrapKind::NullSpawnFunction,
        TrapKind::NullStructReference,
        TrapKind::NullArrayReference,
        TrapKind::ArrayOutOfBounds,
        TrapKind::CastFailure,
        TrapKind::AllocationTooLarge,
        TrapKind::OutOfFuel,
        TrapKind::NullExceptionReference,
    ];

    /// The compact code that libcalls return and that trap tables store.
    pub(crate) const fn code(self) -> u8 {
        self as u8
    }

    /// Inverse of [`TrapKind::code`].
    pub(crate) fn from_code(code: u8) -> Option<TrapKind> {
        Self::ALL.iter().copied().find(|kind| kind.code() == code)
    }

    /// The spec's wording for this trap.
    pub const fn message(self) -> &'static str {
        match self {
            TrapKind::Unreachable => "unreachable executed",
            TrapKind::MemoryOutOfBounds => "out of bounds memory access",
            TrapKind::TableOutOfBounds => "out of bounds table access",
            TrapKind::UndefinedElement => "undefined element",
            TrapKind::UninitializedElement => "uninitialized element",
            TrapKind::IndirectCallTypeMismatch => "indirect call type mismatch",
            TrapKind::IntegerOverflow => "integer overflow",
            TrapKind::IntegerDivisionByZero => "integer divide by zero",
            TrapKind::BadConversionToInteger => "invalid conversion to integer",
            TrapKind::StackOverflow => "call stack exhausted",
            TrapKind::HostError => "host function failed",
            TrapKind::UnalignedAtomic => "unaligned atomic",
            TrapKind::ExpectedSharedMemory => "expected shared memory",
            TrapKind::NullFunctionReference => "null function reference",
            TrapKind::NullReference => "null reference",
            TrapKind::NullI31Reference => "null i31 reference",
            TrapKind::Interrupted => "interrupted",
            TrapKind::NullSpawnFunction => "null function reference passed to spawn",
            TrapKind::NullStructReference => "null structure reference",
            TrapKind::NullArrayReference => "null array reference",
            TrapKind::ArrayOutOfBounds => "out of bounds array access",
            TrapKind::CastFailure => "cast failure",
            TrapKind::AllocationTooLarge => "allocation too large for the GC heap",
            TrapKind::OutOfFuel => "all fuel consumed by WebAssembly",
            TrapKind::NullExceptionReference => "null exception reference",
        }
    }
}

impl std::fmt::Display for TrapKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

/// Where in a function's machine code a trap can be raised, and which one.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TrapSite {
    /// Offset of the trapping instruction from the start of its function's code.
    pub code_offset: u32,
    /// The trap that instruction raises.
    pub kind: TrapKind,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for kind in TrapKind::ALL {
            assert_eq!(TrapKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(TrapKind::from_code(0), None);
    }
}
