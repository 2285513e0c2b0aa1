//! ETags: `meta.version`, `If-Match` (412 when stale) and `If-None-Match` (304).

use poem::http::Method;
use rollcall_tests::TestApp;
use serde_json::json;

#[tokio::test]
async fn if_match_guards_writes_and_if_none_match_saves_reads() {
    let app = TestApp::new().await;
    let id = app.user("grace").await;
    let path = format!("/Users/{id}");
    let v1 = app.get(&path).await.expect(200).header("etag").unwrap().to_owned();
    let r = app.send(Method::GET, &path, None, Some(&app.token), &[("If-None-Match", &v1)]).await.expect(304);
    assert_eq!(r.header("etag").unwrap(), v1);

    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                       "Operations": [{"op": "replace", "path": "title", "value": "Boss"}]});
    let r =
        app.send(Method::PATCH, &path, Some(patch.clone()), Some(&app.token), &[("If-Match", &v1)]).await.expect(200);
    let v2 = r.header("etag").unwrap().to_owned();
    assert_ne!(v1, v2);
    assert_eq!(r.body["meta"]["version"], v2.as_str());

    // The old version is stale now: every write refuses it and nothing changes.
    let r = app.send(Method::PATCH, &path, Some(patch), Some(&app.token), &[("If-Match", &v1)]).await.expect(412);
    assert_eq!(r.body["status"], "412");
    app.send(Method::PUT, &path, Some(json!({"userName": "grace"})), Some(&app.token), &[("If-Match", &v1)])
        .await
        .expect(412);
    app.send(Method::DELETE, &path, None, Some(&app.token), &[("If-Match", &v1)]).await.expect(412);
    app.send(Method::DELETE, &path, None, Some(&app.token), &[("If-Match", "W/\"garbage\"")]).await.expect(412);
    let r = app.get(&path).await.expect(200);
    assert_eq!(r.body["title"], "Boss");
    assert_eq!(r.header("etag").unwrap(), v2);

    app.send(Method::GET, &path, None, Some(&app.token), &[("If-None-Match", &v1)]).await.expect(200);
    // A read guarded by If-Match is served only while the version is current.
    let r = app.send(Method::GET, &path, None, Some(&app.token), &[("If-Match", &v1)]).await.expect(412);
    assert_eq!(r.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
    app.send(Method::GET, &path, None, Some(&app.token), &[("If-Match", &v2)]).await.expect(200);
    app.send(Method::GET, &path, None, Some(&app.token), &[("If-Match", "*")]).await.expect(200);
    app.send(Method::PUT, &path, Some(json!({"userName": "grace"})), Some(&app.token), &[("If-None-Match", "*")])
        .await
        .expect(412);
    app.send(Method::DELETE, &path, None, Some(&app.token), &[("If-Match", &v2)]).await.expect(204);
}
