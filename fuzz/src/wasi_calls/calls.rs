//! The table of `wasi_snapshot_preview1` functions the generator calls: each function's
//! parameters as the kinds of value the generator makes for them. One kind may stand for
//! several wasm parameters (a path is a pointer and a length), so the table reads like the
//! witx signatures rather than like the flattened wasm ones.

/// What a parameter (or a group of parameters) of a WASI function means, which decides how
/// its values are made.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Any descriptor: standard streams, preopens, opened files, closed and wild numbers.
    Fd,
    /// A descriptor a path is resolved under: mostly preopens and opened directories.
    DirFd,
    /// A path resolved under the preceding `DirFd`: pointer, length.
    Path,
    /// A symbolic link's target, stored as given and never resolved: pointer, length.
    LinkTarget,
    /// Where the host writes a result of `size` bytes aligned to `align`.
    Out { size: u32, align: u32 },
    /// Where the host writes a new descriptor, which later calls may load and use.
    NewFd,
    /// A buffer the host fills: pointer, length.
    Buffer,
    /// An `iovec` array of buffers the host fills: pointer, count.
    ReadIovecs,
    /// A `ciovec` array of buffers the host reads: pointer, count.
    WriteIovecs,
    /// `poll_oneoff`'s subscriptions, events, count and `nevents`: four parameters.
    Subscriptions,
    /// A `clockid`.
    ClockId,
    /// A clock precision, which the host ignores (`u64`).
    Precision,
    /// A file offset for `pread`, `pwrite` and `fd_advise` (`u64`).
    FileOffset,
    /// A length for `fd_advise` (`u64`).
    AdviseLen,
    /// A file size for `fd_filestat_set_size` (`u64`).
    FileSize,
    /// An offset for `fd_allocate` (`u64`).
    AllocateOffset,
    /// A length for `fd_allocate` (`u64`), which the host really reserves on disk.
    AllocateLen,
    /// A signed position change for `fd_seek` (`s64`).
    SeekDelta,
    /// A `whence` for `fd_seek`.
    Whence,
    /// An `advice` for `fd_advise`.
    Advice,
    /// `fdflags`.
    FdFlags,
    /// A `rights` set (`u64`).
    Rights,
    /// `lookupflags`: whether the last component follows a link.
    LookupFlags,
    /// `oflags` for `path_open`.
    OFlags,
    /// A timestamp for the `*_set_times` functions (`u64`).
    Timestamp,
    /// `fstflags`: which times to set, and whether to now.
    FstFlags,
    /// A `fd_readdir` cookie (`u64`).
    Cookie,
    /// A signal for `proc_raise`.
    Signal,
    /// `riflags` for `sock_recv`.
    RiFlags,
    /// `siflags` for `sock_send` (which has none).
    SiFlags,
    /// `sdflags` for `sock_shutdown`.
    SdFlags,
    /// A status for `proc_exit`.
    ExitCode,
}

/// A wasm value type of the flattened signatures.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ValType {
    I32,
    I64,
}

impl ValType {
    /// The type as WAT spells it.
    pub fn name(self) -> &'static str {
        match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
        }
    }
}

impl Kind {
    /// The wasm parameters this kind stands for, in order.
    pub fn params(self) -> &'static [ValType] {
        use ValType::{I32, I64};
        match self {
            Kind::Path | Kind::LinkTarget | Kind::Buffer | Kind::ReadIovecs | Kind::WriteIovecs => {
                &[I32, I32]
            }
            Kind::Subscriptions => &[I32, I32, I32, I32],
            Kind::Precision
            | Kind::FileOffset
            | Kind::AdviseLen
            | Kind::FileSize
            | Kind::AllocateOffset
            | Kind::AllocateLen
            | Kind::SeekDelta
            | Kind::Rights
            | Kind::Timestamp
            | Kind::Cookie => &[I64],
            _ => &[I32],
        }
    }
}

/// One WASI function: its import name and its parameters.
pub struct Function {
    /// The import name.
    pub name: &'static str,
    /// The parameters, in order.
    pub kinds: &'static [Kind],
}

impl Function {
    /// The flattened wasm parameter types.
    pub fn params(&self) -> impl Iterator<Item = ValType> + '_ {
        self.kinds
            .iter()
            .flat_map(|kind| kind.params().iter().copied())
    }

    /// Whether the function returns an errno; only `proc_exit` does not return at all.
    pub fn returns_errno(&self) -> bool {
        self.name != "proc_exit"
    }
}

/// A result of `size` bytes aligned to `align`.
const fn out(size: u32, align: u32) -> Kind {
    Kind::Out { size, align }
}

/// Room for the pointer array `args_get` and `environ_get` write (the context has a few
/// short arguments and variables).
const POINTERS: Kind = out(64, 4);
/// Room for the strings they write.
const STRINGS: Kind = out(256, 1);
const SIZE: Kind = out(4, 4);
const U64: Kind = out(8, 8);
const FDSTAT: Kind = out(24, 8);
const FILESTAT: Kind = out(64, 8);
const PRESTAT: Kind = out(8, 4);
const ROFLAGS: Kind = out(2, 2);

