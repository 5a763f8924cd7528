//! What embedders coming from Wasmtime reach for: host closures returning `anyhow::Result`,
//! `Instance::get_shared_memory`, `Linker::define_unknown_imports_as_traps`.

mod support;

use std::fmt;
use support::shared_everything_engine;
use weft::*;

/// A host error of the embedder's own type.
#[derive(Debug, PartialEq)]
struct Refused(i32);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refused {}", self.0)
    }
}

impl std::error::Error for Refused {}

/// A module whose export `run` passes its argument to the import `host::f` and returns
/// what it returns.
const CALLS_HOST: &str = r#"(module
  (import "host" "f" (func $f (param i32) (result i32)))
  (func (export "run") (param i32) (result i32) (call $f (local.get 0))))"#;

/// Instantiates [`CALLS_HOST`] with `define` giving `host::f`, and returns `run`.
fn run_with(
    define: impl FnOnce(&mut Linker<()>) -> Result<(), Error>,
) -> (Store<()>, TypedFunc<i32, i32>) {
    let engine = Engine::default();
    let module = Module::new(&engine, CALLS_HOST).unwrap();
    let mut linker = Linker::new(&engine);
    define(&mut linker).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance.get_typed_func(&mut store, "run").unwrap();
    (store, run)
}

#[test]
fn host_closures_may_return_anyhow_results() {
    let (mut store, run) = run_with(|linker| {
        linker.func_wrap("host", "f", |x: i32| -> anyhow::Result<i32> {
            anyhow::ensure!(x >= 0, "negative: {x}");
            Ok(x * 2)
        })?;
        Ok(())
    });
    assert_eq!(run.call(&mut store, 21).unwrap(), 42);
    let error = run.call(&mut store, -1).unwrap_err();
    assert!(matches!(error, Error::Host(_)), "{error:?}");
    assert_eq!(error.to_string(), "negative: -1");
    // The store is usable afterwards, as after any host error.
    assert_eq!(run.call(&mut store, 1).unwrap(), 2);
}

#[test]
fn store_free_host_closures_may_return_anyhow_results() {
    let (mut store, run) = run_with(|linker| {
        linker.func_wrap_shared("host", "f", |x: i32| -> anyhow::Result<i32> {
            anyhow::ensure!(x != 0, "zero");
            Ok(100 / x)
        })?;
        Ok(())
    });
    assert_eq!(run.call(&mut store, 4).unwrap(), 25);
    let error = run.call(&mut store, 0).unwrap_err();
    assert!(matches!(error, Error::Host(_)), "{error:?}");
    assert_eq!(error.to_string(), "zero");
}

#[test]
fn a_host_error_of_any_type_comes_back_whole() {
    let (mut store, run) = run_with(|linker| {
        linker.func_wrap("host", "f", |x: i32| -> Result<i32, Refused> {
            if x < 0 { Err(Refused(x)) } else { Ok(x) }
        })?;
        Ok(())
    });
    let Error::Host(error) = run.call(&mut store, -7).unwrap_err() else {
        panic!("a host error");
    };
    assert_eq!(error.downcast_ref::<Refused>(), Some(&Refused(-7)));

    // A bare message works too.
    let (mut store, run) = run_with(|linker| {
        linker.func_wrap_shared("host", "f", |_: i32| -> Result<i32, &'static str> {
            Err("no")
        })?;
        Ok(())
    });
    assert_eq!(run.call(&mut store, 0).unwrap_err().to_string(), "no");
}

#[test]
fn weft_errors_from_host_closures_keep_their_variant() {
    for shared in [false, true] {
        let body = |x: i32| -> Result<i32, Error> {
            match x {
                0 => Err(Error::from(Trap::IntegerDivisionByZero)),
                1 => Err(UsageError::StoreGone.into()),
                _ => Ok(x),
            }
        };
        let (mut store, run) = run_with(|linker| {
            if shared {
                linker.func_wrap_shared("host", "f", body)?;
            } else {
                linker.func_wrap("host", "f", body)?;
            }
            Ok(())
        });
        let trap = run.call(&mut store, 0).unwrap_err();
        assert_eq!(trap.trap(), Some(Trap::IntegerDivisionByZero), "{trap:?}");
        let usage = run.call(&mut store, 1).unwrap_err();
        assert!(
            matches!(usage, Error::Usage(UsageError::StoreGone)),
            "{usage:?}"
        );
        assert_eq!(run.call(&mut store, 5).unwrap(), 5);
    }
}

