//! A stored resource as the client sees it: `schemas`, `id`, the attributes as they were
//! sent, members or groups, and `meta` (RFC 7643 §3.1). Never the write-only password.

use serde_json::{json, Map, Value};

use crate::domain::resource::StoredResource;
use crate::domain::schema::ResourceType;
use crate::storage::timefmt;

/// The weak ETag of a version: `W/"3"`.
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// The resource's URL under `base` (the SCIM base URL, without a trailing slash).
pub fn location(base: &str, rt: ResourceType, id: &str) -> String {
    format!("{base}{}/{id}", rt.endpoint())
}

/// Takes the resource by value: its attributes move into the answer rather than being
/// copied (a deep copy of the document was about 5% of a GET's instructions).
pub fn render(res: StoredResource, base: &str) -> Map<String, Value> {
    let rt = res.resource_type;
    let mut schemas = vec![Value::from(rt.core().id)];
    for ext in rt.extensions() {
        if res.data.contains_key(ext.id) {
            schemas.push(Value::from(ext.id));
        }
    }
    let mut out = Map::with_capacity(res.data.len() + 5);
    out.insert("schemas".into(), Value::Array(schemas));
    out.insert("id".into(), Value::from(res.id.as_str()));
    for (k, v) in res.data.into_map() {
        if k != "password" {
            out.insert(k, v);
        }
    }
    if let Some(members) = &res.members {
        if !members.is_empty() {
            let list = members
                .iter()
                .map(|m| {
                    let member_rt = if m.kind == "Group" { ResourceType::Group } else { ResourceType::User };
                    let mut o = json!({
                        "value": m.value,
                        "$ref": location(base, member_rt, &m.value),
                    });
                    if let Some(t) = &m.declared_kind {
                        o["type"] = json!(t);
                    }
                    if let Some(d) = &m.display {
                        o["display"] = json!(d);
                    }
                    o
                })
                .collect();
            out.insert("members".into(), Value::Array(list));
        }
    }
    if let Some(groups) = &res.groups {
        if !groups.is_empty() {
            let list = groups
                .iter()
                .map(|g| {
                    json!({
                        "value": g.value,
                        "$ref": location(base, ResourceType::Group, &g.value),
                        "display": g.display,
                        "type": "direct",
                    })
                })
                .collect();
            out.insert("groups".into(), Value::Array(list));
        }
    }
    out.insert(
        "meta".into(),
        json!({
            "resourceType": rt.name(),
            "created": timefmt::format(res.meta.created),
            "lastModified": timefmt::format(res.meta.last_modified),
            "location": location(base, rt, &res.id),
            "version": etag(res.meta.version),
        }),
    );
    out
}
