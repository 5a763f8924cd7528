//! The `fd_*` calls other than the transfers in [`crate::io`]: descriptor state (fdstat,
//! flags, position), metadata, preopen names, closing and renumbering, and directory
//! listing ([`readdir`]).
//!
//! Each call accepts the descriptor kinds Wasmtime accepts and answers the others with
//! Wasmtime's error number (mostly `badf`; `spipe` where a standard stream cannot seek).

mod readdir;

pub(crate) use readdir::fd_readdir;

use crate::abi::{Errno, Filetype, advice, fdflags, layout, preopentype, rights, whence};
use crate::descriptor::{Descriptor, FileDescriptor};
use crate::error::{WasiResult, bad_argument, flags_argument};
use crate::guest::Guest;
use crate::stat::{self, Filestat, NewTimes};
use crate::state::Shared;
use cap_std::fs::Metadata;
use fs_set_times::SetTimes;
use system_interface::fs::{Advice, FileIoExt};

/// What a preopened directory reports as its rights: Wasmtime's fixed set, which wasi-libc
/// and the tests expect. It leaves out the size rights on purpose: a directory that
/// claimed `PATH_FILESTAT_SET_SIZE` would send the `truncation_rights` test into rights
/// changes, which are not supported.
const PREOPEN_RIGHTS: u64 = rights::PATH_CREATE_DIRECTORY
    | rights::PATH_CREATE_FILE
    | rights::PATH_LINK_SOURCE
    | rights::PATH_LINK_TARGET
    | rights::PATH_OPEN
    | rights::FD_READDIR
    | rights::PATH_READLINK
    | rights::PATH_RENAME_SOURCE
    | rights::PATH_RENAME_TARGET
    | rights::PATH_SYMLINK
    | rights::PATH_REMOVE_DIRECTORY
    | rights::PATH_UNLINK_FILE
    | rights::PATH_FILESTAT_GET
    | rights::PATH_FILESTAT_SET_TIMES
    | rights::FD_FILESTAT_GET
    | rights::FD_FILESTAT_SET_TIMES;

/// What a preopened directory reports files under it may get. wasi-libc's `open` asks for
/// its access mode's rights masked by this, so it must hold `FD_READ` and `FD_WRITE`.
const PREOPEN_INHERITED_RIGHTS: u64 = PREOPEN_RIGHTS
    | rights::FD_DATASYNC
    | rights::FD_READ
    | rights::FD_SEEK
    | rights::FD_FDSTAT_SET_FLAGS
    | rights::FD_SYNC
    | rights::FD_TELL
    | rights::FD_WRITE
    | rights::FD_ADVISE
    | rights::FD_ALLOCATE
    | rights::FD_FILESTAT_GET
    | rights::FD_FILESTAT_SET_SIZE
    | rights::FD_FILESTAT_SET_TIMES
    | rights::POLL_FD_READWRITE;

/// What a directory opened by `path_open` reports (both sets): everything but seeking,
/// sizes, and writing, which a directory is never opened for.
const OPENED_DIR_RIGHTS: u64 = rights::ALL
    & !(rights::FD_SEEK
        | rights::FD_FILESTAT_SET_SIZE
        | rights::PATH_FILESTAT_SET_SIZE
        | rights::FD_WRITE);

/// The `fdflags` that ask for synchronized I/O, which Wasmtime does not support.
pub(crate) const SYNC_FLAGS: u16 = fdflags::DSYNC | fdflags::RSYNC | fdflags::SYNC;

pub(crate) fn fd_advise(
    cx: &Shared,
    _guest: &Guest<'_>,
    fd: u32,
    offset: u64,
    len: u64,
    advice: u32,
) -> WasiResult<()> {
    let advice = host_advice(advice)?;
    let descriptor = cx.table.get(fd)?;
    Ok(descriptor.file()?.file.advise(offset, len, advice)?)
}

fn host_advice(value: u32) -> WasiResult<Advice> {
    Ok(match value {
        advice::NORMAL => Advice::Normal,
        advice::SEQUENTIAL => Advice::Sequential,
        advice::RANDOM => Advice::Random,
        advice::WILLNEED => Advice::WillNeed,
        advice::DONTNEED => Advice::DontNeed,
        advice::NOREUSE => Advice::NoReuse,
        _ => return Err(bad_argument("advice", value)),
    })
}

