//! Single arguments, by kind: descriptors, pointers into the staged memory, buffers, iovec
//! arrays, subscriptions and scalars. Valid values mostly, the values at the edges of each
//! type as often as the case's hostility says (which mostly makes the host trap the case,
//! as a bad pointer or an undefined flag must).

use super::calls::Kind;
use super::memory::MEMORY_BYTES;
use super::paths;
use super::program::{Call, FdSource, Generator, Operand};
use rand::Rng;
use rand::seq::SliceRandom;
use weft_wasi::abi::{eventtype, fdflags, layout, oflags, rights, subclockflags};

/// Which descriptors an argument leans to.
#[derive(Copy, Clone, PartialEq, Eq)]
pub enum FdRole {
    /// Any of them, by their usual shares.
    Any,
    /// One a path is resolved under: preopens and opened directories.
    Dir,
}

/// Text the guest writes, recognizable in the files it lands in.
const WRITTEN: &[u8] = b"written by a fuzzed guest\n";

/// Lengths of the buffers the host fills or reads.
const BUFFER_LENGTHS: &[u32] = &[0, 1, 7, 24, 64, 255, 256, 512, 4096];

impl Generator {
    /// Makes the parameters of `kind` and adds them to `call`.
    pub fn arg(&mut self, kind: Kind, call: &mut Call) {
        let value = match kind {
            Kind::Fd => self.fd(FdRole::Any),
            Kind::DirFd => self.fd(FdRole::Dir),
            Kind::Path => {
                let path = paths::any(&mut self.rng);
                return self.path(call, path, true);
            }
            Kind::LinkTarget => {
                let target = paths::link_target(&mut self.rng);
                return self.path(call, target, false);
            }
            Kind::Out { size, align } => Operand::I32(self.out(size, align) as i32),
            Kind::NewFd => Operand::I32(self.new_fd() as i32),
            Kind::Buffer => return self.buffer(call),
            Kind::ReadIovecs => return self.iovecs(call, false),
            Kind::WriteIovecs => return self.iovecs(call, true),
            Kind::Subscriptions => return self.subscriptions(call),
            Kind::ClockId => self.enumeration(3, &[4, 5, 1 << 16]),
            Kind::Precision => self.one_of64(&[0, 1, 1_000, 1_000_000, i64::MAX, -1]),
            Kind::FileOffset => {
                self.one_of64(&[0, 0, 1, 7, 100, 4096, 1 << 32, 1 << 40, i64::MAX, -1])
            }
            Kind::AdviseLen => self.one_of64(&[0, 1, 100, 4096, 1 << 40, i64::MAX, -1]),
            Kind::FileSize => self.one_of64(&[0, 1, 5, 100, 4096, 65_536, 1 << 40, i64::MAX, -1]),
            // `fd_allocate` reserves real disk space: offsets and lengths stay small, or so
            // large that the host refuses them before allocating anything.
            Kind::AllocateOffset => self.one_of64(&[0, 1, 4096, 1 << 40, i64::MAX, -1]),
            Kind::AllocateLen => self.one_of64(&[0, 1, 100, 4096, 65_536, i64::MAX, -1]),
            Kind::SeekDelta => {
                self.one_of64(&[0, 1, -1, 5, 100, -100, 1 << 32, 1 << 62, i64::MAX, i64::MIN])
            }
            Kind::Whence => self.enumeration(2, &[3, 255]),
            Kind::Advice => self.enumeration(5, &[6, 1 << 8]),
            Kind::FdFlags => self.fdflags(),
            Kind::Rights => Operand::I64(self.rights() as i64),
            Kind::LookupFlags => {
                let flags = self.flags(&[0, 1], 1);
                call.follow = flags == 1;
                Operand::I32(flags as i32)
            }
            Kind::OFlags => {
                let flags = self.flags(
                    &[
                        0,
                        0,
                        0,
                        oflags::CREAT.into(),
                        (oflags::CREAT | oflags::EXCL).into(),
                        (oflags::CREAT | oflags::TRUNC).into(),
                        oflags::TRUNC.into(),
                        oflags::DIRECTORY.into(),
                        oflags::DIRECTORY.into(),
                    ],
                    oflags::ALL.into(),
                );
                Operand::I32(flags as i32)
            }
            Kind::Timestamp => {
                let random = self.rng.r#gen();
                self.one_of64(&[0, 1, 1_700_000_000_000_000_000, i64::MAX, -1, random])
            }
            Kind::FstFlags => Operand::I32(self.flags(&[0], 0b1111) as i32),
            Kind::Cookie => self.one_of64(&[0, 0, 1, 2, 3, 4, 100, i64::MAX, -1]),
            Kind::Signal => Operand::I32(self.rng.gen_range(0..=64)),
            Kind::RiFlags => Operand::I32(self.flags(&[0], 0b11) as i32),
            Kind::SiFlags => Operand::I32(self.flags(&[0], 0) as i32),
            Kind::SdFlags => Operand::I32(self.flags(&[1, 2, 3], 0b11) as i32),
            Kind::ExitCode => Operand::I32(self.exit_code()),
        };
        call.push(value);
    }

