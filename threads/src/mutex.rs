//! A mutex for guests, which lock and unlock it in separate host calls: there is no guard to
//! drop, so the mutex records which thread holds it and checks every unlock against that.
//!
//! The protocol, whose steps the loom models pin down (`loom_mutex.rs`):
//! - The lock word holds the owner's thread token (zero when free) and a `CONTENDED` bit.
//!   **lock** is one compare-and-swap from free to owned, **unlock** one from owned to free: no
//!   lock, no lookup, no allocation while nobody waits.
//! - A locker that finds the mutex held sets `CONTENDED`, then sleeps in the mutex's
//!   [`ParkingList`] only if the word, checked under the list's lock, is still held and
//!   contended. An unlock that finds `CONTENDED` frees the word, then wakes one sleeper: the
//!   list's lock orders that wakeup after the sleeper's check, or makes the check fail. No wakeup
//!   is lost, and since the bit and the owner share one word, no store-load fence is needed.
//! - The bit does not count sleepers; it means the owner's unlock must wake one. That unlock
//!   clears it, so the sleeper it wakes takes over the duty: in the slow path a locker takes a
//!   free mutex as contended, and sets the bit on a held one before it sleeps or gives up. So a
//!   locker that a wakeup chose, and that then times out or is interrupted, passes the wakeup on:
//!   it has taken the mutex, or left the bit for the owner's unlock to wake the next sleeper.
//!   A locker that gives up unchosen leaves the bit as it is, for those still asleep.
//! - A bit set when nobody sleeps any more costs one needless wakeup, of an empty list.

use std::fmt;
use std::time::Duration;

use crate::flaw::MutexFlaw;
use crate::parking_list::ParkingList;
use crate::semaphore::Acquire;
use crate::sync::{AtomicU64, Deadline, Ordering, thread_local};
use crate::wait_queue::WaitOutcome;
use crate::waiter::Waiter;

/// The lock word of a free mutex: no owner, and never contended.
const FREE: u64 = 0;

/// Set while the mutex is held and its unlock must wake a sleeper.
const CONTENDED: u64 = 1;

fn owner(state: u64) -> u64 {
    state & !CONTENDED
}

/// The calling thread's token: distinct for every thread the process runs, never [`FREE`], and
/// clear of [`CONTENDED`].
fn my_token() -> u64 {
    /// Tokens issued so far. A std atomic even under loom: tokens only need to differ, which is
    /// no protocol for loom to check (and loom's atomics cannot live in a static).
    static ISSUED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    thread_local! {
        static TOKEN: u64 = (ISSUED.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1) << 1;
    }
    // A `u64` has no destructor, so the token outlives the thread's other locals.
    TOKEN.with(|token| *token)
}

/// Why an [`unlock`](HostMutex::unlock) (or a [`HostCondvar`](crate::HostCondvar) wait, which
/// starts with one) failed. The mutex is unchanged.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum UnlockError {
    /// Another thread holds the mutex.
    NotOwner,
    /// Nobody holds the mutex.
    NotLocked,
}

impl fmt::Display for UnlockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UnlockError::NotOwner => "the mutex is held by another thread",
            UnlockError::NotLocked => "the mutex is not locked",
        })
    }
}

impl std::error::Error for UnlockError {}

/// [`lock`](HostMutex::lock) was called by the thread that already holds the mutex, which would
/// wait for itself forever. The mutex is unchanged (still held by the caller).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct AlreadyHeld;

impl fmt::Display for AlreadyHeld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the calling thread already holds the mutex")
    }
}

impl std::error::Error for AlreadyHeld {}

/// A mutex that is locked and unlocked by explicit calls, owned by the thread that locked it,
/// whose waits can time out and be interrupted. Not reentrant.
pub struct HostMutex {
    /// The owner's token, or [`FREE`]; [`CONTENDED`] in the low bit.
    state: AtomicU64,
    sleeping: ParkingList,
    #[cfg(loom)]
    flaw: Option<MutexFlaw>,
}

impl HostMutex {
    pub fn new() -> HostMutex {
        HostMutex {
            state: AtomicU64::new(FREE),
            sleeping: ParkingList::new(),
            #[cfg(loom)]
            flaw: None,
        }
    }

    /// A mutex whose protocol has `flaw`, for showing that a loom model catches it.
    #[cfg(all(loom, test))]
    pub(crate) fn with_flaw(flaw: MutexFlaw) -> HostMutex {
        HostMutex {
            flaw: Some(flaw),
            ..HostMutex::new()
        }
    }

    #[cfg(loom)]
    fn flawed(&self, flaw: MutexFlaw) -> bool {
        self.flaw == Some(flaw)
    }

    #[cfg(not(loom))]
    fn flawed(&self, _flaw: MutexFlaw) -> bool {
        false
    }

    /// The lock word, for code that takes the uncontended paths itself, such as the JIT
    /// code weft gives guests for `lock` and `unlock`: a compare-exchange of 0 (free) to the
    /// caller's [`thread_token`](HostMutex::thread_token) locks, one of the token back to 0
    /// unlocks, exactly as the first step of [`lock`](HostMutex::lock) and
    /// [`unlock`](HostMutex::unlock) do; when either fails, the caller must call the method.
    #[cfg(not(loom))]
    pub fn lock_word(&self) -> *const u64 {
        self.state.as_ptr()
    }

