//! Projects and their teams. A member has a project role (participant or owner) and extra
//! project permissions. Grants remember where they came from: set by hand, or given by a
//! group bound to the project, so that a group re-sync only ever touches what the group
//! gave. Group grants are not copied: they follow the group's members, so leaving the group
//! removes exactly what the group granted.

use time::OffsetDateTime;

use super::{Error, Refusal, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProjectRole {
    Participant,
    Owner,
}

impl ProjectRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Participant => "participant",
            Self::Owner => "owner",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Participant, Self::Owner].into_iter().find(|r| r.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at: OffsetDateTime,
}

/// Where a grant came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantSource {
    Manual,
    Group { id: String, display: String },
}

/// One grant of a project to a person, as stored (manual) or derived (group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub project_id: String,
    pub project_name: String,
    pub person: String,
    pub role: ProjectRole,
    pub permissions: Vec<String>,
    pub source: GrantSource,
}

/// A person's membership of one project: every grant folded together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub project_id: String,
    pub project_name: String,
    pub person: String,
    pub role: ProjectRole,
    pub permissions: Vec<String>,
    pub sources: Vec<GrantSource>,
}

/// Folds grants (sorted or not) into memberships, one per (person, project). A group's
/// owner grant only makes an owner of someone who holds `team_and_users`
/// (`may_own(person)`); others are participants through it.
pub fn fold(grants: Vec<Grant>, may_own: impl Fn(&str) -> bool) -> Vec<Membership> {
    let mut out: Vec<Membership> = Vec::new();
    for g in grants {
        let role = if g.role == ProjectRole::Owner && !may_own(&g.person) { ProjectRole::Participant } else { g.role };
        match out.iter_mut().find(|m| m.person == g.person && m.project_id == g.project_id) {
            Some(m) => {
                m.role = m.role.max(role);
                for p in g.permissions {
                    if !m.permissions.contains(&p) {
                        m.permissions.push(p);
                    }
                }
                m.sources.push(g.source);
            }
            None => out.push(Membership {
                project_id: g.project_id,
                project_name: g.project_name,
                person: g.person,
                role,
                permissions: g.permissions,
                sources: vec![g.source],
            }),
        }
    }
    for m in &mut out {
        m.permissions.sort();
    }
    out.sort_by(|a, b| (a.project_name.to_lowercase(), &a.person).cmp(&(b.project_name.to_lowercase(), &b.person)));
    out
}

/// Refuses making someone without `team_and_users` an owner.
pub fn check_owner(role: ProjectRole, person_permissions: &[String]) -> Result<()> {
    if role == ProjectRole::Owner && !person_permissions.iter().any(|p| p == super::roles::TEAM_AND_USERS) {
        return Err(Error::refused(
            Refusal::OwnerNeedsPermission,
            "only a person with the `team_and_users` permission can be a project owner",
        ));
    }
    Ok(())
}

/// A SCIM group bound to a project and/or a company role: its members get them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupBinding {
    pub group_id: String,
    pub group_display: String,
    pub projects: Vec<(String, ProjectRole)>,
    pub company_role: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(project: &str, role: ProjectRole, source: GrantSource) -> Grant {
        Grant {
            project_id: project.into(),
            project_name: project.into(),
            person: "p".into(),
            role,
            permissions: vec![],
            source,
        }
    }

    #[test]
    fn grants_fold_into_one_membership_per_project() {
        let group = GrantSource::Group { id: "g".into(), display: "G".into() };
        let folded = fold(
            vec![
                grant("a", ProjectRole::Participant, GrantSource::Manual),
                grant("a", ProjectRole::Owner, group.clone()),
                grant("b", ProjectRole::Owner, group),
            ],
            |_| true,
        );
        assert_eq!(folded.len(), 2);
        assert_eq!(folded[0].role, ProjectRole::Owner);
        assert_eq!(folded[0].sources.len(), 2);
        let without = fold(vec![grant("b", ProjectRole::Owner, GrantSource::Manual)], |_| false);
        assert_eq!(without[0].role, ProjectRole::Participant);
    }

    #[test]
    fn owners_need_team_and_users() {
        assert!(check_owner(ProjectRole::Owner, &["tasks".into()]).is_err());
        assert!(check_owner(ProjectRole::Owner, &["team_and_users".into()]).is_ok());
        assert!(check_owner(ProjectRole::Participant, &[]).is_ok());
    }
}
