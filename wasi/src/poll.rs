//! `poll_oneoff`: wait for clocks and descriptors, as Wasmtime does it.
//!
//! Clocks become deadlines; the host's standard input is polled for real; standard output
//! and error, pipes of the embedder and files are always ready. The wait is interruptible
//! (see `blocking`), so a thread sleeping here stops at once when its program exits.

use crate::abi::{Errno, clockid, eventrwflags, eventtype, layout, subclockflags};
use crate::blocking::{self, Interest};
use crate::clock;
use crate::descriptor::Descriptor;
use crate::error::WasiResult;
use crate::guest::Guest;
use crate::state::Shared;
use rustix::event::PollFlags;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The most subscription bytes one call may make the host copy, as Wasmtime's per-call budget
/// of 128 MiB allows.
const MAX_SUBSCRIPTION_BYTES: u64 = 128 << 20;

/// One decoded subscription.
struct Subscription {
    userdata: u64,
    kind: Kind,
}

enum Kind {
    Clock(Instant),
    Read(Arc<Descriptor>),
    Write,
}

pub(crate) fn poll_oneoff(
    cx: &Shared,
    guest: &Guest<'_>,
    subscriptions: u32,
    events: u32,
    count: u32,
    nevents: u32,
) -> WasiResult<()> {
    // Waiting for nothing would wait forever; preview 1 has no way to say so.
    if count == 0 {
        return Err(Errno::Inval.into());
    }
    if u64::from(count) * u64::from(layout::SUBSCRIPTION_SIZE) > MAX_SUBSCRIPTION_BYTES {
        return Err(Errno::Nomem.into());
    }
    let start = Instant::now();
    let subscriptions = (0..count)
        .map(|index| {
            let at = subscriptions + index * layout::SUBSCRIPTION_SIZE;
            decode(cx, guest, at, start)
        })
        .collect::<WasiResult<Vec<_>>>()?;
    let fired = wait_for_any(&subscriptions)?;
    let mut written = 0;
    for (subscription, fired) in subscriptions.iter().zip(fired) {
        let Some(fired) = fired else { continue };
        let event = encode_event(subscription, fired);
        guest.write_struct(events + written * layout::EVENT_SIZE, 8, &event)?;
        written += 1;
    }
    guest.write_u32(nevents, written)
}

fn decode(cx: &Shared, guest: &Guest<'_>, at: u32, start: Instant) -> WasiResult<Subscription> {
    let bytes: [u8; layout::SUBSCRIPTION_SIZE as usize] = guest.read_struct(at, 8)?;
    let u32_at =
        |offset: usize| u32::from_le_bytes(bytes[offset..offset + 4].try_into().expect("4"));
    let u64_at =
        |offset: usize| u64::from_le_bytes(bytes[offset..offset + 8].try_into().expect("8"));
    let userdata = u64_at(0);
    let kind = match bytes[8] {
        eventtype::CLOCK => {
            let flags = u16::from_le_bytes([bytes[40], bytes[41]]);
            if flags & !subclockflags::ABSTIME != 0 {
                return Err(Errno::Inval.into());
            }
            let deadline = deadline(cx, u32_at(16), u64_at(24), flags, start)?;
            Kind::Clock(deadline)
        }
        eventtype::FD_READ => {
            let descriptor = cx.table.get(u32_at(16))?;
            match &*descriptor {
                Descriptor::Stdin(_) | Descriptor::File(_) => Kind::Read(descriptor),
                Descriptor::Output(_) | Descriptor::Dir(_) => return Err(Errno::Badf.into()),
            }
        }
        eventtype::FD_WRITE => match &*cx.table.get(u32_at(16))? {
            Descriptor::Output(_) | Descriptor::File(_) => Kind::Write,
            Descriptor::Stdin(_) | Descriptor::Dir(_) => return Err(Errno::Badf.into()),
        },
        _ => return Err(Errno::Inval.into()),
    };
    Ok(Subscription { userdata, kind })
}

/// When a clock subscription fires. A relative timeout counts from the call's start on any
/// clock; an absolute one is a time of the realtime or monotonic clock (the CPU-time clocks
/// cannot be waited for).
fn deadline(cx: &Shared, id: u32, timeout: u64, flags: u16, start: Instant) -> WasiResult<Instant> {
    if id > clockid::THREAD_CPUTIME {
        return Err(Errno::Inval.into());
    }
    let wait = if flags & subclockflags::ABSTIME == 0 {
        timeout
    } else if id == clockid::REALTIME || id == clockid::MONOTONIC {
        timeout.saturating_sub(clock::now(cx, id)?)
    } else {
        return Err(Errno::Inval.into());
    };
    Ok(start
        .checked_add(Duration::from_nanos(wait))
        .unwrap_or_else(far_future))
}

