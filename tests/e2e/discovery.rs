//! Discovery, snapshotted: what identity providers read before anything else.

use poem::http::Method;
use rollcall_tests::TestApp;

fn redact(mut v: serde_json::Value) -> serde_json::Value {
    // The base URL comes from the Host header, which the test client leaves unset.
    let text = v.to_string().replace("http://localhost/scim/v2", "{base}");
    v = serde_json::from_str(&text).unwrap();
    v
}

#[tokio::test]
async fn discovery_documents() {
    let app = TestApp::new().await;
    // Discovery is readable without a token (RFC 7644 §4).
    let spc = app.send(Method::GET, "/ServiceProviderConfig", None, None, &[]).await.expect(200);
    insta::assert_json_snapshot!("service_provider_config", redact(spc.body));
    let types = app.get("/ResourceTypes").await.expect(200);
    insta::assert_json_snapshot!("resource_types", redact(types.body));
    let schemas = app.get("/Schemas").await.expect(200);
    assert_eq!(schemas.body["totalResults"], 5);
    insta::assert_json_snapshot!("schemas", redact(schemas.body));
    let user = app.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User").await.expect(200);
    assert_eq!(user.body["name"], "User");
    app.get("/Schemas/urn:nope").await.expect(404);
    app.get("/ResourceTypes/Group").await.expect(200);
    app.get("/ResourceTypes/Nope").await.expect(404);
}

#[tokio::test]
async fn what_clients_see_of_a_user_and_an_error() {
    let app = TestApp::new().await;
    let id = app.user("snap").await;
    let r = app.get(&format!("/Users/{id}")).await.expect(200);
    insta::assert_json_snapshot!("user", redact(r.body), {
        ".id" => "[id]",
        ".meta.created" => "[time]",
        ".meta.lastModified" => "[time]",
        ".meta.location" => "[location]",
    });
    // The lifecycle's view, on request.
    let ext = "urn:ietf:params:scim:schemas:extension:rollcall:2.0:User";
    let r = app.get(&format!("/Users/{id}?attributes=userName,active,{ext}")).await.expect(200);
    insta::assert_json_snapshot!("user_lifecycle", redact(r.body), {
        ".id" => "[id]",
        ".*.invitation.expiresAt" => "[time]",
        ".*.invitation.sentAt" => "[time]",
    });
    let r = app.post("/Users", serde_json::json!({"userName": "SNAP"})).await.expect(409);
    insta::assert_json_snapshot!("conflict", r.body);
}
