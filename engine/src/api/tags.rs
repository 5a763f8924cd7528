//! Exception tags, the identities that `throw` and `catch` clauses name.

use super::store::{AsContext, AsContextMut, StoreId};
use super::types::TagType;

/// An exception tag: a handle into its store, cheap to copy. Every tag is distinct from
/// every other, even of the same type; importing a tag shares it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Tag {
    pub(crate) store: StoreId,
    pub(crate) index: usize,
}

impl Tag {
    /// A new tag of type `ty` in `store`.
    pub fn new(mut store: impl AsContextMut, ty: &TagType) -> Tag {
        let mut cx = store.as_context_mut();
        let type_id = cx.engine.register_type(ty.ty());
        let index = cx.opaque().push_tag(type_id);
        Tag {
            store: StoreId::of(cx.opaque()),
            index,
        }
    }

    /// The tag's type.
    ///
    /// # Panics
    ///
    /// If `store` is not the store this handle belongs to.
    pub fn ty(&self, store: impl AsContext) -> TagType {
        let cx = store.as_context();
        self.store.assert_owns(cx.opaque());
        TagType::of_module(cx.engine.func_type(cx.opaque().tag_type_id(self.index)))
    }
}
