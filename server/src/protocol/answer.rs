//! A resource's answer written straight to bytes, for the default projection (neither
//! `attributes` nor `excludedAttributes`), which is what identity providers send on every GET
//! and filter, and for the default projection less the relations (`excludedAttributes=members`,
//! which Entra and Okta send with every read and PATCH of a group).
//!
//! [`render`] builds a new map for the answer (every key hashed again, `groups` and `meta` as
//! maps of their own), the overlay is cloned into it, and the whole is then serialized: on a
//! GET that was about a fifth of the server's instructions. Here the stored document's values
//! are serialized where they are, the lifecycle's overlaid values in their place, and the rest
//! of the answer is written as text. The bytes are exactly those of the general path
//! (`render`, `people::apply_overlay`, `projection::apply`, `serde_json::to_vec`); the shapes
//! that path treats specially are left to it (see [`write_default`]).

use std::io::Write;

use serde_json::{Map, Value};

use crate::domain::resource::StoredResource;
use crate::domain::schema::ResourceType;
use crate::storage::timefmt;

use super::query::Projection;
use super::render::{location, render};

/// Attributes the answer itself writes; a document holding one goes the general way.
const WRITTEN_HERE: [&str; 6] = ["schemas", "id", "members", "groups", "meta", "password"];

/// What a projection leaves out of the default answer, when it is written directly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Trim {
    /// The relations: a Group's `members`, a User's `groups`.
    pub relations: bool,
    /// Extension objects that are empty, and their schemas: any `excludedAttributes` prunes
    /// them (see `projection::apply`).
    pub empty_extensions: bool,
}

impl Trim {
    /// What `projection` leaves out, when that is all it does (see
    /// [`super::projection::excludes_relations_only`]).
    pub fn of(rt: ResourceType, projection: &Projection) -> Option<Self> {
        super::projection::excludes_relations_only(rt, projection)
            .map(|relations| Self { relations, empty_extensions: !projection.excluded.is_empty() })
    }
}

/// Appends the answer for `res` under `projection` to `out`: written directly under the
/// default projection (or less the relations), through [`render`] and the projection
/// otherwise.
pub fn present_into(
    out: &mut Vec<u8>,
    res: StoredResource,
    base: &str,
    projection: &Projection,
    overlay: Option<&Map<String, Value>>,
) {
    if let Some(trim) = Trim::of(res.resource_type, projection) {
        if write_default(out, &res, base, overlay, trim) {
            return;
        }
    }
    let rt = res.resource_type;
    let mut body = render(res, base);
    super::people::apply_overlay(&mut body, overlay);
    super::projection::apply(rt, &mut body, projection);
    // A map of string keys to JSON values always serializes.
    let _ = serde_json::to_writer(&mut *out, &body);
}

/// The answer for `res` under `projection`, as bytes.
pub fn present(
    res: StoredResource,
    base: &str,
    projection: &Projection,
    overlay: Option<&Map<String, Value>>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    present_into(&mut out, res, base, projection, overlay);
    out
}

