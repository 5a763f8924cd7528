//! One thread of a script: its store, its registry of named modules, and the directives it
//! runs, including the `(thread ...)`s it starts and `(wait ...)`s for.

use crate::checks::{expect_exception, expect_rejected, expect_trap};
use crate::report::Outcome;
use crate::shared_module::SharedModule;
use crate::spectest::{self, Spectest};
use crate::tally::{self, Tally};
use crate::values;
use anyhow::{Context, Result, anyhow, bail};
use std::any::Any;
use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};
use std::slice;
use std::thread::{self, Scope, ScopedJoinHandle};
use wast::token::Id;
use wast::{QuoteWat, WastDirective, WastExecute, WastInvoke, WastThread, Wat};
use weft::{Engine, Error, Extern, Instance, Linker, Module, Store, ThreadHandoff, Val};

/// Stack for every thread that runs directives. `assert_exhaustion` recurses until weft's stack
/// limit, and weft code runs on the calling thread's stack; 64 MiB leaves ample room above any
/// limit the engine sets. Only touched pages are committed, so threads cost little.
pub(crate) const STACK_SIZE: usize = 64 << 20;

/// Runs `directives`, numbered from `first` in `tally`, in a new session on the current thread,
/// with `shared` (`$id` and module) visible by name. Never fails: whatever goes wrong is a
/// failed directive, and a panic inside weft fails only the directive that caused it. Threads
/// the directives start and do not wait for are joined before this returns.
pub(crate) fn run_thread(
    engine: &Engine,
    spectest: Spectest,
    tally: &Tally,
    shared: Option<(String, SharedModule)>,
    directives: Vec<WastDirective<'_>>,
    first: usize,
) {
    thread::scope(|scope| {
        let mut session = Session::new(scope, engine, spectest, tally)
            .map_err(|err| format!("cannot define the spectest module: {err:#}"));
        if let (Ok(session), Some((name, module))) = (&mut session, shared) {
            session.instances.insert(name, Named::Shared(module));
        }
        let mut index = first;
        for directive in directives {
            let this = index;
            index += tally::count(slice::from_ref(&directive));
            let outcome = match &mut session {
                Ok(session) => {
                    panic::catch_unwind(AssertUnwindSafe(|| session.run(directive, this)))
                        .unwrap_or_else(|payload| {
                            Outcome::Failed(format!("weft panicked: {}", panic_message(&*payload)))
                        })
                }
                Err(message) => Outcome::Failed(message.clone()),
            };
            tally.record(this, outcome);
        }
        if let Ok(session) = session {
            // A thread that panicked outside its directives leaves them without an outcome,
            // which the report counts as failed; there is nothing to add here.
            for (_, (thread, _)) in session.threads {
                let _ = thread.join();
            }
        }
    });
}

/// The state one thread of a script sees. Each `(thread ...)` gets a session of its own: its
/// own store and spectest module, and a registry that starts empty (`threads/upstream/
/// unlinkable.wast` checks that a thread does not inherit its parent's).
struct Session<'scope, 'env> {
    /// Where the session's threads run; it outlives the session, and joins them at the end.
    scope: &'scope Scope<'scope, 'env>,
    tally: &'env Tally,
    engine: Engine,
    spectest: Spectest,
    store: Store<()>,
    linker: Linker<()>,
    /// Modules named with `$id`, for actions such as `(invoke $M "f")`.
    instances: HashMap<String, Named>,
    /// Compiled `(module definition $id ...)`s.
    definitions: HashMap<String, Module>,
    /// The latest module definition, which `(module instance)` without a name instantiates.
    last_definition: Option<Module>,
    /// The latest instance, which actions without a module name act on.
    current: Option<Instance>,
    /// Threads started and not waited for yet, by `$id`, with what race detection and
    /// schedule exploration need to order them with `wait`.
    threads: HashMap<String, (ScopedJoinHandle<'scope, ()>, ThreadHandoff)>,
}

/// A module the session can name.
#[derive(Clone)]
enum Named {
    /// Instantiated in this session's store.
    Instance(Instance),
    /// Instantiated by the thread that started this one, and passed in with `(shared ...)`.
    Shared(SharedModule),
}

/// Why a module could not be built.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BuildError {
    /// The text did not parse or resolve (wast reports some invalid modules this way, such as
    /// references to unknown labels).
    #[error("cannot encode the module: {}", .0.message())]
    Encode(wast::Error),
    #[error(transparent)]
    Compile(Error),
}

