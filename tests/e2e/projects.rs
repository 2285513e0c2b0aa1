//! Projects and teams, and SCIM groups bound to projects and company roles: grants
//! remember whether they came from a group or by hand, so a group re-sync never removes
//! a hand-set grant.

use poem::http::Method;
use rollcall_tests::TestApp;
use serde_json::{json, Value};

const EXT: &str = "urn:ietf:params:scim:schemas:extension:rollcall:2.0:User";

async fn person(app: &TestApp, email: &str, role: &str) -> String {
    let p =
        app.admin(Method::POST, "/people/invite", Some(json!({"email": email, "role": role}))).await.expect(201).body;
    p["id"].as_str().unwrap().to_owned()
}

async fn project(app: &TestApp, name: &str) -> String {
    let p = app.admin(Method::POST, "/projects", Some(json!({"name": name}))).await.expect(200).body;
    p["id"].as_str().unwrap().to_owned()
}

fn members(p: &Value) -> Vec<(String, String, Vec<String>)> {
    p["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let sources = m["sources"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect();
            (m["projectId"].as_str().unwrap().to_owned(), m["role"].as_str().unwrap().to_owned(), sources)
        })
        .collect()
}

#[tokio::test]
async fn teams_roles_and_owners() {
    let app = TestApp::new().await;
    let pid = project(&app, "Apollo").await;
    let r = app.admin(Method::POST, "/projects", Some(json!({"name": "apollo"}))).await.expect(409);
    assert_eq!(r.body["code"], "uniqueness");
    let member = person(&app, "m@example.com", "member").await;
    let admin = person(&app, "a@example.com", "admin").await;
    let r = app
        .admin(Method::PUT, &format!("/projects/{pid}/members/{member}"), Some(json!({"role": "owner"})))
        .await
        .expect(400);
    assert_eq!(r.body["code"], "owner_needs_team_and_users");
    app.admin(Method::PUT, &format!("/projects/{pid}/members/{admin}"), Some(json!({"role": "owner"})))
        .await
        .expect(200);
    let r = app
        .admin(
            Method::PUT,
            &format!("/projects/{pid}/members/{member}"),
            Some(json!({"permissions": ["project.budget", "nope"]})),
        )
        .await
        .expect(400);
    assert_eq!(r.body["code"], "unknown_permission");
    let p = app
        .admin(
            Method::PUT,
            &format!("/projects/{pid}/members/{member}"),
            Some(json!({"permissions": ["project.budget"]})),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(p["members"].as_array().unwrap().len(), 2);
    // Granting team_and_users makes the member a possible owner.
    app.admin(Method::PUT, &format!("/people/{member}/permissions"), Some(json!({"permissions": ["team_and_users"]})))
        .await
        .expect(200);
    app.admin(Method::PUT, &format!("/projects/{pid}/members/{member}"), Some(json!({"role": "owner"})))
        .await
        .expect(200);
    // "Which projects is this person in", and over SCIM.
    let shown = app.admin(Method::GET, &format!("/people/{member}"), None).await.expect(200).body;
    assert_eq!(shown["projects"][0]["role"], "owner");
    let scim = app.get(&format!("/Users/{member}?attributes={EXT}")).await.expect(200).body;
    assert_eq!(scim[EXT]["projects"][0]["display"], "Apollo");
    // Removing someone from a project keeps them in the company.
    app.admin(Method::DELETE, &format!("/projects/{pid}/members/{member}"), None).await.expect(200);
    let shown = app.admin(Method::GET, &format!("/people/{member}"), None).await.expect(200).body;
    assert_eq!((shown["state"].as_str(), shown["projects"].as_array().unwrap().len()), (Some("invited"), 0));
    let outbox = app.admin(Method::GET, &format!("/outbox?person={member}"), None).await.expect(200).body;
    let kinds: Vec<&str> = outbox.as_array().unwrap().iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"project_role_changed") && kinds.contains(&"project_permissions_changed"), "{kinds:?}");
}

