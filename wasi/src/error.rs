//! How a WASI function fails: an error number the guest receives, or a trap that unwinds it
//! (a bad pointer, `proc_exit`, termination). Host errors become error numbers here, once.

use crate::abi::Errno;
use rustix::io::Errno as Os;
use std::io;

/// A WASI function's failure.
#[derive(Debug)]
pub(crate) enum WasiError {
    /// Returned to the guest.
    Errno(Errno),
    /// Unwinds the calling wasm thread with this error.
    Trap(weft::Error),
}

pub(crate) type WasiResult<T> = Result<T, WasiError>;

impl WasiError {
    pub fn trap_message(message: impl std::fmt::Display) -> WasiError {
        WasiError::Trap(weft::Error::msg(message))
    }
}

impl From<Errno> for WasiError {
    fn from(errno: Errno) -> Self {
        WasiError::Errno(errno)
    }
}

impl From<io::Error> for WasiError {
    fn from(error: io::Error) -> Self {
        WasiError::Errno(errno_of(&error))
    }
}

impl From<Os> for WasiError {
    fn from(error: Os) -> Self {
        WasiError::Errno(errno_of_os(error))
    }
}

/// A scalar argument its witx type cannot hold: an enum value past the last case, a flags
/// value with an undefined bit. Wasmtime's generated bindings refuse such an argument before
/// the function runs, as a host error that unwinds the caller, not as an errno; so does weft.
pub(crate) fn bad_argument(ty: &str, value: impl std::fmt::Display) -> WasiError {
    WasiError::trap_message(format!("invalid value {value} for a `{ty}` argument"))
}

/// A flags argument of the witx type `ty`, whose defined bits are `defined`.
pub(crate) fn flags_argument(ty: &str, value: u32, defined: u16) -> WasiResult<u16> {
    u16::try_from(value)
        .ok()
        .filter(|flags| flags & !defined == 0)
        .ok_or_else(|| bad_argument(ty, format_args!("{value:#x}")))
}

/// The preview 1 error number for a host I/O error.
pub(crate) fn errno_of(error: &io::Error) -> Errno {
    if let Some(os) = Os::from_io_error(error) {
        return errno_of_os(os);
    }
    match error.kind() {
        io::ErrorKind::NotFound => Errno::Noent,
        io::ErrorKind::PermissionDenied => Errno::Perm,
        io::ErrorKind::AlreadyExists => Errno::Exist,
        io::ErrorKind::InvalidInput => Errno::Inval,
        io::ErrorKind::InvalidData => Errno::Ilseq,
        io::ErrorKind::Unsupported => Errno::Notsup,
        io::ErrorKind::WouldBlock => Errno::Again,
        io::ErrorKind::Interrupted => Errno::Intr,
        io::ErrorKind::BrokenPipe => Errno::Pipe,
        io::ErrorKind::OutOfMemory => Errno::Nomem,
        _ => Errno::Io,
    }
}

