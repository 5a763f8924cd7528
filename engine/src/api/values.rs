//! Runtime values and their conversion to the raw slots JIT code uses.

use super::engine::Engine;
use super::error::{Error, UsageError};
use super::func::Func;
use super::store::{AsContext, AsContextMut, StoreId};
use super::types::{AbstractHeapType, HeapType, RefType, ValType};
use crate::environ::i31;
use crate::vm::StoreOpaque;
use std::any::Any;

/// A WebAssembly value. Floats are kept as bits so NaN payloads survive round trips.
#[derive(Clone, Debug)]
pub enum Val {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    FuncRef(Option<Func>),
    ExternRef(Option<ExternRef>),
    /// A reference of the any hierarchy (`anyref`, `eqref`, `i31ref`, shared or not).
    AnyRef(Option<AnyRef>),
}

impl Val {
    /// The value's type, as far as it is known without a store: a function reference is
    /// reported as `funcref`, whatever its signature, and a null any-reference as `anyref`.
    /// [`Val::matches_ty`] checks exactly.
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::FuncRef(_) => ValType::FUNCREF,
            Val::ExternRef(_) => ValType::EXTERNREF,
            Val::AnyRef(None) => {
                RefType::new(true, HeapType::unshared(AbstractHeapType::Any)).into()
            }
            Val::AnyRef(Some(AnyRef::I31(_))) => {
                RefType::new(false, HeapType::unshared(AbstractHeapType::I31)).into()
            }
        }
    }

    /// Whether this value may be used where `ty` is expected: a null needs a nullable type of
    /// its hierarchy, and a function passed as a typed reference needs exactly that
    /// signature. Host values are thread-safe, so externrefs and i31s fit shared types as
    /// well; functions fit only unshared ones, since weft has no shared functions.
    pub fn matches_ty(&self, store: impl AsContext, ty: &ValType) -> bool {
        let cx = store.as_context();
        self.matches(cx.opaque(), cx.engine, ty)
    }

    pub(crate) fn matches(&self, store: &StoreOpaque, engine: &Engine, ty: &ValType) -> bool {
        let ValType::Ref(expected) = ty else {
            return self.ty() == *ty;
        };
        let heap = expected.heap_type();
        match (self, heap) {
            (Val::FuncRef(None), _) | (Val::ExternRef(None), _) | (Val::AnyRef(None), _) => {
                expected.is_nullable() && self.hierarchy() == heap.top()
            }
            (Val::ExternRef(Some(_)), HeapType::Abstract { ty, .. }) => {
                *ty == AbstractHeapType::Extern
            }
            (Val::AnyRef(Some(AnyRef::I31(_))), HeapType::Abstract { ty, .. }) => matches!(
                ty,
                AbstractHeapType::Any | AbstractHeapType::Eq | AbstractHeapType::I31
            ),
            (
                Val::FuncRef(Some(func)),
                HeapType::Abstract {
                    shared,
                    ty: AbstractHeapType::Func,
                },
            ) => {
                // A shared function fits only `(shared func)`, an unshared one only `func`.
                func.store.check(store).is_err()
                    || engine.func_type(store.func_type_id(func.index)).is_shared() == *shared
            }
            (Val::FuncRef(Some(func)), HeapType::ConcreteFunc(func_ty)) => {
                // Ids are only comparable within one store: a foreign function is reported by
                // `to_raw` instead.
                func.store.check(store).is_err()
                    || store.func_type_id(func.index) == engine.register_type(func_ty)
            }
            _ => false,
        }
    }

    /// Fails with a usage error naming argument `index` unless the value fits `expected`.
    pub(crate) fn check(
        &self,
        store: &StoreOpaque,
        engine: &Engine,
        expected: &ValType,
        index: usize,
    ) -> Result<(), Error> {
        if self.matches(store, engine, expected) {
            return Ok(());
        }
        let given = match self {
            Val::FuncRef(None) | Val::ExternRef(None) | Val::AnyRef(None) => {
                format!("null {}", self.ty())
            }
            Val::FuncRef(Some(func)) => {
                let id = store.func_type_id(func.index);
                format!("(ref {})", engine.func_type(id))
            }
            _ => self.ty().to_string(),
        };
        Err(UsageError::ArgumentType {
            index,
            expected: expected.to_string(),
            given,
        }
        .into())
    }

    /// The null reference of type `ty`'s hierarchy.
    pub fn null(ty: &RefType) -> Val {
        match ty.heap_type().top() {
            AbstractHeapType::Extern => Val::ExternRef(None),
            AbstractHeapType::Any => Val::AnyRef(None),
            _ => Val::FuncRef(None),
        }
    }

    /// The top type of a reference's hierarchy; meaningless for numbers.
    fn hierarchy(&self) -> AbstractHeapType {
        match self {
            Val::ExternRef(_) => AbstractHeapType::Extern,
            Val::AnyRef(_) => AbstractHeapType::Any,
            _ => AbstractHeapType::Func,
        }
    }

    /// The zero value of `ty`: `0` or null. Non-nullable references get null as well, which
    /// suits placeholders for results. `None` for v128, which weft does not support.
    pub fn default_for(ty: &ValType) -> Option<Val> {
        Some(match ty {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::Ref(ty) => Val::null(ty),
            ValType::V128 => return None,
        })
    }

    pub fn i32(&self) -> Option<i32> {
        match self {
            Val::I32(value) => Some(*value),
            _ => None,
        }
    }

    pub fn i64(&self) -> Option<i64> {
        match self {
            Val::I64(value) => Some(*value),
            _ => None,
        }
    }

    pub fn f32(&self) -> Option<f32> {
        match self {
            Val::F32(bits) => Some(f32::from_bits(*bits)),
            _ => None,
        }
    }

    pub fn f64(&self) -> Option<f64> {
        match self {
            Val::F64(bits) => Some(f64::from_bits(*bits)),
            _ => None,
        }
    }

    /// The raw slot representation. References must belong to `store`.
    pub(crate) fn to_raw(&self, store: &StoreOpaque) -> Result<u64, Error> {
        Ok(match self {
            Val::I32(value) => u64::from(*value as u32),
            Val::I64(value) => *value as u64,
            Val::F32(bits) => u64::from(*bits),
            Val::F64(bits) => *bits,
            Val::FuncRef(None) | Val::ExternRef(None) | Val::AnyRef(None) => 0,
            Val::FuncRef(Some(func)) => {
                func.store.check(store)?;
                let raw = store.func_to_raw(func.index) as u64;
                debug_assert!(!i31::is_i31(raw), "funcrefs are aligned pointers");
                raw
            }
            Val::ExternRef(Some(externref)) => {
                externref.store.check(store)?;
                debug_assert!(!i31::is_i31(externref.handle as u64), "handles are even");
                externref.handle as u64
            }
            Val::AnyRef(Some(AnyRef::I31(value))) => i31::encode(value.get_u()),
        })
    }

    /// Reads a raw slot of type `ty`; only the low bytes of narrow types are meaningful.
    pub(crate) fn from_raw(store: &mut StoreOpaque, raw: u64, ty: &ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(raw as u32 as i32),
            ValType::I64 => Val::I64(raw as i64),
            ValType::F32 => Val::F32(raw as u32),
            ValType::F64 => Val::F64(raw),
            ValType::Ref(ty) => match ty.heap_type().top() {
                AbstractHeapType::Extern => Val::ExternRef((raw != 0).then(|| ExternRef {
                    store: StoreId::of(store),
                    handle: raw as usize,
                })),
                AbstractHeapType::Any => Val::AnyRef((raw != 0).then(|| {
                    // Until GC lands, the any hierarchy has no other values.
                    assert!(i31::is_i31(raw), "non-null anyref {raw:#x} is not an i31");
                    AnyRef::I31(I31(i31::decode_u(raw)))
                })),
                _ => Val::FuncRef((raw != 0).then(|| Func {
                    store: StoreId::of(store),
                    index: store.func_from_raw(raw as usize),
                })),
            },
            ValType::V128 => unreachable!("v128 values are rejected before they reach the API"),
        }
    }
}

