//! Carries a plan out against the target with bounded concurrency, in phases that respect
//! dependencies: deprovisions (they free seats and userNames), creates (managers before the
//! people who report to them), updates, then groups (whose members must exist). Every
//! operation is idempotent, so re-running after a crash or a partial failure converges.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;

use futures_util::stream::{self, StreamExt};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use reqwest::Method;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::client::{Client, ClientError};
use crate::config::Reassignment;
use crate::plan::{Actual, Change, Op, Plan};
use crate::source::scim::{patch_op, set_in_resource, user_resource, GROUP_SCHEMA, PATCH_OP};
use crate::source::{Attr, Person};
use crate::state::TargetState;

/// PATCH operations per request for group members (the server advertises 1000).
const MEMBER_CHUNK: usize = 500;

/// How to apply.
pub struct ApplyOptions {
    pub concurrency: usize,
    /// PATCH (true) or PUT (false) for updates.
    pub use_patch: bool,
    pub reassignment: Option<Reassignment>,
    /// Draw progress bars (only on a terminal).
    pub progress: bool,
}

/// The outcome of one operation, for the report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemReport {
    pub action: &'static str,
    pub who: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// For deprovisioned people: what happened to their work.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reassignment: Option<String>,
}

/// Every operation and its outcome.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyReport {
    pub succeeded: usize,
    pub failed: usize,
    pub retries: u64,
    pub items: Vec<ItemReport>,
    pub notices: Vec<String>,
}

impl ApplyReport {
    fn push(&mut self, item: ItemReport) {
        if item.ok {
            self.succeeded += 1;
        } else {
            self.failed += 1;
        }
        self.items.push(item);
    }
}

fn item(action: &'static str, who: String, result: Result<Option<String>, String>) -> ItemReport {
    match result {
        Ok(id) => ItemReport { action, who, id, ok: true, error: None, reassignment: None },
        Err(e) => ItemReport { action, who, id: None, ok: false, error: Some(e), reassignment: None },
    }
}

fn progress_bar(len: usize, enabled: bool) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(len as u64),
        if enabled && std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    if let Ok(style) = ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} {per_sec} eta {eta}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Carries the plan out. `actual` provides the full resources for PUT; `state` learns
