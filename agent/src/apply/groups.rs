//! The group operations of an apply. A group's operations run in order (a rename, then its
//! members), groups side by side. Members go in batches of [`MEMBER_BATCH`] per request, so
//! that a group of 100,000 stays within any server's body limit; a new group is created with
//! its first batch. Against a server without PATCH, a group's changes become one PUT of the
//! whole group.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::stream::{self, StreamExt};
use indicatif::ProgressBar;
use reqwest::Method;
use serde_json::{json, Value};

use crate::client::{Client, ClientError};
use crate::plan::{Actual, ActualGroup, Op, Plan};
use crate::source::scim::{GROUP_SCHEMA, PATCH_OP};

use super::users::eq_filter;
use super::{item, ItemReport};

/// Members (or member removals) per request.
pub const MEMBER_BATCH: usize = 500;

/// The group operations of a plan: each new group alone, an existing group's operations
/// together, in plan order.
fn jobs(plan: &Plan) -> Vec<Vec<&Op>> {
    let mut jobs: Vec<Vec<&Op>> = Vec::new();
    let mut by_id: BTreeMap<&str, usize> = BTreeMap::new();
    for op in &plan.ops {
        match op {
            Op::CreateGroup { .. } => jobs.push(vec![op]),
            Op::RenameGroup { id, .. } | Op::Members { id, .. } => match by_id.get(id.as_str()) {
                Some(&i) => jobs[i].push(op),
                None => {
                    by_id.insert(id, jobs.len());
                    jobs.push(vec![op]);
                }
            },
            _ => {}
        }
    }
    jobs
}

