//! A person in SCIM 2.0 (RFC 7643), both ways, and the SCIM source: pages through another
//! server's Users and Groups.
//!
//! | attribute | SCIM |
//! |---|---|
//! | userName, displayName, userType, active | the core attributes of the same name |
//! | givenName, familyName | `name.givenName`, `name.familyName` |
//! | email | the primary (else first) of `emails`; written as one `work` e-mail |
//! | companyRole | the primary (else first) of `roles` |
//! | department, manager | the enterprise extension's `department` and `manager.value` |

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use crate::client::{Client, ClientError};
use crate::plan::{Actual, ActualGroup, ActualUser};

use super::{Attr, Directory, Group, Person};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The primary entry of a multi-valued attribute, else the first.
fn primary_value(v: Option<&Value>) -> Option<String> {
    let items = v?.as_array()?;
    let primary = items.iter().find(|i| i.get("primary").and_then(Value::as_bool) == Some(true));
    text(primary.or(items.first())?.get("value"))
}

/// Reads `active`, accepting Entra's `"False"` strings.
fn active(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !s.eq_ignore_ascii_case("false"),
        _ => true,
    }
}

/// A User resource as a [`Person`]. `manager` is left as the manager's resource id, for
/// [`resolve_managers`]. With `key_from_id`, a user without externalId is keyed by its id
/// (a source server's ids are stable; a target's users need a real externalId).
pub fn person_from_resource(v: &Value, key_from_id: bool) -> Person {
    let mut attrs = BTreeMap::new();
    let ext = v.get(ENTERPRISE);
    let name = v.get("name");
    let fields = [
        (Attr::UserName, text(v.get("userName"))),
        (Attr::GivenName, text(name.and_then(|n| n.get("givenName")))),
        (Attr::FamilyName, text(name.and_then(|n| n.get("familyName")))),
        (Attr::DisplayName, text(v.get("displayName"))),
        (Attr::Email, primary_value(v.get("emails"))),
        (Attr::UserType, text(v.get("userType"))),
        (Attr::Active, Some(active(v.get("active")).to_string())),
        (Attr::CompanyRole, primary_value(v.get("roles"))),
        (Attr::Department, text(ext.and_then(|e| e.get("department")))),
        (Attr::Manager, text(ext.and_then(|e| e.get("manager")).and_then(|m| m.get("value")))),
    ];
    for (attr, value) in fields {
        if let Some(value) = value {
            attrs.insert(attr, value);
        }
    }
    let external_id = text(v.get("externalId")).or_else(|| if key_from_id { text(v.get("id")) } else { None });
    Person { external_id, attrs }
}

/// Turns each manager's resource id into that manager's key; a manager who is not in the
/// list keeps an `id:`-prefixed value, which never equals a key.
pub fn resolve_managers(people: &mut [(String, Person)]) {
    let keys: BTreeMap<String, Option<String>> =
        people.iter().map(|(id, p)| (id.clone(), p.external_id.clone())).collect();
    for (_, person) in people.iter_mut() {
        if let Some(manager) = person.attrs.get_mut(&Attr::Manager) {
            *manager = match keys.get(manager.as_str()) {
                Some(Some(key)) => key.clone(),
                _ => format!("id:{manager}"),
            };
        }
    }
}

/// The SCIM value of one attribute (`manager_id` is the manager's id in the target).
fn wire_value(attr: Attr, value: &str) -> Value {
    match attr {
        Attr::Active => Value::Bool(value == "true"),
        Attr::Email => json!([{"value": value, "type": "work", "primary": true}]),
        Attr::CompanyRole => json!([{"value": value, "primary": true}]),
        Attr::Manager => json!({"value": value}),
        _ => Value::String(value.to_owned()),
    }
}

/// The PATCH path of an attribute.
pub fn patch_path(attr: Attr) -> String {
    match attr {
        Attr::GivenName => "name.givenName".into(),
        Attr::FamilyName => "name.familyName".into(),
        Attr::Email => "emails".into(),
        Attr::CompanyRole => "roles".into(),
        Attr::Department => format!("{ENTERPRISE}:department"),
        Attr::Manager => format!("{ENTERPRISE}:manager"),
        other => other.name().into(),
    }
}

