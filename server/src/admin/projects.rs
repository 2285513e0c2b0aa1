//! Projects and their teams, and SCIM groups bound to projects and company roles.

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi, Tags};

use crate::domain::people_ops as ops;
use crate::domain::projects::{check_owner, fold, GroupBinding, Project, ProjectRole};
use crate::domain::roles;
use crate::domain::{Error, Refusal};
use crate::protocol::people::views;
use crate::protocol::AppState;
use crate::storage::timefmt;

use super::dto::{bad, ProjectMembershipOut};
use super::{admin_ctx, begin, read, AdminToken, Answer};

#[derive(Tags)]
pub enum Tag {
    /// Projects and their teams, and group bindings.
    Projects,
}

pub struct ProjectsApi {
    pub state: Arc<AppState>,
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

fn project_role(s: Option<&str>) -> Result<ProjectRole, super::Failure> {
    match s {
        None => Ok(ProjectRole::Participant),
        Some(s) => {
            ProjectRole::parse(s).ok_or_else(|| bad(format!("a project role is `participant` or `owner`, got `{s}`")))
        }
    }
}

#[OpenApi(tag = "Tag::Projects")]
impl ProjectsApi {
    #[oai(path = "/projects", method = "get")]
    async fn projects(&self, req: &Request, _auth: AdminToken) -> Answer<Vec<ProjectOut>> {
        let ctx = admin_ctx(&self.state, req).await?;
        self.list(&ctx).await
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
        self.list(&ctx).await
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
    /// Every project of the tenant (without their teams).
    async fn list(&self, ctx: &ops::Ctx) -> Answer<Vec<ProjectOut>> {
        let mut tx = read(&self.state, ctx).await?;
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
