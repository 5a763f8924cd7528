//! A watchdog that stops a runaway guest: the store's own call spins forever, and so do the
//! guest threads it spawned; a watchdog thread terminates them all after a deadline. Every
//! thread unwinds with the interrupt trap, and the store runs normally afterwards.
//!
//! ```text
//! cargo run --release -p weft-examples --example watchdog
//! ```

use anyhow::{Context, Result, bail};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};
use weft::{Config, Engine, Linker, Module, Store, Terminator, Trap, WasmFeatures};

const GUEST: &str = r#"
(module
  (type $entry (shared (func (param i32))))
  (type $spawn_t (shared (func (param (ref null $entry) i32) (result i32))))
  (import "wasm:thread" "spawn-ref" (func $spawn (type $spawn_t)))
  (elem declare func $spin)
  (func $spin (type $entry) (loop $forever (br $forever)))
  ;; Starts $n spinning threads, then spins itself.
  (func (export "run_away") (param $n i32)
    (loop $more
      (if (local.get $n)
        (then
          (drop (call $spawn (ref.func $spin) (i32.const 0)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $more))))
    (loop $forever (br $forever)))
  (func (export "answer") (result i32) (i32.const 42))
)
"#;

/// Terminates a store unless disarmed before `deadline`.
struct Watchdog {
    disarm: mpsc::Sender<()>,
    thread: thread::JoinHandle<bool>,
}

impl Watchdog {
    fn arm(terminator: Terminator, deadline: Duration) -> Watchdog {
        let (disarm, disarmed) = mpsc::channel();
        let thread = thread::spawn(move || match disarmed.recv_timeout(deadline) {
            Err(mpsc::RecvTimeoutError::Timeout) => {
                terminator.terminate();
                true
            }
            _ => false,
        });
        Watchdog { disarm, thread }
    }

    /// Whether the watchdog fired.
    fn disarm(self) -> bool {
        // A watchdog that already fired has stopped listening.
        let _ = self.disarm.send(());
        self.thread
            .join()
            .expect("the watchdog thread does not panic")
    }
}

fn main() -> Result<()> {
    let mut config = Config::new();
    config.wasm_features(WasmFeatures::default() | WasmFeatures::SHARED_EVERYTHING_THREADS);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, GUEST)?;
    let mut store = Store::new(&engine, ());
    // The linker provides the `"wasm:thread"` intrinsics.
    let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
    let run_away = instance.get_typed_func::<i32, ()>(&mut store, "run_away")?;

    let watchdog = Watchdog::arm(store.terminator(), Duration::from_millis(200));
    let started = Instant::now();
    let outcome = run_away.call(&mut store, 4);
    let stopped_after = started.elapsed();
    let fired = watchdog.disarm();
    match outcome {
        Err(error) if error.trap() == Some(Trap::Interrupted) => {}
        Err(error) => bail!("the runaway guest failed otherwise: {error}"),
        Ok(()) => bail!("the runaway guest returned"),
    }
    if !fired {
        bail!("the guest stopped although the watchdog did not fire");
    }
    println!(
        "watchdog stopped the runaway guest and its 4 threads after {} ms",
        stopped_after.as_millis()
    );

    // Every spawned thread was stopped and joined by the interrupted call; the store is
    // usable again.
    let answer = instance
        .get_typed_func::<(), i32>(&mut store, "answer")?
        .call(&mut store, ())
        .context("the store runs again after termination")?;
    println!("the store runs again: answer = {answer}");
    Ok(())
}
