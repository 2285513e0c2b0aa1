//! [`SqlTx`]: one lifecycle transaction on one tenant. Settings, roles, links and the audit
//! log live here; people, projects and the outbox in the sibling modules.

use async_trait::async_trait;
use serde_json::Value;
use time::OffsetDateTime;

use crate::domain::audit::{AuditEntry, AuditQuery};
use crate::domain::lifecycle::UserTarget;
use crate::domain::notify::{OutboxMessage, OutboxQuery};
use crate::domain::people::{NewPerson, PeopleQuery, Person};
use crate::domain::people_store::PeopleTx;
use crate::domain::projects::{Grant, GroupBinding, Project, ProjectRole};
use crate::domain::resource::TenantId;
use crate::domain::roles::{builtin_roles, Role};
use crate::domain::secret::{LinkPurpose, LinkRecord};
use crate::domain::settings::{Deactivation, TenantSettings};
use crate::domain::{Error, Result};

use super::exec::Conn;
use super::query::{opt_time, req_text, req_time, Sql};
use super::{outbox, projects, rows as people, Backend};

pub struct SqlTx<D: Backend> {
    tx: Box<dyn Conn>,
    pub(super) tenant: String,
    /// Read once per transaction: a use case asks for them several times, and a write
    /// transaction holds the tenant's lock, so they cannot change under it.
    settings: Option<TenantSettings>,
    roles: Option<Vec<Role>>,
    _dialect: std::marker::PhantomData<fn() -> D>,
}

impl<D: Backend> SqlTx<D> {
    pub fn new(tx: Box<dyn Conn>, tenant: &TenantId) -> Self {
        Self { tx, tenant: tenant.0.clone(), settings: None, roles: None, _dialect: std::marker::PhantomData }
    }

    pub(super) fn conn(&mut self) -> &mut dyn Conn {
        self.tx.as_mut()
    }

    /// Locks the tenant's settings row (reading it), creating it and the built-in roles on
    /// first use.
    pub async fn lock_tenant(&mut self) -> Result<()> {
        if let Some(found) = self.read_settings(D::LOCK_ROW).await? {
            self.settings = Some(found);
            return Ok(());
        }
        let d = TenantSettings::default();
        // Two first writers may race here: the loser's insert is a no-op, then both lock.
        Sql::<D>::new(
            "INSERT INTO tenant_settings (tenant_id, seat_limit, link_validity_hours, scim_create, scim_deactivate, \
             scim_reactivate, send_invitations) VALUES (",
        )
        .text(self.tenant.clone())
        .sql(", NULL, ")
        .int(i64::from(d.link_validity_hours))
        .sql(", ")
        .text(d.scim_create.as_str())
        .sql(", ")
        .text(d.scim_deactivate.as_str())
        .sql(", ")
        .text(d.scim_reactivate.as_str())
        .sql(", ")
        .flag(d.send_invitations)
        .sql(") ON CONFLICT DO NOTHING")
        .run(self.conn())
        .await?;
        self.settings = self.read_settings(D::LOCK_ROW).await?;
        let existing = Sql::<D>::new("SELECT count(*) FROM roles WHERE tenant_id = ")
            .text(self.tenant.clone())
            .rows(self.conn())
            .await?;
        if existing.first().map(|r| D::int(r, 0)).transpose()?.flatten().unwrap_or(0) == 0 {
            for role in builtin_roles() {
                self.write_role(&role).await?;
            }
        }
        Ok(())
    }

