//! The JSON source. Two shapes are read:
//!
//! - **SCIM Users**: an array of SCIM User resources, or a SCIM ListResponse
//!   (`{"Resources": [...]}`). A user's key is its `externalId`, else its `id`; `manager.value`
//!   is resolved through the file's ids; group memberships come from each user's
//!   `groups[].display`.
//! - **Okta's user export** (an array as `GET /api/v1/users` answers it): key = Okta `id`,
//!   `profile.login` → userName, `firstName`, `lastName`, `displayName`, `email`, `userType`,
//!   `department`; `profile.managerId` is the manager's Okta `id`; `status` `DEPROVISIONED`
//!   or `SUSPENDED` → inactive. Okta's export has no groups.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::scim::{person_from_resource, resolve_managers};
use super::{check_unique, groups_from_names, Attr, BadRecord, Directory, Loaded, Person};

/// Why a JSON file could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path} is not JSON: {source}")]
    Syntax { path: String, source: serde_json::Error },
    #[error("{0}")]
    Shape(String),
}

/// Reads a JSON export.
pub fn load(path: &str) -> Result<Loaded, JsonError> {
    let text = std::fs::read(path).map_err(|source| JsonError::Io { path: path.to_owned(), source })?;
    let doc: Value =
        serde_json::from_slice(&text).map_err(|source| JsonError::Syntax { path: path.to_owned(), source })?;
    parse(&doc)
}

/// Reads an already-parsed export.
pub fn parse(doc: &Value) -> Result<Loaded, JsonError> {
    let records = match doc {
        Value::Array(items) => items.as_slice(),
        Value::Object(o) => o.get("Resources").and_then(Value::as_array).map(Vec::as_slice).ok_or_else(|| {
            JsonError::Shape("expected an array of users or a SCIM ListResponse with Resources".into())
        })?,
        _ => return Err(JsonError::Shape("expected an array of users".into())),
    };
    let okta = records.first().is_some_and(|r| r.get("profile").is_some_and(Value::is_object));
    let mut people: Vec<(String, Person, Vec<String>)> = Vec::new();
    let mut bad = Vec::new();
    for (i, record) in records.iter().enumerate() {
        let line = i as u64 + 1;
        if !record.is_object() {
            bad.push(BadRecord { line, reason: "not an object".into() });
            continue;
        }
        let id = record.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
        if okta {
            people.push((id, from_okta(record), Vec::new()));
        } else {
            let groups = record
                .get("groups")
                .and_then(Value::as_array)
                .map(|gs| gs.iter().filter_map(|g| g.get("display")?.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            people.push((id, person_from_resource(record, true), groups));
        }
    }
    let mut pairs: Vec<(String, Person)> = people.iter().map(|(id, p, _)| (id.clone(), p.clone())).collect();
    // Okta's managerId already holds the manager's Okta id, which is the key.
    if !okta {
        resolve_managers(&mut pairs);
    }
    let (mut seen_ids, mut seen_names) = (BTreeSet::new(), BTreeSet::new());
    let mut directory = Directory::default();
    let mut memberships = Vec::new();
    for (i, ((_, person), (_, _, groups))) in pairs.into_iter().zip(&people).enumerate() {
        if let Err(reason) = check_unique(&person, &mut seen_ids, &mut seen_names) {
            bad.push(BadRecord { line: i as u64 + 1, reason });
            continue;
        }
        let key = person.external_id.clone().unwrap_or_default();
        memberships.extend(groups.iter().map(|g| (key.clone(), g.clone())));
        directory.people.push(person);
    }
    directory.groups = groups_from_names(memberships.iter().map(|(k, g)| (k.as_str(), g.as_str())));
    directory.provided = Attr::ALL.into_iter().collect();
    if okta {
        directory.provided.remove(&Attr::CompanyRole);
    }
    if directory.people.iter().any(|p| p.get(Attr::Manager).is_some_and(|m| m.starts_with("id:"))) {
        directory.provided.remove(&Attr::Manager);
    }
    bad.sort_by_key(|b| b.line);
    Ok(Loaded { directory, bad })
}

fn from_okta(record: &Value) -> Person {
    let profile = record.get("profile");
    let field =
        |k: &str| profile.and_then(|p| p.get(k)).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let status = record.get("status").and_then(Value::as_str).unwrap_or("ACTIVE");
    let active = !matches!(status, "DEPROVISIONED" | "SUSPENDED");
    let mut attrs = BTreeMap::new();
    for (attr, key) in [
        (Attr::UserName, "login"),
        (Attr::GivenName, "firstName"),
        (Attr::FamilyName, "lastName"),
        (Attr::DisplayName, "displayName"),
        (Attr::Email, "email"),
        (Attr::UserType, "userType"),
        (Attr::Department, "department"),
        (Attr::Manager, "managerId"),
    ] {
        if let Some(v) = field(key) {
            attrs.insert(attr, v.to_owned());
        }
    }
    attrs.insert(Attr::Active, active.to_string());
    Person { external_id: record.get("id").and_then(Value::as_str).map(str::to_owned), attrs }
}

#[cfg(test)]
mod tests {
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
        let lines: Vec<u64> = loaded.bad.iter().map(|b| b.line).collect();
        assert_eq!(lines, vec![3, 4]);
    }

    #[test]
    fn reads_an_okta_export() {
        let doc = json!([
            {"id": "00u1", "status": "ACTIVE", "profile": {"login": "a@x", "firstName": "A", "email": "a@x"}},
            {"id": "00u2", "status": "DEPROVISIONED", "profile": {"login": "b@x", "managerId": "00u1"}}
        ]);
        let d = parse(&doc).unwrap().directory;
        assert_eq!(d.people[0].get(Attr::GivenName), Some("A"));
        assert_eq!(d.people[1].get(Attr::Active), Some("false"));
        assert_eq!(d.people[1].get(Attr::Manager), Some("00u1"));
        assert!(!d.provided.contains(&Attr::CompanyRole));
    }

    #[test]
    fn other_shapes_are_refused() {
        assert!(parse(&json!({"users": []})).is_err());
        assert!(parse(&json!("x")).is_err());
    }
}
