//! The people lifecycle through the admin API: every transition and its rules, seats
//! (also under concurrency), the last admin, roles and permissions, the audit log.

use poem::http::Method;
use rollcall_tests::TestApp;
use serde_json::{json, Value};

async fn invite(app: &TestApp, email: &str, extra: Value) -> Value {
    let mut body = json!({"email": email});
    body.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
    app.admin(Method::POST, "/people/invite", Some(body)).await.expect(201).body
}

async fn act(app: &TestApp, id: &str, action: &str) -> rollcall_tests::Reply {
    app.admin(Method::POST, &format!("/people/{id}/{action}"), Some(json!({}))).await
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn invite_resend_accept_flow_states_and_audit() {
    let app = TestApp::new().await;
    let p = invite(&app, "ada@example.com", json!({"givenName": "Ada", "familyName": "Lovelace"})).await;
    assert_eq!(p["state"], "invited");
    assert_eq!(p["invitation"]["status"], "pending");
    assert_eq!(p["role"], "member");
    assert_eq!(p["userType"], "Employee");
    assert_eq!(p["seat"], true);
    let pid = id(&p);

    let found = app.admin(Method::GET, "/people?search=lovelace", None).await.expect(200).body;
    assert_eq!(found["total"], 1);
    let found = app.admin(Method::GET, "/people?search=username", None).await.expect(200).body;
    assert_eq!(found["total"], 0, "the search looks at names and e-mails, not at the document's keys");
    let found = app.admin(Method::GET, "/people?role=member&state=invited", None).await.expect(200).body;
    assert_eq!(found["total"], 1);

    // After 24 hours the invitation shows as not accepted; a resend gives a new 24 h.
    app.clock.advance(time::Duration::hours(25));
    let p = app.admin(Method::GET, &format!("/people/{pid}"), None).await.expect(200).body;
    assert_eq!(p["invitation"]["status"], "not_accepted");
    let list = app.admin(Method::GET, "/people?invitation=not_accepted", None).await.expect(200).body;
    assert_eq!((list["total"].as_u64(), list["items"][0]["id"].as_str()), (Some(1), Some(pid.as_str())));
    assert_eq!(app.admin(Method::GET, "/people?invitation=pending", None).await.body["total"], 0);
    app.admin(Method::GET, "/people?invitation=lost", None).await.expect(400);
    let p = act(&app, &pid, "resend").await.expect(200).body;
    assert_eq!(p["invitation"]["status"], "pending");

    // Add without sending: unsent until sent later.
    let q = invite(&app, "bob@example.com", json!({"send": false})).await;
    assert_eq!(q["invitation"]["status"], "unsent");
    assert_eq!(app.admin(Method::GET, "/people?invitation=unsent", None).await.body["total"], 1);
    let q = act(&app, &id(&q), "resend").await.expect(200).body;
    assert_eq!(q["invitation"]["status"], "pending");

    let log = app.admin(Method::GET, &format!("/audit?person={pid}"), None).await.expect(200).body;
    let actions: Vec<&str> = log.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["person.resend_invitation", "person.invite"]);
    assert_eq!(log[0]["before"]["state"], "invited");
    assert!(log[0]["actor"].as_str().unwrap().starts_with("token:"));
    let invites = app.admin(Method::GET, "/audit?action=person.invite", None).await.expect(200).body;
    assert_eq!(invites.as_array().unwrap().len(), 2);
    // By time: only what happened after the clock moved.
    let since = invites[0]["at"].as_str().unwrap().to_owned();
    let later = app.admin(Method::GET, &format!("/audit?since={since}&person={pid}"), None).await.expect(200).body;
    assert_eq!(later.as_array().unwrap().len(), 1, "{later}");
    let before = app.admin(Method::GET, &format!("/audit?until={since}"), None).await.expect(200).body;
    assert_eq!(before.as_array().unwrap().len(), 1, "only Ada's invitation came before: {before}");
    let r = app.admin(Method::GET, "/audit?since=yesterday", None).await.expect(400);
    assert_eq!(r.body["code"], "invalid_value");
}

