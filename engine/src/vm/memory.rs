//! Linear memories: an address-space reservation whose accessible prefix grows in place, so
//! the base address JIT code caches never changes.
//!
//! A store-owned [`LinearMemory`] is used by one thread at a time. A [`SharedMemory`] is
//! reference-counted and used by many threads at once: it grows under a lock, publishes its
//! length with a seq-cst store, and every host access to its bytes is an atomic byte access,
//! because wasm code on another thread may be writing the same bytes.

use super::explore;
use super::mmap::Mmap;
use super::vmcontext::VMMemoryDefinition;
use super::{WaitOutcome, WaitQueue};
use crate::environ::{BoundsChecks, MEMORY_GUARD_SIZE, MEMORY_RESERVATION};
use std::io;
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use wasmparser::MemoryType;

/// Size of a wasm page.
pub const WASM_PAGE_SIZE: u64 = 65536;

/// Most pages a 32-bit memory can have.
pub const MAX_WASM_PAGES: u64 = 65536;

/// The address space of one memory and how far it may grow.
#[derive(Debug)]
struct Reservation {
    mmap: Mmap,
    maximum_pages: u64,
}

impl Reservation {
    fn new(ty: &MemoryType, bounds_checks: BoundsChecks) -> io::Result<Reservation> {
        let maximum_pages = ty.maximum.unwrap_or(MAX_WASM_PAGES).min(MAX_WASM_PAGES);
        let size = match bounds_checks {
            BoundsChecks::GuardPages => MEMORY_RESERVATION + MEMORY_GUARD_SIZE,
            // Without guard pages only the pages the memory may ever reach are reserved; a
            // one-page minimum keeps the base pointer valid for empty memories.
            BoundsChecks::Explicit => (maximum_pages * WASM_PAGE_SIZE).max(WASM_PAGE_SIZE),
        };
        let size = usize::try_from(size)
            .map_err(|_| io::Error::other("memory reservation exceeds the address space"))?;
        Ok(Reservation {
            mmap: Mmap::reserve(size)?,
            maximum_pages,
        })
    }

    /// Grows the accessible prefix from `length` bytes by `delta` pages, then publishes the
    /// new length. Returns the old size in pages, or `None` past the maximum.
    fn grow(&mut self, length: &AtomicUsize, delta: u64) -> io::Result<Option<u64>> {
        let old_len = length.load(Ordering::SeqCst);
        let old_pages = old_len as u64 / WASM_PAGE_SIZE;
        let Some(new_pages) = old_pages
            .checked_add(delta)
            .filter(|&p| p <= self.maximum_pages)
        else {
            return Ok(None);
        };
        if delta > 0 {
            let new_len = (new_pages * WASM_PAGE_SIZE) as usize;
            self.mmap.make_accessible(old_len, new_len - old_len)?;
            length.store(new_len, Ordering::SeqCst);
        }
        Ok(Some(old_pages))
    }
}

fn new_definition(reservation: &Reservation) -> VMMemoryDefinition {
    VMMemoryDefinition {
        base: reservation.mmap.as_ptr(),
        current_length: AtomicUsize::new(0),
    }
}

fn too_small(ty: &MemoryType, maximum_pages: u64) -> io::Error {
    io::Error::other(format!(
        "memory minimum of {} pages exceeds its maximum of {maximum_pages}",
        ty.initial
    ))
}

/// A linear memory owned by a store.
#[derive(Debug)]
pub struct LinearMemory {
    /// Read by JIT code through the pointer stored in each VMContext.
    definition: VMMemoryDefinition,
    reservation: Reservation,
    /// Declared type; `initial` is the size at creation.
    ty: MemoryType,
}

// SAFETY: the definition's `base` points into the reservation, which this value owns; moving
// the value between threads moves that ownership with it.
unsafe impl Send for LinearMemory {}

impl LinearMemory {
    /// Reserves address space for an unshared memory of type `ty`.
    pub fn new(ty: MemoryType, bounds_checks: BoundsChecks) -> io::Result<Self> {
        let reservation = Reservation::new(&ty, bounds_checks)?;
        let mut memory = LinearMemory {
            definition: new_definition(&reservation),
            reservation,
            ty,
        };
        if memory.grow(ty.initial)?.is_none() {
            return Err(too_small(&ty, memory.reservation.maximum_pages));
        }
        Ok(memory)
    }

    /// Grows by `delta` pages. Returns the old size in pages, or `None` when the maximum
    /// would be exceeded; an `Err` means the operating system refused the pages.
    pub fn grow(&mut self, delta: u64) -> io::Result<Option<u64>> {
        self.reservation
            .grow(&self.definition.current_length, delta)
    }

