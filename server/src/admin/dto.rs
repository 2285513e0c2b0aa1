//! What the admin API sends and receives.

use poem_openapi::{Enum, Object};

use crate::domain::lifecycle::{invitation_status, UserType};
use crate::domain::projects::{GrantSource, Membership};
use crate::protocol::people::PersonView;
use crate::storage::timefmt;

use super::Failure;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "PascalCase")]
pub enum UserTypeDto {
    Employee,
    Contractor,
    Client,
}

impl From<UserTypeDto> for UserType {
    fn from(t: UserTypeDto) -> Self {
        match t {
            UserTypeDto::Employee => Self::Employee,
            UserTypeDto::Contractor => Self::Contractor,
            UserTypeDto::Client => Self::Client,
        }
    }
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct InvitationOut {
    /// `unsent`, `pending`, `not_accepted` (the link expired) or `accepted`.
    pub status: String,
    pub sent_at: Option<String>,
    pub expires_at: Option<String>,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct ProjectMembershipOut {
    pub project_id: String,
    pub project_name: String,
    /// `participant` or `owner`.
    pub role: String,
    pub permissions: Vec<String>,
    /// Where the membership comes from: `manual`, or `group:<id>` per binding group.
    pub sources: Vec<String>,
}

impl From<&Membership> for ProjectMembershipOut {
    fn from(m: &Membership) -> Self {
        Self {
            project_id: m.project_id.clone(),
            project_name: m.project_name.clone(),
            role: m.role.as_str().to_owned(),
            permissions: m.permissions.clone(),
            sources: m
                .sources
                .iter()
                .map(|s| match s {
                    GrantSource::Manual => "manual".to_owned(),
                    GrantSource::Group { id, .. } => format!("group:{id}"),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct PersonOut {
    pub id: String,
    pub user_name: String,
    pub display_name: String,
    pub email: Option<String>,
    /// `invited`, `active`, `contact` or `deleted`.
    pub state: String,
    pub invitation: Option<InvitationOut>,
    pub user_type: String,
    pub partner: bool,
    pub seat: bool,
    /// The company role in force (a group binding's wins over the hand-set one).
    pub role: String,
    /// The role set by hand.
    pub assigned_role: String,
    /// The group whose binding gives the role in force, if any.
    pub role_from_group: Option<String>,
    /// Extra permissions granted by hand.
    pub extra_permissions: Vec<String>,
    /// Every permission in force: the role's and the extra ones.
    pub permissions: Vec<String>,
    pub projects: Vec<ProjectMembershipOut>,
    pub created: String,
    pub last_modified: String,
    pub version: i64,
}

impl PersonOut {
    pub fn of(view: &PersonView, now: time::OffsetDateTime) -> Self {
        let p = &view.person;
        Self {
            id: p.id.clone(),
            user_name: p.user_name().to_owned(),
            display_name: p.display_name(),
            email: p.email(),
            state: p.state.as_str().to_owned(),
            invitation: invitation_status(p.state, Some(p.invitation), now).map(|s| InvitationOut {
                status: s.as_str().to_owned(),
                sent_at: p.invitation.sent_at.map(timefmt::format),
                expires_at: p.invitation.expires_at.map(timefmt::format),
            }),
            user_type: p.user_type.as_str().to_owned(),
            partner: p.partner,
            seat: p.takes_seat(),
            role: p.effective_role().to_owned(),
            assigned_role: p.role.clone(),
            role_from_group: p.group_role.as_ref().map(|g| g.group_id.clone()),
            extra_permissions: p.permissions.clone(),
            permissions: view.permissions.clone(),
            projects: view.memberships.iter().map(ProjectMembershipOut::from).collect(),
            created: timefmt::format(p.created),
            last_modified: timefmt::format(p.updated),
            version: p.version,
        }
    }
}

#[derive(Debug, Object)]
pub struct PeopleList {
    pub total: u64,
    pub items: Vec<PersonOut>,
}

/// Who to invite or add.
#[derive(Debug, Object, Default)]
#[oai(rename_all = "camelCase")]
pub struct PersonIn {
    pub email: Option<String>,
    pub user_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: Option<String>,
    /// Default: `Employee` for users, `Client` for contacts.
    pub user_type: Option<UserTypeDto>,
    /// Default: `member`.
    pub role: Option<String>,
    #[oai(default)]
    pub partner: bool,
    #[oai(default)]
    pub permissions: Vec<String>,
    /// Send the invitation e-mail now (default true); false: "add without sending".
    pub send: Option<bool>,
}

impl PersonIn {
    pub fn input(&self) -> crate::domain::people_ops::PersonInput {
        crate::domain::people_ops::PersonInput {
            email: self.email.clone(),
            user_name: self.user_name.clone(),
            given_name: self.given_name.clone(),
            family_name: self.family_name.clone(),
            display_name: self.display_name.clone(),
            user_type: self.user_type.map(Into::into),
            role: self.role.clone(),
            partner: self.partner,
            permissions: self.permissions.clone(),
        }
    }
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct BulkInviteIn {
    pub emails: Vec<String>,
    pub user_type: Option<UserTypeDto>,
    pub role: Option<String>,
    pub send: Option<bool>,
}

#[derive(Debug, Object)]
pub struct BulkInviteResult {
    pub email: String,
    pub id: Option<String>,
    pub error: Option<super::ErrorBody>,
}

#[derive(Debug, Object)]
pub struct BulkInviteOut {
    pub invited: u32,
    pub failed: u32,
    pub results: Vec<BulkInviteResult>,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct ConvertToUserIn {
    /// Any role but `contact`.
    pub role: String,
    /// Needed when the contact has none; no other person may have it.
    pub email: Option<String>,
    pub user_type: Option<UserTypeDto>,
    /// Make the person active at once instead of invited (SSO-only tenants).
    #[oai(default)]
    pub activate: bool,
}

#[derive(Debug, Object)]
pub struct RoleIn {
    pub role: String,
}

#[derive(Debug, Object)]
pub struct PermissionsIn {
    pub permissions: Vec<String>,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct ProfileIn {
    pub user_type: Option<UserTypeDto>,
    pub partner: Option<bool>,
}

pub fn bad(message: impl Into<String>) -> Failure {
    Failure::new(poem::http::StatusCode::BAD_REQUEST, "invalid_value", message)
}
