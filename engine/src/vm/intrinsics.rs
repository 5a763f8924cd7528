//! The `"wasm:thread"` intrinsics: the spawn builtins of the shared-everything threads
//! proposal as store-free host functions, and `available-parallelism`. Each is a thin
//! wrapper over the store's `GuestThreads`.

use super::host::SharedHostFunc;
use super::threads::{GuestThreads, SpawnError};
use super::vmcontext::{VMFuncRef, VMVal};
use crate::environ::TrapKind;
use std::any::Any;
use std::sync::Arc;
use weft_threads::ThreadId;

/// The `"wasm:thread"` intrinsics, by import name.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Intrinsic {
    /// `(func (param (ref null $ft) i32) (result i32))`: spawns `$ft(arg)`.
    SpawnRef,
    /// `(func (param i32 i32) (result i32))`: spawns the function at an index of the caller's
    /// first shared table of function references.
    SpawnIndirect,
    /// `(func (result i32))`.
    AvailableParallelism,
}

impl Intrinsic {
    pub const MODULE: &'static str = "wasm:thread";

    pub fn by_name(name: &str) -> Option<Intrinsic> {
        match name {
            "spawn-ref" => Some(Intrinsic::SpawnRef),
            "spawn-indirect" => Some(Intrinsic::SpawnIndirect),
            "available-parallelism" => Some(Intrinsic::AvailableParallelism),
            _ => None,
        }
    }

    /// The intrinsic's body for a store whose guest threads are `threads`.
    pub fn body(self, threads: &Arc<GuestThreads>) -> SharedHostFunc {
        let threads = Arc::clone(threads);
        match self {
            Intrinsic::AvailableParallelism => Arc::new(move |_caller, slots: &mut [VMVal]| {
                slots[0] = VMVal::from_u32(threads.available_parallelism());
                Ok(())
            }),
            Intrinsic::SpawnRef => Arc::new(move |_caller, slots: &mut [VMVal]| {
                let funcref = slots[0].get_u64() as usize as *const VMFuncRef;
                // SAFETY: wasm code can only hold null or funcrefs of its own store.
                let id = unsafe { threads.spawn(funcref, slots[1].get_u32()) };
                slots[0] = spawn_result(id)?;
                Ok(())
            }),
            Intrinsic::SpawnIndirect => Arc::new(move |caller, slots: &mut [VMVal]| {
                let Some(instance) = caller.instance() else {
                    // The host called the intrinsic itself: there is no table to read.
                    return Err(Box::new(TrapKind::TableOutOfBounds) as Box<dyn Any + Send>);
                };
                let funcref = instance
                    .spawn_table_element(slots[0].get_u32())
                    .map_err(|kind| Box::new(kind) as Box<dyn Any + Send>)?;
                // SAFETY: table elements of this store's instances are null or its funcrefs.
                let id = unsafe { threads.spawn(funcref, slots[1].get_u32()) };
                slots[0] = spawn_result(id)?;
                Ok(())
            }),
        }
    }
}

/// The guest's view of a spawn: the new thread's id, -1 if it could not start, or a trap.
fn spawn_result(spawned: Result<ThreadId, SpawnError>) -> Result<VMVal, Box<dyn Any + Send>> {
    match spawned {
        Ok(id) => Ok(VMVal::from_u32(id)),
        Err(SpawnError::Refused(_)) => Ok(VMVal::from_u32(u32::MAX)),
        Err(SpawnError::Trap(kind)) => Err(Box::new(kind)),
    }
}
