//! The user operations of an apply: deprovision, create, update. Each is idempotent: a
//! delete that meets a 404 is done, a create that meets a 409 takes the user that exists
//! (a retried POST whose first answer was lost, or a re-run after a crash).

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::client::{Client, ClientError};
use crate::plan::{Change, Op};
use crate::source::scim::{patch_op, set_in_resource, user_resource, ENTERPRISE, PATCH_OP, USER_SCHEMA};
use crate::source::{Attr, Person};

use super::{item, who, ItemReport};

/// Deactivates or deletes; answers the report item and, for a delete, the id to forget.
pub(super) async fn deprovision(
    client: &Client,
    op: &Op,
    use_patch: bool,
    raw: &BTreeMap<&str, &Value>,
) -> (ItemReport, Option<String>) {
    match op {
        Op::Delete { id, key, user_name } => {
            let r = match client.send(Method::DELETE, &format!("Users/{id}"), None).await {
                // Already gone (a re-run after a crash): the goal is reached.
                Ok(_) | Err(ClientError::Status { status: 404, .. }) => Ok(Some(id.clone())),
                Err(e) => Err(e.to_string()),
            };
            let deleted = r.is_ok().then(|| id.clone());
            (item("delete", who(user_name, key.as_deref()), r), deleted)
        }
        Op::Deactivate { id, key, user_name } => {
            let change = Change { attr: Attr::Active, from: Some("true".into()), to: Some("false".into()) };
            let update = Update {
                id,
                key: "",
                adopt: false,
                changes: &[change],
                ids: &BTreeMap::new(),
                use_patch,
                raw: raw.get(id.as_str()).copied(),
            };
            let r = update.send(client).await.map(|()| Some(id.clone()));
            (item("deactivate", who(user_name, key.as_deref()), r), None)
        }
        _ => unreachable!("only deprovisions are passed"),
    }
}

/// POSTs a new user; on 409 (it exists: a retried POST whose answer was lost, or a re-run
/// whose read missed it) looks it up by externalId and takes it.
pub(super) async fn create(
    client: &Client,
    key: &str,
    person: &Person,
    provided: &BTreeSet<Attr>,
    manager_id: Option<&str>,
) -> Result<Option<String>, ClientError> {
    let body = user_resource(person, provided, manager_id);
    match client.send(Method::POST, "Users", Some(&body)).await {
        Ok(reply) => Ok(reply.body.get("id").and_then(Value::as_str).map(str::to_owned)),
        Err(e @ ClientError::Status { status: 409, .. }) => {
            let found = client.get(&format!("Users?filter={}", eq_filter("externalId", key))).await?;
            match found.pointer("/Resources/0/id").and_then(Value::as_str) {
                Some(id) => Ok(Some(id.to_owned())),
                None => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// `attr eq "value"`, escaped as a SCIM string and percent-encoded for a query.
pub(super) fn eq_filter(attr: &str, value: &str) -> String {
    let filter = format!("{attr} eq \"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""));
    filter
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A resource that carries the enterprise extension must list it in `schemas`.
fn declare_extension(resource: &mut Map<String, Value>) {
    if !resource.contains_key(ENTERPRISE) {
        return;
    }
    let schemas = resource.entry("schemas").or_insert_with(|| json!([USER_SCHEMA]));
    if let Some(list) = schemas.as_array_mut() {
        if !list.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(ENTERPRISE))) {
            list.push(json!(ENTERPRISE));
        }
    }
}

/// The changes of one user, sent as PATCH, or as PUT of the whole resource.
pub(super) struct Update<'a> {
    pub id: &'a str,
    pub key: &'a str,
    /// Also set the externalId (a user adopted by userName).
    pub adopt: bool,
    pub changes: &'a [Change],
    /// People's keys → target ids, for managers.
    pub ids: &'a BTreeMap<String, String>,
    pub use_patch: bool,
    /// The resource as read, for PUT.
    pub raw: Option<&'a Value>,
}

impl Update<'_> {
    pub async fn send(&self, client: &Client) -> Result<(), String> {
        // The manager is a key in the plan and an id in the target.
        let mut resolved = Vec::with_capacity(self.changes.len());
        for c in self.changes {
            let to = match (c.attr, &c.to) {
                (Attr::Manager, Some(m)) => {
                    Some(self.ids.get(m).cloned().ok_or_else(|| format!("manager {m} is not in the target"))?)
                }
                (_, to) => to.clone(),
            };
            resolved.push((c.attr, to));
        }
        let path = format!("Users/{}", self.id);
        match self.raw.filter(|r| !self.use_patch && r.is_object()) {
            Some(raw) => {
                let mut resource: Map<String, Value> = raw.as_object().cloned().unwrap_or_default();
                for k in ["meta", "groups", "id"] {
                    resource.remove(k);
                }
                if self.adopt {
                    resource.insert("externalId".into(), json!(self.key));
                }
                for (attr, to) in &resolved {
                    set_in_resource(&mut resource, *attr, to.as_deref());
                }
                declare_extension(&mut resource);
                client.send(Method::PUT, &path, Some(&Value::Object(resource))).await.map_err(|e| e.to_string())?;
            }
            None => {
                let mut ops: Vec<Value> = resolved.iter().map(|(a, to)| patch_op(*a, to.as_deref())).collect();
                if self.adopt {
                    ops.insert(0, json!({"op": "replace", "path": "externalId", "value": self.key}));
                }
                let body = json!({"schemas": [PATCH_OP], "Operations": ops});
                client.send(Method::PATCH, &path, Some(&body)).await.map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    }
}
