//! Users: create, read, replace, delete, uniqueness, and what identity providers send.

use rollcall_tests::TestApp;
use serde_json::json;

#[tokio::test]
async fn create_answers_201_with_location_meta_and_etag() {
    let app = TestApp::new().await;
    let r = app
        .post("/Users", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen", "password": "hunter2"}))
        .await
        .expect(201);
    let id = r.body["id"].as_str().unwrap();
    assert_eq!(r.header("location").unwrap(), r.body["meta"]["location"].as_str().unwrap());
    assert!(r.header("location").unwrap().ends_with(&format!("/scim/v2/Users/{id}")));
    assert_eq!(r.header("etag").unwrap(), r.body["meta"]["version"].as_str().unwrap());
    assert_eq!(r.header("content-type").unwrap(), "application/scim+json");
    assert_eq!(r.body["meta"]["resourceType"], "User");
    assert!(r.body.get("password").is_none(), "password is never returned");
    let got = app.get(&format!("/Users/{id}")).await.expect(200);
    assert_eq!(got.body["userName"], "bjensen");
    assert!(got.body.get("password").is_none());
}

#[tokio::test]
async fn user_name_is_unique_per_tenant_case_insensitively() {
    let app = TestApp::new().await;
    app.user("Alice").await;
    let r = app.post("/Users", json!({"userName": "alice"})).await.expect(409);
    assert_eq!(r.body["scimType"], "uniqueness");
    assert_eq!(r.body["status"], "409");
}

#[tokio::test]
async fn external_id_is_unique_per_tenant() {
    let app = TestApp::new().await;
    app.post("/Users", json!({"userName": "a", "externalId": "E1"})).await.expect(201);
    app.post("/Users", json!({"userName": "b", "externalId": "e1"})).await.expect(201);
    let r = app.post("/Users", json!({"userName": "c", "externalId": "E1"})).await.expect(409);
    assert!(r.body["detail"].as_str().unwrap().contains("externalId"));
}

#[tokio::test]
async fn values_are_stored_exactly_as_sent() {
    let app = TestApp::new().await;
    let r = app
        .post("/Users", json!({"userName": "MiXeD.Case@Example.com", "name": {"givenName": "Émile"}, "title": " VP "}))
        .await
        .expect(201);
    assert_eq!(r.body["userName"], "MiXeD.Case@Example.com");
    assert_eq!(r.body["name"]["givenName"], "Émile");
    assert_eq!(r.body["title"], " VP ");
}

#[tokio::test]
async fn identity_provider_quirks_are_accepted() {
    let app = TestApp::new().await;
    let r = app
        .post(
            "/Users",
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:example:unknown:2.0:User"],
                "UserName": "quirky",
                "active": "False",
                "id": "client-chosen",
                "meta": {"created": "1999-01-01T00:00:00Z"},
                "urn:example:unknown:2.0:User": {"x": 1},
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": "boss-id", "department": "R&D"}
            }),
        )
        .await
        .expect(201);
    assert_eq!(r.body["userName"], "quirky");
    assert_eq!(r.body["active"], false);
    assert_ne!(r.body["id"], "client-chosen");
    assert!(r.body.get("urn:example:unknown:2.0:User").is_none());
    let ext = &r.body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"];
    assert_eq!(ext["manager"]["value"], "boss-id");
    assert_eq!(ext["department"], "R&D");
}

#[tokio::test]
async fn put_replaces_every_attribute() {
    let app = TestApp::new().await;
    let id = app.user("carol").await;
    let r = app.put(&format!("/Users/{id}"), json!({"userName": "carol", "displayName": "Carol"})).await.expect(200);
    assert_eq!(r.body["displayName"], "Carol");
    assert!(r.body.get("emails").is_none(), "PUT clears what it does not send");
    assert_eq!(r.body["meta"]["version"], "W/\"2\"");
}

#[tokio::test]
async fn delete_hides_the_user_and_frees_the_user_name() {
    let app = TestApp::new().await;
    let id = app.user("dave").await;
    let gid = app.group("team", &[&id]).await;
    app.delete(&format!("/Users/{id}")).await.expect(204);
    app.get(&format!("/Users/{id}")).await.expect(404);
    app.delete(&format!("/Users/{id}")).await.expect(404);
    let group = app.get(&format!("/Groups/{gid}")).await.expect(200);
    assert!(group.body.get("members").is_none(), "a deleted user is a member of nothing");
    let list = app.get("/Users?filter=userName%20eq%20%22dave%22").await.expect(200);
    assert_eq!(list.body["totalResults"], 0);
    app.user("dave").await;
}

#[tokio::test]
async fn attributes_and_excluded_attributes_apply_to_writes_too() {
    let app = TestApp::new().await;
    let r = app.post("/Users?attributes=userName", json!({"userName": "eve", "title": "CTO"})).await.expect(201);
    assert_eq!(r.body["userName"], "eve");
    assert!(r.body.get("title").is_none() && r.body.get("meta").is_none());
    assert!(r.body.get("id").is_some(), "id is always returned");
    let id = r.body["id"].as_str().unwrap().to_owned();
    let r = app.get(&format!("/Users/{id}?excludedAttributes=title,meta")).await.expect(200);
    assert!(r.body.get("title").is_none() && r.body.get("meta").is_none());
    assert_eq!(r.body["userName"], "eve");

    // `schemas` names only the extensions the projected resource still carries.
    let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let r = app.post("/Users", json!({"userName": "fay", enterprise: {"department": "R&D"}})).await.expect(201);
    let fay = r.body["id"].as_str().unwrap().to_owned();
    assert!(r.body["schemas"].as_array().unwrap().iter().any(|s| s == enterprise));
    for query in ["attributes=userName", &format!("excludedAttributes={enterprise}")] {
        let r = app.get(&format!("/Users/{fay}?{query}")).await.expect(200);
        assert_eq!(r.body["schemas"], json!(["urn:ietf:params:scim:schemas:core:2.0:User"]), "{query}");
        assert!(r.body.get(enterprise).is_none(), "{query}");
    }
    let r = app.get(&format!("/Users/{fay}?attributes={enterprise}:department")).await.expect(200);
    assert_eq!(r.body[enterprise]["department"], "R&D");
    assert!(r.body["schemas"].as_array().unwrap().iter().any(|s| s == enterprise));
}

#[tokio::test]
async fn user_groups_attribute_lists_direct_memberships() {
    let app = TestApp::new().await;
    let id = app.user("frank").await;
    let gid = app.group("Sales", &[&id]).await;
    let r = app.get(&format!("/Users/{id}")).await.expect(200);
    assert_eq!(r.body["groups"][0]["value"], gid.as_str());
    assert_eq!(r.body["groups"][0]["display"], "Sales");
}
