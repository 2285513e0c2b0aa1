//! `/Bulk`: bulkId references, failOnErrors, limits, and each operation's own status.

use rollcall_tests::TestApp;
use serde_json::{json, Value};

fn bulk(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops})
}

/// Each operation's status, in request order.
fn statuses(response: &Value) -> Vec<&str> {
    response["Operations"].as_array().unwrap().iter().map(|o| o["status"].as_str().unwrap()).collect()
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

#[tokio::test]
async fn circular_references_between_groups_are_resolved() {
    let app = TestApp::new().await;
    // RFC 7644 §3.7.1: each group names the other as a member.
    let r = app
        .post(
            "/Bulk",
            bulk(json!([
                {"method": "POST", "path": "/Groups", "bulkId": "qwerty",
                 "data": {"displayName": "Group A", "members": [{"type": "Group", "value": "bulkId:ytrewq"}]}},
                {"method": "POST", "path": "/Groups", "bulkId": "ytrewq",
                 "data": {"displayName": "Group B", "members": [{"type": "Group", "value": "bulkId:qwerty"}]}}
            ])),
        )
        .await
        .expect(200);
    let ops = r.body["Operations"].as_array().unwrap();
    assert!(ops.iter().all(|o| o["status"] == "201"), "{ops:?}");
    let id = |bulk_id: &str| {
        let op = ops.iter().find(|o| o["bulkId"] == bulk_id).unwrap();
        op["location"].as_str().unwrap().rsplit('/').next().unwrap().to_owned()
    };
    let (a, b) = (id("qwerty"), id("ytrewq"));
    let group_a = app.get(&format!("/Groups/{a}")).await.expect(200);
    let group_b = app.get(&format!("/Groups/{b}")).await.expect(200);
    assert_eq!(group_a.body["members"][0]["value"], b.as_str());
    assert_eq!(group_b.body["members"][0]["value"], a.as_str());
    // The version reported is the group's final one, after its members were added.
    let a_op = ops.iter().find(|o| o["bulkId"] == "qwerty").unwrap();
    assert_eq!(a_op["version"], group_a.body["meta"]["version"]);
}

#[tokio::test]
async fn bulk_ids_resolve_inside_patch_paths_and_put_data() {
    let app = TestApp::new().await;
    let r = app
        .post(
            "/Bulk",
            bulk(json!([
                {"method": "POST", "path": "/Users", "bulkId": "boss", "data": {"userName": "boss"}},
                {"method": "POST", "path": "/Users", "bulkId": "u1", "data": {"userName": "u1"}},
                {"method": "POST", "path": "/Users", "bulkId": "u2", "data": {"userName": "u2"}},
                {"method": "POST", "path": "/Groups", "bulkId": "g",
                 "data": {"displayName": "G", "members": [{"value": "bulkId:u1"}, {"value": "bulkId:u2"}]}},
                {"method": "PATCH", "path": "/Groups/bulkId:g",
                 "data": {"Operations": [{"op": "remove", "path": "members[value eq \"bulkId:u1\"]"}]}},
                {"method": "PUT", "path": "/Users/bulkId:u2",
                 "data": {"userName": "u2", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
                          {"manager": {"value": "bulkId:boss"}}}}
            ])),
        )
        .await
        .expect(200);
    let ops = r.body["Operations"].as_array().unwrap();
    assert!(ops.iter().all(|o| o["status"] == "201" || o["status"] == "200"), "{ops:?}");
    let id = |i: usize| ops[i]["location"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let group = app.get(&format!("/Groups/{}", id(3))).await.expect(200);
    let members: Vec<&str> =
        group.body["members"].as_array().unwrap().iter().map(|m| m["value"].as_str().unwrap()).collect();
    assert_eq!(members, [id(2)]);
    let u2 = app.get(&format!("/Users/{}", id(2))).await.expect(200);
    assert_eq!(
        u2.body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]["value"],
        id(0).as_str()
    );
}

#[tokio::test]
async fn fail_on_errors_counts_errors_and_limits_are_advertised_and_enforced() {
    let app = TestApp::new().await;
    app.user("dup").await;
    let r = app
        .post(
            "/Bulk",
            json!({"failOnErrors": 2, "Operations": [
                {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "dup"}},
                {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"userName": "ok"}},
                {"method": "DELETE", "path": "/Users/missing"},
                {"method": "POST", "path": "/Users", "bulkId": "c", "data": {"userName": "never"}}
            ]}),
        )
        .await
        .expect(200);
    let statuses = statuses(&r.body);
    assert_eq!(statuses, ["409", "201", "404"], "the second error stops the request");

    let spc = app.get("/ServiceProviderConfig").await.expect(200);
    assert_eq!(spc.body["bulk"]["supported"], true);
    let max_ops = spc.body["bulk"]["maxOperations"].as_u64().unwrap();
    let max_payload = spc.body["bulk"]["maxPayloadSize"].as_u64().unwrap();
    let too_many: Vec<Value> =
        (0..=max_ops).map(|i| json!({"method": "DELETE", "path": format!("/Users/{i}")})).collect();
    let r = app.post("/Bulk", bulk(Value::Array(too_many))).await.expect(413);
    assert_eq!(r.body["status"], "413");
    let padding = "x".repeat(usize::try_from(max_payload).unwrap());
    let r = app
        .post(
            "/Bulk",
            bulk(json!([{"method": "POST", "path": "/Users", "bulkId": "big", "data": {"userName": padding}}])),
        )
        .await
        .expect(413);
    assert_eq!(r.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
    assert_eq!(app.get("/Users").await.expect(200).body["totalResults"], 2, "nothing of a refused request was written");
}

