//! The GC heap: where struct and array objects live.
//!
//! weft's collector is the *null collector*: objects are bump-allocated from chunks owned by
//! the store and freed all at once when the store is dropped. That makes every reference
//! valid for as long as code can hold it, from any thread, without barriers or stack maps,
//! and a store's heap is bounded by [`Config::max_gc_heap`](crate::Config::max_gc_heap):
//! an allocation past it traps. A tracing collector can replace this module without
//! changing the object layout (`environ::gc`).

use super::vmcontext::VMTagDefinition;
use crate::environ::gc::{
    ARRAY_ELEMENTS_OFFSET, ARRAY_LENGTH_OFFSET, EXCEPTION_TAG_OFFSET, OBJECT_ALIGN,
    OBJECT_RTT_OFFSET, array_size, exception_slot_offset,
};
use crate::environ::{RTT_ANCESTORS, RTT_DEPTH};
use std::alloc::Layout;
use std::ptr::NonNull;
use std::sync::{Mutex, PoisonError};

/// Bytes requested from the system at a time; larger objects get a chunk of their own.
const CHUNK_SIZE: usize = 1 << 20;

pub(crate) struct GcHeap {
    state: Mutex<HeapState>,
    /// The most bytes the heap may hand out.
    limit: usize,
}

struct HeapState {
    chunks: Vec<(NonNull<u8>, Layout)>,
    /// Next free byte of the newest chunk, and how many bytes are left after it.
    cursor: Option<NonNull<u8>>,
    remaining: usize,
    /// Bytes handed out so far, for the limit.
    allocated: usize,
}

// SAFETY: the chunks are plain memory owned by the heap; every access to the bookkeeping goes
// through the mutex, and objects themselves are reached through raw pointers only.
unsafe impl Send for GcHeap {}
// SAFETY: as above.
unsafe impl Sync for GcHeap {}

impl GcHeap {
    pub fn new(limit: usize) -> GcHeap {
        GcHeap {
            state: Mutex::new(HeapState {
                chunks: Vec::new(),
                cursor: None,
                remaining: 0,
                allocated: 0,
            }),
            limit,
        }
    }

    /// `size` zeroed bytes aligned to [`OBJECT_ALIGN`], or `None` past the heap's limit.
    fn alloc_zeroed(&self, size: usize) -> Option<NonNull<u8>> {
        let size = size.max(1).checked_next_multiple_of(OBJECT_ALIGN)?;
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let allocated = state.allocated.checked_add(size)?;
        if allocated > self.limit {
            return None;
        }
        if size > state.remaining {
            let chunk_size = size.max(CHUNK_SIZE);
            let layout = Layout::from_size_align(chunk_size, OBJECT_ALIGN).ok()?;
            // SAFETY: the layout's size is non-zero.
            let chunk = NonNull::new(unsafe { std::alloc::alloc_zeroed(layout) })?;
            state.chunks.push((chunk, layout));
            if size == chunk_size {
                // A chunk of its own; the current chunk keeps serving small objects.
                state.allocated = allocated;
                return Some(chunk);
            }
            state.cursor = Some(chunk);
            state.remaining = chunk_size;
        }
        let object = state.cursor.expect("a chunk with room was just ensured");
        // SAFETY: `size <= remaining`, so the new cursor stays inside (or one past) the chunk.
        state.cursor = Some(unsafe { object.add(size) });
        state.remaining -= size;
        state.allocated = allocated;
        Some(object)
    }

    /// A new exception of tag `tag` with `slots` zeroed payload slots, or `None` past the
    /// heap's limit.
    pub fn alloc_exception(
        &self,
        tag: *const VMTagDefinition,
        slots: usize,
    ) -> Option<NonNull<u8>> {
        let object = self.alloc_zeroed(exception_slot_offset(slots))?;
        // SAFETY: the object is at least as large as its tag word, aligned, and not yet
        // shared with any other thread.
        unsafe {
            object
                .as_ptr()
                .add(EXCEPTION_TAG_OFFSET as usize)
                .cast::<*const VMTagDefinition>()
                .write(tag);
        }
        Some(object)
    }

    /// A new object of `size` bytes with its descriptor pointer written, and its length for
    /// an array; every field is zero, which is each type's default value.
    pub fn alloc_object(
        &self,
        rtt: *const u32,
        size: usize,
        length: Option<u32>,
    ) -> Option<NonNull<u8>> {
        let object = self.alloc_zeroed(size)?;
        // SAFETY: the object is at least as large as its header, aligned, and not yet shared
        // with any other thread.
        unsafe {
            let header = object.as_ptr();
            header
                .add(OBJECT_RTT_OFFSET as usize)
                .cast::<*const u32>()
                .write(rtt);
            if let Some(length) = length {
                header
                    .add(ARRAY_LENGTH_OFFSET as usize)
                    .cast::<u32>()
                    .write(length);
            }
        }
        Some(object)
    }

