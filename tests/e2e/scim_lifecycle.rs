//! The lifecycle as SCIM clients see it: POST invites (or activates, by policy), `active:
//! false` makes a contact (or archives), `active: true` converts a contact back, DELETE
//! archives and a POST of the same userName or externalId restores; roles and seats.

use poem::http::Method;
use rollcall_tests::TestApp;
use serde_json::{json, Value};

const EXT: &str = "urn:ietf:params:scim:schemas:extension:rollcall:2.0:User";
/// The lifecycle attributes are returned on request.
const WITH_EXT: &str =
    "?attributes=userName,active,userType,roles,urn:ietf:params:scim:schemas:extension:rollcall:2.0:User";

fn user(name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "externalId": format!("ext-{name}"),
        "emails": [{"value": format!("{name}@example.com"), "primary": true}],
    })
}

async fn deactivate(app: &TestApp, id: &str) -> rollcall_tests::Reply {
    app.patch(&format!("/Users/{id}{WITH_EXT}"), json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "value": {"active": false}}]}))
        .await
}

async fn activate(app: &TestApp, id: &str) -> rollcall_tests::Reply {
    app.patch(&format!("/Users/{id}{WITH_EXT}"), json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "active", "value": true}]}))
        .await
}

#[tokio::test]
async fn default_policies_map_active_to_the_lifecycle() {
    let app = TestApp::new().await;
    let r = app.post(&format!("/Users{WITH_EXT}"), user("ann")).await.expect(201).body;
    let id = r["id"].as_str().unwrap().to_owned();
    assert_eq!(r["active"], true);
    assert_eq!(r[EXT]["state"], "invited");
    assert_eq!(r[EXT]["invitation"]["status"], "pending");
    assert!(r["schemas"].as_array().unwrap().contains(&json!(EXT)));
    let r = deactivate(&app, &id).await.expect(200).body;
    assert_eq!((r["active"].as_bool(), r[EXT]["state"].as_str()), (Some(false), Some("contact")));
    assert_eq!(r[EXT]["seat"], false);
    let r = activate(&app, &id).await.expect(200).body;
    assert_eq!((r["active"].as_bool(), r[EXT]["state"].as_str()), (Some(true), Some("invited")));
    // A POST with active false adds a contact.
    let r = app.post(&format!("/Users{WITH_EXT}"), json!({"userName": "cora", "active": false})).await.expect(201).body;
    assert_eq!(r[EXT]["state"], "contact");
    // Filters on `active` follow the state.
    let r = app.get("/Users?filter=active%20eq%20false").await.expect(200).body;
    assert_eq!(r["totalResults"], 1);
    let log = app.admin(Method::GET, &format!("/audit?person={id}"), None).await.expect(200).body;
    let actions: Vec<&str> = log.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["person.convert_to_user", "person.convert_to_contact", "person.invite"]);
}

#[tokio::test]
async fn tenant_policies_change_what_scim_does() {
    let app = TestApp::new().await;
    let p = app
        .admin(Method::PUT, "/policies", Some(json!({"scimCreate": "active", "scimDeactivate": "deleted", "scimReactivate": "active", "sendInvitations": false})))
        .await
        .expect(200)
        .body;
    assert_eq!(p["scimCreate"], "active");
    let r = app.post(&format!("/Users{WITH_EXT}"), user("sso")).await.expect(201).body;
    let id = r["id"].as_str().unwrap().to_owned();
    assert_eq!(r[EXT]["state"], "active");
    let outbox = app.admin(Method::GET, "/outbox", None).await.expect(200).body;
    assert_eq!(outbox.as_array().unwrap().len(), 0, "no invitation mail when the policy says so");
    deactivate(&app, &id).await.expect(200);
    app.get(&format!("/Users/{id}")).await.expect(404);
    let contact = app
        .post("/Users", json!({"userName": "c2", "active": false, "emails": [{"value": "c2@example.com"}]}))
        .await
        .expect(201)
        .body;
    let r = activate(&app, contact["id"].as_str().unwrap()).await.expect(200).body;
    assert_eq!(r[EXT]["state"], "active");
    let r = app.admin(Method::PUT, "/policies", Some(json!({"scimDeactivate": "archive"}))).await.expect(400);
    assert_eq!(r.body["code"], "invalid_value");
}