/// One PATCH operation setting (or, for `None`, removing) an attribute. For `manager` the
/// value is the manager's id in the target.
pub fn patch_op(attr: Attr, value: Option<&str>) -> Value {
    match value {
        Some(v) => json!({"op": "replace", "path": patch_path(attr), "value": wire_value(attr, v)}),
        None => json!({"op": "remove", "path": patch_path(attr)}),
    }
}

/// Sets (or removes) an attribute in a full resource, for PUT.
pub fn set_in_resource(resource: &mut Map<String, Value>, attr: Attr, value: Option<&str>) {
    let (container, key): (&mut Map<String, Value>, &str) = match attr {
        Attr::GivenName | Attr::FamilyName => {
            let name = resource.entry("name").or_insert_with(|| json!({}));
            if !name.is_object() {
                *name = json!({});
            }
            (name.as_object_mut().expect("object"), if attr == Attr::GivenName { "givenName" } else { "familyName" })
        }
        Attr::Department | Attr::Manager => {
            let ext = resource.entry(ENTERPRISE).or_insert_with(|| json!({}));
            if !ext.is_object() {
                *ext = json!({});
            }
            (ext.as_object_mut().expect("object"), if attr == Attr::Department { "department" } else { "manager" })
        }
        Attr::Email => (resource, "emails"),
        Attr::CompanyRole => (resource, "roles"),
        other => (resource, other.name()),
    };
    match value {
        Some(v) => container.insert(key.to_owned(), wire_value(attr, v)),
        None => container.remove(key),
    };
}

/// A new User resource. `manager_id` replaces the manager's key when the manager exists.
pub fn user_resource(person: &Person, provided: &BTreeSet<Attr>, manager_id: Option<&str>) -> Value {
    let mut resource = Map::new();
    let mut schemas = vec![json!(USER_SCHEMA)];
    if person.external_id.is_some() {
        resource.insert("externalId".into(), json!(person.external_id));
    }
    for attr in Attr::ALL.into_iter().filter(|a| provided.contains(a) || *a == Attr::UserName) {
        let value = if attr == Attr::Manager { manager_id } else { person.get(attr) };
        if value.is_some() {
            set_in_resource(&mut resource, attr, value);
        }
    }
    if resource.contains_key(ENTERPRISE) {
        schemas.push(json!(ENTERPRISE));
    }
    resource.insert("schemas".into(), Value::Array(schemas));
    Value::Object(resource)
}

/// The SCIM source: everyone and every group of another server. People are keyed by
/// externalId, else by their id there; groups likewise, so that a rename is seen as one.
pub async fn load(client: &Client) -> Result<Directory, ClientError> {
    let mut people: Vec<(String, Person)> = Vec::new();
    client
        .for_each_page("Users", |page| {
            people.extend(
                page.iter()
                    .filter_map(|u| Some((text(u.get("id"))?, person_from_resource(u, true))))
                    .filter(|(_, p)| !p.user_name().is_empty()),
            )
        })
        .await?;
    resolve_managers(&mut people);
    let key_of: BTreeMap<&str, &str> =
        people.iter().filter_map(|(id, p)| Some((id.as_str(), p.external_id.as_deref()?))).collect();
    let mut groups = Vec::new();
    client
        .for_each_page("Groups", |page| {
            groups.extend(page.iter().filter_map(|g| {
                let display_name = text(g.get("displayName"))?;
                let members = g.get("members").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
                let members = members
                    .iter()
                    .filter_map(|m| key_of.get(m.get("value")?.as_str()?).map(|k| (*k).to_owned()))
                    .collect();
                Some(Group {
                    external_id: text(g.get("externalId")).or_else(|| text(g.get("id"))),
                    display_name,
                    members,
                })
            }))
        })
        .await?;
    // Only what the source holds is synced: a source server without departments does not
    // clear the target's.
    let mut provided: BTreeSet<Attr> = [Attr::UserName, Attr::Active].into();
    provided.extend(people.iter().flat_map(|(_, p)| p.attrs.keys().copied()));
    // A manager outside the source cannot be named in the target: leave managers alone
    // unless every one of them resolved.
    if people.iter().any(|(_, p)| p.get(Attr::Manager).is_some_and(|m| m.starts_with("id:"))) {
        provided.remove(&Attr::Manager);
    }
    Ok(Directory { people: people.into_iter().map(|(_, p)| p).collect(), groups, provided })
}

