//! The tenant's organisation: roles and permissions, projects and teams, group bindings,
//! seats, policies, the public join link, the audit log and the outbox.

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi, Tags};

use crate::domain::audit::AuditQuery;
use crate::domain::lifecycle::UserTarget;
use crate::domain::notify::OutboxQuery;
use crate::domain::people_ops as ops;
use crate::domain::projects::{check_owner, fold, GroupBinding, Project, ProjectRole};
use crate::domain::roles::{self, Role, COMPANY_PERMISSIONS, PROJECT_PERMISSIONS};
use crate::domain::secret;
use crate::domain::settings::{Deactivation, Seats};
use crate::domain::{Error, Refusal};
use crate::protocol::people::{app_url, views};
use crate::protocol::AppState;
use crate::storage::timefmt;

use super::dto::{bad, ProjectMembershipOut};
use super::{admin_ctx, begin, read, AdminToken, Answer};

#[derive(Tags)]
pub enum Tag {
    /// Company roles and the permission catalog.
    Roles,
    /// Projects and their teams.
    Projects,
    /// Seats, policies and the join link.
    Tenant,
    /// The audit log and the notification outbox.
    Records,
}

pub struct RolesApi {
    pub state: Arc<AppState>,
}

pub struct ProjectsApi {
    pub state: Arc<AppState>,
}

pub struct TenantApi {
    pub state: Arc<AppState>,
}

pub struct RecordsApi {
    pub state: Arc<AppState>,
}

#[derive(Debug, Object)]
pub struct PermissionOut {
    pub name: String,
    pub description: String,
}

#[derive(Debug, Object)]
pub struct Catalog {
    pub company: Vec<PermissionOut>,
    pub project: Vec<PermissionOut>,
}

#[derive(Debug, Object)]
pub struct RoleOut {
    pub name: String,
    pub description: String,
    pub builtin: bool,
    /// Every holder has these.
    pub defaults: Vec<String>,
    /// These may be granted on top, person by person.
    pub grantable: Vec<String>,
}

impl From<Role> for RoleOut {
    fn from(r: Role) -> Self {
        Self {
            name: r.name,
            description: r.description,
            builtin: r.builtin,
            defaults: r.defaults,
            grantable: r.grantable,
        }
    }
}

#[derive(Debug, Object)]
pub struct RoleBody {
    pub name: String,
    #[oai(default)]
    pub description: String,
    #[oai(default)]
    pub defaults: Vec<String>,
    #[oai(default)]
    pub grantable: Vec<String>,
}

