//! A value set once, and the actions waiting for it: how a WASI program's exit reaches every
//! store and process it must stop, whichever thread exits and whenever the embedder
//! registers what to stop.
//!
//! The value and the waiting actions share one lock, so an action registered while another
//! thread sets the value either is in the list the setter takes, or sees the value and runs at
//! once: it runs exactly once either way (`loom_latch.rs`). Actions run outside the lock, since
//! they may do anything (stop threads, which run their own cancellation hooks). A separate
//! flag answers "is it set?" without the lock, for checks on hot paths.

use crate::flaw::LatchFlaw;
use crate::sync::{AtomicBool, Mutex, Ordering};

/// An action run with the value once it is set.
type Action<T> = Box<dyn FnOnce(T) + Send>;

struct State<T> {
    value: Option<T>,
    waiting: Vec<Action<T>>,
}

/// A value that is set at most once (the first set wins), with actions to run when it is.
pub struct Latch<T> {
    state: Mutex<State<T>>,
    /// Whether `value` is set: written under the lock, read without it.
    set: AtomicBool,
    #[cfg(loom)]
    flaw: Option<LatchFlaw>,
}

impl<T: Copy> Default for Latch<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy> Latch<T> {
    pub fn new() -> Self {
        Latch {
            state: Mutex::new(State {
                value: None,
                waiting: Vec::new(),
            }),
            set: AtomicBool::new(false),
            #[cfg(loom)]
            flaw: None,
        }
    }

    /// A latch whose protocol has `flaw`, for showing that a loom model catches it.
    #[cfg(all(loom, test))]
    pub(crate) fn with_flaw(flaw: LatchFlaw) -> Self {
        Latch {
            flaw: Some(flaw),
            ..Self::new()
        }
    }

    #[cfg(loom)]
    fn flawed(&self, flaw: LatchFlaw) -> bool {
        self.flaw == Some(flaw)
    }

    #[cfg(not(loom))]
    fn flawed(&self, _flaw: LatchFlaw) -> bool {
        false
    }

    /// Sets the value unless it is set already, and runs the waiting actions with it; returns
    /// the value that stands.
    pub fn set(&self, value: T) -> T {
        let mut state = self.state.lock();
        if let Some(first) = state.value
            && !self.flawed(LatchFlaw::LastSetWins)
        {
            return first;
        }
        state.value = Some(value);
        self.set.store(true, Ordering::Release);
        let waiting = std::mem::take(&mut state.waiting);
        drop(state);
        for action in waiting {
            action(value);
        }
        value
    }

    /// The value, if it is set.
    pub fn get(&self) -> Option<T> {
        if !self.is_set() {
            return None;
        }
        self.state.lock().value
    }

    /// Whether the value is set: one atomic load.
    pub fn is_set(&self) -> bool {
        self.set.load(Ordering::Acquire)
    }

    /// Runs `action` with the value once it is set: now, if it is.
    pub fn on_set(&self, action: impl FnOnce(T) + Send + 'static) {
        let mut state = self.state.lock();
        if self.flawed(LatchFlaw::CheckThenRegister) {
            let value = state.value;
            drop(state);
            if let Some(value) = value {
                return action(value);
            }
            state = self.state.lock();
        }
        match state.value {
            Some(value) if !self.flawed(LatchFlaw::CheckThenRegister) => {
                drop(state);
                action(value);
            }
            _ => state.waiting.push(Box::new(action)),
        }
    }
}
