//! Stops a run that outlives its deadline. Every wait of a generated program is bounded,
//! but a thread of a miscompiled program could still spin forever (a compare-exchange loop
//! that never succeeds); the watchdog turns that hang into a failure with a reproducer
//! rather than a campaign that never ends.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use weft::Terminator;

/// How long one run of a campaign may take: far more than any run needs (a few
/// milliseconds), and more than a wait's timeout, so that a lost wakeup shows as a counted
/// timeout first.
pub const RUN_DEADLINE: Duration = Duration::from_secs(30);

/// A thread that stops the run being watched once its deadline passes.
pub struct Watchdog {
    /// How long a run may take.
    deadline: Duration,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    watched: Option<Watched>,
    /// Set when the watchdog is dropped: its thread ends.
    closed: bool,
}

/// The run being watched.
struct Watched {
    deadline: Instant,
    /// What stops it: its store's, and its wasi-threads process's.
    terminators: Vec<Terminator>,
    fired: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves nothing half-done: the state is plain data.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Watchdog {
    /// Starts the watchdog's thread, for runs that may take `deadline` each.
    pub fn new(deadline: Duration) -> std::io::Result<Watchdog> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        });
        let serving = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("threads-watchdog".to_string())
            .spawn(move || serve(&serving))?;
        Ok(Watchdog {
            deadline,
            shared,
            thread: Some(thread),
        })
    }

    /// How long a run may take.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// Begins watching a run, whose deadline is [`Watchdog::deadline`] from now; it ends
    /// when the returned watch is finished or dropped.
    pub fn begin(&self) -> Watch<'_> {
        self.shared.lock().watched = Some(Watched {
            deadline: Instant::now() + self.deadline,
            terminators: Vec::new(),
            fired: false,
        });
        self.shared.changed.notify_all();
        Watch { watchdog: self }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.changed.notify_all();
        if let Some(thread) = self.thread.take() {
            // The thread only waits and terminates; it has nothing to report.
            let _ = thread.join();
        }
    }
}

/// A run being watched.
pub struct Watch<'a> {
    watchdog: &'a Watchdog,
}

impl Watch<'_> {
    /// Adds what stops the run; stops it at once if its deadline has passed already.
    pub fn stop_with(&self, terminator: Terminator) {
        let mut state = self.watchdog.shared.lock();
        if let Some(watched) = &mut state.watched {
            if watched.fired {
                terminator.terminate();
            }
            watched.terminators.push(terminator);
        }
    }

    /// Ends the watch: whether the deadline passed and the run was stopped.
    pub fn finish(self) -> bool {
        self.watchdog
            .shared
            .lock()
            .watched
            .take()
            .is_some_and(|watched| watched.fired)
    }
}

impl Drop for Watch<'_> {
    fn drop(&mut self) {
        self.watchdog.shared.lock().watched = None;
    }
}

/// The watchdog's thread: sleeps until the watched run's deadline, then stops it.
fn serve(shared: &Shared) {
    let mut state = shared.lock();
    loop {
        if state.closed {
            return;
        }
        let wait = match &mut state.watched {
            Some(watched) if !watched.fired => {
                let now = Instant::now();
                if now >= watched.deadline {
                    watched.fired = true;
                    for terminator in &watched.terminators {
                        terminator.terminate();
                    }
                    None
                } else {
                    Some(watched.deadline - now)
                }
            }
            _ => None,
        };
        state = match wait {
            Some(timeout) => {
                shared
                    .changed
                    .wait_timeout(state, timeout)
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .0
            }
            None => shared
                .changed
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        };
    }
}
