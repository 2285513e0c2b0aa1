//! Every failure is an RFC 7644 error body with the right status, and changes nothing.

use poem::http::Method;
use rollcall_tests::TestApp;
use serde_json::json;

#[tokio::test]
async fn unknown_routes_wrong_methods_and_missing_tokens() {
    let app = TestApp::new().await;
    let r = app.get("/Nope").await.expect(404);
    assert_eq!(r.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
    assert_eq!(r.body["status"], "404");
    let r = app.call(Method::DELETE, "/ServiceProviderConfig", None).await.expect(405);
    assert_eq!(r.body["status"], "405");
    assert_eq!(r.header("allow"), Some("GET"));
    let r = app.call(Method::POST, "/ResourceTypes/User", Some(json!({}))).await.expect(405);
    assert_eq!(r.body["status"], "405");
    assert_eq!(r.header("allow"), Some("GET"));
    for (method, path, allow) in [
        (Method::DELETE, "/Users", "GET, POST"),
        (Method::POST, "/Groups/some-id", "GET, PUT, PATCH, DELETE"),
        (Method::GET, "/Users/.search", "POST"),
        (Method::GET, "/.search", "POST"),
        (Method::GET, "/Bulk", "POST"),
    ] {
        let r = app.call(method.clone(), path, None).await.expect(405);
        assert_eq!(r.header("allow"), Some(allow), "{method} {path}");
    }
    let r = app.send(Method::GET, "/Users", None, None, &[]).await.expect(401);
    assert_eq!(r.body["status"], "401");
    assert!(r.header("www-authenticate").is_some());
    app.send(Method::GET, "/Users", None, Some("rc_0000000000000000_nope"), &[]).await.expect(401);
    app.send(Method::GET, "/Users", None, Some("something-else-entirely"), &[]).await.expect(401);
    let r = app.get("/Users/does-not-exist").await.expect(404);
    assert_eq!(r.header("content-type").unwrap(), "application/scim+json");
}

#[tokio::test]
async fn malformed_bodies_are_invalid_syntax_and_too_large_is_413() {
    let app = TestApp::new().await;
    let r = app.send(Method::POST, "/Users", None, Some(&app.token.clone()), &[]).await.expect(400);
    assert_eq!(r.body["scimType"], "invalidSyntax");
    let token = app.token.clone();
    let response = app
        .client
        .post("/scim/v2/Users")
        .header("Authorization", format!("Bearer {token}"))
        .content_type("application/json; charset=utf-8")
        .body("{not json")
        .send()
        .await;
    response.assert_status(poem::http::StatusCode::BAD_REQUEST);
    let big = "x".repeat(2 * 1024 * 1024);
    let r = app.post("/Users", json!({"userName": "big", "title": big})).await.expect(413);
    assert_eq!(r.body["status"], "413");
    let r = app.post("/Users", json!({"displayName": "no user name"})).await.expect(400);
    assert_eq!(r.body["scimType"], "invalidValue");
    let list = app.get("/Users").await.expect(200);
    assert_eq!(list.body["totalResults"], 0, "nothing was written");
}

#[tokio::test]
async fn application_json_is_accepted() {
    let app = TestApp::new().await;
    let token = app.token.clone();
    let response = app
        .client
        .post("/scim/v2/Users")
        .header("Authorization", format!("Bearer {token}"))
        .content_type("application/json; charset=utf-8")
        .body(json!({"userName": "json"}).to_string())
        .send()
        .await;
    response.assert_status(poem::http::StatusCode::CREATED);
}

/// A further token of the `default` tenant (no scopes: every scope), and its record.
async fn new_token(
    app: &TestApp,
    scopes: Vec<scim_server::domain::tenant::Scope>,
) -> (String, scim_server::domain::tenant::TokenRecord) {
    scim_server::domain::tenant::create_token(
        app.store.as_ref(),
        "default",
        scopes,
        None,
        time::OffsetDateTime::now_utc(),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn read_only_tokens_cannot_write() {
    let app = TestApp::new().await;
    let (token, _) = new_token(&app, vec![scim_server::domain::tenant::Scope::ScimRead]).await;
    app.send(Method::GET, "/Users", None, Some(&token), &[]).await.expect(200);
    let r = app.send(Method::POST, "/Users", Some(json!({"userName": "x"})), Some(&token), &[]).await.expect(403);
    assert_eq!(r.body["status"], "403");
}

#[tokio::test]
async fn revoked_tokens_stop_working() {
    let app = TestApp::new().await;
    let (token, record) = new_token(&app, Vec::new()).await;
    let tenant = app.store.find_tenant("default").await.unwrap().unwrap();
    assert!(app.store.revoke_token(&tenant.id, &record.id).await.unwrap());
    // Never used, so never cached: refused at once.
    app.send(Method::GET, "/Users", None, Some(&token), &[]).await.expect(401);
}

/// A token's first use is recorded (best effort, off the request's path, on the writer the
/// SCIM writes share), and a burst of requests records it once, not once a request.
#[tokio::test]
async fn a_tokens_use_is_recorded() {
    let app = TestApp::new().await;
    let (token, record) = new_token(&app, Vec::new()).await;
    let tenant = app.store.find_tenant("default").await.unwrap().unwrap();
    let last_used = || async {
        let tokens = app.store.list_tokens(&tenant.id).await.unwrap();
        tokens.into_iter().find(|t| t.id == record.id).expect("listed").last_used_at
    };
    assert_eq!(last_used().await, None, "never used yet");
    for _ in 0..5 {
        app.send(Method::GET, "/Users", None, Some(&token), &[]).await.expect(200);
    }
    let mut recorded = None;
    for _ in 0..200 {
        recorded = last_used().await;
        if recorded.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let first = recorded.expect("the use is recorded");
    // More requests within the minute write nothing more.
    app.send(Method::GET, "/Users", None, Some(&token), &[]).await.expect(200);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(last_used().await, Some(first));
}