#[tokio::test]
async fn illegal_transitions_are_refused_and_change_nothing() {
    let app = TestApp::new().await;
    let p = invite(&app, "c@example.com", json!({})).await;
    let pid = id(&p);
    let r = act(&app, &pid, "restore").await.expect(409);
    assert_eq!(r.body["code"], "illegal_transition");
    assert_eq!(r.body["message"], "cannot restore a person who is invited");
    let r = app
        .admin(Method::POST, &format!("/people/{pid}/convert-to-user"), Some(json!({"role": "member"})))
        .await
        .expect(409);
    assert_eq!(r.body["code"], "illegal_transition");
    act(&app, &pid, "cancel-invitation").await.expect(200);
    let r = act(&app, &pid, "resend").await.expect(409);
    assert_eq!(r.body["code"], "illegal_transition");
    let p = app.admin(Method::GET, &format!("/people/{pid}"), None).await.expect(200).body;
    assert_eq!(p["state"], "deleted");
    assert_eq!(p["seat"], false);
    app.admin(Method::GET, "/people/nope", None).await.expect(404);
}

#[tokio::test]
async fn contacts_convert_both_ways_and_keep_what_they_had() {
    let app = TestApp::new().await;
    let c = app
        .admin(Method::POST, "/people/contacts", Some(json!({"givenName": "Carl", "familyName": "Contact"})))
        .await
        .expect(201)
        .body;
    assert_eq!(c["state"], "contact");
    assert_eq!(c["seat"], false);
    let cid = id(&c);
    // No e-mail: a user needs one.
    let r = app
        .admin(Method::POST, &format!("/people/{cid}/convert-to-user"), Some(json!({"role": "member"})))
        .await
        .expect(400);
    assert_eq!(r.body["code"], "email_required");
    // `contact` is not a role.
    let r = app
        .admin(
            Method::POST,
            &format!("/people/{cid}/convert-to-user"),
            Some(json!({"role": "contact", "email": "carl@example.com"})),
        )
        .await
        .expect(400);
    assert_eq!(r.body["code"], "unknown_role");
    // An e-mail another person has is refused.
    invite(&app, "taken@example.com", json!({})).await;
    let r = app.admin(Method::POST, "/people/contacts", Some(json!({"email": "TAKEN@example.com"}))).await.expect(409);
    assert_eq!(r.body["code"], "email_taken");
    let r = app
        .admin(
            Method::POST,
            &format!("/people/{cid}/convert-to-user"),
            Some(json!({"role": "member", "email": "Taken@example.com"})),
        )
        .await
        .expect(409);
    assert_eq!(r.body["code"], "email_taken");
    let u = app
        .admin(
            Method::POST,
            &format!("/people/{cid}/convert-to-user"),
            Some(json!({"role": "project_creator", "email": "carl@example.com", "userType": "Contractor"})),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(
        (u["state"].as_str(), u["role"].as_str(), u["userType"].as_str()),
        (Some("invited"), Some("project_creator"), Some("Contractor"))
    );
    assert_eq!(u["invitation"]["status"], "pending");

    // User → contact keeps role, permissions and projects.
    app.admin(Method::PUT, &format!("/people/{cid}/permissions"), Some(json!({"permissions": ["crm.leads"]})))
        .await
        .expect(200);
    let project = app.admin(Method::POST, "/projects", Some(json!({"name": "Apollo"}))).await.expect(200).body;
    let proj = id(&project);
    app.admin(Method::PUT, &format!("/projects/{proj}/members/{cid}"), Some(json!({"role": "participant"})))
        .await
        .expect(200);
    let back = act(&app, &cid, "convert-to-contact").await.expect(200).body;
    assert_eq!(back["state"], "contact");
    assert_eq!(back["extraPermissions"], json!(["crm.leads"]));
    assert_eq!(back["projects"][0]["projectName"], "Apollo");
    assert_eq!(back["assignedRole"], "project_creator");
}

#[tokio::test]
async fn delete_hides_and_restore_brings_back_with_a_new_link() {
    let app = TestApp::new().await;
    let p = invite(&app, "d@example.com", json!({})).await;
    let pid = id(&p);
    act(&app, &pid, "accept-nothing").await.expect(404);
    app.admin(Method::DELETE, &format!("/people/{pid}"), None).await.expect(200);
    let list = app.admin(Method::GET, "/people", None).await.expect(200).body;
    assert_eq!(list["total"], 0, "archived people are hidden");
    let list = app.admin(Method::GET, "/people?archived=true", None).await.expect(200).body;
    assert_eq!(list["total"], 1);
    let list = app.admin(Method::GET, "/people?state=deleted", None).await.expect(200).body;
    assert_eq!(list["items"][0]["id"], pid);
    let r = act(&app, &pid, "restore").await.expect(200).body;
    assert_eq!(r["state"], "invited");
    assert_eq!(r["invitation"]["status"], "pending");
    let search = app.admin(Method::GET, "/people?search=D%40EXAMPLE", None).await.expect(200).body;
    assert_eq!(search["total"], 1);
    let outbox = app.admin(Method::GET, &format!("/outbox?person={pid}"), None).await.expect(200).body;
    let kinds: Vec<&str> = outbox.as_array().unwrap().iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["restored", "deleted", "invitation"]);
}

