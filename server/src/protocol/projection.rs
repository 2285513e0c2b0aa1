//! `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9): which attributes of a
//! rendered resource the client gets. `id` and `schemas` are always returned; names are
//! matched case-insensitively and may be URN-qualified or name sub-attributes.

use serde_json::{Map, Value};

use crate::domain::schema::{Resolved, ResourceType, Returned};

use super::filter::parse_path;
use super::query::Projection;

/// One attribute the client named, resolved against the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Selection {
    /// A whole extension object, by its URN.
    Extension(&'static str),
    /// An attribute, in an extension object or at the top level, optionally one sub-attribute.
    Attr { ext: Option<&'static str>, name: &'static str, sub: Option<&'static str> },
}

fn resolve(rt: ResourceType, text: &str) -> Option<Selection> {
    if let Some(ext) = rt.extension(text) {
        return Some(Selection::Extension(ext.id));
    }
    let path = parse_path(text).ok()?;
    if path.filter.is_some() {
        return None;
    }
    let attr = path.attr;
    if let Some(urn) = &attr.urn {
        if let Some(ext) = rt.extension(&format!("{urn}:{}", attr.name)) {
            return Some(Selection::Extension(ext.id));
        }
    }
    let Resolved { schema, def } = rt.resolve(attr.urn.as_deref(), &attr.name)?;
    let sub = match &attr.sub {
        Some(s) => Some(def.sub(s)?.name),
        None => None,
    };
    Some(Selection::Attr { ext: schema.map(|s| s.id), name: def.name, sub })
}

fn resolve_all(rt: ResourceType, names: &[String]) -> Vec<Selection> {
    names.iter().filter_map(|n| resolve(rt, n)).collect()
}

/// The attribute that lists a resource's relations: a Group's members, a User's groups.
fn relation(rt: ResourceType) -> &'static str {
    match rt {
        ResourceType::Group => "members",
        ResourceType::User => "groups",
    }
}

/// Whether members (groups) or groups (users) will be shown, so storage can skip reading them.
pub fn wants_relations(rt: ResourceType, projection: &Projection) -> bool {
    let name = relation(rt);
    let hits =
        |list: &[Selection]| list.iter().any(|s| matches!(s, Selection::Attr { ext: None, name: n, .. } if *n == name));
    let excluded_whole = resolve_all(rt, &projection.excluded)
        .iter()
        .any(|s| matches!(s, Selection::Attr { ext: None, name: n, sub: None } if *n == name));
    if projection.attributes.is_empty() {
        !excluded_whole
    } else {
        hits(&resolve_all(rt, &projection.attributes)) && !excluded_whole
    }
}

/// For a projection that selects nothing and excludes nothing but the relations (Entra and
/// Okta send `excludedAttributes=members` with every read and PATCH of a group):
/// `Some(whether it excludes them)`. `None` for any other projection.
pub fn excludes_relations_only(rt: ResourceType, projection: &Projection) -> Option<bool> {
    if !projection.attributes.is_empty() {
        return None;
    }
    let name = relation(rt);
    let mut excludes = false;
    for selection in resolve_all(rt, &projection.excluded) {
        match selection {
            Selection::Attr { ext: None, name: n, sub: None } if n == name => excludes = true,
            _ => return None,
        }
    }
    Some(excludes)
}

/// Applies the projection to a rendered resource.
pub fn apply(rt: ResourceType, resource: &mut Map<String, Value>, projection: &Projection) {
    if !projection.attributes.is_empty() {
        let wanted = resolve_all(rt, &projection.attributes);
        let old = std::mem::take(resource);
        for (key, mut value) in old {
            if key == "schemas" || key == "id" {
                resource.insert(key, value);
                continue;
            }
            if let Some(ext) = rt.extension(&key) {
                if wanted.contains(&Selection::Extension(ext.id)) {
                    resource.insert(key, value);
                } else if let Value::Object(obj) = &mut value {
                    keep(obj, &wanted, Some(ext.id));
                    if !obj.is_empty() {
                        resource.insert(key, value);
                    }
                }
                continue;
            }
            if let Some(value) = selected(&wanted, None, &key, value) {
                resource.insert(key, value);
            }
        }
    }
    for selection in resolve_all(rt, &projection.excluded) {
        match selection {
            Selection::Extension(urn) => {
                resource.shift_remove(urn);
            }
            Selection::Attr { ext, name, sub } => {
                if is_always(rt, ext, name) {
                    continue;
                }
                let holder = match ext {
                    None => Some(&mut *resource),
                    Some(urn) => resource.get_mut(urn).and_then(Value::as_object_mut),
                };
                let Some(holder) = holder else { continue };
                match sub {
                    None => {
                        holder.shift_remove(name);
                    }
                    Some(sub) => {
                        if let Some(v) = holder.get_mut(name) {
                            drop_sub(v, sub);
                        }
                    }
                }
            }
        }
    }
    if !projection.attributes.is_empty() || !projection.excluded.is_empty() {
        prune_schemas(rt, resource);
    }
}

