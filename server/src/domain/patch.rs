//! PATCH (RFC 7644 §3.5.2) on a resource's stored data: add, remove and replace, with and
//! without a path, on simple, complex, multi-valued and extension attributes, including the
//! shapes identity providers really send (Entra's `"name.givenName"` keys, filtered replaces
//! that expect the element to be created, member removal by listing the members).
//!
//! [`apply`] works on a copy and writes it back only when every operation succeeded, so a
//! failing request changes nothing. Group members are not in the data: operations on them
//! come back as [`MemberOp`]s for the store to run in the same transaction.

mod members;
mod ops;
mod target;
#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

use super::filter::PatchPath;
use super::normalize::{check_required, extension_object, MemberRef};
use super::schema::{AttrDef, AttrType, ResourceType};
use super::{Error, Result};
use target::Target;

/// The `op` of a PATCH operation (RFC 7644 §3.5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOpKind {
    Add,
    Remove,
    Replace,
}

/// One PATCH operation, as parsed from the wire.
#[derive(Debug, Clone)]
pub struct PatchOp {
    pub kind: PatchOpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

/// A change to a group's members, in the order the operations asked for it.
#[derive(Debug, Clone, PartialEq)]
pub enum MemberOp {
    Add(Vec<MemberRef>),
    /// Removes these member ids (ids that are not members are ignored).
    Remove(Vec<String>),
    Clear,
}

/// Applies `ops` in order to `data` (a resource of type `rt` in stored form). On success
/// `data` holds the result and the group member changes are returned; on error `data` is
/// left exactly as it was.
pub fn apply(rt: ResourceType, data: &mut Map<String, Value>, ops: &[PatchOp]) -> Result<Vec<MemberOp>> {
    let mut work = data.clone();
    let mut member_ops = Vec::new();
    for (index, op) in ops.iter().enumerate() {
        apply_op(rt, &mut work, op, &mut member_ops).map_err(|e| in_operation(index, e))?;
    }
    tidy(rt, &mut work);
    check_required(rt, &work)?;
    *data = work;
    Ok(member_ops)
}

fn apply_op(rt: ResourceType, data: &mut Map<String, Value>, op: &PatchOp, out: &mut Vec<MemberOp>) -> Result<()> {
    let Some(path) = &op.path else {
        if op.kind == PatchOpKind::Remove {
            return Err(Error::NoTarget("a remove operation needs a path (RFC 7644 §3.5.2.2)".into()));
        }
        let Some(Value::Object(attrs)) = &op.value else {
            return Err(Error::InvalidValue(
                "an operation without a path needs an object of attributes as its value".into(),
            ));
        };
        return apply_attrs(rt, data, op.kind, None, attrs, out);
    };
    let target = target::resolve(rt, path)?;
    apply_target(rt, data, op.kind, &target, op.value.as_ref(), out)
}

/// Applies each attribute of a value object (path-less, or a whole extension) as if it
/// were the operation's path. Unknown attributes are ignored, as in a POST body.
fn apply_attrs(
    rt: ResourceType,
    data: &mut Map<String, Value>,
    kind: PatchOpKind,
    urn: Option<&str>,
    attrs: &Map<String, Value>,
    out: &mut Vec<MemberOp>,
) -> Result<()> {
    for (key, value) in attrs {
        match target::resolve(rt, &target::key_path(urn, key)) {
            Ok(target) => apply_target(rt, data, kind, &target, Some(value), out)?,
            Err(Error::InvalidPath(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn apply_target(
    rt: ResourceType,
    data: &mut Map<String, Value>,
    kind: PatchOpKind,
    target: &Target,
    value: Option<&Value>,
    out: &mut Vec<MemberOp>,
) -> Result<()> {
    match target {
        Target::Ignored => Ok(()),
        Target::Members(path) => members::apply(kind, path, value, out),
        Target::Extension(ext) => {
            if kind == PatchOpKind::Remove {
                data.remove(ext.id);
                return Ok(());
            }
            match extension_object(ext.id, value.ok_or_else(|| missing_value(kind))?)? {
                Some(attrs) => apply_attrs(rt, data, kind, Some(ext.id), attrs, out),
                None if kind == PatchOpKind::Replace => {
                    data.remove(ext.id);
                    Ok(())
                }
                None => Ok(()),
            }
        }
        Target::Attr(t) => match kind {
            PatchOpKind::Remove => ops::remove(data, t, value),
            PatchOpKind::Add | PatchOpKind::Replace => {
                ops::set(data, t, value.ok_or_else(|| missing_value(kind))?, kind == PatchOpKind::Add)
            }
        },
    }
}

fn missing_value(kind: PatchOpKind) -> Error {
    Error::InvalidValue(format!(
        "a {} operation needs a value",
        if kind == PatchOpKind::Add { "add" } else { "replace" }
    ))
}

/// Says which operation failed: a client sending fifty operations needs to know.
fn in_operation(index: usize, e: Error) -> Error {
    let at = |m: String| format!("operation {}: {m}", index + 1);
    match e {
        Error::InvalidFilter(m) => Error::InvalidFilter(at(m)),
        Error::InvalidSyntax(m) => Error::InvalidSyntax(at(m)),
        Error::InvalidValue(m) => Error::InvalidValue(at(m)),
        Error::InvalidPath(m) => Error::InvalidPath(at(m)),
        Error::NoTarget(m) => Error::NoTarget(at(m)),
        Error::Mutability(m) => Error::Mutability(at(m)),
        other => other,
    }
}

/// Restores the stored form after the operations: unassigned values (`null`, `[]`, `{}`)
/// are removed, and so is a single-valued reference (the manager) left without a value.
fn tidy(rt: ResourceType, data: &mut Map<String, Value>) {
    drop_dangling_references(data, rt.core().attributes);
    for ext in rt.extensions() {
        if let Some(Value::Object(attrs)) = data.get_mut(ext.id) {
            drop_dangling_references(attrs, ext.attributes);
        }
    }
    prune(data);
}

fn drop_dangling_references(container: &mut Map<String, Value>, attrs: &[AttrDef]) {
    let references = attrs.iter().filter(|a| a.ty == AttrType::Complex && !a.multi_valued && a.sub("value").is_some());
    for def in references {
        let dangling = container
            .get(def.name)
            .is_some_and(|v| v.get("value").and_then(Value::as_str).is_none_or(|s| s.trim().is_empty()));
        if dangling {
            container.remove(def.name);
        }
    }
}

fn prune(map: &mut Map<String, Value>) {
    for value in map.values_mut() {
        prune_value(value);
    }
    map.retain(|_, v| !is_unassigned(v));
}

fn prune_value(value: &mut Value) {
    match value {
        Value::Object(map) => prune(map),
        Value::Array(items) => {
            items.iter_mut().for_each(prune_value);
            items.retain(|v| !is_unassigned(v));
        }
        _ => {}
    }
}

fn is_unassigned(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        _ => false,
    }
}
