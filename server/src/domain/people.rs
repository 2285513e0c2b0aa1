//! A person as the lifecycle sees them: the SCIM document (what identity providers sent)
//! plus the profile the product keeps beside it (state, type, partner flag, company role,
//! extra permissions, invitation). [`Person::sync_doc`] keeps the SCIM attributes that mirror
//! the profile (`active`, `userType`, the primary `roles` value) in step with it.

use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use super::lifecycle::{self, Invitation, State, UserType};

/// The company role a group binding gives a person (it wins over the role set by hand).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRole {
    pub role: String,
    pub group_id: String,
}

/// Who already has a userName or an externalId: what a create checks, the live people
/// (whose userName and externalId are unique) and the archived ones (whom a SCIM create of
/// the same identity restores).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub user_name_taken: bool,
    pub external_id_taken: bool,
    /// The archived person with this userName or externalId, the latest archived first.
    pub archived: Option<String>,
}

impl Identity {
    /// Which of userName or externalId a live person already has, if any.
    pub fn taken(&self) -> Option<&'static str> {
        if self.user_name_taken {
            Some("userName")
        } else if self.external_id_taken {
            Some("externalId")
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub id: String,
    /// The SCIM User document (canonical names; no id, meta or groups).
    pub data: Map<String, Value>,
    pub version: i64,
    pub created: OffsetDateTime,
    pub updated: OffsetDateTime,
    pub state: State,
    pub user_type: UserType,
    pub partner: bool,
    /// The company role set by hand (or by SCIM `roles`).
    pub role: String,
    pub group_role: Option<GroupRole>,
    /// Extra company permissions granted by hand, beyond the role's defaults.
    pub permissions: Vec<String>,
    pub invitation: Invitation,
    pub password_hash: Option<String>,
}

impl Person {
    pub fn user_name(&self) -> &str {
        self.data.get("userName").and_then(Value::as_str).unwrap_or_default()
    }

    pub fn external_id(&self) -> Option<&str> {
        self.data.get("externalId").and_then(Value::as_str)
    }

    /// The address mail goes to: the primary e-mail, else the first one.
    pub fn email(&self) -> Option<String> {
        primary_email(&self.data)
    }

    pub fn display_name(&self) -> String {
        if let Some(d) = self.data.get("displayName").and_then(Value::as_str) {
            return d.to_owned();
        }
        let name = self.data.get("name");
        let part = |k: &str| name.and_then(|n| n.get(k)).and_then(Value::as_str);
        match (part("givenName"), part("familyName")) {
            (Some(g), Some(f)) => format!("{g} {f}"),
            (Some(one), None) | (None, Some(one)) => one.to_owned(),
            (None, None) => self.user_name().to_owned(),
        }
    }

    /// The company role in force: a group binding's, else the one set by hand.
    pub fn effective_role(&self) -> &str {
        self.group_role.as_ref().map_or(self.role.as_str(), |g| g.role.as_str())
    }

    /// What the mirrored SCIM attributes answer for this person.
    pub fn standing(&self) -> lifecycle::Standing {
        lifecycle::Standing {
            state: self.state,
            user_type: self.user_type,
            partner: self.partner,
            role: self.effective_role().to_owned(),
        }
    }

    pub fn takes_seat(&self) -> bool {
        lifecycle::takes_seat(self.state, self.user_type, self.partner)
    }

    /// Keeps the SCIM attributes that mirror the profile in step with it, where the
    /// document has them: `active` (the state), `userType`, the primary `roles` value and
    /// the extension's `partner`. An attribute the identity provider never sent (or
    /// removed) stays absent: absence means "not managed by the client", not a change.
    pub fn sync_doc(&mut self) {
        if self.data.contains_key("active") {
            self.data.insert("active".into(), Value::Bool(self.state.scim_active()));
        }
        if self.data.contains_key("userType") {
            self.data.insert("userType".into(), Value::from(self.user_type.as_str()));
        }
        if self.data.contains_key("roles") {
            set_primary_role(&mut self.data, &self.role);
        }
        if let Some(Value::Object(ext)) = self.data.get_mut(super::schema::ROLLCALL_USER) {
            if ext.contains_key("partner") {
                ext.insert("partner".into(), Value::Bool(self.partner));
            }
        }
    }

    /// As [`Person::sync_doc`], writing every mirror whether present or not: for changes
    /// made outside SCIM (the admin API), which SCIM clients should then see.
    pub fn sync_doc_all(&mut self) {
        self.data.insert("active".into(), Value::Bool(self.state.scim_active()));
        self.data.insert("userType".into(), Value::from(self.user_type.as_str()));
        set_primary_role(&mut self.data, &self.role);
        self.sync_doc();
    }

