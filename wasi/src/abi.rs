//! The vocabulary of `wasi_snapshot_preview1`: error numbers, flags, enumerations and the
//! byte layouts of the structures guests pass, as the witx definitions give them. Every
//! other module names these instead of numbers.

/// The module name of every preview 1 import.
pub const MODULE: &str = "wasi_snapshot_preview1";

macro_rules! errnos {
    ($($name:ident = $value:literal, $text:literal;)*) => {
        /// A preview 1 error number, as the guest receives it.
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        #[repr(u16)]
        pub enum Errno {
            $(#[doc = $text] $name = $value,)*
        }

        impl Errno {
            /// The witx name, for messages.
            pub fn name(self) -> &'static str {
                match self {
                    $(Errno::$name => stringify!($name),)*
                }
            }
        }
    };
}

errnos! {
    Success = 0, "No error occurred.";
    TooBig = 1, "Argument list too long.";
    Acces = 2, "Permission denied.";
    Addrinuse = 3, "Address in use.";
    Addrnotavail = 4, "Address not available.";
    Afnosupport = 5, "Address family not supported.";
    Again = 6, "Resource unavailable, or operation would block.";
    Already = 7, "Connection already in progress.";
    Badf = 8, "Bad file descriptor.";
    Badmsg = 9, "Bad message.";
    Busy = 10, "Device or resource busy.";
    Canceled = 11, "Operation canceled.";
    Child = 12, "No child processes.";
    Connaborted = 13, "Connection aborted.";
    Connrefused = 14, "Connection refused.";
    Connreset = 15, "Connection reset.";
    Deadlk = 16, "Resource deadlock would occur.";
    Destaddrreq = 17, "Destination address required.";
    Dom = 18, "Mathematics argument out of domain of function.";
    Dquot = 19, "Reserved.";
    Exist = 20, "File exists.";
    Fault = 21, "Bad address.";
    Fbig = 22, "File too large.";
    Hostunreach = 23, "Host is unreachable.";
    Idrm = 24, "Identifier removed.";
    Ilseq = 25, "Illegal byte sequence.";
    Inprogress = 26, "Operation in progress.";
    Intr = 27, "Interrupted function.";
    Inval = 28, "Invalid argument.";
    Io = 29, "I/O error.";
    Isconn = 30, "Socket is connected.";
    Isdir = 31, "Is a directory.";
    Loop = 32, "Too many levels of symbolic links.";
    Mfile = 33, "File descriptor value too large.";
    Mlink = 34, "Too many links.";
    Msgsize = 35, "Message too large.";
    Multihop = 36, "Reserved.";
    Nametoolong = 37, "Filename too long.";
    Netdown = 38, "Network is down.";
    Netreset = 39, "Connection aborted by network.";
    Netunreach = 40, "Network unreachable.";
    Nfile = 41, "Too many files open in system.";
    Nobufs = 42, "No buffer space available.";
    Nodev = 43, "No such device.";
    Noent = 44, "No such file or directory.";
    Noexec = 45, "Executable file format error.";
    Nolck = 46, "No locks available.";
    Nolink = 47, "Reserved.";
    Nomem = 48, "Not enough space.";
    Nomsg = 49, "No message of the desired type.";
    Noprotoopt = 50, "Protocol not available.";
    Nospc = 51, "No space left on device.";
    Nosys = 52, "Function not supported.";
    Notconn = 53, "The socket is not connected.";
    Notdir = 54, "Not a directory or a symbolic link to a directory.";
    Notempty = 55, "Directory not empty.";
    Notrecoverable = 56, "State not recoverable.";
    Notsock = 57, "Not a socket.";
    Notsup = 58, "Not supported, or operation not supported on socket.";
    Notty = 59, "Inappropriate I/O control operation.";
    Nxio = 60, "No such device or address.";
    Overflow = 61, "Value too large to be stored in data type.";
    Ownerdead = 62, "Previous owner died.";
    Perm = 63, "Operation not permitted.";
    Pipe = 64, "Broken pipe.";
    Proto = 65, "Protocol error.";
    Protonosupport = 66, "Protocol not supported.";
    Prototype = 67, "Protocol wrong type for socket.";
    Range = 68, "Result too large.";
    Rofs = 69, "Read-only file system.";
    Spipe = 70, "Invalid seek.";
    Srch = 71, "No such process.";
    Stale = 72, "Reserved.";
    Timedout = 73, "Connection timed out.";
    Txtbsy = 74, "Text file busy.";
    Xdev = 75, "Cross-device link.";
    Notcapable = 76, "Extension: Capabilities insufficient.";
}

