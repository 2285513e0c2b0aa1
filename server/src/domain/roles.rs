//! Company roles and permissions. A role has default permissions and a set of extra ones it
//! may be granted ("available permissions depend on the selected role"); granting one
//! outside that set is refused. Permissions are named from one catalog so that later work
//! (owned records, reassignment) can ask "may this person take CRM contacts?".

use super::{Error, Refusal, Result};

/// Company-level permissions: name and what it allows.
pub const COMPANY_PERMISSIONS: &[(&str, &str)] = &[
    ("team_and_users", "Manage the team and its users; required to be a project owner"),
    ("projects.create", "Create projects"),
    ("billing", "See and change billing and seats"),
    ("settings", "Change company settings"),
    ("reports", "See company reports"),
    ("crm.contacts", "Own and work CRM contacts"),
    ("crm.leads", "Own and work leads (opportunities)"),
    ("tasks", "Own and work tasks"),
];

/// Project-level extra permissions, grantable to any member of a project.
pub const PROJECT_PERMISSIONS: &[(&str, &str)] = &[
    ("project.budget", "See and change the project's budget"),
    ("project.documents", "Manage the project's documents"),
    ("project.invoicing", "Invoice the project's client"),
    ("project.time_approval", "Approve time entries"),
    ("project.settings", "Change the project's settings"),
];

/// The permission needed to be a project owner.
pub const TEAM_AND_USERS: &str = "team_and_users";

pub const ADMIN: &str = "admin";
pub const PROJECT_CREATOR: &str = "project_creator";
pub const MEMBER: &str = "member";
/// Not a role: the name the seeds use for "make this person a contact".
pub const CONTACT: &str = "contact";

/// A company role as a tenant has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    pub description: String,
    pub builtin: bool,
    pub defaults: Vec<String>,
    /// Extra permissions a person with this role may be granted.
    pub grantable: Vec<String>,
}

fn owned(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

/// The roles every tenant starts with.
pub fn builtin_roles() -> Vec<Role> {
    let all: Vec<&str> = COMPANY_PERMISSIONS.iter().map(|(n, _)| *n).collect();
    vec![
        Role {
            name: ADMIN.into(),
            description: "Runs the company account: every permission".into(),
            builtin: true,
            defaults: owned(&all),
            grantable: Vec::new(),
        },
        Role {
            name: PROJECT_CREATOR.into(),
            description: "Creates and runs projects".into(),
            builtin: true,
            defaults: owned(&["projects.create", "tasks", "crm.contacts", "reports"]),
            grantable: owned(&["team_and_users", "crm.leads", "billing"]),
        },
        Role {
            name: MEMBER.into(),
            description: "Works in the projects they are part of".into(),
            builtin: true,
            defaults: owned(&["tasks"]),
            grantable: owned(&["crm.contacts", "crm.leads", "reports", "projects.create", "team_and_users"]),
        },
    ]
}

impl Role {
    /// Refuses extra permissions this role may not be granted (or that do not exist).
    pub fn check_grants(&self, extras: &[String]) -> Result<()> {
        for p in extras {
            check_company_permission(p)?;
            if !self.grantable.contains(p) && !self.defaults.contains(p) {
                return Err(Error::refused(
                    Refusal::PermissionNotAllowed,
                    format!("the role `{}` may not be granted `{p}` (grantable: {})", self.name, list(&self.grantable)),
                ));
            }
        }
        Ok(())
    }

    /// The extras that stay when a person moves to this role; the others are dropped.
    pub fn keep_grantable(&self, extras: &[String]) -> Vec<String> {
        extras.iter().filter(|p| self.grantable.contains(p)).cloned().collect()
    }

    /// What a person with this role and these extras may do.
    pub fn effective(&self, extras: &[String]) -> Vec<String> {
        let mut all = self.defaults.clone();
        for p in extras {
            if !all.contains(p) {
                all.push(p.clone());
            }
        }
        all.sort();
        all
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

pub fn check_company_permission(p: &str) -> Result<()> {
    if COMPANY_PERMISSIONS.iter().any(|(n, _)| *n == p) {
        Ok(())
    } else {
        Err(Error::refused(Refusal::UnknownPermission, format!("there is no company permission `{p}`")))
    }
}

pub fn check_project_permission(p: &str) -> Result<()> {
    if PROJECT_PERMISSIONS.iter().any(|(n, _)| *n == p) {
        Ok(())
    } else {
        Err(Error::refused(Refusal::UnknownPermission, format!("there is no project permission `{p}`")))
    }
}

/// Checks the name and permissions of a role a tenant defines.
pub fn validate_custom(role: &Role) -> Result<()> {
    let name_ok = role.name.len() <= 40
        && role.name.starts_with(|c: char| c.is_ascii_lowercase())
        && role.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !name_ok {
        return Err(Error::InvalidValue(format!(
            "a role name is 1 to 40 lower-case letters, digits or `_`, starting with a letter; got `{}`",
            role.name
        )));
    }
    if role.name == CONTACT {
        return Err(Error::InvalidValue("`contact` is not a role: convert the person to a contact instead".into()));
    }
    for p in role.defaults.iter().chain(&role.grantable) {
        check_company_permission(p)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(name: &str) -> Role {
        builtin_roles().into_iter().find(|r| r.name == name).unwrap()
    }

    #[test]
    fn grants_outside_the_role_are_refused() {
        let member = role(MEMBER);
        assert!(member.check_grants(&["crm.leads".into()]).is_ok());
        let e = member.check_grants(&["billing".into()]).unwrap_err();
        assert!(matches!(e, Error::Refused { code: Refusal::PermissionNotAllowed, .. }), "{e:?}");
        let e = member.check_grants(&["fly".into()]).unwrap_err();
        assert!(matches!(e, Error::Refused { code: Refusal::UnknownPermission, .. }));
    }

    #[test]
    fn changing_role_keeps_only_what_the_new_role_allows() {
        let extras = vec!["crm.leads".to_owned(), "reports".to_owned()];
        assert_eq!(role(PROJECT_CREATOR).keep_grantable(&extras), vec!["crm.leads".to_owned()]);
        assert!(role(ADMIN).effective(&[]).contains(&TEAM_AND_USERS.to_owned()));
        assert_eq!(role(MEMBER).effective(&extras), vec!["crm.leads", "reports", "tasks"]);
    }

    #[test]
    fn custom_roles_are_checked() {
        let mut r = Role {
            name: "sales_rep".into(),
            description: String::new(),
            builtin: false,
            defaults: vec!["crm.leads".into()],
            grantable: vec![],
        };
        assert!(validate_custom(&r).is_ok());
        r.name = "Sales Rep".into();
        assert!(validate_custom(&r).is_err());
        r.name = CONTACT.into();
        assert!(validate_custom(&r).is_err());
    }
}
