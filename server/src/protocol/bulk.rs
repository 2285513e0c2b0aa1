//! `/Bulk` (RFC 7644 §3.7): many operations in one request. Each operation runs through the
//! same handler a single request would (same authentication, validation and transaction), so
//! Bulk adds no second path into the store. `bulkId` references (`"bulkId:qwerty"` in a path
//! anywhere in `data`, or quoted inside a PATCH path's filter) are resolved to the ids created
//! earlier in the request; operations run in request order, except that one waiting on a
//! later operation's id runs after it, and a cycle of groups referring to each other is
//! broken by creating one without those members and adding them at the end.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures_util::future::join_all;
use poem::http::{Method, StatusCode};
use poem::{Request, Response};
use serde_json::{json, Map, Value};

use crate::domain::schema::ResourceType;
use crate::domain::tenant::Scope;

use super::discovery::RESOURCE_TYPES;
use super::error::ScimError;
use super::http::{base_url, json_body, scim_json, ParsedBody};
use super::render::{etag, location};
use super::{auth, bulk_line, resources, AppState};

pub const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
/// The most operations one request may carry (advertised in ServiceProviderConfig).
pub const MAX_OPERATIONS: usize = 1000;
/// The largest Bulk body accepted, in bytes (advertised in ServiceProviderConfig).
pub const MAX_PAYLOAD_BYTES: usize = 16 * 1024 * 1024;

const BULK_PREFIX: &str = "bulkId:";

/// One operation of the request, as sent.
struct Operation {
    method: Method,
    bulk_id: Option<String>,
    path: String,
    data: Option<Value>,
    version: Option<String>,
}

pub async fn bulk(state: Arc<AppState>, mut req: Request) -> Result<Response, ScimError> {
    auth::authenticate(&state.store, &state.tokens, &req, Scope::ScimWrite).await?;
    // Bulk requests wait their turn: they are writer-bound anyway, and each holds its parsed
    // body and answers in memory (up to maxPayloadSize) while it runs.
    let _turn = state
        .bulk_slots
        .acquire()
        .await
        .map_err(|_| ScimError::new(StatusCode::SERVICE_UNAVAILABLE, None, "shutting down"))?;
    let (mut operations, fail_on_errors) = parse(json_body(&mut req, MAX_PAYLOAD_BYTES).await?)?;

    let mut created: HashMap<String, String> = HashMap::new();
    let mut results: Vec<Option<Value>> = vec![None; operations.len()];
    let mut pending: Vec<usize> = (0..operations.len()).collect();
    // Groups created without the members that referred to a group not yet created (a
    // circular reference): those members are added once everything else ran.
    let mut deferred: Vec<(usize, Vec<Value>)> = Vec::new();
    let mut errors = 0usize;
    'passes: while !pending.is_empty() {
        let before = pending.len();
        let mut waiting = Vec::new();
        let mut at = 0;
        while at < pending.len() {
            let ready = |i: usize| references(&operations[i]).iter().all(|r| created.contains_key(r));
            if !ready(pending[at]) {
                waiting.push(pending[at]);
                at += 1;
                continue;
            }
            // A run of ready creates goes to the store together, in order, so that the
            // writer's commits cover many of them. With failOnErrors, one at a time: the
            // count of errors decides whether the next one runs.
            let mut end = at + 1;
            if fail_on_errors.is_none() {
                while end < pending.len()
                    && end - at < CREATES_TOGETHER
                    && operations[pending[end]].method == Method::POST
                    && operations[pending[at]].method == Method::POST
                    && ready(pending[end])
                {
                    end += 1;
                }
            }
            let batch = &pending[at..end];
            // Each operation runs once: its document moves to its run, which keeps it only
            // until it is normalized, rather than a copy beside it for the whole request.
            let data: Vec<Option<Value>> = batch.iter().map(|&i| operations[i].data.take()).collect();
            // The batch's creates line up for the writer once all are prepared (`bulk_line`).
            let tickets = bulk_line::tickets(batch.len(), &state.bulk_writers);
            let runs = batch
                .iter()
                .zip(data)
                .zip(tickets)
                .map(|((&i, data), t)| run(&state, &req, &operations[i], data, &created, Some(t)));
            let outcomes = join_all(runs).await;
            for (&index, result) in batch.iter().zip(outcomes) {
                if let (Some(bulk_id), Some(id)) = (&operations[index].bulk_id, result.created_id.clone()) {
                    created.insert(bulk_id.clone(), id);
                }
                if !result.ok {
                    errors += 1;
                }
                results[index] = Some(result.entry);
            }
            if fail_on_errors.is_some_and(|limit| errors >= limit) {
                break 'passes;
            }
            at = end;
        }
        pending = waiting;
        if pending.len() < before {
            continue;
        }
        // No progress: what is left waits on ids not created yet. RFC 7644 §3.7.1 asks us to
        // try to resolve circular references: create one group of the cycle without its
        // pending members, and add them at the end.
        if let Some(at) = pending.iter().position(|&i| breaks_cycle(&operations, i, &pending, &created)) {
            let index = pending.remove(at);
            let (mut op, members) = without_pending_members(&operations[index], &created);
            let data = op.data.take();
            let result = run(&state, &req, &op, data, &created, None).await;
            if let (Some(bulk_id), Some(id)) = (&op.bulk_id, result.created_id.clone()) {
                created.insert(bulk_id.clone(), id.clone());
                deferred.push((index, members));
            } else {
                errors += 1;
            }
            results[index] = Some(result.entry);
            if fail_on_errors.is_some_and(|limit| errors >= limit) {
                break 'passes;
            }
            continue;
        }
        // What is left waits on ids that no operation created.
        for index in pending.drain(..) {
            let op = &operations[index];
            let error = ScimError::new(
                StatusCode::CONFLICT,
                Some("invalidValue"),
                "the operation refers to a bulkId that no successful operation of this request created",
            );
            results[index] = Some(entry(op, error.status, None, None, Some(error.body())));
        }
    }
    for (index, members) in deferred {
        let op = &operations[index];
        let Some(id) = op.bulk_id.as_ref().and_then(|b| created.get(b)) else { continue };
        let add = Operation {
            method: Method::PATCH,
            bulk_id: None,
            path: format!("/Groups/{id}"),
            data: None,
            version: None,
        };
        let data = json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": members}]});
        let result = run(&state, &req, &add, Some(data), &created, None).await;
        if let Some(Some(entry)) = results.get_mut(index) {
            if result.ok {
                // The group as it now is: its final version.
                entry["version"] = result.entry["version"].clone();
            } else {
                entry["status"] = result.entry["status"].clone();
                entry["response"] = result.entry["response"].clone();
            }
        }
    }
    let body = json!({
        "schemas": [BULK_RESPONSE],
        "Operations": results.into_iter().flatten().collect::<Vec<_>>(),
    });
    Ok(scim_json(StatusCode::OK, &body))
}

