//! What a descriptor number stands for: standard input, an output stream, an open file or a
//! directory (preopened, or opened under one), and which of them each kind of call accepts.

use crate::abi::{Errno, fdflags};
use std::io::IsTerminal;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// What a program may do in a preopened directory.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct DirPerms {
    /// List it and look entries up.
    pub read: bool,
    /// Create, rename and remove entries.
    pub mutate: bool,
}

impl DirPerms {
    pub const READ: DirPerms = DirPerms {
        read: true,
        mutate: false,
    };
    pub const ALL: DirPerms = DirPerms {
        read: true,
        mutate: true,
    };
}

/// What a program may do to files under a preopened directory.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FilePerms {
    pub read: bool,
    pub write: bool,
}

impl FilePerms {
    pub const READ: FilePerms = FilePerms {
        read: true,
        write: false,
    };
    pub const ALL: FilePerms = FilePerms {
        read: true,
        write: true,
    };
}

/// Bytes a program reads as its standard input.
#[derive(Clone, Debug, Default)]
pub struct InputPipe(pub(crate) Arc<Mutex<std::collections::VecDeque<u8>>>);

impl InputPipe {
    pub fn new(bytes: impl Into<Vec<u8>>) -> InputPipe {
        InputPipe(Arc::new(Mutex::new(bytes.into().into())))
    }
}

/// Collects what a program writes to standard output or error, for the embedder to read.
#[derive(Clone, Debug, Default)]
pub struct OutputPipe(pub(crate) Arc<Mutex<Vec<u8>>>);

impl OutputPipe {
    pub fn new() -> OutputPipe {
        OutputPipe::default()
    }

    /// Everything written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// One entry of the descriptor table.
pub(crate) enum Descriptor {
    Stdin(Stdin),
    Output(Output),
    File(FileDescriptor),
    Dir(DirDescriptor),
}

impl Descriptor {
    /// The open file, for the calls that only files accept (`badf` for anything else).
    pub fn file(&self) -> Result<&FileDescriptor, Errno> {
        match self {
            Descriptor::File(file) => Ok(file),
            _ => Err(Errno::Badf),
        }
    }

    /// The directory, for the calls that only directories accept (`badf` for anything
    /// else, files included, as in Wasmtime).
    pub fn dir(&self) -> Result<&DirDescriptor, Errno> {
        match self {
            Descriptor::Dir(dir) => Ok(dir),
            _ => Err(Errno::Badf),
        }
    }

    /// The file that `fd_seek` and `fd_tell` move in: the standard streams cannot seek
    /// (`spipe`), a directory has no position (`badf`).
    pub fn seekable(&self) -> Result<&FileDescriptor, Errno> {
        match self {
            Descriptor::File(file) => Ok(file),
            Descriptor::Stdin(_) | Descriptor::Output(_) => Err(Errno::Spipe),
            Descriptor::Dir(_) => Err(Errno::Badf),
        }
    }
}

/// Where standard input comes from.
#[derive(Default)]
pub(crate) enum Stdin {
    /// Always at end of file.
    #[default]
    Empty,
    /// The host process's standard input.
    Inherited,
    /// A host file, pipe or terminal the embedder gave.
    Host(OwnedFd),
    Pipe(InputPipe),
}

impl Stdin {
    /// The host descriptor reads come from, if any: reads of it may block.
    pub fn host_fd(&self) -> Option<BorrowedFd<'_>> {
        match self {
            Stdin::Inherited => Some(rustix::stdio::stdin()),
            Stdin::Host(fd) => Some(fd.as_fd()),
            Stdin::Empty | Stdin::Pipe(_) => None,
        }
    }

    pub fn is_terminal(&self) -> bool {
        self.host_fd().is_some_and(|fd| fd.is_terminal())
    }
}

/// Where a standard output stream goes.
#[derive(Default)]
pub(crate) enum Output {
    #[default]
    Discard,
    HostStdout,
    HostStderr,
    Pipe(OutputPipe),
}