impl<'scope, 'env> Session<'scope, 'env> {
    fn new(
        scope: &'scope Scope<'scope, 'env>,
        engine: &Engine,
        spectest: Spectest,
        tally: &'env Tally,
    ) -> Result<Session<'scope, 'env>> {
        let mut store = Store::new(engine, ());
        let mut linker = Linker::new(engine);
        // Scripts register several modules under the same name; the latest one wins.
        linker.allow_shadowing(true);
        spectest::define(&mut linker, &mut store, engine)?;
        Ok(Session {
            scope,
            tally,
            engine: engine.clone(),
            spectest,
            store,
            linker,
            instances: HashMap::new(),
            definitions: HashMap::new(),
            last_definition: None,
            current: None,
            threads: HashMap::new(),
        })
    }

    /// Runs directive number `index` of the tally.
    fn run<'text: 'scope>(&mut self, directive: WastDirective<'text>, index: usize) -> Outcome {
        if is_component(&directive) {
            return Outcome::Skipped(
                "component-model directives do not apply to a core wasm runtime".to_string(),
            );
        }
        match self.directive(directive, index) {
            Ok(()) => Outcome::Passed,
            Err(err) => Outcome::Failed(format!("{err:#}")),
        }
    }

    fn directive<'text: 'scope>(
        &mut self,
        directive: WastDirective<'text>,
        index: usize,
    ) -> Result<()> {
        match directive {
            WastDirective::Module(mut module) => {
                let name = module.name();
                let instance = self.build_instance(module.encode());
                self.set_current(name, instance)?;
            }
            WastDirective::ModuleDefinition(mut module) => {
                let name = module.name();
                let module = self.compile(module.encode()).map_err(Into::into);
                self.set_definition(name, module)?;
            }
            WastDirective::ModuleInstance {
                instance, module, ..
            } => {
                let result = self
                    .definition(module)
                    .and_then(|module| Ok(self.instantiate(&module)?));
                self.set_current(instance, result)?;
            }
            WastDirective::Register { name, module, .. } => match self.module(module)? {
                Named::Instance(instance) => {
                    self.linker.instance(&mut self.store, name, instance)?;
                }
                Named::Shared(shared) => {
                    for (export, item) in shared.shareable() {
                        self.linker.define(name, export, item)?;
                    }
                }
            },
            WastDirective::Invoke(invoke) => {
                self.invoke(&invoke)??;
            }
            WastDirective::AssertReturn { exec, results, .. } => {
                let actual = self
                    .execute(exec)?
                    .context("expected results, but the action failed")?;
                values::check_results(&self.store, &results, &actual)?;
            }
            WastDirective::AssertTrap { exec, message, .. } => {
                expect_trap(self.execute(exec)?, message)?;
            }
            WastDirective::AssertExhaustion { call, message, .. } => {
                expect_trap(self.invoke(&call)?, message)?;
            }
            WastDirective::AssertInvalid {
                mut module,
                message,
                ..
            }
            | WastDirective::AssertMalformed {
                mut module,
                message,
                ..
            } => expect_rejected(self.compile(module.encode()), message)?,
            WastDirective::AssertUnlinkable {
                mut module,
                message,
                ..
            } => {
                let module = self.compile(module.encode())?;
                match self.instantiate(&module) {
                    Ok(_) => {
                        bail!("expected a link error `{message}`, but instantiation succeeded")
                    }
                    Err(Error::Link(_)) => {}
                    Err(err) => bail!("expected a link error `{message}`, got: {err}"),
                }
            }
            WastDirective::AssertInvalidCustom { .. }
            | WastDirective::AssertMalformedCustom { .. } => {
                bail!("custom-section annotation assertions are not implemented")
            }
            WastDirective::AssertException { exec, .. } => {
                expect_exception(self.execute(exec)?)?;
            }
            WastDirective::AssertSuspension { .. } => bail!("stack switching is not implemented"),
            WastDirective::Thread(thread) => self.start_thread(thread, index + 1)?,
            WastDirective::Wait { thread, .. } => self.wait(thread)?,
        }
        Ok(())
    }

