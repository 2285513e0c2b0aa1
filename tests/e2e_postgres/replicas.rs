//! Two server replicas on one PostgreSQL database, driven at the same time over real HTTP:
//! what one process's memory or SQLite's single writer used to guarantee must now come from
//! the database's row locks.

use std::collections::BTreeSet;

use futures_util::future::join_all;
use rollcall_tests::{TestApp, TestServer};
use serde_json::{json, Value};

fn patch(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

struct Replicas {
    app: TestApp,
    servers: [TestServer; 2],
    http: reqwest::Client,
}

/// Two servers on this test's PostgreSQL database; `None` on SQLite (when PostgreSQL is
/// unreachable), whose separate processes would each need the single writer lock.
async fn replicas() -> Option<Replicas> {
    let app = TestApp::new().await;
    if !app.url.starts_with("postgres") {
        return None;
    }
    let first = app.serve().await;
    let second = TestServer::start(app.replica_store().await).await;
    Some(Replicas { app, servers: [first, second], http: reqwest::Client::new() })
}

impl Replicas {
    async fn send(
        &self,
        replica: usize,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        if_match: Option<&str>,
    ) -> (u16, Option<String>, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.servers[replica % 2].base_url))
            .bearer_auth(&self.app.token);
        if let Some(tag) = if_match {
            req = req.header("If-Match", tag);
        }
        if let Some(body) = body {
            req = req.header("Content-Type", "application/scim+json").body(body.to_string());
        }
        let response = req.send().await.expect("request");
        let status = response.status().as_u16();
        let etag = response.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = response.json().await.unwrap_or(Value::Null);
        (status, etag, body)
    }
}

#[tokio::test]
async fn concurrent_member_patches_through_two_replicas_lose_nothing() {
    let Some(r) = replicas().await else { return };
    let mut users = Vec::new();
    for i in 0..24 {
        users.push(r.app.user(&format!("member{i}")).await);
    }
    let group = r.app.group("Everyone", &[]).await;
    let path = format!("/Groups/{group}");

    // Every user added by its own PATCH, alternating replicas, all at once.
    let adds = users.iter().enumerate().map(|(i, user)| {
        let body = patch(json!([{"op": "add", "path": "members", "value": [{"value": user}]}]));
        r.send(i, reqwest::Method::PATCH, &path, Some(body), None)
    });
    let results = join_all(adds).await;
    let mut versions = BTreeSet::new();
    for (status, etag, body) in &results {
        assert_eq!(*status, 200, "{body:#}");
        assert_eq!(body["meta"]["version"].as_str(), etag.as_deref(), "the ETag is the body's version");
        versions.insert(etag.clone().expect("etag"));
    }
    // Each PATCH saw its own version: none overwrote another.
    assert_eq!(versions.len(), users.len(), "versions: {versions:?}");

    let (_, etag, body) = r.send(1, reqwest::Method::GET, &path, None, None).await;
    let members: BTreeSet<&str> =
        body["members"].as_array().expect("members").iter().map(|m| m["value"].as_str().unwrap()).collect();
    assert_eq!(members, users.iter().map(String::as_str).collect(), "every member is there");
    assert_eq!(etag.as_deref(), Some(format!("W/\"{}\"", users.len() + 1).as_str()));

    // Removals through both replicas at once leave exactly the others.
    let removes = users[..12].iter().enumerate().map(|(i, user)| {
        let body = patch(json!([{"op": "remove", "path": format!("members[value eq \"{user}\"]")}]));
        r.send(i, reqwest::Method::PATCH, &path, Some(body), None)
    });
    for (status, _, body) in join_all(removes).await {
        assert_eq!(status, 200, "{body:#}");
    }
    let (_, _, body) = r.send(0, reqwest::Method::GET, &path, None, None).await;
    let members: BTreeSet<&str> =
        body["members"].as_array().expect("members").iter().map(|m| m["value"].as_str().unwrap()).collect();
    assert_eq!(members, users[12..].iter().map(String::as_str).collect());
}

#[tokio::test]
async fn if_match_lets_exactly_one_of_two_racing_replicas_win() {
    let Some(r) = replicas().await else { return };
    let id = r.app.user("racer").await;
    let path = format!("/Users/{id}");
    for round in 0..5 {
        let (_, etag, _) = r.send(round, reqwest::Method::GET, &path, None, None).await;
        let etag = etag.expect("etag");
        let race = (0..2).map(|replica| {
            let body = patch(json!([{"op": "replace", "path": "title", "value": format!("r{round}-{replica}")}]));
            r.send(replica, reqwest::Method::PATCH, &path, Some(body), Some(&etag))
        });
        let mut statuses: Vec<u16> = join_all(race).await.iter().map(|(s, _, _)| *s).collect();
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 412], "round {round}");
    }
    let (_, etag, _) = r.send(0, reqwest::Method::GET, &path, None, None).await;
    assert_eq!(etag.as_deref(), Some("W/\"6\""));
}

/// Each replica keeps the tenant's roles in memory, keyed by the `roles_version` it reads
/// with the settings row every write locks: a role added or removed through one replica is
/// usable, or refused, through the other at once.
#[tokio::test]
async fn roles_changed_through_one_replica_are_seen_by_the_other_at_once() {
    use reqwest::Method;
    let Some(r) = replicas().await else { return };
    let user = |name: &str, role: &str| json!({"userName": name, "roles": [{"value": role, "primary": true}]});
    let admin = |replica: usize, method: Method, path: &str, body: Option<Value>| {
        let url = r.servers[replica].base_url.replace("/scim/v2", &format!("/admin/v1{path}"));
        let mut req = r.http.request(method, url).bearer_auth(&r.app.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        async move { req.send().await.expect("admin request").status().as_u16() }
    };
    // Replica 1 reads the roles, and keeps them.
    assert_eq!(r.send(1, Method::POST, "/Users", Some(user("ann", "member")), None).await.0, 201);
    assert_eq!(r.send(1, Method::POST, "/Users", Some(user("bob", "auditor")), None).await.0, 400);
    assert_eq!(admin(0, Method::PUT, "/roles", Some(json!({"name": "auditor"}))).await, 200);
    assert_eq!(admin(0, Method::PUT, "/roles", Some(json!({"name": "pilot"}))).await, 200);
    let (status, _, body) = r.send(1, Method::POST, "/Users", Some(user("bob", "auditor")), None).await;
    assert_eq!(status, 201, "a role added through replica 0 is usable through replica 1: {body:#}");
    assert_eq!(admin(0, Method::DELETE, "/roles/pilot", None).await, 200);
    let (status, _, body) = r.send(1, Method::POST, "/Users", Some(user("cyd", "pilot")), None).await;
    assert_eq!(status, 400, "a role removed through replica 0 is refused through replica 1: {body:#}");
}
