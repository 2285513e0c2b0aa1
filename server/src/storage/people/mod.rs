//! The lifecycle's storage ([`PeopleStore`]), written once for SQLite and PostgreSQL. The
//! lifecycle tables hold only text and integers, so every statement here is plain SQL
//! built with `QueryBuilder`/`push_bind`, and the two databases differ only in what
//! [`Backend`] says: how to run a statement, read a column, cast JSON and lock a row.
//!
//! Concurrency: a write transaction first locks the tenant's `tenant_settings` row. On
//! PostgreSQL that is `SELECT … FOR UPDATE`, so two replicas inviting into the same tenant
//! take turns and the seat count each one reads is the one it commits against; SQLite
//! has one writer connection, which serialises writers by itself.
//!
//! The statements reach the database through [`exec::Connector`]: on SQLite the rusqlite
//! engine (its group-committing writer, its pooled readers), on PostgreSQL sqlx.

mod audit;
mod backend;
pub mod exec;
mod jobs;
mod links;
mod moves;
mod outbox;
mod projects;
mod query;
mod roles;
mod rows;
mod tx;
mod work;

use std::sync::Arc;

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};

use crate::domain::notify::OutboxMessage;
use crate::domain::people_store::{PeopleStore, PeopleTx};
use crate::domain::resource::TenantId;
use crate::domain::store::Place;
use crate::domain::Result;

pub use backend::Backend;
use query::Sql;
#[cfg(test)]
pub(crate) use rows::identity_sql;
use tx::SqlTx;

/// The lifecycle store on one database, written in the SQL of `D`.
pub struct PeopleSql<D: Backend> {
    conns: Arc<dyn exec::Connector>,
    roles: Arc<roles::RolesCache>,
    _dialect: std::marker::PhantomData<fn() -> D>,
}

impl<D: Backend> PeopleSql<D> {
    pub fn new(conns: Arc<dyn exec::Connector>) -> Self {
        Self { conns, roles: Arc::default(), _dialect: std::marker::PhantomData }
    }
}

#[async_trait]
impl<D: Backend> PeopleStore for PeopleSql<D> {
    async fn begin(&self, tenant: &TenantId) -> Result<Box<dyn PeopleTx>> {
        self.begin_in_line(tenant, None).await
    }

    async fn begin_in_line(&self, tenant: &TenantId, place: Option<Place>) -> Result<Box<dyn PeopleTx>> {
        let (conn, place) = self.conns.write_in_line(place).await?;
        let mut tx = SqlTx::<D>::new(conn, tenant, self.roles.clone());
        tx.lock_tenant().await?;
        // Holding the tenant's lock, it is ahead of every later write to the tenant.
        drop(place);
        Ok(Box::new(tx))
    }

    async fn read(&self, tenant: &TenantId) -> Result<Box<dyn PeopleTx>> {
        // A tenant nobody wrote to yet has no settings row nor roles: reads answer the
        // defaults (see `SqlTx::settings` and `SqlTx::roles`), the first writer makes them.
        Ok(Box::new(SqlTx::<D>::new(self.conns.read().await?, tenant, self.roles.clone())))
    }

    async fn tenant_name(&self, tenant: &TenantId) -> Result<Option<String>> {
        let mut conn = self.conns.read().await?;
        let rows = Sql::<D>::new("SELECT name FROM tenants WHERE id = ").text(&tenant.0).rows(conn.as_mut()).await?;
        rows.first().map(|r| r.text(0)).transpose().map(Option::flatten)
    }

    async fn claim_outbox(&self, now: OffsetDateTime, lease: Duration, limit: u32) -> Result<Vec<OutboxMessage>> {
        let mut conn = self.conns.write().await?;
        let claimed = outbox::claim::<D>(conn.as_mut(), now, lease, limit).await?;
        conn.commit().await?;
        Ok(claimed)
    }

    async fn outbox_sent(&self, tenant: &str, id: &str, at: OffsetDateTime) -> Result<()> {
        let mut conn = self.conns.write().await?;
        outbox::sent::<D>(conn.as_mut(), tenant, id, at).await?;
        conn.commit().await
    }

    async fn outbox_failed(&self, tenant: &str, id: &str, error: &str, retry_at: OffsetDateTime) -> Result<()> {
        let mut conn = self.conns.write().await?;
        outbox::failed::<D>(conn.as_mut(), tenant, id, error, retry_at).await?;
        conn.commit().await
    }

    async fn claim_reassignments(
        &self,
        now: OffsetDateTime,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<(String, String)>> {
        let mut conn = self.conns.write().await?;
        let claimed = jobs::claim::<D>(conn.as_mut(), now, lease, limit).await?;
        conn.commit().await?;
        Ok(claimed)
    }
}