    async fn read_settings(&mut self, lock: &str) -> Result<Option<TenantSettings>> {
        let rows = Sql::<D>::new(
            "SELECT seat_limit, link_validity_hours, scim_create, scim_deactivate, scim_reactivate, send_invitations, \
             join_link_hash FROM tenant_settings WHERE tenant_id = ",
        )
        .text(self.tenant.clone())
        .sql(lock)
        .rows(self.conn())
        .await?;
        let Some(r) = rows.first() else { return Ok(None) };
        Ok(Some(TenantSettings {
            seat_limit: D::int(r, 0)?.and_then(|n| u32::try_from(n).ok()),
            link_validity_hours: D::int(r, 1)?
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| bad("link validity"))?,
            scim_create: UserTarget::parse(&req_text::<D>(r, 2)?).ok_or_else(|| bad("policy"))?,
            scim_deactivate: Deactivation::parse(&req_text::<D>(r, 3)?).ok_or_else(|| bad("policy"))?,
            scim_reactivate: UserTarget::parse(&req_text::<D>(r, 4)?).ok_or_else(|| bad("policy"))?,
            send_invitations: D::int(r, 5)?.unwrap_or(1) != 0,
            join_link_enabled: D::text(r, 6)?.is_some(),
        }))
    }

    async fn write_role(&mut self, role: &Role) -> Result<()> {
        let t = self.tenant.clone();
        Sql::<D>::new("INSERT INTO roles (tenant_id, name, description, builtin) VALUES (")
            .text(t.clone())
            .sql(", ")
            .text(role.name.clone())
            .sql(", ")
            .text(role.description.clone())
            .sql(", ")
            .flag(role.builtin)
            .sql(") ON CONFLICT (tenant_id, name) DO UPDATE SET description = excluded.description")
            .run(self.conn())
            .await?;
        Sql::<D>::new("DELETE FROM role_permissions WHERE tenant_id = ")
            .text(t.clone())
            .sql(" AND role = ")
            .text(role.name.clone())
            .run(self.conn())
            .await?;
        for (kind, list) in [("default", &role.defaults), ("grantable", &role.grantable)] {
            for p in list {
                Sql::<D>::new("INSERT INTO role_permissions (tenant_id, role, permission, kind) VALUES (")
                    .text(t.clone())
                    .sql(", ")
                    .text(role.name.clone())
                    .sql(", ")
                    .text(p.clone())
                    .sql(", ")
                    .text(kind)
                    .sql(") ON CONFLICT DO NOTHING")
                    .run(self.conn())
                    .await?;
            }
        }
        Ok(())
    }

    async fn read_roles(&mut self, name: Option<&str>) -> Result<Vec<Role>> {
        let mut q =
            Sql::<D>::new("SELECT name, description, builtin FROM roles WHERE tenant_id = ").text(self.tenant.clone());
        if let Some(n) = name {
            q = q.sql(" AND name = ").text(n);
        }
        let rows = q.sql(" ORDER BY builtin DESC, name").rows(self.conn()).await?;
        let mut roles = Vec::new();
        for r in &rows {
            roles.push(Role {
                name: req_text::<D>(r, 0)?,
                description: req_text::<D>(r, 1)?,
                builtin: D::int(r, 2)?.unwrap_or(0) != 0,
                defaults: Vec::new(),
                grantable: Vec::new(),
            });
        }
        if roles.is_empty() {
            // Nobody wrote to this tenant yet: its first writer will store these.
            return Ok(builtin_roles().into_iter().filter(|r| name.is_none_or(|n| n == r.name)).collect());
        }
        let names: Vec<String> = roles.iter().map(|r| r.name.clone()).collect();
        let rows = Sql::<D>::new("SELECT role, permission, kind FROM role_permissions WHERE tenant_id = ")
            .text(self.tenant.clone())
            .sql(" AND role IN ")
            .list(&names)
            .sql(" ORDER BY role, permission")
            .rows(self.conn())
            .await?;
        for r in &rows {
            let (role, perm, kind) = (req_text::<D>(r, 0)?, req_text::<D>(r, 1)?, req_text::<D>(r, 2)?);
            if let Some(found) = roles.iter_mut().find(|x| x.name == role) {
                if kind == "default" {
                    found.defaults.push(perm);
                } else {
                    found.grantable.push(perm);
                }
            }
        }
        Ok(roles)
    }

    pub async fn commit_boxed(self: Box<Self>) -> Result<()> {
        self.tx.commit().await
    }
}

fn bad(what: &str) -> Error {
    Error::Storage(format!("unreadable {what} in the database").into())
}

fn json_of(v: Option<&Value>) -> Option<String> {
    v.map(Value::to_string)
}