#[test]
fn func_wrap_takes_anyhow_closures_too() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, 3);
    let times = Func::wrap(
        &mut store,
        |caller: Caller<'_, i32>, x: i32| -> anyhow::Result<i32> {
            x.checked_mul(*caller.data())
                .ok_or_else(|| anyhow::anyhow!("overflow"))
        },
    )
    .unwrap();
    let half = Func::wrap_shared(&mut store, |x: i32| -> anyhow::Result<i32> {
        anyhow::ensure!(x % 2 == 0, "odd");
        Ok(x / 2)
    })
    .unwrap();
    let times = times.typed::<i32, i32>(&store).unwrap();
    let half = half.typed::<i32, i32>(&store).unwrap();
    assert_eq!(times.call(&mut store, 5).unwrap(), 15);
    assert_eq!(
        times.call(&mut store, i32::MAX).unwrap_err().to_string(),
        "overflow"
    );
    assert_eq!(half.call(&mut store, 8).unwrap(), 4);
    assert_eq!(half.call(&mut store, 3).unwrap_err().to_string(), "odd");
}

/// anyhow boxes what it wraps as a whole, so a trap propagated through an `anyhow::Error`
/// arrives as a host error carrying the trap's message (see `HostResult`).
#[test]
fn a_trap_inside_an_anyhow_error_arrives_as_its_message() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "reenter" (func $reenter (result i32)))
             (func (export "boom") (result i32) unreachable)
             (func (export "run") (result i32) (call $reenter)))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "host",
            "reenter",
            |mut caller: Caller<'_, ()>| -> anyhow::Result<i32> {
                let boom = caller.get_export("boom").and_then(Extern::into_func);
                let boom = boom.expect("exported").typed::<(), i32>(&caller)?;
                Ok(boom.call(&mut caller, ())?)
            },
        )
        .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<(), i32>(&mut store, "run")
        .unwrap();
    let error = run.call(&mut store, ()).unwrap_err();
    assert!(matches!(error, Error::Host(_)), "{error:?}");
    assert_eq!(error.to_string(), "wasm trap: unreachable executed");
}

#[test]
fn error_host_gives_a_weft_error_back_as_itself() {
    let boxed: Box<dyn std::error::Error + Send + Sync> =
        Box::new(Error::from(Trap::UnalignedAtomic));
    assert_eq!(Error::host(boxed).trap(), Some(Trap::UnalignedAtomic));
    let error = Error::host(Refused(1));
    assert!(matches!(error, Error::Host(_)), "{error:?}");
    assert_eq!(error.to_string(), "refused 1");
}