/// every user and group the agent now manages.
pub async fn apply(
    client: &Client,
    plan: &Plan,
    actual: &Actual,
    options: &ApplyOptions,
    state: &mut TargetState,
) -> ApplyReport {
    let mut report = ApplyReport::default();
    let mut ids = plan.ids.clone();
    state.managed_users.extend(ids.values().cloned());
    let raw: BTreeMap<&str, &Value> = actual.users.iter().map(|u| (u.id.as_str(), &u.raw)).collect();
    let bar = progress_bar(plan.ops.len(), options.progress);
    let n = options.concurrency;

    // 1. Deprovisions.
    bar.set_message("deprovision");
    let deprovisions: Vec<&Op> =
        plan.ops.iter().filter(|o| matches!(o, Op::Deactivate { .. } | Op::Delete { .. })).collect();
    let results: Vec<(ItemReport, Option<String>)> = stream::iter(deprovisions)
        .map(|op| async {
            let r = deprovision(client, op, options.use_patch, &raw).await;
            bar.inc(1);
            r
        })
        .buffer_unordered(n)
        .collect()
        .await;
    let reassignment_notice = match &options.reassignment {
        Some(policy) => format!(
            "skipped: the target has no reassignment API (policy {:?} not applied); reassign this person's work by hand",
            policy.strategy
        ),
        None => "skipped: no [reassignment] policy in the config".to_owned(),
    };
    let mut any_deprovision = false;
    for (mut it, deleted) in results {
        any_deprovision = true;
        if it.ok {
            it.reassignment = Some(reassignment_notice.clone());
        }
        if let Some(id) = deleted {
            state.managed_users.remove(&id);
        }
        report.push(it);
    }
    if any_deprovision && options.reassignment.is_some() {
        report
            .notices
            .push("Reassignment of leavers' work was skipped: the target has no reassignment API.".to_owned());
    }

    // 2. Creates, in waves: a person's manager is created before them.
    bar.set_message("create");
    let mut pending: Vec<(&String, &Person)> = plan
        .ops
        .iter()
        .filter_map(|o| match o {
            Op::Create { key, person } => Some((key, person)),
            _ => None,
        })
        .collect();
    let mut late_managers: Vec<(&String, &Person)> = Vec::new();
    while !pending.is_empty() {
        let waiting: BTreeSet<&str> = pending.iter().map(|(k, _)| k.as_str()).collect();
        let (mut wave, rest): (Vec<_>, Vec<_>) =
            pending.into_iter().partition(|(_, p)| p.get(Attr::Manager).is_none_or(|m| !waiting.contains(m)));
        pending = rest;
        if wave.is_empty() {
            // A cycle of managers: create them all, then set their managers.
            late_managers.clone_from(&pending);
            wave = std::mem::take(&mut pending);
        }
        let (ids_now, bar) = (&ids, &bar);
        let results: Vec<(String, String, Result<Option<String>, ClientError>)> = stream::iter(wave)
            .map(|(key, person)| async move {
                let manager = person.get(Attr::Manager).and_then(|m| ids_now.get(m)).map(String::as_str);
                let r = create(client, key, person, &plan.provided, manager).await;
                bar.inc(1);
                (key.clone(), person.user_name().to_owned(), r)
            })
            .buffer_unordered(n)
            .collect()
            .await;
        for (key, name, r) in results {
            if let Ok(Some(id)) = &r {
                ids.insert(key.clone(), id.clone());
                state.managed_users.insert(id.clone());
            }
            report.push(item("create", format!("{name} ({key})"), r.map_err(|e| e.to_string())));
        }
    }
    for (key, person) in late_managers {
        let (Some(id), Some(manager)) = (ids.get(key), person.get(Attr::Manager)) else { continue };
        let change = Change { attr: Attr::Manager, from: None, to: Some(manager.to_owned()) };
        if let Err(e) = update(client, id, key, false, &[change], &ids, true, None).await {
            report.push(item("set manager", format!("{} ({key})", person.user_name()), Err(e)));
        }
    }

    // 3. Updates (adoptions and reactivations included).
    bar.set_message("update");
    let updates: Vec<&Op> = plan.ops.iter().filter(|o| matches!(o, Op::Update { .. })).collect();
    let ids_now = &ids;
    let results: Vec<ItemReport> = stream::iter(updates)
        .map(|op| async {
            let Op::Update { id, key, user_name, adopt, changes } = op else { unreachable!("filtered") };
            let action = if op.deprovisions() {
                "deactivate"
            } else if op.is_reactivation() {
                "reactivate"
            } else {
                "update"
            };
            let r = update(client, id, key, *adopt, changes, ids_now, options.use_patch, raw.get(id.as_str()).copied())
                .await
                .map(|()| Some(id.clone()));
            bar.inc(1);
            item(action, format!("{user_name} ({key})"), r)
        })
        .buffer_unordered(n)
        .collect()
        .await;
    results.into_iter().for_each(|r| report.push(r));

    // 4. Groups.
    bar.set_message("groups");
    let group_ops: Vec<&Op> = plan
        .ops
        .iter()
        .filter(|o| matches!(o, Op::CreateGroup { .. } | Op::RenameGroup { .. } | Op::Members { .. }))
        .collect();
    let results: Vec<(ItemReport, Option<String>)> = stream::iter(group_ops)
        .map(|op| async {
            let r = group(client, op, ids_now, options.use_patch, actual).await;
            bar.inc(1);
            r
        })
        .buffer_unordered(n)
        .collect()
        .await;
    for (it, group_id) in results {
        if let Some(id) = group_id {
            state.managed_groups.insert(id);
        }
        report.push(it);
    }
    bar.finish_and_clear();
    report.retries = client.retries_made();
    report
}

fn who(name: &str, key: Option<&str>) -> String {
    key.map_or_else(|| name.to_owned(), |k| format!("{name} ({k})"))
}

/// Deactivates or deletes; answers the report item and, for a delete, the id to forget.
async fn deprovision(
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
            let r =
                update(client, id, "", false, &[change], &BTreeMap::new(), use_patch, raw.get(id.as_str()).copied())
                    .await
                    .map(|()| Some(id.clone()));
            (item("deactivate", who(user_name, key.as_deref()), r), None)
        }
        _ => unreachable!("only deprovisions are passed"),
    }
}

