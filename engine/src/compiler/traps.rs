//! The correspondence between weft's trap kinds and Cranelift trap codes.

use crate::environ::TrapKind;
use cranelift_codegen::ir::TrapCode;

/// The code JIT code raises for `kind` when weft emits the trap itself.
pub(crate) const fn trap_code(kind: TrapKind) -> TrapCode {
    TrapCode::unwrap_user(kind.code())
}

/// The trap kind behind a code found in Cranelift's trap table: our own user codes, plus the
/// codes Cranelift attaches to the instructions it lowers with implicit checks.
pub(crate) fn trap_kind(code: TrapCode) -> Option<TrapKind> {
    match code {
        TrapCode::HEAP_OUT_OF_BOUNDS => Some(TrapKind::MemoryOutOfBounds),
        TrapCode::INTEGER_OVERFLOW => Some(TrapKind::IntegerOverflow),
        TrapCode::INTEGER_DIVISION_BY_ZERO => Some(TrapKind::IntegerDivisionByZero),
        TrapCode::BAD_CONVERSION_TO_INTEGER => Some(TrapKind::BadConversionToInteger),
        TrapCode::STACK_OVERFLOW => Some(TrapKind::StackOverflow),
        user => TrapKind::from_code(user.as_raw().get()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips() {
        for kind in TrapKind::ALL {
            assert_eq!(trap_kind(trap_code(kind)), Some(kind));
        }
    }
}
