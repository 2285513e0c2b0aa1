//! Projects, their hand-set members, and group bindings. Grants through a group are
//! derived in the query (binding ⋈ group_members), never copied, so they appear and vanish
//! with the group's membership and never touch a hand-set grant.

use crate::domain::projects::{Grant, GrantSource, GroupBinding, Project, ProjectRole};
use crate::domain::{Error, Result};

use super::query::{req_text, req_time, Sql};
use super::tx::SqlTx;
use super::Backend;

pub async fn list<D: Backend>(tx: &mut SqlTx<D>, id: Option<&str>) -> Result<Vec<Project>> {
    let mut q = Sql::<D>::new("SELECT id, name, description, created_at FROM projects WHERE tenant_id = ")
        .text(tx.tenant.clone());
    if let Some(id) = id {
        q = q.sql(" AND id = ").text(id);
    }
    let rows = q.sql(" ORDER BY name_lower").rows(tx.conn()).await?;
    rows.iter()
        .map(|r| {
            Ok(Project {
                id: req_text(r, 0)?,
                name: req_text(r, 1)?,
                description: r.text(2)?,
                created_at: req_time(r, 3)?,
            })
        })
        .collect()
}

pub async fn insert<D: Backend>(tx: &mut SqlTx<D>, p: &Project) -> Result<()> {
    Sql::<D>::new("INSERT INTO projects (tenant_id, id, name, name_lower, description, created_at) VALUES (")
        .text(tx.tenant.clone())
        .sql(", ")
        .text(p.id.clone())
        .sql(", ")
        .text(p.name.clone())
        .sql(", ")
        .text(p.name.to_lowercase())
        .sql(", ")
        .opt_text(p.description.clone())
        .sql(", ")
        .time(p.created_at)
        .sql(")")
        .run(tx.conn())
        .await
        .map_err(|e| match e {
            Error::Uniqueness(_) => Error::Uniqueness(format!("a project named `{}` already exists", p.name)),
            other => other,
        })?;
    Ok(())
}

pub async fn delete<D: Backend>(tx: &mut SqlTx<D>, id: &str) -> Result<bool> {
    let n = Sql::<D>::new("DELETE FROM projects WHERE tenant_id = ")
        .text(tx.tenant.clone())
        .sql(" AND id = ")
        .text(id)
        .run(tx.conn())
        .await?;
    Ok(n > 0)
}

/// Hand-set and group grants of some people or of one project, in one query.
pub async fn grants<D: Backend>(
    tx: &mut SqlTx<D>,
    people: Option<&[String]>,
    project: Option<&str>,
) -> Result<Vec<Grant>> {
    let t = tx.tenant.clone();
    let scope = |q: Sql<D>, user_col: &str, project_col: &str| {
        let q = match people {
            Some(ids) => q.sql(&format!(" AND {user_col} IN ")).list(ids),
            None => q,
        };
        match project {
            Some(p) => q.sql(&format!(" AND {project_col} = ")).text(p),
            None => q,
        }
    };
    let manual = Sql::<D>::new(
        "SELECT pm.project_id, pr.name, pm.user_id, pm.role, pm.permissions, NULL, NULL FROM project_members pm \
         JOIN projects pr ON pr.tenant_id = pm.tenant_id AND pr.id = pm.project_id WHERE pm.tenant_id = ",
    )
    .text(t.clone());
    let q = scope(manual, "pm.user_id", "pm.project_id")
        .sql(
            " UNION ALL SELECT b.project_id, pr.name, m.member_id, b.role, '', g.id, g.display_name \
             FROM group_project_bindings b \
             JOIN group_members m ON m.tenant_id = b.tenant_id AND m.group_id = b.group_id \
             JOIN groups g ON g.tenant_id = b.tenant_id AND g.id = b.group_id \
             JOIN projects pr ON pr.tenant_id = b.tenant_id AND pr.id = b.project_id \
             JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.member_id AND u.state <> 'deleted' \
             WHERE b.tenant_id = ",
        )
        .text(t);
    let q = scope(q, "m.member_id", "b.project_id");
    let rows = q.rows(tx.conn()).await?;
    rows.iter()
        .map(|r| {
            let permissions = r.text(4)?.unwrap_or_default();
            let source = match (r.text(5)?, r.text(6)?) {
                (Some(id), Some(display)) => GrantSource::Group { id, display },
                _ => GrantSource::Manual,
            };
            Ok(Grant {
                project_id: req_text(r, 0)?,
                project_name: req_text(r, 1)?,
                person: req_text(r, 2)?,
                role: ProjectRole::parse(&req_text(r, 3)?).unwrap_or(ProjectRole::Participant),
                permissions: permissions.split_whitespace().map(str::to_owned).collect(),
                source,
            })
        })
        .collect()
}

