//! The `path_*` calls: everything done to a path under a directory descriptor.
//!
//! Paths are resolved by cap-std, inside the directory: an absolute path, a `..` that
//! climbs above it, or a symbolic link that leads out (even for a moment) fails with
//! `perm`, and nothing outside a preopen is ever opened, created or removed. Only the final
//! component follows a symbolic link when the call asks for it; the others always do.
//!
//! The preopen's permissions are checked before the host is asked, with Wasmtime's
//! answer, `perm`: reading (lookups, opening, listing, `readlink`) needs the directory's
//! read permission, and creating, changing, renaming or removing anything needs its mutate
//! permission; a file may be opened for writing only if files may be written.

#![allow(
    clippy::too_many_arguments,
    reason = "each function takes the parameters of its preview 1 signature"
)]

use crate::abi::{Errno, fdflags, lookupflags, oflags, rights};
use crate::descriptor::{Descriptor, DirDescriptor, FileDescriptor};
use crate::error::{WasiResult, bad_argument, flags_argument};
use crate::fd::{SYNC_FLAGS, fdflags_argument, rights_argument};
use crate::guest::Guest;
use crate::stat::{Filestat, NewTimes};
use crate::state::Shared;
use cap_fs_ext::{DirExt, FollowSymlinks, OpenOptionsFollowExt};
use cap_std::fs::{Dir, OpenOptions};

