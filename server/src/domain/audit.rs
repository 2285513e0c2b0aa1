//! The audit log: who did what to whom, when, with the person's profile before and after.
//! Every lifecycle use case writes its entry in the transaction that makes the change.

use serde_json::Value;
use time::OffsetDateTime;

/// Who acted: a token (`token:<id>`), a person signing up or in (`person:<id>`), the
/// public join link (`join-link`), or the server itself (`system`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(pub String);

impl Actor {
    pub fn token(id: &str) -> Self {
        Self(format!("token:{id}"))
    }

    pub fn person(id: &str) -> Self {
        Self(format!("person:{id}"))
    }

    pub fn join_link() -> Self {
        Self("join-link".into())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: String,
    pub at: OffsetDateTime,
    pub actor: String,
    pub action: String,
    pub person: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl AuditEntry {
    pub fn new(
        at: OffsetDateTime,
        actor: &Actor,
        action: &str,
        person: Option<&str>,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Self {
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            at,
            actor: actor.0.clone(),
            action: action.to_owned(),
            person: person.map(str::to_owned),
            before,
            after,
        }
    }
}

/// Filters of the audit log; every one optional.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub person: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    pub limit: u64,
}
