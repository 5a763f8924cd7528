//! Guest memory as WASI functions reach it: the calling instance's exported `memory`, read
//! and written by copying, every pointer checked.
//!
//! As Wasmtime does (after the witx rules), a pointer whose bytes lie outside the memory,
//! or a misaligned pointer to a structure, is a host error that unwinds the caller; it
//! never reaches the host as a fault, and an empty range is never out of bounds. A
//! shared memory may be written by other threads at any moment, so nothing here keeps a
//! Rust reference into it: each access copies.

use crate::abi::{Errno, layout};
use crate::error::{WasiError, WasiResult};
use std::cell::OnceCell;
use weft::{CallerMemory, SharedCaller};

/// The export WASI programs give their memory under.
const MEMORY_EXPORT: &str = "memory";

/// The calling instance's memory, found on first use.
pub(crate) struct Guest<'call> {
    caller: SharedCaller<'call>,
    memory: OnceCell<Option<CallerMemory<'call>>>,
}

impl<'call> Guest<'call> {
    pub fn new(caller: SharedCaller<'call>) -> Self {
        Guest {
            caller,
            memory: OnceCell::new(),
        }
    }

    fn memory(&self) -> WasiResult<CallerMemory<'call>> {
        self.memory
            .get_or_init(|| self.caller.memory(MEMORY_EXPORT))
            .ok_or_else(|| {
                WasiError::trap_message(
                    "a WASI function needs the caller to export its linear memory as `memory` \
                     (shared, when the call comes from a thread other than the store's)",
                )
            })
    }

    /// Checks that `len` bytes at `ptr` lie inside the memory, so a later write of them
    /// cannot fail halfway. An empty range is never out of bounds, wherever it points.
    pub fn check_range(&self, ptr: u32, len: u32) -> WasiResult<()> {
        let end = u64::from(ptr) + u64::from(len);
        if len > 0 && end > self.memory()?.data_size() {
            return Err(out_of_bounds(ptr, len));
        }
        Ok(())
    }

    /// Copies `len` bytes at `ptr` out of guest memory.
    pub fn read_bytes(&self, ptr: u32, len: u32) -> WasiResult<Vec<u8>> {
        self.check_range(ptr, len)?;
        let mut bytes = vec![0; len as usize];
        self.read_into(ptr, &mut bytes)?;
        Ok(bytes)
    }

    /// Fills `buffer` from guest memory at `ptr`.
    pub fn read_into(&self, ptr: u32, buffer: &mut [u8]) -> WasiResult<()> {
        if buffer.is_empty() {
            return Ok(());
        }
        self.memory()?
            .read(u64::from(ptr), buffer)
            .map_err(|_| out_of_bounds(ptr, buffer.len() as u32))
    }

    /// Copies `data` into guest memory at `ptr`.
    pub fn write_bytes(&self, ptr: u32, data: &[u8]) -> WasiResult<()> {
        if data.is_empty() {
            return Ok(());
        }
        self.memory()?
            .write(u64::from(ptr), data)
            .map_err(|_| out_of_bounds(ptr, data.len() as u32))
    }

    /// The UTF-8 string of `len` bytes at `ptr`; `ilseq` if it is not UTF-8.
    pub fn read_string(&self, ptr: u32, len: u32) -> WasiResult<String> {
        String::from_utf8(self.read_bytes(ptr, len)?).map_err(|_| Errno::Ilseq.into())
    }

    pub fn write_u32(&self, ptr: u32, value: u32) -> WasiResult<()> {
        check_aligned(ptr, 4)?;
        self.write_bytes(ptr, &value.to_le_bytes())
    }

    pub fn write_u64(&self, ptr: u32, value: u64) -> WasiResult<()> {
        check_aligned(ptr, 8)?;
        self.write_bytes(ptr, &value.to_le_bytes())
    }

    /// Writes a structure of alignment `align` whose bytes the caller laid out.
    pub fn write_struct(&self, ptr: u32, align: u32, bytes: &[u8]) -> WasiResult<()> {
        check_aligned(ptr, align)?;
        self.write_bytes(ptr, bytes)
    }

    /// Reads a structure of `N` bytes and alignment `align`.
    pub fn read_struct<const N: usize>(&self, ptr: u32, align: u32) -> WasiResult<[u8; N]> {
        check_aligned(ptr, align)?;
        let mut bytes = [0; N];
        self.read_into(ptr, &mut bytes)?;
        Ok(bytes)
    }

    /// The `(buf, buf_len)` pairs of an `iovec` or `ciovec` array of `count` entries.
    pub fn iovecs(&self, ptr: u32, count: u32) -> WasiResult<Vec<IoVec>> {
        check_aligned(ptr, 4)?;
        let size = count
            .checked_mul(layout::IOVEC_SIZE)
            .ok_or_else(|| out_of_bounds(ptr, u32::MAX))?;
        let bytes = self.read_bytes(ptr, size)?;
        let vectors: Vec<IoVec> = bytes
            .chunks_exact(layout::IOVEC_SIZE as usize)
            .map(|entry| IoVec {
                buf: u32::from_le_bytes(entry[0..4].try_into().expect("4 bytes")),
                len: u32::from_le_bytes(entry[4..8].try_into().expect("4 bytes")),
            })
            .collect();
        for vector in &vectors {
            self.check_range(vector.buf, vector.len)?;
        }
        Ok(vectors)
    }
}

/// One `iovec`/`ciovec`: a guest buffer.
#[derive(Copy, Clone, Debug)]
pub(crate) struct IoVec {
    pub buf: u32,
    pub len: u32,
}

fn check_aligned(ptr: u32, align: u32) -> WasiResult<()> {
    if ptr.is_multiple_of(align) {
        Ok(())
    } else {
        Err(WasiError::trap_message(format!(
            "a WASI function was given the misaligned pointer {ptr:#x} (alignment {align})"
        )))
    }
}

/// A guest range past the end of memory: a host error that unwinds the caller, as in
/// Wasmtime (a bad pointer is not an errno).
fn out_of_bounds(ptr: u32, len: u32) -> WasiError {
    WasiError::trap_message(format!(
        "a WASI function was given {len} bytes at {ptr:#x}, out of bounds of memory"
    ))
}
