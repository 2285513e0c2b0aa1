//! The JSON shapes, each as its system exports it.

use serde_json::json;

use super::*;

#[test]
fn reads_scim_users_with_groups_and_managers() {
    let doc = json!({"Resources": [
        {"id": "1", "externalId": "E1", "userName": "boss@x", "groups": [{"value": "g", "display": "Leads"}]},
        {"id": "2", "userName": "w@x", "active": false,
         "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "1"}}},
        {"id": "3", "userName": "BOSS@x"},
        7
    ]});
    let loaded = parse(&doc).unwrap();
    let d = loaded.directory;
    assert_eq!(d.people.len(), 2);
    assert_eq!(d.people[1].external_id.as_deref(), Some("2"));
    assert_eq!(d.people[1].get(Attr::Manager), Some("E1"));
    assert_eq!(d.people[1].get(Attr::Active), Some("false"));
    assert_eq!(d.groups[0].display_name, "Leads");
    let bad: Vec<String> = loaded.bad.iter().map(ToString::to_string).collect();
    assert_eq!(bad, vec!["record 3: userName \"BOSS@x\" appears twice", "record 4: not an object"]);
    // Only what the file has is synced.
    assert!(d.provided.contains(&Attr::Manager));
    assert!(!d.provided.contains(&Attr::Department), "{:?}", d.provided);
}

#[test]
fn reads_an_okta_export() {
    let doc = json!([
        {"id": "00u1", "status": "ACTIVE",
         "profile": {"login": "a@x", "firstName": "A", "email": "a@x", "employeeNumber": "42"}},
        {"id": "00u2", "status": "DEPROVISIONED", "profile": {"login": "b@x", "managerId": "00u1"}},
        {"id": "00u3", "status": "SUSPENDED", "profile": {"login": "c@x", "managerId": "42"}}
    ]);
    let d = parse(&doc).unwrap().directory;
    assert_eq!(d.people[0].get(Attr::GivenName), Some("A"));
    assert_eq!(d.people[1].get(Attr::Active), Some("false"));
    assert_eq!(d.people[1].get(Attr::Manager), Some("00u1"));
    assert_eq!(d.people[2].get(Attr::Manager), Some("00u1"), "by employee number");
    assert_eq!(d.people[2].get(Attr::Active), Some("false"));
    assert!(!d.provided.contains(&Attr::CompanyRole));
}

#[test]
fn reads_a_microsoft_graph_export() {
    let doc = json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users", "value": [
        {"id": "aa-1", "userPrincipalName": "ann@contoso.com", "givenName": "Ann", "surname": "Lee",
         "displayName": "Ann Lee", "mail": "ann@contoso.com", "department": "Sales", "accountEnabled": true,
         "memberOf": [{"@odata.type": "#microsoft.graph.group", "displayName": "Sales EMEA"},
                      {"@odata.type": "#microsoft.graph.directoryRole", "displayName": "Global Reader"}]},
        {"id": "bb-2", "userPrincipalName": "bob@contoso.com", "accountEnabled": false, "manager": {"id": "aa-1"}}
    ]});
    let d = parse(&doc).unwrap().directory;
    assert_eq!(d.people[0].external_id.as_deref(), Some("aa-1"));
    assert_eq!(d.people[0].get(Attr::FamilyName), Some("Lee"));
    assert_eq!(d.people[1].get(Attr::Active), Some("false"));
    assert_eq!(d.people[1].get(Attr::Manager), Some("aa-1"));
    assert_eq!(d.groups.len(), 1, "directory roles are not groups");
    assert_eq!(d.groups[0].display_name, "Sales EMEA");
    // A bare array of Graph users is recognised too.
    let bare = json!([{"id": "x", "userPrincipalName": "x@contoso.com"}]);
    assert_eq!(parse(&bare).unwrap().directory.people.len(), 1);
}

#[test]
fn reads_a_google_directory_export() {
    let doc = json!({"kind": "admin#directory#users", "users": [
        {"id": "101", "primaryEmail": "boss@example.com", "name": {"givenName": "Big", "familyName": "Boss", "fullName": "Big Boss"},
         "organizations": [{"department": "Ops", "primary": true}]},
        {"id": "102", "primaryEmail": "w@example.com", "suspended": true,
         "relations": [{"value": "Boss@example.com", "type": "manager"}]},
        {"id": "103", "primaryEmail": "gone@example.com", "archived": true,
         "relations": [{"value": "stranger@example.com", "type": "manager"}]}
    ]});
    let loaded = parse(&doc).unwrap();
    let d = loaded.directory;
    assert_eq!(d.people[0].get(Attr::DisplayName), Some("Big Boss"));
    assert_eq!(d.people[0].get(Attr::Department), Some("Ops"));
    assert_eq!(d.people[1].get(Attr::Active), Some("false"));
    assert_eq!(d.people[1].get(Attr::Manager), Some("101"), "the manager's e-mail, any case");
    assert_eq!(d.people[2].get(Attr::Active), Some("false"));
    // One manager outside the file: managers are left alone, and the run says so.
    assert!(!d.provided.contains(&Attr::Manager));
    assert_eq!(loaded.notes.len(), 1);
}

#[test]
fn other_shapes_are_refused() {
    assert!(parse(&json!({"people": []})).is_err());
    assert!(parse(&json!([{"login": "x"}])).is_err());
    assert!(parse(&json!("x")).is_err());
    assert_eq!(parse(&json!([])).unwrap().directory.people.len(), 0);
}