    pub fn ty(&self) -> MemoryType {
        self.ty
    }

    pub fn view(&self) -> MemoryView {
        MemoryView::of(&self.definition, false)
    }

    /// The definition JIT code reads; its address is stable for this memory's lifetime.
    pub fn definition_ptr(&mut self) -> *mut VMMemoryDefinition {
        &raw mut self.definition
    }
}

/// A memory shared between threads and stores. Cloning shares it.
#[derive(Clone, Debug)]
pub struct SharedMemory(Arc<SharedMemoryInner>);

#[derive(Debug)]
struct SharedMemoryInner {
    definition: VMMemoryDefinition,
    /// Only growth needs the lock; accesses read the atomic length.
    reservation: Mutex<Reservation>,
    ty: MemoryType,
    /// Waiters of `memory.atomic.wait`, keyed by byte offset.
    waiters: WaitQueue,
}

// SAFETY: `base` points into the reservation this value owns, which is never unmapped or moved
// while any clone lives; the length is atomic and growth is serialized by the mutex. Bytes
// are only ever accessed through atomic operations or JIT code, never Rust references.
unsafe impl Send for SharedMemoryInner {}
// SAFETY: as above.
unsafe impl Sync for SharedMemoryInner {}

impl SharedMemory {
    /// Reserves address space for a shared memory of type `ty`, which must have a maximum.
    pub fn new(ty: MemoryType, bounds_checks: BoundsChecks) -> io::Result<Self> {
        if ty.maximum.is_none() {
            return Err(io::Error::other("a shared memory needs a maximum size"));
        }
        let mut reservation = Reservation::new(&ty, bounds_checks)?;
        let definition = new_definition(&reservation);
        if reservation
            .grow(&definition.current_length, ty.initial)?
            .is_none()
        {
            return Err(too_small(&ty, reservation.maximum_pages));
        }
        Ok(SharedMemory(Arc::new(SharedMemoryInner {
            definition,
            reservation: Mutex::new(reservation),
            ty,
            waiters: WaitQueue::new(),
        })))
    }

    /// Grows by `delta` pages; safe against concurrent growers and accessors.
    pub fn grow(&self, delta: u64) -> io::Result<Option<u64>> {
        let mut reservation = self
            .0
            .reservation
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        reservation.grow(&self.0.definition.current_length, delta)
    }

    pub fn ty(&self) -> MemoryType {
        self.0.ty
    }

    pub fn view(&self) -> MemoryView {
        MemoryView::of(&self.0.definition, true)
    }

    /// The definition JIT code reads; stable while any clone lives.
    pub fn definition_ptr(&self) -> *mut VMMemoryDefinition {
        (&raw const self.0.definition).cast_mut()
    }

    /// Whether two handles are the same memory.
    pub fn same(&self, other: &SharedMemory) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// `memory.atomic.notify` at byte offset `addr`, which must be in bounds and aligned.
    /// A thread in a schedule that is being explored wakes the schedule's waiters first.
    pub fn notify(&self, addr: u64, count: u32) -> u32 {
        let word = self.view().base.wrapping_add(addr as usize) as u64;
        let scheduled = explore::wake(word, count).unwrap_or(0);
        scheduled + self.0.waiters.notify(addr, count - scheduled)
    }

    /// `memory.atomic.wait32`/`wait64` at byte offset `addr` (in bounds and aligned for
    /// `expected`'s width): blocks while the word equals `expected`. A thread in a schedule
    /// that is being explored blocks in the scheduler instead.
    pub fn wait(&self, addr: u64, expected: WaitValue, timeout: Option<Duration>) -> WaitOutcome {
        let view = self.view();
        let word = view.base.wrapping_add(addr as usize);
        // Wasm memory is little-endian; compare in the host's order by converting `expected`.
        let validate = || match expected {
            WaitValue::I32(value) => {
                // SAFETY: the caller checked that the word is in bounds and aligned; shared
                // memory is only accessed atomically from Rust, and the mapping outlives this
                // call.
                let word = unsafe { AtomicU32::from_ptr(word.cast()) };
                word.load(Ordering::SeqCst) == u32::from_le(value)
            }
            WaitValue::I64(value) => {
                // SAFETY: as above, for an 8-byte word.
                let word = unsafe { AtomicU64::from_ptr(word.cast()) };
                word.load(Ordering::SeqCst) == u64::from_le(value)
            }
        };
        match explore::wait(word as u64, timeout.is_some(), validate) {
            Some(outcome) => outcome,
            None => self.0.waiters.wait(addr, validate, timeout),
        }
    }
}

