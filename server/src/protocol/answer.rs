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

use std::borrow::Cow;
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
    let data = members(res);
    if data.iter().any(|(k, _)| WRITTEN_HERE.contains(k)) {
        return false;
    }
    let rt = res.resource_type;
    if let Some(overlay) = overlay {
        let in_place = |k: &String| {
            k != "roles" && data.iter().any(|(d, _)| d == k) && (!k.starts_with("urn:") || rt.extension(k).is_some())
        };
        if !overlay.keys().all(in_place) {
            return false;
        }
    }
    let pruned = |key: &str, value: &Answered<'_>| {
        trim.empty_extensions && value.is_empty_object() && rt.extensions().iter().any(|e| e.id == key)
    };
    // Each attribute as answered, less the empty extensions the trim prunes.
    let answered: Vec<(&str, Answered<'_>)> =
        data.into_iter().map(|(k, v)| (k, current(overlay, k, v))).filter(|(k, v)| !pruned(k, v)).collect();
    out.extend_from_slice(b"{\"schemas\":[");
    json_string(out, rt.core().id);
    for ext in rt.extensions() {
        if answered.iter().any(|(k, _)| *k == ext.id) {
            out.push(b',');
            json_string(out, ext.id);
        }
    }
    out.extend_from_slice(b"],\"id\":");
    json_string(out, &res.id);
    for (key, value) in &answered {
        out.push(b',');
        json_string(out, key);
        out.push(b':');
        value.write(out);
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

/// What the answer says for a stored attribute: the overlay's value, or the stored one.
fn current<'a>(overlay: Option<&'a Map<String, Value>>, key: &str, stored: Stored<'a>) -> Answered<'a> {
    match overlay.and_then(|o| o.iter().find(|(k, _)| *k == key)) {
        Some((_, v)) => Answered::Value(Cow::Borrowed(v)),
        None => stored.answered(),
    }
}

/// A stored attribute: as stored (see
/// [`Document::stored_members`](crate::domain::document::Document::stored_members)), or from
/// the map.
#[derive(Clone, Copy)]
enum Stored<'a> {
    Text(&'a str),
    Value(&'a Value),
}

/// What the answer says for an attribute.
enum Answered<'a> {
    /// Stored text that serde_json would write the same (see [`as_written`]).
    Text(&'a str),
    Value(Cow<'a, Value>),
}

impl<'a> Stored<'a> {
    fn answered(self) -> Answered<'a> {
        match self {
            Stored::Text(text) if as_written(text) => Answered::Text(text),
            // Checked as JSON when read.
            Stored::Text(text) => Answered::Value(Cow::Owned(serde_json::from_str(text).unwrap_or(Value::Null))),
            Stored::Value(v) => Answered::Value(Cow::Borrowed(v)),
        }
    }
}

impl Answered<'_> {
    fn is_empty_object(&self) -> bool {
        match self {
            Answered::Text(text) => *text == "{}",
            Answered::Value(v) => v.as_object().is_some_and(Map::is_empty),
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Answered::Text(text) => out.extend_from_slice(text.as_bytes()),
            // A JSON value always serializes into a `Vec`.
            Answered::Value(v) => {
                let _ = serde_json::to_writer(&mut *out, v);
            }
        }
    }
}

/// The document's members in order: its stored text's when it is unchanged since read.
fn members(res: &StoredResource) -> Vec<(&str, Stored<'_>)> {
    match res.data.stored_members() {
        Some(stored) => stored.map(|(k, v)| (k, Stored::Text(v))).collect(),
        None => res.data.iter().map(|(k, v)| (k.as_str(), Stored::Value(v))).collect(),
    }
}

/// Whether serde_json, having parsed the JSON `text`, would write it back byte for byte:
/// no whitespace between tokens, no escapes (serde_json writes only some), and numbers only
/// as plain integers that it keeps as integers (a fraction or an exponent may be written
/// another way). What we stored was written by serde_json and passes; anything else is
/// parsed and written again.
fn as_written(text: &str) -> bool {
    let mut in_string = false;
    let mut digits = 0usize;
    let mut previous = 0u8;
    for &b in text.as_bytes() {
        if in_string {
            match b {
                b'"' => in_string = false,
                b'\\' => return false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'0'..=b'9' => {
                    // `-0` is written `0`; past 18 digits an integer may not fit 64 bits.
                    digits += 1;
                    if (b == b'0' && previous == b'-') || digits > 18 {
                        return false;
                    }
                }
                // Letters spell `true`, `false` and `null`; after a digit, an exponent.
                b'a'..=b'z' if !previous.is_ascii_digit() => {}
                b'{' | b'}' | b'[' | b']' | b':' | b',' | b'-' => {}
                _ => return false,
            }
        }
        if !b.is_ascii_digit() {
            digits = 0;
        }
        previous = b;
    }
    !in_string
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