#[derive(Debug, Object)]
pub struct ProjectIn {
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct ProjectOut {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub created: String,
    pub members: Vec<ProjectMembershipOut>,
}

#[derive(Debug, Object)]
pub struct MemberIn {
    /// `participant` (default) or `owner` (needs `team_and_users`).
    pub role: Option<String>,
    #[oai(default)]
    pub permissions: Vec<String>,
}

#[derive(Debug, Object)]
pub struct ProjectBindingIn {
    pub project: String,
    /// `participant` (default) or `owner`.
    pub role: Option<String>,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct BindingIn {
    #[oai(default)]
    pub projects: Vec<ProjectBindingIn>,
    pub company_role: Option<String>,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct BindingOut {
    pub group_id: String,
    pub group_display: String,
    pub projects: Vec<ProjectBindingOut>,
    pub company_role: Option<String>,
}

#[derive(Debug, Object)]
pub struct ProjectBindingOut {
    pub project: String,
    pub role: String,
}

impl From<GroupBinding> for BindingOut {
    fn from(b: GroupBinding) -> Self {
        Self {
            group_id: b.group_id,
            group_display: b.group_display,
            projects: b
                .projects
                .into_iter()
                .map(|(project, role)| ProjectBindingOut { project, role: role.as_str().to_owned() })
                .collect(),
            company_role: b.company_role,
        }
    }
}

#[derive(Debug, Object)]
pub struct SeatsOut {
    /// None: no limit set.
    pub limit: Option<u32>,
    pub used: u64,
    pub free: Option<u64>,
}

#[derive(Debug, Object)]
pub struct SeatsIn {
    /// None removes the limit.
    pub limit: Option<u32>,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct PoliciesOut {
    /// What a SCIM POST creates: `invited` or `active` (SSO-only tenants).
    pub scim_create: String,
    /// What SCIM `active: false` does: `contact` or `deleted`.
    pub scim_deactivate: String,
    /// What SCIM `active: true` does to a contact: `invited` or `active`.
    pub scim_reactivate: String,
    /// Whether SCIM and join-link invitations are mailed.
    pub send_invitations: bool,
    /// How long sign-up and reset links live.
    pub link_validity_hours: u32,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct PoliciesIn {
    pub scim_create: Option<String>,
    pub scim_deactivate: Option<String>,
    pub scim_reactivate: Option<String>,
    pub send_invitations: Option<bool>,
    pub link_validity_hours: Option<u32>,
}

#[derive(Debug, Object)]
pub struct JoinLinkOut {
    /// POST `{email, givenName, familyName}` to it to be invited as an employee.
    pub url: String,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct AuditOut {
    pub id: String,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub person: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct OutboxOut {
    pub id: String,
    pub person: Option<String>,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub sent_at: Option<String>,
    pub last_error: Option<String>,
}

fn policies(s: &crate::domain::settings::TenantSettings) -> PoliciesOut {
    PoliciesOut {
        scim_create: s.scim_create.as_str().into(),
        scim_deactivate: s.scim_deactivate.as_str().into(),
        scim_reactivate: s.scim_reactivate.as_str().into(),
        send_invitations: s.send_invitations,
        link_validity_hours: s.link_validity_hours,
    }
}

fn project_role(s: Option<&str>) -> Result<ProjectRole, super::Failure> {
    match s {
        None => Ok(ProjectRole::Participant),
        Some(s) => {
            ProjectRole::parse(s).ok_or_else(|| bad(format!("a project role is `participant` or `owner`, got `{s}`")))
        }
    }
}

fn time_param(s: Option<&str>) -> Result<Option<time::OffsetDateTime>, super::Failure> {
    s.map(|t| timefmt::parse(t).ok_or_else(|| bad(format!("`{t}` is not an RFC 3339 time")))).transpose()
}

#[OpenApi(tag = "Tag::Roles")]
impl RolesApi {
    /// The permission catalog: company and project permissions.
    #[oai(path = "/permissions", method = "get")]
    async fn catalog(&self, req: &Request, _auth: AdminToken) -> Answer<Catalog> {
        admin_ctx(&self.state, req).await?;
        let list = |l: &[(&str, &str)]| {
            l.iter().map(|(n, d)| PermissionOut { name: (*n).into(), description: (*d).into() }).collect()
        };
        Ok(Json(Catalog { company: list(COMPANY_PERMISSIONS), project: list(PROJECT_PERMISSIONS) }))
    }

    /// The tenant's company roles with their default and grantable permissions.
    #[oai(path = "/roles", method = "get")]
    async fn roles(&self, req: &Request, _auth: AdminToken) -> Answer<Vec<RoleOut>> {
        let ctx = admin_ctx(&self.state, req).await?;
        let mut tx = read(&self.state, &ctx).await?;
        let roles = tx.roles().await?;
        tx.commit().await?;
        Ok(Json(roles.into_iter().map(RoleOut::from).collect()))
    }

    /// Add a role, or change one (`admin` always keeps every permission).
    #[oai(path = "/roles", method = "put")]
    async fn put_role(&self, req: &Request, _auth: AdminToken, body: Json<RoleBody>) -> Answer<RoleOut> {
        let ctx = admin_ctx(&self.state, req).await?;
        let b = body.0;
        if b.name == roles::ADMIN {
            return Err(Error::refused(Refusal::RoleInUse, "the admin role always has every permission").into());
        }
        let mut tx = begin(&self.state, &ctx).await?;
        let builtin = tx.role(&b.name).await?.is_some_and(|r| r.builtin);
        let role =
            Role { name: b.name, description: b.description, builtin, defaults: b.defaults, grantable: b.grantable };
        roles::validate_custom(&role)?;
        tx.save_role(&role).await?;
        ops::audit_raw(
            tx.as_mut(),
            &ctx,
            "role.save",
            None,
            Some(serde_json::json!({"role": role.name, "defaults": role.defaults, "grantable": role.grantable})),
        )
        .await?;
        tx.commit().await?;
        Ok(Json(role.into()))
    }

    /// Remove a role nobody holds (built-in roles stay).
    #[oai(path = "/roles/:name", method = "delete")]
    async fn delete_role(&self, req: &Request, _auth: AdminToken, name: Path<String>) -> Answer<Vec<RoleOut>> {
        let ctx = admin_ctx(&self.state, req).await?;
        let mut tx = begin(&self.state, &ctx).await?;
        let role = tx.role(&name.0).await?.ok_or_else(|| Error::NotFound(format!("no role `{}`", name.0)))?;
        if role.builtin || tx.role_in_use(&role.name).await? {
            return Err(Error::refused(
                Refusal::RoleInUse,
                format!("the role `{}` is built in or still held", role.name),
            )
            .into());
        }
        tx.delete_role(&role.name).await?;
        ops::audit_raw(tx.as_mut(), &ctx, "role.delete", Some(serde_json::json!({"role": role.name})), None).await?;
        let roles = tx.roles().await?;
        tx.commit().await?;
        Ok(Json(roles.into_iter().map(RoleOut::from).collect()))
    }
}

#[OpenApi(tag = "Tag::Projects")]
impl ProjectsApi {
    #[oai(path = "/projects", method = "get")]
    async fn projects(&self, req: &Request, _auth: AdminToken) -> Answer<Vec<ProjectOut>> {
        let ctx = admin_ctx(&self.state, req).await?;
        let mut tx = read(&self.state, &ctx).await?;
        let projects = tx.projects().await?;
        tx.commit().await?;
        Ok(Json(
            projects
                .into_iter()
                .map(|p| ProjectOut {
                    id: p.id,
                    name: p.name,
                    description: p.description,
                    created: timefmt::format(p.created_at),
                    members: vec![],
                })
                .collect(),
        ))
    }

    #[oai(path = "/projects", method = "post")]
    async fn create_project(&self, req: &Request, _auth: AdminToken, body: Json<ProjectIn>) -> Answer<ProjectOut> {
        let ctx = admin_ctx(&self.state, req).await?;
        let name = body.0.name.trim().to_owned();
        if name.is_empty() || name.len() > 200 {
            return Err(bad("a project name is 1 to 200 characters"));
        }
        let project = Project {
            id: uuid::Uuid::now_v7().to_string(),
            name,
            description: body.0.description,
            created_at: ctx.now,
        };
        let mut tx = begin(&self.state, &ctx).await?;
        tx.insert_project(&project).await?;
        ops::audit_raw(
            tx.as_mut(),
            &ctx,
            "project.create",
            None,
            Some(serde_json::json!({"project": project.id, "name": project.name})),
        )
        .await?;
        tx.commit().await?;
        self.project_out(&ctx, &project.id).await.map(Json)
    }

    /// A project with its team (hand-set and group members, each with its sources).
    #[oai(path = "/projects/:id", method = "get")]
    async fn project(&self, req: &Request, _auth: AdminToken, id: Path<String>) -> Answer<ProjectOut> {
        let ctx = admin_ctx(&self.state, req).await?;
        self.project_out(&ctx, &id.0).await.map(Json)
    }

    #[oai(path = "/projects/:id", method = "delete")]
    async fn delete_project(&self, req: &Request, _auth: AdminToken, id: Path<String>) -> Answer<Vec<ProjectOut>> {
        let ctx = admin_ctx(&self.state, req).await?;
        let mut tx = begin(&self.state, &ctx).await?;
        if !tx.delete_project(&id.0).await? {
            return Err(Error::NotFound(format!("no project {}", id.0)).into());
        }
        ops::audit_raw(tx.as_mut(), &ctx, "project.delete", Some(serde_json::json!({"project": id.0})), None).await?;
        tx.commit().await?;
        self.projects(req, AdminToken(poem_openapi::auth::Bearer { token: String::new() })).await
    }

    /// Add a person to a project or change their project role and permissions. Only a
    /// person with `team_and_users` can be owner. The person is told.
    #[oai(path = "/projects/:id/members/:person", method = "put")]
    async fn put_member(
        &self,
        req: &Request,
        _auth: AdminToken,
        id: Path<String>,
        person: Path<String>,
        body: Json<MemberIn>,
    ) -> Answer<ProjectOut> {
        let ctx = admin_ctx(&self.state, req).await?;
        let role = project_role(body.0.role.as_deref())?;
        for p in &body.0.permissions {
            roles::check_project_permission(p)?;
        }
        let mut tx = begin(&self.state, &ctx).await?;
        let project = tx.project(&id.0).await?.ok_or_else(|| Error::NotFound(format!("no project {}", id.0)))?;
        let who = ops::load(tx.as_mut(), &person.0).await?;
        if who.state == crate::domain::lifecycle::State::Deleted {
            return Err(Error::refused(
                Refusal::IllegalTransition,
                "restore an archived person before adding them to a project",
            )
            .into());
        }
        let all_roles = tx.roles().await?;
        let perms = all_roles
            .iter()
            .find(|r| r.name == who.effective_role())
            .map(|r| r.effective(&who.permissions))
            .unwrap_or_default();
        check_owner(role, &perms)?;
        let before = tx
            .grants_of(std::slice::from_ref(&who.id))
            .await?
            .into_iter()
            .find(|g| g.project_id == project.id && g.source == crate::domain::projects::GrantSource::Manual);
        let mut wanted = body.0.permissions.clone();
        wanted.sort();
        wanted.dedup();
        tx.put_manual_grant(&project.id, &who.id, role, &wanted).await?;
        ops::audit_raw(
            tx.as_mut(),
            &ctx,
            "project.put_member",
            before.as_ref().map(|g| serde_json::json!({"project": project.id, "person": who.id, "role": g.role.as_str(), "permissions": g.permissions})),
            Some(serde_json::json!({"project": project.id, "person": who.id, "role": role.as_str(), "permissions": wanted})),
        )
        .await?;
        if before.as_ref().is_none_or(|g| g.role != role) {
            ops::notify(
                tx.as_mut(),
                &ctx,
                &who,
                &crate::domain::notify::Notice::ProjectRoleChanged {
                    project: project.name.clone(),
                    role: role.as_str().into(),
                },
            )
            .await?;
        }
        if before.as_ref().is_some_and(|g| g.permissions != wanted) || (before.is_none() && !wanted.is_empty()) {
            ops::notify(
                tx.as_mut(),
                &ctx,
                &who,
                &crate::domain::notify::Notice::ProjectPermissionsChanged {
                    project: project.name.clone(),
                    permissions: wanted.clone(),
                },
            )
            .await?;
        }
        tx.commit().await?;
        self.project_out(&ctx, &project.id).await.map(Json)
    }

    /// Remove a person's hand-set membership; they stay in the company. A membership a
    /// group gives stays while they are in the group (`granted_by_group`).
    #[oai(path = "/projects/:id/members/:person", method = "delete")]
    async fn remove_member(
        &self,
        req: &Request,
        _auth: AdminToken,
        id: Path<String>,
        person: Path<String>,
    ) -> Answer<ProjectOut> {
        let ctx = admin_ctx(&self.state, req).await?;
        let mut tx = begin(&self.state, &ctx).await?;
        let removed = tx.remove_manual_grant(&id.0, &person.0).await?;
        let still = tx.project_grants(&id.0).await?.into_iter().find(|g| g.person == person.0);
        if !removed {
            return Err(match still {
                Some(g) => Error::refused(
                    Refusal::GrantedByGroup,
                    format!("the membership comes from a group ({:?}): remove the person from the group", g.source),
                ),
                None => Error::NotFound(format!("{} is not a member of project {}", person.0, id.0)),
            }
            .into());
        }
        ops::audit_raw(
            tx.as_mut(),
            &ctx,
            "project.remove_member",
            Some(serde_json::json!({"project": id.0, "person": person.0})),
            None,
        )
        .await?;
        tx.commit().await?;
        self.project_out(&ctx, &id.0).await.map(Json)
    }

    #[oai(path = "/group-bindings", method = "get")]
    async fn bindings(&self, req: &Request, _auth: AdminToken) -> Answer<Vec<BindingOut>> {
        let ctx = admin_ctx(&self.state, req).await?;
        let mut tx = read(&self.state, &ctx).await?;
        let b = tx.bindings().await?;
        tx.commit().await?;
        Ok(Json(b.into_iter().map(BindingOut::from).collect()))
    }

    /// Bind a SCIM group to projects (with a project role) and/or a company role: its
    /// members get them, and lose exactly them when they leave the group. An empty body
    /// unbinds.
    #[oai(path = "/group-bindings/:group", method = "put")]
    async fn bind(
        &self,
        req: &Request,
        _auth: AdminToken,
        group: Path<String>,
        body: Json<BindingIn>,
    ) -> Answer<BindingOut> {
        let ctx = admin_ctx(&self.state, req).await?;
        let mut tx = begin(&self.state, &ctx).await?;
        let display =
            tx.group_display(&group.0).await?.ok_or_else(|| Error::NotFound(format!("no group {}", group.0)))?;
        let mut projects = Vec::new();
        for p in &body.0.projects {
            tx.project(&p.project).await?.ok_or_else(|| Error::NotFound(format!("no project {}", p.project)))?;
            projects.push((p.project.clone(), project_role(p.role.as_deref())?));
        }
        if let Some(r) = &body.0.company_role {
            ops::role(tx.as_mut(), r).await?;
        }
        let binding = GroupBinding {
            group_id: group.0.clone(),
            group_display: display,
            projects,
            company_role: body.0.company_role.clone(),
        };
        tx.save_binding(&binding).await?;
        ops::audit_raw(
            tx.as_mut(),
            &ctx,
            "group.bind",
            None,
            Some(serde_json::json!({"group": binding.group_id, "projects": binding.projects.iter().map(|(p, r)| serde_json::json!({"project": p, "role": r.as_str()})).collect::<Vec<_>>(), "companyRole": binding.company_role})),
        )
        .await?;
        tx.commit().await?;
        Ok(Json(binding.into()))
    }
}

impl ProjectsApi {
    async fn project_out(&self, ctx: &ops::Ctx, id: &str) -> Result<ProjectOut, super::Failure> {
        let mut tx = read(&self.state, ctx).await?;
        let project = tx.project(id).await?.ok_or_else(|| Error::NotFound(format!("no project {id}")))?;
        let grants = tx.project_grants(id).await?;
        let ids: Vec<String> = grants.iter().map(|g| g.person.clone()).collect();
        let (_, people) = tx
            .people(&crate::domain::people::PeopleQuery { ids: Some(ids), limit: 100_000, ..Default::default() })
            .await?;
        tx.commit().await?;
        let views = views(&self.state, &ctx.tenant, people).await?;
        let may_own = |person: &str| {
            views.iter().any(|v| v.person.id == person && v.permissions.iter().any(|p| p == roles::TEAM_AND_USERS))
        };
        let members = fold(grants, may_own).iter().map(ProjectMembershipOut::from).collect();
        Ok(ProjectOut {
            id: project.id,
            name: project.name,
            description: project.description,
            created: timefmt::format(project.created_at),
            members,
        })
    }
}

#[OpenApi(tag = "Tag::Tenant")]
impl TenantApi {
    /// Seats: the limit (none until set), used and free.
    #[oai(path = "/seats", method = "get")]
    async fn seats(&self, req: &Request, _auth: AdminToken) -> Answer<SeatsOut> {
        let ctx = admin_ctx(&self.state, req).await?;
        let mut tx = read(&self.state, &ctx).await?;
        let seats = Seats { limit: tx.settings().await?.seat_limit, used: tx.seats_used().await? };
        tx.commit().await?;
        Ok(Json(SeatsOut { limit: seats.limit, used: seats.used, free: seats.free() }))
    }

    /// Set or remove the seat limit (a limit below the seats in use is allowed: it only
    /// stops new seats being taken).
    #[oai(path = "/seats", method = "put")]
    async fn set_seats(&self, req: &Request, _auth: AdminToken, body: Json<SeatsIn>) -> Answer<SeatsOut> {
        let ctx = admin_ctx(&self.state, req).await?;
        let mut tx = begin(&self.state, &ctx).await?;
        let mut s = tx.settings().await?;
        let before = s.seat_limit;
        s.seat_limit = body.0.limit;
        tx.save_settings(&s).await?;
        ops::audit_raw(
            tx.as_mut(),
            &ctx,
            "tenant.seat_limit",
            Some(serde_json::json!({"limit": before})),
            Some(serde_json::json!({"limit": s.seat_limit})),
        )
        .await?;
        let used = tx.seats_used().await?;
        tx.commit().await?;
        let seats = Seats { limit: s.seat_limit, used };
        Ok(Json(SeatsOut { limit: seats.limit, used, free: seats.free() }))
    }

    #[oai(path = "/policies", method = "get")]
    async fn policies(&self, req: &Request, _auth: AdminToken) -> Answer<PoliciesOut> {
        let ctx = admin_ctx(&self.state, req).await?;
        let mut tx = read(&self.state, &ctx).await?;
        let s = tx.settings().await?;
        tx.commit().await?;
        Ok(Json(policies(&s)))
    }

    /// Change the tenant's policies; fields left out keep their value.
    #[oai(path = "/policies", method = "put")]
    async fn set_policies(&self, req: &Request, _auth: AdminToken, body: Json<PoliciesIn>) -> Answer<PoliciesOut> {
        let ctx = admin_ctx(&self.state, req).await?;
        let b = body.0;
        let mut tx = begin(&self.state, &ctx).await?;
        let mut s = tx.settings().await?;
        let before = policies(&s);
        let target =
            |v: &str| UserTarget::parse(v).ok_or_else(|| bad(format!("expected `invited` or `active`, got `{v}`")));
        if let Some(v) = &b.scim_create {
            s.scim_create = target(v)?;
        }
        if let Some(v) = &b.scim_reactivate {
            s.scim_reactivate = target(v)?;
        }
        if let Some(v) = &b.scim_deactivate {
            s.scim_deactivate =
                Deactivation::parse(v).ok_or_else(|| bad(format!("expected `contact` or `deleted`, got `{v}`")))?;
        }
        if let Some(v) = b.send_invitations {
            s.send_invitations = v;
        }
        if let Some(h) = b.link_validity_hours {
            if !(1..=24 * 30).contains(&h) {
                return Err(bad("linkValidityHours is between 1 and 720"));
            }
            s.link_validity_hours = h;
        }
        tx.save_settings(&s).await?;
        let after = policies(&s);
        ops::audit_raw(
            tx.as_mut(),
            &ctx,
            "tenant.policies",
            serde_json::to_value(PoliciesSnapshot::of(&before)).ok(),
            serde_json::to_value(PoliciesSnapshot::of(&after)).ok(),
        )
        .await?;
        tx.commit().await?;
        Ok(Json(after))
    }

    /// Turn the public join link on, or rotate it (the old one stops working).
    #[oai(path = "/join-link", method = "post")]
    async fn join_link(&self, req: &Request, _auth: AdminToken) -> Answer<JoinLinkOut> {
        let ctx = admin_ctx(&self.state, req).await?;
        let (token, hash) = secret::mint_link(&ctx.tenant);
        let mut tx = begin(&self.state, &ctx).await?;
        tx.set_join_link_hash(Some(&hash)).await?;
        ops::audit_raw(tx.as_mut(), &ctx, "tenant.join_link_rotate", None, None).await?;
        tx.commit().await?;
        Ok(Json(JoinLinkOut { url: format!("{}/auth/join/{token}", app_url(&self.state, req)) }))
    }

    /// Turn the public join link off.
    #[oai(path = "/join-link", method = "delete")]
    async fn disable_join_link(&self, req: &Request, _auth: AdminToken) -> Answer<PoliciesOut> {
        let ctx = admin_ctx(&self.state, req).await?;
        let mut tx = begin(&self.state, &ctx).await?;
        tx.set_join_link_hash(None).await?;
        ops::audit_raw(tx.as_mut(), &ctx, "tenant.join_link_disable", None, None).await?;
        let s = tx.settings().await?;
        tx.commit().await?;
        Ok(Json(policies(&s)))
    }
}

#[derive(serde::Serialize)]
struct PoliciesSnapshot<'a> {
    scim_create: &'a str,
    scim_deactivate: &'a str,
    scim_reactivate: &'a str,
    send_invitations: bool,
    link_validity_hours: u32,
}

impl<'a> PoliciesSnapshot<'a> {
    fn of(p: &'a PoliciesOut) -> Self {
        Self {
            scim_create: &p.scim_create,
            scim_deactivate: &p.scim_deactivate,
            scim_reactivate: &p.scim_reactivate,
            send_invitations: p.send_invitations,
            link_validity_hours: p.link_validity_hours,
        }
    }
}

#[OpenApi(tag = "Tag::Records")]
impl RecordsApi {
    /// The audit log, newest first, filtered by person, actor (`token:<id>`,
    /// `person:<id>`, `join-link`), action (`person.invite`, …) and time.
    #[oai(path = "/audit", method = "get")]
    #[expect(clippy::too_many_arguments, reason = "one argument per query parameter, as poem-openapi documents them")]
    async fn audit(
        &self,
        req: &Request,
        _auth: AdminToken,
        person: Query<Option<String>>,
        actor: Query<Option<String>>,
        action: Query<Option<String>>,
        since: Query<Option<String>>,
        until: Query<Option<String>>,
        limit: Query<Option<u64>>,
    ) -> Answer<Vec<AuditOut>> {
        let ctx = admin_ctx(&self.state, req).await?;
        let q = AuditQuery {
            person: person.0,
            actor: actor.0,
            action: action.0,
            since: time_param(since.0.as_deref())?,
            until: time_param(until.0.as_deref())?,
            limit: limit.0.unwrap_or(100).min(1000),
        };
        let mut tx = read(&self.state, &ctx).await?;
        let entries = tx.audit_log(&q).await?;
        tx.commit().await?;
        Ok(Json(
            entries
                .into_iter()
                .map(|e| AuditOut {
                    id: e.id,
                    at: timefmt::format(e.at),
                    actor: e.actor,
                    action: e.action,
                    person: e.person,
                    before: e.before,
                    after: e.after,
                })
                .collect(),
        ))
    }

    /// The notification outbox: `status=pending` or `sent`, by person.
    #[oai(path = "/outbox", method = "get")]
    async fn outbox(
        &self,
        req: &Request,
        _auth: AdminToken,
        status: Query<Option<String>>,
        person: Query<Option<String>>,
        limit: Query<Option<u64>>,
    ) -> Answer<Vec<OutboxOut>> {
        let ctx = admin_ctx(&self.state, req).await?;
        let sent = match status.0.as_deref() {
            None => None,
            Some("pending") => Some(false),
            Some("sent") => Some(true),
            Some(other) => return Err(bad(format!("status is `pending` or `sent`, got `{other}`"))),
        };
        let mut tx = read(&self.state, &ctx).await?;
        let list = tx.outbox(&OutboxQuery { sent, person: person.0, limit: limit.0.unwrap_or(100).min(1000) }).await?;
        tx.commit().await?;
        Ok(Json(
            list.into_iter()
                .map(|m| OutboxOut {
                    id: m.id,
                    person: m.person,
                    kind: m.kind,
                    recipient: m.recipient,
                    subject: m.subject,
                    body: m.body,
                    created: timefmt::format(m.created_at),
                    attempts: m.attempts,
                    next_attempt_at: timefmt::format(m.next_attempt_at),
                    sent_at: m.sent_at.map(timefmt::format),
                    last_error: m.last_error,
                })
                .collect(),
        ))
    }
}