/// The most creates of one request handed to the writer together: all of them. They are
/// prepared together, then written as one batch while the other Bulk request is read and
/// prepared (see `bulk_line`); what they hold beside the request's body, already in memory,
/// is their normalized documents.
const CREATES_TOGETHER: usize = MAX_OPERATIONS;

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Whether operation `index` is a group creation whose every missing reference is a
/// member created by another pending operation: creating it first breaks the cycle.
fn breaks_cycle(operations: &[Operation], index: usize, pending: &[usize], created: &HashMap<String, String>) -> bool {
    let op = &operations[index];
    if op.method != Method::POST || route(&op.path).map(|(rt, _)| rt) != Some(ResourceType::Group) {
        return false;
    }
    let pending_ids: HashSet<&str> = pending.iter().filter_map(|&i| operations[i].bulk_id.as_deref()).collect();
    let (stripped, _) = without_pending_members(op, created);
    references(&stripped).iter().all(|r| created.contains_key(r))
        && references(op).iter().all(|r| created.contains_key(r) || pending_ids.contains(r.as_str()))
}

/// The operation without the members that refer to bulkIds not created yet, and those members.
fn without_pending_members(op: &Operation, created: &HashMap<String, String>) -> (Operation, Vec<Value>) {
    let mut data = op.data.clone();
    let mut removed = Vec::new();
    if let Some(Value::Object(map)) = data.as_mut() {
        if let Some((_, Value::Array(members))) = map.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case("members")) {
            members.retain(|m| {
                let mut refs = Vec::new();
                find_references(m, &mut refs);
                let ready = refs.iter().all(|r| created.contains_key(r));
                if !ready {
                    removed.push(m.clone());
                }
                ready
            });
        }
    }
    let op = Operation {
        method: op.method.clone(),
        bulk_id: op.bulk_id.clone(),
        path: op.path.clone(),
        data,
        version: op.version.clone(),
    };
    (op, removed)
}

