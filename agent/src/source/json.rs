//! The JSON source: a list of people as SCIM or an identity provider exports it. The shape
//! is recognised from the document (README, "JSON shapes", shows each one):
//!
//! | shape | document | key | userName | active |
//! |---|---|---|---|---|
//! | SCIM | `[User, …]` or a ListResponse `{"Resources": […]}` | `externalId`, else `id` | `userName` | `active` |
//! | Okta (`GET /api/v1/users`) | `[{"id", "status", "profile": {…}}, …]` | `id` | `profile.login` | `status` not `SUSPENDED`/`DEPROVISIONED` |
//! | Microsoft Entra ID (Graph `GET /users`) | `{"value": [{"userPrincipalName", …}]}` | `id` | `userPrincipalName` | `accountEnabled` |
//! | Google Workspace (Directory `users.list`) | `{"users": [{"primaryEmail", …}]}` | `id` | `primaryEmail` | not `suspended`, not `archived` |
//!
//! Managers: SCIM `manager.value` and Graph `manager.id` (with `$expand=manager`) are the
//! manager's id in the file; Okta's `profile.managerId` is the manager's Okta id (or, failing
//! that, employee number or login); Google's `relations[type=manager].value` is the manager's
//! e-mail. A manager not in the file leaves managers alone for everyone (it cannot be named
//! in the target). Groups: SCIM `groups[].display`, Graph `memberOf[].displayName` (with
//! `memberOf` merged in by the export); Okta's and Google's user exports carry none.
//!
//! Only attributes that appear in the file are synced: an export without departments does
//! not clear everyone's department.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::scim::person_from_resource;
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

/// The export formats read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Scim,
    Okta,
    Entra,
    Google,
}

/// Reads a JSON export.
pub fn load(path: &str) -> Result<Loaded, JsonError> {
    let text = std::fs::read(path).map_err(|source| JsonError::Io { path: path.to_owned(), source })?;
    let text = text.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&text);
    let doc: Value =
        serde_json::from_slice(text).map_err(|source| JsonError::Syntax { path: path.to_owned(), source })?;
    parse(&doc)
}

