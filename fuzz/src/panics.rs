//! Panics as values. A case's panic is caught where it happens: weft's is a failure of the
//! case, the reference engine's is a bug of the reference. Either way the campaign goes on
//! to report it with where it came from, and the default hook's message and backtrace stay
//! off stderr while a catch is under way on this thread.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, PanicHookInfo, catch_unwind};
use std::sync::Once;

thread_local! {
    /// How many [`catch`]es are under way on this thread.
    static CATCHING: Cell<u32> = const { Cell::new(0) };
    /// The last panic caught on this thread, with its place in the source.
    static CAUGHT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `work`: its result, or what its panic said and where it happened.
pub fn catch<R>(work: impl FnOnce() -> R) -> Result<R, String> {
    install_hook();
    CATCHING.with(|depth| depth.set(depth.get() + 1));
    let result = catch_unwind(AssertUnwindSafe(work));
    CATCHING.with(|depth| depth.set(depth.get() - 1));
    result.map_err(|payload| {
        CAUGHT
            .with(|caught| caught.borrow_mut().take())
            .unwrap_or_else(|| message(&*payload))
    })
}

/// Keeps the panics of catching threads for [`catch`]; every other panic goes to the hook
/// that was there before.
fn install_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| {
            if CATCHING.with(Cell::get) > 0 {
                let place = info
                    .location()
                    .map(|at| format!(" at {}:{}", at.file(), at.line()))
                    .unwrap_or_default();
                let said = message(info.payload());
                CAUGHT.with(|caught| *caught.borrow_mut() = Some(format!("{said}{place}")));
            } else {
                previous(info);
            }
        }));
    });
}

/// The text a panic was raised with.
fn message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_string()
    }
}