    /// What the audit log records before and after a change.
    pub fn snapshot(&self) -> Value {
        json!({
            "state": self.state.as_str(),
            "userType": self.user_type.as_str(),
            "partner": self.partner,
            "role": self.role,
            "permissions": self.permissions,
            "email": self.email(),
        })
    }
}

/// The primary (else first) e-mail of a SCIM User document.
pub fn primary_email(data: &Map<String, Value>) -> Option<String> {
    let emails = data.get("emails")?.as_array()?;
    let value = |e: &Value| e.get("value").and_then(Value::as_str).map(str::to_owned);
    emails
        .iter()
        .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
        .and_then(value)
        .or_else(|| emails.iter().find_map(value))
}

/// The company role named by SCIM `roles`: the primary value, else the only one.
pub fn role_from_doc(data: &Map<String, Value>) -> Option<String> {
    let roles = data.get("roles")?.as_array()?;
    let value = |e: &Value| e.get("value").and_then(Value::as_str).map(str::to_owned);
    roles.iter().find(|r| r.get("primary").and_then(Value::as_bool) == Some(true)).and_then(value).or_else(|| {
        if roles.len() == 1 {
            roles.first().and_then(value)
        } else {
            None
        }
    })
}

/// Makes `role` the primary `roles` value, keeping the element's other sub-attributes.
pub fn set_primary_role(data: &mut Map<String, Value>, role: &str) {
    let roles = data.entry("roles").or_insert_with(|| Value::Array(Vec::new()));
    if !roles.is_array() {
        *roles = Value::Array(Vec::new());
    }
    let list = roles.as_array_mut().expect("an array");
    let at = list.iter().position(|r| r.get("primary").and_then(Value::as_bool) == Some(true)).or(if list.len() == 1 {
        Some(0)
    } else {
        None
    });
    match at {
        Some(i) => {
            if let Some(obj) = list[i].as_object_mut() {
                obj.insert("value".into(), Value::from(role));
            }
        }
        None => list.insert(0, json!({"value": role, "primary": true})),
    }
}

/// Sets `email` as the primary work e-mail of a document, keeping the others.
pub fn set_primary_email(data: &mut Map<String, Value>, email: &str) {
    let emails = data.entry("emails").or_insert_with(|| Value::Array(Vec::new()));
    if !emails.is_array() {
        *emails = Value::Array(Vec::new());
    }
    let list = emails.as_array_mut().expect("an array");
    for e in list.iter_mut() {
        if let Some(obj) = e.as_object_mut() {
            obj.remove("primary");
        }
    }
    list.retain(|e| !e.get("value").and_then(Value::as_str).is_some_and(|v| v.eq_ignore_ascii_case(email)));
    list.insert(0, json!({"value": email, "type": "work", "primary": true}));
}

/// A person to create.
#[derive(Debug, Clone)]
pub struct NewPerson {
    pub data: Map<String, Value>,
    pub state: State,
    pub user_type: UserType,
    pub partner: bool,
    pub role: String,
    pub permissions: Vec<String>,
    pub invitation: Invitation,
}

/// Which people a list asks for.
#[derive(Debug, Clone, Default)]
pub struct PeopleQuery {
    /// Only these people (then the total answered is the number found, not counted apart).
    pub ids: Option<Vec<String>>,
    /// Only people in these states; empty: every state but `deleted`.
    pub states: Vec<State>,
    /// Include archived people too (the seeds' "Archived users: Yes").
    pub archived: bool,
    /// A case-insensitive substring of the userName, display name or an e-mail.
    pub search: Option<String>,
    pub role: Option<String>,
    /// Only invited people whose invitation has this status at this time (or, for
    /// `accepted`, active people who signed up).
    pub invitation: Option<(super::lifecycle::InvitationStatus, OffsetDateTime)>,
    pub offset: u64,
    pub limit: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_primary_role_is_the_company_role() {
        let mut data = Map::new();
        assert_eq!(role_from_doc(&data), None);
        set_primary_role(&mut data, "member");
        assert_eq!(role_from_doc(&data).as_deref(), Some("member"));
        data.insert("roles".into(), json!([{"value": "x"}, {"value": "admin", "primary": true, "display": "A"}]));
        assert_eq!(role_from_doc(&data).as_deref(), Some("admin"));
        set_primary_role(&mut data, "member");
        assert_eq!(data["roles"][1], json!({"value": "member", "primary": true, "display": "A"}));
    }

    #[test]
    fn primary_email_is_found_and_replaced() {
        let mut data = Map::new();
        data.insert("emails".into(), json!([{"value": "a@x"}, {"value": "b@x", "primary": true}]));
        assert_eq!(primary_email(&data).as_deref(), Some("b@x"));
        set_primary_email(&mut data, "c@x");
        assert_eq!(primary_email(&data).as_deref(), Some("c@x"));
        assert_eq!(data["emails"].as_array().unwrap().len(), 3);
    }
}