#[async_trait]
impl<D: Backend> PeopleTx for SqlTx<D> {
    async fn settings(&mut self) -> Result<TenantSettings> {
        if self.settings.is_none() {
            self.settings = self.read_settings("").await?;
        }
        Ok(self.settings.clone().unwrap_or_default())
    }

    async fn save_settings(&mut self, s: &TenantSettings) -> Result<()> {
        Sql::<D>::new("UPDATE tenant_settings SET seat_limit = ")
            .opt_int(s.seat_limit.map(i64::from))
            .sql(", link_validity_hours = ")
            .int(i64::from(s.link_validity_hours))
            .sql(", scim_create = ")
            .text(s.scim_create.as_str())
            .sql(", scim_deactivate = ")
            .text(s.scim_deactivate.as_str())
            .sql(", scim_reactivate = ")
            .text(s.scim_reactivate.as_str())
            .sql(", send_invitations = ")
            .flag(s.send_invitations)
            .sql(" WHERE tenant_id = ")
            .text(self.tenant.clone())
            .run(self.conn())
            .await?;
        self.settings = Some(s.clone());
        Ok(())
    }

    async fn join_link_hash(&mut self) -> Result<Option<String>> {
        let rows = Sql::<D>::new("SELECT join_link_hash FROM tenant_settings WHERE tenant_id = ")
            .text(self.tenant.clone())
            .rows(self.conn())
            .await?;
        Ok(rows.first().map(|r| D::text(r, 0)).transpose()?.flatten())
    }

    async fn set_join_link_hash(&mut self, hash: Option<&str>) -> Result<()> {
        if let Some(cached) = &mut self.settings {
            cached.join_link_enabled = hash.is_some();
        }
        Sql::<D>::new("UPDATE tenant_settings SET join_link_hash = ")
            .opt_text(hash)
            .sql(" WHERE tenant_id = ")
            .text(self.tenant.clone())
            .run(self.conn())
            .await?;
        Ok(())
    }

    async fn person(&mut self, id: &str) -> Result<Option<Person>> {
        people::person::<D>(self, id).await
    }

    async fn people(&mut self, query: &PeopleQuery) -> Result<(u64, Vec<Person>)> {
        people::list::<D>(self, query).await
    }

    async fn find_by_user_name(&mut self, user_name: &str) -> Result<Option<Person>> {
        people::by_user_name::<D>(self, user_name).await
    }

