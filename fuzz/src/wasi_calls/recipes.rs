//! Sequences of calls that build on each other, so that the cases reach what single random
//! calls seldom do: open a way out and read what it gives into memory (where the canary
//! check looks), plant a link that leads out and follow it, climb out of an opened
//! subdirectory, move or hard-link the links that lead out, do file I/O on a descriptor
//! that is really open, list directories, renumber descriptors, poll.

use super::args::FdRole;
use super::calls::Kind;
use super::paths;
use super::program::{Call, FdSource, Generator, Operand};
use rand::Rng;
use rand::seq::SliceRandom;
use weft_wasi::abi::{fdflags, oflags, rights};

/// Adds one sequence, chosen at random.
pub fn any(g: &mut Generator) {
    match g.rng.gen_range(0..100) {
        0..20 => read_through_escape(g),
        20..28 => write_through_escape(g),
        28..38 => plant_link(g),
        38..48 => climb_from_subdirectory(g),
        48..55 => move_link(g),
        55..61 => hard_link(g),
        61..78 => file_io(g),
        78..86 => list_directory(g),
        86..92 => renumber(g),
        92..96 => g.call_with("poll_oneoff", |_, _, _| false),
        _ => make_directories(g),
    }
}

/// Opens a way out for reading and reads from what it gave, into memory.
fn read_through_escape(g: &mut Generator) {
    let dir = dir(g);
    let path = paths::escape(&mut g.rng);
    let follow = g.rng.gen_bool(0.7);
    let flags = if g.rng.gen_ratio(1, 5) {
        oflags::DIRECTORY
    } else {
        0
    };
    let fd = open(g, dir, follow, path, flags, rights::FD_READ, 0);
    read_all(g, fd);
}

/// Opens a way out for writing (creating or truncating, now and then) and changes what it
/// gave.
fn write_through_escape(g: &mut Generator) {
    let dir = dir(g);
    let path = paths::escape(&mut g.rng);
    let follow = g.rng.gen_bool(0.7);
    let flags = pick(
        g,
        &[
            0,
            oflags::CREAT,
            oflags::CREAT | oflags::TRUNC,
            oflags::TRUNC,
        ],
    );
    let fdflags = pick(g, &[0, fdflags::APPEND]);
    let fd = open(g, dir, follow, path, flags, rights::FD_WRITE, fdflags);
    write_some(g, fd);
    let change = pick(
        g,
        &[
            "fd_filestat_set_size",
            "fd_allocate",
            "fd_filestat_set_times",
            "fd_pwrite",
            "fd_write",
        ],
    );
    call_on_fd(g, change, fd);
}

/// Makes a link (mostly one that leads out) and goes through it.
fn plant_link(g: &mut Generator) {
    let dir = dir(g);
    let name = pick(g, paths::NEW);
    let target = paths::link_target(&mut g.rng);
    g.call_with("path_symlink", |g, call, (_, kind)| match kind {
        Kind::LinkTarget => {
            g.path(call, target.clone(), false);
            true
        }
        Kind::DirFd => pin(call, dir),
        Kind::Path => {
            g.path(call, name.as_bytes().to_vec(), true);
            true
        }
        _ => false,
    });
    let through = pick(g, &["", "/canary", "/inner/note", "/", "/outside/canary"]);
    let path = format!("{name}{through}").into_bytes();
    match g.rng.gen_range(0..4) {
        0 => call_on_path(g, "path_filestat_get", dir, path),
        1 => call_on_path(g, "path_readlink", dir, path),
        _ => {
            let fd = open(g, dir, true, path, 0, rights::FD_READ, 0);
            read_all(g, fd);
        }
    }
}

/// Opens a subdirectory (or a link to one), then resolves paths under it that climb out
/// of it.
fn climb_from_subdirectory(g: &mut Generator) {
    let preopen = dir(g);
    let subdirectory = pick(g, &["sub", "dir_link", "sub/up", ".", "sub/"]);
    let sub = open(
        g,
        preopen,
        true,
        subdirectory.as_bytes().to_vec(),
        oflags::DIRECTORY,
        rights::FD_READ | rights::FD_READDIR,
        0,
    );
    let path = pick(
        g,
        &[
            "..",
            "../file",
            "../outside/canary",
            "up/../file",
            "up/../../outside/canary",
            "up2/outside/canary",
            "inner",
            "up/file",
            "./inner",
            "/sub/inner",
        ],
    )
    .as_bytes()
    .to_vec();
    match g.rng.gen_range(0..6) {
        0 => call_on_path(g, "path_filestat_get", sub, path),
        1 => call_on_path(g, "path_create_directory", sub, path),
        2 => call_on_path(g, "path_unlink_file", sub, path),
        _ => {
            let follow = g.rng.gen_bool(0.5);
            let fd = open(g, sub, follow, path, 0, rights::FD_READ, 0);
            read_all(g, fd);
        }
    }
}

