//! The state one program's WASI calls share: arguments, environment, descriptors, how it
//! exited, and its clock's epoch. Every function module reads it; `WasiCtx` owns it.

use crate::table::FdTable;
use weft_threads::Latch;

/// What every WASI call of one program sees; `WasiCtx` holds it in an `Arc`.
pub(crate) struct Shared {
    pub args: Vec<String>,
    /// `NAME=value` strings.
    pub env: Vec<String>,
    pub table: FdTable,
    pub exit: ProcessExit,
    /// The host's monotonic time when the context was built: the program's time zero.
    pub monotonic_epoch: u64,
}

/// The exit status a program gave with `proc_exit` (the first exit wins), and the actions
/// that run when it does: a `weft_threads::Latch`, whose protocol has loom models.
#[derive(Default)]
pub(crate) struct ProcessExit(Latch<i32>);

impl ProcessExit {
    /// Records `code` if no thread exited first and runs the exit actions (which stop the
    /// program's stores and processes). Returns the code that stands.
    pub fn exit(&self, code: i32) -> i32 {
        self.0.set(code)
    }

    pub fn code(&self) -> Option<i32> {
        self.0.get()
    }

    /// Runs `action` with the status when the program exits, or now if it has.
    pub fn on_exit(&self, action: impl FnOnce(i32) + Send + 'static) {
        self.0.on_set(action);
    }

    /// Whether the program has exited: one atomic load, for every WASI call.
    pub fn has_exited(&self) -> bool {
        self.0.is_set()
    }
}
