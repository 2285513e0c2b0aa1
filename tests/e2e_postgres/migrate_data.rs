//! `scim-server migrate-data`: a SQLite deployment copied into PostgreSQL serves the same
//! answers to the same tokens, and a copy that cannot complete leaves the target untouched.

use rollcall_tests::postgres::TestDatabase;
use rollcall_tests::TestApp;
use scim_server::storage::transfer;
use serde_json::{json, Value};

/// Everything a client can list, as it sees it.
async fn listing(app: &TestApp) -> Vec<Value> {
    let mut seen = Vec::new();
    for path in ["/Users?sortBy=userName", "/Groups?sortBy=displayName"] {
        seen.push(app.get(path).await.expect(200).body);
    }
    seen
}

#[tokio::test]
async fn a_sqlite_deployment_moves_to_postgres_whole() {
    let Some(db) = TestDatabase::create().await else { return };
    let source = TestApp::sqlite().await;
    let ann = source.user("ann").await;
    let bob = source.user("bob").await;
    source
        .post(
            "/Users",
            json!({"userName": "Cé Ünicode", "externalId": "ext-3", "active": "False",
                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": ann}}}),
        )
        .await
        .expect(201);
    source.group("Sales", &[&ann, &bob]).await;
    let gone = source.user("gone").await;
    source.delete(&format!("/Users/{gone}")).await.expect(204);
    let other_token = source.tenant("acme").await;
    source
        .send(poem::http::Method::POST, "/Users", Some(json!({"userName": "acme-only"})), Some(&other_token), &[])
        .await
        .expect(201);
    let before = listing(&source).await;

    let report = transfer::sqlite_to_postgres(&source.url, &db.url).await.expect("copy");
    let counts: std::collections::BTreeMap<_, _> = report.tables.iter().cloned().collect();
    assert_eq!(counts["tenants"], 2);
    assert_eq!(counts["users"], 5, "the archived person moves too");
    assert_eq!(counts["group_members"], 2);
    let order: Vec<&str> = report.tables.iter().map(|(t, _)| t.as_str()).collect();
    let at = |t: &str| order.iter().position(|o| *o == t).expect("copied");
    assert!(at("tenants") < at("users") && at("groups") < at("group_members"), "parents first: {order:?}");

    // The same token now reads the same answers from PostgreSQL.
    let target = TestApp::attach(&db.url, &source.token).await;
    assert_eq!(listing(&target).await, before);
    let found = target.get("/Users?filter=emails.value+eq+%22BOB@example.com%22").await.expect(200);
    assert_eq!(found.body["Resources"][0]["id"], bob.as_str());
    target.get(&format!("/Users/{gone}")).await.expect(404);
    let acme = target.send(poem::http::Method::GET, "/Users", None, Some(&other_token), &[]).await.expect(200);
    assert_eq!(acme.body["totalResults"], 1, "the other tenant and its token came along, still apart");
    // Writes carry on where SQLite left off: uniqueness holds, versions continue.
    target.post("/Users", json!({"userName": "ANN"})).await.expect(409);
    let renamed = target
        .patch(
            &format!("/Users/{ann}"),
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "displayName", "value": "Ann"}]
            }),
        )
        .await
        .expect(200);
    assert_eq!(renamed.body["meta"]["version"], "W/\"2\"");

    // A second copy into a database that now holds data is refused and changes nothing.
    let again = transfer::sqlite_to_postgres(&source.url, &db.url).await.expect_err("target not empty");
    assert!(again.to_string().contains("already holds data"), "{again}");
    assert_eq!(target.get("/Users").await.expect(200).body["totalResults"], 3);
}

#[tokio::test]
async fn only_sqlite_to_postgres_is_offered() {
    let source = TestApp::sqlite().await;
    let refused = transfer::sqlite_to_postgres(&source.url, &source.url).await.expect_err("same kind");
    assert!(refused.to_string().contains("--from sqlite://PATH --to postgres://"), "{refused}");
}
