//! A happens-before data-race detector for guest memory, in the manner of FastTrack.
//!
//! The runtime tells a [`RaceDetector`] about every plain (non-atomic) access its
//! instrumented code makes to shared memory, and about every event that orders threads:
//! atomic accesses, `memory.atomic.wait`/`notify`, spawn and join. Each thread carries a
//! vector clock; each synchronization address keeps the clock its last releases left there;
//! and each byte of shared memory remembers its last write and the latest read of every
//! thread since. Two accesses to a byte race when at least one writes and neither
//! happens before the other; each racing pair of sites is reported once.
//!
//! Bytes, not words, are the unit, so threads that write neighbouring bytes (two halves of a
//! `char` array, say) are not reported; the cost is shadow state per byte touched. Atomic
//! accesses are synchronization only: they update clocks, not the shadow, so a plain access
//! racing with an atomic one to the same byte is not reported.
//!
//! Everything sits behind one mutex: the detector is a research tool that trades speed for
//! being obviously right, and every operation is a short, bounded update.

use crate::sync::Mutex;
use rustc_hash::{FxHashMap, FxHashSet};

/// A thread as the detector knows it.
pub type RaceThread = u32;

/// Where an access happened, as the runtime encodes it (its module, then its function and
/// instruction); the detector only compares and reports it.
pub type Site = (u64, u64);

/// A plain access to guest memory.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Access {
    pub thread: RaceThread,
    pub site: Site,
    pub write: bool,
}

/// Two accesses to `address` that race: `earlier` was recorded first, `later` found it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Race {
    pub address: u64,
    pub earlier: Access,
    pub later: Access,
}

/// One thread's view of every thread's progress: entry `t` is the last event of thread `t`
/// that happens before the owner's next event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct VectorClock(Vec<u32>);

impl VectorClock {
    fn get(&self, thread: RaceThread) -> u32 {
        self.0.get(thread as usize).copied().unwrap_or(0)
    }

    fn set(&mut self, thread: RaceThread, time: u32) {
        let index = thread as usize;
        if self.0.len() <= index {
            self.0.resize(index + 1, 0);
        }
        self.0[index] = time;
    }

    fn tick(&mut self, thread: RaceThread) {
        let time = self.get(thread) + 1;
        self.set(thread, time);
    }

    /// `self = self ⊔ other`.
    fn join(&mut self, other: &VectorClock) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (mine, &theirs) in self.0.iter_mut().zip(&other.0) {
            *mine = (*mine).max(theirs);
        }
    }
}

/// An access as the shadow keeps it: the thread's clock at the access.
#[derive(Copy, Clone, Debug)]
struct Epoch {
    time: u32,
    access: Access,
}

impl Epoch {
    /// Whether this access happens before the current event of a thread whose clock is
    /// `clock`.
    fn happens_before(&self, clock: &VectorClock) -> bool {
        self.time <= clock.get(self.access.thread)
    }
}

/// What one byte of shared memory remembers.
#[derive(Debug, Default)]
struct Shadow {
    write: Option<Epoch>,
    /// The latest read of each thread since the last write.
    reads: Vec<Epoch>,
}

#[derive(Debug, Default)]
struct State {
    /// Each thread's clock, by thread.
    threads: Vec<VectorClock>,
    /// What releases left at each synchronization address.
    locations: FxHashMap<u64, VectorClock>,
    /// Everything every release so far left anywhere, for fences.
    released: VectorClock,
    /// By byte address; looked up on every plain access, hence the fast hash.
    shadow: FxHashMap<u64, Shadow>,
    races: Races,
}

/// The races found, each pair of sites once.
#[derive(Debug, Default)]
struct Races {
    found: Vec<Race>,
    /// Pairs of sites already reported, in either order.
    reported: FxHashSet<(Site, Site)>,
}

impl Races {
    fn report(&mut self, address: u64, earlier: Access, later: Access) {
        let key = (earlier.site.min(later.site), earlier.site.max(later.site));
        if self.reported.insert(key) {
            self.found.push(Race {
                address,
                earlier,
                later,
            });
        }
    }
}

impl State {
    fn clock(&mut self, thread: RaceThread) -> &mut VectorClock {
        &mut self.threads[thread as usize]
    }
}

/// The detector for one program's threads; see the module documentation.
pub struct RaceDetector {
    state: Mutex<State>,
}

impl Default for RaceDetector {
    fn default() -> Self {
        RaceDetector::new()
    }
}

impl RaceDetector {
    pub fn new() -> RaceDetector {
        RaceDetector {
            state: Mutex::new(State::default()),
        }
    }

