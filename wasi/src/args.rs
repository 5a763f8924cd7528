//! `args_*` and `environ_*`: the program's arguments and environment, as arrays of pointers
//! to NUL-terminated strings packed in one guest buffer.

use crate::error::WasiResult;
use crate::guest::Guest;
use crate::state::Shared;

pub(crate) fn args_get(cx: &Shared, guest: &Guest<'_>, argv: u32, argv_buf: u32) -> WasiResult<()> {
    write_strings(guest, &cx.args, argv, argv_buf)
}

pub(crate) fn args_sizes_get(
    cx: &Shared,
    guest: &Guest<'_>,
    argc: u32,
    argv_buf_size: u32,
) -> WasiResult<()> {
    write_sizes(guest, &cx.args, argc, argv_buf_size)
}

pub(crate) fn environ_get(
    cx: &Shared,
    guest: &Guest<'_>,
    environ: u32,
    environ_buf: u32,
) -> WasiResult<()> {
    write_strings(guest, &cx.env, environ, environ_buf)
}

pub(crate) fn environ_sizes_get(
    cx: &Shared,
    guest: &Guest<'_>,
    count: u32,
    buf_size: u32,
) -> WasiResult<()> {
    write_sizes(guest, &cx.env, count, buf_size)
}

/// Writes the strings, each NUL-terminated, one after another at `buf`, and a pointer to each
/// at `pointers`.
fn write_strings(guest: &Guest<'_>, strings: &[String], pointers: u32, buf: u32) -> WasiResult<()> {
    let mut cursor = buf;
    for (index, string) in (0u32..).zip(strings) {
        guest.write_u32(pointers.wrapping_add(index * 4), cursor)?;
        let mut bytes = Vec::with_capacity(string.len() + 1);
        bytes.extend_from_slice(string.as_bytes());
        bytes.push(0);
        guest.write_bytes(cursor, &bytes)?;
        cursor = cursor.wrapping_add(bytes.len() as u32);
    }
    Ok(())
}

/// Writes how many strings there are and the bytes they take with their terminators.
fn write_sizes(guest: &Guest<'_>, strings: &[String], count: u32, size: u32) -> WasiResult<()> {
    let bytes: usize = strings.iter().map(|s| s.len() + 1).sum();
    guest.write_u32(count, strings.len() as u32)?;
    guest.write_u32(size, bytes as u32)
}
