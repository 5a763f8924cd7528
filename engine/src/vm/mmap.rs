//! Anonymous virtual-memory reservations.
//!
//! Linear memories reserve their whole addressable range (plus guard pages) up front and only
//! make the in-bounds prefix accessible, so bounds violations fault instead of needing explicit
//! checks; the same type backs the trap handler's alternate signal stacks.

use std::io;
use std::ptr;
use std::sync::OnceLock;

/// The system page size.
pub(crate) fn page_size() -> usize {
    static PAGE_SIZE: OnceLock<usize> = OnceLock::new();
    *PAGE_SIZE.get_or_init(|| {
        // SAFETY: sysconf has no memory-safety preconditions.
        let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(size).expect("sysconf(_SC_PAGESIZE) failed")
    })
}

/// A range of address space owned by this value and unmapped when it is dropped.
///
/// Everything starts out `PROT_NONE`; [`Mmap::make_accessible`] commits pages on demand.
/// Reservations use `MAP_NORESERVE`, so reserving gigabytes costs no memory or swap until pages
/// are touched.
#[derive(Debug)]
pub(crate) struct Mmap {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: `Mmap` is only the ownership of an address range; it holds no thread-affine state,
// and the memory behind it is accessed exclusively through raw pointers whose users are
// responsible for synchronising. Changing protections (`&mut self`) and unmapping (drop) are
// system calls that are valid from any thread.
unsafe impl Send for Mmap {}
// SAFETY: the only `&self` operations read the immutable base pointer and length.
unsafe impl Sync for Mmap {}

impl Mmap {
    /// Reserves `len` bytes (rounded up to whole pages) of inaccessible address space.
    pub(crate) fn reserve(len: usize) -> io::Result<Mmap> {
        let len = len
            .checked_next_multiple_of(page_size())
            .ok_or_else(|| io::Error::from(io::ErrorKind::OutOfMemory))?;
        if len == 0 {
            // mmap rejects empty mappings; a dangling, never-dereferenced base is enough.
            return Ok(Mmap {
                ptr: ptr::dangling_mut(),
                len: 0,
            });
        }
        // SAFETY: an anonymous mapping at a kernel-chosen address cannot alias any existing
        // Rust object.
        let ptr = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mmap {
            ptr: ptr.cast(),
            len,
        })
    }

    /// Makes `offset..offset + len` readable and writable. Both must be page-aligned.
    ///
    /// Newly accessible pages read as zero (anonymous memory) unless they were accessible and
    /// written before.
    pub(crate) fn make_accessible(&mut self, offset: usize, len: usize) -> io::Result<()> {
        let page = page_size();
        assert!(
            offset.is_multiple_of(page),
            "offset {offset:#x} is not page-aligned"
        );
        assert!(
            len.is_multiple_of(page),
            "length {len:#x} is not page-aligned"
        );
        assert!(
            offset.checked_add(len).is_some_and(|end| end <= self.len),
            "range {offset:#x}+{len:#x} exceeds the {:#x}-byte reservation",
            self.len
        );
        if len == 0 {
            return Ok(());
        }
        // SAFETY: the range lies inside our own mapping (checked above), so changing its
        // protection cannot affect memory we do not own; only loosening it, so no existing
        // pointer into it becomes invalid.
        let rc = unsafe {
            libc::mprotect(
                self.ptr.add(offset).cast(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Base address of the reservation.
    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.ptr
    }

    /// Size of the reservation in bytes (a whole number of pages).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        if self.len == 0 {
            return;
        }
        // SAFETY: we own exactly this mapping and nobody can use it after we are dropped.
        let rc = unsafe { libc::munmap(self.ptr.cast(), self.len) };
        debug_assert_eq!(rc, 0, "munmap failed: {}", io::Error::last_os_error());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_is_sane() {
        let page = page_size();
        assert!(page.is_power_of_two() && page >= 4096);
        assert_eq!(page, page_size());
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn reserve_huge_and_commit_prefix() {
        const GIB: usize = 1 << 30;
        let mut m = Mmap::reserve(4 * GIB).unwrap();
        assert_eq!(m.len(), 4 * GIB);
        m.make_accessible(0, 64 * 1024).unwrap();
        let base = m.as_ptr();
        // SAFETY: the first 64 KiB were just made readable and writable.
        unsafe {
            assert_eq!(base.read(), 0);
            assert_eq!(base.add(64 * 1024 - 1).read(), 0);
            base.write(0xAB);
            base.add(64 * 1024 - 1).write(0xCD);
            assert_eq!(base.read(), 0xAB);
            assert_eq!(base.add(64 * 1024 - 1).read(), 0xCD);
        }
        drop(m);
    }

    #[test]
    fn grow_in_steps() {
        let page = page_size();
        let mut m = Mmap::reserve(4 * page).unwrap();
        m.make_accessible(0, page).unwrap();
        m.make_accessible(page, 2 * page).unwrap();
        // SAFETY: pages 0..3 are accessible.
        unsafe { m.as_ptr().add(3 * page - 1).write(7) };
    }

    #[test]
    fn empty_reservation() {
        let mut m = Mmap::reserve(0).unwrap();
        assert_eq!(m.len(), 0);
        m.make_accessible(0, 0).unwrap();
    }

    #[test]
    #[should_panic(expected = "not page-aligned")]
    fn unaligned_offset_panics() {
        let mut m = Mmap::reserve(2 * page_size()).unwrap();
        let _ = m.make_accessible(1, page_size());
    }

    #[test]
    #[should_panic(expected = "exceeds")]
    fn out_of_range_panics() {
        let mut m = Mmap::reserve(page_size()).unwrap();
        let _ = m.make_accessible(0, 2 * page_size());
    }
}
