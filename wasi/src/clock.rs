//! `clock_res_get` and `clock_time_get`: wall-clock, monotonic, and the process's and the
//! calling thread's CPU time, in nanoseconds. Wasmtime answers `badf` for the two CPU-time
//! clocks; weft reads them from the host, since programs that measure their own threads need
//! them.

use crate::abi::clockid;
use crate::error::{WasiResult, bad_argument};
use crate::guest::Guest;
use crate::state::Shared;
use rustix::time::{ClockId, Timespec, clock_getres, clock_gettime};

/// The host clock behind a preview 1 clock id. An unknown id is a host error, as Wasmtime's
/// argument decoding makes it.
pub(crate) fn host_clock(id: u32) -> WasiResult<ClockId> {
    Ok(match id {
        clockid::REALTIME => ClockId::Realtime,
        clockid::MONOTONIC => ClockId::Monotonic,
        clockid::PROCESS_CPUTIME => ClockId::ProcessCPUTime,
        clockid::THREAD_CPUTIME => ClockId::ThreadCPUTime,
        _ => return Err(bad_argument("clockid", id)),
    })
}

fn nanos(time: Timespec) -> u64 {
    (time.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(time.tv_nsec as u64)
}

/// The current time of a preview 1 clock, in nanoseconds. The monotonic clock counts from
/// the context's creation, as in Wasmtime, so a program learns nothing of the host's uptime.
pub(crate) fn now(cx: &Shared, id: u32) -> WasiResult<u64> {
    let time = nanos(clock_gettime(host_clock(id)?));
    Ok(if id == clockid::MONOTONIC {
        time.saturating_sub(cx.monotonic_epoch)
    } else {
        time
    })
}

/// The host's monotonic clock now, in nanoseconds: a context's epoch.
pub(crate) fn host_monotonic() -> u64 {
    nanos(clock_gettime(ClockId::Monotonic))
}

pub(crate) fn clock_res_get(
    _cx: &Shared,
    guest: &Guest<'_>,
    id: u32,
    resolution: u32,
) -> WasiResult<()> {
    let resolution_ns = nanos(clock_getres(host_clock(id)?)).max(1);
    guest.write_u64(resolution, resolution_ns)
}

pub(crate) fn clock_time_get(
    cx: &Shared,
    guest: &Guest<'_>,
    id: u32,
    _precision: u64,
    time: u32,
) -> WasiResult<()> {
    guest.write_u64(time, now(cx, id)?)
}