/// A deadline no program lives to see, for timeouts too large for `Instant`.
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}

/// What a subscription that fired reports: `nbytes` and the `eventrwflags`.
#[derive(Copy, Clone)]
struct Fired {
    nbytes: u64,
    flags: u16,
}

/// Waits until at least one subscription fires, and returns, for each, whether it did.
fn wait_for_any(subscriptions: &[Subscription]) -> WasiResult<Vec<Option<Fired>>> {
    loop {
        let earliest = subscriptions
            .iter()
            .filter_map(|s| match s.kind {
                Kind::Clock(deadline) => Some(deadline),
                _ => None,
            })
            .min();
        let timeout = if subscriptions.iter().any(|s| ready_now(s).is_some()) {
            Some(Duration::ZERO)
        } else {
            earliest.map(|deadline| deadline.saturating_duration_since(Instant::now()))
        };
        // One interest per subscription that reads a host descriptor, in order.
        let mut interests: Vec<Interest<'_>> = subscriptions
            .iter()
            .filter_map(host_input)
            .map(|fd| Interest {
                fd,
                events: PollFlags::IN,
                ready: PollFlags::empty(),
            })
            .collect();
        blocking::wait(&mut interests, timeout)?;
        let mut polled = interests.iter().map(|interest| !interest.ready.is_empty());
        let now = Instant::now();
        let fired: Vec<Option<Fired>> = subscriptions
            .iter()
            .map(|subscription| match &subscription.kind {
                Kind::Clock(deadline) => (*deadline <= now).then_some(Fired {
                    nbytes: 0,
                    flags: 0,
                }),
                _ if host_input(subscription).is_some() => {
                    let ready = polled.next().expect("one interest per host input");
                    ready.then_some(Fired {
                        nbytes: 1,
                        flags: 0,
                    })
                }
                _ => ready_now(subscription),
            })
            .collect();
        if fired.iter().any(Option::is_some) {
            return Ok(fired);
        }
    }
}

/// The host descriptor a read subscription waits on: standard input from the host.
fn host_input(subscription: &Subscription) -> Option<rustix::fd::BorrowedFd<'_>> {
    match &subscription.kind {
        Kind::Read(descriptor) => match &**descriptor {
            Descriptor::Stdin(stdin) => stdin.host_fd(),
            _ => None,
        },
        Kind::Clock(_) | Kind::Write => None,
    }
}

/// What a descriptor subscription reports without waiting, as Wasmtime reports it: writes to
/// standard output and error and to files are always possible; a file is always readable,
/// with `hangup` once its position is at or past its end; so is the embedder's input pipe.
fn ready_now(subscription: &Subscription) -> Option<Fired> {
    let ready = |flags| Some(Fired { nbytes: 1, flags });
    match &subscription.kind {
        Kind::Clock(_) => None,
        Kind::Write => ready(0),
        Kind::Read(descriptor) => match &**descriptor {
            Descriptor::File(file) => {
                let at_end = file
                    .file
                    .metadata()
                    .is_ok_and(|meta| meta.len() <= *file.position());
                ready(if at_end { eventrwflags::HANGUP } else { 0 })
            }
            Descriptor::Stdin(stdin) if stdin.host_fd().is_some() => None,
            _ => ready(0),
        },
    }
}

fn encode_event(subscription: &Subscription, fired: Fired) -> [u8; layout::EVENT_SIZE as usize] {
    let kind = match subscription.kind {
        Kind::Clock(_) => eventtype::CLOCK,
        Kind::Read(_) => eventtype::FD_READ,
        Kind::Write => eventtype::FD_WRITE,
    };
    let mut event = [0; layout::EVENT_SIZE as usize];
    event[0..8].copy_from_slice(&subscription.userdata.to_le_bytes());
    // `error` (offset 8) stays 0: Wasmtime reports no per-event errors.
    event[10] = kind;
    event[16..24].copy_from_slice(&fired.nbytes.to_le_bytes());
    event[24..26].copy_from_slice(&fired.flags.to_le_bytes());
    event
}
