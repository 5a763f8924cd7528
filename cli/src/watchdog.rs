//! `-W timeout=DURATION`: a thread that stops a run which takes too long.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Something the watchdog stops when the time is up.
type Stop = Box<dyn Fn() + Send>;

/// The stops to make, and whether the time is up; one lock, so that a stop added just as
/// the time runs out is made either by the watchdog or at once by `watch`.
#[derive(Default)]
struct Targets {
    stops: Vec<Stop>,
    fired: bool,
}

/// Stops everything it watches once `timeout` has passed, unless disarmed first.
pub(crate) struct Watchdog {
    targets: Arc<Mutex<Targets>>,
    disarm: Sender<()>,
    thread: JoinHandle<()>,
}

impl Watchdog {
    pub fn start(timeout: Duration) -> Watchdog {
        let targets = Arc::new(Mutex::new(Targets::default()));
        let (disarm, disarmed) = mpsc::channel::<()>();
        let watched = Arc::clone(&targets);
        let thread = thread::spawn(move || {
            if let Err(RecvTimeoutError::Timeout) = disarmed.recv_timeout(timeout) {
                let mut targets = watched.lock().unwrap_or_else(|e| e.into_inner());
                targets.fired = true;
                for stop in &targets.stops {
                    stop();
                }
            }
        });
        Watchdog {
            targets,
            disarm,
            thread,
        }
    }

    /// Adds something to stop when the time is up (at once, if it is up already).
    pub fn watch(&self, stop: impl Fn() + Send + 'static) {
        let mut targets = self.targets.lock().unwrap_or_else(|e| e.into_inner());
        if targets.fired {
            stop();
        }
        targets.stops.push(Box::new(stop));
    }

    /// Stops the watchdog; returns whether the time ran out first.
    pub fn disarm(self) -> bool {
        // The watchdog may have fired and left already, dropping its end.
        let _ = self.disarm.send(());
        let _ = self.thread.join();
        self.targets.lock().unwrap_or_else(|e| e.into_inner()).fired
    }
}