    /// Starts `thread`, whose directives are numbered from `first`. If it cannot start, its
    /// directives fail with the reason.
    fn start_thread<'text: 'scope>(
        &mut self,
        thread: WastThread<'text>,
        first: usize,
    ) -> Result<()> {
        let name = thread.name.name();
        let body = first..first + tally::count(&thread.directives);
        let started = self.spawn(name, thread.shared_module, thread.directives, first);
        if let Err(err) = &started {
            for index in body {
                let message = format!("thread ${name} did not start: {err:#}");
                self.tally.record(index, Outcome::Failed(message));
            }
        }
        started
    }

    fn spawn<'text: 'scope>(
        &mut self,
        name: &str,
        shared: Option<Id<'_>>,
        directives: Vec<WastDirective<'text>>,
        first: usize,
    ) -> Result<()> {
        let shared = match shared {
            Some(id) => Some((id.name().to_string(), self.share(id)?)),
            None => None,
        };
        let (engine, spectest, tally) = (self.engine.clone(), self.spectest, self.tally);
        let handoff = self.engine.thread_handoff();
        let entering = handoff.clone();
        let spawned = thread::Builder::new()
            .name(format!("wast-thread-{name}"))
            .stack_size(STACK_SIZE)
            .spawn_scoped(self.scope, move || {
                let entered = entering.enter();
                run_thread(&engine, spectest, tally, shared, directives, first);
                entered.finish(false);
            });
        let handle = match spawned {
            Ok(handle) => {
                handoff.started();
                handle
            }
            Err(error) => {
                handoff.cancel();
                return Err(error).context("cannot start an OS thread");
            }
        };
        // A second thread of the same name takes over the name; the scope still joins the first.
        self.threads.insert(name.to_string(), (handle, handoff));
        Ok(())
    }

    /// The module `$id` as another thread sees it.
    fn share(&mut self, id: Id<'_>) -> Result<SharedModule> {
        Ok(match self.module(Some(id))? {
            Named::Instance(instance) => SharedModule::new(&mut self.store, instance, id.name()),
            Named::Shared(shared) => shared,
        })
    }

    /// Joins the thread `$id`. Its directives record their own outcomes.
    fn wait(&mut self, id: Id<'_>) -> Result<()> {
        let name = id.name();
        let (thread, handoff) = self.threads.remove(name).with_context(|| {
            format!("no thread ${name} to wait for (it was never started, or was waited for)")
        })?;
        handoff
            .join(|| thread.join())
            .map_err(|payload| anyhow!("thread ${name} panicked: {}", panic_message(&*payload)))?;
        Ok(())
    }

    /// Compiles an encoded module. The encoding is passed in (rather than the script's module)
    /// because directives hold modules in two shapes, `QuoteWat` and `Wat`. It is always a
    /// binary; `Module::new` would read bytes without the wasm magic as text, so a malformed
    /// binary such as `""` could compile.
    fn compile(&self, encoded: Result<Vec<u8>, wast::Error>) -> Result<Module, BuildError> {
        let bytes = encoded.map_err(BuildError::Encode)?;
        Module::from_binary(&self.engine, &bytes).map_err(BuildError::Compile)
    }

    fn build_instance(&mut self, encoded: Result<Vec<u8>, wast::Error>) -> Result<Instance> {
        let module = self.compile(encoded)?;
        Ok(self.instantiate(&module)?)
    }

    /// Instantiates `module` with the session's imports, after providing the `spectest`
    /// entities an adaptive spectest adds for it.
    fn instantiate(&mut self, module: &Module) -> Result<Instance, Error> {
        if self.spectest == Spectest::Adaptive {
            spectest::provide_imports(&mut self.linker, &mut self.store, module)?;
        }
        self.linker.instantiate(&mut self.store, module)
    }

    /// Makes the outcome of a module directive the current module (and `$name`'s). A failure
    /// clears them, so that later actions fail too instead of running against an older module.
    fn set_current(&mut self, name: Option<Id<'_>>, instance: Result<Instance>) -> Result<()> {
        self.current = instance.as_ref().ok().copied();
        if let Some(name) = name {
            match &instance {
                Ok(instance) => self
                    .instances
                    .insert(name.name().to_string(), Named::Instance(*instance)),
                Err(_) => self.instances.remove(name.name()),
            };
        }
        instance.map(drop)
    }