#[tokio::test]
async fn delete_archives_and_a_post_of_the_same_person_restores_them() {
    let app = TestApp::new().await;
    let first = app.post(&format!("/Users{WITH_EXT}"), user("rae")).await.expect(201).body;
    let id = first["id"].as_str().unwrap().to_owned();
    let project = app.admin(Method::POST, "/projects", Some(json!({"name": "Kept"}))).await.expect(200).body;
    let pid = project["id"].as_str().unwrap();
    app.admin(Method::PUT, &format!("/projects/{pid}/members/{id}"), Some(json!({}))).await.expect(200);
    app.delete(&format!("/Users/{id}")).await.expect(204);
    app.get(&format!("/Users/{id}")).await.expect(404);
    let archived = app.admin(Method::GET, &format!("/people/{id}"), None).await.expect(200).body;
    assert_eq!(archived["state"], "deleted");
    // Same externalId, another userName: the same person comes back, not a duplicate.
    let mut again = user("rae");
    again["userName"] = json!("rae.renamed");
    let back = app.post(&format!("/Users{WITH_EXT}"), again).await.expect(201).body;
    assert_eq!(back["id"], id);
    assert_eq!(back["userName"], "rae.renamed");
    assert_eq!(back[EXT]["state"], "invited");
    assert_eq!(back[EXT]["projects"][0]["display"], "Kept");
    let log = app.admin(Method::GET, &format!("/audit?person={id}"), None).await.expect(200).body;
    assert_eq!(log[0]["action"], "person.restore");
    assert_eq!(app.get("/Users").await.body["totalResults"], 1);
}

