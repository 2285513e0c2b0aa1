//! The `sortBy` order of resources held in memory, for the one place that needs it: a root
//! `/.search` sorted by an attribute that more than one resource type has, whose pages merge
//! each type's sorted page. It agrees with the order storage gives one type (RFC 7644
//! §3.4.2.3): missing values last whichever the direction, strings folded as the database
//! folds them (ASCII) unless `caseExact`, a multi-valued attribute by its primary (or first)
//! element, and the id (creation order) breaking ties.

use std::cmp::Ordering;

use serde_json::Value;

use super::filter::AttrPath;
use super::resource::{SortOrder, StoredResource};
use super::schema::{AttrDef, AttrType, ResourceType};

/// What a resource sorts by.
#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    Text(String),
    Number(f64),
    Bool(bool),
    Time(time::OffsetDateTime),
    Missing,
}

/// Whether `path` names an attribute resources of `rt` can be sorted by.
pub fn sortable(rt: ResourceType, path: &AttrPath) -> bool {
    let Some(found) = rt.resolve(path.urn.as_deref(), &path.name) else { return false };
    match &path.sub {
        Some(sub) => found.def.sub(sub).is_some(),
        None => found.def.ty != AttrType::Complex || found.def.multi_valued,
    }
}

/// The key `res` sorts by under `path` (an attribute its type has; see [`sortable`]).
pub fn sort_key(res: &StoredResource, path: &AttrPath) -> SortKey {
    let Some(found) = res.resource_type.resolve(path.urn.as_deref(), &path.name) else { return SortKey::Missing };
    let def = found.def;
    match (def.name, path.sub.as_deref()) {
        ("id", None) => return SortKey::Text(res.id.clone()),
        ("meta", Some(sub)) if sub.eq_ignore_ascii_case("created") => return SortKey::Time(res.meta.created),
        ("meta", Some(sub)) if sub.eq_ignore_ascii_case("lastModified") => {
            return SortKey::Time(res.meta.last_modified)
        }
        _ => {}
    }
    let top = match found.schema {
        Some(ext) => res.data.get(ext.id).and_then(|e| e.get(def.name)),
        None => res.data.get(def.name),
    };
    let Some(mut value) = top else { return SortKey::Missing };
    if def.multi_valued {
        let Some(items) = value.as_array() else { return SortKey::Missing };
        let primary = items.iter().find(|e| e.get("primary") == Some(&Value::Bool(true))).or(items.first());
        let Some(element) = primary else { return SortKey::Missing };
        let sub = path.sub.as_deref().unwrap_or("value");
        return match (def.sub(sub), element.get(sub)) {
            (Some(sub_def), Some(v)) => key_of(sub_def, v),
            _ => SortKey::Missing,
        };
    }
    let mut leaf = def;
    if let Some(sub) = &path.sub {
        match (def.sub(sub), value.get(sub.as_str())) {
            (Some(sub_def), Some(v)) => (leaf, value) = (sub_def, v),
            _ => return SortKey::Missing,
        }
    }
    key_of(leaf, value)
}

fn key_of(def: &AttrDef, value: &Value) -> SortKey {
    match value {
        Value::String(s) if def.case_exact => SortKey::Text(s.clone()),
        Value::String(s) => SortKey::Text(s.to_ascii_lowercase()),
        Value::Number(n) => n.as_f64().map_or(SortKey::Missing, SortKey::Number),
        Value::Bool(b) => SortKey::Bool(*b),
        _ => SortKey::Missing,
    }
}

/// The order of two resources, given as their keys and ids, in direction `order`.
pub fn compare(a: (&SortKey, &str), b: (&SortKey, &str), order: SortOrder) -> Ordering {
    use SortKey::*;
    let by_key = match (a.0, b.0) {
        (Missing, Missing) => Ordering::Equal,
        (Missing, _) => return Ordering::Greater,
        (_, Missing) => return Ordering::Less,
        (Text(x), Text(y)) => x.cmp(y),
        (Number(x), Number(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (Bool(x), Bool(y)) => x.cmp(y),
        (Time(x), Time(y)) => x.cmp(y),
        // One attribute has one type; mixed keys only come from malformed data.
        (x, y) => rank(x).cmp(&rank(y)),
    };
    let by_key = if order == SortOrder::Descending { by_key.reverse() } else { by_key };
    by_key.then_with(|| a.1.cmp(b.1))
}

fn rank(key: &SortKey) -> u8 {
    match key {
        SortKey::Bool(_) => 0,
        SortKey::Number(_) => 1,
        SortKey::Text(_) => 2,
        SortKey::Time(_) => 3,
        SortKey::Missing => 4,
    }
}