pub(crate) fn path_create_directory(
    cx: &Shared,
    guest: &Guest<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> WasiResult<()> {
    let descriptor = cx.table.get(fd)?;
    let dir = descriptor.dir()?;
    let path = guest.read_string(path, path_len)?;
    dir.check_mutate()?;
    Ok(dir.dir.create_dir(path)?)
}

pub(crate) fn path_filestat_get(
    cx: &Shared,
    guest: &Guest<'_>,
    fd: u32,
    flags: u32,
    path: u32,
    path_len: u32,
    stat: u32,
) -> WasiResult<()> {
    let follow = follow_symlinks(flags)?;
    let descriptor = cx.table.get(fd)?;
    let dir = descriptor.dir()?;
    let path = guest.read_string(path, path_len)?;
    dir.check_read()?;
    let metadata = match follow {
        FollowSymlinks::Yes => dir.dir.metadata(path)?,
        FollowSymlinks::No => dir.dir.symlink_metadata(path)?,
    };
    Filestat::of(&metadata)?.write(guest, stat)
}

pub(crate) fn path_filestat_set_times(
    cx: &Shared,
    guest: &Guest<'_>,
    fd: u32,
    flags: u32,
    path: u32,
    path_len: u32,
    atim: u64,
    mtim: u64,
    fst_flags: u32,
) -> WasiResult<()> {
    let follow = follow_symlinks(flags)?;
    let (atime, mtime) = NewTimes::decode(atim, mtim, fst_flags)?.for_path();
    let descriptor = cx.table.get(fd)?;
    let dir = descriptor.dir()?;
    let path = guest.read_string(path, path_len)?;
    dir.check_mutate()?;
    match follow {
        FollowSymlinks::Yes => dir.dir.set_times(path, atime, mtime)?,
        FollowSymlinks::No => dir.dir.set_symlink_times(path, atime, mtime)?,
    }
    Ok(())
}

/// Makes a hard link. The source is never followed: a symbolic link (even a dangling one)
/// is linked itself, and asking to follow it is `inval`, as in Wasmtime.
pub(crate) fn path_link(
    cx: &Shared,
    guest: &Guest<'_>,
    old_fd: u32,
    old_flags: u32,
    old_path: u32,
    old_path_len: u32,
    new_fd: u32,
    new_path: u32,
    new_path_len: u32,
) -> WasiResult<()> {
    let follow = follow_symlinks(old_flags)?;
    let (old_descriptor, new_descriptor) = (cx.table.get(old_fd)?, cx.table.get(new_fd)?);
    let (old_dir, new_dir) = (old_descriptor.dir()?, new_descriptor.dir()?);
    let old_path = guest.read_string(old_path, old_path_len)?;
    let new_path = guest.read_string(new_path, new_path_len)?;
    old_dir.check_mutate()?;
    new_dir.check_mutate()?;
    if let FollowSymlinks::Yes = follow {
        return Err(Errno::Inval.into());
    }
    old_dir.check_same_perms(new_dir)?;
    Ok(old_dir.dir.hard_link(old_path, &new_dir.dir, new_path)?)
}

/// Opens a file or directory, with Wasmtime's choices:
/// - the host file is opened for reading when the rights hold `FD_READ` or lack `FD_WRITE`,
///   and for writing when they hold `FD_WRITE` or `oflags` create or truncate; no other
///   right matters, and neither do the inherited rights;
/// - what turns out to be a directory becomes a directory descriptor, `OFLAGS_DIRECTORY`
///   or not (a directory opened for writing is the host's `isdir`);
/// - `APPEND` and `NONBLOCK` stay with the descriptor, never reaching the host, and the
///   synchronized-I/O flags are `notsup`.
pub(crate) fn path_open(
    cx: &Shared,
    guest: &Guest<'_>,
    fd: u32,
    dirflags: u32,
    path: u32,
    path_len: u32,
    oflags: u32,
    rights_base: u64,
    rights_inheriting: u64,
    fdflags: u32,
    opened: u32,
) -> WasiResult<()> {
    let follow = follow_symlinks(dirflags)?;
    let request = OpenRequest::decode(
        flags_argument("oflags", oflags, oflags::ALL)?,
        rights_argument(rights_base)?,
        fdflags_argument(fdflags)?,
    );
    rights_argument(rights_inheriting)?;
    let path = guest.read_string(path, path_len)?;
    let descriptor = cx.table.get(fd)?;
    let parent = match &*descriptor {
        Descriptor::Dir(dir) => dir,
        Descriptor::File(_) => return Err(Errno::Notdir.into()),
        Descriptor::Stdin(_) | Descriptor::Output(_) => return Err(Errno::Badf.into()),
    };
    request.check(parent)?;
    let file = parent
        .dir
        .open_with(path, &request.options(follow))?
        .into_std();
    let opened_descriptor = if file.metadata()?.is_dir() {
        Descriptor::Dir(DirDescriptor::new(
            Dir::from_std_file(file),
            None,
            parent.perms,
            parent.file_perms,
        ))
    } else if request.directory {
        return Err(Errno::Notdir.into());
    } else {
        Descriptor::File(FileDescriptor::new(
            file,
            request.read,
            request.write,
            parent.file_perms,
            request.fdflags & (fdflags::APPEND | fdflags::NONBLOCK),
        ))
    };
    guest.write_u32(opened, cx.table.push(opened_descriptor)?)
}

/// What a `path_open` asks for.
struct OpenRequest {
    /// The host file is opened for reading, for writing.
    read: bool,
    write: bool,
    /// The rights ask for writing (as opposed to writing for `CREAT` or `TRUNC`).
    write_right: bool,
    create: bool,
    exclusive: bool,
    truncate: bool,
    directory: bool,
    fdflags: u16,
}

impl OpenRequest {
    fn decode(oflags: u16, rights: u64, fdflags: u16) -> OpenRequest {
        let create = oflags & oflags::CREAT != 0;
        let truncate = oflags & oflags::TRUNC != 0;
        let read_right = rights & rights::FD_READ != 0;
        let write_right = rights & rights::FD_WRITE != 0;
        OpenRequest {
            read: read_right || !write_right,
            write: write_right || create || truncate,
            write_right,
            create,
            exclusive: oflags & oflags::EXCL != 0,
            truncate,
            directory: oflags & oflags::DIRECTORY != 0,
            fdflags,
        }
    }

    /// Refuses what the preopen does not permit and what cannot be asked, in Wasmtime's
    /// order.
    fn check(&self, parent: &DirDescriptor) -> Result<(), Errno> {
        parent.check_read()?;
        if self.create || self.truncate || self.write_right {
            parent.check_mutate()?;
        }
        if self.fdflags & SYNC_FLAGS != 0 {
            return Err(Errno::Notsup);
        }
        if self.directory && (self.create || self.exclusive || self.truncate) {
            return Err(Errno::Inval);
        }
        if self.write && !parent.file_perms.write {
            return Err(Errno::Perm);
        }
        Ok(())
    }

    /// The host open. `EXCL` without `CREAT` means nothing, and `OFLAGS_DIRECTORY` is not
    /// passed on: the call checks the type after opening, so a symbolic link opened
    /// without following is `loop`, directory or not.
    fn options(&self, follow: FollowSymlinks) -> OpenOptions {
        let mut options = OpenOptions::new();
        options
            .read(self.read)
            .write(self.write)
            .truncate(self.truncate);
        if self.create && self.exclusive {
            options.create_new(true);
        } else if self.create {
            options.create(true);
        }
        options.follow(follow);
        options
    }
}

/// Copies the target of a symbolic link, cut to the buffer without a terminator or an
/// error. A link to an absolute path is refused (`perm`), as cap-std and Wasmtime refuse
/// it.
pub(crate) fn path_readlink(
    cx: &Shared,
    guest: &Guest<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
    buf: u32,
    buf_len: u32,
    bufused: u32,
) -> WasiResult<()> {
    let descriptor = cx.table.get(fd)?;
    let dir = descriptor.dir()?;
    let path = guest.read_string(path, path_len)?;
    dir.check_read()?;
    let target = dir
        .dir
        .read_link(path)?
        .into_os_string()
        .into_string()
        .map_err(|_| Errno::Ilseq)?;
    let copied = &target.as_bytes()[..target.len().min(buf_len as usize)];
    guest.write_bytes(buf, copied)?;
    guest.write_u32(bufused, copied.len() as u32)
}

/// Removes an empty directory. Unlike Wasmtime, `dir/` works: trailing slashes are
/// stripped first (Wasmtime would remove `dir/.`, which the host refuses with `inval`, and
/// fails the official test). With them stripped, a file named with a slash is still
/// `notdir`.
pub(crate) fn path_remove_directory(
    cx: &Shared,
    guest: &Guest<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> WasiResult<()> {
    let descriptor = cx.table.get(fd)?;
    let dir = descriptor.dir()?;
    let path = guest.read_string(path, path_len)?;
    dir.check_mutate()?;
    Ok(dir.dir.remove_dir(without_trailing_slashes(&path))?)
}

/// `path` without the slashes that end it; a path of slashes only stays `/`.
fn without_trailing_slashes(path: &str) -> &str {
    match path.trim_end_matches('/') {
        "" if !path.is_empty() => "/",
        trimmed => trimmed,
    }
}

/// Renames an entry, possibly into another directory (with the same permissions). A
/// trailing slash is allowed on either path when the source is a directory.
pub(crate) fn path_rename(
    cx: &Shared,
    guest: &Guest<'_>,
    fd: u32,
    old_path: u32,
    old_path_len: u32,
    new_fd: u32,
    new_path: u32,
    new_path_len: u32,
) -> WasiResult<()> {
    let (old_descriptor, new_descriptor) = (cx.table.get(fd)?, cx.table.get(new_fd)?);
    let (old_dir, new_dir) = (old_descriptor.dir()?, new_descriptor.dir()?);
    let old_path = guest.read_string(old_path, old_path_len)?;
    let new_path = guest.read_string(new_path, new_path_len)?;
    old_dir.check_mutate()?;
    new_dir.check_mutate()?;
    old_dir.check_same_perms(new_dir)?;
    Ok(old_dir.dir.rename(old_path, &new_dir.dir, new_path)?)
}

/// Makes a symbolic link whose target is stored as given, dangling or not; an absolute
/// target is refused (`perm`), as cap-std and Wasmtime refuse it. A target with `..` is
/// allowed: following the link later fails if it leads out.
pub(crate) fn path_symlink(
    cx: &Shared,
    guest: &Guest<'_>,
    old_path: u32,
    old_path_len: u32,
    fd: u32,
    new_path: u32,
    new_path_len: u32,
) -> WasiResult<()> {
    let descriptor = cx.table.get(fd)?;
    let dir = descriptor.dir()?;
    let target = guest.read_string(old_path, old_path_len)?;
    let link = guest.read_string(new_path, new_path_len)?;
    dir.check_mutate()?;
    Ok(dir.dir.symlink(target, link)?)
}

/// Removes a file or a symbolic link (never what it points to). A directory is the
/// host's `isdir`.
pub(crate) fn path_unlink_file(
    cx: &Shared,
    guest: &Guest<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> WasiResult<()> {
    let descriptor = cx.table.get(fd)?;
    let dir = descriptor.dir()?;
    let path = guest.read_string(path, path_len)?;
    dir.check_mutate()?;
    Ok(dir.dir.remove_file(path)?)
}

/// A `lookupflags` argument: whether the final component follows a symbolic link.
fn follow_symlinks(flags: u32) -> WasiResult<FollowSymlinks> {
    match flags {
        0 => Ok(FollowSymlinks::No),
        lookupflags::SYMLINK_FOLLOW => Ok(FollowSymlinks::Yes),
        _ => Err(bad_argument("lookupflags", flags)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::WasiError;

    #[test]
    fn trailing_slashes_are_stripped() {
        assert_eq!(without_trailing_slashes("dir/"), "dir");
        assert_eq!(without_trailing_slashes("a/b///"), "a/b");
        assert_eq!(without_trailing_slashes("dir"), "dir");
        assert_eq!(without_trailing_slashes("///"), "/");
        assert_eq!(without_trailing_slashes(""), "");
    }

    #[test]
    fn rights_decide_the_open_mode() {
        let read_only = OpenRequest::decode(0, rights::FD_READ, 0);
        assert!(read_only.read && !read_only.write);
        let no_rights = OpenRequest::decode(0, 0, 0);
        assert!(no_rights.read && !no_rights.write);
        let write_only = OpenRequest::decode(0, rights::FD_WRITE, 0);
        assert!(!write_only.read && write_only.write);
        let created = OpenRequest::decode(oflags::CREAT, 0, 0);
        assert!(created.read && created.write && !created.write_right);
    }

    #[test]
    fn only_the_symlink_follow_lookup_flag_is_defined() {
        assert!(matches!(follow_symlinks(0), Ok(FollowSymlinks::No)));
        assert!(matches!(follow_symlinks(1), Ok(FollowSymlinks::Yes)));
        assert!(matches!(follow_symlinks(2), Err(WasiError::Trap(_))));
    }
}