/// Renames an entry (a link that leads out, mostly) elsewhere, maybe out, and goes through
/// it at its new place.
fn move_link(g: &mut Generator) {
    let from_dir = dir(g);
    let to_dir = dir(g);
    let from = pick(
        g,
        &[
            "escape",
            "abs",
            "abs_file",
            "sub/up2",
            "dir_link",
            "sub",
            "file",
            "link_to_file",
        ],
    );
    let to = pick(
        g,
        &[
            "sub/moved",
            "new0",
            "moved",
            "../stolen",
            "sub/up2/stolen",
            "escape/stolen",
            "new1/",
        ],
    );
    g.call_with("path_rename", |g, call, (index, kind)| {
        match (index, kind) {
            (0, _) => pin(call, from_dir),
            (1, _) => {
                g.path(call, from.as_bytes().to_vec(), true);
                true
            }
            (2, _) => pin(call, to_dir),
            (3, _) => {
                g.path(call, to.as_bytes().to_vec(), true);
                true
            }
            _ => false,
        }
    });
    let through = pick(g, &["", "/canary", "/outside/canary", "/inner"]);
    let path = format!("{}{through}", to.trim_end_matches('/')).into_bytes();
    let fd = open(g, to_dir, true, path, 0, rights::FD_READ, 0);
    read_all(g, fd);
}

/// Hard-links an entry (a link that leads out, or a way out) under a new name and opens
/// the new name.
fn hard_link(g: &mut Generator) {
    let dir = dir(g);
    let source = pick(
        g,
        &[
            "abs_file",
            "escape",
            "abs",
            "file",
            "sub/inner",
            "link_to_file",
            "../outside/canary",
            "escape/canary",
            "sub/up2/outside/canary",
        ],
    );
    let name = pick(g, paths::NEW);
    g.call_with("path_link", |g, call, (index, kind)| match (index, kind) {
        (0 | 3, _) => pin(call, dir),
        (2, _) => {
            g.path(call, source.as_bytes().to_vec(), true);
            true
        }
        (4, _) => {
            g.path(call, name.as_bytes().to_vec(), true);
            true
        }
        _ => false,
    });
    let fd = open(
        g,
        dir,
        true,
        name.as_bytes().to_vec(),
        0,
        rights::FD_READ,
        0,
    );
    read_all(g, fd);
}

/// Opens a file of the sandbox (or anything) for reading and writing and works on it.
fn file_io(g: &mut Generator) {
    let dir = dir(g);
    let path = if g.rng.gen_ratio(4, 5) {
        pick(
            g,
            &[
                "file",
                "new0",
                "empty",
                "link_to_file",
                "sub/inner",
                "sub/up/file",
                "new1",
            ],
        )
        .as_bytes()
        .to_vec()
    } else {
        paths::any(&mut g.rng)
    };
    let flags = pick(
        g,
        &[
            0,
            0,
            oflags::CREAT,
            oflags::CREAT | oflags::TRUNC,
            oflags::CREAT | oflags::EXCL,
        ],
    );
    let rights = pick(
        g,
        &[
            rights::FD_READ | rights::FD_WRITE,
            rights::FD_READ | rights::FD_WRITE,
            rights::FD_READ,
            rights::FD_WRITE,
            rights::ALL,
        ],
    );
    let fdflags = pick(g, &[0, 0, fdflags::APPEND, fdflags::NONBLOCK]);
    let follow = g.rng.gen_bool(0.7);
    let fd = open(g, dir, follow, path, flags, rights, fdflags);
    for _ in 0..g.rng.gen_range(2..=6) {
        let function = pick(
            g,
            &[
                "fd_seek",
                "fd_write",
                "fd_pwrite",
                "fd_read",
                "fd_pread",
                "fd_tell",
                "fd_filestat_get",
                "fd_filestat_set_size",
                "fd_fdstat_set_flags",
                "fd_fdstat_get",
                "fd_advise",
                "fd_allocate",
                "fd_sync",
                "fd_datasync",
                "fd_filestat_set_times",
                "fd_fdstat_set_rights",
            ],
        );
        match function {
            "fd_write" => write_some(g, fd),
            "fd_read" => read_all(g, fd),
            _ => call_on_fd(g, function, fd),
        }
    }
    if g.rng.gen_ratio(1, 3) {
        call_on_fd(g, "fd_close", fd);
    }
}

/// Opens a directory (maybe a way out) and lists it into memory.
fn list_directory(g: &mut Generator) {
    let preopen = dir(g);
    let path = pick(
        g,
        &[
            ".",
            "sub",
            "dir_link",
            "escape",
            "abs",
            "..",
            "sub/up2",
            "sub/up",
            "../outside",
        ],
    );
    let flags = pick(g, &[0, oflags::DIRECTORY]);
    let follow = g.rng.gen_bool(0.8);
    let listed = open(
        g,
        preopen,
        follow,
        path.as_bytes().to_vec(),
        flags,
        rights::FD_READ | rights::FD_READDIR,
        0,
    );
    for _ in 0..g.rng.gen_range(1..=2) {
        call_on_fd(g, "fd_readdir", listed);
    }
}

