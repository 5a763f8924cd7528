//! An instance as the other threads of a script see it, through `(shared (module $M))`.

use anyhow::{Result, bail};
use weft::{Extern, Instance, SharedMemory, Store};

/// The exports of an instance of another thread's store. Only shared memories belong to no
/// store and can be used here; every other export stays behind, known by its kind so that
/// using it fails with a clear message.
#[derive(Clone)]
pub(crate) struct SharedModule {
    /// The instance's `$id`, for messages.
    name: String,
    exports: Vec<(String, Export)>,
}

#[derive(Clone)]
enum Export {
    Shared(SharedMemory),
    /// What the store-bound export is, e.g. `function`.
    StoreBound(&'static str),
}

impl SharedModule {
    pub(crate) fn new(store: &mut Store<()>, instance: Instance, name: &str) -> SharedModule {
        let exports = instance
            .exports(store)
            .into_iter()
            .map(|(export, item)| {
                let export_kind = match item {
                    Extern::SharedMemory(memory) => Export::Shared(memory),
                    Extern::Func(_) => Export::StoreBound("function"),
                    Extern::Global(_) => Export::StoreBound("global"),
                    Extern::Memory(_) => Export::StoreBound("unshared memory"),
                    Extern::Table(_) => Export::StoreBound("table"),
                    Extern::Tag(_) => Export::StoreBound("tag"),
                };
                (export, export_kind)
            })
            .collect();
        SharedModule {
            name: name.to_string(),
            exports,
        }
    }

    /// The export `name`, if it can be used from this thread.
    pub(crate) fn export(&self, name: &str) -> Result<Extern> {
        let module = &self.name;
        match self.exports.iter().find(|(export, _)| export == name) {
            Some((_, Export::Shared(memory))) => Ok(memory.clone().into()),
            Some((_, Export::StoreBound(kind))) => bail!(
                "export `{name}` of shared module ${module} is a {kind}, which belongs to the \
                 store of the thread that instantiated ${module}; only shared memories cross threads"
            ),
            None => bail!("shared module ${module} has no export `{name}`"),
        }
    }

    /// The exports usable from this thread, for `register`.
    pub(crate) fn shareable(&self) -> impl Iterator<Item = (&str, Extern)> {
        self.exports
            .iter()
            .filter_map(|(name, export)| match export {
                Export::Shared(memory) => Some((name.as_str(), memory.clone().into())),
                Export::StoreBound(_) => None,
            })
    }
}
