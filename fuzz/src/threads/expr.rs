//! Small i32 expressions over a loop counter and values read from memory: what the race-free
//! programs compute. Each expression is both emitted as folded WAT and evaluated in Rust, so
//! that the generator knows the answer the guest must reach.

use rand::Rng;

/// How deep a generated expression nests at most: deep enough to mix operators, small
/// enough that the module stays readable as a reproducer.
const MAX_DEPTH: u32 = 3;

/// A binary i32 operator, with WebAssembly's semantics (wrapping, shift counts modulo 32).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    And,
    Or,
    Xor,
    Shl,
    ShrU,
    Rotl,
}

impl BinaryOp {
    const ALL: [BinaryOp; 9] = [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::And,
        BinaryOp::Or,
        BinaryOp::Xor,
        BinaryOp::Shl,
        BinaryOp::ShrU,
        BinaryOp::Rotl,
    ];

    /// The WAT instruction, without its `i32.` prefix.
    pub fn mnemonic(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::And => "and",
            BinaryOp::Or => "or",
            BinaryOp::Xor => "xor",
            BinaryOp::Shl => "shl",
            BinaryOp::ShrU => "shr_u",
            BinaryOp::Rotl => "rotl",
        }
    }

    /// What the instruction computes.
    pub fn apply(self, left: u32, right: u32) -> u32 {
        match self {
            BinaryOp::Add => left.wrapping_add(right),
            BinaryOp::Sub => left.wrapping_sub(right),
            BinaryOp::Mul => left.wrapping_mul(right),
            BinaryOp::And => left & right,
            BinaryOp::Or => left | right,
            BinaryOp::Xor => left ^ right,
            // wasm takes shift and rotate counts modulo the width, as these do.
            BinaryOp::Shl => left.wrapping_shl(right),
            BinaryOp::ShrU => left.wrapping_shr(right),
            BinaryOp::Rotl => left.rotate_left(right % 32),
        }
    }
}

/// An i32 expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// A constant.
    Const(u32),
    /// The enclosing loop's counter, local `$i` (0 outside loops).
    Iteration,
    /// The `k`th value read from memory before the expression, local `$in{k}`.
    Input(usize),
    /// An operator applied to two operands.
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
}

impl Expr {
    /// A random expression whose leaves are constants, the loop counter and the first
    /// `inputs` inputs.
    pub fn random(rng: &mut impl Rng, inputs: usize) -> Expr {
        Expr::random_at(rng, inputs, 0)
    }

    fn random_at(rng: &mut impl Rng, inputs: usize, depth: u32) -> Expr {
        // The deeper, the likelier a leaf, so that expressions stay small on average.
        if depth >= MAX_DEPTH || rng.gen_range(0..=MAX_DEPTH) <= depth {
            return match rng.gen_range(0..4) {
                0 => Expr::Const(interesting_constant(rng)),
                1 if inputs > 0 => Expr::Input(rng.gen_range(0..inputs)),
                _ => Expr::Iteration,
            };
        }
        let op = BinaryOp::ALL[rng.gen_range(0..BinaryOp::ALL.len())];
        Expr::Binary(
            op,
            Box::new(Expr::random_at(rng, inputs, depth + 1)),
            Box::new(Expr::random_at(rng, inputs, depth + 1)),
        )
    }

    /// `self op constant`.
    pub fn with(self, op: BinaryOp, constant: u32) -> Expr {
        Expr::Binary(op, Box::new(self), Box::new(Expr::Const(constant)))
    }

    /// The value, with `iteration` as the loop counter and `inputs` as the values read.
    ///
    /// An input beyond `inputs` reads as 0; generated expressions never name one, since
    /// [`Expr::random`] draws inputs below the count it was given.
    pub fn eval(&self, iteration: u32, inputs: &[u32]) -> u32 {
        match self {
            Expr::Const(value) => *value,
            Expr::Iteration => iteration,
            Expr::Input(index) => inputs.get(*index).copied().unwrap_or(0),
            Expr::Binary(op, left, right) => {
                op.apply(left.eval(iteration, inputs), right.eval(iteration, inputs))
            }
        }
    }

    /// The expression as folded WAT, reading `$i` and `$in{k}`.
    pub fn wat(&self) -> String {
        match self {
            Expr::Const(value) => format!("(i32.const {})", *value as i32),
            Expr::Iteration => "(local.get $i)".to_string(),
            Expr::Input(index) => format!("(local.get $in{index})"),
            Expr::Binary(op, left, right) => {
                format!("(i32.{} {} {})", op.mnemonic(), left.wat(), right.wat())
            }
        }
    }
}

/// A constant that tends to matter: small, a power of two, all ones, or anything.
pub fn interesting_constant(rng: &mut impl Rng) -> u32 {
    match rng.gen_range(0..4) {
        0 => rng.gen_range(0..16),
        1 => 1 << rng.gen_range(0..32),
        2 => [u32::MAX, 0x8000_0000, 0x7fff_ffff, 0xffff, 0xff][rng.gen_range(0..5)],
        _ => rng.r#gen(),
    }
}