    async fn identity_taken(&mut self, user_name: &str, external_id: Option<&str>) -> Result<Option<&'static str>> {
        people::identity_taken::<D>(self, user_name, external_id).await
    }

    async fn archived_match(&mut self, user_name: &str, external_id: Option<&str>) -> Result<Option<String>> {
        people::archived_match::<D>(self, user_name, external_id).await
    }

    async fn insert_person(&mut self, new: &NewPerson, now: OffsetDateTime) -> Result<Person> {
        people::insert::<D>(self, new, now).await
    }

    async fn save_person(&mut self, person: &Person, now: OffsetDateTime) -> Result<Person> {
        people::save::<D>(self, person, now).await
    }

    async fn seats_used(&mut self) -> Result<u64> {
        people::seats_used::<D>(self).await
    }

    async fn admins_other_than(&mut self, id: &str) -> Result<u64> {
        people::admins_other_than::<D>(self, id).await
    }

    async fn email_taken(&mut self, email: &str, except: &str) -> Result<bool> {
        people::email_taken::<D>(self, email, except).await
    }

    async fn set_password(&mut self, person: &str, hash: &str) -> Result<()> {
        Sql::<D>::new("UPDATE people SET password_hash = ")
            .text(hash)
            .sql(" WHERE tenant_id = ")
            .text(self.tenant.clone())
            .sql(" AND user_id = ")
            .text(person)
            .run(self.conn())
            .await?;
        Ok(())
    }

    async fn roles(&mut self) -> Result<Vec<Role>> {
        if self.roles.is_none() {
            self.roles = Some(self.read_roles(None).await?);
        }
        Ok(self.roles.clone().unwrap_or_default())
    }

    async fn role(&mut self, name: &str) -> Result<Option<Role>> {
        Ok(self.roles().await?.into_iter().find(|r| r.name == name))
    }

    async fn save_role(&mut self, role: &Role) -> Result<()> {
        self.roles = None;
        self.write_role(role).await
    }

    async fn delete_role(&mut self, name: &str) -> Result<()> {
        self.roles = None;
        Sql::<D>::new("DELETE FROM roles WHERE tenant_id = ")
            .text(self.tenant.clone())
            .sql(" AND name = ")
            .text(name)
            .run(self.conn())
            .await?;
        Ok(())
    }

    async fn role_in_use(&mut self, name: &str) -> Result<bool> {
        let t = self.tenant.clone();
        let rows = Sql::<D>::new("SELECT 1 FROM people WHERE tenant_id = ")
            .text(t.clone())
            .sql(" AND company_role = ")
            .text(name)
            .sql(" UNION ALL SELECT 1 FROM group_role_bindings WHERE tenant_id = ")
            .text(t)
            .sql(" AND company_role = ")
            .text(name)
            .rows(self.conn())
            .await?;
        Ok(!rows.is_empty())
    }

    async fn put_link(&mut self, link: &LinkRecord) -> Result<()> {
        Sql::<D>::new(
            "INSERT INTO person_links (tenant_id, token_hash, user_id, purpose, created_at, expires_at) VALUES (",
        )
        .text(self.tenant.clone())
        .sql(", ")
        .text(link.hash.clone())
        .sql(", ")
        .text(link.person.clone())
        .sql(", ")
        .text(link.purpose.as_str())
        .sql(", ")
        .time(link.created_at)
        .sql(", ")
        .time(link.expires_at)
        .sql(")")
        .run(self.conn())
        .await?;
        Ok(())
    }

    async fn kill_links(&mut self, person: &str, purpose: LinkPurpose, now: OffsetDateTime) -> Result<()> {
        Sql::<D>::new("UPDATE person_links SET used_at = ")
            .time(now)
            .sql(" WHERE tenant_id = ")
            .text(self.tenant.clone())
            .sql(" AND user_id = ")
            .text(person)
            .sql(" AND purpose = ")
            .text(purpose.as_str())
            .sql(" AND used_at IS NULL")
            .run(self.conn())
            .await?;
        Ok(())
    }

    async fn link(&mut self, hash: &str) -> Result<Option<LinkRecord>> {
        let rows = Sql::<D>::new(
            "SELECT token_hash, user_id, purpose, created_at, expires_at, used_at FROM person_links WHERE tenant_id = ",
        )
        .text(self.tenant.clone())
        .sql(" AND token_hash = ")
        .text(hash)
        .rows(self.conn())
        .await?;
        let Some(r) = rows.first() else { return Ok(None) };
        Ok(Some(LinkRecord {
            hash: req_text::<D>(r, 0)?,
            person: req_text::<D>(r, 1)?,
            purpose: LinkPurpose::parse(&req_text::<D>(r, 2)?).ok_or_else(|| bad("link purpose"))?,
            created_at: req_time::<D>(r, 3)?,
            expires_at: req_time::<D>(r, 4)?,
            used_at: opt_time::<D>(r, 5)?,
        }))
    }

    async fn use_link(&mut self, hash: &str, now: OffsetDateTime) -> Result<()> {
        Sql::<D>::new("UPDATE person_links SET used_at = ")
            .time(now)
            .sql(" WHERE tenant_id = ")
            .text(self.tenant.clone())
            .sql(" AND token_hash = ")
            .text(hash)
            .run(self.conn())
            .await?;
        Ok(())
    }

    async fn projects(&mut self) -> Result<Vec<Project>> {
        projects::list::<D>(self, None).await
    }

    async fn project(&mut self, id: &str) -> Result<Option<Project>> {
        Ok(projects::list::<D>(self, Some(id)).await?.into_iter().next())
    }

    async fn insert_project(&mut self, project: &Project) -> Result<()> {
        projects::insert::<D>(self, project).await
    }

    async fn delete_project(&mut self, id: &str) -> Result<bool> {
        projects::delete::<D>(self, id).await
    }

    async fn grants_of(&mut self, people: &[String]) -> Result<Vec<Grant>> {
        projects::grants::<D>(self, Some(people), None).await
    }

    async fn project_grants(&mut self, project: &str) -> Result<Vec<Grant>> {
        projects::grants::<D>(self, None, Some(project)).await
    }

    async fn put_manual_grant(
        &mut self,
        project: &str,
        person: &str,
        role: ProjectRole,
        permissions: &[String],
    ) -> Result<()> {
        projects::put_manual::<D>(self, project, person, role, permissions).await
    }

    async fn remove_manual_grant(&mut self, project: &str, person: &str) -> Result<bool> {
        projects::remove_manual::<D>(self, project, person).await
    }

    async fn bindings(&mut self) -> Result<Vec<GroupBinding>> {
        projects::bindings::<D>(self).await
    }

    async fn group_display(&mut self, id: &str) -> Result<Option<String>> {
        let rows = Sql::<D>::new("SELECT display_name FROM groups WHERE tenant_id = ")
            .text(self.tenant.clone())
            .sql(" AND id = ")
            .text(id)
            .rows(self.conn())
            .await?;
        Ok(rows.first().map(|r| D::text(r, 0)).transpose()?.flatten())
    }

    async fn save_binding(&mut self, binding: &GroupBinding) -> Result<()> {
        projects::save_binding::<D>(self, binding).await
    }

    async fn audit(&mut self, e: &AuditEntry) -> Result<()> {
        Sql::<D>::new("INSERT INTO audit_log (tenant_id, id, at, actor, action, user_id, before, after) VALUES (")
            .text(self.tenant.clone())
            .sql(", ")
            .text(e.id.clone())
            .sql(", ")
            .time(e.at)
            .sql(", ")
            .text(e.actor.clone())
            .sql(", ")
            .text(e.action.clone())
            .sql(", ")
            .opt_text(e.person.clone())
            .sql(", ")
            .opt_text(json_of(e.before.as_ref()))
            .sql(", ")
            .opt_text(json_of(e.after.as_ref()))
            .sql(")")
            .run(self.conn())
            .await?;
        Ok(())
    }

    async fn audit_log(&mut self, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
        let mut s =
            Sql::<D>::new("SELECT id, at, actor, action, user_id, before, after FROM audit_log WHERE tenant_id = ")
                .text(self.tenant.clone());
        if let Some(p) = &q.person {
            s = s.sql(" AND user_id = ").text(p.clone());
        }
        if let Some(a) = &q.actor {
            s = s.sql(" AND actor = ").text(a.clone());
        }
        if let Some(a) = &q.action {
            s = s.sql(" AND action = ").text(a.clone());
        }
        if let Some(t) = q.since {
            s = s.sql(" AND at >= ").time(t);
        }
        if let Some(t) = q.until {
            s = s.sql(" AND at < ").time(t);
        }
        let rows = s
            .sql(" ORDER BY at DESC, id DESC LIMIT ")
            .int(i64::try_from(q.limit).unwrap_or(100))
            .rows(self.conn())
            .await?;
        let parse = |t: Option<String>| t.and_then(|t| serde_json::from_str(&t).ok());
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: req_text::<D>(r, 0)?,
                    at: req_time::<D>(r, 1)?,
                    actor: req_text::<D>(r, 2)?,
                    action: req_text::<D>(r, 3)?,
                    person: D::text(r, 4)?,
                    before: parse(D::text(r, 5)?),
                    after: parse(D::text(r, 6)?),
                })
            })
            .collect()
    }

    async fn enqueue(&mut self, m: &OutboxMessage) -> Result<()> {
        outbox::enqueue::<D>(self, m).await
    }

    async fn outbox(&mut self, q: &OutboxQuery) -> Result<Vec<OutboxMessage>> {
        outbox::list::<D>(self, q).await
    }

    fn work(&mut self) -> &mut dyn crate::domain::work_store::WorkTx {
        self
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        self.commit_boxed().await
    }
}