/// Reads the request, taking the operations' data out of it rather than copying them.
fn parse(body: Value) -> Result<(Vec<Operation>, Option<usize>), ScimError> {
    let invalid = |detail: String| ScimError::bad_request("invalidSyntax", detail);
    let Value::Object(mut map) = body else { return Err(invalid("a bulk request must be a JSON object".into())) };
    let Some(Value::Array(items)) = field(&mut map, "Operations") else {
        return Err(invalid("a bulk request needs an `Operations` array".into()));
    };
    if items.len() > MAX_OPERATIONS {
        return Err(ScimError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            format!("a bulk request may carry at most {MAX_OPERATIONS} operations"),
        ));
    }
    let fail_on_errors = match field(&mut map, "failOnErrors") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) if n > 0 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            _ => return Err(ScimError::bad_request("invalidValue", "failOnErrors must be a positive integer")),
        },
    };
    let mut operations = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let n = i + 1;
        let Value::Object(mut op) = item else { return Err(invalid(format!("operation {n} is not an object"))) };
        let mut text = |key: &str| field(&mut op, key).and_then(|v| v.as_str().map(str::to_owned));
        let method = match text("method").map(|m| m.to_ascii_uppercase()).as_deref() {
            Some("POST") => Method::POST,
            Some("PUT") => Method::PUT,
            Some("PATCH") => Method::PATCH,
            Some("DELETE") => Method::DELETE,
            _ => return Err(invalid(format!("operation {n}: method must be POST, PUT, PATCH or DELETE"))),
        };
        let path = text("path").ok_or_else(|| invalid(format!("operation {n} has no path")))?;
        let bulk_id = text("bulkId");
        if method == Method::POST && bulk_id.is_none() {
            return Err(ScimError::bad_request("invalidValue", format!("operation {n}: a POST needs a bulkId")));
        }
        let version = text("version");
        operations.push(Operation { method, bulk_id, path, data: field(&mut op, "data"), version });
    }
    let mut seen = HashSet::new();
    if let Some(dup) = operations.iter().filter_map(|o| o.bulk_id.as_deref()).find(|id| !seen.insert(*id)) {
        return Err(ScimError::bad_request("invalidValue", format!("bulkId `{dup}` is used twice")));
    }
    Ok((operations, fail_on_errors))
}

/// Takes the member `key` (matched without regard to case, as SCIM attribute names are) out of
/// `map`.
fn field(map: &mut Map<String, Value>, key: &str) -> Option<Value> {
    let found = map.keys().find(|k| k.eq_ignore_ascii_case(key))?.clone();
    map.swap_remove(&found)
}

/// The bulkIds an operation refers to, in its path and anywhere in its data.
fn references(op: &Operation) -> Vec<String> {
    let mut out = Vec::new();
    for segment in op.path.split('/') {
        if let Some(id) = segment.strip_prefix(BULK_PREFIX) {
            out.push(id.to_owned());
        }
    }
    if let Some(data) = &op.data {
        find_references(data, &mut out);
    }
    out
}

/// `"bulkId:x"` as a whole string value, or quoted inside one (a PATCH path's filter, as in
/// `members[value eq "bulkId:x"]`).
fn find_references(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix(BULK_PREFIX) {
                out.push(id.to_owned());
                return;
            }
            let mut rest = s.as_str();
            while let Some(at) = rest.find(QUOTED_PREFIX) {
                let tail = &rest[at + QUOTED_PREFIX.len()..];
                let Some(end) = tail.find('"') else { break };
                out.push(tail[..end].to_owned());
                rest = &tail[end + 1..];
            }
        }
        Value::Array(items) => items.iter().for_each(|i| find_references(i, out)),
        Value::Object(map) => map.values().for_each(|i| find_references(i, out)),
        _ => {}
    }
}

const QUOTED_PREFIX: &str = "\"bulkId:";

/// Replaces, in place, each `bulkId:` reference (a whole string, or quoted inside a PATCH path's
/// filter) by the id its operation created; unknown ones stay as written.
fn resolve(v: &mut Value, created: &HashMap<String, String>) {
    match v {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix(BULK_PREFIX) {
                if let Some(found) = created.get(id) {
                    *s = found.clone();
                }
                return;
            }
            if !s.contains(QUOTED_PREFIX) {
                return;
            }
            let mut out = String::with_capacity(s.len());
            let mut rest = s.as_str();
            while let Some(at) = rest.find(QUOTED_PREFIX) {
                let tail = &rest[at + QUOTED_PREFIX.len()..];
                let Some(end) = tail.find('"') else { break };
                out.push_str(&rest[..at]);
                match created.get(&tail[..end]) {
                    Some(id) => out.push_str(&format!("\"{id}\"")),
                    None => out.push_str(&rest[at..at + QUOTED_PREFIX.len() + end + 1]),
                }
                rest = &tail[end + 1..];
            }
            out.push_str(rest);
            *s = out;
        }
        Value::Array(items) => items.iter_mut().for_each(|i| resolve(i, created)),
        Value::Object(map) => map.values_mut().for_each(|i| resolve(i, created)),
        _ => {}
    }
}

