//! What a store-free host function sees of its caller: the calling instance's exported
//! memories, reached by copying, from whichever thread made the call.

use super::error::Error;
use super::externals::access_result;
use crate::vm::{CallerBlock, StoreMemory};

/// The caller of a store-free host function (see
/// [`Linker::func_wrap_shared`](crate::Linker::func_wrap_shared)), valid for the call.
#[derive(Copy, Clone)]
pub struct SharedCaller<'call> {
    block: CallerBlock<'call>,
}

impl<'call> SharedCaller<'call> {
    pub(crate) fn new(block: CallerBlock<'call>) -> Self {
        SharedCaller { block }
    }

    /// The calling instance's exported memory `name`. `None` when the caller is not a wasm
    /// instance, has no such memory export, or the memory is unshared and the call comes
    /// from a thread other than the store's own (only shared memories may be touched from
    /// other threads).
    pub fn memory(&self, name: &str) -> Option<CallerMemory<'call>> {
        self.block
            .exported_memory(name)
            .map(|memory| CallerMemory { memory })
    }
}

/// A memory of the calling instance, for the duration of a host call. Reads and writes copy:
/// a shared memory is copied with relaxed atomic byte accesses, because other threads may
/// write it at the same time, and no Rust reference into guest memory is ever handed out.
#[derive(Copy, Clone)]
pub struct CallerMemory<'call> {
    memory: &'call StoreMemory,
}

impl CallerMemory<'_> {
    /// The current size in bytes. A shared memory may grow at any moment; bounds are checked
    /// again by every access.
    pub fn data_size(&self) -> u64 {
        self.memory.view().len() as u64
    }

    /// Whether the memory is shared between threads.
    pub fn is_shared(&self) -> bool {
        self.memory.as_shared().is_some()
    }

    /// Copies `buffer.len()` bytes starting at `offset` out of the memory.
    pub fn read(&self, offset: u64, buffer: &mut [u8]) -> Result<(), Error> {
        access_result(self.memory.read(offset, buffer), "memory read")
    }

    /// Copies `data` into the memory at `offset`.
    pub fn write(&self, offset: u64, data: &[u8]) -> Result<(), Error> {
        access_result(self.memory.write(offset, data), "memory write")
    }
}
