//! Seeding: the users and the large group the scenarios read and change. Uses `/Bulk` when
//! the server advertises it (1,000 users a request), single POSTs otherwise.

use futures_util::stream::{self, StreamExt};
use reqwest::{Client, Method};
use serde_json::{json, Value};

use super::{request, BenchConfig};

/// What the scenarios need to know about the seeded data.
#[derive(Debug, Clone)]
pub struct Seeded {
    /// A prefix unique to this run, so reruns against one server do not collide.
    pub run: String,
    pub user_ids: Vec<String>,
    /// A group holding `group_members` of the users.
    pub group_id: Option<String>,
    pub bulk_supported: bool,
    /// RFC 9865 cursors, as advertised in ServiceProviderConfig `pagination.cursor`.
    pub cursor_supported: bool,
}

pub fn user_name(run: &str, i: usize) -> String {
    format!("bench-{run}-{i}@example.com")
}

pub fn user_body(run: &str, i: usize) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name(run, i),
        "externalId": format!("ext-{run}-{i}"),
        "name": {"givenName": "Bench", "familyName": format!("User {i}")},
        "emails": [{"value": format!("mail-{run}-{i}@example.com"), "type": "work", "primary": true}],
        "active": true
    })
}

/// What ServiceProviderConfig advertises: (Bulk, cursors).
async fn supported(client: &Client, config: &BenchConfig) -> (bool, bool) {
    let spc = request(client, config, Method::GET, "/ServiceProviderConfig").send().await;
    let spc = match spc {
        Ok(r) => r.json::<Value>().await.unwrap_or_default(),
        Err(_) => Value::Null,
    };
    (spc["bulk"]["supported"].as_bool().unwrap_or(false), spc["pagination"]["cursor"].as_bool().unwrap_or(false))
}

/// Creates `config.users` users and one group; answers their ids.
pub async fn seed(client: &Client, config: &BenchConfig) -> Result<Seeded, String> {
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let (bulk, cursor_supported) = supported(client, config).await;
    let user_ids = if bulk {
        bulk_create(client, config, &run, config.users).await?
    } else {
        let results: Vec<Result<String, String>> = stream::iter(0..config.users)
            .map(|i| {
                let req = request(client, config, Method::POST, "/Users").json(&user_body(&run, i));
                async move {
                    let r = req.send().await.map_err(|e| e.to_string())?;
                    let v: Value = r.json().await.map_err(|e| e.to_string())?;
                    v["id"].as_str().map(str::to_owned).ok_or_else(|| format!("create answered {v}"))
                }
            })
            .buffered(config.concurrency.max(1))
            .collect()
            .await;
        results.into_iter().collect::<Result<_, _>>().map_err(|e| format!("seed: {e}"))?
    };
    let group_id =
        if config.group_members > 0 { Some(seed_group(client, config, &run, &user_ids).await?) } else { None };
    Ok(Seeded { run, user_ids, group_id, bulk_supported: bulk, cursor_supported })
}

/// Creates `count` users named `user_name(run, i)` through `/Bulk`, 1,000 a request, two
/// requests at a time; answers their ids in order.
pub async fn bulk_create(
    client: &Client,
    config: &BenchConfig,
    run: &str,
    count: usize,
) -> Result<Vec<String>, String> {
    let chunks: Vec<Result<Vec<String>, String>> = stream::iter((0..count).step_by(1000))
        .map(|chunk_start| {
            let end = (chunk_start + 1000).min(count);
            let ops: Vec<Value> = (chunk_start..end)
                .map(|i| json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"), "data": user_body(run, i)}))
                .collect();
            let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops});
            let req = request(client, config, Method::POST, "/Bulk").json(&body);
            async move {
                let answer: Value = req
                    .send()
                    .await
                    .map_err(|e| format!("bulk: {e}"))?
                    .json()
                    .await
                    .map_err(|e| format!("bulk answer: {e}"))?;
                let mut ids = Vec::with_capacity(end - chunk_start);
                for op in answer["Operations"].as_array().into_iter().flatten() {
                    let id = op["location"].as_str().and_then(|l| l.rsplit('/').next());
                    match (op["status"].as_str(), id) {
                        (Some("201"), Some(id)) => ids.push(id.to_owned()),
                        _ => return Err(format!("bulk create failed: {op}")),
                    }
                }
                Ok(ids)
            }
        })
        .buffered(2)
        .collect()
        .await;
    let mut ids = Vec::with_capacity(count);
    for chunk in chunks {
        ids.extend(chunk?);
    }
    Ok(ids)
}

/// One group whose members are the first `group_members` users, added 1,000 at a time.
async fn seed_group(client: &Client, config: &BenchConfig, run: &str, users: &[String]) -> Result<String, String> {
    let created: Value = request(client, config, Method::POST, "/Groups?excludedAttributes=members")
        .json(
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": format!("bench-{run}")}),
        )
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let id = created["id"].as_str().ok_or_else(|| format!("group create answered {created}"))?.to_owned();
    for chunk in users[..config.group_members.min(users.len())].chunks(1000) {
        let members: Vec<Value> = chunk.iter().map(|u| json!({"value": u})).collect();
        let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                           "Operations": [{"op": "add", "path": "members", "value": members}]});
        let r = request(client, config, Method::PATCH, &format!("/Groups/{id}?excludedAttributes=members"))
            .json(&patch)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !r.status().is_success() {
            return Err(format!("adding members answered {}", r.status()));
        }
    }
    Ok(id)
}