use Kind::*;

/// Every function of preview 1, `proc_exit` included.
#[rustfmt::skip]
pub const FUNCTIONS: &[Function] = &[
    Function { name: "args_get", kinds: &[POINTERS, STRINGS] },
    Function { name: "args_sizes_get", kinds: &[SIZE, SIZE] },
    Function { name: "environ_get", kinds: &[POINTERS, STRINGS] },
    Function { name: "environ_sizes_get", kinds: &[SIZE, SIZE] },
    Function { name: "clock_res_get", kinds: &[ClockId, U64] },
    Function { name: "clock_time_get", kinds: &[ClockId, Precision, U64] },
    Function { name: "fd_advise", kinds: &[Fd, FileOffset, AdviseLen, Advice] },
    Function { name: "fd_allocate", kinds: &[Fd, AllocateOffset, AllocateLen] },
    Function { name: "fd_close", kinds: &[Fd] },
    Function { name: "fd_datasync", kinds: &[Fd] },
    Function { name: "fd_fdstat_get", kinds: &[Fd, FDSTAT] },
    Function { name: "fd_fdstat_set_flags", kinds: &[Fd, FdFlags] },
    Function { name: "fd_fdstat_set_rights", kinds: &[Fd, Rights, Rights] },
    Function { name: "fd_filestat_get", kinds: &[Fd, FILESTAT] },
    Function { name: "fd_filestat_set_size", kinds: &[Fd, FileSize] },
    Function { name: "fd_filestat_set_times", kinds: &[Fd, Timestamp, Timestamp, FstFlags] },
    Function { name: "fd_pread", kinds: &[Fd, ReadIovecs, FileOffset, SIZE] },
    Function { name: "fd_prestat_get", kinds: &[Fd, PRESTAT] },
    Function { name: "fd_prestat_dir_name", kinds: &[Fd, Buffer] },
    Function { name: "fd_pwrite", kinds: &[Fd, WriteIovecs, FileOffset, SIZE] },
    Function { name: "fd_read", kinds: &[Fd, ReadIovecs, SIZE] },
    Function { name: "fd_readdir", kinds: &[DirFd, Buffer, Cookie, SIZE] },
    Function { name: "fd_renumber", kinds: &[Fd, Fd] },
    Function { name: "fd_seek", kinds: &[Fd, SeekDelta, Whence, U64] },
    Function { name: "fd_sync", kinds: &[Fd] },
    Function { name: "fd_tell", kinds: &[Fd, U64] },
    Function { name: "fd_write", kinds: &[Fd, WriteIovecs, SIZE] },
    Function { name: "path_create_directory", kinds: &[DirFd, Path] },
    Function { name: "path_filestat_get", kinds: &[DirFd, LookupFlags, Path, FILESTAT] },
    Function {
        name: "path_filestat_set_times",
        kinds: &[DirFd, LookupFlags, Path, Timestamp, Timestamp, FstFlags],
    },
    Function { name: "path_link", kinds: &[DirFd, LookupFlags, Path, DirFd, Path] },
    Function {
        name: "path_open",
        kinds: &[DirFd, LookupFlags, Path, OFlags, Rights, Rights, FdFlags, NewFd],
    },
    Function { name: "path_readlink", kinds: &[DirFd, Path, Buffer, SIZE] },
    Function { name: "path_remove_directory", kinds: &[DirFd, Path] },
    Function { name: "path_rename", kinds: &[DirFd, Path, DirFd, Path] },
    Function { name: "path_symlink", kinds: &[LinkTarget, DirFd, Path] },
    Function { name: "path_unlink_file", kinds: &[DirFd, Path] },
    Function { name: "poll_oneoff", kinds: &[Subscriptions] },
    Function { name: "proc_exit", kinds: &[ExitCode] },
    Function { name: "proc_raise", kinds: &[Signal] },
    Function { name: "sched_yield", kinds: &[] },
    Function { name: "random_get", kinds: &[Buffer] },
    Function { name: "sock_accept", kinds: &[Fd, FdFlags, NewFd] },
    Function { name: "sock_recv", kinds: &[Fd, ReadIovecs, RiFlags, SIZE, ROFLAGS] },
    Function { name: "sock_send", kinds: &[Fd, WriteIovecs, SiFlags, SIZE] },
    Function { name: "sock_shutdown", kinds: &[Fd, SdFlags] },
];

/// The function named `name`.
///
/// # Panics
///
/// If preview 1 has no such function: the generator names only functions of the table.
pub fn function(name: &str) -> &'static Function {
    FUNCTIONS
        .iter()
        .find(|function| function.name == name)
        .unwrap_or_else(|| panic!("preview 1 has no function `{name}`"))
}