impl From<i32> for Val {
    fn from(value: i32) -> Val {
        Val::I32(value)
    }
}

impl From<i64> for Val {
    fn from(value: i64) -> Val {
        Val::I64(value)
    }
}

impl From<f32> for Val {
    fn from(value: f32) -> Val {
        Val::F32(value.to_bits())
    }
}

impl From<f64> for Val {
    fn from(value: f64) -> Val {
        Val::F64(value.to_bits())
    }
}

impl From<AnyRef> for Val {
    fn from(any: AnyRef) -> Val {
        Val::AnyRef(Some(any))
    }
}

impl From<Func> for Val {
    fn from(func: Func) -> Val {
        Val::FuncRef(Some(func))
    }
}

/// A reference to a host value, passed to wasm as `externref`. The value lives until its
/// store is dropped.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ExternRef {
    store: StoreId,
    handle: usize,
}

impl ExternRef {
    pub fn new(mut store: impl AsContextMut, value: impl Any + Send + Sync) -> ExternRef {
        let mut cx = store.as_context_mut();
        let handle = cx.opaque().push_externref(Box::new(value));
        ExternRef {
            store: StoreId::of(cx.opaque()),
            handle,
        }
    }

    /// The host value; downcast it to the type it was created with.
    pub fn data<'a, C: AsContext>(
        &self,
        store: &'a C,
    ) -> Result<&'a (dyn Any + Send + Sync), Error> {
        let inner = store.as_context().inner;
        let opaque: &'a StoreOpaque = &inner.opaque;
        self.store.check(opaque)?;
        Ok(opaque.externref(self.handle))
    }
}

/// A non-null reference of the any hierarchy. Only i31s exist until GC lands.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AnyRef {
    I31(I31),
}

/// A 31-bit integer, the payload of an `i31ref`. It carries no sharedness: the same value
/// fits `(ref i31)` and `(ref (shared i31))`, as `ref.i31` and `ref.i31_shared` build the
/// same bits.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct I31(u32);

impl I31 {
    /// The low 31 bits of `value`, as `ref.i31` keeps them.
    pub fn wrapping_u32(value: u32) -> I31 {
        I31(value & 0x7fff_ffff)
    }

    /// The low 31 bits of `value`, as `ref.i31` keeps them.
    pub fn wrapping_i32(value: i32) -> I31 {
        I31::wrapping_u32(value as u32)
    }

    /// The value zero-extended, as `i31.get_u` reads it.
    pub fn get_u(self) -> u32 {
        self.0
    }

    /// The value sign-extended from bit 30, as `i31.get_s` reads it.
    pub fn get_s(self) -> i32 {
        ((self.0 << 1) as i32) >> 1
    }
}