    /// A new struct of `size` bytes with descriptor `rtt`, each `(offset, size, raw)` of
    /// `fields` written before anyone else can see the object.
    pub fn new_struct(
        &self,
        rtt: *const u32,
        size: usize,
        fields: impl IntoIterator<Item = (u32, u32, u128)>,
    ) -> Option<NonNull<u8>> {
        let object = self.alloc_object(rtt, size, None)?;
        for (offset, field_size, raw) in fields {
            // SAFETY: the struct layout puts every field inside the object at its natural
            // alignment, and the new object is not yet shared.
            unsafe { write_scalar(object.as_ptr().add(offset as usize), field_size, raw) };
        }
        Some(object)
    }

    /// A new array with descriptor `rtt` of `length` elements of `element_size` bytes,
    /// element `i` being `element_at(i)`.
    pub fn new_array(
        &self,
        rtt: *const u32,
        element_size: u32,
        length: u32,
        element_at: impl Fn(u32) -> u128,
    ) -> Option<NonNull<u8>> {
        let size = array_size(element_size, length)?;
        let array = self.alloc_object(rtt, size, Some(length))?;
        for index in 0..length {
            // SAFETY: the array was just allocated with `length` elements of that size, and is
            // not yet shared.
            unsafe {
                let address = element(array.as_ptr(), element_size, index);
                write_scalar(address, element_size, element_at(index));
            }
        }
        Some(array)
    }
}

/// The address of element `index` of an array with elements of `size` bytes.
///
/// # Safety
///
/// `array` must point to a live array object with more than `index` elements of that size.
pub(crate) unsafe fn element(array: *mut u8, size: u32, index: u32) -> *mut u8 {
    let offset = ARRAY_ELEMENTS_OFFSET as usize + size as usize * index as usize;
    // SAFETY: per the contract, the element lies inside the object.
    unsafe { array.add(offset) }
}

/// Stores the low `size` bytes of `raw` at `address`, little-endian as wasm values are.
///
/// # Safety
///
/// `address` must be valid for writes of `size` bytes and aligned to `size`.
pub(crate) unsafe fn write_scalar(address: *mut u8, size: u32, raw: u128) {
    // SAFETY: per the contract.
    unsafe {
        match size {
            1 => address.write(raw as u8),
            2 => address.cast::<u16>().write(raw as u16),
            4 => address.cast::<u32>().write(raw as u32),
            8 => address.cast::<u64>().write(raw as u64),
            _ => address.cast::<u128>().write(raw),
        }
    }
}

/// The runtime type descriptor of the object at `object` (`environ::types`).
///
/// # Safety
///
/// `object` must point to a live object, and its type's descriptor must outlive `'a`.
pub(crate) unsafe fn object_rtt<'a>(object: *const u8) -> &'a [u32] {
    // SAFETY: per the contract, the header holds a pointer to a live descriptor, which is
    // at least `RTT_ANCESTORS + depth + 1` words long.
    unsafe {
        let rtt = object
            .add(OBJECT_RTT_OFFSET as usize)
            .cast::<*const u32>()
            .read();
        let depth = rtt.add(RTT_DEPTH).read() as usize;
        std::slice::from_raw_parts(rtt, RTT_ANCESTORS + depth + 1)
    }
}

impl Drop for GcHeap {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        for &(chunk, layout) in &state.chunks {
            // SAFETY: each chunk was allocated with this layout and is freed once, after the
            // store (and so every thread and reference into the heap) is gone.
            unsafe { std::alloc::dealloc(chunk.as_ptr(), layout) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_aligned_zeroed_and_disjoint() {
        let heap = GcHeap::new(usize::MAX);
        let rtt = [1u32, 0, 7];
        let a = heap.alloc_object(rtt.as_ptr(), 24, None).unwrap();
        let b = heap.alloc_object(rtt.as_ptr(), 40, Some(3)).unwrap();
        let big = heap
            .alloc_object(rtt.as_ptr(), CHUNK_SIZE * 2, Some(9))
            .unwrap();
        for object in [a, b, big] {
            assert_eq!(object.as_ptr() as usize % OBJECT_ALIGN, 0);
        }
        assert!(b.as_ptr() as usize >= a.as_ptr() as usize + 32);
        // SAFETY: the objects are live and at least 24 bytes long.
        unsafe {
            assert_eq!(a.as_ptr().cast::<*const u32>().read(), rtt.as_ptr());
            assert_eq!(b.as_ptr().add(8).cast::<u32>().read(), 3);
            assert_eq!(a.as_ptr().add(16).cast::<u64>().read(), 0);
        }
    }

    #[test]
    fn the_limit_refuses_allocations_and_keeps_the_heap_usable() {
        let heap = GcHeap::new(64);
        let rtt = [1u32, 0, 0];
        assert!(heap.alloc_object(rtt.as_ptr(), 48, None).is_some());
        assert!(heap.alloc_object(rtt.as_ptr(), 32, None).is_none());
        assert!(heap.alloc_object(rtt.as_ptr(), 16, None).is_some());
        assert!(heap.alloc_object(rtt.as_ptr(), usize::MAX, None).is_none());
    }
}