    /// A new thread: a root one (`parent` `None`, such as a program's main thread), or one
    /// that `parent` starts now, which sees everything `parent` did so far.
    pub fn start_thread(&self, parent: Option<RaceThread>) -> RaceThread {
        let mut state = self.state.lock();
        let thread = RaceThread::try_from(state.threads.len()).expect("fewer than 2^32 threads");
        let mut clock = match parent {
            Some(parent) => state.clock(parent).clone(),
            None => VectorClock::default(),
        };
        clock.tick(thread);
        state.threads.push(clock);
        if let Some(parent) = parent {
            // The parent's later events do not happen before the child's.
            state.clock(parent).tick(parent);
        }
        thread
    }

    /// `joiner` waited for `finished` to end: everything `finished` did happens before what
    /// `joiner` does next.
    pub fn join_thread(&self, joiner: RaceThread, finished: RaceThread) {
        let mut state = self.state.lock();
        let done = state.clock(finished).clone();
        state.clock(joiner).join(&done);
    }

    /// Just before a sequentially consistent atomic access (or a `notify` or `wait`) by
    /// `thread` at `address`: everything `thread` did so far happens before whatever
    /// acquires at `address` later.
    pub fn release(&self, thread: RaceThread, address: u64) {
        let mut state = self.state.lock();
        let State {
            threads,
            locations,
            released,
            ..
        } = &mut *state;
        let clock = &mut threads[thread as usize];
        locations.entry(address).or_default().join(clock);
        released.join(clock);
        clock.tick(thread);
    }

    /// A fence (`atomic.fence`) by `thread`: it acquires what every release so far left,
    /// anywhere, and releases to later fences. Code that publishes with an atomic store and
    /// reads with a fence then a plain load (musl's thread exit does) is ordered this way,
    /// at the price of ordering more than a fence really does, which can hide a race.
    pub fn fence(&self, thread: RaceThread) {
        let mut state = self.state.lock();
        let State {
            threads, released, ..
        } = &mut *state;
        let clock = &mut threads[thread as usize];
        clock.join(released);
        released.join(clock);
        clock.tick(thread);
    }

    /// Just after a sequentially consistent atomic access (or a `wait` that returned) by
    /// `thread` at `address`: what earlier releases there left happens before `thread`'s
    /// next events. Acquiring after the access and releasing before it means an access that
    /// reads another's value also sees its release.
    pub fn acquire(&self, thread: RaceThread, address: u64) {
        let mut state = self.state.lock();
        let State {
            threads, locations, ..
        } = &mut *state;
        if let Some(location) = locations.get(&address) {
            threads[thread as usize].join(location);
        }
    }

    /// A plain access by `thread` to the `size` bytes at `address`.
    ///
    /// A plain load of an address that atomic accesses use acquires what they released
    /// there, as if it were an atomic load: C libraries poll their synchronization words
    /// with volatile loads (musl's `pthread_join` reads the exiting thread's atomically
    /// stored state that way), and the hardware orders them as atomics.
    pub fn access(&self, thread: RaceThread, address: u64, size: u32, write: bool, site: Site) {
        let mut state = self.state.lock();
        let State {
            threads,
            locations,
            shadow,
            races: found,
            ..
        } = &mut *state;
        let clock = &mut threads[thread as usize];
        let access = Access {
            thread,
            site,
            write,
        };
        if !write && let Some(location) = locations.get(&address) {
            clock.join(location);
        }
        let clock = &*clock;
        let now = Epoch {
            time: clock.get(thread),
            access,
        };
        for byte in address..address.saturating_add(u64::from(size)) {
            let shadow = shadow.entry(byte).or_default();
            // FastTrack's fast path: the thread already accessed the byte so since its last
            // synchronization (and was checked then); nothing another thread did since can
            // be unordered with this access without having been checked against that one.
            let same_epoch =
                |epoch: &Epoch| epoch.access.thread == thread && epoch.time == now.time;
            if write && shadow.reads.is_empty() && shadow.write.as_ref().is_some_and(same_epoch) {
                continue;
            }
            if !write && shadow.reads.iter().any(same_epoch) {
                continue;
            }
            let mut races = Vec::new();
            if let Some(last_write) = shadow.write
                && last_write.access.thread != thread
                && !last_write.happens_before(clock)
            {
                races.push(last_write.access);
            }
            if write {
                races.extend(
                    shadow
                        .reads
                        .iter()
                        .filter(|read| read.access.thread != thread && !read.happens_before(clock))
                        .map(|read| read.access),
                );
                shadow.write = Some(now);
                shadow.reads.clear();
            } else {
                shadow.reads.retain(|read| read.access.thread != thread);
                shadow.reads.push(now);
            }
            for earlier in races {
                found.report(byte, earlier, access);
            }
        }
    }

    /// The races found so far, each pair of sites once, in the order they were found.
    pub fn races(&self) -> Vec<Race> {
        self.state.lock().races.found.clone()
    }
}
