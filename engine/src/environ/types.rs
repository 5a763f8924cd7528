//! Engine-wide type identity for GC's iso-recursive types.
//!
//! Two modules' types are the same type when their recursion groups are the same after every
//! reference inside a group is written relative to the group and every reference outside it
//! names the engine-wide id of the type it points to. The registry interns groups in that
//! canonical form and gives each member a dense id, so type equality anywhere in the engine
//! is an integer compare.
//!
//! Each id also gets a *runtime type descriptor*, the array casts read: `[kind, depth,
//! ancestor_0, ..., ancestor_depth]`, where the ancestors are the ids of the declared
//! supertype chain from its root down to the type itself. `T <: S` then holds exactly when
//! `depth(T) >= depth(S)` and `ancestors(T)[depth(S)] == id(S)`, a check generated code does
//! inline. Descriptors are reference-counted and never change, so their addresses are stable
//! for as long as anything holds them.
//!
//! A group stays registered while a module that declared it is alive, while another group
//! refers to it, or for good once the API has handed it out by id (an API type names no
//! module) or a host function or tag uses it. An engine that compiles and drops module
//! after module so keeps only the types still in use, and gives the ids of forgotten groups
//! to new ones: nothing alive can hold a forgotten id (objects belong to stores, which hold
//! their instances' modules; host-made objects pin their types), and ids must stay below
//! 2^20, the most a type reference holds.

use super::WasmError;
use super::module::unsupported;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use wasmparser::{
    CompositeInnerType, FieldType, FuncType, HeapType, PackedIndex, RefType, StorageType, SubType,
    UnpackedIndex, ValType,
};

/// What kind of composite type a descriptor describes (its word [`RTT_KIND`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum TypeKind {
    Func = 0,
    Struct = 1,
    Array = 2,
}

/// Word index of the kind in a runtime type descriptor.
pub const RTT_KIND: usize = 0;
/// Word index of the depth (the number of declared supertypes above the type).
pub const RTT_DEPTH: usize = 1;
/// Word index of the root ancestor; the type's own id is at `RTT_ANCESTORS + depth`.
pub const RTT_ANCESTORS: usize = 2;

/// A registered type: its definition with every concrete reference an engine-wide id
/// (`UnpackedIndex::Module(id)`), and its runtime descriptor.
#[derive(Debug)]
pub struct RegisteredType {
    pub sub_type: SubType,
    pub rtt: Arc<[u32]>,
    /// Whether the API can describe the type structurally: a final function type without
    /// supertype, alone in its group, referring only to such types (never to itself).
    pub describable: bool,
    /// The id of the first member of the type's group, which holds the group's record.
    group: u32,
}

impl RegisteredType {
    pub fn kind(&self) -> TypeKind {
        kind_of(&self.sub_type)
    }

    /// The ids of the declared supertype chain, root first, ending with the type itself.
    pub fn ancestors(&self) -> &[u32] {
        &self.rtt[RTT_ANCESTORS..]
    }

    pub fn is_shared(&self) -> bool {
        self.sub_type.composite_type.shared
    }
}

/// The interned recursion groups of one engine.
#[derive(Default)]
pub struct TypeRegistry {
    /// Each group in canonical form, with the id of its first member.
    groups: HashMap<Vec<SubType>, u32>,
    /// What keeps each group registered, by the id of its first member.
    records: HashMap<u32, GroupRecord>,
    types: HashMap<u32, RegisteredType>,
    /// The id after the highest ever given.
    next_id: u32,
    /// Ranges of ids whose groups were forgotten, by length, for groups of that length.
    free: HashMap<u32, Vec<u32>>,
}

/// Ids must fit a wasmparser `PackedIndex` (20 bits), the form types name each other in.
const MAX_IDS: u32 = 1 << 20;

/// Who holds a registered group.
struct GroupRecord {
    /// The group's key in [`TypeRegistry::groups`].
    canonical: Vec<SubType>,
    /// Registrations not yet released: one per module that declared the group (per
    /// declaration), one per other group that refers to it.
    users: usize,
    /// Kept for the engine's life: the API handed it out, or a host function or tag uses it.
    pinned: bool,
    /// The first ids of the other groups this one refers to, each counted once in their
    /// `users`.
    refers_to: Vec<u32>,
}