/// An operation is held to the single-resource body limit (1 MiB by default) however it
/// travels: alone it would be refused with 413, and so it is inside a Bulk request, which
/// may carry more in all. The operations beside it run.
#[tokio::test]
async fn an_operation_larger_than_a_single_request_may_be_is_refused_alone() {
    let app = TestApp::new().await;
    let padding = "x".repeat(1_100_000);
    let r = app
        .post(
            "/Bulk",
            bulk(json!([
                {"method": "POST", "path": "/Users", "bulkId": "small", "data": {"userName": "small"}},
                {"method": "POST", "path": "/Users", "bulkId": "big", "data": {"userName": "big", "title": padding}}
            ])),
        )
        .await
        .expect(200);
    let statuses = statuses(&r.body);
    assert_eq!(statuses, ["201", "413"]);
    let users = app.get("/Users").await.expect(200);
    assert_eq!(users.body["totalResults"], 1);
    assert_eq!(users.body["Resources"][0]["userName"], "small");
}

/// The creates of a request are written in request order, whatever else runs: two requests at
/// once, each with a userName sent twice and a create that fails before it reaches the
/// store. The first of the two takes the name; the second is refused; the failed create holds
/// nobody up.
#[tokio::test]
async fn creates_keep_request_order_with_two_requests_at_once() {
    let app = TestApp::new().await;
    let request = |side: &str| {
        let ops: Vec<Value> = (0..60)
            .map(|i| {
                let data = match i {
                    10 => json!({"userName": format!("{side}-twice"), "title": "first"}),
                    40 => json!({"userName": format!("{side}-twice"), "title": "second"}),
                    20 => json!({"title": "no userName"}),
                    _ => json!({"userName": format!("{side}-{i}")}),
                };
                json!({"method": "POST", "path": "/Users", "bulkId": format!("{side}{i}"), "data": data})
            })
            .collect();
        bulk(Value::Array(ops))
    };
    let (a, b) = tokio::join!(app.post("/Bulk", request("a")), app.post("/Bulk", request("b")));
    for (side, reply) in [("a", a.expect(200)), ("b", b.expect(200))] {
        let statuses = statuses(&reply.body);
        assert_eq!(statuses.len(), 60);
        assert_eq!((statuses[10], statuses[20], statuses[40]), ("201", "400", "409"), "{side}: {statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == "201").count(), 58, "{side}: {statuses:?}");
        let found = app.get(&format!("/Users?filter=userName+eq+%22{side}-twice%22")).await.expect(200);
        assert_eq!(found.body["Resources"][0]["title"], "first", "{side}");
    }
    let users = app.get("/Users?count=1").await.expect(200);
    assert_eq!(users.body["totalResults"], 116);
}

/// Sends 200 creates to `path` in one request, pair `n` being creates 2n and 2n + 1 with the
/// same name (`data(n, "first" or "second")`): the first of each pair must take the name on
/// any store, and nothing marked "second" may be found through `seconds`.
async fn first_of_each_pair_wins(path: &str, data: impl Fn(usize, &str) -> Value, seconds: &str) {
    let app = TestApp::new().await;
    let ops: Vec<Value> = (0..200)
        .map(|i| {
            let data = data(i / 2, if i % 2 == 0 { "first" } else { "second" });
            json!({"method": "POST", "path": path, "bulkId": format!("op{i}"), "data": data})
        })
        .collect();
    let reply = app.post("/Bulk", bulk(Value::Array(ops))).await.expect(200);
    let expected: Vec<&str> = (0..200).map(|i| if i % 2 == 0 { "201" } else { "409" }).collect();
    assert_eq!(statuses(&reply.body), expected);
    let found = app.get(seconds).await.expect(200);
    assert_eq!(found.body["totalResults"], 0);
}

/// Two creates in a row with the same userName: the first of each pair takes it, on any
/// store. On PostgreSQL a create reaches its tenant's lock over several round trips, so
/// the next create's place in line must wait until this one holds that lock, not only
/// until it has asked for a connection.
#[tokio::test]
async fn the_first_of_two_creates_in_a_row_takes_the_name() {
    first_of_each_pair_wins(
        "/Users",
        |n, which| json!({"userName": format!("pair-{n}"), "title": which}),
        "/Users?filter=title+eq+%22second%22",
    )
    .await;
}

/// As for Users, the first of two Groups in a row with the same displayName takes it.
#[tokio::test]
async fn the_first_of_two_groups_in_a_row_takes_the_name() {
    first_of_each_pair_wins(
        "/Groups",
        |n, which| json!({"displayName": format!("team-{n}"), "externalId": format!("{which}-{n}")}),
        "/Groups?filter=externalId+sw+%22second%22",
    )
    .await;
}
