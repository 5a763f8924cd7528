//! Moving bytes: `fd_read`, `fd_write`, `fd_pread` and `fd_pwrite`, on standard streams and
//! files.
//!
//! As in Wasmtime, one call moves the bytes of the first non-empty buffer of its iovec
//! array only; a short count is normal and every libc loops. Guest bytes are copied into a
//! host buffer before a write and out of one after a read, so no host call ever sees guest
//! memory.
//!
//! Files are read and written at the position the host keeps for the descriptor
//! (`pread`/`pwrite`), never at the operating system's file offset; an append-mode
//! descriptor writes at the end of the file whatever the position or offset (Linux's
//! `pwrite` on `O_APPEND`).

use crate::abi::Errno;
use crate::blocking;
use crate::descriptor::{Descriptor, FileDescriptor, Output, Stdin};
use crate::error::WasiResult;
use crate::guest::{Guest, IoVec};
use crate::state::Shared;
use system_interface::fs::FileIoExt;

/// The most one call moves: a guest asking for more gets a short count, and the host
/// never allocates what the guest merely claims.
const MAX_TRANSFER: u32 = 16 << 20;

pub(crate) fn fd_read(
    cx: &Shared,
    guest: &Guest<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nread: u32,
) -> WasiResult<()> {
    let target = first_buffer(guest, iovs, iovs_len)?;
    let descriptor = cx.table.get(fd)?;
    let mut buffer = vec![0; target.len as usize];
    let read = match &*descriptor {
        Descriptor::File(file) => read_file(file, &mut buffer, At::Position)?,
        Descriptor::Stdin(stdin) => read_stdin(stdin, &mut buffer)?,
        Descriptor::Output(_) | Descriptor::Dir(_) => return Err(Errno::Badf.into()),
    };
    finish_read(guest, target, &buffer[..read], nread)
}

pub(crate) fn fd_pread(
    cx: &Shared,
    guest: &Guest<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    offset: u64,
    nread: u32,
) -> WasiResult<()> {
    let target = first_buffer(guest, iovs, iovs_len)?;
    let descriptor = cx.table.get(fd)?;
    let file = match &*descriptor {
        Descriptor::File(file) => file,
        Descriptor::Stdin(_) => return Err(Errno::Spipe.into()),
        Descriptor::Output(_) | Descriptor::Dir(_) => return Err(Errno::Badf.into()),
    };
    let mut buffer = vec![0; target.len as usize];
    let read = read_file(file, &mut buffer, At::Offset(offset))?;
    finish_read(guest, target, &buffer[..read], nread)
}

pub(crate) fn fd_write(
    cx: &Shared,
    guest: &Guest<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nwritten: u32,
) -> WasiResult<()> {
    let source = first_buffer(guest, iovs, iovs_len)?;
    let descriptor = cx.table.get(fd)?;
    let written = match &*descriptor {
        Descriptor::File(file) => write_file(file, &guest_bytes(guest, source)?, At::Position)?,
        Descriptor::Output(output) => write_output(output, &guest_bytes(guest, source)?)?,
        Descriptor::Stdin(_) | Descriptor::Dir(_) => return Err(Errno::Badf.into()),
    };
    guest.write_u32(nwritten, written as u32)
}

pub(crate) fn fd_pwrite(
    cx: &Shared,
    guest: &Guest<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    offset: u64,
    nwritten: u32,
) -> WasiResult<()> {
    let source = first_buffer(guest, iovs, iovs_len)?;
    let descriptor = cx.table.get(fd)?;
    let file = match &*descriptor {
        Descriptor::File(file) => file,
        Descriptor::Output(_) => return Err(Errno::Spipe.into()),
        Descriptor::Stdin(_) | Descriptor::Dir(_) => return Err(Errno::Badf.into()),
    };
    let written = write_file(file, &guest_bytes(guest, source)?, At::Offset(offset))?;
    guest.write_u32(nwritten, written as u32)
}

/// The buffer of an iovec array that one call moves: the first non-empty one (an empty one
/// if all are), cut to [`MAX_TRANSFER`].
fn first_buffer(guest: &Guest<'_>, iovs: u32, iovs_len: u32) -> WasiResult<IoVec> {
    let buffer = guest
        .iovecs(iovs, iovs_len)?
        .into_iter()
        .find(|vector| vector.len > 0)
        .unwrap_or(IoVec { buf: 0, len: 0 });
    Ok(IoVec {
        buf: buffer.buf,
        len: buffer.len.min(MAX_TRANSFER),
    })
}