impl TypeRegistry {
    /// Registers the recursion group `group`, whose first member has module type index
    /// `start`; `earlier[i]` is the engine-wide id of the module's type `i < start`. Returns
    /// the ids of the members in order; the registration holds the group until
    /// [`TypeRegistry::release`]. Fails for type features weft does not implement
    /// (continuations, custom descriptors), and when the engine has run out of ids.
    pub fn register_group(
        &mut self,
        group: &[SubType],
        start: u32,
        earlier: &[u32],
    ) -> Result<Vec<u32>, WasmError> {
        let end = start + group.len() as u32;
        let canonical = group
            .iter()
            .map(|sub_type| {
                map_indices(sub_type, &mut |index| {
                    if index >= start && index < end {
                        UnpackedIndex::RecGroup(index - start)
                    } else {
                        UnpackedIndex::Module(earlier[index as usize])
                    }
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.intern(canonical)
    }

    /// Registers a function type that is final, has no supertype and is alone in its group,
    /// whose references already name engine-wide ids: the type of a host function, kept for
    /// the engine's life. Host types are few and interned, so the ids they take cannot run
    /// out before modules' registrations have failed for billions of types.
    pub fn register_func(&mut self, ty: FuncType, shared: bool) -> u32 {
        let sub_type = SubType {
            is_final: true,
            supertype_idxs: Vec::new(),
            composite_type: wasmparser::CompositeType {
                inner: CompositeInnerType::Func(ty),
                shared,
                descriptor_idx: None,
                describes_idx: None,
            },
        };
        let id = self
            .intern(vec![sub_type])
            .expect("an engine registers fewer than 2^32 types over its life")[0];
        self.pin(id);
        id
    }

    /// One more registration of the group of type `id`, released when the returned hold is
    /// dropped: what an API type naming `id` keeps.
    pub fn hold(registry: &Arc<Mutex<TypeRegistry>>, id: u32) -> TypeHold {
        let mut types = registry.lock().unwrap_or_else(PoisonError::into_inner);
        let group = types.get(id).group;
        types
            .records
            .get_mut(&group)
            .expect("a group has a record")
            .users += 1;
        TypeHold {
            registry: Arc::clone(registry),
            group,
        }
    }

    /// Keeps the group of type `id` for the engine's life.
    pub fn pin(&mut self, id: u32) {
        let group = self.get(id).group;
        if let Some(record) = self.records.get_mut(&group) {
            record.pinned = true;
        }
    }

    /// Releases one registration of each group whose first member is in `groups`; a group
    /// nothing holds any more is forgotten, and so releases the groups it refers to.
    pub fn release(&mut self, groups: &[u32]) {
        let mut pending = groups.to_vec();
        while let Some(first) = pending.pop() {
            let Some(record) = self.records.get_mut(&first) else {
                continue;
            };
            record.users -= 1;
            if record.users > 0 || record.pinned {
                continue;
            }
            let record = self.records.remove(&first).expect("found above");
            self.groups.remove(&record.canonical);
            let count = record.canonical.len() as u32;
            for id in first..first + count {
                self.types.remove(&id);
            }
            self.free.entry(count).or_default().push(first);
            pending.extend(record.refers_to);
        }
    }

    /// The ids of `canonical`'s members, registering it if it is new; either way one more
    /// registration holds it.
    fn intern(&mut self, canonical: Vec<SubType>) -> Result<Vec<u32>, WasmError> {
        let count = canonical.len() as u32;
        if count == 0 {
            // An empty `(rec)` has no member to register or name.
            return Ok(Vec::new());
        }
        if let Some(&first) = self.groups.get(&canonical) {
            self.records
                .get_mut(&first)
                .expect("a group has a record")
                .users += 1;
            return Ok((first..first + count).collect());
        }
        let reused = self.free.get_mut(&count).and_then(Vec::pop);
        let first = match reused {
            Some(first) => first,
            None if self.next_id + count <= MAX_IDS => {
                self.next_id += count;
                self.next_id - count
            }
            None => return unsupported("more than 2^20 types registered at once", 0),
        };
        let mut refers_to = Vec::new();
        for (id, sub_type) in (first..).zip(&canonical) {
            let resolved = resolve_group_relative(sub_type, first);
            let mut rtt = vec![kind_of(&resolved) as u32, 0];
            let supertype = resolved.supertype_idxs.first();
            if let Some(supertype) = supertype.and_then(|index| index.as_module_index()) {
                let parent = self.get(supertype).ancestors().to_vec();
                rtt[RTT_DEPTH] = parent.len() as u32;
                rtt.extend(parent);
            }
            rtt.push(id);
            for_each_index(sub_type, &mut |index| {
                if let UnpackedIndex::Module(other) = index.unpack() {
                    refers_to.push(self.types[&other].group);
                }
            });
            let describable = count == 1 && self.is_plain_func(&resolved, id);
            self.types.insert(
                id,
                RegisteredType {
                    sub_type: resolved,
                    rtt: rtt.into(),
                    describable,
                    group: first,
                },
            );
        }
        refers_to.sort_unstable();
        refers_to.dedup();
        for other in &refers_to {
            self.records
                .get_mut(other)
                .expect("a group has a record")
                .users += 1;
        }
        self.records.insert(
            first,
            GroupRecord {
                canonical: canonical.clone(),
                users: 1,
                pinned: false,
                refers_to,
            },
        );
        self.groups.insert(canonical, first);
        Ok((first..first + count).collect())
    }

    fn is_plain_func(&self, sub_type: &SubType, id: u32) -> bool {
        let CompositeInnerType::Func(func) = &sub_type.composite_type.inner else {
            return false;
        };
        let plain_ref = |ty: &ValType| match ty {
            ValType::Ref(reference) => match reference.heap_type() {
                HeapType::Concrete(UnpackedIndex::Module(target)) => {
                    target != id && self.get(target).describable
                }
                _ => true,
            },
            _ => true,
        };
        sub_type.is_final
            && sub_type.supertype_idxs.is_empty()
            && func.params().iter().chain(func.results()).all(plain_ref)
    }

    /// Type `id`, which something alive holds (a module, an object, the API).
    pub fn get(&self, id: u32) -> &RegisteredType {
        &self.types[&id]
    }

    /// Type `id`, if it is still registered.
    #[cfg(test)]
    pub fn find(&self, id: u32) -> Option<&RegisteredType> {
        self.types.get(&id)
    }

    /// How many types are registered.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.types.len()
    }

    /// Whether type `sub` is `sup` or declares it as an ancestor.
    pub fn is_subtype(&self, sub: u32, sup: u32) -> bool {
        let depth = self.get(sup).ancestors().len() - 1;
        self.get(sub).ancestors().get(depth) == Some(&sup)
    }
}

/// A registration of one group that its holder releases by being dropped. It takes the
/// registry's lock then, so it must not be dropped while that lock is held.
pub struct TypeHold {
    registry: Arc<Mutex<TypeRegistry>>,
    group: u32,
}

impl Drop for TypeHold {
    fn drop(&mut self) {
        let mut types = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        types.release(&[self.group]);
    }
}

impl fmt::Debug for TypeHold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TypeHold(group {})", self.group)
    }
}

fn kind_of(sub_type: &SubType) -> TypeKind {
    match sub_type.composite_type.inner {
        CompositeInnerType::Func(_) => TypeKind::Func,
        CompositeInnerType::Struct(_) => TypeKind::Struct,
        _ => TypeKind::Array,
    }
}

/// `sub_type` (canonical) with its group-relative references turned into the ids of the
/// group that starts at `first`.
fn resolve_group_relative(sub_type: &SubType, first: u32) -> SubType {
    map_packed(sub_type, &mut |index| match index.unpack() {
        UnpackedIndex::RecGroup(relative) => UnpackedIndex::Module(first + relative),
        other => other,
    })
    .expect("a canonical type maps again")
}

/// Calls `visit` with every type index in `sub_type`.
fn for_each_index(sub_type: &SubType, visit: &mut dyn FnMut(PackedIndex)) {
    map_packed(sub_type, &mut |index| {
        visit(index);
        index.unpack()
    })
    .expect("a canonical type maps again");
}

/// `sub_type` with every module type index replaced by `map(index)`.
fn map_indices(
    sub_type: &SubType,
    map: &mut dyn FnMut(u32) -> UnpackedIndex,
) -> Result<SubType, WasmError> {
    map_packed(sub_type, &mut |index| match index.unpack() {
        UnpackedIndex::Module(module_index) => map(module_index),
        other => other,
    })
}

fn map_packed(
    sub_type: &SubType,
    map: &mut dyn FnMut(PackedIndex) -> UnpackedIndex,
) -> Result<SubType, WasmError> {
    let composite = &sub_type.composite_type;
    if composite.descriptor_idx.is_some() || composite.describes_idx.is_some() {
        return unsupported("custom descriptors", 0);
    }
    let inner = match &composite.inner {
        CompositeInnerType::Func(func) => {
            let mut convert = |types: &[ValType]| {
                types
                    .iter()
                    .map(|&ty| map_val(ty, map))
                    .collect::<Result<Vec<_>, _>>()
            };
            let params = convert(func.params())?;
            let results = convert(func.results())?;
            CompositeInnerType::Func(FuncType::new(params, results))
        }
        CompositeInnerType::Struct(ty) => {
            let fields = ty.fields.iter().map(|&field| map_field(field, map));
            CompositeInnerType::Struct(wasmparser::StructType {
                fields: fields.collect::<Result<_, _>>()?,
            })
        }
        CompositeInnerType::Array(ty) => {
            CompositeInnerType::Array(wasmparser::ArrayType(map_field(ty.0, map)?))
        }
        CompositeInnerType::Cont(_) => return unsupported("stack switching (continuations)", 0),
    };
    let supertype_idxs = sub_type
        .supertype_idxs
        .iter()
        .map(|&index| pack(map(index)))
        .collect::<Result<_, _>>()?;
    Ok(SubType {
        is_final: sub_type.is_final,
        supertype_idxs,
        composite_type: wasmparser::CompositeType {
            inner,
            shared: composite.shared,
            descriptor_idx: None,
            describes_idx: None,
        },
    })
}

fn pack(index: UnpackedIndex) -> Result<PackedIndex, WasmError> {
    let packed = match index {
        UnpackedIndex::Module(index) => PackedIndex::from_module_index(index),
        UnpackedIndex::RecGroup(index) => PackedIndex::from_rec_group_index(index),
        UnpackedIndex::Id(_) => None,
    };
    packed.map_or_else(
        || unsupported("more types than a packed index holds", 0),
        Ok,
    )
}

fn map_field(
    field: FieldType,
    map: &mut dyn FnMut(PackedIndex) -> UnpackedIndex,
) -> Result<FieldType, WasmError> {
    let element_type = match field.element_type {
        StorageType::Val(ty) => StorageType::Val(map_val(ty, map)?),
        packed => packed,
    };
    Ok(FieldType {
        element_type,
        mutable: field.mutable,
    })
}

fn map_val(
    ty: ValType,
    map: &mut dyn FnMut(PackedIndex) -> UnpackedIndex,
) -> Result<ValType, WasmError> {
    let ValType::Ref(reference) = ty else {
        return Ok(ty);
    };
    let heap = match reference.heap_type() {
        HeapType::Concrete(index) => HeapType::Concrete(map(pack(index)?)),
        HeapType::Exact(_) => return unsupported("exact reference types", 0),
        abstract_heap => abstract_heap,
    };
    match RefType::new(reference.is_nullable(), heap) {
        Some(mapped) => Ok(ValType::Ref(mapped)),
        None => unsupported("more types than a packed index holds", 0),
    }
}

/// A module's types as the engine registered them. The registrations are the module's to
/// release ([`TypeRegistry::release`] of `groups`) when it is dropped.
#[derive(Clone, Debug, Default)]
pub struct ModuleTypes {
    /// The engine-wide id of each type index.
    pub ids: Box<[u32]>,
    /// The runtime descriptor of each type index, which allocation and casts point at.
    pub rtts: Box<[Arc<[u32]>]>,
    /// The first id of each group the module registered, once per declaration.
    pub groups: Box<[u32]>,
}

impl ModuleTypes {
    /// Registers every recursion group of `info`, in order.
    pub fn register(
        registry: &mut TypeRegistry,
        info: &super::ModuleInfo,
    ) -> Result<ModuleTypes, WasmError> {
        let mut ids: Vec<u32> = Vec::with_capacity(info.types.len());
        let mut groups = Vec::with_capacity(info.rec_groups.len());
        for group in &info.rec_groups {
            let members = &info.types[group.start as usize..group.end as usize];
            match registry.register_group(members, group.start, &ids) {
                Ok(group_ids) => {
                    groups.extend(group_ids.first());
                    ids.extend(group_ids);
                }
                Err(error) => {
                    registry.release(&groups);
                    return Err(error);
                }
            }
        }
        let rtts = ids.iter().map(|&id| registry.get(id).rtt.clone()).collect();
        Ok(ModuleTypes {
            ids: ids.into(),
            rtts,
            groups: groups.into(),
        })
    }
}

#[cfg(test)]
#[path = "types_tests.rs"]
mod tests;