/// `filetype`: what a descriptor or directory entry refers to.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Filetype {
    Unknown = 0,
    BlockDevice = 1,
    CharacterDevice = 2,
    Directory = 3,
    RegularFile = 4,
    SocketDgram = 5,
    SocketStream = 6,
    SymbolicLink = 7,
}

/// `clockid`.
pub mod clockid {
    pub const REALTIME: u32 = 0;
    pub const MONOTONIC: u32 = 1;
    pub const PROCESS_CPUTIME: u32 = 2;
    pub const THREAD_CPUTIME: u32 = 3;
}

/// `whence`: the base of `fd_seek`'s offset.
pub mod whence {
    pub const SET: u32 = 0;
    pub const CUR: u32 = 1;
    pub const END: u32 = 2;
}

/// `advice`, for `fd_advise`.
pub mod advice {
    pub const NORMAL: u32 = 0;
    pub const SEQUENTIAL: u32 = 1;
    pub const RANDOM: u32 = 2;
    pub const WILLNEED: u32 = 3;
    pub const DONTNEED: u32 = 4;
    pub const NOREUSE: u32 = 5;
}

/// `fdflags` bits.
pub mod fdflags {
    pub const APPEND: u16 = 1 << 0;
    pub const DSYNC: u16 = 1 << 1;
    pub const NONBLOCK: u16 = 1 << 2;
    pub const RSYNC: u16 = 1 << 3;
    pub const SYNC: u16 = 1 << 4;
    pub const ALL: u16 = APPEND | DSYNC | NONBLOCK | RSYNC | SYNC;
}

/// `oflags` bits, for `path_open`.
pub mod oflags {
    pub const CREAT: u16 = 1 << 0;
    pub const DIRECTORY: u16 = 1 << 1;
    pub const EXCL: u16 = 1 << 2;
    pub const TRUNC: u16 = 1 << 3;
    pub const ALL: u16 = CREAT | DIRECTORY | EXCL | TRUNC;
}

/// `lookupflags` bits.
pub mod lookupflags {
    pub const SYMLINK_FOLLOW: u32 = 1 << 0;
}

/// `fstflags` bits, for the `*_set_times` functions.
pub mod fstflags {
    pub const ATIM: u16 = 1 << 0;
    pub const ATIM_NOW: u16 = 1 << 1;
    pub const MTIM: u16 = 1 << 2;
    pub const MTIM_NOW: u16 = 1 << 3;
    pub const ALL: u16 = ATIM | ATIM_NOW | MTIM | MTIM_NOW;
}

/// `eventtype`, for `poll_oneoff`.
pub mod eventtype {
    pub const CLOCK: u8 = 0;
    pub const FD_READ: u8 = 1;
    pub const FD_WRITE: u8 = 2;
}

/// `subclockflags` bits.
pub mod subclockflags {
    pub const ABSTIME: u16 = 1 << 0;
}

/// `eventrwflags` bits.
pub mod eventrwflags {
    pub const HANGUP: u16 = 1 << 0;
}

/// `sdflags` bits, for `sock_shutdown`.
pub mod sdflags {
    pub const RD: u8 = 1 << 0;
    pub const WR: u8 = 1 << 1;
}

/// `preopentype`.
pub mod preopentype {
    pub const DIR: u8 = 0;
}

