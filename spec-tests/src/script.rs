//! Running one script: parsing it, then its directives in order against one store.

use crate::report::{FileReport, Outcome};
use crate::{spectest, values};
use anyhow::{Context, Result, bail};
use std::any::Any;
use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};
use wast::lexer::Lexer;
use wast::parser::{self, ParseBuffer};
use wast::token::{Id, Span};
use wast::{QuoteWat, Wast, WastDirective, WastExecute, WastInvoke, Wat};
use weft::{CompileError, Engine, Error, Instance, Linker, Module, Store, Val};

/// Runs the script `text` and tallies its directives. Never fails: a script that does not
/// parse is one failed directive, and a panic inside weft fails only the directive that
/// caused it.
pub(crate) fn run(text: &str, engine: &Engine) -> FileReport {
    let line_of = |span: Span| span.linecol_in(text).0 + 1;
    let parse_failure = |err: wast::Error| {
        let mut report = FileReport::default();
        let message = format!("cannot parse script: {}", err.message());
        report.record(line_of(err.span()), "script", Outcome::Failed(message));
        report
    };

    let mut lexer = Lexer::new(text);
    // core/names.wast exercises names with bidirectional-override characters on purpose.
    lexer.allow_confusing_unicode(true);
    let buffer = match ParseBuffer::new_with_lexer(lexer) {
        Ok(buffer) => buffer,
        Err(err) => return parse_failure(err),
    };
    let wast = match parser::parse::<Wast<'_>>(&buffer) {
        Ok(wast) => wast,
        Err(err) => return parse_failure(err),
    };

    let mut report = FileReport::default();
    let mut session =
        Session::new(engine).map_err(|err| format!("cannot define the spectest module: {err:#}"));
    for directive in wast.directives {
        let line = line_of(directive.span());
        let kind = kind(&directive);
        let outcome = match &mut session {
            Ok(session) => panic::catch_unwind(AssertUnwindSafe(|| session.run(directive)))
                .unwrap_or_else(|payload| {
                    Outcome::Failed(format!("weft panicked: {}", panic_message(&*payload)))
                }),
            Err(message) => Outcome::Failed(message.clone()),
        };
        report.record(line, kind, outcome);
    }
    report
}

/// The state one thread of a script sees: its store, its registry of named modules and the
/// module that unnamed actions refer to. A script runs in one session; multi-threaded scripts
/// will give each `(thread ...)` a session of its own.
struct Session {
    engine: Engine,
    store: Store<()>,
    linker: Linker<()>,
    /// Instances named with `$id`, for actions such as `(invoke $M "f")`.
    instances: HashMap<String, Instance>,
    /// Compiled `(module definition $id ...)`s.
    definitions: HashMap<String, Module>,
    /// The latest module definition, which `(module instance)` without a name instantiates.
    last_definition: Option<Module>,
    /// The latest instance, which actions without a module name act on.
    current: Option<Instance>,
}

/// Why a module could not be built.
#[derive(Debug, thiserror::Error)]
enum BuildError {
    /// The text did not parse or resolve (wast reports some invalid modules this way, such as
    /// references to unknown labels).
    #[error("cannot encode the module: {}", .0.message())]
    Encode(wast::Error),
    #[error(transparent)]
    Compile(Error),
}

impl Session {
    fn new(engine: &Engine) -> Result<Session> {
        let mut store = Store::new(engine, ());
        let mut linker = Linker::new(engine);
        // Scripts register several modules under the same name; the latest one wins.
        linker.allow_shadowing(true);
        spectest::define(&mut linker, &mut store)?;
        Ok(Session {
            engine: engine.clone(),
            store,
            linker,
            instances: HashMap::new(),
            definitions: HashMap::new(),
            last_definition: None,
            current: None,
        })
    }

    fn run(&mut self, directive: WastDirective<'_>) -> Outcome {
        if is_component(&directive) {
            return Outcome::Skipped(
                "component-model directives do not apply to a core wasm runtime".to_string(),
            );
        }
        match self.directive(directive) {
            Ok(()) => Outcome::Passed,
            Err(err) => Outcome::Failed(format!("{err:#}")),
        }
    }