/// `schemas` names the extensions a resource carries (RFC 7643 §3): after a projection, only
/// those still present.
fn prune_schemas(rt: ResourceType, resource: &mut Map<String, Value>) {
    let gone: Vec<&str> = rt
        .extensions()
        .iter()
        .map(|e| e.id)
        .filter(|id| resource.get(*id).is_none_or(|v| v.as_object().is_some_and(Map::is_empty)))
        .collect();
    for id in &gone {
        resource.shift_remove(*id);
    }
    if let Some(Value::Array(schemas)) = resource.get_mut("schemas") {
        schemas.retain(|s| s.as_str().is_none_or(|s| !gone.iter().any(|g| g.eq_ignore_ascii_case(s))));
    }
}

fn is_always(rt: ResourceType, ext: Option<&str>, name: &str) -> bool {
    rt.resolve(ext, name).is_some_and(|r| r.def.returned == Returned::Always)
}

/// Keeps, in an extension object, only the attributes selected for it.
fn keep(obj: &mut Map<String, Value>, wanted: &[Selection], urn: Option<&'static str>) {
    let old = std::mem::take(obj);
    for (key, value) in old {
        if let Some(value) = selected(wanted, urn, &key, value) {
            obj.insert(key, value);
        }
    }
}

/// The part of attribute `key` (of extension `urn`, or top-level) that the client asked for:
/// all of it, some sub-attributes, or nothing.
fn selected(wanted: &[Selection], urn: Option<&'static str>, key: &str, mut value: Value) -> Option<Value> {
    let subs: Vec<Option<&str>> = wanted
        .iter()
        .filter_map(|s| match s {
            Selection::Attr { ext, name, sub } if *ext == urn && *name == key => Some(*sub),
            _ => None,
        })
        .collect();
    if subs.is_empty() {
        return None;
    }
    if !subs.contains(&None) {
        keep_subs(&mut value, &subs.iter().flatten().copied().collect::<Vec<_>>());
    }
    Some(value)
}

/// Keeps only the named sub-attributes of a complex value or of each element of a list.
fn keep_subs(value: &mut Value, subs: &[&str]) {
    match value {
        Value::Object(o) => o.retain(|k, _| subs.contains(&k.as_str())),
        Value::Array(items) => items.iter_mut().for_each(|v| keep_subs(v, subs)),
        _ => {}
    }
}

fn drop_sub(value: &mut Value, sub: &str) {
    match value {
        Value::Object(o) => {
            o.shift_remove(sub);
        }
        Value::Array(items) => items.iter_mut().for_each(|v| drop_sub(v, sub)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn proj(attributes: &[&str], excluded: &[&str]) -> Projection {
        Projection {
            attributes: attributes.iter().map(|s| s.to_string()).collect(),
            excluded: excluded.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn attributes_keep_id_schemas_and_the_named_ones() {
        let mut r = json!({
            "schemas": ["s"], "id": "1", "userName": "a", "name": {"givenName": "A", "familyName": "B"},
            "emails": [{"value": "a@x", "type": "work"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "D", "costCenter": "C"},
            "meta": {"version": "W/\"1\""}
        });
        let map = r.as_object_mut().unwrap();
        apply(
            ResourceType::User,
            map,
            &proj(
                &[
                    "USERNAME",
                    "name.givenName",
                    "emails.value",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                ],
                &[],
            ),
        );
        assert_eq!(
            r,
            json!({"schemas": ["s"], "id": "1", "userName": "a", "name": {"givenName": "A"}, "emails": [{"value": "a@x"}],
                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "D"}})
        );
    }

    #[test]
    fn excluded_attributes_never_remove_id() {
        let mut r = json!({"schemas": ["s"], "id": "1", "displayName": "g", "members": [{"value": "x"}]});
        apply(ResourceType::Group, r.as_object_mut().unwrap(), &proj(&[], &["members", "id"]));
        assert_eq!(r, json!({"schemas": ["s"], "id": "1", "displayName": "g"}));
        assert!(!wants_relations(ResourceType::Group, &proj(&[], &["members"])));
        assert!(wants_relations(ResourceType::Group, &proj(&[], &[])));
        assert!(!wants_relations(ResourceType::Group, &proj(&["displayName"], &[])));
    }
}