#[test]
fn shared_memories_are_exported_as_shared_memories() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (memory (export "shared") 1 2 shared)
             (func (export "load") (param i32) (result i32) (i32.atomic.load (local.get 0))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    assert!(instance.get_memory(&mut store, "shared").is_none());
    let memory = instance
        .get_shared_memory(&mut store, "shared")
        .expect("a shared memory");
    assert_eq!(memory.size(), 1);
    assert!(memory.ty().is_shared());
    // The same memory, not a copy: a host write is what the guest reads.
    memory.write(8, &42_u32.to_le_bytes()).unwrap();
    let load = instance
        .get_typed_func::<i32, i32>(&mut store, "load")
        .unwrap();
    assert_eq!(load.call(&mut store, 8).unwrap(), 42);
    // Neither accessor takes a function for a memory.
    assert!(instance.get_shared_memory(&mut store, "load").is_none());
    assert!(instance.get_shared_memory(&mut store, "missing").is_none());

    let (mut store, unshared) = {
        let module = Module::new(&engine, r#"(module (memory (export "plain") 1))"#).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        (store, instance)
    };
    assert!(unshared.get_shared_memory(&mut store, "plain").is_none());
    assert!(unshared.get_memory(&mut store, "plain").is_some());
}

#[test]
fn unknown_function_imports_can_be_defined_as_traps() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "env" "present" (func $present (result i32)))
             (import "env" "missing" (func $missing (param i32 i64) (result f32)))
             (func (export "present") (result i32) (call $present))
             (func (export "missing") (result f32)
               (call $missing (i32.const 1) (i64.const 2))))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    linker.func_wrap("env", "present", || 7).unwrap();
    let mut store = Store::new(&engine, ());
    let unknown = linker.instantiate(&mut store, &module).unwrap_err();
    assert!(
        matches!(&unknown, Error::Link(LinkError::UnknownImport { name, .. }) if name == "missing"),
        "{unknown:?}"
    );

    linker.define_unknown_imports_as_traps(&module).unwrap();
    assert!(linker.is_defined("env", "missing"));
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let present = instance
        .get_typed_func::<(), i32>(&mut store, "present")
        .unwrap();
    let missing = instance
        .get_typed_func::<(), f32>(&mut store, "missing")
        .unwrap();
    // Running as far as the module goes without the missing function.
    assert_eq!(present.call(&mut store, ()).unwrap(), 7);
    let error = missing.call(&mut store, ()).unwrap_err();
    assert!(
        matches!(
            &error,
            Error::Link(LinkError::UnknownImport { module, name })
                if module == "env" && name == "missing"
        ),
        "{error:?}"
    );
    assert_eq!(present.call(&mut store, ()).unwrap(), 7);

    // Defining again changes nothing: every import is known now.
    linker.define_unknown_imports_as_traps(&module).unwrap();
}

#[test]
fn only_function_imports_are_defined_as_traps() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "env" "f" (func))
             (import "env" "memory" (memory 1))
             (import "env" "global" (global i32))
             (import "env" "table" (table 1 funcref)))"#,
    )
    .unwrap();
    let mut linker = Linker::<()>::new(&engine);
    linker.define_unknown_imports_as_traps(&module).unwrap();
    assert!(linker.is_defined("env", "f"));
    for name in ["memory", "global", "table"] {
        assert!(!linker.is_defined("env", name), "{name}");
    }
    let mut store = Store::new(&engine, ());
    let error = linker.instantiate(&mut store, &module).unwrap_err();
    assert!(
        matches!(&error, Error::Link(LinkError::UnknownImport { name, .. }) if name == "memory"),
        "{error:?}"
    );
}

#[test]
fn shared_imports_become_store_free_traps_and_intrinsics_stay() {
    let engine = shared_everything_engine();
    let module = Module::new(
        &engine,
        r#"(module
             (type $ask (shared (func (result i32))))
             (import "wasm:thread" "available-parallelism" (func $parallelism (type $ask)))
             (import "env" "gone" (func $gone (type $ask)))
             (func (export "parallelism") (type $ask) (call $parallelism))
             (func (export "gone") (type $ask) (call $gone)))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    linker.define_unknown_imports_as_traps(&module).unwrap();
    assert!(!linker.is_defined("wasm:thread", "available-parallelism"));
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();

    let parallelism = instance
        .get_typed_func::<(), i32>(&mut store, "parallelism")
        .unwrap();
    assert!(parallelism.call(&mut store, ()).unwrap() >= 1);
    let gone = instance
        .get_typed_func::<(), i32>(&mut store, "gone")
        .unwrap();
    let error = gone.call(&mut store, ()).unwrap_err();
    assert!(
        matches!(&error, Error::Link(LinkError::UnknownImport { name, .. }) if name == "gone"),
        "{error:?}"
    );

    // An attached host thread hits the same function and gets the same error.
    let shared = instance.share(&mut store).unwrap();
    let outcome = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let thread = shared.attach()?;
                shared.get_typed_func::<(), i32>("gone")?.call(&thread, ())
            })
            .join()
            .expect("the thread does not panic")
    });
    let error = outcome.unwrap_err();
    assert!(
        matches!(&error, Error::Link(LinkError::UnknownImport { name, .. }) if name == "gone"),
        "{error:?}"
    );
}