impl Output {
    pub fn is_terminal(&self) -> bool {
        match self {
            Output::HostStdout => std::io::stdout().is_terminal(),
            Output::HostStderr => std::io::stderr().is_terminal(),
            Output::Discard | Output::Pipe(_) => false,
        }
    }
}

/// An open regular file (or another non-directory the program opened by path).
///
/// The file position is the host's, not the operating system's: every transfer is
/// positioned (`pread`/`pwrite`, or an append), so descriptors that share nothing but the
/// host file never disturb each other, as in Wasmtime. The position has a lock of its own,
/// held across a transfer at the position, so threads reading or writing one descriptor at
/// once each move it past their own bytes and none overwrites another's, as the kernel
/// serializes the offset of one open file (Wasmtime's read-then-store of the position would
/// let two threads write at the same place).
pub(crate) struct FileDescriptor {
    pub file: std::fs::File,
    /// Whether the host file was opened for reading, for writing.
    pub readable: bool,
    pub writable: bool,
    /// What the preopen this file was reached through allows.
    pub perms: FilePerms,
    position: Mutex<u64>,
    /// The guest's `fdflags`: only `APPEND` and `NONBLOCK` are ever set (the sync flags
    /// are refused), and neither reaches the host descriptor.
    flags: AtomicU16,
}

impl FileDescriptor {
    pub fn new(
        file: std::fs::File,
        readable: bool,
        writable: bool,
        perms: FilePerms,
        flags: u16,
    ) -> Self {
        FileDescriptor {
            file,
            readable,
            writable,
            perms,
            position: Mutex::new(0),
            flags: AtomicU16::new(flags),
        }
    }

    /// The position, locked: hold it across a transfer at the position and the move past
    /// it. No descriptor table lock is held then, and only this descriptor's users wait.
    pub fn position(&self) -> MutexGuard<'_, u64> {
        self.position.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn flags(&self) -> u16 {
        self.flags.load(Ordering::Relaxed)
    }

    pub fn set_flags(&self, flags: u16) {
        self.flags.store(flags, Ordering::Relaxed);
    }

    /// Whether writes go to the end of the file, wherever the position is.
    pub fn appends(&self) -> bool {
        self.flags() & fdflags::APPEND != 0
    }

    /// `perm` unless the preopen lets files be read.
    pub fn check_read(&self) -> Result<(), Errno> {
        permitted(self.perms.read)
    }

    /// `perm` unless the preopen lets files be changed.
    pub fn check_write(&self) -> Result<(), Errno> {
        permitted(self.perms.write)
    }
}

/// An open directory: preopened (with the name the guest knows it by) or opened under one.
pub(crate) struct DirDescriptor {
    pub dir: cap_std::fs::Dir,
    /// The guest's name for a preopened directory.
    pub preopen: Option<String>,
    /// What the preopen it was reached through allows, in it and in its subdirectories.
    pub perms: DirPerms,
    /// What files opened under it may do.
    pub file_perms: FilePerms,
}

impl DirDescriptor {
    pub fn new(
        dir: cap_std::fs::Dir,
        preopen: Option<String>,
        perms: DirPerms,
        file_perms: FilePerms,
    ) -> Self {
        DirDescriptor {
            dir,
            preopen,
            perms,
            file_perms,
        }
    }

    /// `perm` unless the preopen lets entries be listed, looked up and opened.
    pub fn check_read(&self) -> Result<(), Errno> {
        permitted(self.perms.read)
    }

    /// `perm` unless the preopen lets entries be created, changed and removed.
    pub fn check_mutate(&self) -> Result<(), Errno> {
        permitted(self.perms.mutate)
    }

    /// `perm` unless `self` and `other` came from preopens with the same permissions, so
    /// that moving an entry between them (rename, hard link) cannot widen what the program
    /// may do to it (Wasmtime's rule).
    pub fn check_same_perms(&self, other: &DirDescriptor) -> Result<(), Errno> {
        permitted(self.perms == other.perms && self.file_perms == other.file_perms)
    }
}

/// A preopen's permission refuses with `perm` (Wasmtime's `NotPermitted`).
fn permitted(allowed: bool) -> Result<(), Errno> {
    if allowed { Ok(()) } else { Err(Errno::Perm) }
}