    /// A descriptor: a preopen, one an earlier call opened, a standard stream, a number
    /// that is closed or was never open, or a wild one.
    pub fn fd(&mut self, role: FdRole) -> Operand {
        let preopen = Operand::I32(3 + self.rng.gen_range(0..self.preopens));
        let (preopens, opened, streams, unused) = match role {
            FdRole::Any => (25, 55, 68, 82),
            FdRole::Dir => (45, 80, 87, 93),
        };
        let roll = self.rng.gen_range(0..100);
        if roll < preopens {
            preopen
        } else if roll < opened {
            self.opened
                .choose(&mut self.rng)
                .map_or(preopen, |source| source.operand())
        } else if roll < streams {
            Operand::I32(self.rng.gen_range(0..=2))
        } else if roll < unused {
            Operand::I32(self.rng.gen_range(5..=12))
        } else {
            let wild = [
                -1,
                i32::MAX,
                i32::MIN,
                65_535,
                65_536,
                1 << 20,
                self.rng.r#gen(),
            ];
            Operand::I32(*wild.choose(&mut self.rng).expect("not empty"))
        }
    }

    /// A place for a result of `size` bytes aligned to `align`.
    pub fn out(&mut self, size: u32, align: u32) -> u32 {
        let at = self.staging.reserve(size, align);
        if self.edge() {
            self.wild_pointer(at, size, align)
        } else {
            at
        }
    }

    /// A pointer that is out of bounds, straddles the end, or is misaligned.
    fn wild_pointer(&mut self, valid: u32, size: u32, align: u32) -> u32 {
        let choices = [
            MEMORY_BYTES - 1,
            MEMORY_BYTES,
            MEMORY_BYTES - size.div_ceil(2).max(1),
            u32::MAX,
            u32::MAX - 7,
            valid + align.max(2) / 2,
        ];
        *choices.choose(&mut self.rng).expect("not empty")
    }

    /// A place for a new descriptor ([`fd_slot`](Self::fd_slot)), or at an edge a wild
    /// pointer.
    pub fn new_fd(&mut self) -> u32 {
        if self.edge() {
            let unused = self.staging.reserve(4, 4);
            return self.wild_pointer(unused, 4, 4);
        }
        self.fd_slot()
    }

    /// A place for a new descriptor, never wild, which later calls may use: it holds
    /// `u32::MAX`, no descriptor, until a call stores one.
    pub fn fd_slot(&mut self) -> u32 {
        let slot = self.staging.stage(&u32::MAX.to_le_bytes(), 4);
        self.opened.push(FdSource::Slot(slot));
        slot
    }

    /// A buffer the host fills: pointer, length.
    fn buffer(&mut self, call: &mut Call) {
        let len = *BUFFER_LENGTHS.choose(&mut self.rng).expect("not empty");
        let at = self.staging.reserve(len, 1);
        let (pointer, length) = if self.edge() {
            match self.rng.gen_range(0..3) {
                0 => (MEMORY_BYTES - len / 2, len.max(2)),
                1 => (at, u32::MAX),
                _ => (u32::MAX, len.max(1)),
            }
        } else {
            (at, len)
        };
        call.notes
            .push(format!("buffer of {length} bytes at {pointer:#x}"));
        call.push(Operand::I32(pointer as i32));
        call.push(Operand::I32(length as i32));
    }