/// The preview 1 error number for a host errno.
pub(crate) fn errno_of_os(os: Os) -> Errno {
    const TABLE: &[(Os, Errno)] = &[
        (Os::TOOBIG, Errno::TooBig),
        (Os::ACCESS, Errno::Acces),
        (Os::ADDRINUSE, Errno::Addrinuse),
        (Os::ADDRNOTAVAIL, Errno::Addrnotavail),
        (Os::AFNOSUPPORT, Errno::Afnosupport),
        (Os::AGAIN, Errno::Again),
        (Os::ALREADY, Errno::Already),
        (Os::BADF, Errno::Badf),
        (Os::BADMSG, Errno::Badmsg),
        (Os::BUSY, Errno::Busy),
        (Os::CANCELED, Errno::Canceled),
        (Os::CHILD, Errno::Child),
        (Os::CONNABORTED, Errno::Connaborted),
        (Os::CONNREFUSED, Errno::Connrefused),
        (Os::CONNRESET, Errno::Connreset),
        (Os::DEADLK, Errno::Deadlk),
        (Os::DESTADDRREQ, Errno::Destaddrreq),
        (Os::DOM, Errno::Dom),
        (Os::DQUOT, Errno::Dquot),
        (Os::EXIST, Errno::Exist),
        (Os::FAULT, Errno::Fault),
        (Os::FBIG, Errno::Fbig),
        (Os::HOSTUNREACH, Errno::Hostunreach),
        (Os::IDRM, Errno::Idrm),
        (Os::ILSEQ, Errno::Ilseq),
        (Os::INPROGRESS, Errno::Inprogress),
        (Os::INTR, Errno::Intr),
        (Os::INVAL, Errno::Inval),
        (Os::IO, Errno::Io),
        (Os::ISCONN, Errno::Isconn),
        (Os::ISDIR, Errno::Isdir),
        (Os::LOOP, Errno::Loop),
        (Os::MFILE, Errno::Mfile),
        (Os::MLINK, Errno::Mlink),
        (Os::MSGSIZE, Errno::Msgsize),
        (Os::MULTIHOP, Errno::Multihop),
        (Os::NAMETOOLONG, Errno::Nametoolong),
        (Os::NETDOWN, Errno::Netdown),
        (Os::NETRESET, Errno::Netreset),
        (Os::NETUNREACH, Errno::Netunreach),
        (Os::NFILE, Errno::Nfile),
        (Os::NOBUFS, Errno::Nobufs),
        (Os::NODEV, Errno::Nodev),
        (Os::NOENT, Errno::Noent),
        (Os::NOEXEC, Errno::Noexec),
        (Os::NOLCK, Errno::Nolck),
        (Os::NOLINK, Errno::Nolink),
        (Os::NOMEM, Errno::Nomem),
        (Os::NOMSG, Errno::Nomsg),
        (Os::NOPROTOOPT, Errno::Noprotoopt),
        (Os::NOSPC, Errno::Nospc),
        (Os::NOSYS, Errno::Nosys),
        (Os::NOTCONN, Errno::Notconn),
        (Os::NOTDIR, Errno::Notdir),
        (Os::NOTEMPTY, Errno::Notempty),
        (Os::NOTRECOVERABLE, Errno::Notrecoverable),
        (Os::NOTSOCK, Errno::Notsock),
        (Os::NOTSUP, Errno::Notsup),
        (Os::NOTTY, Errno::Notty),
        (Os::NXIO, Errno::Nxio),
        (Os::OVERFLOW, Errno::Overflow),
        (Os::OWNERDEAD, Errno::Ownerdead),
        (Os::PERM, Errno::Perm),
        (Os::PIPE, Errno::Pipe),
        (Os::PROTO, Errno::Proto),
        (Os::PROTONOSUPPORT, Errno::Protonosupport),
        (Os::PROTOTYPE, Errno::Prototype),
        (Os::RANGE, Errno::Range),
        (Os::ROFS, Errno::Rofs),
        (Os::SPIPE, Errno::Spipe),
        (Os::SRCH, Errno::Srch),
        (Os::STALE, Errno::Stale),
        (Os::TIMEDOUT, Errno::Timedout),
        (Os::TXTBSY, Errno::Txtbsy),
        (Os::XDEV, Errno::Xdev),
    ];
    TABLE
        .iter()
        .find(|(host, _)| *host == os)
        .map_or(Errno::Io, |(_, errno)| *errno)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_errors_map_to_their_preview1_numbers() {
        let missing = io::Error::from_raw_os_error(Os::NOENT.raw_os_error());
        assert_eq!(errno_of(&missing), Errno::Noent);
        assert_eq!(errno_of_os(Os::NOTEMPTY), Errno::Notempty);
        assert_eq!(errno_of(&io::Error::other("odd")), Errno::Io);
    }

    #[test]
    fn sandbox_escapes_are_perm() {
        // What cap-std reports for a path that leads out of its directory.
        let escape = io::Error::new(
            io::ErrorKind::PermissionDenied,
            "a path led outside of the filesystem",
        );
        assert_eq!(errno_of(&escape), Errno::Perm);
    }

    #[test]
    fn flags_outside_their_type_are_host_errors() {
        assert!(matches!(flags_argument("t", 0b101, 0b111), Ok(0b101)));
        for value in [0b1000, 0x1_0000] {
            assert!(matches!(
                flags_argument("t", value, 0b111),
                Err(WasiError::Trap(_))
            ));
        }
    }
}
