//! Statically typed calls in both directions: `TypedFunc` for host→wasm and `IntoFunc` for
//! Rust closures called from wasm. Types are checked once, when the view or function is
//! made, so calls only move raw slots.

use super::engine::Engine;
use super::error::Error;
use super::func::{Caller, Func, HostFuncDef, call_raw, into_payload};
use super::shared_caller::SharedCaller;
use super::store::AsContextMut;
use super::types::{FuncType, ValType};
use crate::vm::HostBody;
use crate::vm::{HostError, HostFunc, SharedHostFunc, StoreInner, ThrownException, VMVal};
use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;

mod sealed {
    pub trait Sealed {}
}

/// A Rust type that is also a WebAssembly value type: `i32` and `u32` for `i32`, `i64` and
/// `u64` for `i64`, `f32`, `f64`, and `u128` for `v128`. References have no typed form; use
/// [`Func::call`] with [`Val`](crate::Val)s for them. Sealed.
pub trait WasmTy: Copy + Send + sealed::Sealed + 'static {
    #[doc(hidden)]
    fn valtype() -> ValType;
    #[doc(hidden)]
    fn to_raw(self) -> u128;
    #[doc(hidden)]
    fn from_raw(raw: u128) -> Self;
}

macro_rules! wasm_ty {
    ($($ty:ty => $valtype:ident, |$to:ident| $to_raw:expr, |$from:ident| $from_raw:expr;)*) => {$(
        impl sealed::Sealed for $ty {}
        impl WasmTy for $ty {
            fn valtype() -> ValType { ValType::$valtype }
            fn to_raw(self) -> u128 { let $to = self; $to_raw }
            fn from_raw(raw: u128) -> Self { let $from = raw; $from_raw }
        }
    )*};
}

wasm_ty! {
    i32 => I32, |v| u128::from(v as u32), |r| r as u32 as i32;
    u32 => I32, |v| u128::from(v), |r| r as u32;
    i64 => I64, |v| u128::from(v as u64), |r| r as u64 as i64;
    u64 => I64, |v| u128::from(v), |r| r as u64;
    f32 => F32, |v| u128::from(v.to_bits()), |r| f32::from_bits(r as u32);
    f64 => F64, |v| u128::from(v.to_bits()), |r| f64::from_bits(r as u64);
    u128 => V128, |v| v, |r| r;
}

/// Parameter lists: `()`, a single [`WasmTy`], or a tuple of them.
pub trait WasmParams: Send + 'static {
    /// How many values: the length of [`valtypes`](Self::valtypes), without building it.
    #[doc(hidden)]
    const LEN: usize;
    #[doc(hidden)]
    fn valtypes() -> Vec<ValType>;
    #[doc(hidden)]
    fn write_slots(self, slots: &mut [VMVal]);
    #[doc(hidden)]
    fn read_slots(slots: &[VMVal]) -> Self;
}

/// Result lists: the same shapes as [`WasmParams`].
pub trait WasmResults: WasmParams {}

impl<T: WasmTy> WasmParams for T {
    const LEN: usize = 1;
    fn valtypes() -> Vec<ValType> {
        vec![T::valtype()]
    }
    fn write_slots(self, slots: &mut [VMVal]) {
        slots[0] = VMVal::from_u128(self.to_raw());
    }
    fn read_slots(slots: &[VMVal]) -> Self {
        T::from_raw(slots[0].get_u128())
    }
}

impl<T: WasmTy> WasmResults for T {}

/// Counts one for each type in a tuple.
macro_rules! one {
    ($name:ident) => {
        1
    };
}

macro_rules! wasm_tuple {
    ($($name:ident $index:tt),*) => {
        impl<$($name: WasmTy),*> WasmParams for ($($name,)*) {
            const LEN: usize = 0 $(+ one!($name))*;
            fn valtypes() -> Vec<ValType> {
                vec![$($name::valtype()),*]
            }
            #[allow(unused_variables, reason = "the empty tuple writes nothing")]
            fn write_slots(self, slots: &mut [VMVal]) {
                $(slots[$index] = VMVal::from_u128(self.$index.to_raw());)*
            }
            #[allow(unused_variables, clippy::unused_unit, reason = "the empty tuple reads nothing")]
            fn read_slots(slots: &[VMVal]) -> Self {
                ($($name::from_raw(slots[$index].get_u128()),)*)
            }
        }
        impl<$($name: WasmTy),*> WasmResults for ($($name,)*) {}
    };
}

wasm_tuple!();
wasm_tuple!(A 0);
wasm_tuple!(A 0, B 1);
wasm_tuple!(A 0, B 1, C 2);
wasm_tuple!(A 0, B 1, C 2, D 3);
wasm_tuple!(A 0, B 1, C 2, D 3, E 4);
wasm_tuple!(A 0, B 1, C 2, D 3, E 4, F 5);
wasm_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
wasm_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);