    /// An `iovec` array (`write`: a `ciovec` array of staged bytes): pointer, count.
    fn iovecs(&mut self, call: &mut Call, write: bool) {
        let count = *[0, 1, 1, 1, 1, 1, 2, 2, 2, 3]
            .choose(&mut self.rng)
            .expect("not empty");
        let mut array = Vec::with_capacity(count as usize * 8);
        for _ in 0..count {
            let len = if self.rng.gen_ratio(1, 20) {
                16 << 10
            } else {
                *BUFFER_LENGTHS.choose(&mut self.rng).expect("not empty")
            };
            let buf = if write {
                let bytes = self.content(len as usize);
                self.staging.stage(&bytes, 1)
            } else {
                self.staging.reserve(len, 1)
            };
            let (buf, len) = if self.edge() {
                *[
                    (MEMORY_BYTES - 3, 16),
                    (buf, u32::MAX),
                    (u32::MAX, 1),
                    (MEMORY_BYTES, 0),
                ]
                .choose(&mut self.rng)
                .expect("not empty")
            } else {
                (buf, len)
            };
            array.extend_from_slice(&buf.to_le_bytes());
            array.extend_from_slice(&len.to_le_bytes());
        }
        let at = self.staging.stage(&array, 4);
        let (pointer, count) = if self.edge() {
            *[
                (at + 2, count),
                (u32::MAX - 3, count.max(1)),
                (at, u32::MAX),
                (at, 1 << 29),
                (at, count + 4),
            ]
            .choose(&mut self.rng)
            .expect("not empty")
        } else {
            (at, count)
        };
        call.notes.push(format!("{count} iovecs at {pointer:#x}"));
        call.push(Operand::I32(pointer as i32));
        call.push(Operand::I32(count as i32));
    }

    /// One `iovec` of a fresh `len`-byte buffer (staged text when `write`), never wild: for
    /// the reads and writes of sequences that must reach the host to mean anything.
    pub fn one_iovec(&mut self, call: &mut Call, len: u32, write: bool) {
        let buf = if write {
            let bytes = self.content(len as usize);
            self.staging.stage(&bytes, 1)
        } else {
            self.staging.reserve(len, 1)
        };
        let array = [buf.to_le_bytes(), len.to_le_bytes()].concat();
        let at = self.staging.stage(&array, 4);
        call.notes
            .push(format!("one iovec of {len} bytes at {buf:#x}"));
        call.push(Operand::I32(at as i32));
        call.push(Operand::I32(1));
    }