/// Opens something, moves it to another number (over a standard stream or a preopen, at
/// times) and uses it there.
fn renumber(g: &mut Generator) {
    let dir = dir(g);
    let path = paths::inside(&mut g.rng);
    let fd = open(g, dir, true, path, 0, rights::FD_READ | rights::FD_WRITE, 0);
    let to = pick(g, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 100]);
    g.call_with("fd_renumber", |_, call, (index, _)| match index {
        0 => pin(call, fd),
        _ => pin(call, Operand::I32(to)),
    });
    g.opened.push(FdSource::Number(to));
    let next = pick(
        g,
        &[
            "fd_read",
            "fd_write",
            "fd_fdstat_get",
            "fd_prestat_get",
            "fd_close",
            "path_open",
        ],
    );
    call_on_fd(g, next, Operand::I32(to));
}

/// Makes a directory, opens it, and makes and removes entries under it and beside it.
fn make_directories(g: &mut Generator) {
    let dir = dir(g);
    let name = if g.rng.gen_ratio(3, 4) {
        pick(g, paths::NEW).as_bytes().to_vec()
    } else {
        paths::escape(&mut g.rng)
    };
    call_on_path(g, "path_create_directory", dir, name.clone());
    let made = open(g, dir, false, name.clone(), oflags::DIRECTORY, 0, 0);
    let under = pick(g, &["x", "..", "../x", "../../x", "x/"])
        .as_bytes()
        .to_vec();
    call_on_path(g, "path_create_directory", made, under.clone());
    let remove = pick(g, &["path_remove_directory", "path_unlink_file"]);
    call_on_path(g, remove, made, under);
    call_on_path(g, "path_remove_directory", dir, name);
}

/// A directory to resolve under: a preopen mostly.
fn dir(g: &mut Generator) -> Operand {
    if g.rng.gen_ratio(17, 20) {
        Operand::I32(3 + g.rng.gen_range(0..g.preopens))
    } else {
        g.fd(FdRole::Dir)
    }
}

/// Adds a `path_open` of `path` under `dir` and returns the descriptor it opens (loaded
/// from where the call stores it).
fn open(
    g: &mut Generator,
    dir: Operand,
    follow: bool,
    path: Vec<u8>,
    oflags: u16,
    rights: u64,
    fdflags: u16,
) -> Operand {
    let slot = g.fd_slot();
    let mut path = Some(path);
    g.call_with("path_open", |g, call, (index, kind)| match kind {
        Kind::DirFd => pin(call, dir),
        Kind::LookupFlags => {
            call.follow = follow;
            pin(call, Operand::I32(follow.into()))
        }
        Kind::Path => {
            let path = path.take().expect("path_open has one path");
            g.path(call, path, true);
            true
        }
        Kind::OFlags => pin(call, Operand::I32(oflags.into())),
        // The base rights decide the open mode; the inheriting ones are drawn.
        Kind::Rights if index == 4 => pin(call, Operand::I64(rights as i64)),
        Kind::FdFlags => pin(call, Operand::I32(fdflags.into())),
        Kind::NewFd => pin(call, Operand::I32(slot as i32)),
        _ => false,
    });
    Operand::Load(slot)
}

/// Adds a `fd_read` of `fd` into a fresh 4 KiB buffer.
fn read_all(g: &mut Generator, fd: Operand) {
    g.call_with("fd_read", |g, call, (_, kind)| match kind {
        Kind::Fd => pin(call, fd),
        Kind::ReadIovecs => {
            g.one_iovec(call, 4096, false);
            true
        }
        _ => false,
    });
}

/// Adds a `fd_write` of a few staged bytes to `fd`.
fn write_some(g: &mut Generator, fd: Operand) {
    g.call_with("fd_write", |g, call, (_, kind)| match kind {
        Kind::Fd => pin(call, fd),
        Kind::WriteIovecs => {
            g.one_iovec(call, 64, true);
            true
        }
        _ => false,
    });
}

/// Adds a call of `name` on `fd` (its first descriptor), the rest drawn.
fn call_on_fd(g: &mut Generator, name: &str, fd: Operand) {
    let mut pinned = false;
    g.call_with(name, |_, call, (_, kind)| {
        if !pinned && matches!(kind, Kind::Fd | Kind::DirFd) {
            pinned = true;
            return pin(call, fd);
        }
        false
    });
}

/// Adds a call of `name` on `path` under `dir` (its first directory and path), the rest
/// drawn.
fn call_on_path(g: &mut Generator, name: &str, dir: Operand, path: Vec<u8>) {
    let mut dir = Some(dir);
    let mut path = Some(path);
    g.call_with(name, |g, call, (_, kind)| match kind {
        Kind::DirFd if dir.is_some() => pin(call, dir.take().expect("checked")),
        Kind::Path if path.is_some() => {
            g.path(call, path.take().expect("checked"), true);
            true
        }
        _ => false,
    });
}

/// Passes `operand` for the parameter.
fn pin(call: &mut Call, operand: Operand) -> bool {
    call.push(operand);
    true
}

fn pick<T: Copy>(g: &mut Generator, items: &[T]) -> T {
    *items.choose(&mut g.rng).expect("not empty")
}