/// A function whose signature was checked against `Params` and `Results`
/// ([`Func::typed`], [`Instance::get_typed_func`](crate::Instance::get_typed_func)), so that
/// a call only moves raw values (and allocates nothing for up to eight parameters or
/// results). `Copy`, like the [`Func`].
pub struct TypedFunc<Params, Results> {
    func: Func,
    _signature: PhantomData<fn(Params) -> Results>,
}

impl<Params, Results> Clone for TypedFunc<Params, Results> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<Params, Results> Copy for TypedFunc<Params, Results> {}

impl<Params: WasmParams, Results: WasmResults> TypedFunc<Params, Results> {
    pub(crate) fn new(func: Func) -> Self {
        TypedFunc {
            func,
            _signature: PhantomData,
        }
    }

    /// The function, untyped.
    pub fn func(&self) -> &Func {
        &self.func
    }

    /// Calls the function with `params` (`()`, one value or a tuple) and returns its
    /// results in the same shape.
    ///
    /// # Errors
    ///
    /// [`UsageError::WrongStore`](crate::UsageError::WrongStore) when `store` is not the
    /// function's; [`Error::Trap`] when the code traps; a host function's error as
    /// [`HostResult`] describes. The store stays usable after any of them.
    pub fn call(&self, mut store: impl AsContextMut, params: Params) -> Result<Results, Error> {
        let mut cx = store.as_context_mut();
        self.func.store.check(cx.opaque())?;
        with_slots::<Params, Results, _>(|slots| {
            params.write_slots(slots);
            call_raw(cx.opaque(), self.func.index, slots)?;
            Ok(Results::read_slots(slots))
        })
    }
}

/// Runs `call` with value slots for a call taking `Params` and returning `Results`: on the
/// stack for the usual short signatures, so a typed call allocates nothing.
pub(crate) fn with_slots<Params: WasmParams, Results: WasmResults, R>(
    call: impl FnOnce(&mut [VMVal]) -> R,
) -> R {
    let needed = Params::LEN.max(Results::LEN);
    let mut slots = [VMVal::default(); 8];
    if needed <= slots.len() {
        call(&mut slots)
    } else {
        call(&mut vec![VMVal::default(); needed])
    }
}

/// What a typed host closure may return: its results (`()`, one [`WasmTy`] or a tuple of
/// them), or its results in a `Result<R, E>` whose error converts into a
/// `Box<dyn std::error::Error + Send + Sync>`: a [`weft::Error`](Error), an `anyhow::Error`,
/// any `std::error::Error + Send + Sync`, a `String` or a `&'static str`.
///
/// An `Err` unwinds the wasm code that called the function, and the host's call into wasm
/// returns it: a `weft::Error` as itself (so `Err(Error::from(kind))` traps with `kind`),
/// anything else as [`Error::Host`], which can be downcast back to the closure's error type.
/// An `anyhow::Error` is boxed as a whole, so a `weft::Error` inside one arrives as
/// `Error::Host` too, whose message is the trap's.
///
/// The error type must be known where the closure is written: a closure whose every
/// return is `Ok(..)`, or whose only errors come from `?`, needs its return type spelled
/// out, for example `-> Result<i32, weft::Error>` or `-> anyhow::Result<i32>`.
pub trait HostResult: Send + 'static {
    #[doc(hidden)]
    fn valtypes() -> Vec<ValType>;
    #[doc(hidden)]
    fn into_slots(self, slots: &mut [VMVal]) -> Result<(), Error>;
}

impl<R: WasmResults> HostResult for R {
    fn valtypes() -> Vec<ValType> {
        R::valtypes()
    }
    fn into_slots(self, slots: &mut [VMVal]) -> Result<(), Error> {
        self.write_slots(slots);
        Ok(())
    }
}

impl<R, E> HostResult for Result<R, E>
where
    R: WasmResults,
    E: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    fn valtypes() -> Vec<ValType> {
        R::valtypes()
    }
    fn into_slots(self, slots: &mut [VMVal]) -> Result<(), Error> {
        self.map_err(Error::host)?.write_slots(slots);
        Ok(())
    }
}

/// Rust closures usable as host functions: `Fn(A1, .., An) -> R` or
/// `Fn(Caller<'_, T>, A1, .., An) -> R`, with up to nine `Ai: WasmTy` and `R: HostResult`.
/// The closure's parameter and result types are the function's wasm type.
pub trait IntoFunc<T, Params, Results>: Send + Sync + 'static {
    #[doc(hidden)]
    fn into_func_def(self, engine: &Engine) -> HostFuncDef<T>;
}