#[tokio::test]
async fn group_bindings_grant_and_take_back_only_what_the_group_gave() {
    let app = TestApp::new().await;
    let pid = project(&app, "Gemini").await;
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let gid = app.group("Engineers", &[&ann]).await;
    let b = app
        .admin(
            Method::PUT,
            &format!("/group-bindings/{gid}"),
            Some(json!({"projects": [{"project": pid, "role": "participant"}], "companyRole": "project_creator"})),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(b["groupDisplay"], "Engineers");
    let p = app.admin(Method::GET, &format!("/projects/{pid}"), None).await.expect(200).body;
    assert_eq!(members(&p), vec![(pid.clone(), "participant".to_owned(), vec![format!("group:{gid}")])]);
    let shown = app.admin(Method::GET, &format!("/people/{ann}"), None).await.expect(200).body;
    assert_eq!((shown["role"].as_str(), shown["assignedRole"].as_str()), (Some("project_creator"), Some("member")));
    assert_eq!(shown["roleFromGroup"], gid.as_str());
    let scim = app.get(&format!("/Users/{ann}?attributes=roles,{EXT}")).await.expect(200).body;
    assert_eq!(scim[EXT]["companyRole"], "project_creator");
    assert!(scim.get("roles").is_none(), "ann's identity provider sent no roles");
    let group = app.get(&format!("/Groups/{gid}")).await.expect(200).body;
    assert_eq!(group["urn:ietf:params:scim:schemas:extension:rollcall:2.0:Group"]["companyRole"], "project_creator");

    // Ann also gets a hand-set grant; Bob joins the group over SCIM.
    app.admin(Method::PUT, &format!("/projects/{pid}/members/{ann}"), Some(json!({}))).await.expect(200);
    let patch = |op: &str, who: &str| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": op, "path": format!("members[value eq \"{who}\"]")}]});
    app.patch(
        &format!("/Groups/{gid}"),
        json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": bob}]}]}),
    )
    .await
    .expect(200);
    let p = app.admin(Method::GET, &format!("/projects/{pid}"), None).await.expect(200).body;
    assert_eq!(p["members"].as_array().unwrap().len(), 2);
    // Leaving the group (a re-sync) removes only the group's grants.
    app.patch(&format!("/Groups/{gid}"), patch("remove", &ann)).await.expect(200);
    app.patch(&format!("/Groups/{gid}"), patch("remove", &bob)).await.expect(200);
    let p = app.admin(Method::GET, &format!("/projects/{pid}"), None).await.expect(200).body;
    assert_eq!(members(&p), vec![(pid.clone(), "participant".to_owned(), vec!["manual".to_owned()])]);
    let shown = app.admin(Method::GET, &format!("/people/{ann}"), None).await.expect(200).body;
    assert_eq!(shown["role"], "member");
    // A grant from a group cannot be removed by hand.
    app.patch(
        &format!("/Groups/{gid}"),
        json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": bob}]}]}),
    )
    .await
    .expect(200);
    let r = app.admin(Method::DELETE, &format!("/projects/{pid}/members/{bob}"), None).await.expect(409);
    assert_eq!(r.body["code"], "granted_by_group");
    let list = app.admin(Method::GET, "/group-bindings", None).await.expect(200).body;
    assert_eq!(list.as_array().unwrap().len(), 1);
    // "Everyone in group Admins is admin" counts for the last-admin rule.
    let admins = app.group("Admins", &[&bob]).await;
    app.admin(Method::PUT, &format!("/group-bindings/{admins}"), Some(json!({"companyRole": "admin"})))
        .await
        .expect(200);
    let r = app.admin(Method::POST, &format!("/people/{bob}/convert-to-contact"), Some(json!({}))).await.expect(409);
    assert_eq!(r.body["code"], "last_admin");
    app.admin(Method::PUT, &format!("/group-bindings/{admins}"), Some(json!({}))).await.expect(200);
    app.admin(Method::PUT, "/group-bindings/nope", Some(json!({}))).await.expect(404);
}
