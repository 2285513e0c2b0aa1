//! JSON sources against the real server: an identity provider's export is read, synced and
//! re-synced to nothing, and what a script reads from `--json` is pinned by a snapshot.

use rollcall_tests::TestApp;
use scim_agent::cli::Command;
use scim_agent::Exit;
use serde_json::{json, Value};

use super::{all, args, env, run};

/// A Microsoft Graph `GET /users?$expand=manager,memberOf` export of `n` people.
fn graph_export(n: usize) -> Value {
    let users: Vec<Value> = (0..n)
        .map(|i| {
            let dept = ["Sales", "Ops"][i % 2];
            let mut u = json!({
                "id": format!("00000000-0000-0000-0000-{i:012}"),
                "userPrincipalName": format!("user{i}@contoso.com"),
                "givenName": format!("Given{i}"), "surname": "Graph", "displayName": format!("User {i}"),
                "mail": format!("user{i}@contoso.com"), "department": dept,
                "accountEnabled": i % 50 != 7,
                "memberOf": [{"@odata.type": "#microsoft.graph.group", "displayName": dept}],
            });
            if i >= 10 {
                u["manager"] = json!({"id": format!("00000000-0000-0000-0000-{:012}", i % 10)});
            }
            u
        })
        .collect();
    json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users", "value": users})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entra_export_syncs_and_resyncs_to_nothing() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.json");
    std::fs::write(&path, graph_export(300).to_string()).unwrap();
    let source = format!("json:{}", path.display());
    let (outcome, text) = run(Command::Apply(args(dir.path(), &source, &server.base_url)), &env(&app.token)).await;
    assert_eq!(outcome.exit, Exit::Done, "{text}");
    let users = all(&app, "Users").await;
    assert_eq!(users.len(), 300);
    let u42 = users.iter().find(|u| u["userName"] == "user42@contoso.com").unwrap();
    let u2 = users.iter().find(|u| u["userName"] == "user2@contoso.com").unwrap();
    assert_eq!(u42["externalId"], "00000000-0000-0000-0000-000000000042");
    assert_eq!(u42["name"]["familyName"], "Graph");
    assert_eq!(u42["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]["value"], u2["id"]);
    assert_eq!(users.iter().filter(|u| u["active"] == false).count(), 6);
    let groups = all(&app, "Groups").await;
    assert_eq!(groups.len(), 2);

    let (outcome, text) = run(Command::Plan(args(dir.path(), &source, &server.base_url)), &env(&app.token)).await;
    assert!(outcome.plan.unwrap().is_empty(), "{text}");
}

/// Ids, times and temporary paths change from run to run; the shape must not.
fn redact(mut doc: Value, dir: &str) -> Value {
    for key in ["startedAt", "finishedAt", "target", "source", "targetKind"] {
        if doc.get(key).is_some() {
            doc[key] = json!(format!("[{key}]"));
        }
    }
    let text = doc.to_string().replace(dir, "[dir]");
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    if let Some(items) = doc.pointer_mut("/report/items").and_then(Value::as_array_mut) {
        items.sort_by_key(|i| format!("{}{}", i["action"], i["who"]));
        for i in items.iter_mut().filter(|i| i.get("id").is_some()) {
            i["id"] = json!("[id]");
        }
    }
    doc
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_documents_scripts_read() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let path = dir.path().join("okta.json");
    let export = json!([
        {"id": "00u1", "status": "ACTIVE", "profile": {"login": "ann@example.com", "firstName": "Ann",
            "lastName": "Lee", "email": "ann@example.com", "department": "Sales", "userType": "Employee"}},
        {"id": "00u2", "status": "ACTIVE", "profile": {"login": "bob@example.com", "firstName": "Bob",
            "managerId": "00u1", "userType": "Contractor"}},
        {"id": "00u3", "status": "SUSPENDED", "profile": {"login": "cy@example.com"}},
        {"id": "00u4", "status": "ACTIVE", "profile": {"login": "ANN@example.com"}}
    ]);
    std::fs::write(&path, export.to_string()).unwrap();
    let source = format!("json:{}", path.display());
    let mut a = args(dir.path(), &source, &server.base_url);
    a.json = Some(dir.path().join("out.json"));
    let read = || serde_json::from_slice::<Value>(&std::fs::read(dir.path().join("out.json")).unwrap()).unwrap();

    // Bad records refuse the file, and the JSON says which.
    let (outcome, _) = run(Command::Plan(a.clone()), &env(&app.token)).await;
    assert_eq!(outcome.exit, Exit::Refused);
    insta::assert_json_snapshot!("agent_refused_bad_rows", redact(read(), &d));

    a.skip_bad_rows = true;
    let (outcome, _) = run(Command::Plan(a.clone()), &env(&app.token)).await;
    assert_eq!(outcome.exit, Exit::Done);
    insta::assert_json_snapshot!("agent_plan", redact(read(), &d));

    let (outcome, text) = run(Command::Apply(a), &env(&app.token)).await;
    assert_eq!(outcome.exit, Exit::Done, "{text}");
    insta::assert_json_snapshot!("agent_apply_report", redact(read(), &d));
}
