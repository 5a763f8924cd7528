//! The OS threads behind guest threads, under either thread model: started with a stack
//! sized for the wasm stack budget, kept for reuse once their guest thread ends (a
//! `weft_threads::ThreadCache`), and joined so that a model that keeps spawning neither leaks
//! threads nor accumulates handles.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use weft_threads::ThreadCache;

/// Most finished threads a store or process keeps for its next spawns.
const MAX_IDLE_THREADS: usize = 64;
/// How long a finished thread waits for another spawn before it exits.
const IDLE_TIMEOUT: Duration = Duration::from_secs(2);

/// Stack for a thread running wasm: its wasm budget plus room for the runtime and host calls.
fn stack_size(max_wasm_stack: usize) -> usize {
    (max_wasm_stack + (1 << 20)).max(2 << 20)
}

/// The OS threads of one store's guest threads, or of one wasi-threads process.
pub(crate) struct OsThreads {
    cache: Arc<ThreadCache>,
    /// Handles of started OS threads that nobody has joined yet.
    handles: Mutex<Vec<JoinHandle<()>>>,
    /// What the threads are called, for debuggers and `top`.
    name: &'static str,
    max_wasm_stack: usize,
}

impl OsThreads {
    pub fn new(name: &'static str, max_wasm_stack: usize) -> OsThreads {
        OsThreads {
            cache: Arc::new(ThreadCache::new(MAX_IDLE_THREADS, IDLE_TIMEOUT)),
            handles: Mutex::new(Vec::new()),
            name,
            max_wasm_stack,
        }
    }

    /// Runs `body` on a thread that finished an earlier body, or on a new OS thread. Joins the
    /// threads that have exited first, so the list stays as long as the number of threads.
    pub fn start(&self, body: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
        let Some(worker) = ThreadCache::run(&self.cache, Box::new(body)) else {
            return Ok(());
        };
        self.join_exited();
        // On failure the worker is dropped unrun, and forgets `body`.
        let handle = std::thread::Builder::new()
            .name(self.name.to_string())
            .stack_size(stack_size(self.max_wasm_stack))
            .spawn(move || worker.run())?;
        self.handles().push(handle);
        Ok(())
    }

    fn handles(&self) -> std::sync::MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.handles.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn join_exited(&self) {
        let (exited, running) = std::mem::take(&mut *self.handles())
            .into_iter()
            .partition(|handle| handle.is_finished());
        self.handles().extend::<Vec<_>>(running);
        join_handles(exited);
    }

    /// Waits until every body started so far has returned. Callers first make sure those
    /// bodies are done running guest code (a group join), so this waits only for their last
    /// few instructions. The threads stay, for later bodies.
    pub fn wait_idle(&self) {
        self.cache.wait_idle();
        self.join_exited();
    }

    /// Waits for every body, then for every thread to exit. Later bodies still run, each on
    /// a thread of its own.
    pub fn join_all(&self) {
        self.cache.wait_idle();
        self.cache.close();
        let handles = std::mem::take(&mut *self.handles());
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
