//! What clients see, snapshotted: a group with its members, a list page, a PATCH answer and
//! the error bodies of each kind. A change to any of them shows up in review.

use poem::http::Method;
use rollcall_tests::TestApp;
use serde_json::{json, Value};

/// Ids, times and locations differ on every run.
fn redact(mut v: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for (key, value) in map.iter_mut() {
                    match key.as_str() {
                        "id" | "value" | "$ref" | "location" | "created" | "lastModified" => {
                            if value.is_string() {
                                *value = Value::String(format!("[{key}]"));
                            }
                        }
                        _ => walk(value),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}

#[tokio::test]
async fn resources_lists_and_patch_answers() {
    let app = TestApp::new().await;
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let r = app
        .post(
            "/Groups",
            json!({"displayName": "Sales", "externalId": "g-1", "members": [
                {"value": ann, "display": "Ann", "type": "User"}, {"value": bob}
            ]}),
        )
        .await
        .expect(201);
    let group = r.body["id"].as_str().unwrap().to_owned();
    insta::assert_json_snapshot!("group_created", redact(r.body));

    let r = app.get("/Users?filter=userName+sw+%22a%22&sortBy=userName&count=5").await.expect(200);
    insta::assert_json_snapshot!("user_list", redact(r.body));

    let r = app
        .patch(
            &format!("/Groups/{group}"),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
                {"op": "remove", "path": format!("members[value eq \"{bob}\"]")},
                {"op": "replace", "path": "displayName", "value": "Sales EMEA"}
            ]}),
        )
        .await
        .expect(200);
    insta::assert_json_snapshot!("group_patched", redact(r.body));
}

#[tokio::test]
async fn error_bodies_of_every_kind() {
    let app = TestApp::new().await;
    let id = app.user("err").await;
    let patch = |ops: Value| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
    let mut seen = serde_json::Map::new();
    let cases: Vec<(&str, Method, String, Option<Value>, u16)> = vec![
        ("invalid_filter", Method::GET, "/Users?filter=userName+eq".into(), None, 400),
        ("invalid_syntax", Method::POST, "/Users".into(), Some(json!("not an object")), 400),
        ("invalid_value", Method::POST, "/Users".into(), Some(json!({"displayName": "no userName"})), 400),
        (
            "invalid_path",
            Method::PATCH,
            format!("/Users/{id}"),
            Some(patch(json!([{"op": "add", "path": "nosuch", "value": 1}]))),
            400,
        ),
        ("no_target", Method::PATCH, format!("/Users/{id}"), Some(patch(json!([{"op": "remove"}]))), 400),
        ("uniqueness", Method::POST, "/Users".into(), Some(json!({"userName": "ERR"})), 409),
        ("not_found", Method::GET, "/Users/nobody".into(), None, 404),
        ("no_endpoint", Method::GET, "/Nowhere".into(), None, 404),
        ("method_not_allowed", Method::DELETE, "/Schemas".into(), None, 405),
        (
            "too_many",
            Method::POST,
            "/.search".into(),
            Some(json!({"sortBy": "meta.created", "startIndex": 20000})),
            400,
        ),
    ];
    for (name, method, path, body, status) in cases {
        let r = app.call(method, &path, body).await.expect(status);
        seen.insert(name.to_owned(), r.body);
    }
    let r = app.send(Method::GET, "/Users", None, None, &[]).await.expect(401);
    seen.insert("unauthorized".to_owned(), r.body);
    let r = app
        .send(Method::GET, &format!("/Users/{id}"), None, Some(&app.token), &[("If-Match", "W/\"99\"")])
        .await
        .expect(412);
    seen.insert("precondition_failed".to_owned(), r.body);
    insta::assert_json_snapshot!("errors", Value::Object(seen));
}
