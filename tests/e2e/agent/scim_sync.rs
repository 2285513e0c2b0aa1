//! SCIM → SCIM: the default tenant is the source, another tenant of the same server the
//! target. People keep their keys, managers and groups follow, and a group rename in the
//! source is a rename in the target; once with PATCH (the server supports it), once with
//! PUT only, as against a server without PATCH.

use rollcall_tests::TestApp;
use scim_agent::cli::{Command, Env};
use scim_agent::Exit;
use serde_json::json;

use super::{args, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_to_scim_between_two_tenants() {
    sync_two_tenants("auto").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_to_scim_with_put_only() {
    sync_two_tenants("put").await;
}

async fn sync_two_tenants(update_method: &str) {
    let with = |mut a: scim_agent::cli::RunArgs| {
        a.update_method = Some(update_method.to_owned());
        a
    };
    let app = TestApp::new().await;
    let server = app.serve().await;
    let other = app.tenant("other").await;
    let dir = tempfile::tempdir().unwrap();

    let boss = app.user("boss@example.com").await;
    let mut members = vec![boss.clone()];
    for i in 0..20 {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "userName": format!("w{i}@example.com"),
            "externalId": format!("W{i}"),
            "name": {"givenName": "W", "familyName": format!("{i}")},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": boss}},
        });
        members.push(app.post("/Users", body).await.expect(201).body["id"].as_str().unwrap().to_owned());
    }
    let member_refs: Vec<&str> = members.iter().map(String::as_str).collect();
    let group = app.group("Field team", &member_refs).await;

    let source = format!("scim:{}", server.base_url);
    let env = Env { target_token: Some(other.clone()), source_token: Some(app.token.clone()) };
    let (outcome, text) = run(Command::Apply(with(args(dir.path(), &source, &server.base_url))), &env).await;
    assert_eq!(outcome.exit, Exit::Done, "{text}");
    assert_eq!(outcome.report.unwrap().succeeded, 22, "{text}");

    let call = |path: String| {
        let other = other.clone();
        let app = &app;
        async move { app.send(poem::http::Method::GET, &path, None, Some(&other), &[]).await.expect(200).body }
    };
    let users = call("/Users?count=100".into()).await;
    assert_eq!(users["totalResults"], 21);
    let resources = users["Resources"].as_array().unwrap();
    let target_boss = resources.iter().find(|u| u["userName"] == "boss@example.com").unwrap();
    // The boss had no externalId in the source: keyed by its source id.
    assert_eq!(target_boss["externalId"], boss.as_str());
    let w3 = resources.iter().find(|u| u["userName"] == "w3@example.com").unwrap();
    assert_eq!(w3["externalId"], "W3");
    assert_eq!(w3["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]["value"], target_boss["id"]);
    let groups = call("/Groups".into()).await;
    assert_eq!(groups["Resources"][0]["displayName"], "Field team");
    assert_eq!(groups["Resources"][0]["externalId"], group.as_str());
    assert_eq!(groups["Resources"][0]["members"].as_array().unwrap().len(), 21);

    // The source renames the group and drops one member: a rename and a removal.
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "replace", "path": "displayName", "value": "Field crew"},
        {"op": "remove", "path": format!("members[value eq \"{}\"]", members[5])},
    ]});
    app.patch(&format!("/Groups/{group}"), patch).await.expect(200);
    let (outcome, text) = run(Command::Apply(with(args(dir.path(), &source, &server.base_url))), &env).await;
    assert_eq!(outcome.exit, Exit::Done, "{text}");
    let c = outcome.plan.unwrap().counts();
    assert_eq!((c.group_rename, c.member_remove, c.group_create), (1, 1, 0), "{text}");
    let groups = call("/Groups".into()).await;
    assert_eq!(groups["totalResults"], 1);
    assert_eq!(groups["Resources"][0]["displayName"], "Field crew");
    assert_eq!(groups["Resources"][0]["members"].as_array().unwrap().len(), 20);

    // A person changes in the source: an update of only what changed (PATCH or PUT).
    let w7 = &members[8];
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "replace", "path": "name.familyName", "value": "Seven"},
        {"op": "replace", "path": "active", "value": false},
    ]});
    app.patch(&format!("/Users/{w7}"), patch).await.expect(200);
    let (outcome, text) = run(Command::Apply(with(args(dir.path(), &source, &server.base_url))), &env).await;
    assert_eq!(outcome.exit, Exit::Done, "{text}");
    let c = outcome.plan.unwrap().counts();
    assert_eq!((c.update, c.deactivate), (0, 1), "{text}");
    let users = call("/Users?filter=externalId%20eq%20%22W7%22".into()).await;
    let w7 = &users["Resources"][0];
    assert_eq!(w7["name"]["familyName"], "Seven");
    assert_eq!(w7["name"]["givenName"], "W", "PUT keeps what did not change");
    assert_eq!(w7["active"], false);
    assert_eq!(w7["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]["value"], target_boss["id"]);

    let (outcome, text) = run(Command::Plan(with(args(dir.path(), &source, &server.base_url))), &env).await;
    assert!(outcome.plan.unwrap().is_empty(), "{text}");
}
