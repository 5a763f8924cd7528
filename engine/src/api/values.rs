//! Runtime values and their conversion to the raw slots JIT code uses.

use super::engine::Engine;
use super::error::{Error, UsageError};
use super::func::Func;
use super::store::{AsContext, AsContextMut, StoreId};
use super::types::{HeapType, RefType, ValType};
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
}

impl Val {
    /// The value's type, as far as it is known without a store: a function reference is
    /// reported as `funcref`, whatever its signature. [`Val::matches_ty`] checks exactly.
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::FuncRef(_) => ValType::FUNCREF,
            Val::ExternRef(_) => ValType::EXTERNREF,
        }
    }

    /// Whether this value may be used where `ty` is expected: a null needs a nullable type,
    /// and a function passed as a typed reference needs exactly that signature.
    pub fn matches_ty(&self, store: impl AsContext, ty: &ValType) -> bool {
        let cx = store.as_context();
        self.matches(cx.opaque(), cx.engine, ty)
    }

    pub(crate) fn matches(&self, store: &StoreOpaque, engine: &Engine, ty: &ValType) -> bool {
        let ValType::Ref(expected) = ty else {
            return self.ty() == *ty;
        };
        match (self, expected.heap_type()) {
            (Val::FuncRef(None) | Val::ExternRef(None), _) if !expected.is_nullable() => false,
            (Val::FuncRef(None), heap) => *heap != HeapType::Extern,
            (Val::ExternRef(_), heap) => *heap == HeapType::Extern,
            (Val::FuncRef(Some(_)), HeapType::Func) => true,
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
            Val::FuncRef(None) | Val::ExternRef(None) => format!("null {}", self.ty()),
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
        if ty.is_func() {
            Val::FuncRef(None)
        } else {
            Val::ExternRef(None)
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
            Val::FuncRef(None) | Val::ExternRef(None) => 0,
            Val::FuncRef(Some(func)) => {
                func.store.check(store)?;
                store.func_to_raw(func.index) as u64
            }
            Val::ExternRef(Some(externref)) => {
                externref.store.check(store)?;
                externref.handle as u64
            }
        })
    }

    /// Reads a raw slot of type `ty`; only the low bytes of narrow types are meaningful.
    pub(crate) fn from_raw(store: &mut StoreOpaque, raw: u64, ty: &ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(raw as u32 as i32),
            ValType::I64 => Val::I64(raw as i64),
            ValType::F32 => Val::F32(raw as u32),
            ValType::F64 => Val::F64(raw),
            ValType::Ref(ty) if ty.is_func() => Val::FuncRef((raw != 0).then(|| Func {
                store: StoreId::of(store),
                index: store.func_from_raw(raw as usize),
            })),
            ValType::Ref(_) => Val::ExternRef((raw != 0).then(|| ExternRef {
                store: StoreId::of(store),
                handle: raw as usize,
            })),
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