    /// Like [`Session::set_current`], for module definitions.
    fn set_definition(&mut self, name: Option<Id<'_>>, module: Result<Module>) -> Result<()> {
        self.last_definition = module.as_ref().ok().cloned();
        if let Some(name) = name {
            match &module {
                Ok(module) => self
                    .definitions
                    .insert(name.name().to_string(), module.clone()),
                Err(_) => self.definitions.remove(name.name()),
            };
        }
        module.map(drop)
    }

    /// The module definition named `name`, or the latest one.
    fn definition(&self, name: Option<Id<'_>>) -> Result<Module> {
        match name {
            Some(id) => self.definitions.get(id.name()).cloned().with_context(|| {
                format!(
                    "no module definition named ${} (it failed, or was never defined)",
                    id.name()
                )
            }),
            None => self.last_definition.clone().context(
                "no module definition to instantiate (the latest one failed, or there was none)",
            ),
        }
    }

    /// The module an action names, or the current one.
    fn module(&self, name: Option<Id<'_>>) -> Result<Named> {
        match name {
            Some(id) => self.instances.get(id.name()).cloned().with_context(|| {
                format!(
                    "no module named ${} (it failed, or was never defined)",
                    id.name()
                )
            }),
            None => self
                .current
                .map(Named::Instance)
                .context("no current module (the latest one failed, or there was none)"),
        }
    }

    /// The export `name` of the module an action names.
    fn export(&mut self, module: Option<Id<'_>>, name: &str) -> Result<Extern> {
        match self.module(module)? {
            Named::Instance(instance) => instance
                .get_export(&mut self.store, name)
                .with_context(|| format!("no export `{name}`")),
            Named::Shared(shared) => shared.export(name),
        }
    }

    /// Runs an action. The outer error means the script asked for something impossible (an
    /// unknown export, a value weft cannot represent); the inner one is what weft reported.
    fn execute(&mut self, exec: WastExecute<'_>) -> Result<Result<Vec<Val>, Error>> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(&invoke),
            // Instantiating is the whole action: it runs data/element initialisation and the
            // start function, either of which may trap.
            WastExecute::Wat(mut module) => {
                let module = self.compile(module.encode())?;
                Ok(self.instantiate(&module).map(|_| Vec::new()))
            }
            WastExecute::Get { module, global, .. } => {
                let global = self
                    .export(module, global)?
                    .into_global()
                    .with_context(|| format!("export `{global}` is not a global"))?;
                Ok(Ok(vec![global.get(&mut self.store)]))
            }
        }
    }

    fn invoke(&mut self, invoke: &WastInvoke<'_>) -> Result<Result<Vec<Val>, Error>> {
        let func = self
            .export(invoke.module, invoke.name)?
            .into_func()
            .with_context(|| format!("export `{}` is not a function", invoke.name))?;
        let args = invoke
            .args
            .iter()
            .map(|arg| values::arg(&mut self.store, arg))
            .collect::<Result<Vec<_>>>()?;
        let mut results = values::default_results(&func.ty(&self.store));
        Ok(func
            .call(&mut self.store, &args, &mut results)
            .map(|()| results))
    }
}

/// Whether the directive is about a component rather than a core module.
fn is_component(directive: &WastDirective<'_>) -> bool {
    let quoted = |module: &QuoteWat<'_>| {
        matches!(
            module,
            QuoteWat::Wat(Wat::Component(_)) | QuoteWat::QuoteComponent(..)
        )
    };
    match directive {
        WastDirective::Module(module)
        | WastDirective::ModuleDefinition(module)
        | WastDirective::AssertMalformed { module, .. }
        | WastDirective::AssertInvalid { module, .. } => quoted(module),
        WastDirective::AssertUnlinkable { module, .. } => matches!(module, Wat::Component(_)),
        WastDirective::AssertReturn { exec, .. } | WastDirective::AssertTrap { exec, .. } => {
            matches!(exec, WastExecute::Wat(Wat::Component(_)))
        }
        _ => false,
    }
}

pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}