    /// The calling OS thread's token, which the lock word holds while the thread owns a
    /// mutex: never 0.
    pub fn thread_token() -> u64 {
        my_token()
    }

    /// Whether some thread holds the mutex right now.
    pub fn is_locked(&self) -> bool {
        self.state.load(Ordering::SeqCst) != FREE
    }

    /// Takes the mutex if it is free, without blocking. False if any thread holds it, the
    /// caller included.
    pub fn try_lock(&self) -> bool {
        self.state
            .compare_exchange(FREE, my_token(), Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    /// Takes the mutex, blocking until it is free, `timeout` passes (`None` waits forever) or
    /// the calling thread is interrupted. An interrupted thread that finds the mutex free still
    /// takes it. Returns [`AlreadyHeld`] at once if the caller holds the mutex already.
    pub fn lock(&self, timeout: Option<Duration>) -> Result<Acquire, AlreadyHeld> {
        let me = my_token();
        match self
            .state
            .compare_exchange(FREE, me, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => Ok(Acquire::Acquired),
            Err(state) if owner(state) == me => Err(AlreadyHeld),
            Err(_) => Ok(self.lock_contended(me, timeout.and_then(Deadline::after))),
        }
    }

    /// Takes back the mutex the caller released to wait on a condition variable: as `lock`
    /// with no timeout, so it ends `Acquired` or `Interrupted`.
    pub(crate) fn relock(&self) -> Acquire {
        if self.try_lock() {
            return Acquire::Acquired;
        }
        self.lock_contended(my_token(), None)
    }

    /// The slow path of `lock`, for the thread whose token is `me`.
    fn lock_contended(&self, me: u64, deadline: Option<Deadline>) -> Acquire {
        loop {
            if self.take_or_mark(me) {
                return Acquire::Acquired;
            }
            let held_and_contended = || self.state.load(Ordering::SeqCst) & CONTENDED != 0;
            let gave_up = match self.sleeping.wait(held_and_contended, deadline) {
                WaitOutcome::Woken if self.flawed(MutexFlaw::WakeupMeansLock) => {
                    self.state.store(me | CONTENDED, Ordering::SeqCst);
                    return Acquire::Acquired;
                }
                WaitOutcome::Woken
                    if self.flawed(MutexFlaw::ChosenLockerGivesUp)
                        && Waiter::current().is_interrupted() =>
                {
                    Acquire::Interrupted
                }
                WaitOutcome::Woken | WaitOutcome::Mismatch => continue,
                WaitOutcome::TimedOut => Acquire::TimedOut,
                WaitOutcome::Interrupted => Acquire::Interrupted,
            };
            if self.flawed(MutexFlaw::GiveUpClearsContention) {
                self.state.fetch_and(!CONTENDED, Ordering::SeqCst);
            }
            return gave_up;
        }
    }

    /// Takes the mutex if it is free, as contended since others may sleep; otherwise marks it
    /// contended, so that its owner's unlock wakes a sleeper. Returns whether it took it.
    fn take_or_mark(&self, me: u64) -> bool {
        let before = self
            .state
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |state| {
                let next = (if state == FREE { me } else { state }) | CONTENDED;
                (next != state).then_some(next)
            });
        before == Ok(FREE)
    }

    /// Releases the mutex, which the calling thread must hold, and wakes a thread waiting for
    /// it, if any.
    pub fn unlock(&self) -> Result<(), UnlockError> {
        let me = my_token();
        if self.flawed(MutexFlaw::ReadContentionFirst) {
            let state = self.state.load(Ordering::SeqCst);
            check_owner(state, me)?;
            self.state.store(FREE, Ordering::SeqCst);
            if state & CONTENDED != 0 {
                self.sleeping.notify(1);
            }
            return Ok(());
        }
        match self
            .state
            .compare_exchange(me, FREE, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => Ok(()),
            Err(state) => {
                check_owner(state, me)?;
                // Contended: while we hold the mutex with the bit set, nobody else writes the
                // word, so a plain store frees it.
                self.state.store(FREE, Ordering::SeqCst);
                self.sleeping.notify(1);
                Ok(())
            }
        }
    }

    /// Threads asleep waiting for the mutex.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn sleepers(&self) -> usize {
        self.sleeping.waiters()
    }
}

/// Whether the thread whose token is `me` holds a mutex whose lock word is `state`, and if not,
/// why.
fn check_owner(state: u64, me: u64) -> Result<(), UnlockError> {
    match owner(state) {
        owner if owner == me => Ok(()),
        FREE => Err(UnlockError::NotLocked),
        _ => Err(UnlockError::NotOwner),
    }
}

impl Default for HostMutex {
    fn default() -> Self {
        HostMutex::new()
    }
}

impl fmt::Debug for HostMutex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostMutex")
            .field("locked", &self.is_locked())
            .finish_non_exhaustive()
    }
}