/// Which shape a document is, and its list of records.
fn shape(doc: &Value) -> Result<(Shape, &[Value]), JsonError> {
    let unknown = || {
        JsonError::Shape(
            "expected a list of SCIM Users (or a ListResponse), an Okta user list, a Microsoft Graph users list \
             ({\"value\": [...]}) or a Google Directory users list ({\"users\": [...]})"
                .into(),
        )
    };
    let (container, records): (Option<Shape>, &[Value]) = match doc {
        Value::Array(items) => (None, items),
        Value::Object(o) => match (o.get("Resources"), o.get("value"), o.get("users")) {
            (Some(Value::Array(r)), _, _) => (Some(Shape::Scim), r),
            (_, Some(Value::Array(r)), _) => (Some(Shape::Entra), r),
            (_, _, Some(Value::Array(r))) => (Some(Shape::Google), r),
            _ => return Err(unknown()),
        },
        _ => return Err(unknown()),
    };
    if let Some(shape) = container {
        return Ok((shape, records));
    }
    let first = records.iter().find(|r| r.is_object());
    let has = |k: &str| first.is_some_and(|r| r.get(k).is_some());
    let shape = if first.is_some_and(|r| r.get("profile").is_some_and(Value::is_object)) {
        Shape::Okta
    } else if has("userPrincipalName") {
        Shape::Entra
    } else if has("primaryEmail") {
        Shape::Google
    } else if first.is_none() || has("userName") || has("schemas") {
        Shape::Scim
    } else {
        return Err(unknown());
    };
    Ok((shape, records))
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// One record read: its person, what names its manager (to resolve), its group names, and
/// the other names the record can be referred to by (for managers named by e-mail or number).
struct Read {
    person: Person,
    manager: Option<String>,
    groups: Vec<String>,
    aliases: Vec<String>,
}

fn set(attrs: &mut BTreeMap<Attr, String>, attr: Attr, value: Option<String>) {
    if let Some(v) = value {
        attrs.insert(attr, v);
    }
}

fn from_scim(record: &Value) -> Read {
    let mut person = person_from_resource(record, true);
    let manager = person.attrs.remove(&Attr::Manager);
    let groups = record
        .get("groups")
        .and_then(Value::as_array)
        .map(|gs| gs.iter().filter_map(|g| text(g.get("display"))).collect())
        .unwrap_or_default();
    let aliases = text(record.get("id")).into_iter().collect();
    Read { person, manager, groups, aliases }
}

fn from_okta(record: &Value) -> Read {
    let profile = record.get("profile");
    let field = |k: &str| text(profile.and_then(|p| p.get(k)));
    let status = record.get("status").and_then(Value::as_str).unwrap_or("ACTIVE");
    let mut attrs = BTreeMap::new();
    for (attr, key) in [
        (Attr::UserName, "login"),
        (Attr::GivenName, "firstName"),
        (Attr::FamilyName, "lastName"),
        (Attr::DisplayName, "displayName"),
        (Attr::Email, "email"),
        (Attr::UserType, "userType"),
        (Attr::Department, "department"),
    ] {
        set(&mut attrs, attr, field(key));
    }
    attrs.insert(Attr::Active, (!matches!(status, "DEPROVISIONED" | "SUSPENDED")).to_string());
    let aliases = [field("employeeNumber"), field("login")].into_iter().flatten().collect();
    Read {
        person: Person { external_id: text(record.get("id")), attrs },
        manager: field("managerId"),
        groups: Vec::new(),
        aliases,
    }
}

fn from_entra(record: &Value) -> Read {
    let mut attrs = BTreeMap::new();
    for (attr, key) in [
        (Attr::UserName, "userPrincipalName"),
        (Attr::GivenName, "givenName"),
        (Attr::FamilyName, "surname"),
        (Attr::DisplayName, "displayName"),
        (Attr::Email, "mail"),
        (Attr::Department, "department"),
    ] {
        set(&mut attrs, attr, text(record.get(key)));
    }
    let enabled = record.get("accountEnabled").and_then(Value::as_bool).unwrap_or(true);
    attrs.insert(Attr::Active, enabled.to_string());
    let groups = record
        .get("memberOf")
        .and_then(Value::as_array)
        .map(|gs| {
            gs.iter()
                .filter(|g| g.get("@odata.type").and_then(Value::as_str).is_none_or(|t| t == "#microsoft.graph.group"))
                .filter_map(|g| text(g.get("displayName")))
                .collect()
        })
        .unwrap_or_default();
    Read {
        person: Person { external_id: text(record.get("id")), attrs },
        manager: text(record.get("manager").and_then(|m| m.get("id"))),
        groups,
        aliases: Vec::new(),
    }
}

fn from_google(record: &Value) -> Read {
    let mut attrs = BTreeMap::new();
    let name = record.get("name");
    set(&mut attrs, Attr::UserName, text(record.get("primaryEmail")));
    set(&mut attrs, Attr::Email, text(record.get("primaryEmail")));
    set(&mut attrs, Attr::GivenName, text(name.and_then(|n| n.get("givenName"))));
    set(&mut attrs, Attr::FamilyName, text(name.and_then(|n| n.get("familyName"))));
    set(&mut attrs, Attr::DisplayName, text(name.and_then(|n| n.get("fullName"))));
    let orgs = record.get("organizations").and_then(Value::as_array);
    let org = orgs.and_then(|o| o.iter().find(|o| o.get("primary") == Some(&Value::Bool(true))).or(o.first()));
    set(&mut attrs, Attr::Department, text(org.and_then(|o| o.get("department"))));
    let off = |k: &str| record.get(k).and_then(Value::as_bool) == Some(true);
    attrs.insert(Attr::Active, (!off("suspended") && !off("archived")).to_string());
    let manager = record
        .get("relations")
        .and_then(Value::as_array)
        .and_then(|r| r.iter().find(|r| r.get("type").and_then(Value::as_str) == Some("manager")))
        .and_then(|r| text(r.get("value")));
    let aliases = text(record.get("primaryEmail")).into_iter().collect();
    Read { person: Person { external_id: text(record.get("id")), attrs }, manager, groups: Vec::new(), aliases }
}

/// Reads an already-parsed export.
pub fn parse(doc: &Value) -> Result<Loaded, JsonError> {
    let (shape, records) = shape(doc)?;
    let mut bad = Vec::new();
    let mut read: Vec<(u64, Read)> = Vec::new();
    for (i, record) in records.iter().enumerate() {
        let index = i as u64 + 1;
        if !record.is_object() {
            bad.push(BadRecord::record(index, "not an object".into()));
            continue;
        }
        read.push((
            index,
            match shape {
                Shape::Scim => from_scim(record),
                Shape::Okta => from_okta(record),
                Shape::Entra => from_entra(record),
                Shape::Google => from_google(record),
            },
        ));
    }

    // A manager is named by the record's key, else by one of its other names (an e-mail, an
    // id, a number); the first record to claim a name keeps it.
    let mut key_by_name: BTreeMap<String, String> = BTreeMap::new();
    for (_, r) in &read {
        let Some(key) = r.person.external_id.clone() else { continue };
        key_by_name.entry(key.clone()).or_insert_with(|| key.clone());
        for alias in &r.aliases {
            key_by_name.entry(alias.to_lowercase()).or_insert_with(|| key.clone());
            key_by_name.entry(alias.clone()).or_insert_with(|| key.clone());
        }
    }
    let mut unresolved_manager = false;
    let (mut seen_ids, mut seen_names) = (BTreeSet::new(), BTreeSet::new());
    let mut directory = Directory::default();
    let mut memberships = Vec::new();
    let mut provided: BTreeSet<Attr> = [Attr::UserName, Attr::Active].into();
    for (index, mut r) in read {
        if let Some(m) = r.manager.take() {
            match key_by_name.get(&m).or_else(|| key_by_name.get(&m.to_lowercase())) {
                Some(key) => {
                    r.person.attrs.insert(Attr::Manager, key.clone());
                }
                None => unresolved_manager = true,
            }
            provided.insert(Attr::Manager);
        }
        if let Err(reason) = check_unique(&r.person, &mut seen_ids, &mut seen_names) {
            bad.push(BadRecord::record(index, reason));
            continue;
        }
        provided.extend(r.person.attrs.keys().copied());
        let key = r.person.external_id.clone().unwrap_or_default();
        memberships.extend(r.groups.into_iter().map(|g| (key.clone(), g)));
        directory.people.push(r.person);
    }
    let mut notes = Vec::new();
    if unresolved_manager {
        provided.remove(&Attr::Manager);
        notes.push("some managers are not in the file: managers are not synced from this file".to_owned());
    }
    directory.groups = groups_from_names(memberships.iter().map(|(k, g)| (k.as_str(), g.as_str())));
    directory.provided = provided;
    bad.sort_by_key(|b| b.line);
    Ok(Loaded { directory, bad, notes })
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
