//! The admin API's contract: the OpenAPI document (committed, and checked for drift), the
//! docs page, and what representative answers look like, snapshotted.

use std::sync::Arc;

use poem::http::Method;
use rollcall_tests::TestApp;
use serde_json::json;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../server/openapi/admin-v1.json");

/// Fails when the generated document differs from `server/openapi/admin-v1.json`. To
/// accept a change: `ROLLCALL_UPDATE_OPENAPI=1 cargo test -p rollcall-tests --test e2e admin_api`.
#[tokio::test]
async fn the_openapi_document_is_committed_and_served() {
    let app = TestApp::new().await;
    let generated = scim_server::admin::openapi_json(&Arc::new(scim_server::AppState::new(app.store.clone())));
    let pretty = format!(
        "{}\n",
        serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(&generated).unwrap()).unwrap()
    );
    if std::env::var("ROLLCALL_UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(COMMITTED, &pretty).expect("write the OpenAPI document");
    }
    let committed = std::fs::read_to_string(COMMITTED).expect("server/openapi/admin-v1.json is committed");
    assert!(
        committed == pretty,
        "the admin API's OpenAPI document changed: review it and run \
         `ROLLCALL_UPDATE_OPENAPI=1 cargo test -p rollcall-tests --test e2e admin_api` to commit it"
    );
    let served = app.send(Method::GET, "/admin/v1/openapi.json", None, None, &[]).await.expect(200);
    assert_eq!(served.body, serde_json::from_str::<serde_json::Value>(&committed).unwrap());
    insta::assert_json_snapshot!("admin_openapi", served.body);
    let docs = app.send(Method::GET, "/admin/docs/", None, None, &[]).await.expect(200);
    assert!(docs.body.as_str().unwrap().contains("swagger"));
}

#[tokio::test]
async fn representative_answers() {
    let app = TestApp::new().await;
    let redactions = |v: serde_json::Value| {
        let text = v.to_string();
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        fn walk(v: &mut serde_json::Value) {
            match v {
                serde_json::Value::Object(m) => {
                    for (k, x) in m.iter_mut() {
                        if matches!(
                            k.as_str(),
                            "id" | "created" | "lastModified" | "sentAt" | "expiresAt" | "at" | "projectId"
                        ) && x.is_string()
                        {
                            *x = json!(format!("[{k}]"));
                        } else {
                            walk(x);
                        }
                    }
                }
                serde_json::Value::Array(a) => a.iter_mut().for_each(walk),
                _ => {}
            }
        }
        walk(&mut v);
        v
    };
    let p = app
        .admin(Method::POST, "/people/invite", Some(json!({"email": "ada@example.com", "givenName": "Ada", "familyName": "Lovelace", "role": "project_creator", "permissions": ["crm.leads"]})))
        .await
        .expect(201);
    insta::assert_json_snapshot!("admin_person", redactions(p.body));
    let e = app.admin(Method::POST, "/people/invite", Some(json!({"email": "ada@example.com"}))).await.expect(409);
    insta::assert_json_snapshot!("admin_error", e.body);
    let s = app.admin(Method::GET, "/seats", None).await.expect(200);
    insta::assert_json_snapshot!("admin_seats", s.body);
    let pol = app.admin(Method::GET, "/policies", None).await.expect(200);
    insta::assert_json_snapshot!("admin_policies", pol.body);
    let roles = app.admin(Method::GET, "/roles", None).await.expect(200);
    insta::assert_json_snapshot!("admin_roles", roles.body);
    let audit = app.admin(Method::GET, "/audit", None).await.expect(200);
    let mut audit = redactions(audit.body);
    audit[0]["actor"] = json!("[actor]");
    audit[0]["person"] = json!("[person]");
    insta::assert_json_snapshot!("admin_audit", audit);
}
