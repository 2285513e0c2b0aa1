//! PATCH over HTTP: every form, the identity providers' dialects, and atomicity.

use rollcall_tests::TestApp;
use serde_json::{json, Value};

fn ops(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

#[tokio::test]
async fn entra_style_patches() {
    let app = TestApp::new().await;
    let id = app.user("entra").await;
    let path = format!("/Users/{id}");
    let r = app
        .patch(
            &path,
            ops(json!([
                {"op": "Replace", "value": {"active": "False", "name.givenName": "Ann", "displayName": "Ann B"}},
                {"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": "mgr-1"},
                {"op": "replace", "path": "emails[type eq \"home\"].value", "value": "ann@home.example"},
                {"op": "replace", "path": "addresses[type eq \"work\"].locality", "value": "Oslo"}
            ])),
        )
        .await
        .expect(200);
    let b = &r.body;
    assert_eq!(b["active"], false);
    assert_eq!(b["name"]["givenName"], "Ann");
    assert_eq!(b["name"]["familyName"], "Family");
    assert_eq!(b["displayName"], "Ann B");
    assert_eq!(b[ENTERPRISE]["manager"]["value"], "mgr-1");
    let emails = b["emails"].as_array().unwrap();
    assert!(emails.iter().any(|e| e["type"] == "home" && e["value"] == "ann@home.example"));
    assert!(emails.iter().any(|e| e["type"] == "work"));
    assert_eq!(b["addresses"][0]["locality"], "Oslo");
    assert_eq!(b["addresses"][0]["type"], "work");
}

#[tokio::test]
async fn okta_style_patches() {
    let app = TestApp::new().await;
    let id = app.user("okta").await;
    let r = app
        .patch(&format!("/Users/{id}"), ops(json!([{"op": "replace", "value": {"active": false}}])))
        .await
        .expect(200);
    assert_eq!(r.body["active"], false);
    let r = app.get("/Users?filter=active+eq+false").await.expect(200);
    assert_eq!(r.body["totalResults"], 1);
}

#[tokio::test]
async fn paths_sub_attributes_value_filters_and_removal() {
    let app = TestApp::new().await;
    let id = app.user("paths").await;
    let path = format!("/Users/{id}");
    let r = app
        .patch(
            &path,
            ops(json!([
                {"op": "add", "path": "emails", "value": [{"value": "second@example.com", "type": "home"}]},
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "first@example.com"},
                {"op": "remove", "path": "name.familyName"},
                {"op": "add", "path": format!("{ENTERPRISE}:department"), "value": "Ops"}
            ])),
        )
        .await
        .expect(200);
    let emails = r.body["emails"].as_array().unwrap();
    assert_eq!(emails.len(), 2);
    assert!(emails.iter().any(|e| e["value"] == "first@example.com"));
    assert!(r.body["name"].get("familyName").is_none());
    assert_eq!(r.body[ENTERPRISE]["department"], "Ops");
    let r = app.patch(&path, ops(json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]))).await.expect(200);
    assert_eq!(r.body["emails"].as_array().unwrap().len(), 1);
    // Removing what is not there is not an error.
    app.patch(&path, ops(json!([{"op": "remove", "path": "emails[type eq \"other\"]"}]))).await.expect(200);
    // The e-mail index follows the document.
    let r = app.get("/Users?filter=emails.value+eq+%22first@example.com%22").await.expect(200);
    assert_eq!(r.body["totalResults"], 1);
}

#[tokio::test]
async fn a_failing_operation_applies_none_of_them() {
    let app = TestApp::new().await;
    let id = app.user("atomic").await;
    let path = format!("/Users/{id}");
    let before = app.get(&path).await.expect(200).body;
    let r = app
        .patch(
            &path,
            ops(json!([
                {"op": "replace", "path": "title", "value": "Changed"},
                {"op": "replace", "path": "nosuchattribute.x[", "value": 1},
            ])),
        )
        .await
        .expect(400);
    assert_eq!(r.body["scimType"], "invalidPath");
    let r = app
        .patch(
            &path,
            ops(json!([{"op": "replace", "path": "title", "value": "x"}, {"op": "remove", "path": "userName"}])),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = app.patch(&path, ops(json!([{"op": "jump", "path": "title", "value": "x"}]))).await;
    assert_eq!(r.status, 400);
    let after = app.get(&path).await.expect(200).body;
    assert_eq!(before, after);
}

#[tokio::test]
async fn patch_to_a_taken_user_name_is_a_conflict() {
    let app = TestApp::new().await;
    app.user("taken").await;
    let id = app.user("free").await;
    let r = app
        .patch(&format!("/Users/{id}"), ops(json!([{"op": "replace", "path": "userName", "value": "TAKEN"}])))
        .await
        .expect(409);
    assert_eq!(r.body["scimType"], "uniqueness");
}

/// How many users `filter` finds.
async fn found(app: &TestApp, filter: &str) -> u64 {
    let query = filter.replace(' ', "+").replace('"', "%22");
    app.get(&format!("/Users?filter={query}")).await.expect(200).body["totalResults"].as_u64().unwrap()
}

/// A save rewrites only the columns, e-mails and profile rows that changed: each change on
/// its own must still reach every lookup, and what did not change must stay found.
#[tokio::test]
async fn each_identity_change_on_its_own_reaches_every_lookup() {
    let app = TestApp::new().await;
    let body = json!({"userName": "lu", "externalId": "x-1", "emails": [{"value": "lu@example.com"}]});
    let id = app.post("/Users", body).await.expect(201).body["id"].as_str().unwrap().to_owned();
    let path = format!("/Users/{id}");
    let replace = |path: &str, value: Value| ops(json!([{"op": "replace", "path": path, "value": value}]));

    app.patch(&path, replace("title", json!("Chef"))).await.expect(200);
    for filter in [r#"userName eq "lu""#, r#"externalId eq "x-1""#, r#"emails.value eq "lu@example.com""#] {
        assert_eq!(found(&app, filter).await, 1, "{filter} after a title change");
    }
    app.patch(&path, replace("emails", json!([{"value": "new@example.com"}]))).await.expect(200);
    assert_eq!(found(&app, r#"emails.value eq "lu@example.com""#).await, 0);
    assert_eq!(found(&app, r#"emails.value eq "new@example.com""#).await, 1);
    app.patch(&path, replace("userName", json!("lu2"))).await.expect(200);
    assert_eq!(found(&app, r#"userName eq "lu""#).await, 0);
    assert_eq!(found(&app, r#"userName eq "lu2""#).await, 1);
    assert_eq!(found(&app, r#"externalId eq "x-1""#).await, 1);
    app.patch(&path, replace("externalId", json!("x-2"))).await.expect(200);
    assert_eq!(found(&app, r#"externalId eq "x-1""#).await, 0);
    assert_eq!(found(&app, r#"externalId eq "x-2""#).await, 1);
    // The name a save freed is free: another user takes it.
    app.post("/Users", json!({"userName": "lu", "externalId": "x-1"})).await.expect(201);

    app.patch(&path, replace("active", json!(false))).await.expect(200);
    assert_eq!(app.get(&path).await.expect(200).body["active"], false);
    assert_eq!(found(&app, r#"userName eq "lu2""#).await, 1);
    app.patch(&path, replace("active", json!(true))).await.expect(200);
    let user = app.get(&path).await.expect(200).body;
    assert_eq!((user["active"].clone(), user["title"].clone()), (json!(true), json!("Chef")));
    assert_eq!(app.get("/Users?startIndex=1").await.body["totalResults"], 2);
}
