//! The instance's side of GC objects: allocation, constant-expression objects, and the bulk
//! array operations JIT code calls out for. Objects are reached through raw pointers only:
//! another thread may be accessing a shared object's fields at the same time.

use super::Instance;
use crate::environ::TrapKind;
use crate::environ::gc::{ARRAY_LENGTH_OFFSET, array_size, storage_size};
use crate::vm::gc::{element, write_scalar};
use crate::vm::memory::{copy_bytes, fill_bytes};
use wasmparser::CompositeInnerType;

/// The length of a live array object.
///
/// # Safety
///
/// `array` must point to a live array object.
unsafe fn array_length(array: *const u8) -> u32 {
    // SAFETY: per the contract; the length never changes after allocation.
    unsafe { array.add(ARRAY_LENGTH_OFFSET as usize).cast::<u32>().read() }
}

/// Whether `start..start + len` lies within `0..bound`.
fn in_bounds(start: u32, len: u32, bound: u64) -> bool {
    u64::from(start) + u64::from(len) <= bound
}

impl Instance {
    /// The element size of array type `ty` of this module.
    fn element_size(&self, ty: u32) -> u32 {
        storage_size(self.module.info.array_element(ty).element_type)
    }

    /// A new zeroed object of this module's type `ty` (with `length` elements if it is an
    /// array), or `None` when the GC heap cannot hold it.
    pub fn gc_alloc(&self, ty: u32, length: u32) -> Option<*mut u8> {
        let rtt = self.module.types.rtts[ty as usize].as_ptr();
        let (size, length) = match &self.module.info.types[ty as usize].composite_type.inner {
            CompositeInnerType::Struct(_) => {
                (self.module.info.struct_layout(ty).size as usize, None)
            }
            _ => (array_size(self.element_size(ty), length)?, Some(length)),
        };
        let object = self.gc_heap.alloc_object(rtt, size, length)?;
        Some(object.as_ptr())
    }

    /// `gc_alloc` as the libcall reports it: 0 when the heap is full.
    pub fn gc_alloc_raw(&self, ty: u32, length: u32) -> usize {
        self.gc_alloc(ty, length)
            .map_or(0, |object| object as usize)
    }

    /// `struct.new` in a constant expression, with the fields' raw values in order.
    pub(super) fn const_struct(&self, ty: u32, fields: &[u128]) -> Result<u128, TrapKind> {
        let layout = self.module.info.struct_layout(ty);
        let types = &self.module.info.struct_type(ty).fields;
        let placed = types
            .iter()
            .zip(&layout.field_offsets)
            .zip(fields)
            .map(|((field, &offset), &raw)| (offset, storage_size(field.element_type), raw));
        let rtt = self.module.types.rtts[ty as usize].as_ptr();
        self.gc_heap
            .new_struct(rtt, layout.size as usize, placed)
            .map(|object| object.as_ptr() as u128)
            .ok_or(TrapKind::AllocationTooLarge)
    }

    /// `array.new*` in a constant expression: `length` elements, element `i` being the raw
    /// value `element_at(i)`.
    pub(super) fn const_array(
        &self,
        ty: u32,
        length: u32,
        element_at: impl Fn(u32) -> u128,
    ) -> Result<u128, TrapKind> {
        let rtt = self.module.types.rtts[ty as usize].as_ptr();
        self.gc_heap
            .new_array(rtt, self.element_size(ty), length, element_at)
            .map(|object| object.as_ptr() as u128)
            .ok_or(TrapKind::AllocationTooLarge)
    }

    /// `array.new_data`: the new array, 0 when the heap is full, 1 when the bytes are not
    /// all inside the data segment.
    pub fn array_new_data(&self, ty: u32, data: u32, offset: u32, length: u32) -> usize {
        let bytes = u64::from(self.element_size(ty)) * u64::from(length);
        let segment = self.data_bytes(data);
        if u64::from(offset) + bytes > segment.len() as u64 {
            return 1;
        }
        let Some(array) = self.gc_alloc(ty, length) else {
            return 0;
        };
        let source = &segment[offset as usize..offset as usize + bytes as usize];
        // SAFETY: the array has exactly `bytes` bytes of elements, and is not yet reachable
        // by any other thread.
        unsafe { copy_bytes(source.as_ptr(), element(array, 1, 0), source.len(), false) };
        array as usize
    }