#[tokio::test]
async fn roles_and_company_role_carry_the_same_role() {
    let app = TestApp::new().await;
    let mut body = user("rob");
    body["roles"] = json!([{"value": "project_creator", "primary": true, "display": "PC"}]);
    body["userType"] = json!("Contractor");
    body[EXT] = json!({"partner": true, "state": "active", "companyRole": "admin"});
    let r = app.post(&format!("/Users{WITH_EXT}"), body).await.expect(201).body;
    let id = r["id"].as_str().unwrap().to_owned();
    assert_eq!(r["roles"], json!([{"value": "project_creator", "primary": true, "display": "PC"}]));
    assert_eq!(r[EXT]["companyRole"], "project_creator");
    assert_eq!(r[EXT]["state"], "invited", "read-only attributes are ignored");
    assert_eq!(r[EXT]["partner"], true);
    assert_eq!(r[EXT]["seat"], false, "partners take no seat");
    assert_eq!(r["userType"], "Contractor");
    let r = app
        .patch(
            &format!("/Users/{id}{WITH_EXT}"),
            json!({"Operations": [{"op": "replace", "path": "roles[primary eq true].value", "value": "admin"}]}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(r[EXT]["companyRole"], "admin");
    let person = app.admin(Method::GET, &format!("/people/{id}"), None).await.expect(200).body;
    assert_eq!(person["role"], "admin");
    let r = app
        .post(&format!("/Users{WITH_EXT}"), json!({"userName": "x", "roles": [{"value": "pilot", "primary": true}]}))
        .await
        .expect(400);
    assert_eq!(r.body["scimType"], "invalidValue");
    let r = app.post(&format!("/Users{WITH_EXT}"), json!({"userName": "y", "userType": "Intern"})).await.expect(400);
    assert_eq!(r.body["scimType"], "invalidValue");
    // Entra's empty roles get the default role; without `roles` the role is not shown there,
    // and the extension only comes when asked for.
    let r = app.post(&format!("/Users{WITH_EXT}"), json!({"userName": "z", "roles": []})).await.expect(201).body;
    assert_eq!(r[EXT]["companyRole"], "member");
    assert!(r.get("roles").is_none());
    let plain = app.get(&format!("/Users/{}", r["id"].as_str().unwrap())).await.expect(200).body;
    assert!(plain.get(EXT).is_none() && plain.get("userType").is_none());
    // What the admin API sets is shown to SCIM clients.
    app.admin(
        Method::PUT,
        &format!("/people/{}/role", r["id"].as_str().unwrap()),
        Some(json!({"role": "project_creator"})),
    )
    .await
    .expect(200);
    let plain = app.get(&format!("/Users/{}", r["id"].as_str().unwrap())).await.expect(200).body;
    assert_eq!(plain["roles"], json!([{"value": "project_creator", "primary": true}]));
}

#[tokio::test]
async fn seat_limits_apply_to_scim_writes() {
    let app = TestApp::new().await;
    app.admin(Method::PUT, "/seats", Some(json!({"limit": 1}))).await.expect(200);
    app.post(&format!("/Users{WITH_EXT}"), user("one")).await.expect(201);
    let r = app.post(&format!("/Users{WITH_EXT}"), user("two")).await.expect(403);
    assert_eq!(r.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
    assert!(r.body["detail"].as_str().unwrap().contains("seats"));
    assert_eq!(app.get("/Users?filter=userName%20eq%20%22two%22").await.body["totalResults"], 0);
    let contact =
        app.post(&format!("/Users{WITH_EXT}"), json!({"userName": "three", "active": false})).await.expect(201).body;
    activate(&app, contact["id"].as_str().unwrap()).await.expect(403);
    let client = app
        .post(&format!("/Users{WITH_EXT}"), json!({"userName": "four", "userType": "Client"}))
        .await
        .expect(201)
        .body;
    let r = app
        .put(&format!("/Users/{}", client["id"].as_str().unwrap()), json!({"userName": "four", "userType": "Employee"}))
        .await
        .expect(403);
    assert!(r.body["detail"].is_string());
}

#[tokio::test]
async fn discovery_lists_the_rollcall_extensions_truthfully() {
    let app = TestApp::new().await;
    let types = app.get("/ResourceTypes/User").await.expect(200).body;
    let exts: Vec<&str> =
        types["schemaExtensions"].as_array().unwrap().iter().map(|e| e["schema"].as_str().unwrap()).collect();
    assert!(exts.contains(&EXT));
    let schema = app.get(&format!("/Schemas/{EXT}")).await.expect(200).body;
    let mutability = |name: &str| {
        schema["attributes"].as_array().unwrap().iter().find(|a| a["name"] == name).unwrap()["mutability"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(mutability("seat"), "readOnly");
    assert_eq!(mutability("state"), "readOnly");
    assert_eq!(mutability("partner"), "readWrite");
    let r = app.get(&format!("/Users?filter={EXT}:state%20eq%20%22invited%22")).await.expect(400);
    assert_eq!(r.body["scimType"], "invalidFilter");
    let group = app.get("/ResourceTypes/Group").await.expect(200).body;
    assert_eq!(group["schemaExtensions"][0]["schema"], "urn:ietf:params:scim:schemas:extension:rollcall:2.0:Group");
}

#[tokio::test]
async fn the_group_extension_comes_back_when_declared_and_shows_bindings() {
    let app = TestApp::new().await;
    let gext = "urn:ietf:params:scim:schemas:extension:rollcall:2.0:Group";
    let g = app.post("/Groups", json!({"displayName": "Plain"})).await.expect(201).body;
    assert!(g.get(gext).is_none());
    let g =
        app.post("/Groups", json!({"displayName": "Declared", gext: {"companyRole": "admin"}})).await.expect(201).body;
    assert_eq!(g[gext], json!({}), "read-only attributes are not written");
    let id = g["id"].as_str().unwrap().to_owned();
    let r = app
        .patch(&format!("/Groups/{id}"), json!({"Operations": [{"op": "remove", "path": gext}]}))
        .await
        .expect(200)
        .body;
    assert!(r.get(gext).is_none());
    assert!(!r["schemas"].as_array().unwrap().contains(&json!(gext)));
    app.admin(Method::PUT, &format!("/group-bindings/{id}"), Some(json!({"companyRole": "member"}))).await.expect(200);
    let r = app.get(&format!("/Groups/{id}")).await.expect(200).body;
    assert_eq!(r[gext], json!({"companyRole": "member"}));
}

/// The store reads whether a group is bound with the group itself, and the answer of one it
/// found unbound skips reading the bindings: every way of reading or writing a group must
/// still show a binding made through the admin API, and none must show one on a group
/// without.
#[tokio::test]
async fn every_answer_of_a_bound_group_shows_its_binding() {
    let app = TestApp::new().await;
    let gext = "urn:ietf:params:scim:schemas:extension:rollcall:2.0:Group";
    let ann = app.user("ann").await;
    let bound = app.group("Bound", &[]).await;
    let plain = app.group("Plain", &[]).await;
    app.admin(Method::PUT, &format!("/group-bindings/{bound}"), Some(json!({"companyRole": "admin"})))
        .await
        .expect(200);
    let add = json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": ann}]}]});
    for (id, name, shown) in [(&bound, "Bound", Some(json!({"companyRole": "admin"}))), (&plain, "Plain", None)] {
        let answers = vec![
            ("get", app.get(&format!("/Groups/{id}")).await.expect(200).body),
            (
                "displayName eq",
                app.get(&format!("/Groups?filter=displayName%20eq%20%22{name}%22")).await.expect(200).body["Resources"]
                    [0]
                .clone(),
            ),
            (
                "filter",
                app.get(&format!("/Groups?filter=displayName%20sw%20%22{name}%22")).await.expect(200).body["Resources"]
                    [0]
                .clone(),
            ),
            (
                "patch",
                app.patch(&format!("/Groups/{id}?excludedAttributes=members"), add.clone()).await.expect(200).body,
            ),
            (
                "put",
                app.put(&format!("/Groups/{id}"), json!({"displayName": name, "members": [{"value": ann}]}))
                    .await
                    .expect(200)
                    .body,
            ),
        ];
        let mut pages = app.get("/Groups?count=10").await.expect(200).body["Resources"].as_array().unwrap().clone();
        pages.extend(
            app.get("/Groups?count=10&cursor=").await.expect(200).body["Resources"].as_array().unwrap().clone(),
        );
        let in_pages: Vec<Value> = pages.into_iter().filter(|g| g["id"] == id.as_str()).collect();
        assert_eq!(in_pages.len(), 2, "{name} is on the index page and on the cursor page");
        for (how, answer) in answers.into_iter().chain(in_pages.into_iter().map(|g| ("page", g))) {
            assert_eq!(answer["id"], id.as_str(), "{how}");
            assert_eq!(answer.get(gext).cloned(), shown, "{name} read by {how}");
        }
    }
}

/// One User read by id, by an equality lookup, in a page of the whole tenant, in a filtered
/// page and by a search.
async fn reads(app: &TestApp, id: &str) -> Vec<Value> {
    vec![
        app.get(&format!("/Users/{id}")).await.expect(200).body,
        app.get("/Users?filter=userName%20eq%20%22gia%22").await.expect(200).body["Resources"][0].clone(),
        app.get("/Users?count=10").await.expect(200).body["Resources"][0].clone(),
        app.get("/Users?filter=userType%20eq%20%22Contractor%22").await.expect(200).body["Resources"][0].clone(),
        app.post("/Users/.search", json!({"filter": "userName sw \"gi\""})).await.expect(200).body["Resources"][0]
            .clone(),
    ]
}

/// Whether the admin API lists person `id` under `role`.
async fn listed(app: &TestApp, role: &str, id: &str) -> bool {
    let body = app.admin(Method::GET, &format!("/people?role={role}"), None).await.expect(200).body;
    body["items"].as_array().expect("items").iter().any(|p| p["id"] == json!(id))
}

/// Every way of reading a User answers what the lifecycle says, read with the document: by
/// id, an equality lookup, a page of the whole tenant, a filtered page and a search.
#[tokio::test]
async fn every_read_answers_the_role_in_force() {
    let app = TestApp::new().await;
    let mut body = user("gia");
    body["roles"] = json!([{"value": "member", "primary": true}]);
    body["userType"] = json!("Contractor");
    body[EXT] = json!({"partner": true});
    let id = app.post("/Users", body).await.expect(201).body["id"].as_str().unwrap().to_owned();
    let primary = |u: &Value| {
        u["roles"].as_array().and_then(|l| l.iter().find(|r| r["primary"] == true)).map(|r| r["value"].clone())
    };
    for u in reads(&app, &id).await {
        assert_eq!(primary(&u), Some(json!("member")), "{u}");
        assert_eq!(
            (&u["active"], &u["userType"], &u[EXT]["partner"]),
            (&json!(true), &json!("Contractor"), &json!(true))
        );
    }
    // "Everyone in group Admins is admin": the group's role wins over the one set by hand.
    let admins = app.group("Admins", &[&id]).await;
    app.admin(Method::PUT, &format!("/group-bindings/{admins}"), Some(json!({"companyRole": "admin"})))
        .await
        .expect(200);
    let zeta = app.group("Zeta", &[&id]).await;
    for u in reads(&app, &id).await {
        assert_eq!(primary(&u), Some(json!("admin")), "{u}");
        // Its groups come with it, in display-name order.
        let groups: Vec<(&str, &str)> = u["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .map(|g| (g["value"].as_str().unwrap(), g["display"].as_str().unwrap()))
            .collect();
        assert_eq!(groups, vec![(admins.as_str(), "Admins"), (zeta.as_str(), "Zeta")], "{u}");
    }
    // The admin API lists people by the role in force too.
    assert!(listed(&app, "admin", &id).await, "listed as admin through the group");
    assert!(!listed(&app, "member", &id).await, "no longer listed under the role set by hand");
    app.admin(Method::PUT, &format!("/group-bindings/{admins}"), Some(json!({}))).await.expect(200);
    deactivate(&app, &id).await.expect(200);
    for u in reads(&app, &id).await {
        assert_eq!(primary(&u), Some(json!("member")), "{u}");
        assert_eq!(u["active"], false, "a contact is inactive: {u}");
    }
}
