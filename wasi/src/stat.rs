//! File metadata as guests see it (`filetype`, `filestat`, inode numbers, timestamps), and
//! the timestamps guests ask the `*_set_times` calls to store.
//!
//! The numbers follow Wasmtime: `dev` is always 1 and `ino` is a hash of the host's device
//! and inode numbers, the same function for `fd_filestat_get`, `path_filestat_get` and
//! `fd_readdir`, so a guest comparing them finds them equal.

use crate::abi::{Errno, Filetype, fstflags, layout};
use crate::error::{WasiResult, flags_argument};
use crate::guest::Guest;
use cap_std::fs::{FileType, FileTypeExt, Metadata, MetadataExt};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The device number every file reports (Wasmtime's).
const DEVICE: u64 = 1;

/// The preview 1 type of a host file type: FIFOs and sockets are `unknown`, as in Wasmtime.
pub(crate) fn filetype(file_type: FileType) -> Filetype {
    if file_type.is_dir() {
        Filetype::Directory
    } else if file_type.is_symlink() {
        Filetype::SymbolicLink
    } else if file_type.is_file() {
        Filetype::RegularFile
    } else if file_type.is_block_device() {
        Filetype::BlockDevice
    } else if file_type.is_char_device() {
        Filetype::CharacterDevice
    } else {
        Filetype::Unknown
    }
}

/// The inode number guests see for a file: a hash of its host identity, as Wasmtime
/// computes it.
pub(crate) fn inode(metadata: &Metadata) -> u64 {
    let mut hasher = DefaultHasher::new();
    (metadata.dev(), metadata.ino()).hash(&mut hasher);
    hasher.finish()
}

/// A `filestat`.
pub(crate) struct Filestat {
    pub dev: u64,
    pub ino: u64,
    pub filetype: Filetype,
    pub nlink: u64,
    pub size: u64,
    pub atim: u64,
    pub mtim: u64,
    pub ctim: u64,
}

impl Filestat {
    /// What a host file's metadata reports. `ctim` is the creation (birth) time where the
    /// host records one, as in Wasmtime, not the status-change time.
    pub fn of(metadata: &Metadata) -> WasiResult<Filestat> {
        Ok(Filestat {
            dev: DEVICE,
            ino: inode(metadata),
            filetype: filetype(metadata.file_type()),
            nlink: metadata.nlink(),
            size: metadata.len(),
            atim: timestamp(metadata.accessed().ok().map(|time| time.into_std()))?,
            mtim: timestamp(metadata.modified().ok().map(|time| time.into_std()))?,
            ctim: timestamp(metadata.created().ok().map(|time| time.into_std()))?,
        })
    }

    /// A standard stream's: every field zero but the type.
    pub fn of_stream(filetype: Filetype) -> Filestat {
        Filestat {
            dev: 0,
            ino: 0,
            filetype,
            nlink: 0,
            size: 0,
            atim: 0,
            mtim: 0,
            ctim: 0,
        }
    }

    /// Stores the `filestat` at `ptr`.
    pub fn write(&self, guest: &Guest<'_>, ptr: u32) -> WasiResult<()> {
        let mut bytes = [0; layout::FILESTAT_SIZE as usize];
        bytes[0..8].copy_from_slice(&self.dev.to_le_bytes());
        bytes[8..16].copy_from_slice(&self.ino.to_le_bytes());
        bytes[16] = self.filetype as u8;
        bytes[24..32].copy_from_slice(&self.nlink.to_le_bytes());
        bytes[32..40].copy_from_slice(&self.size.to_le_bytes());
        bytes[40..48].copy_from_slice(&self.atim.to_le_bytes());
        bytes[48..56].copy_from_slice(&self.mtim.to_le_bytes());
        bytes[56..64].copy_from_slice(&self.ctim.to_le_bytes());
        guest.write_struct(ptr, 8, &bytes)
    }
}

/// Nanoseconds since the Unix epoch: 0 for a time the host does not record or one before
/// the epoch, `overflow` past what 64 bits hold (as Wasmtime).
fn timestamp(time: Option<SystemTime>) -> WasiResult<u64> {
    let Some(since_epoch) = time.and_then(|time| time.duration_since(UNIX_EPOCH).ok()) else {
        return Ok(0);
    };
    u64::try_from(since_epoch.as_nanos()).map_err(|_| Errno::Overflow.into())
}

/// The new access and modification times a `*_set_times` call asks for; `None` leaves a
/// time as it is.
pub(crate) struct NewTimes {
    pub atime: Option<SystemTime>,
    pub mtime: Option<SystemTime>,
}

impl NewTimes {
    /// Decodes `fst_flags` with its two timestamps. A time both given and asked to be
    /// "now" is `inval`; the calls check this before they look at their descriptor.
    pub fn decode(atim: u64, mtim: u64, fst_flags: u32) -> WasiResult<NewTimes> {
        let flags = flags_argument("fstflags", fst_flags, fstflags::ALL)?;
        let pick = |set: u16, now: u16, time: u64| match (flags & set != 0, flags & now != 0) {
            (true, true) => Err(Errno::Inval),
            (true, false) => Ok(Some(UNIX_EPOCH + Duration::from_nanos(time))),
            (false, true) => Ok(Some(SystemTime::now())),
            (false, false) => Ok(None),
        };
        Ok(NewTimes {
            atime: pick(fstflags::ATIM, fstflags::ATIM_NOW, atim)?,
            mtime: pick(fstflags::MTIM, fstflags::MTIM_NOW, mtim)?,
        })
    }

    /// The times in the form `fs-set-times` takes (for open descriptors).
    pub fn for_descriptor(
        &self,
    ) -> (
        Option<fs_set_times::SystemTimeSpec>,
        Option<fs_set_times::SystemTimeSpec>,
    ) {
        let spec = |time: Option<SystemTime>| time.map(fs_set_times::SystemTimeSpec::Absolute);
        (spec(self.atime), spec(self.mtime))
    }

    /// The times in the form `cap-fs-ext` takes (for paths).
    pub fn for_path(
        &self,
    ) -> (
        Option<cap_fs_ext::SystemTimeSpec>,
        Option<cap_fs_ext::SystemTimeSpec>,
    ) {
        let (atime, mtime) = self.for_descriptor();
        (
            atime.map(cap_fs_ext::SystemTimeSpec::from_std),
            mtime.map(cap_fs_ext::SystemTimeSpec::from_std),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_both_given_and_now_is_inval() {
        let both_mtim = fstflags::MTIM | fstflags::MTIM_NOW;
        let both_atim = fstflags::ATIM | fstflags::ATIM_NOW;
        assert!(matches!(
            NewTimes::decode(0, 0, both_mtim.into()),
            Err(crate::error::WasiError::Errno(Errno::Inval))
        ));
        assert!(matches!(
            NewTimes::decode(0, 0, both_atim.into()),
            Err(crate::error::WasiError::Errno(Errno::Inval))
        ));
    }

    #[test]
    fn given_times_are_nanoseconds_since_the_epoch() {
        let times =
            NewTimes::decode(0, 1_500_000_000_123, fstflags::MTIM.into()).expect("valid flags");
        assert_eq!(times.atime, None);
        assert_eq!(times.mtime, Some(UNIX_EPOCH + Duration::new(1_500, 123)));
    }

    #[test]
    fn timestamps_before_the_epoch_or_missing_are_zero() {
        let before = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(timestamp(Some(before)).ok(), Some(0));
        assert_eq!(timestamp(None).ok(), Some(0));
        let later = UNIX_EPOCH + Duration::new(2, 5);
        assert_eq!(timestamp(Some(later)).ok(), Some(2_000_000_005));
    }
}