    fn directive(&mut self, directive: WastDirective<'_>) -> Result<()> {
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
                    .and_then(|module| Ok(self.linker.instantiate(&mut self.store, &module)?));
                self.set_current(instance, result)?;
            }
            WastDirective::Register { name, module, .. } => {
                let instance = self.instance(module)?;
                self.linker.instance(&mut self.store, name, instance)?;
            }
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
                match self.linker.instantiate(&mut self.store, &module) {
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
            WastDirective::AssertException { .. } => {
                bail!("exception handling is not implemented")
            }
            WastDirective::AssertSuspension { .. } => bail!("stack switching is not implemented"),
            WastDirective::Thread(_) | WastDirective::Wait { .. } => {
                bail!("multi-threaded scripts are not implemented yet")
            }
        }
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
        Ok(self.linker.instantiate(&mut self.store, &module)?)
    }

    /// Makes the outcome of a module directive the current module (and `$name`'s). A failure
    /// clears them, so that later actions fail too instead of running against an older module.
    fn set_current(&mut self, name: Option<Id<'_>>, instance: Result<Instance>) -> Result<()> {
        self.current = instance.as_ref().ok().copied();
        if let Some(name) = name {
            match &instance {
                Ok(instance) => self.instances.insert(name.name().to_string(), *instance),
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

    /// The instance an action names, or the current one.
    fn instance(&self, name: Option<Id<'_>>) -> Result<Instance> {
        match name {
            Some(id) => self.instances.get(id.name()).copied().with_context(|| {
                format!(
                    "no module named ${} (it failed, or was never defined)",
                    id.name()
                )
            }),
            None => self
                .current
                .context("no current module (the latest one failed, or there was none)"),
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
                Ok(self
                    .linker
                    .instantiate(&mut self.store, &module)
                    .map(|_| Vec::new()))
            }
            WastExecute::Get { module, global, .. } => {
                let instance = self.instance(module)?;
                let global = instance
                    .get_global(&mut self.store, global)
                    .with_context(|| format!("no exported global `{global}`"))?;
                Ok(Ok(vec![global.get(&mut self.store)]))
            }
        }
    }

    fn invoke(&mut self, invoke: &WastInvoke<'_>) -> Result<Result<Vec<Val>, Error>> {
        let instance = self.instance(invoke.module)?;
        let func = instance
            .get_func(&mut self.store, invoke.name)
            .with_context(|| format!("no exported function `{}`", invoke.name))?;
        let args = invoke
            .args
            .iter()
            .map(|arg| values::arg(&mut self.store, arg))
            .collect::<Result<Vec<_>>>()?;
        let mut results = values::default_results(&func.ty(&self.store))?;
        Ok(func
            .call(&mut self.store, &args, &mut results)
            .map(|()| results))
    }
}

/// Passes when the action failed at run time with a message containing `expected`
/// (case-insensitively: the spec's wording is a substring of weft's trap messages).
fn expect_trap(result: Result<Vec<Val>, Error>, expected: &str) -> Result<()> {
    let err = match result {
        Ok(_) => bail!("expected a trap `{expected}`, but it returned normally"),
        Err(err) => err,
    };
    // A compile or link error containing the words would still be the wrong failure.
    let message = err.to_string();
    if err.trap().is_none() || !trap_message_matches(&message, expected) {
        bail!("expected a trap `{expected}`, got: {message}");
    }
    Ok(())
}

/// Whether weft's error message says what the spec's trap message says: it contains the spec
/// text, compared case-insensitively. A trailing number is dropped from the spec text first:
/// the reference interpreter names the culprit (`uninitialized element 2`) where weft does not.
fn trap_message_matches(actual: &str, expected: &str) -> bool {
    let expected = expected.trim();
    let expected = match expected.rsplit_once(' ') {
        Some((words, number)) if number.parse::<u64>().is_ok() => words,
        _ => expected,
    };
    actual.to_lowercase().contains(&expected.to_lowercase())
}

/// Passes when building the module failed because the module is malformed or invalid.
fn expect_rejected(result: Result<Module, BuildError>, expected: &str) -> Result<()> {
    match result {
        Ok(_) => bail!("expected the module to be rejected (`{expected}`), but it compiled"),
        Err(BuildError::Encode(_))
        | Err(BuildError::Compile(Error::Compile(
            CompileError::Text { .. } | CompileError::Invalid { .. },
        ))) => Ok(()),
        // `Unsupported` means weft cannot judge the module, and `Codegen` comes after
        // validation accepted it: neither is a rejection.
        Err(BuildError::Compile(err)) => {
            bail!("expected the module to be rejected (`{expected}`), got: {err}")
        }
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

/// The directive's keyword, for reports.
fn kind(directive: &WastDirective<'_>) -> &'static str {
    match directive {
        WastDirective::Module(_) => "module",
        WastDirective::ModuleDefinition(_) => "module definition",
        WastDirective::ModuleInstance { .. } => "module instance",
        WastDirective::AssertMalformed { .. } => "assert_malformed",
        WastDirective::AssertInvalid { .. } => "assert_invalid",
        WastDirective::AssertInvalidCustom { .. } => "assert_invalid_custom",
        WastDirective::AssertMalformedCustom { .. } => "assert_malformed_custom",
        WastDirective::Register { .. } => "register",
        WastDirective::Invoke(_) => "invoke",
        WastDirective::AssertTrap { .. } => "assert_trap",
        WastDirective::AssertReturn { .. } => "assert_return",
        WastDirective::AssertExhaustion { .. } => "assert_exhaustion",
        WastDirective::AssertUnlinkable { .. } => "assert_unlinkable",
        WastDirective::AssertException { .. } => "assert_exception",
        WastDirective::AssertSuspension { .. } => "assert_suspension",
        WastDirective::Thread(_) => "thread",
        WastDirective::Wait { .. } => "wait",
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trap_messages_match_as_substrings_ignoring_case() {
        assert!(trap_message_matches(
            "wasm trap: unreachable executed",
            "unreachable"
        ));
        assert!(trap_message_matches(
            "wasm trap: out of bounds memory access",
            " Out of bounds memory access "
        ));
        assert!(!trap_message_matches(
            "wasm trap: integer overflow",
            "integer divide by zero"
        ));
    }

    #[test]
    fn trap_messages_ignore_a_trailing_index() {
        assert!(trap_message_matches(
            "wasm trap: uninitialized element",
            "uninitialized element 2"
        ));
        // Only a whole trailing number is dropped.
        assert!(!trap_message_matches("wasm trap: call", "call-7"));
        assert!(!trap_message_matches(
            "wasm trap: uninitialized element",
            "undefined element 2"
        ));
    }
}
