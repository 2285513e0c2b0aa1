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

async fn bulk_supported(client: &Client, config: &BenchConfig) -> bool {
    let spc = request(client, config, Method::GET, "/ServiceProviderConfig").send().await;
    match spc {
        Ok(r) => r.json::<Value>().await.ok().and_then(|v| v["bulk"]["supported"].as_bool()).unwrap_or(false),
        Err(_) => false,
    }
}

/// Creates `config.users` users and one group; answers their ids.
pub async fn seed(client: &Client, config: &BenchConfig) -> Result<Seeded, String> {
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let bulk = bulk_supported(client, config).await;
    let mut user_ids = Vec::with_capacity(config.users);
    if bulk {
        for chunk_start in (0..config.users).step_by(1000) {
            let end = (chunk_start + 1000).min(config.users);
            let ops: Vec<Value> = (chunk_start..end)
                .map(|i| json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"), "data": user_body(&run, i)}))
                .collect();
            let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops});
            let answer: Value = request(client, config, Method::POST, "/Bulk")
                .json(&body)
                .send()
                .await
                .map_err(|e| format!("bulk seed: {e}"))?
                .json()
                .await
                .map_err(|e| format!("bulk seed answer: {e}"))?;
            for op in answer["Operations"].as_array().into_iter().flatten() {
                let id = op["location"].as_str().and_then(|l| l.rsplit('/').next());
                match (op["status"].as_str(), id) {
                    (Some("201"), Some(id)) => user_ids.push(id.to_owned()),
                    _ => return Err(format!("bulk seed failed: {op}")),
                }
            }
        }
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
        user_ids = results.into_iter().collect::<Result<_, _>>().map_err(|e| format!("seed: {e}"))?;
    }
    let group_id =
        if config.group_members > 0 { Some(seed_group(client, config, &run, &user_ids).await?) } else { None };
    Ok(Seeded { run, user_ids, group_id, bulk_supported: bulk })
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