/// Makes sure the bytes `offset..offset + len` of a file have space on disk, growing the
/// file if it ends before them (`posix_fallocate`). Wasmtime answers `notsup`; weft does what
/// the call asks, which the suite's `file_allocate` test checks when a runtime supports it.
pub(crate) fn fd_allocate(
    cx: &Shared,
    _guest: &Guest<'_>,
    fd: u32,
    offset: u64,
    len: u64,
) -> WasiResult<()> {
    let descriptor = cx.table.get(fd)?;
    let file = descriptor.file()?;
    file.check_write()?;
    offset.checked_add(len).ok_or(Errno::Fbig)?;
    Ok(file.file.allocate(offset, len)?)
}

/// Closes any descriptor, the standard streams and preopens included. The host descriptor
/// closes when the last call still using it returns.
pub(crate) fn fd_close(cx: &Shared, _guest: &Guest<'_>, fd: u32) -> WasiResult<()> {
    cx.table.remove(fd)?;
    Ok(())
}

pub(crate) fn fd_datasync(cx: &Shared, _guest: &Guest<'_>, fd: u32) -> WasiResult<()> {
    Ok(cx.table.get(fd)?.file()?.file.sync_data()?)
}

pub(crate) fn fd_sync(cx: &Shared, _guest: &Guest<'_>, fd: u32) -> WasiResult<()> {
    Ok(cx.table.get(fd)?.file()?.file.sync_all()?)
}

/// An `fdstat`.
struct Fdstat {
    filetype: Filetype,
    flags: u16,
    rights_base: u64,
    rights_inheriting: u64,
}

impl Fdstat {
    /// A standard stream's: a character device when it is a terminal, with the one right
    /// of its direction.
    fn of_stream(is_terminal: bool, right: u64) -> Fdstat {
        Fdstat {
            filetype: stream_filetype(is_terminal),
            flags: 0,
            rights_base: right,
            rights_inheriting: right,
        }
    }

    fn of_file(file: &FileDescriptor) -> WasiResult<Fdstat> {
        let mut base = rights::ALL;
        if !file.readable {
            base &= !(rights::FD_READ | rights::FD_READDIR);
        }
        if !file.writable {
            base &= !rights::FD_WRITE;
        }
        Ok(Fdstat {
            filetype: stat::filetype(Metadata::from_file(&file.file)?.file_type()),
            flags: file.flags(),
            rights_base: base,
            rights_inheriting: base,
        })
    }

    fn write(&self, guest: &Guest<'_>, ptr: u32) -> WasiResult<()> {
        let mut bytes = [0; layout::FDSTAT_SIZE as usize];
        bytes[0] = self.filetype as u8;
        bytes[2..4].copy_from_slice(&self.flags.to_le_bytes());
        bytes[8..16].copy_from_slice(&self.rights_base.to_le_bytes());
        bytes[16..24].copy_from_slice(&self.rights_inheriting.to_le_bytes());
        guest.write_struct(ptr, 8, &bytes)
    }
}

/// What a standard stream reports as its type. Wasmtime has no FIFO type in preview 1, so
/// a pipe or a file is `unknown`; wasi-libc's `isatty` needs a terminal to be a character
/// device.
fn stream_filetype(is_terminal: bool) -> Filetype {
    if is_terminal {
        Filetype::CharacterDevice
    } else {
        Filetype::Unknown
    }
}

pub(crate) fn fd_fdstat_get(cx: &Shared, guest: &Guest<'_>, fd: u32, stat: u32) -> WasiResult<()> {
    let descriptor = cx.table.get(fd)?;
    let fdstat = match &*descriptor {
        Descriptor::Stdin(stdin) => Fdstat::of_stream(stdin.is_terminal(), rights::FD_READ),
        Descriptor::Output(output) => Fdstat::of_stream(output.is_terminal(), rights::FD_WRITE),
        Descriptor::File(file) => Fdstat::of_file(file)?,
        Descriptor::Dir(dir) => {
            let (base, inheriting) = match dir.preopen {
                Some(_) => (PREOPEN_RIGHTS, PREOPEN_INHERITED_RIGHTS),
                None => (OPENED_DIR_RIGHTS, OPENED_DIR_RIGHTS),
            };
            Fdstat {
                filetype: Filetype::Directory,
                flags: 0,
                rights_base: base,
                rights_inheriting: inheriting,
            }
        }
    };
    fdstat.write(guest, stat)
}