/// `rights` bits.
pub mod rights {
    pub const FD_DATASYNC: u64 = 1 << 0;
    pub const FD_READ: u64 = 1 << 1;
    pub const FD_SEEK: u64 = 1 << 2;
    pub const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
    pub const FD_SYNC: u64 = 1 << 4;
    pub const FD_TELL: u64 = 1 << 5;
    pub const FD_WRITE: u64 = 1 << 6;
    pub const FD_ADVISE: u64 = 1 << 7;
    pub const FD_ALLOCATE: u64 = 1 << 8;
    pub const PATH_CREATE_DIRECTORY: u64 = 1 << 9;
    pub const PATH_CREATE_FILE: u64 = 1 << 10;
    pub const PATH_LINK_SOURCE: u64 = 1 << 11;
    pub const PATH_LINK_TARGET: u64 = 1 << 12;
    pub const PATH_OPEN: u64 = 1 << 13;
    pub const FD_READDIR: u64 = 1 << 14;
    pub const PATH_READLINK: u64 = 1 << 15;
    pub const PATH_RENAME_SOURCE: u64 = 1 << 16;
    pub const PATH_RENAME_TARGET: u64 = 1 << 17;
    pub const PATH_FILESTAT_GET: u64 = 1 << 18;
    pub const PATH_FILESTAT_SET_SIZE: u64 = 1 << 19;
    pub const PATH_FILESTAT_SET_TIMES: u64 = 1 << 20;
    pub const FD_FILESTAT_GET: u64 = 1 << 21;
    pub const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
    pub const FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
    pub const PATH_SYMLINK: u64 = 1 << 24;
    pub const PATH_REMOVE_DIRECTORY: u64 = 1 << 25;
    pub const PATH_UNLINK_FILE: u64 = 1 << 26;
    pub const POLL_FD_READWRITE: u64 = 1 << 27;
    pub const SOCK_SHUTDOWN: u64 = 1 << 28;
    pub const SOCK_ACCEPT: u64 = 1 << 29;
    pub const ALL: u64 = (1 << 30) - 1;
}

/// Byte sizes and field offsets of the structures in guest memory (wasm32, little-endian).
pub mod layout {
    /// `iovec` and `ciovec`: `buf: u32` at 0, `buf_len: u32` at 4.
    pub const IOVEC_SIZE: u32 = 8;
    /// `fdstat`: `fs_filetype: u8` at 0, `fs_flags: u16` at 2, `fs_rights_base: u64` at 8,
    /// `fs_rights_inheriting: u64` at 16.
    pub const FDSTAT_SIZE: u32 = 24;
    /// `filestat`: `dev` 0, `ino` 8, `filetype: u8` 16, `nlink` 24, `size` 32, `atim` 40,
    /// `mtim` 48, `ctim` 56 (all u64 but the filetype).
    pub const FILESTAT_SIZE: u32 = 64;
    /// `prestat`: `tag: u8` at 0, `pr_name_len: u32` at 4.
    pub const PRESTAT_SIZE: u32 = 8;
    /// `dirent` header: `d_next: u64` at 0, `d_ino: u64` at 8, `d_namlen: u32` at 16,
    /// `d_type: u8` at 20; the name follows the header.
    pub const DIRENT_SIZE: u32 = 24;
    /// `subscription`: `userdata: u64` at 0, the tag `u8` at 8, the body at 16: for a clock
    /// `id: u32` at 16, `timeout: u64` at 24, `precision: u64` at 32, `flags: u16` at 40; for
    /// a descriptor `fd: u32` at 16.
    pub const SUBSCRIPTION_SIZE: u32 = 48;
    /// `event`: `userdata: u64` at 0, `error: u16` at 8, `type: u8` at 10,
    /// `fd_readwrite.nbytes: u64` at 16, `fd_readwrite.flags: u16` at 24.
    pub const EVENT_SIZE: u32 = 32;
}