/// Writes what the general path would give under the default projection, less what `trim`
/// says. Answers false, having written nothing, for a document holding an attribute the
/// answer writes itself (see [`WRITTEN_HERE`]) or an overlay that adds an attribute, a
/// schema, or the primary role (`people::apply_overlay` moves or rebuilds those).
pub fn write_default(
    out: &mut Vec<u8>,
    res: &StoredResource,
    base: &str,
    overlay: Option<&Map<String, Value>>,
    trim: Trim,
) -> bool {
    let data = &res.data;
    if data.keys().any(|k| WRITTEN_HERE.contains(&k.as_str())) {
        return false;
    }
    let rt = res.resource_type;
    if let Some(overlay) = overlay {
        let in_place = |k: &String| {
            k != "roles" && data.keys().any(|d| d == k) && (!k.starts_with("urn:") || rt.extension(k).is_some())
        };
        if !overlay.keys().all(in_place) {
            return false;
        }
    }
    let current = |key: &str, stored| answered(overlay, key, stored);
    let pruned = |key: &str, value: &Value| {
        trim.empty_extensions
            && value.as_object().is_some_and(Map::is_empty)
            && rt.extensions().iter().any(|e| e.id == key)
    };
    out.extend_from_slice(b"{\"schemas\":[");
    json_string(out, rt.core().id);
    for ext in rt.extensions() {
        if data.get(ext.id).is_some_and(|v| !pruned(ext.id, current(ext.id, v))) {
            out.push(b',');
            json_string(out, ext.id);
        }
    }
    out.extend_from_slice(b"],\"id\":");
    json_string(out, &res.id);
    for (key, value) in data {
        let value = current(key, value);
        if pruned(key, value) {
            continue;
        }
        out.push(b',');
        json_string(out, key);
        out.push(b':');
        // A JSON value always serializes into a `Vec`.
        let _ = serde_json::to_writer(&mut *out, value);
    }
    array(out, "members", res.members.as_ref().filter(|_| !trim.relations), |out, m| {
        let member_rt = if m.kind == "Group" { ResourceType::Group } else { ResourceType::User };
        out.extend_from_slice(b"{\"value\":");
        json_string(out, &m.value);
        out.extend_from_slice(b",\"$ref\":");
        reference(out, base, member_rt, &m.value);
        if let Some(t) = &m.declared_kind {
            out.extend_from_slice(b",\"type\":");
            json_string(out, t);
        }
        if let Some(d) = &m.display {
            out.extend_from_slice(b",\"display\":");
            json_string(out, d);
        }
        out.push(b'}');
    });
    array(out, "groups", res.groups.as_ref().filter(|_| !trim.relations), |out, g| {
        out.extend_from_slice(b"{\"value\":");
        json_string(out, &g.value);
        out.extend_from_slice(b",\"$ref\":");
        reference(out, base, ResourceType::Group, &g.value);
        out.extend_from_slice(b",\"display\":");
        json_string(out, &g.display);
        out.extend_from_slice(b",\"type\":\"direct\"}");
    });
    out.extend_from_slice(b",\"meta\":{\"resourceType\":");
    json_string(out, rt.name());
    out.extend_from_slice(b",\"created\":");
    json_string(out, &timefmt::format(res.meta.created));
    out.extend_from_slice(b",\"lastModified\":");
    json_string(out, &timefmt::format(res.meta.last_modified));
    out.extend_from_slice(b",\"location\":");
    reference(out, base, rt, &res.id);
    // `W/"3"` as a JSON string.
    let _ = write!(out, ",\"version\":\"W/\\\"{}\\\"\"}}}}", res.meta.version);
    true
}

/// The value answered for a stored attribute: the overlay's, or the stored one.
fn answered<'v>(overlay: Option<&'v Map<String, Value>>, key: &str, stored: &'v Value) -> &'v Value {
    overlay.and_then(|o| o.iter().find(|(k, _)| *k == key)).map_or(stored, |(_, v)| v)
}

/// `,"key":[…]`, each item written by `write`; nothing at all when there are none (as
/// [`render`] leaves out empty `members` and `groups`).
fn array<T>(out: &mut Vec<u8>, key: &str, items: Option<&Vec<T>>, mut write: impl FnMut(&mut Vec<u8>, &T)) {
    let Some(items) = items.filter(|items| !items.is_empty()) else { return };
    out.push(b',');
    json_string(out, key);
    out.extend_from_slice(b":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(out, item);
    }
    out.push(b']');
}

/// Appends `s` as a JSON string, escaped as serde_json escapes it.
pub fn json_string(out: &mut Vec<u8>, s: &str) {
    // Writing a `&str` into a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// The resource's URL (see [`location`]) as a JSON string, without building it first unless
/// a part needs escaping.
fn reference(out: &mut Vec<u8>, base: &str, rt: ResourceType, id: &str) {
    let plain = |s: &str| !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\');
    if plain(base) && plain(id) {
        out.push(b'"');
        out.extend_from_slice(base.as_bytes());
        out.extend_from_slice(rt.endpoint().as_bytes());
        out.push(b'/');
        out.extend_from_slice(id.as_bytes());
        out.push(b'"');
    } else {
        json_string(out, &location(base, rt, id));
    }
}

#[cfg(test)]
mod tests;