/// Runs every group operation; answers each one's report item and the group id to manage.
pub(super) async fn apply(
    client: &Client,
    plan: &Plan,
    ids: &BTreeMap<String, String>,
    use_patch: bool,
    actual: &Actual,
    concurrency: usize,
    bar: &ProgressBar,
) -> Vec<(ItemReport, Option<String>)> {
    let results: Vec<Vec<(ItemReport, Option<String>)>> = stream::iter(jobs(plan))
        .map(|job| async move {
            let done = run(client, &job, ids, use_patch, actual).await;
            bar.inc(job.len() as u64);
            done
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    results.into_iter().flatten().collect()
}

fn member_values<'a>(ids: impl IntoIterator<Item = &'a String>) -> Vec<Value> {
    ids.into_iter().map(|id| json!({"value": id, "type": "User"})).collect()
}

async fn run(
    client: &Client,
    job: &[&Op],
    ids: &BTreeMap<String, String>,
    use_patch: bool,
    actual: &Actual,
) -> Vec<(ItemReport, Option<String>)> {
    let targets = |keys: &[String]| -> Vec<String> { keys.iter().filter_map(|k| ids.get(k).cloned()).collect() };
    if let [Op::CreateGroup { display_name, external_id, members }] = job {
        let r = create(client, display_name, external_id.as_deref(), &targets(members), use_patch).await;
        let id = r.as_ref().ok().cloned();
        return vec![(item("create group", display_name.clone(), r.map(Some).map_err(|e| e.to_string())), id)];
    }
    let Some(id) = job.iter().find_map(|op| match op {
        Op::RenameGroup { id, .. } | Op::Members { id, .. } => Some(id.clone()),
        _ => None,
    }) else {
        return Vec::new();
    };
    let label = |op: &Op| match op {
        Op::RenameGroup { from, to, .. } => ("rename group", format!("{from} → {to}")),
        Op::Members { display_name, .. } => ("members", display_name.clone()),
        _ => ("group", String::new()),
    };
    if !use_patch {
        // One PUT with the group as the operations leave it.
        let r = match actual.groups.iter().find(|g| g.id == id) {
            Some(group) => put(client, group, job, ids).await,
            None => Err("the group is not in the target".to_owned()),
        };
        return job
            .iter()
            .map(|op| {
                let (action, who) = label(op);
                (item(action, who, r.clone().map(|()| Some(id.clone()))), Some(id.clone()))
            })
            .collect();
    }
    let mut out = Vec::new();
    for op in job {
        let r = match op {
            Op::RenameGroup { to, .. } => {
                let body = json!({"schemas": [PATCH_OP],
                    "Operations": [{"op": "replace", "path": "displayName", "value": to}]});
                client
                    .send(Method::PATCH, &format!("Groups/{id}"), Some(&body))
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            }
            Op::Members { add, remove, .. } => patch_members(client, &id, &targets(add), remove).await,
            _ => Ok(()),
        };
        let (action, who) = label(op);
        out.push((item(action, who, r.map(|()| Some(id.clone()))), Some(id.clone())));
    }
    out
}

/// POSTs a group with its first batch of members and adds the rest. On 409 (it exists: a
/// retried POST whose answer was lost) takes the group of that name and adds the members.
async fn create(
    client: &Client,
    display_name: &str,
    external_id: Option<&str>,
    members: &[String],
    use_patch: bool,
) -> Result<String, ClientError> {
    let first = members.len().min(MEMBER_BATCH);
    let mut body = json!({"schemas": [GROUP_SCHEMA], "displayName": display_name,
        "members": member_values(&members[..first])});
    if let Some(e) = external_id {
        body["externalId"] = json!(e);
    }
    let (id, rest) = match client.send(Method::POST, "Groups", Some(&body)).await {
        Ok(reply) => {
            let id = reply.body.get("id").and_then(Value::as_str).map(str::to_owned);
            (id.ok_or_else(|| ClientError::Setup("the created group has no id".into()))?, &members[first..])
        }
        Err(e @ ClientError::Status { status: 409, .. }) => {
            let found = client
                .get(&format!("Groups?filter={}&excludedAttributes=members", eq_filter("displayName", display_name)))
                .await?;
            match found.pointer("/Resources/0/id").and_then(Value::as_str) {
                Some(id) => (id.to_owned(), members),
                None => return Err(e),
            }
        }
        Err(e) => return Err(e),
    };
    if !rest.is_empty() {
        if use_patch {
            patch_members(client, &id, rest, &[]).await.map_err(ClientError::Setup)?;
        } else {
            let group = client.get(&format!("Groups/{id}")).await?;
            let mut all: BTreeSet<String> = group
                .get("members")
                .and_then(Value::as_array)
                .map(|m| m.iter().filter_map(|m| m.get("value")?.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            all.extend(rest.iter().cloned());
            let mut body =
                json!({"schemas": [GROUP_SCHEMA], "displayName": display_name, "members": member_values(&all)});
            if let Some(e) = external_id {
                body["externalId"] = json!(e);
            }
            client.send(Method::PUT, &format!("Groups/{id}"), Some(&body)).await?;
        }
    }
    Ok(id)
}

/// Adds and removes members in batches (adds as one `add` of many values, removes as
/// `remove members[value eq "…"]`, the RFC 7644 §3.5.2.2 form every server takes).
async fn patch_members(client: &Client, id: &str, add: &[String], remove: &[String]) -> Result<(), String> {
    let path = format!("Groups/{id}");
    let mut bodies: Vec<Value> = add
        .chunks(MEMBER_BATCH)
        .map(|chunk| json!([{"op": "add", "path": "members", "value": member_values(chunk)}]))
        .collect();
    bodies.extend(remove.chunks(MEMBER_BATCH).map(|chunk| {
        Value::Array(
            chunk.iter().map(|m| json!({"op": "remove", "path": format!("members[value eq \"{m}\"]")})).collect(),
        )
    }));
    for ops in bodies {
        let body = json!({"schemas": [PATCH_OP], "Operations": ops});
        client.send(Method::PATCH, &path, Some(&body)).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Replaces the group with its state after `ops` (a rename, member changes).
async fn put(client: &Client, group: &ActualGroup, ops: &[&Op], ids: &BTreeMap<String, String>) -> Result<(), String> {
    let mut name = group.display_name.clone();
    let mut members = group.members.clone();
    for op in ops {
        match op {
            Op::RenameGroup { to, .. } => name.clone_from(to),
            Op::Members { add, remove, .. } => {
                members.extend(add.iter().filter_map(|k| ids.get(k).cloned()));
                for r in remove {
                    members.remove(r);
                }
            }
            _ => {}
        }
    }
    let mut body = json!({"schemas": [GROUP_SCHEMA], "displayName": name, "members": member_values(&members)});
    if let Some(e) = &group.external_id {
        body["externalId"] = json!(e);
    }
    client.send(Method::PUT, &format!("Groups/{}", group.id), Some(&body)).await.map(drop).map_err(|e| e.to_string())
}
