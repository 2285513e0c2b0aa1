//! The lifecycle's storage ([`PeopleStore`]), written once for SQLite and PostgreSQL. The
//! lifecycle tables hold only text and integers, so every statement here is plain SQL
//! built with `QueryBuilder`/`push_bind`, and the two databases differ only in what
//! [`Backend`] says: how to run a statement, read a column, cast JSON and lock a row.
//!
//! Concurrency: a write transaction first locks the tenant's `tenant_settings` row. On
//! PostgreSQL that is `SELECT … FOR UPDATE`, so two replicas inviting into the same tenant
//! take turns and the seat count each one reads is the one it commits against; SQLite
//! has one writer connection, which serialises writers by itself.

mod backend;
mod jobs;
mod moves;
mod outbox;
mod projects;
mod query;
mod rows;
mod tx;
mod work;

use async_trait::async_trait;
use sqlx::Pool;
use time::{Duration, OffsetDateTime};

use crate::domain::notify::OutboxMessage;
use crate::domain::people_store::{PeopleStore, PeopleTx};
use crate::domain::resource::TenantId;
use crate::domain::Result;

pub use backend::Backend;
use query::Sql;
#[cfg(test)]
pub(crate) use rows::archived_match_sql;
use tx::SqlTx;

/// The lifecycle store on one database: writes on `writer`, snapshot reads on `reader`
/// (the same pool on PostgreSQL).
pub struct PeopleSql<D: Backend> {
    writer: Pool<D>,
    reader: Pool<D>,
}

impl<D: Backend> PeopleSql<D> {
    pub fn new(writer: Pool<D>, reader: Pool<D>) -> Self {
        Self { writer, reader }
    }
}

#[async_trait]
impl<D: Backend> PeopleStore for PeopleSql<D> {
    async fn begin(&self, tenant: &TenantId) -> Result<Box<dyn PeopleTx>> {
        let mut tx = SqlTx::<D>::begin(&self.writer, tenant, false).await?;
        tx.lock_tenant().await?;
        Ok(Box::new(tx))
    }

    async fn read(&self, tenant: &TenantId) -> Result<Box<dyn PeopleTx>> {
        // The settings row and built-in roles are made on first use, by a writer.
        let mut tx = SqlTx::<D>::begin(&self.reader, tenant, true).await?;
        if !tx.settings_exist_read().await? {
            drop(tx);
            let mut w = SqlTx::<D>::begin(&self.writer, tenant, false).await?;
            w.lock_tenant().await?;
            Box::new(w).commit_boxed().await?;
            return Ok(Box::new(SqlTx::<D>::begin(&self.reader, tenant, true).await?));
        }
        Ok(Box::new(tx))
    }

    async fn tenant_name(&self, tenant: &TenantId) -> Result<Option<String>> {
        let mut conn = self.reader.acquire().await.map_err(crate::storage::db_error)?;
        let rows = Sql::<D>::new("SELECT name FROM tenants WHERE id = ").text(&tenant.0).rows(&mut conn).await?;
        rows.first().map(|r| D::text(r, 0)).transpose().map(Option::flatten)
    }

    async fn claim_outbox(&self, now: OffsetDateTime, lease: Duration, limit: u32) -> Result<Vec<OutboxMessage>> {
        outbox::claim::<D>(&self.writer, now, lease, limit).await
    }

    async fn outbox_sent(&self, tenant: &str, id: &str, at: OffsetDateTime) -> Result<()> {
        outbox::sent::<D>(&self.writer, tenant, id, at).await
    }

    async fn outbox_failed(&self, tenant: &str, id: &str, error: &str, retry_at: OffsetDateTime) -> Result<()> {
        outbox::failed::<D>(&self.writer, tenant, id, error, retry_at).await
    }

    async fn claim_reassignments(
        &self,
        now: OffsetDateTime,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<(String, String)>> {
        jobs::claim::<D>(&self.writer, now, lease, limit).await
    }
}
