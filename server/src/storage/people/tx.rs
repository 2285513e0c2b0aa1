//! [`SqlTx`]: one lifecycle transaction on one tenant. Settings, roles, links and the audit
//! log live here; people, projects and the outbox in the sibling modules.

use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use time::OffsetDateTime;

use crate::domain::audit::{AuditEntry, AuditQuery};
use crate::domain::lifecycle::UserTarget;
use crate::domain::notify::{OutboxMessage, OutboxQuery};
use crate::domain::people::{Identity, NewPerson, PeopleQuery, Person};
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
    roles: Option<Arc<Vec<Role>>>,
    /// The tenant's `roles_version` as read with its settings (unknown until then, and
    /// again once this transaction changed a role).
    roles_version: Option<i64>,
    known_roles: Arc<RolesCache>,
    _dialect: std::marker::PhantomData<fn() -> D>,
}

/// A tenant's roles, read at one `roles_version`.
type Versioned = (i64, Arc<Vec<Role>>);

/// Every tenant's roles as last read, with the `roles_version` they were read at.
#[derive(Default)]
pub struct RolesCache(Mutex<HashMap<String, Versioned>>);

impl RolesCache {
    fn get(&self, tenant: &str, version: i64) -> Option<Arc<Vec<Role>>> {
        let known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        known.get(tenant).filter(|(v, _)| *v == version).map(|(_, roles)| roles.clone())
    }

    fn put(&self, tenant: &str, version: i64, roles: &Arc<Vec<Role>>) {
        let mut known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // Tenants are few; the cap only guards memory.
        if known.len() >= 10_000 {
            known.clear();
        }
        known.insert(tenant.to_owned(), (version, roles.clone()));
    }
}

impl<D: Backend> SqlTx<D> {
    pub fn new(tx: Box<dyn Conn>, tenant: &TenantId, known_roles: Arc<RolesCache>) -> Self {
        Self {
            tx,
            tenant: tenant.0.clone(),
            settings: None,
            roles: None,
            roles_version: None,
            known_roles,
            _dialect: std::marker::PhantomData,
        }
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
        if existing.first().map(|r| r.int(0)).transpose()?.flatten().unwrap_or(0) == 0 {
            for role in builtin_roles() {
                self.write_role(&role).await?;
            }
        }
        Ok(())
    }