#[tokio::test]
async fn seat_limits_are_enforced_and_partners_and_clients_are_free() {
    let app = TestApp::new().await;
    app.admin(Method::PUT, "/seats", Some(json!({"limit": 2}))).await.expect(200);
    invite(&app, "s1@example.com", json!({})).await;
    invite(&app, "partner@example.com", json!({"partner": true})).await;
    invite(&app, "client@example.com", json!({"userType": "Client"})).await;
    let second = invite(&app, "s2@example.com", json!({"userType": "Contractor"})).await;
    let r = app.admin(Method::POST, "/people/invite", Some(json!({"email": "s3@example.com"}))).await.expect(403);
    assert_eq!(r.body["code"], "seat_limit_reached");
    let seats = app.admin(Method::GET, "/seats", None).await.expect(200).body;
    assert_eq!(seats, json!({"limit": 2, "used": 2, "free": 0}));
    let list = app.admin(Method::GET, "/people?search=s3", None).await.expect(200).body;
    assert_eq!(list["total"], 0, "a refused invite leaves nothing behind");
    // Turning a client into an employee needs a seat too.
    let clients = app.admin(Method::GET, "/people?search=client", None).await.expect(200).body;
    let r = app
        .admin(
            Method::PATCH,
            &format!("/people/{}/profile", id(&clients["items"][0])),
            Some(json!({"userType": "Employee"})),
        )
        .await
        .expect(403);
    assert_eq!(r.body["code"], "seat_limit_reached");
    // Cancelling an invitation frees the seat.
    act(&app, &id(&second), "cancel-invitation").await.expect(200);
    invite(&app, "s3@example.com", json!({})).await;
    app.admin(Method::PUT, "/seats", Some(json!({"limit": null}))).await.expect(200);
    invite(&app, "s4@example.com", json!({})).await;
}

/// 20 invitations at once for 5 free seats, through two replicas: exactly 5 succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn seat_limit_holds_under_concurrency() {
    let app = TestApp::new().await;
    app.admin(Method::PUT, "/seats", Some(json!({"limit": 5}))).await.expect(200);
    let replica = app.replica().await;
    let token = app.token.clone();
    let calls = (0..20).map(|i| {
        let body = json!({"email": format!("p{i}@example.com")}).to_string();
        let req = if i % 2 == 0 {
            app.client.post("/admin/v1/people/invite")
        } else {
            replica.post("/admin/v1/people/invite")
        };
        let req = req.header("Authorization", format!("Bearer {token}")).content_type("application/json").body(body);
        async move { req.send().await.0.status().as_u16() }
    });
    let statuses = futures_util::future::join_all(calls).await;
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 403).count(), 15, "{statuses:?}");
    let seats = app.admin(Method::GET, "/seats", None).await.expect(200).body;
    assert_eq!(seats["used"], 5);
}