/// A memory as a store holds it: its own, or a shared one it imported or created.
#[derive(Debug)]
pub enum StoreMemory {
    Local(LinearMemory),
    Shared(SharedMemory),
}

impl StoreMemory {
    /// Creates the memory `ty` describes, shared or not.
    pub fn new(ty: MemoryType, bounds_checks: BoundsChecks) -> io::Result<StoreMemory> {
        Ok(if ty.shared {
            StoreMemory::Shared(SharedMemory::new(ty, bounds_checks)?)
        } else {
            StoreMemory::Local(LinearMemory::new(ty, bounds_checks)?)
        })
    }

    pub fn view(&self) -> MemoryView {
        match self {
            StoreMemory::Local(memory) => memory.view(),
            StoreMemory::Shared(memory) => memory.view(),
        }
    }

    pub fn ty(&self) -> MemoryType {
        match self {
            StoreMemory::Local(memory) => memory.ty(),
            StoreMemory::Shared(memory) => memory.ty(),
        }
    }

    pub fn grow(&mut self, delta: u64) -> io::Result<Option<u64>> {
        match self {
            StoreMemory::Local(memory) => memory.grow(delta),
            StoreMemory::Shared(memory) => memory.grow(delta),
        }
    }

    pub fn definition_ptr(&mut self) -> *mut VMMemoryDefinition {
        match self {
            StoreMemory::Local(memory) => memory.definition_ptr(),
            StoreMemory::Shared(memory) => memory.definition_ptr(),
        }
    }

    pub fn as_shared(&self) -> Option<&SharedMemory> {
        match self {
            StoreMemory::Local(_) => None,
            StoreMemory::Shared(memory) => Some(memory),
        }
    }

    /// Copies out of the memory; `false` if the range is out of bounds.
    pub fn read(&self, offset: u64, buffer: &mut [u8]) -> bool {
        let view = self.view();
        let Some(src) = view.checked(offset, buffer.len() as u64) else {
            return false;
        };
        // SAFETY: the range was bounds-checked and memories never shrink; the buffer is a
        // Rust allocation, so the ranges cannot overlap.
        unsafe { copy_bytes(src, buffer.as_mut_ptr(), buffer.len(), view.shared) };
        true
    }

    /// Copies into the memory; `false` if the range is out of bounds.
    pub fn write(&self, offset: u64, data: &[u8]) -> bool {
        let view = self.view();
        let Some(dst) = view.checked(offset, data.len() as u64) else {
            return false;
        };
        // SAFETY: as in `read`.
        unsafe { copy_bytes(data.as_ptr(), dst, data.len(), view.shared) };
        true
    }
}

/// A WebAssembly wait timeout: nanoseconds, or forever (`None`) if negative, as
/// `memory.atomic.wait` and the host primitives' imports take it.
pub(crate) fn wasm_timeout(nanos: i64) -> Option<std::time::Duration> {
    u64::try_from(nanos)
        .ok()
        .map(std::time::Duration::from_nanos)
}

/// The value `memory.atomic.wait` expects, by width.
#[derive(Copy, Clone, Debug)]
pub enum WaitValue {
    I32(u32),
    I64(u64),
}

/// A snapshot of where a memory is and how long it is, for bounds-checked copies. A shared
/// memory may grow after the snapshot; it never shrinks, so checked ranges stay valid.
#[derive(Copy, Clone, Debug)]
pub struct MemoryView {
    base: *mut u8,
    len: usize,
    shared: bool,
}

impl MemoryView {
    fn of(definition: &VMMemoryDefinition, shared: bool) -> MemoryView {
        MemoryView {
            base: definition.base,
            len: definition.current_length.load(Ordering::SeqCst),
            shared,
        }
    }

    /// Size in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether other threads may access these bytes concurrently.
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    /// Size in pages.
    pub fn pages(&self) -> u64 {
        self.len as u64 / WASM_PAGE_SIZE
    }

    /// `base + offset` if `offset..offset + len` is in bounds.
    pub fn checked(&self, offset: u64, len: u64) -> Option<*mut u8> {
        let end = offset.checked_add(len)?;
        (end <= self.len as u64).then(|| self.base.wrapping_add(offset as usize))
    }
}

