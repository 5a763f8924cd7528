//! The data-race detector (`weft_threads::RaceDetector`) in the runtime: which detector
//! thread the running OS thread is, and which module each reported access belongs to.
//!
//! Code compiled with race detection calls the `race_access` builtin before every plain load
//! or store of a shared memory, and `race_release` before and `race_acquire` after every
//! atomic access, `wait` and `notify`; the thread runtimes fork a detector thread for each thread they start and join
//! it when the thread is joined. Addresses are native ones, so accesses to one shared memory
//! from several instances or stores (wasi-threads' instance per thread) meet in one shadow.

use super::module::ModuleRuntime;
use super::sites::SiteModules;
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use weft_threads::{Race, RaceDetector, RaceThread};

thread_local! {
    /// The detector thread the calling OS thread runs as, with the id of the tracker it
    /// belongs to.
    static CURRENT: Cell<Option<(u64, RaceThread)>> = const { Cell::new(None) };
}

/// Ids of trackers, unique in the process (an address could be reused by the next one).
static NEXT_TRACKER: AtomicU64 = AtomicU64::new(0);

/// One engine's race detector and the modules whose accesses it saw.
pub(crate) struct RaceTracker {
    id: u64,
    detector: RaceDetector,
    /// The modules of the reported sites.
    modules: SiteModules,
}

/// Restores the calling OS thread's previous detector thread when dropped.
#[must_use = "the thread runs as the entered detector thread until this is dropped"]
pub(crate) struct RaceScope {
    previous: Option<(u64, RaceThread)>,
}

impl Drop for RaceScope {
    fn drop(&mut self) {
        CURRENT.set(self.previous);
    }
}

/// A race as the runtime reports it: both accesses with their module.
pub(crate) struct SitedRace {
    pub race: Race,
    pub earlier_module: Arc<ModuleRuntime>,
    pub later_module: Arc<ModuleRuntime>,
}

impl Default for RaceTracker {
    fn default() -> Self {
        RaceTracker {
            id: NEXT_TRACKER.fetch_add(1, Ordering::Relaxed),
            detector: RaceDetector::new(),
            modules: SiteModules::default(),
        }
    }
}

impl RaceTracker {
    /// The detector thread of the calling OS thread: the one it was entered as, or, for a
    /// thread no runtime started (a store's home thread), a new root thread.
    pub fn current(&self) -> RaceThread {
        match CURRENT.get() {
            Some((tracker, thread)) if tracker == self.id => thread,
            _ => {
                let thread = self.detector.start_thread(None);
                CURRENT.set(Some((self.id, thread)));
                thread
            }
        }
    }

    /// A detector thread for a thread the calling one starts now.
    pub fn fork(&self) -> RaceThread {
        self.detector.start_thread(Some(self.current()))
    }

    /// Runs the calling OS thread as `thread` until the scope is dropped.
    pub fn enter(&self, thread: RaceThread) -> RaceScope {
        let previous = CURRENT.replace(Some((self.id, thread)));
        RaceScope { previous }
    }

    /// An `atomic.fence` by the calling thread.
    pub fn fence(&self) {
        self.detector.fence(self.current());
    }

    /// The calling thread has joined `finished`.
    pub fn join(&self, finished: RaceThread) {
        self.detector.join_thread(self.current(), finished);
    }

    /// A plain access by the calling thread to the `size` bytes at native `address`, made by
    /// `module`'s code at `location` (function index in the high half, wasm offset in the
    /// low half).
    pub fn access(
        &self,
        module: &Arc<ModuleRuntime>,
        address: u64,
        size: u32,
        write: bool,
        location: u64,
    ) {
        let key = self.modules.key(module);
        self.detector
            .access(self.current(), address, size, write, (key, location));
    }

    /// Just before an atomic access, `wait` or `notify` by the calling thread at native
    /// `address`.
    pub fn release(&self, address: u64) {
        self.detector.release(self.current(), address);
    }

    /// Just after an atomic access, `wait` or `notify` by the calling thread at native
    /// `address`.
    pub fn acquire(&self, address: u64) {
        self.detector.acquire(self.current(), address);
    }

    /// Every race found so far, once per pair of sites.
    pub fn races(&self) -> Vec<SitedRace> {
        let module = |key| {
            self.modules
                .module(key)
                .expect("every reported access registered its module")
        };
        self.detector
            .races()
            .into_iter()
            .map(|race| SitedRace {
                earlier_module: module(race.earlier.site.0),
                later_module: module(race.later.site.0),
                race,
            })
            .collect()
    }
}