#[tokio::test]
async fn the_last_admin_cannot_be_deleted_demoted_or_made_a_contact() {
    let app = TestApp::new().await;
    let a = invite(&app, "admin@example.com", json!({"role": "admin"})).await;
    let aid = id(&a);
    for (method, path, body) in [
        (Method::DELETE, format!("/people/{aid}"), None),
        (Method::PUT, format!("/people/{aid}/role"), Some(json!({"role": "member"}))),
        (Method::POST, format!("/people/{aid}/convert-to-contact"), Some(json!({}))),
        (Method::POST, format!("/people/{aid}/cancel-invitation"), Some(json!({}))),
    ] {
        let r = app.admin(method, &path, body).await.expect(409);
        assert_eq!(r.body["code"], "last_admin");
    }
    invite(&app, "admin2@example.com", json!({"role": "admin"})).await;
    let demoted =
        app.admin(Method::PUT, &format!("/people/{aid}/role"), Some(json!({"role": "member"}))).await.expect(200).body;
    assert_eq!(demoted["role"], "member");
}

#[tokio::test]
async fn permissions_depend_on_the_role() {
    let app = TestApp::new().await;
    let p = invite(&app, "m@example.com", json!({})).await;
    let pid = id(&p);
    let r = app
        .admin(Method::PUT, &format!("/people/{pid}/permissions"), Some(json!({"permissions": ["billing"]})))
        .await
        .expect(400);
    assert_eq!(r.body["code"], "permission_not_allowed");
    let r = app
        .admin(Method::PUT, &format!("/people/{pid}/permissions"), Some(json!({"permissions": ["fly"]})))
        .await
        .expect(400);
    assert_eq!(r.body["code"], "unknown_permission");
    let p = app
        .admin(
            Method::PUT,
            &format!("/people/{pid}/permissions"),
            Some(json!({"permissions": ["crm.leads", "reports"]})),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(p["permissions"], json!(["crm.leads", "reports", "tasks"]));
    // A new role keeps only the extras it allows.
    let p = app
        .admin(Method::PUT, &format!("/people/{pid}/role"), Some(json!({"role": "project_creator"})))
        .await
        .expect(200)
        .body;
    assert_eq!(p["extraPermissions"], json!(["crm.leads"]));
    let r = app.admin(Method::PUT, &format!("/people/{pid}/role"), Some(json!({"role": "pilot"}))).await.expect(400);
    assert_eq!(r.body["code"], "unknown_role");
    // Tenants add roles.
    app.admin(
        Method::PUT,
        "/roles",
        Some(json!({"name": "sales_rep", "defaults": ["crm.contacts", "crm.leads"], "grantable": ["reports"]})),
    )
    .await
    .expect(200);
    let p = app
        .admin(Method::PUT, &format!("/people/{pid}/role"), Some(json!({"role": "sales_rep"})))
        .await
        .expect(200)
        .body;
    assert_eq!(p["permissions"], json!(["crm.contacts", "crm.leads"]));
    let r = app.admin(Method::DELETE, "/roles/sales_rep", None).await.expect(409);
    assert_eq!(r.body["code"], "role_in_use");
    let roles = app.admin(Method::GET, "/roles", None).await.expect(200).body;
    assert_eq!(roles.as_array().unwrap().len(), 4);
    // Role and permission changes are told to the person.
    let outbox = app.admin(Method::GET, &format!("/outbox?person={pid}&status=pending"), None).await.expect(200).body;
    let kinds: Vec<&str> = outbox.as_array().unwrap().iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["role_changed", "role_changed", "permissions_changed", "invitation"]);
}

