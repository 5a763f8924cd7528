//! What running a module did, in terms both engines can be held to: each export's call in
//! order (its results, or that it trapped), and the exported globals and memories after
//! each call. Two engines agree when their outcomes are equal.

use std::fmt;

/// A value as compared across engines: floats by their bits with every NaN made the
/// canonical one (the spec lets NaN payloads differ), references only as null or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    V128(u128),
    Ref { null: bool },
}

impl Value {
    pub fn f32(bits: u32) -> Value {
        Value::F32(if f32::from_bits(bits).is_nan() {
            0x7fc0_0000
        } else {
            bits
        })
    }

    pub fn f64(bits: u64) -> Value {
        Value::F64(if f64::from_bits(bits).is_nan() {
            0x7ff8_0000_0000_0000
        } else {
            bits
        })
    }
}

/// A parameter's type; a call's arguments are drawn from the case's seed
/// ([`Param::arbitrary`]), references always null.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    I32,
    I64,
    F32,
    F64,
    V128,
    FuncRef,
    ExternRef,
}

impl Param {
    /// An argument of this type from `rng`: edge values (0, 1, -1, the extremes, NaN, the
    /// infinities) half the time, since that is where engines go wrong, else any bits.
    pub fn arbitrary(self, rng: &mut impl rand::Rng) -> Value {
        const EDGES: [u64; 8] = [
            0,
            1,
            u64::MAX,
            i32::MAX as u64,
            i32::MIN as u32 as u64,
            i64::MAX as u64,
            i64::MIN as u64,
            0x8000_0000,
        ];
        let bits = if rng.gen_bool(0.5) {
            EDGES[rng.gen_range(0..EDGES.len())]
        } else {
            rng.next_u64()
        };
        match self {
            Param::I32 => Value::I32(bits as i32),
            Param::I64 => Value::I64(bits as i64),
            Param::F32 => Value::F32(match bits % 4 {
                0 => f32::INFINITY.to_bits(),
                1 => f32::NAN.to_bits(),
                _ => (bits >> 8) as u32,
            }),
            Param::F64 => Value::F64(match bits % 4 {
                0 => f64::NEG_INFINITY.to_bits(),
                1 => f64::NAN.to_bits(),
                _ => bits.rotate_left(17),
            }),
            Param::V128 => Value::V128(u128::from(bits) << 64 | u128::from(rng.next_u64())),
            Param::FuncRef | Param::ExternRef => Value::Ref { null: true },
        }
    }
}

/// What one call did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    Returned(Vec<Value>),
    Trapped(Trap),
}

/// A trap: its class, which engines must agree on, and the engine's own message, which is
/// only reported (engines word their messages differently).
#[derive(Clone, Debug)]
pub struct Trap {
    pub class: TrapClass,
    pub message: String,
}

impl PartialEq for Trap {
    fn eq(&self, other: &Trap) -> bool {
        self.class == other.class
    }
}

impl Eq for Trap {}

/// What went wrong, in terms every engine can be mapped to. A trap of another kind (GC
/// casts, exceptions) is `Other` with its kind's name, which only weft's configurations
/// produce and compare among themselves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrapClass {
    Unreachable,
    MemoryOutOfBounds,
    /// `call_indirect` (or a table access) past the table's end.
    TableOutOfBounds,
    /// A call through a null element or reference.
    NullFunction,
    SignatureMismatch,
    IntegerOverflow,
    IntegerDivisionByZero,
    BadConversionToInteger,
    StackOverflow,
    Other(String),
}

/// The exported state after a call: each exported global's value and each exported
/// memory's bytes, in export order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    pub globals: Vec<(String, Value)>,
    pub memories: Vec<(String, Vec<u8>)>,
}

/// A whole run of a module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The engine refused the module (it is valid: the generator made it).
    Rejected(String),
    /// Instantiation trapped (a start function, or a segment out of bounds).
    InstantiationTrapped(Trap),
    /// Every function export called once, in export order, with the state after each.
    Ran(Vec<(String, Call, State)>),
}

impl Outcome {
    /// The engine's message for each trap: instantiation's, or each call's that trapped.
    pub fn traps(&self) -> Vec<&str> {
        match self {
            Outcome::Ran(calls) => calls
                .iter()
                .filter_map(|(_, call, _)| match call {
                    Call::Trapped(trap) => Some(trap.message.as_str()),
                    Call::Returned(_) => None,
                })
                .collect(),
            Outcome::InstantiationTrapped(trap) => vec![trap.message.as_str()],
            Outcome::Rejected(_) => Vec::new(),
        }
    }

    /// How many calls were made, and how many of them trapped.
    pub fn calls(&self) -> (usize, usize) {
        match self {
            Outcome::Ran(calls) => (
                calls.len(),
                calls
                    .iter()
                    .filter(|(_, call, _)| matches!(call, Call::Trapped(_)))
                    .count(),
            ),
            _ => (0, 0),
        }
    }
}

/// Where two outcomes first differ, for the report.
pub struct Difference(pub String);

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The first difference between `ours` (weft's) and `reference`'s outcome, if any.
pub fn compare(ours: &Outcome, reference: &Outcome) -> Option<Difference> {
    if ours == reference {
        return None;
    }
    let (Outcome::Ran(ours), Outcome::Ran(theirs)) = (ours, reference) else {
        return Some(Difference(format!(
            "weft: {}; reference: {}",
            summary(ours),
            summary(reference)
        )));
    };
    for ((name, call, state), (_, their_call, their_state)) in ours.iter().zip(theirs) {
        if call != their_call {
            return Some(Difference(format!(
                "calling `{name}`: weft {call:?}, reference {their_call:?}"
            )));
        }
        if state.globals != their_state.globals {
            return Some(Difference(format!(
                "after `{name}`: globals weft {:?}, reference {:?}",
                state.globals, their_state.globals
            )));
        }
        for ((memory, bytes), (_, their_bytes)) in state.memories.iter().zip(&their_state.memories)
        {
            if bytes != their_bytes {
                let at = bytes
                    .iter()
                    .zip(their_bytes)
                    .position(|(a, b)| a != b)
                    .unwrap_or(bytes.len().min(their_bytes.len()));
                return Some(Difference(format!(
                    "after `{name}`: memory `{memory}` differs at byte {at} (weft {} bytes, \
                     reference {} bytes)",
                    bytes.len(),
                    their_bytes.len()
                )));
            }
        }
    }
    Some(Difference(format!(
        "weft made {} calls, the reference {}",
        ours.len(),
        theirs.len()
    )))
}

fn summary(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Rejected(why) => format!("rejected the module ({why})"),
        Outcome::InstantiationTrapped(trap) => {
            format!("instantiation trapped ({})", trap.message)
        }
        Outcome::Ran(calls) => format!("ran {} calls", calls.len()),
    }
}
