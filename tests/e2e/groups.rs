//! Groups: members in their own table, patched set-wise.

use rollcall_tests::TestApp;
use serde_json::{json, Value};

fn member_ids(body: &Value) -> Vec<String> {
    let mut ids: Vec<String> = body["members"]
        .as_array()
        .map(|m| m.iter().map(|m| m["value"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    ids.sort();
    ids
}

fn patch(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

#[tokio::test]
async fn members_are_added_and_removed_without_touching_the_others() {
    let app = TestApp::new().await;
    let (a, b, c) = (app.user("a").await, app.user("b").await, app.user("c").await);
    let gid = app.group("Engineering", &[&a]).await;
    let path = format!("/Groups/{gid}");
    let r = app
        .patch(&path, patch(json!([{"op": "add", "path": "members", "value": [{"value": b}, {"value": c}]}])))
        .await
        .expect(200);
    let mut all = vec![a.clone(), b.clone(), c.clone()];
    all.sort();
    assert_eq!(member_ids(&r.body), all);
    assert!(r.body["members"][0]["$ref"].as_str().unwrap().contains("/Users/"));
    assert!(r.body["members"][0].get("type").is_none(), "only what the client sent is returned");

    // Entra removes with a value array: only the listed members go.
    let r = app
        .patch(&path, patch(json!([{"op": "Remove", "path": "members", "value": [{"value": b}]}])))
        .await
        .expect(200);
    let mut rest = vec![a.clone(), c.clone()];
    rest.sort();
    assert_eq!(member_ids(&r.body), rest);

    // Okta removes with a value filter.
    let r = app
        .patch(&path, patch(json!([{"op": "remove", "path": format!("members[value eq \"{a}\"]")}])))
        .await
        .expect(200);
    assert_eq!(member_ids(&r.body), vec![c.clone()]);

    let r = app
        .patch(&path, patch(json!([{"op": "replace", "path": "members", "value": [{"value": a}]}])))
        .await
        .expect(200);
    assert_eq!(member_ids(&r.body), vec![a.clone()]);

    let r = app.patch(&path, patch(json!([{"op": "replace", "value": {"displayName": "Eng"}}]))).await.expect(200);
    assert_eq!(r.body["displayName"], "Eng");
    assert_eq!(member_ids(&r.body), vec![a.clone()]);
}

#[tokio::test]
async fn excluded_members_are_not_returned_and_filters_find_memberships() {
    let app = TestApp::new().await;
    let a = app.user("a").await;
    let gid = app.group("Ops", &[&a]).await;
    app.group("Other", &[]).await;
    let r = app.get(&format!("/Groups/{gid}?excludedAttributes=members")).await.expect(200);
    assert!(r.body.get("members").is_none());
    assert_eq!(r.body["displayName"], "Ops");
    let r = app
        .get(&format!("/Groups?filter=id+eq+%22{gid}%22+and+members[value+eq+%22{a}%22]&excludedAttributes=members"))
        .await
        .expect(200);
    assert_eq!(r.body["totalResults"], 1);
    assert!(r.body["Resources"][0].get("members").is_none());
    let r = app.get(&format!("/Groups?filter=members.value+eq+%22{a}%22")).await.expect(200);
    assert_eq!(r.body["totalResults"], 1);
    let r = app.get("/Groups?filter=displayName+eq+%22OPS%22").await.expect(200);
    assert_eq!(r.body["totalResults"], 1);
}

#[tokio::test]
async fn unknown_members_are_refused_and_nothing_changes() {
    let app = TestApp::new().await;
    let a = app.user("a").await;
    let gid = app.group("G", &[&a]).await;
    let r = app
        .patch(
            &format!("/Groups/{gid}"),
            patch(json!([
                {"op": "replace", "path": "displayName", "value": "Renamed"},
                {"op": "add", "path": "members", "value": [{"value": "no-such-id"}]}
            ])),
        )
        .await
        .expect(400);
    assert_eq!(r.body["scimType"], "invalidValue");
    let r = app.get(&format!("/Groups/{gid}")).await.expect(200);
    assert_eq!(r.body["displayName"], "G");
    assert_eq!(member_ids(&r.body), vec![a.clone()]);
    app.post("/Groups", json!({"displayName": "g"})).await.expect(409);
    // An archived person is no member either.
    let gone = app.user("gone").await;
    app.delete(&format!("/Users/{gone}")).await.expect(204);
    let add = patch(json!([{"op": "add", "path": "members", "value": [{"value": gone}]}]));
    let r = app.patch(&format!("/Groups/{gid}"), add).await.expect(400);
    assert_eq!(r.body["scimType"], "invalidValue");
    assert_eq!(member_ids(&app.get(&format!("/Groups/{gid}")).await.expect(200).body), vec![a]);
}

#[tokio::test]
async fn put_replaces_members_and_groups_can_nest() {
    let app = TestApp::new().await;
    let a = app.user("a").await;
    let inner = app.group("Inner", &[&a]).await;
    let body = json!({"displayName": "Outer", "members": [{"value": inner, "type": "Group", "display": "Inner team"}]});
    let outer = app.post("/Groups", body).await.expect(201).body["id"].as_str().unwrap().to_owned();
    let r = app.get(&format!("/Groups/{outer}")).await.expect(200);
    assert_eq!(r.body["members"][0]["type"], "Group");
    assert_eq!(r.body["members"][0]["display"], "Inner team");
    assert!(r.body["members"][0]["$ref"].as_str().unwrap().ends_with(&format!("/Groups/{inner}")));
    let r = app
        .put(&format!("/Groups/{outer}"), json!({"displayName": "Outer", "members": [{"value": a}]}))
        .await
        .expect(200);
    assert_eq!(member_ids(&r.body), vec![a]);
    app.delete(&format!("/Groups/{inner}")).await.expect(204);
    app.get(&format!("/Groups/{inner}")).await.expect(404);
}

#[tokio::test]
async fn member_changes_keep_the_name_and_external_id_and_renames_move_them() {
    let app = TestApp::new().await;
    let a = app.user("a").await;
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Sales", "externalId": "ext-sales"});
    let gid = app.post("/Groups", body).await.expect(201).body["id"].as_str().unwrap().to_owned();
    let path = format!("/Groups/{gid}");
    let found = |filter: &'static str| {
        let app = &app;
        async move { app.get(&format!("/Groups?filter={filter}")).await.expect(200).body["totalResults"].clone() }
    };

    // Only members change: the group is still found, and still holds its name and externalId.
    app.patch(&path, patch(json!([{"op": "add", "path": "members", "value": [{"value": a}]}]))).await.expect(200);
    assert_eq!(found("displayName+eq+%22sales%22").await, 1);
    assert_eq!(found("externalId+eq+%22ext-sales%22").await, 1);
    app.post("/Groups", json!({"displayName": "SALES"})).await.expect(409);

    // A change of case only: the new spelling is shown, the name stays taken.
    let r =
        app.patch(&path, patch(json!([{"op": "replace", "path": "displayName", "value": "SALES"}]))).await.expect(200);
    assert_eq!(r.body["displayName"], "SALES");
    assert_eq!(found("displayName+eq+%22Sales%22").await, 1);
    app.post("/Groups", json!({"displayName": "sales"})).await.expect(409);

    // A rename and a new externalId: found under the new ones, and the old ones are free.
    let ops = json!([
        {"op": "replace", "path": "displayName", "value": "Revenue"},
        {"op": "replace", "path": "externalId", "value": "ext-revenue"}
    ]);
    app.patch(&path, patch(ops)).await.expect(200);
    assert_eq!(found("displayName+eq+%22revenue%22").await, 1);
    assert_eq!(found("externalId+eq+%22ext-revenue%22").await, 1);
    assert_eq!(found("displayName+eq+%22sales%22").await, 0);
    assert_eq!(found("externalId+eq+%22ext-sales%22").await, 0);
    app.post("/Groups", json!({"displayName": "Sales", "externalId": "ext-sales"})).await.expect(201);
    assert_eq!(member_ids(&app.get(&path).await.expect(200).body), vec![a]);
}
