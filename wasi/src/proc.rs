//! The process: `proc_exit`, `proc_raise`, `sched_yield`, and `random_get`.

use crate::abi::Errno;
use crate::ctx::I32Exit;
use crate::error::WasiResult;
use crate::guest::Guest;
use crate::state::Shared;

/// The first status Wasmtime refuses: statuses from 126 up mean "killed by a signal" to
/// shells, so a program cannot give them.
const FIRST_INVALID_STATUS: i32 = 126;

/// Ends the program from any thread: records the status (the first exit wins), stops every
/// other thread of the program, and unwinds the caller. A status outside `0..126` is a trap,
/// as in Wasmtime.
pub(crate) fn proc_exit(cx: &Shared, status: i32) -> Result<(), weft::Error> {
    if !(0..FIRST_INVALID_STATUS).contains(&status) {
        return Err(weft::Error::msg(format!(
            "proc_exit with the invalid status {status}: it must be in 0..{FIRST_INVALID_STATUS}"
        )));
    }
    let status = cx.exit.exit(status);
    Err(weft::Error::Host(Box::new(I32Exit(status))))
}

/// Signals are not part of preview 1 as implemented anywhere: Wasmtime answers `notsup`.
pub(crate) fn proc_raise(_cx: &Shared, _guest: &Guest<'_>, _signal: u32) -> WasiResult<()> {
    Err(Errno::Notsup.into())
}

pub(crate) fn sched_yield(_cx: &Shared, _guest: &Guest<'_>) -> WasiResult<()> {
    std::thread::yield_now();
    Ok(())
}

/// Fills the guest buffer with bytes from the host's cryptographic random source.
pub(crate) fn random_get(
    _cx: &Shared,
    guest: &Guest<'_>,
    buf: u32,
    buf_len: u32,
) -> WasiResult<()> {
    /// Filled and copied a chunk at a time, so a huge request needs no huge host buffer.
    const CHUNK: u32 = 64 * 1024;
    guest.check_range(buf, buf_len)?;
    let mut bytes = vec![0; CHUNK.min(buf_len) as usize];
    let mut done = 0;
    while done < buf_len {
        let take = CHUNK.min(buf_len - done) as usize;
        fill_random(&mut bytes[..take])?;
        guest.write_bytes(buf + done, &bytes[..take])?;
        done += take as u32;
    }
    Ok(())
}

fn fill_random(bytes: &mut [u8]) -> WasiResult<()> {
    use cap_rand::RngCore;
    cap_rand::rngs::OsRng::default(cap_rand::ambient_authority())
        .try_fill_bytes(bytes)
        .map_err(|_| Errno::Io.into())
}