pub async fn put_manual<D: Backend>(
    tx: &mut SqlTx<D>,
    project: &str,
    person: &str,
    role: ProjectRole,
    permissions: &[String],
) -> Result<()> {
    Sql::<D>::new("INSERT INTO project_members (tenant_id, project_id, user_id, role, permissions) VALUES (")
        .text(tx.tenant.clone())
        .sql(", ")
        .text(project)
        .sql(", ")
        .text(person)
        .sql(", ")
        .text(role.as_str())
        .sql(", ")
        .text(permissions.join(" "))
        .sql(") ON CONFLICT (tenant_id, project_id, user_id) DO UPDATE SET role = excluded.role, permissions = excluded.permissions")
        .run(tx.conn())
        .await?;
    Ok(())
}

pub async fn remove_manual<D: Backend>(tx: &mut SqlTx<D>, project: &str, person: &str) -> Result<bool> {
    let n = Sql::<D>::new("DELETE FROM project_members WHERE tenant_id = ")
        .text(tx.tenant.clone())
        .sql(" AND project_id = ")
        .text(project)
        .sql(" AND user_id = ")
        .text(person)
        .run(tx.conn())
        .await?;
    Ok(n > 0)
}

/// Every group binding of the tenant, or those of `groups` only.
pub async fn bindings<D: Backend>(tx: &mut SqlTx<D>, groups: Option<&[String]>) -> Result<Vec<GroupBinding>> {
    let t = tx.tenant.clone();
    let only = |q: Sql<D>, column: &str| match groups {
        Some(ids) => q.sql(&format!(" AND {column} IN ")).list(ids),
        None => q,
    };
    let q = Sql::<D>::new(
        "SELECT g.id, g.display_name, b.project_id, b.role, NULL FROM group_project_bindings b \
         JOIN groups g ON g.tenant_id = b.tenant_id AND g.id = b.group_id WHERE b.tenant_id = ",
    )
    .text(t.clone());
    let q = only(q, "b.group_id").sql(
        " UNION ALL SELECT g.id, g.display_name, NULL, NULL, r.company_role FROM group_role_bindings r \
         JOIN groups g ON g.tenant_id = r.tenant_id AND g.id = r.group_id WHERE r.tenant_id = ",
    );
    let rows = only(q.text(t), "r.group_id").rows(tx.conn()).await?;
    let mut out: Vec<GroupBinding> = Vec::new();
    for r in &rows {
        let (id, display) = (req_text(r, 0)?, req_text(r, 1)?);
        let at = match out.iter().position(|b| b.group_id == id) {
            Some(i) => i,
            None => {
                out.push(GroupBinding {
                    group_id: id,
                    group_display: display,
                    projects: Vec::new(),
                    company_role: None,
                });
                out.len() - 1
            }
        };
        if let (Some(p), Some(role)) = (r.text(2)?, r.text(3)?) {
            out[at].projects.push((p, ProjectRole::parse(&role).unwrap_or(ProjectRole::Participant)));
        }
        if let Some(role) = r.text(4)? {
            out[at].company_role = Some(role);
        }
    }
    for b in &mut out {
        b.projects.sort();
    }
    out.sort_by_key(|b| b.group_display.to_lowercase());
    Ok(out)
}

pub async fn save_binding<D: Backend>(tx: &mut SqlTx<D>, b: &GroupBinding) -> Result<()> {
    let t = tx.tenant.clone();
    for table in ["group_project_bindings", "group_role_bindings"] {
        Sql::<D>::new(&format!("DELETE FROM {table} WHERE tenant_id = "))
            .text(t.clone())
            .sql(" AND group_id = ")
            .text(b.group_id.clone())
            .run(tx.conn())
            .await?;
    }
    for (project, role) in &b.projects {
        Sql::<D>::new("INSERT INTO group_project_bindings (tenant_id, group_id, project_id, role) VALUES (")
            .text(t.clone())
            .sql(", ")
            .text(b.group_id.clone())
            .sql(", ")
            .text(project.clone())
            .sql(", ")
            .text(role.as_str())
            .sql(")")
            .run(tx.conn())
            .await?;
    }
    if let Some(role) = &b.company_role {
        Sql::<D>::new("INSERT INTO group_role_bindings (tenant_id, group_id, company_role) VALUES (")
            .text(t)
            .sql(", ")
            .text(b.group_id.clone())
            .sql(", ")
            .text(role.clone())
            .sql(")")
            .run(tx.conn())
            .await?;
    }
    Ok(())
}
