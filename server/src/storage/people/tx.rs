//! [`SqlTx`]: one lifecycle transaction on one tenant, and the tenant's settings it locks.
//! Its roles (and their cache), links, audit log, people, projects and outbox are written
//! in the sibling modules.

use async_trait::async_trait;
use std::sync::Arc;

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
use super::query::{count as count_of, req_text, Sql};
use super::{audit, links, outbox, projects, roles, rows as people, Backend};

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
    known_roles: Arc<roles::RolesCache>,
    _dialect: std::marker::PhantomData<fn() -> D>,
}

impl<D: Backend> SqlTx<D> {
    pub fn new(tx: Box<dyn Conn>, tenant: &TenantId, known_roles: Arc<roles::RolesCache>) -> Self {
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
        if count_of(&existing)? == 0 {
            for role in builtin_roles() {
                roles::write::<D>(self, &role).await?;
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

    /// Fills `roles`: from the cache when it holds the version this transaction read.
    async fn load_roles(&mut self) -> Result<()> {
        if self.roles.is_some() {
            return Ok(());
        }
        if let Some(cached) = self.roles_version.and_then(|v| self.known_roles.get(&self.tenant, v)) {
            self.roles = Some(cached);
            return Ok(());
        }
        let roles = Arc::new(roles::read::<D>(self).await?);
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

pub(super) fn bad(what: &str) -> Error {
    Error::Storage(format!("unreadable {what} in the database").into())
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
        roles::write::<D>(self, role).await
    }

    async fn delete_role(&mut self, name: &str) -> Result<()> {
        self.roles_changed().await?;
        roles::delete::<D>(self, name).await
    }

    async fn role_in_use(&mut self, name: &str) -> Result<bool> {
        roles::in_use::<D>(self, name).await
    }

    async fn put_link(&mut self, link: &LinkRecord) -> Result<()> {
        links::put::<D>(self, link).await
    }

    async fn kill_links(&mut self, person: &str, purpose: LinkPurpose, now: OffsetDateTime) -> Result<()> {
        links::kill::<D>(self, person, purpose, now).await
    }

    async fn link(&mut self, keys: &[String]) -> Result<Option<LinkRecord>> {
        links::find::<D>(self, keys).await
    }

    async fn use_link(&mut self, key: &str, now: OffsetDateTime) -> Result<()> {
        links::use_up::<D>(self, key, now).await
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
        audit::insert::<D>(self, e).await
    }

    async fn audit_log(&mut self, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
        audit::list::<D>(self, q).await
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
