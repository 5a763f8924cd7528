//! Waiting on host descriptors without keeping a terminated thread waiting.
//!
//! A WASI call that may block (a read of a pipe or terminal, `poll_oneoff`) first polls its
//! descriptors together with the read end of a fresh wake pipe. It registers the pipe's write
//! end with `weft::begin_blocking`, so terminating the thread (a trap elsewhere, `proc_exit`
//! from another thread, the embedder's terminate) writes to the pipe and the poll returns at
//! once; the call then unwinds the thread with `Trap::Interrupted`.

use crate::error::{WasiError, WasiResult};
use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fd::{AsFd, BorrowedFd};
use rustix::io::Errno as Os;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weft::Trap;

/// What one descriptor is waited for, and, after [`wait`], what it became.
pub(crate) struct Interest<'fd> {
    pub fd: BorrowedFd<'fd>,
    pub events: PollFlags,
    pub ready: PollFlags,
}

/// Blocks until one of `interests` is ready, `timeout` passes (`None`: no timeout), or the
/// thread is terminated, which is the error. On return each interest's `ready` is set.
pub(crate) fn wait(interests: &mut [Interest<'_>], timeout: Option<Duration>) -> WasiResult<()> {
    let (wake_read, wake_write) = rustix::pipe::pipe()?;
    let wake_write = Arc::new(wake_write);
    let hook_end = Arc::clone(&wake_write);
    let guard = weft::begin_blocking(move || {
        // A full pipe already wakes the poll; nothing else can fail here that matters.
        let _ = rustix::io::write(&*hook_end, &[1]);
    })
    .map_err(|_| interrupted())?;
    let deadline = timeout.map(|timeout| Instant::now() + timeout);
    let mut fds: Vec<PollFd<'_>> = interests
        .iter()
        .map(|interest| PollFd::from_borrowed_fd(interest.fd, interest.events))
        .chain(std::iter::once(PollFd::new(&wake_read, PollFlags::IN)))
        .collect();
    loop {
        let remaining = deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()));
        let timespec = remaining.map(|left| Timespec {
            tv_sec: left.as_secs().min(i64::MAX as u64) as i64,
            tv_nsec: i64::from(left.subsec_nanos()),
        });
        match rustix::event::poll(&mut fds, timespec.as_ref()) {
            Ok(_) => break,
            Err(Os::INTR) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    drop(guard);
    let (woken, polled) = fds.split_last().expect("the wake pipe is always polled");
    if !woken.revents().is_empty() {
        return Err(interrupted());
    }
    for (interest, polled) in interests.iter_mut().zip(polled) {
        interest.ready = polled.revents();
    }
    Ok(())
}

/// Waits until `fd` can be read without blocking, or the thread is terminated.
pub(crate) fn wait_readable(fd: impl AsFd) -> WasiResult<()> {
    let mut interest = [Interest {
        fd: fd.as_fd(),
        events: PollFlags::IN,
        ready: PollFlags::empty(),
    }];
    wait(&mut interest, None)
}

/// The error a terminated thread unwinds with.
pub(crate) fn interrupted() -> WasiError {
    WasiError::Trap(Trap::Interrupted.into())
}