struct Outcome {
    ok: bool,
    created_id: Option<String>,
    entry: Value,
}

/// Runs one operation through the single-resource handler it names, with its document
/// (`data`, taken out of `op`) once its bulkId references are resolved.
async fn run(
    state: &Arc<AppState>,
    outer: &Request,
    op: &Operation,
    data: Option<Value>,
    created: &HashMap<String, String>,
    ticket: Option<bulk_line::Ticket>,
) -> Outcome {
    let path: String = op
        .path
        .split('/')
        .map(|segment| match segment.strip_prefix(BULK_PREFIX).and_then(|id| created.get(id)) {
            Some(id) => id.clone(),
            None => segment.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/");
    let target = route(&path);
    let mut builder = Request::builder().method(op.method.clone()).uri_str(&path);
    for name in ["authorization", "host", "x-forwarded-proto", "x-forwarded-host"] {
        if let Some(value) = outer.headers().get(name) {
            builder = builder.header(name, value.clone());
        }
    }
    if let Some(version) = &op.version {
        builder = builder.header("If-Match", version.as_str());
    }
    let mut req = builder.content_type("application/scim+json").finish();
    if let Some(mut data) = data {
        resolve(&mut data, created);
        req.extensions_mut().insert(ParsedBody(data));
    }
    // The resource itself is not part of a Bulk answer: run the work, skip the rendering, and
    // read no group members back.
    let written = match (target, &op.method) {
        (Some((rt, None)), &Method::POST) => {
            resources::create_resource(state, &mut req, rt, ticket).await.map(|r| (rt, Some(r)))
        }
        // Only creates run a thousand at a time, each holding this future while it waits for
        // the writer; the other operations run one at a time, and are boxed so that they do
        // not size every create's future by their own (4.6 KB, against about 1 KB).
        (Some((rt, Some(id))), &Method::PUT) => {
            Box::pin(resources::replace_resource(state, &mut req, rt, &id, false)).await.map(|r| (rt, Some(r)))
        }
        (Some((rt, Some(id))), &Method::PATCH) => {
            Box::pin(resources::patch_resource(state, &mut req, rt, &id, false)).await.map(|r| (rt, Some(r)))
        }
        (Some((rt, Some(id))), &Method::DELETE) => {
            Box::pin(resources::delete(state.clone(), req, rt, id)).await.map(|_| (rt, None))
        }
        _ => Err(ScimError::bad_request(
            "invalidPath",
            format!("{} {} is not an operation Bulk can carry", op.method, op.path),
        )),
    };
    let base = base_url(outer, state.public_url.as_deref());
    match written {
        Ok((rt, Some(resource))) => {
            let status = if op.method == Method::POST { StatusCode::CREATED } else { StatusCode::OK };
            let created_id = (op.method == Method::POST).then(|| resource.id.clone());
            let location = Some(location(&base, rt, &resource.id));
            let version = Some(etag(resource.meta.version));
            Outcome { ok: true, created_id, entry: entry(op, status, version, location, None) }
        }
        Ok((_, None)) => {
            let location = Some(format!("{base}/{}", path.trim_start_matches('/')));
            Outcome { ok: true, created_id: None, entry: entry(op, StatusCode::NO_CONTENT, None, location, None) }
        }
        Err(error) => {
            Outcome { ok: false, created_id: None, entry: entry(op, error.status, None, None, Some(error.body())) }
        }
    }
}

/// `/Users`, `/Users/{id}`, `/Groups`, `/Groups/{id}`.
fn route(path: &str) -> Option<(ResourceType, Option<String>)> {
    let trimmed = path.trim_matches('/');
    let (kind, id) = match trimmed.split_once('/') {
        Some((kind, id)) if !id.is_empty() && !id.contains('/') => (kind, Some(id.to_owned())),
        Some(_) => return None,
        None => (trimmed, None),
    };
    RESOURCE_TYPES.into_iter().find(|rt| rt.endpoint().trim_start_matches('/') == kind).map(|rt| (rt, id))
}

fn entry(
    op: &Operation,
    status: StatusCode,
    version: Option<String>,
    location: Option<String>,
    response: Option<Value>,
) -> Value {
    let mut e = json!({"method": op.method.as_str(), "status": status.as_u16().to_string()});
    if let Some(b) = &op.bulk_id {
        e["bulkId"] = json!(b);
    }
    if let Some(v) = version {
        e["version"] = json!(v);
    }
    if let Some(l) = location {
        e["location"] = json!(l);
    }
    if let Some(r) = response {
        e["response"] = r;
    }
    e
}