#[tokio::test]
async fn the_admin_api_needs_the_admin_scope_and_answers_json_errors() {
    let app = TestApp::new().await;
    let r = app.send(Method::GET, "/admin/v1/people", None, None, &[]).await.expect(401);
    assert_eq!(r.body["code"], "unauthorized");
    let scim_only = scim_server::domain::tenant::create_token(
        app.store.as_ref(),
        "default",
        vec![scim_server::domain::tenant::Scope::ScimRead, scim_server::domain::tenant::Scope::ScimWrite],
        None,
        time::OffsetDateTime::now_utc(),
    )
    .await
    .unwrap()
    .0;
    let r = app.send(Method::GET, "/admin/v1/people", None, Some(&scim_only), &[]).await.expect(403);
    assert_eq!(r.body["code"], "forbidden");
    let r =
        app.send(Method::POST, "/admin/v1/people/invite", Some(json!("nope")), Some(&app.token), &[]).await.expect(400);
    assert!(r.body["code"].is_string() && r.body["message"].is_string(), "{}", r.body);
    let r = app.admin(Method::GET, "/nowhere", None).await.expect(404);
    assert_eq!(r.body["code"], "not_found");
    let big = "x".repeat(2 * 1024 * 1024);
    let r = app.admin(Method::POST, "/people/invite", Some(json!({"email": big}))).await.expect(413);
    assert_eq!(r.body["code"], "too_large");
    let r = app.send(Method::POST, "/auth/login", Some(json!({"tenant": big})), None, &[]).await.expect(413);
    assert_eq!(r.body["code"], "too_large");
    // Another tenant sees none of this tenant's people.
    invite(&app, "mine@example.com", json!({})).await;
    let other = app.tenant("other").await;
    let r = app.send(Method::GET, "/admin/v1/people", None, Some(&other), &[]).await.expect(200);
    assert_eq!(r.body["total"], 0);
}

#[tokio::test]
async fn bulk_invite_reports_each_address() {
    let app = TestApp::new().await;
    invite(&app, "dup@example.com", json!({})).await;
    let r = app
        .admin(Method::POST, "/people/bulk-invite", Some(json!({"emails": ["x1@example.com", "dup@example.com", "not-an-email", "x2@example.com"], "userType": "Client"})))
        .await
        .expect(200)
        .body;
    assert_eq!((r["invited"].as_u64(), r["failed"].as_u64()), (Some(2), Some(2)));
    assert_eq!(r["results"][1]["error"]["code"], "email_taken");
    assert_eq!(r["results"][2]["error"]["code"], "invalid_value");
}

#[tokio::test]
async fn csv_import_reports_bad_lines_and_can_be_all_or_nothing() {
    let app = TestApp::new().await;
    let csv = "email,givenName,familyName,userType,role\n\
               a@example.com,Ann,A,Employee,member\n\
               bad-address,Bob,B,Employee,member\n\
               c@example.com,Cy,C,Intern,member\n\
               d@example.com,Di,D,Client,pilot\n\
               a@example.com,Ann,Again,Employee,member\n";
    let r = app.admin_csv("/import/users?all_or_nothing=true", csv).await.expect(200).body;
    assert_eq!(r["imported"], 0);
    let lines: Vec<u64> = r["errors"].as_array().unwrap().iter().map(|e| e["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, vec![3, 4, 6], "{}", r);
    assert_eq!(app.admin(Method::GET, "/people", None).await.body["total"], 0);
    let r = app.admin_csv("/import/users", csv).await.expect(200).body;
    assert_eq!(r["imported"], 1, "{r}");
    let lines: Vec<u64> = r["errors"].as_array().unwrap().iter().map(|e| e["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, vec![3, 4, 5, 6], "{r}");
    assert!(r["errors"][2]["reason"].as_str().unwrap().contains("pilot"));
    let contacts = "givenName,familyName,email\nZoe,Z,\nYan,Y,yan@example.com\n,,\n";
    let r = app.admin_csv("/import/contacts", contacts).await.expect(200).body;
    assert_eq!(r["imported"], 2);
    assert_eq!(r["errors"][0]["line"], 4);
    let r = app.admin_csv("/import/users", "mail,name\nx,y\n").await.expect(400);
    assert_eq!(r.body["code"], "invalid_value");
}