    /// `array.new_elem`, as [`Instance::array_new_data`] with an element segment.
    pub fn array_new_elem(&self, ty: u32, elem: u32, offset: u32, length: u32) -> usize {
        let items = self.elements();
        let items = &items[elem as usize];
        if !in_bounds(offset, length, items.len() as u64) {
            return 1;
        }
        let Some(array) = self.gc_alloc(ty, length) else {
            return 0;
        };
        let source = &items[offset as usize..(offset + length) as usize];
        // SAFETY: the new array holds `length` word-sized elements.
        unsafe {
            copy_bytes(
                source.as_ptr().cast(),
                element(array, 1, 0),
                length as usize * 8,
                false,
            )
        };
        array as usize
    }

    /// `array.fill` on a non-null array of type `ty`.
    pub fn array_fill(
        &self,
        ty: u32,
        array: *mut u8,
        dst: u32,
        value: u128,
        length: u32,
    ) -> Result<(), TrapKind> {
        // SAFETY: JIT code passes a non-null array reference, which is a live array.
        if !in_bounds(dst, length, u64::from(unsafe { array_length(array) })) {
            return Err(TrapKind::ArrayOutOfBounds);
        }
        let size = self.element_size(ty);
        if size == 1 {
            // SAFETY: the range was checked against the array's length.
            unsafe { fill_bytes(element(array, 1, dst), value as u8, length as usize, true) };
            return Ok(());
        }
        for index in dst..dst + length {
            // SAFETY: as above, element by element.
            unsafe { write_scalar(element(array, size, index), size, value) };
        }
        Ok(())
    }

    /// `array.copy` between non-null arrays whose elements have type `ty`'s size.
    pub fn array_copy(
        &self,
        ty: u32,
        dst_array: *mut u8,
        dst: u32,
        src_array: *mut u8,
        src: u32,
        length: u32,
    ) -> Result<(), TrapKind> {
        // SAFETY: JIT code passes non-null array references, which are live arrays.
        let (dst_len, src_len) = unsafe { (array_length(dst_array), array_length(src_array)) };
        if !in_bounds(dst, length, u64::from(dst_len))
            || !in_bounds(src, length, u64::from(src_len))
        {
            return Err(TrapKind::ArrayOutOfBounds);
        }
        let size = self.element_size(ty);
        // SAFETY: both ranges were checked; `copy_bytes` allows them to overlap.
        unsafe {
            copy_bytes(
                element(src_array, size, src),
                element(dst_array, size, dst),
                size as usize * length as usize,
                true,
            )
        };
        Ok(())
    }

    /// `array.init_data` on a non-null array: 0, 1 (array out of bounds) or 2 (data segment
    /// out of bounds).
    pub fn array_init_data(
        &self,
        ty: u32,
        array: *mut u8,
        dst: u32,
        data: u32,
        src: u32,
        length: u32,
    ) -> u32 {
        // SAFETY: JIT code passes a non-null array reference, which is a live array.
        if !in_bounds(dst, length, u64::from(unsafe { array_length(array) })) {
            return 1;
        }
        let size = self.element_size(ty);
        let bytes = u64::from(size) * u64::from(length);
        let segment = self.data_bytes(data);
        if u64::from(src) + bytes > segment.len() as u64 {
            return 2;
        }
        let source = &segment[src as usize..src as usize + bytes as usize];
        // SAFETY: the destination range was checked against the array's length.
        unsafe {
            copy_bytes(
                source.as_ptr(),
                element(array, size, dst),
                source.len(),
                true,
            )
        };
        0
    }

    /// `array.init_elem`, as [`Instance::array_init_data`] with an element segment.
    pub fn array_init_elem(
        &self,
        array: *mut u8,
        dst: u32,
        elem: u32,
        src: u32,
        length: u32,
    ) -> u32 {
        // SAFETY: JIT code passes a non-null array reference, which is a live array.
        if !in_bounds(dst, length, u64::from(unsafe { array_length(array) })) {
            return 1;
        }
        let items = self.elements();
        let items = &items[elem as usize];
        if !in_bounds(src, length, items.len() as u64) {
            return 2;
        }
        let source = &items[src as usize..(src + length) as usize];
        // SAFETY: the destination range was checked; reference elements are words.
        unsafe {
            copy_bytes(
                source.as_ptr().cast(),
                element(array, 8, dst),
                length as usize * 8,
                true,
            )
        };
        0
    }

    /// The bytes of data segment `data`; none once it was dropped.
    fn data_bytes(&self, data: u32) -> &[u8] {
        if self.is_data_dropped(data) {
            return &[];
        }
        &self.module.bytes[self.module.info.data[data as usize].range.clone()]
    }

    /// Whether engine type `sub` is `sup` or declares it as an ancestor.
    pub fn is_subtype(&self, sub: u32, sup: u32) -> bool {
        self.module.is_subtype(sub, sup)
    }
}
