//! One tenant never sees or changes another's resources, on any endpoint.

use poem::http::Method;
use rollcall_tests::TestApp;
use serde_json::json;

#[tokio::test]
async fn another_tenants_token_sees_nothing_and_changes_nothing() {
    let app = TestApp::new().await;
    let other = app.tenant("acme").await;
    let uid = app.user("private").await;
    let gid = app.group("Private group", &[&uid]).await;
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                       "Operations": [{"op": "replace", "path": "displayName", "value": "pwned"}]});
    for (kind, id) in [("Users", &uid), ("Groups", &gid)] {
        let path = format!("/{kind}/{id}");
        let as_other = |method: Method, body: Option<serde_json::Value>| {
            let path = path.clone();
            let other = other.clone();
            let app = &app;
            async move { app.send(method, &path, body, Some(&other), &[]).await }
        };
        as_other(Method::GET, None).await.expect(404);
        as_other(Method::PUT, Some(json!({"userName": "pwned", "displayName": "pwned"}))).await.expect(404);
        as_other(Method::PATCH, Some(patch.clone())).await.expect(404);
        as_other(Method::DELETE, None).await.expect(404);
        let list = app.send(Method::GET, &format!("/{kind}"), None, Some(&other), &[]).await.expect(200);
        assert_eq!(list.body["totalResults"], 0);
        let search = app
            .send(
                Method::POST,
                &format!("/{kind}/.search"),
                Some(json!({"filter": format!("id eq \"{id}\"")})),
                Some(&other),
                &[],
            )
            .await
            .expect(200);
        assert_eq!(search.body["totalResults"], 0);
    }
    let root = app.send(Method::POST, "/.search", Some(json!({})), Some(&other), &[]).await.expect(200);
    assert_eq!(root.body["totalResults"], 0);
    // The other tenant cannot make our user a member of its group either.
    let r = app
        .send(
            Method::POST,
            "/Groups",
            Some(json!({"displayName": "theirs", "members": [{"value": uid}]})),
            Some(&other),
            &[],
        )
        .await
        .expect(400);
    assert_eq!(r.body["scimType"], "invalidValue");
    // Same names are fine across tenants.
    app.send(Method::POST, "/Users", Some(json!({"userName": "private"})), Some(&other), &[]).await.expect(201);
    app.send(Method::POST, "/Groups", Some(json!({"displayName": "Private group"})), Some(&other), &[])
        .await
        .expect(201);
    // Nor through /Bulk: every operation on our resources is a 404 of its own.
    let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
        {"method": "PATCH", "path": format!("/Users/{uid}"), "data": patch},
        {"method": "PUT", "path": format!("/Groups/{gid}"), "data": {"displayName": "pwned"}},
        {"method": "DELETE", "path": format!("/Groups/{gid}")},
        {"method": "DELETE", "path": format!("/Users/{uid}")},
        {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"displayName": "via bulk", "members": [{"value": uid}]}}
    ]});
    let r = app.send(Method::POST, "/Bulk", Some(bulk), Some(&other), &[]).await.expect(200);
    let statuses: Vec<&str> =
        r.body["Operations"].as_array().unwrap().iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["404", "404", "404", "404", "400"]);
    // And ours is untouched.
    let r = app.get(&format!("/Groups/{gid}")).await.expect(200);
    assert_eq!(r.body["displayName"], "Private group");
    assert_eq!(r.body["members"][0]["value"], uid.as_str());
    assert_eq!(app.get(&format!("/Users/{uid}")).await.expect(200).body["userName"], "private");
}
