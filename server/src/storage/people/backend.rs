//! What the lifecycle's SQL needs to know about a database beyond [`Dialect`].

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Pool, Postgres, QueryBuilder, Row, Sqlite, Transaction};

use crate::domain::Result;
use crate::storage::db_error;
use crate::storage::dialect::Dialect;

#[async_trait]
pub trait Backend: Dialect {
    /// Appended to a statement that reads the tenant's settings row to lock it.
    const LOCK_ROW: &'static str;
    /// Appended to the outbox claim so replicas skip rows another one is claiming.
    const SKIP_LOCKED: &'static str;
    /// Cast of a bound text to the `data` column's JSON type.
    const JSON_CAST: &'static str;

    async fn run(conn: &mut <Self as sqlx::Database>::Connection, qb: &mut QueryBuilder<'_, Self>) -> Result<u64>;
    async fn rows(
        conn: &mut <Self as sqlx::Database>::Connection,
        qb: &mut QueryBuilder<'_, Self>,
    ) -> Result<Vec<<Self as sqlx::Database>::Row>>;
    fn text(row: &<Self as sqlx::Database>::Row, i: usize) -> Result<Option<String>>;
    fn int(row: &<Self as sqlx::Database>::Row, i: usize) -> Result<Option<i64>>;
    fn bind_opt_text(qb: &mut QueryBuilder<'_, Self>, value: Option<String>);
    fn bind_opt_int(qb: &mut QueryBuilder<'_, Self>, value: Option<i64>);
    /// Starts a write transaction (SQLite: taking the write lock at once, so that two
    /// writers wait for each other instead of failing to upgrade a read lock).
    async fn begin_write(pool: &Pool<Self>) -> Result<Transaction<'static, Self>>;
    /// Makes a transaction read-only on one snapshot.
    async fn begin_read(conn: &mut <Self as sqlx::Database>::Connection) -> Result<()>;
}

#[async_trait]
impl Backend for Sqlite {
    const LOCK_ROW: &'static str = "";
    const SKIP_LOCKED: &'static str = "";
    const JSON_CAST: &'static str = "";

    async fn run(conn: &mut sqlx::SqliteConnection, qb: &mut QueryBuilder<'_, Self>) -> Result<u64> {
        Ok(qb.build().execute(conn).await.map_err(db_error)?.rows_affected())
    }

    async fn rows(conn: &mut sqlx::SqliteConnection, qb: &mut QueryBuilder<'_, Self>) -> Result<Vec<SqliteRow>> {
        qb.build().fetch_all(conn).await.map_err(db_error)
    }

    fn text(row: &SqliteRow, i: usize) -> Result<Option<String>> {
        row.try_get(i).map_err(db_error)
    }

    fn int(row: &SqliteRow, i: usize) -> Result<Option<i64>> {
        row.try_get(i).map_err(db_error)
    }

    fn bind_opt_text(qb: &mut QueryBuilder<'_, Self>, value: Option<String>) {
        qb.push_bind(value);
    }

    fn bind_opt_int(qb: &mut QueryBuilder<'_, Self>, value: Option<i64>) {
        qb.push_bind(value);
    }

    async fn begin_write(pool: &Pool<Self>) -> Result<Transaction<'static, Self>> {
        // One writer connection serialises this process's writers; IMMEDIATE makes a
        // second process (or pool) on the same file wait on busy_timeout instead of
        // failing with SQLITE_BUSY when it upgrades a read to a write.
        pool.begin_with("BEGIN IMMEDIATE").await.map_err(db_error)
    }

    async fn begin_read(_conn: &mut sqlx::SqliteConnection) -> Result<()> {
        // A SQLite read transaction sees one snapshot (WAL), and the reader pool is read-only.
        Ok(())
    }
}

#[async_trait]
impl Backend for Postgres {
    const LOCK_ROW: &'static str = " FOR UPDATE";
    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";
    const JSON_CAST: &'static str = "::json";

    async fn run(conn: &mut sqlx::PgConnection, qb: &mut QueryBuilder<'_, Self>) -> Result<u64> {
        Ok(qb.build().execute(conn).await.map_err(db_error)?.rows_affected())
    }

    async fn rows(conn: &mut sqlx::PgConnection, qb: &mut QueryBuilder<'_, Self>) -> Result<Vec<PgRow>> {
        qb.build().fetch_all(conn).await.map_err(db_error)
    }

    fn text(row: &PgRow, i: usize) -> Result<Option<String>> {
        row.try_get(i).map_err(db_error)
    }

    fn int(row: &PgRow, i: usize) -> Result<Option<i64>> {
        row.try_get(i).map_err(db_error)
    }

    fn bind_opt_text(qb: &mut QueryBuilder<'_, Self>, value: Option<String>) {
        qb.push_bind(value);
    }

    fn bind_opt_int(qb: &mut QueryBuilder<'_, Self>, value: Option<i64>) {
        qb.push_bind(value);
    }

    async fn begin_write(pool: &Pool<Self>) -> Result<Transaction<'static, Self>> {
        pool.begin().await.map_err(db_error)
    }

    async fn begin_read(conn: &mut sqlx::PgConnection) -> Result<()> {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(conn)
            .await
            .map_err(db_error)?;
        Ok(())
    }
}
