//! The OS threads behind guest threads, under either thread model: started with a stack
//! sized for the wasm stack budget, and joined so that a model that keeps spawning neither
//! leaks threads nor accumulates handles.

use std::sync::Mutex;
use std::thread::JoinHandle;

/// Stack for a thread running wasm: its wasm budget plus room for the runtime and host calls.
fn stack_size(max_wasm_stack: usize) -> usize {
    (max_wasm_stack + (1 << 20)).max(2 << 20)
}

/// Handles of started OS threads that nobody has joined yet.
pub(crate) struct OsThreads {
    handles: Mutex<Vec<JoinHandle<()>>>,
    max_wasm_stack: usize,
}

impl OsThreads {
    pub fn new(max_wasm_stack: usize) -> OsThreads {
        OsThreads {
            handles: Mutex::new(Vec::new()),
            max_wasm_stack,
        }
    }

    /// Starts `body` on a new OS thread named `name`. Joins the threads that have already
    /// exited first, so the list stays as long as the number of live threads.
    pub fn start(&self, name: String, body: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
        self.join_finished();
        let handle = std::thread::Builder::new()
            .name(name)
            .stack_size(stack_size(self.max_wasm_stack))
            .spawn(body)?;
        self.handles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(handle);
        Ok(())
    }

    fn join_finished(&self) {
        let mut handles = self.handles.lock().unwrap_or_else(|e| e.into_inner());
        let (finished, running) = std::mem::take(&mut *handles)
            .into_iter()
            .partition(|handle| handle.is_finished());
        *handles = running;
        drop(handles);
        join_handles(finished);
    }

    /// Joins every thread started so far. Callers first make sure those threads are done
    /// running guest code (a group join), so this waits only for their last few instructions.
    pub fn join_all(&self) {
        let handles = std::mem::take(&mut *self.handles.lock().unwrap_or_else(|e| e.into_inner()));
        join_handles(handles);
    }
}

fn join_handles(handles: Vec<JoinHandle<()>>) {
    for handle in handles {
        // A guest thread catches every trap and panic of the code it runs; a panic here would
        // be a bug in weft itself, which the join must not hide.
        if let Err(panic) = handle.join() {
            std::panic::resume_unwind(panic);
        }
    }
}
