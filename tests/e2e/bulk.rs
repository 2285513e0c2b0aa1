//! `/Bulk`: bulkId references, failOnErrors, limits, and each operation's own status.

use rollcall_tests::TestApp;
use serde_json::{json, Value};

fn bulk(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops})
}

#[tokio::test]
async fn a_user_created_and_added_to_a_group_in_one_request() {
    let app = TestApp::new().await;
    // The group comes first and refers to the user created after it.
    let r = app
        .post(
            "/Bulk",
            bulk(json!([
                {"method": "POST", "path": "/Groups", "bulkId": "g",
                 "data": {"displayName": "Tour", "members": [{"type": "User", "value": "bulkId:u"}]}},
                {"method": "POST", "path": "/Users", "bulkId": "u", "data": {"userName": "bulky"}},
                {"method": "PATCH", "path": "/Users/bulkId:u",
                 "data": {"Operations": [{"op": "replace", "path": "title", "value": "Roadie"}]}}
            ])),
        )
        .await
        .expect(200);
    let ops = r.body["Operations"].as_array().unwrap();
    assert_eq!(r.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:BulkResponse");
    assert_eq!(ops.len(), 3);
    assert!(ops.iter().all(|o| o["status"] == "201" || o["status"] == "200"), "{ops:?}");
    let group = ops.iter().find(|o| o["bulkId"] == "g").unwrap();
    let user = ops.iter().find(|o| o["bulkId"] == "u").unwrap();
    let user_id = user["location"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let group_path = format!("/Groups/{}", group["location"].as_str().unwrap().rsplit('/').next().unwrap());
    let g = app.get(&group_path).await.expect(200);
    assert_eq!(g.body["members"][0]["value"], user_id.as_str());
    let u = app.get(&format!("/Users/{user_id}")).await.expect(200);
    assert_eq!(u.body["title"], "Roadie");
    assert_eq!(u.body["meta"]["version"], ops[2]["version"]);
}

#[tokio::test]
async fn each_operation_has_its_own_status_and_fail_on_errors_stops() {
    let app = TestApp::new().await;
    app.user("taken").await;
    let r = app
        .post(
            "/Bulk",
            json!({"failOnErrors": 1, "Operations": [
                {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "fresh"}},
                {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"userName": "taken"}},
                {"method": "POST", "path": "/Users", "bulkId": "c", "data": {"userName": "never"}}
            ]}),
        )
        .await
        .expect(200);
    let ops = r.body["Operations"].as_array().unwrap();
    assert_eq!(ops.len(), 2, "processing stops at the first error");
    assert_eq!(ops[0]["status"], "201");
    assert_eq!(ops[1]["status"], "409");
    assert_eq!(ops[1]["response"]["scimType"], "uniqueness");
    let list = app.get("/Users?filter=userName+eq+%22never%22").await.expect(200);
    assert_eq!(list.body["totalResults"], 0);
}

#[tokio::test]
async fn unresolvable_references_and_limits() {
    let app = TestApp::new().await;
    let r = app
        .post(
            "/Bulk",
            bulk(
                json!([{"method": "DELETE", "path": "/Users/bulkId:nobody"}, {"method": "DELETE", "path": "/Users/x"}]),
            ),
        )
        .await
        .expect(200);
    assert_eq!(r.body["Operations"][0]["status"], "409");
    assert_eq!(r.body["Operations"][1]["status"], "404");
    let many: Vec<Value> = (0..1001).map(|i| json!({"method": "DELETE", "path": format!("/Users/{i}")})).collect();
    app.post("/Bulk", bulk(Value::Array(many))).await.expect(413);
    let r = app
        .post("/Bulk", bulk(json!([{"method": "POST", "path": "/Users", "data": {"userName": "x"}}])))
        .await
        .expect(400);
    assert_eq!(r.body["scimType"], "invalidValue");
    app.post("/Bulk", bulk(json!([{"method": "GET", "path": "/Users"}]))).await.expect(400);
}