macro_rules! into_func {
    ($($arg:ident $index:tt),*) => {
        impl<T: 'static, F, $($arg: WasmTy,)* R: HostResult> IntoFunc<T, ($($arg,)*), R> for F
        where
            F: Fn($($arg),*) -> R + Send + Sync + 'static,
        {
            #[allow(non_snake_case, reason = "arguments are named after their type parameters")]
            fn into_func_def(self, engine: &Engine) -> HostFuncDef<T> {
                (move |_: Caller<'_, T>, $($arg: $arg),*| self($($arg),*)).into_func_def(engine)
            }
        }

        impl<T: 'static, F, $($arg: WasmTy,)* R: HostResult> IntoFunc<T, (Caller<'static, T>, $($arg,)*), R> for F
        where
            F: Fn(Caller<'_, T>, $($arg),*) -> R + Send + Sync + 'static,
        {
            #[allow(non_snake_case, reason = "arguments are named after their type parameters")]
            fn into_func_def(self, engine: &Engine) -> HostFuncDef<T> {
                let ty = FuncType::new(vec![$($arg::valtype()),*], R::valtypes());
                let engine = engine.clone();
                let body: HostFunc<T> = Arc::new(move |inner: &mut StoreInner<T>, instance, slots: &mut [VMVal]| {
                    $(let $arg = $arg::from_raw(slots[$index].get_u128());)*
                    let caller = Caller { inner, engine: &engine, instance };
                    self(caller, $($arg),*).into_slots(slots).map_err(into_payload)
                });
                HostFuncDef {
                    ty,
                    body: HostBody::Bound(body),
                    fast: None,
                }
            }
        }
    };
}

/// Rust closures usable as *store-free* host functions: `Fn(A1, .., An) -> R` or
/// `Fn(SharedCaller<'_>, A1, .., An) -> R`, with up to nine `Ai: WasmTy` and
/// `R: HostResult`. They get no
/// store, so any thread may call them: shared wasm code (which can only import shared
/// functions) on guest threads and attached host threads alike. [`SharedCaller`] gives the
/// calling instance's exported memories.
pub trait IntoSharedFunc<Params, Results>: Send + Sync + 'static {
    #[doc(hidden)]
    fn into_shared_func_def<T: 'static>(self) -> HostFuncDef<T>;
}

/// Boxes a shared host function's error for the trip through the trap handler: a trap as its
/// kind, which every thread reports as such, anything else whole (other threads report it as
/// its message).
pub(crate) fn shared_payload(error: Error) -> Box<dyn Any + Send> {
    match error {
        Error::Trap { trap, .. } => Box::new(trap),
        Error::Exception(exception) => Box::new(ThrownException(exception.word)),
        other => Box::new(HostError::from(other)),
    }
}

macro_rules! into_shared_func {
    ($($arg:ident $index:tt),*) => {
        impl<F, $($arg: WasmTy,)* R: HostResult> IntoSharedFunc<($($arg,)*), R> for F
        where
            F: Fn($($arg),*) -> R + Send + Sync + 'static,
        {
            #[allow(non_snake_case, reason = "arguments are named after their type parameters")]
            fn into_shared_func_def<T: 'static>(self) -> HostFuncDef<T> {
                (move |_: SharedCaller<'_>, $($arg: $arg),*| self($($arg),*)).into_shared_func_def()
            }
        }

        impl<F, $($arg: WasmTy,)* R: HostResult> IntoSharedFunc<(SharedCaller<'static>, $($arg,)*), R> for F
        where
            F: Fn(SharedCaller<'_>, $($arg),*) -> R + Send + Sync + 'static,
        {
            #[allow(non_snake_case, reason = "arguments are named after their type parameters")]
            fn into_shared_func_def<T: 'static>(self) -> HostFuncDef<T> {
                let ty = FuncType::shared(vec![$($arg::valtype()),*], R::valtypes());
                let body: SharedHostFunc = Arc::new(move |caller, slots: &mut [VMVal]| {
                    $(let $arg = $arg::from_raw(slots[$index].get_u128());)*
                    self(SharedCaller::new(caller), $($arg),*).into_slots(slots).map_err(shared_payload)
                });
                HostFuncDef {
                    ty,
                    body: HostBody::Shared(body),
                    fast: None,
                }
            }
        }
    };
}

/// Both kinds of host function, store-bound and shared, for every arity up to nine (the
/// most a WASI preview 1 function takes).
macro_rules! host_funcs {
    ($(($($arg:ident $index:tt),*))*) => {$(
        into_func!($($arg $index),*);
        into_shared_func!($($arg $index),*);
    )*};
}

host_funcs! {
    ()
    (A1 0)
    (A1 0, A2 1)
    (A1 0, A2 1, A3 2)
    (A1 0, A2 1, A3 2, A4 3)
    (A1 0, A2 1, A3 2, A4 3, A5 4)
    (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5)
    (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6)
    (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6, A8 7)
    (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6, A8 7, A9 8)
}