/// Sets or clears a file's `APPEND` and `NONBLOCK` flags; the synchronized-I/O flags are
/// `inval`, as in Wasmtime. Directories and streams keep no flags (`badf`).
pub(crate) fn fd_fdstat_set_flags(
    cx: &Shared,
    _guest: &Guest<'_>,
    fd: u32,
    flags: u32,
) -> WasiResult<()> {
    let flags = fdflags_argument(flags)?;
    let descriptor = cx.table.get(fd)?;
    let file = descriptor.file()?;
    if flags & SYNC_FLAGS != 0 {
        return Err(Errno::Inval.into());
    }
    file.set_flags(flags);
    Ok(())
}

/// A `fdflags` argument.
pub(crate) fn fdflags_argument(flags: u32) -> WasiResult<u16> {
    flags_argument("fdflags", flags, fdflags::ALL)
}

/// A `rights` argument: no bit past the defined rights.
pub(crate) fn rights_argument(value: u64) -> WasiResult<u64> {
    if value & !rights::ALL != 0 {
        return Err(bad_argument("rights", format_args!("{value:#x}")));
    }
    Ok(value)
}

/// Rights are not enforced, so they cannot be narrowed: `notsup`, as in Wasmtime. Guests
/// and the tests read this answer as "this host has no rights" (anything else would
/// promise that dropped rights make later calls fail).
pub(crate) fn fd_fdstat_set_rights(
    cx: &Shared,
    _guest: &Guest<'_>,
    fd: u32,
    base: u64,
    inheriting: u64,
) -> WasiResult<()> {
    rights_argument(base)?;
    rights_argument(inheriting)?;
    match &*cx.table.get(fd)? {
        Descriptor::File(_) | Descriptor::Dir(_) => Err(Errno::Notsup.into()),
        Descriptor::Stdin(_) | Descriptor::Output(_) => Err(Errno::Badf.into()),
    }
}

pub(crate) fn fd_filestat_get(
    cx: &Shared,
    guest: &Guest<'_>,
    fd: u32,
    stat: u32,
) -> WasiResult<()> {
    let descriptor = cx.table.get(fd)?;
    let filestat = match &*descriptor {
        Descriptor::Stdin(stdin) => Filestat::of_stream(stream_filetype(stdin.is_terminal())),
        Descriptor::Output(output) => Filestat::of_stream(stream_filetype(output.is_terminal())),
        Descriptor::File(file) => Filestat::of(&Metadata::from_file(&file.file)?)?,
        Descriptor::Dir(dir) => Filestat::of(&dir.dir.dir_metadata()?)?,
    };
    filestat.write(guest, stat)
}

/// Truncates or zero-extends a file. A file opened read-only gets the host's `inval`.
pub(crate) fn fd_filestat_set_size(
    cx: &Shared,
    _guest: &Guest<'_>,
    fd: u32,
    size: u64,
) -> WasiResult<()> {
    let descriptor = cx.table.get(fd)?;
    let file = descriptor.file()?;
    file.check_write()?;
    Ok(file.file.set_len(size)?)
}

/// Sets a file's or a directory's times. A preopen is opened `O_PATH` (as in Wasmtime), so
/// the host refuses this for a preopen itself (`badf`); it works on a directory opened by
/// `path_open`.
pub(crate) fn fd_filestat_set_times(
    cx: &Shared,
    _guest: &Guest<'_>,
    fd: u32,
    atim: u64,
    mtim: u64,
    fst_flags: u32,
) -> WasiResult<()> {
    let (atime, mtime) = NewTimes::decode(atim, mtim, fst_flags)?.for_descriptor();
    let descriptor = cx.table.get(fd)?;
    match &*descriptor {
        Descriptor::File(file) => {
            file.check_write()?;
            // The trait's, not std's own `File::set_times`: it leaves a time out as asked.
            SetTimes::set_times(&file.file, atime, mtime)?;
        }
        Descriptor::Dir(dir) => {
            dir.check_mutate()?;
            dir.dir.set_times(atime, mtime)?;
        }
        Descriptor::Stdin(_) | Descriptor::Output(_) => return Err(Errno::Badf.into()),
    }
    Ok(())
}