/// POSTs a new user; on 409 (it exists: a re-run after a crash whose read missed it)
/// looks it up by externalId and takes it.
async fn create(
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
            let filter = format!("externalId eq \"{}\"", key.replace('\\', "\\\\").replace('"', "\\\""));
            let query: String = form_query(&filter);
            let found = client.get(&format!("Users?filter={query}")).await?;
            match found.pointer("/Resources/0/id").and_then(Value::as_str) {
                Some(id) => Ok(Some(id.to_owned())),
                None => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// Percent-encodes a query value.
fn form_query(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Sends the changes of one user as PATCH, or as PUT of the whole resource.
#[expect(clippy::too_many_arguments, reason = "one call site per phase; a struct would only rename them")]
async fn update(
    client: &Client,
    id: &str,
    key: &str,
    adopt: bool,
    changes: &[Change],
    ids: &BTreeMap<String, String>,
    use_patch: bool,
    raw: Option<&Value>,
) -> Result<(), String> {
    // The manager is a key in the plan and an id in the target.
    let mut resolved = Vec::with_capacity(changes.len());
    for c in changes {
        let to = match (c.attr, &c.to) {
            (Attr::Manager, Some(m)) => {
                Some(ids.get(m).cloned().ok_or_else(|| format!("manager {m} is not in the target"))?)
            }
            (_, to) => to.clone(),
        };
        resolved.push((c.attr, to));
    }
    let path = format!("Users/{id}");
    match raw.filter(|_| !use_patch) {
        Some(raw) => {
            let mut resource: Map<String, Value> = raw.as_object().cloned().unwrap_or_default();
            for k in ["meta", "groups", "id"] {
                resource.remove(k);
            }
            if adopt {
                resource.insert("externalId".into(), json!(key));
            }
            for (attr, to) in &resolved {
                set_in_resource(&mut resource, *attr, to.as_deref());
            }
            client.send(Method::PUT, &path, Some(&Value::Object(resource))).await.map_err(|e| e.to_string())?;
        }
        None => {
            let mut ops: Vec<Value> = resolved.iter().map(|(a, to)| patch_op(*a, to.as_deref())).collect();
            if adopt {
                ops.insert(0, json!({"op": "replace", "path": "externalId", "value": key}));
            }
            let body = json!({"schemas": [PATCH_OP], "Operations": ops});
            client.send(Method::PATCH, &path, Some(&body)).await.map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// Creates, renames or changes the members of a group; answers the group id to manage.
async fn group(
    client: &Client,
    op: &Op,
    ids: &BTreeMap<String, String>,
    use_patch: bool,
    actual: &Actual,
) -> (ItemReport, Option<String>) {
    let members_of = |keys: &[String]| -> Vec<Value> {
        keys.iter().filter_map(|k| ids.get(k)).map(|id| json!({"value": id, "type": "User"})).collect()
    };
    match op {
        Op::CreateGroup { display_name, external_id, members } => {
            let mut body =
                json!({"schemas": [GROUP_SCHEMA], "displayName": display_name, "members": members_of(members)});
            if let Some(e) = external_id {
                body["externalId"] = json!(e);
            }
            let r = client.send(Method::POST, "Groups", Some(&body)).await;
            let id = r.as_ref().ok().and_then(|r| r.body.get("id")?.as_str().map(str::to_owned));
            (item("create group", display_name.clone(), r.map(|_| id.clone()).map_err(|e| e.to_string())), id)
        }
        Op::RenameGroup { id, from, to } => {
            let body =
                json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": to}]});
            let r = client.send(Method::PATCH, &format!("Groups/{id}"), Some(&body)).await;
            (
                item("rename group", format!("{from} → {to}"), r.map(|_| Some(id.clone())).map_err(|e| e.to_string())),
                Some(id.clone()),
            )
        }
        Op::Members { id, display_name, add, remove } => {
            let r = if use_patch {
                patch_members(client, id, &members_of(add), remove).await
            } else {
                put_members(client, id, add, remove, ids, actual).await
            };
            (item("members", display_name.clone(), r.map(|()| Some(id.clone()))), Some(id.clone()))
        }
        _ => unreachable!("only group operations are passed"),
    }
}

async fn patch_members(client: &Client, id: &str, add: &[Value], remove: &[String]) -> Result<(), String> {
    let path = format!("Groups/{id}");
    let mut ops: Vec<Value> =
        add.chunks(MEMBER_CHUNK).map(|chunk| json!({"op": "add", "path": "members", "value": chunk})).collect();
    ops.extend(remove.iter().map(|m| json!({"op": "remove", "path": format!("members[value eq \"{m}\"]")})));
    for chunk in ops.chunks(MEMBER_CHUNK) {
        let body = json!({"schemas": [PATCH_OP], "Operations": chunk});
        client.send(Method::PATCH, &path, Some(&body)).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

async fn put_members(
    client: &Client,
    id: &str,
    add: &[String],
    remove: &[String],
    ids: &BTreeMap<String, String>,
    actual: &Actual,
) -> Result<(), String> {
    let group = actual.groups.iter().find(|g| g.id == id).ok_or("the group is gone")?;
    let mut members: BTreeSet<String> = group.members.clone();
    members.extend(add.iter().filter_map(|k| ids.get(k).cloned()));
    for r in remove {
        members.remove(r);
    }
    let mut body = json!({
        "schemas": [GROUP_SCHEMA],
        "displayName": group.display_name,
        "members": members.iter().map(|m| json!({"value": m})).collect::<Vec<_>>(),
    });
    if let Some(e) = &group.external_id {
        body["externalId"] = json!(e);
    }
    client.send(Method::PUT, &format!("Groups/{id}"), Some(&body)).await.map_err(|e| e.to_string())?;
    Ok(())
}