/// The target's current state: users keyed by externalId only (a user without one is
/// matched by userName, if adoption is on), managers as externalIds, groups with member ids.
/// `keep_raw` keeps each user's resource as read, which PUT needs (PATCH does not, and
/// 100,000 resources are worth not holding).
pub async fn load_target(client: &Client, keep_raw: bool) -> Result<Actual, ClientError> {
    let mut people: Vec<(String, Person)> = Vec::new();
    let mut raws: Vec<Value> = Vec::new();
    client
        .for_each_page("Users", |page| {
            for u in page {
                let Some(id) = text(u.get("id")) else { continue };
                people.push((id, person_from_resource(&u, false)));
                if keep_raw {
                    raws.push(u);
                }
            }
        })
        .await?;
    resolve_managers(&mut people);
    let mut raws = raws.into_iter();
    let users = people
        .into_iter()
        .map(|(id, person)| ActualUser { id, person, raw: raws.next().unwrap_or(Value::Null) })
        .collect();
    let mut groups = Vec::new();
    client
        .for_each_page("Groups", |page| {
            groups.extend(page.iter().filter_map(|g| {
                let members = g.get("members").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
                Some(ActualGroup {
                    id: text(g.get("id"))?,
                    external_id: text(g.get("externalId")),
                    display_name: text(g.get("displayName")).unwrap_or_default(),
                    members: members
                        .iter()
                        .filter(|m| m.get("type").and_then(Value::as_str).is_none_or(|t| t == "User"))
                        .filter_map(|m| text(m.get("value")))
                        .collect(),
                })
            }))
        })
        .await?;
    Ok(Actual { users, groups })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_resource_round_trips() {
        let person = Person {
            external_id: Some("E1".into()),
            attrs: [
                (Attr::UserName, "ann@x.com"),
                (Attr::GivenName, "Ann"),
                (Attr::Email, "ann@x.com"),
                (Attr::Active, "false"),
                (Attr::CompanyRole, "admin"),
                (Attr::Department, "Sales"),
            ]
            .into_iter()
            .map(|(a, v)| (a, v.to_owned()))
            .collect(),
        };
        let provided = Attr::ALL.into_iter().collect();
        let mut resource = user_resource(&person, &provided, None);
        assert_eq!(resource["active"], json!(false));
        assert_eq!(resource["schemas"][1], json!(ENTERPRISE));
        resource["id"] = json!("u1");
        assert_eq!(person_from_resource(&resource, false), person);
    }

    #[test]
    fn entra_string_booleans_and_secondary_emails() {
        let v = json!({"id": "1", "userName": "a", "active": "False",
            "emails": [{"value": "home@x"}, {"value": "work@x", "primary": true}]});
        let p = person_from_resource(&v, false);
        assert_eq!(p.get(Attr::Active), Some("false"));
        assert_eq!(p.get(Attr::Email), Some("work@x"));
        assert_eq!(p.external_id, None);
        assert_eq!(person_from_resource(&v, true).external_id.as_deref(), Some("1"));
    }

    #[test]
    fn managers_resolve_to_keys() {
        let boss = Person { external_id: Some("B".into()), attrs: BTreeMap::new() };
        let mut worker = Person { external_id: Some("W".into()), attrs: BTreeMap::new() };
        worker.attrs.insert(Attr::Manager, "id-b".into());
        let mut orphan = worker.clone();
        orphan.attrs.insert(Attr::Manager, "gone".into());
        let mut people = vec![("id-b".into(), boss), ("id-w".into(), worker), ("id-o".into(), orphan)];
        resolve_managers(&mut people);
        assert_eq!(people[1].1.get(Attr::Manager), Some("B"));
        assert_eq!(people[2].1.get(Attr::Manager), Some("id:gone"));
    }
}