    async fn read_settings(&mut self, lock: &str) -> Result<Option<TenantSettings>> {
        let rows = Sql::<D>::new(
            "SELECT seat_limit, link_validity_hours, scim_create, scim_deactivate, scim_reactivate, send_invitations, \
             join_link_hash, roles_version FROM tenant_settings WHERE tenant_id = ",
        )
        .text(self.tenant.clone())
        .sql(lock)
        .rows(self.conn())
        .await?;
        let Some(r) = rows.first() else { return Ok(None) };
        self.roles_version = r.int(7)?;
        Ok(Some(TenantSettings {
            seat_limit: r.int(0)?.and_then(|n| u32::try_from(n).ok()),
            link_validity_hours: r.int(1)?.and_then(|n| u32::try_from(n).ok()).ok_or_else(|| bad("link validity"))?,
            scim_create: UserTarget::parse(&req_text(r, 2)?).ok_or_else(|| bad("policy"))?,
            scim_deactivate: Deactivation::parse(&req_text(r, 3)?).ok_or_else(|| bad("policy"))?,
            scim_reactivate: UserTarget::parse(&req_text(r, 4)?).ok_or_else(|| bad("policy"))?,
            send_invitations: r.int(5)?.unwrap_or(1) != 0,
            join_link_enabled: r.text(6)?.is_some(),
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

    /// The tenant's roles with their permissions, in one statement.
    async fn read_roles(&mut self) -> Result<Vec<Role>> {
        let rows = Sql::<D>::new(
            "SELECT r.name, r.description, r.builtin, p.permission, p.kind FROM roles r \
             LEFT JOIN role_permissions p ON p.tenant_id = r.tenant_id AND p.role = r.name WHERE r.tenant_id = ",
        )
        .text(self.tenant.clone())
        .sql(" ORDER BY r.builtin DESC, r.name, p.permission")
        .rows(self.conn())
        .await?;
        let mut roles: Vec<Role> = Vec::new();
        for r in &rows {
            let name = req_text(r, 0)?;
            if roles.last().is_none_or(|last| last.name != name) {
                roles.push(Role {
                    name,
                    description: req_text(r, 1)?,
                    builtin: r.int(2)?.unwrap_or(0) != 0,
                    defaults: Vec::new(),
                    grantable: Vec::new(),
                });
            }
            let role = roles.last_mut().expect("pushed above");
            if let (Some(permission), Some(kind)) = (r.text(3)?, r.text(4)?) {
                if kind == "default" {
                    role.defaults.push(permission);
                } else {
                    role.grantable.push(permission);
                }
            }
        }
        if roles.is_empty() {
            // Nobody wrote to this tenant yet: its first writer will store these.
            return Ok(builtin_roles());
        }
        Ok(roles)
    }

    /// Fills `roles`: from the cache when it holds the version this transaction read.
    async fn load_roles(&mut self) -> Result<()> {
        if self.roles.is_some() {
            return Ok(());
        }
        if let Some(cached) = self.roles_version.and_then(|v| self.known_roles.get(&self.tenant, v)) {
            self.roles = Some(cached);
            return Ok(());
        }
        let roles = Arc::new(self.read_roles().await?);
        if let Some(version) = self.roles_version {
            self.known_roles.put(&self.tenant, version, &roles);
        }
        self.roles = Some(roles);
        Ok(())
    }

    /// Gives the tenant a new `roles_version` (with the change that follows, in this
    /// transaction), so that no server uses the roles it cached before. A random one, not a
    /// count: a version whose transaction rolled back must never come back with other roles.
    async fn roles_changed(&mut self) -> Result<()> {
        self.roles = None;
        self.roles_version = None;
        Sql::<D>::new("UPDATE tenant_settings SET roles_version = ")
            .int(rand::random::<i64>())
            .sql(" WHERE tenant_id = ")
            .text(self.tenant.clone())
            .run(self.conn())
            .await?;
        Ok(())
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
        Ok(rows.first().map(|r| r.text(0)).transpose()?.flatten())
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

    async fn identity(&mut self, user_name: &str, external_id: Option<&str>) -> Result<Identity> {
        people::identity::<D>(self, user_name, external_id).await
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
        self.load_roles().await?;
        Ok(self.roles.as_deref().cloned().unwrap_or_default())
    }

    async fn role(&mut self, name: &str) -> Result<Option<Role>> {
        self.load_roles().await?;
        Ok(self.roles.as_deref().into_iter().flatten().find(|r| r.name == name).cloned())
    }

    async fn save_role(&mut self, role: &Role) -> Result<()> {
        self.roles_changed().await?;
        self.write_role(role).await
    }

    async fn delete_role(&mut self, name: &str) -> Result<()> {
        self.roles_changed().await?;
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
            hash: req_text(r, 0)?,
            person: req_text(r, 1)?,
            purpose: LinkPurpose::parse(&req_text(r, 2)?).ok_or_else(|| bad("link purpose"))?,
            created_at: req_time(r, 3)?,
            expires_at: req_time(r, 4)?,
            used_at: opt_time(r, 5)?,
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
        projects::bindings::<D>(self, None).await
    }

    async fn bindings_of(&mut self, groups: &[String]) -> Result<Vec<GroupBinding>> {
        projects::bindings::<D>(self, Some(groups)).await
    }

    async fn group_display(&mut self, id: &str) -> Result<Option<String>> {
        let rows = Sql::<D>::new("SELECT display_name FROM groups WHERE tenant_id = ")
            .text(self.tenant.clone())
            .sql(" AND id = ")
            .text(id)
            .rows(self.conn())
            .await?;
        Ok(rows.first().map(|r| r.text(0)).transpose()?.flatten())
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
                    id: req_text(r, 0)?,
                    at: req_time(r, 1)?,
                    actor: req_text(r, 2)?,
                    action: req_text(r, 3)?,
                    person: r.text(4)?,
                    before: parse(r.text(5)?),
                    after: parse(r.text(6)?),
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
