//! The `sock_*` functions. A preview 1 program can hold no socket: it cannot open or accept
//! one, and the host passes none in. So every open descriptor is not a socket (`notsock`)
//! and any other number is `badf`, as in Wasmtime. Flag arguments with unknown bits are
//! refused first, as Wasmtime's argument decoding does.

#![allow(
    clippy::too_many_arguments,
    reason = "each function takes the parameters of its preview 1 signature"
)]

use crate::abi::{Errno, fdflags, sdflags};
use crate::error::{WasiResult, flags_argument};
use crate::guest::Guest;
use crate::state::Shared;

/// `riflags`: `recv_peek`, `recv_waitall`.
const RIFLAGS_ALL: u16 = 0b11;

pub(crate) fn sock_accept(
    cx: &Shared,
    _guest: &Guest<'_>,
    fd: u32,
    flags: u32,
    _accepted: u32,
) -> WasiResult<()> {
    flags_argument("fdflags", flags, fdflags::ALL)?;
    not_a_socket(cx, fd)
}

pub(crate) fn sock_recv(
    cx: &Shared,
    _guest: &Guest<'_>,
    fd: u32,
    _ri_data: u32,
    _ri_data_len: u32,
    ri_flags: u32,
    _ro_datalen: u32,
    _ro_flags: u32,
) -> WasiResult<()> {
    flags_argument("riflags", ri_flags, RIFLAGS_ALL)?;
    not_a_socket(cx, fd)
}

pub(crate) fn sock_send(
    cx: &Shared,
    _guest: &Guest<'_>,
    fd: u32,
    _si_data: u32,
    _si_data_len: u32,
    si_flags: u32,
    _so_datalen: u32,
) -> WasiResult<()> {
    // `siflags` has no flags at all.
    flags_argument("siflags", si_flags, 0)?;
    not_a_socket(cx, fd)
}

pub(crate) fn sock_shutdown(cx: &Shared, _guest: &Guest<'_>, fd: u32, how: u32) -> WasiResult<()> {
    flags_argument("sdflags", how, u16::from(sdflags::RD | sdflags::WR))?;
    not_a_socket(cx, fd)
}

fn not_a_socket(cx: &Shared, fd: u32) -> WasiResult<()> {
    cx.table.get(fd)?;
    Err(Errno::Notsock.into())
}