/// Describes a preopen: its tag (a directory) and the length of its name. Every other
/// descriptor, open or not, is `badf`: wasi-libc scans for preopens from fd 3 until the
/// first `badf`, and exits on any other answer.
pub(crate) fn fd_prestat_get(
    cx: &Shared,
    guest: &Guest<'_>,
    fd: u32,
    prestat: u32,
) -> WasiResult<()> {
    let descriptor = cx.table.get(fd)?;
    let Descriptor::Dir(dir) = &*descriptor else {
        return Err(Errno::Badf.into());
    };
    let name = dir.preopen.as_ref().ok_or(Errno::Badf)?;
    let name_len = u32::try_from(name.len()).map_err(|_| Errno::Overflow)?;
    let mut bytes = [0; layout::PRESTAT_SIZE as usize];
    bytes[0] = preopentype::DIR;
    bytes[4..8].copy_from_slice(&name_len.to_le_bytes());
    guest.write_struct(prestat, 4, &bytes)
}

/// Copies a preopen's name, without a terminating NUL. An open descriptor that is not a
/// preopen is `notdir` (Wasmtime's answer).
pub(crate) fn fd_prestat_dir_name(
    cx: &Shared,
    guest: &Guest<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> WasiResult<()> {
    let descriptor = cx.table.get(fd)?;
    let name = match &*descriptor {
        Descriptor::Dir(dir) => dir.preopen.as_ref().ok_or(Errno::Notdir)?,
        _ => return Err(Errno::Notdir.into()),
    };
    if name.len() > path_len as usize {
        return Err(Errno::Nametoolong.into());
    }
    guest.write_bytes(path, name.as_bytes())
}

/// Moves descriptor `fd` to number `to`, closing what `to` held. Both must be open. The
/// descriptor keeps everything it had (position, flags, a preopen's name).
pub(crate) fn fd_renumber(cx: &Shared, _guest: &Guest<'_>, fd: u32, to: u32) -> WasiResult<()> {
    cx.table.renumber(fd, to)?;
    Ok(())
}

/// Moves a file's position (kept by the host). Past the end is allowed; before the start
/// is `inval`, and the position stays.
pub(crate) fn fd_seek(
    cx: &Shared,
    guest: &Guest<'_>,
    fd: u32,
    offset: i64,
    whence: u32,
    new_offset: u32,
) -> WasiResult<()> {
    if whence > whence::END {
        return Err(bad_argument("whence", whence));
    }
    let descriptor = cx.table.get(fd)?;
    let file = descriptor.seekable()?;
    let mut position = file.position();
    let base = match whence {
        whence::SET => 0,
        whence::CUR => *position,
        _ => file.file.metadata()?.len(),
    };
    *position = base.checked_add_signed(offset).ok_or(Errno::Inval)?;
    let moved = *position;
    drop(position);
    guest.write_u64(new_offset, moved)
}

pub(crate) fn fd_tell(cx: &Shared, guest: &Guest<'_>, fd: u32, offset: u32) -> WasiResult<()> {
    let position = *cx.table.get(fd)?.seekable()?.position();
    guest.write_u64(offset, position)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::WasiError;

    #[test]
    fn directory_rights_are_wasmtimes() {
        assert_eq!(PREOPEN_RIGHTS, 0x07B7_FE00);
        assert_eq!(PREOPEN_INHERITED_RIGHTS, 0x0FF7_FFFF);
        assert_eq!(OPENED_DIR_RIGHTS, 0x3FB7_FFBB);
        for set in [PREOPEN_RIGHTS, OPENED_DIR_RIGHTS] {
            assert_eq!(set & rights::PATH_FILESTAT_SET_SIZE, 0);
            assert_eq!(set & rights::FD_FILESTAT_SET_SIZE, 0);
        }
    }

    #[test]
    fn rights_past_the_defined_ones_are_host_errors() {
        assert!(matches!(rights_argument(rights::ALL), Ok(rights::ALL)));
        assert!(matches!(rights_argument(1 << 30), Err(WasiError::Trap(_))));
    }

    #[test]
    fn unknown_advice_is_a_host_error() {
        assert!(host_advice(advice::NOREUSE).is_ok());
        assert!(matches!(host_advice(6), Err(WasiError::Trap(_))));
    }
}