    /// Bytes to write: the guest's text, random bytes, or zeros.
    fn content(&mut self, len: usize) -> Vec<u8> {
        match self.rng.gen_range(0..3) {
            0 => WRITTEN.iter().copied().cycle().take(len).collect(),
            1 => (0..len).map(|_| self.rng.r#gen()).collect(),
            _ => vec![0; len],
        }
    }

    /// `poll_oneoff`'s four parameters: staged subscriptions (clocks with short timeouts,
    /// descriptors, odd tags), room for the events, the count and `nevents`.
    fn subscriptions(&mut self, call: &mut Call) {
        let count: u32 = self.rng.gen_range(1..=3);
        let size = layout::SUBSCRIPTION_SIZE as usize;
        let mut bytes = vec![0; count as usize * size];
        // Descriptors known only when the call runs: (offset in `bytes`, slot).
        let mut loaded = Vec::new();
        for index in 0..count as usize {
            let subscription = &mut bytes[index * size..(index + 1) * size];
            subscription[0..8].copy_from_slice(&self.rng.r#gen::<u64>().to_le_bytes());
            match self.rng.gen_range(0..100) {
                0..55 => self.clock_subscription(subscription),
                55..95 => {
                    subscription[8] = if self.rng.gen_bool(0.5) {
                        eventtype::FD_READ
                    } else {
                        eventtype::FD_WRITE
                    };
                    match self.fd(FdRole::Any) {
                        Operand::Load(slot) => loaded.push((index * size + 16, slot)),
                        Operand::I32(fd) => subscription[16..20].copy_from_slice(&fd.to_le_bytes()),
                        Operand::I64(_) => unreachable!("descriptors are i32"),
                    }
                }
                _ => subscription[8] = self.rng.gen_range(3..=255),
            }
        }
        let at = self.staging.stage(&bytes, 8);
        for (offset, slot) in loaded {
            call.prelude.push(format!(
                "(i32.store (i32.const {}) (i32.load (i32.const {slot})))",
                at + offset as u32
            ));
        }
        let events = self.out(count * layout::EVENT_SIZE, 8);
        let nevents = self.out(4, 4);
        let (pointer, count) = if self.edge() {
            *[
                (at + 4, count),
                (at, 0),
                (at, u32::MAX),
                (at, 1 << 22),
                (at, count + 3),
            ]
            .choose(&mut self.rng)
            .expect("not empty")
        } else {
            (at, count)
        };
        call.notes
            .push(format!("{count} subscriptions at {pointer:#x}"));
        for value in [pointer, events, count, nevents] {
            call.push(Operand::I32(value as i32));
        }
    }

    /// A clock subscription's body: timeouts of a few milliseconds at most, relative or
    /// absolute, and very rarely one that never ends, which the case's time limit stops.
    fn clock_subscription(&mut self, subscription: &mut [u8]) {
        subscription[8] = eventtype::CLOCK;
        let id: u32 = if self.rng.gen_ratio(1, 20) {
            self.rng.gen_range(4..=9)
        } else {
            self.rng.gen_range(0..=3)
        };
        let flags: u16 = match self.rng.gen_range(0..20) {
            0..12 => 0,
            12..19 => subclockflags::ABSTIME,
            _ => self.rng.r#gen(),
        };
        let timeout: u64 = if self.rng.gen_ratio(1, 4000) {
            u64::MAX
        } else if flags == subclockflags::ABSTIME && id == 0 {
            // Realtime: moments long past, so the wait ends at once.
            *[0, 1, 1_000_000_000]
                .choose(&mut self.rng)
                .expect("not empty")
        } else {
            // Relative, or the monotonic clock, which counts from the context's creation.
            *[0, 1, 1_000, 100_000, 1_000_000, 2_000_000]
                .choose(&mut self.rng)
                .expect("not empty")
        };
        subscription[16..20].copy_from_slice(&id.to_le_bytes());
        subscription[24..32].copy_from_slice(&timeout.to_le_bytes());
        subscription[32..40].copy_from_slice(&self.rng.r#gen::<u64>().to_le_bytes());
        subscription[40..42].copy_from_slice(&flags.to_le_bytes());
    }

    /// A value of an enumeration whose cases are `0..=last`; at an edge one of `wild`.
    fn enumeration(&mut self, last: i32, wild: &[i32]) -> Operand {
        if self.edge() {
            Operand::I32(*wild.choose(&mut self.rng).expect("not empty"))
        } else {
            Operand::I32(self.rng.gen_range(0..=last))
        }
    }

    /// One of `values`.
    fn one_of64(&mut self, values: &[i64]) -> Operand {
        Operand::I64(*values.choose(&mut self.rng).expect("not empty"))
    }

    /// Flags whose defined bits are `defined`: one of `common`, or any defined bits; at an
    /// edge, an undefined bit too.
    fn flags(&mut self, common: &[u32], defined: u32) -> u32 {
        if self.edge() {
            let undefined = !defined
                & if self.rng.gen_bool(0.5) {
                    0xffff
                } else {
                    u32::MAX
                };
            let bit = loop {
                let bit = 1 << self.rng.gen_range(0..32);
                if undefined & bit != 0 {
                    break bit;
                }
            };
            return bit | (self.rng.r#gen::<u32>() & defined);
        }
        if self.rng.gen_bool(0.7) {
            *common.choose(&mut self.rng).expect("not empty")
        } else {
            self.rng.r#gen::<u32>() & defined
        }
    }

    fn fdflags(&mut self) -> Operand {
        let flags = self.flags(
            &[0, 0, 0, fdflags::APPEND.into(), fdflags::NONBLOCK.into()],
            fdflags::ALL.into(),
        );
        Operand::I32(flags as i32)
    }

    /// A rights set: the usual ones, or any defined rights; at an edge, an undefined right.
    pub fn rights(&mut self) -> u64 {
        if self.edge() {
            return 1 << self.rng.gen_range(30..64) | (self.rng.r#gen::<u64>() & rights::ALL);
        }
        *[
            0,
            rights::FD_READ,
            rights::FD_WRITE,
            rights::FD_READ | rights::FD_WRITE,
            rights::FD_READ | rights::FD_READDIR,
            rights::ALL,
            self.rng.r#gen::<u64>() & rights::ALL,
        ]
        .choose(&mut self.rng)
        .expect("not empty")
    }

    /// A status for `proc_exit`: valid mostly, one the host refuses at an edge.
    pub fn exit_code(&mut self) -> i32 {
        if self.edge() {
            *[126, 255, -1, i32::MIN]
                .choose(&mut self.rng)
                .expect("not empty")
        } else {
            *[0, 0, 1, 42, 125].choose(&mut self.rng).expect("not empty")
        }
    }
}