fn guest_bytes(guest: &Guest<'_>, source: IoVec) -> WasiResult<Vec<u8>> {
    guest.read_bytes(source.buf, source.len)
}

fn finish_read(guest: &Guest<'_>, target: IoVec, data: &[u8], nread: u32) -> WasiResult<()> {
    guest.write_bytes(target.buf, data)?;
    guest.write_u32(nread, data.len() as u32)
}

/// Where in a file a transfer happens.
#[derive(Copy, Clone)]
enum At {
    /// At the descriptor's position, which then moves past the bytes moved.
    Position,
    /// At an offset the call gives; the position stays.
    Offset(u64),
}

fn read_file(file: &FileDescriptor, buffer: &mut [u8], at: At) -> WasiResult<usize> {
    file.check_read()?;
    let read = match at {
        At::Position => {
            let mut position = file.position();
            let read = file.file.read_at(buffer, *position)?;
            *position = advance(*position, read)?;
            read
        }
        At::Offset(offset) => file.file.read_at(buffer, offset)?,
    };
    Ok(read)
}

/// Writes to a file. There is no permission check here: a file is only ever opened for
/// writing when its preopen allows it, and the host refuses writes to a file opened
/// read-only (`badf`, as in Wasmtime).
fn write_file(file: &FileDescriptor, data: &[u8], at: At) -> WasiResult<usize> {
    if file.appends() {
        // At the position, which then moves to the new end; at an offset, it stays.
        let position = matches!(at, At::Position).then(|| file.position());
        let written = file.file.append(data)?;
        if let Some(mut position) = position {
            *position = file.file.metadata()?.len();
        }
        return Ok(written);
    }
    let written = match at {
        At::Position => {
            let mut position = file.position();
            let written = file.file.write_at(data, *position)?;
            *position = advance(*position, written)?;
            written
        }
        At::Offset(offset) => file.file.write_at(data, offset)?,
    };
    Ok(written)
}

fn advance(position: u64, moved: usize) -> WasiResult<u64> {
    position
        .checked_add(moved as u64)
        .ok_or_else(|| Errno::Overflow.into())
}

/// Reads standard input. The host's is polled first, with the wait interruptible, so a
/// thread blocked here is stopped at once when its program exits or is terminated.
fn read_stdin(stdin: &Stdin, buffer: &mut [u8]) -> WasiResult<usize> {
    match stdin {
        Stdin::Empty => Ok(0),
        Stdin::Pipe(pipe) => {
            let mut bytes = pipe.0.lock().unwrap_or_else(|e| e.into_inner());
            let take = buffer.len().min(bytes.len());
            for (slot, byte) in buffer.iter_mut().zip(bytes.drain(..take)) {
                *slot = byte;
            }
            Ok(take)
        }
        Stdin::Inherited | Stdin::Host(_) => {
            let host = stdin.host_fd().expect("a host descriptor");
            if buffer.is_empty() {
                return Ok(0);
            }
            blocking::wait_readable(host)?;
            Ok(rustix::io::read(host, buffer)?)
        }
    }
}

/// Writes all of `data` to an output stream.
fn write_output(output: &Output, data: &[u8]) -> WasiResult<usize> {
    match output {
        Output::Discard => {}
        Output::HostStdout => write_all_fd(std::io::stdout(), data)?,
        Output::HostStderr => write_all_fd(std::io::stderr(), data)?,
        Output::Pipe(pipe) => pipe
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(data),
    }
    Ok(data.len())
}

/// Writes straight to the host descriptor, past Rust's own buffering of stdout, so the
/// guest's output is ordered as the guest wrote it.
fn write_all_fd(fd: impl rustix::fd::AsFd, mut data: &[u8]) -> WasiResult<()> {
    while !data.is_empty() {
        match rustix::io::write(&fd, data) {
            Ok(0) => return Err(Errno::Io.into()),
            Ok(written) => data = &data[written..],
            Err(rustix::io::Errno::INTR) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
}