/// Copies `len` bytes with `memmove` semantics where either side may be a shared memory.
///
/// # Safety
///
/// Both ranges must be valid for `len` bytes. When `shared` is true, the bytes of either range
/// may be accessed concurrently by other threads, but only atomically or by wasm code.
pub unsafe fn copy_bytes(src: *const u8, dst: *mut u8, len: usize, shared: bool) {
    if !shared {
        // SAFETY: the caller guarantees both ranges are valid and nothing else accesses them.
        unsafe { std::ptr::copy(src, dst, len) };
        return;
    }
    let byte = |i: usize| {
        // SAFETY: `i < len`, so both bytes are inside the caller's valid ranges; shared bytes
        // are accessed with relaxed atomics, the strongest guarantee wasm's bulk copies give.
        unsafe {
            let value = AtomicU8::from_ptr(src.add(i).cast_mut()).load(Ordering::Relaxed);
            AtomicU8::from_ptr(dst.add(i)).store(value, Ordering::Relaxed);
        }
    };
    // Copy away from the overlap, as memmove does.
    if (dst as usize) <= (src as usize) {
        (0..len).for_each(byte);
    } else {
        (0..len).rev().for_each(byte);
    }
}

/// Sets `len` bytes at `dst` to `value`; see [`copy_bytes`] for `shared`.
///
/// # Safety
///
/// `dst` must be valid for `len` bytes, under the same sharing rules as [`copy_bytes`].
pub unsafe fn fill_bytes(dst: *mut u8, value: u8, len: usize, shared: bool) {
    if !shared {
        // SAFETY: the caller guarantees the range is valid and unshared.
        unsafe { std::ptr::write_bytes(dst, value, len) };
        return;
    }
    for i in 0..len {
        // SAFETY: `i < len` keeps the byte in the caller's range; shared bytes are written
        // atomically.
        unsafe { AtomicU8::from_ptr(dst.add(i)) }.store(value, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory_type(initial: u64, maximum: Option<u64>, shared: bool) -> MemoryType {
        MemoryType {
            memory64: false,
            shared,
            initial,
            maximum,
            page_size_log2: None,
        }
    }

    #[test]
    fn grows_in_place_up_to_the_maximum() {
        for mode in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
            let mut memory = LinearMemory::new(memory_type(1, Some(3), false), mode).unwrap();
            let base = memory.view().checked(0, 0);
            assert_eq!(memory.grow(2).unwrap(), Some(1));
            assert_eq!(memory.grow(1).unwrap(), None);
            assert_eq!(memory.view().pages(), 3);
            assert_eq!(memory.view().checked(0, 0), base);
            assert!(memory.view().checked(3 * WASM_PAGE_SIZE - 1, 1).is_some());
            assert!(memory.view().checked(3 * WASM_PAGE_SIZE - 1, 2).is_none());
        }
    }

    #[test]
    fn minimum_above_maximum_is_an_error() {
        assert!(
            LinearMemory::new(memory_type(2, Some(1), false), BoundsChecks::GuardPages).is_err()
        );
        assert!(
            SharedMemory::new(memory_type(2, Some(1), true), BoundsChecks::GuardPages).is_err()
        );
        assert!(SharedMemory::new(memory_type(1, None, true), BoundsChecks::GuardPages).is_err());
    }

    #[test]
    fn concurrent_growth_hands_out_each_page_once() {
        let memory =
            SharedMemory::new(memory_type(0, Some(64), true), BoundsChecks::Explicit).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let memory = memory.clone();
                std::thread::spawn(move || {
                    (0..16)
                        .map(|_| memory.grow(1).unwrap().expect("room for 64 pages"))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut old_sizes: Vec<u64> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        old_sizes.sort_unstable();
        assert_eq!(old_sizes, (0..64).collect::<Vec<_>>());
        assert_eq!(memory.grow(1).unwrap(), None);
        assert_eq!(memory.view().pages(), 64);
    }

    #[test]
    fn overlapping_shared_copies_behave_like_memmove() {
        let memory =
            SharedMemory::new(memory_type(1, Some(1), true), BoundsChecks::GuardPages).unwrap();
        let view = memory.view();
        let base = view.checked(0, 16).unwrap();
        // SAFETY: all ranges are within the one accessible page.
        unsafe {
            for i in 0..8 {
                fill_bytes(base.add(i), i as u8, 1, true);
            }
            copy_bytes(base, base.add(2), 6, true);
            let mut out = [0u8; 8];
            copy_bytes(base, out.as_mut_ptr(), 8, true);
            assert_eq!(out, [0, 1, 0, 1, 2, 3, 4, 5]);
            copy_bytes(base.add(2), base, 6, true);
            copy_bytes(base, out.as_mut_ptr(), 8, true);
            assert_eq!(out, [0, 1, 2, 3, 4, 5, 4, 5]);
        }
    }
}
