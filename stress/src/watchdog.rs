//! A deadline for a run: if the run is not over in time (a lost wakeup, a thread that never
//! stops), the watchdog terminates the store's threads, so the suite reports the failure
//! instead of hanging.

use crate::error::StressError;
use crate::os_threads::HOST_THREAD_PREFIX;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;
use weft::Terminator;

pub(crate) struct Watchdog {
    disarm: mpsc::Sender<()>,
    thread: JoinHandle<bool>,
}

impl Watchdog {
    pub fn arm(terminator: Terminator, deadline: Duration) -> Result<Watchdog, StressError> {
        let (disarm, disarmed) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(format!("{HOST_THREAD_PREFIX}watchdog"))
            .spawn(move || match disarmed.recv_timeout(deadline) {
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    terminator.terminate();
                    true
                }
                _ => false,
            })?;
        Ok(Watchdog { disarm, thread })
    }

    /// Stops the watchdog; returns whether it fired.
    pub fn disarm(self) -> Result<bool, StressError> {
        // A watchdog that fired has stopped listening, so the send may fail.
        let _ = self.disarm.send(());
        self.thread
            .join()
            .map_err(|_| StressError::HostPanic("watchdog".into()))
    }
}
