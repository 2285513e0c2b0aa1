//! Notifications: every event the seeds say a person is told about becomes a message in a
//! durable outbox, written in the same transaction as the change. A delivery worker sends
//! them later (see `crate::mail`); a message is never dropped, only retried with back-off.

use time::{Duration, OffsetDateTime};

/// What a person is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Invitation { link: String, expires_at: OffsetDateTime },
    RoleChanged { role: String },
    PermissionsChanged { permissions: Vec<String> },
    ProjectRoleChanged { project: String, role: String },
    ProjectPermissionsChanged { project: String, permissions: Vec<String> },
    Deleted,
    Restored { link: String, expires_at: OffsetDateTime },
    PasswordReset { link: String, expires_at: OffsetDateTime },
}

impl Notice {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Invitation { .. } => "invitation",
            Self::RoleChanged { .. } => "role_changed",
            Self::PermissionsChanged { .. } => "permissions_changed",
            Self::ProjectRoleChanged { .. } => "project_role_changed",
            Self::ProjectPermissionsChanged { .. } => "project_permissions_changed",
            Self::Deleted => "deleted",
            Self::Restored { .. } => "restored",
            Self::PasswordReset { .. } => "password_reset",
        }
    }

    /// Subject and plain-text body for `name` in the company `tenant`.
    pub fn compose(&self, name: &str, tenant: &str) -> (String, String) {
        let until = |t: &OffsetDateTime| format_time(*t);
        match self {
            Self::Invitation { link, expires_at } => (
                format!("You are invited to {tenant}"),
                format!(
                    "Hello {name},\n\nyou have been invited to {tenant}. Sign up here:\n\n{link}\n\nThe link works once and expires at {}.\n",
                    until(expires_at)
                ),
            ),
            Self::Restored { link, expires_at } => (
                format!("Your access to {tenant} was restored"),
                format!(
                    "Hello {name},\n\nyour account at {tenant} was restored. Sign up again here:\n\n{link}\n\nThe link works once and expires at {}.\n",
                    until(expires_at)
                ),
            ),
            Self::PasswordReset { link, expires_at } => (
                format!("Reset your {tenant} password"),
                format!(
                    "Hello {name},\n\nset a new password here:\n\n{link}\n\nThe link works once and expires at {}.\n",
                    until(expires_at)
                ),
            ),
            Self::RoleChanged { role } => (
                format!("Your role at {tenant} changed"),
                format!("Hello {name},\n\nyour company role at {tenant} is now `{role}`.\n"),
            ),
            Self::PermissionsChanged { permissions } => (
                format!("Your permissions at {tenant} changed"),
                format!("Hello {name},\n\nyour extra permissions at {tenant} are now: {}.\n", list(permissions)),
            ),
            Self::ProjectRoleChanged { project, role } => (
                format!("Your role in {project} changed"),
                format!("Hello {name},\n\nyou are now {role} of the project {project} at {tenant}.\n"),
            ),
            Self::ProjectPermissionsChanged { project, permissions } => (
                format!("Your permissions in {project} changed"),
                format!("Hello {name},\n\nyour permissions in the project {project} are now: {}.\n", list(permissions)),
            ),
            Self::Deleted => (
                format!("You were removed from {tenant}"),
                format!("Hello {name},\n\nyour account at {tenant} was deleted.\n"),
            ),
        }
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

pub fn format_time(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// A message in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxMessage {
    pub id: String,
    pub tenant: String,
    pub person: Option<String>,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created_at: OffsetDateTime,
    pub attempts: i64,
    pub next_attempt_at: OffsetDateTime,
    pub sent_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
}

impl OutboxMessage {
    pub fn new(
        tenant: &str,
        person: Option<&str>,
        kind: &str,
        recipient: &str,
        (subject, body): (String, String),
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            tenant: tenant.to_owned(),
            person: person.map(str::to_owned),
            kind: kind.to_owned(),
            recipient: recipient.to_owned(),
            subject,
            body,
            created_at: now,
            attempts: 0,
            next_attempt_at: now,
            sent_at: None,
            last_error: None,
        }
    }
}

/// When to try again after `attempts` failed deliveries: 30 s, 1 min, 2 min, … at most an
/// hour apart, forever (a message is never given up on; the admin API shows the failures).
pub fn retry_after(attempts: i64) -> Duration {
    let exp = u32::try_from(attempts.clamp(1, 8) - 1).unwrap_or(0);
    Duration::seconds((30i64 << exp).min(3600))
}

/// Which outbox messages the admin API lists.
#[derive(Debug, Clone, Default)]
pub struct OutboxQuery {
    /// `Some(true)`: only sent; `Some(false)`: only pending.
    pub sent: Option<bool>,
    pub person: Option<String>,
    pub limit: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_grows_and_is_capped() {
        let secs: Vec<i64> = (1..=10).map(|n| retry_after(n).whole_seconds()).collect();
        assert_eq!(secs, vec![30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
    }

    #[test]
    fn invitations_carry_the_link() {
        let n = Notice::Invitation { link: "http://x/auth/signup/abc".into(), expires_at: OffsetDateTime::UNIX_EPOCH };
        let (subject, body) = n.compose("Ada", "acme");
        assert_eq!(subject, "You are invited to acme");
        assert!(body.contains("http://x/auth/signup/abc") && body.contains("1970-01-01T00:00:00Z"));
    }
}
