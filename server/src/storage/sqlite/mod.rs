//! The SQLite store: the embedded default, in WAL mode so readers run beside the writer.
//! Resources and the people lifecycle go through the rusqlite [`engine`]: one writer
//! committing concurrent writes together, and readers with prepared statements. sqlx keeps
//! the migrations, tenants and tokens (one writer connection) and the dynamic list queries
//! (a reader pool).

mod committer;
mod conns;
pub mod engine;
#[cfg(test)]
mod engine_tests;
mod listing;
mod listing_relations;
#[cfg(test)]
mod migration_tests;
mod pages;
#[cfg(test)]
mod plan_tests;
mod planner;
mod relations;
mod resources;
mod walbuf;
#[cfg(test)]
mod walbuf_tests;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, Row, SqlitePool};
use time::OffsetDateTime;

use crate::domain::resource::{ListQuery, Mutation, NewResource, Page, Precondition, StoredResource, TenantId};
use crate::domain::schema::ResourceType;
use crate::domain::store::{Place, Store};
use crate::domain::tenant::{Scope, Tenant, TokenInfo, TokenRecord};
use crate::domain::{Error, Result};

use super::{db_error, timefmt};

/// Tables the SQLite store derives from the others with triggers (`live_counts`, the totals
/// of index pages): not part of the logical schema, and not copied by `migrate-data`.
pub const DERIVED_TABLES: &[&str] = &["live_counts"];

/// Reader threads of the engine: enough to keep both cores busy while one waits on I/O.
const ENGINE_READERS: usize = 3;

pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    people: crate::storage::people::PeopleSql<sqlx::Sqlite>,
    engine: Arc<engine::Engine>,
    cursor_key: Vec<u8>,
}

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| Error::InvalidValue(format!("invalid SQLite URL `{url}`: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL with NORMAL survives a crash of the process; the OS is trusted with the rest.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        if url.contains(":memory:") || url.contains("mode=memory") {
            // The engine's connections must reach the same database as sqlx's.
            return Err(Error::InvalidValue("an in-memory SQLite database is not supported: name a file".into()));
        }
        migrate(&options).await?;
        let writer =
            SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await.map_err(db_error)?;
        planner::hint_unanalyzed_indexes(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(3)
            .connect_with(options.clone().read_only(true))
            .await
            .map_err(db_error)?;
        let engine = Arc::new(engine::Engine::open(engine::DbFile::of(url, &options), ENGINE_READERS)?);
        let cursor_key = cursor_key(&writer).await?;
        let people = crate::storage::people::PeopleSql::new(Arc::new(conns::EngineConns(engine.clone())));
        Ok(Self { writer, reader, people, engine, cursor_key })
    }

    /// The writer's pool, for tests that look at the schema.
    pub fn writer(&self) -> &SqlitePool {
        &self.writer
    }
}

/// Brings the schema up to date on a connection of its own. Foreign keys are off there:
/// a migration that rebuilds a table (copy, drop, rename: SQLite's procedure for changes
/// ALTER TABLE cannot make) would otherwise delete the rows that refer to it, through ON
/// DELETE CASCADE. When any migration ran, every reference is checked before the server
/// goes on.
async fn migrate(options: &SqliteConnectOptions) -> Result<()> {
    let mut conn = options.clone().foreign_keys(false).connect().await.map_err(db_error)?;
    let migrator = sqlx::migrate!("../migrations/sqlite");
    let before = migrations_applied(&mut conn).await?;
    migrator.run(&mut conn).await.map_err(|e| Error::Storage(Box::new(e)))?;
    if migrations_applied(&mut conn).await? != before {
        let broken: Vec<(String, Option<i64>, String)> =
            sqlx::query_as("SELECT \"table\", rowid, parent FROM pragma_foreign_key_check")
                .fetch_all(&mut conn)
                .await
                .map_err(db_error)?;
        if let Some((table, row, parent)) = broken.first() {
            return Err(Error::Storage(
                format!(
                    "after migrating, {} row(s) refer to rows that do not exist (first: table `{table}`, row {row:?}, \
                     parent `{parent}`)",
                    broken.len()
                )
                .into(),
            ));
        }
    }
    conn.close().await.map_err(db_error)
}

/// How many migrations the database has had (none before the first run).
async fn migrations_applied(conn: &mut sqlx::SqliteConnection) -> Result<i64> {
    let table: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = '_sqlx_migrations'")
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_error)?;
    if table.is_none() {
        return Ok(0);
    }
    sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations").fetch_one(conn).await.map_err(db_error)
}

/// The database's cursor key, made by whichever server starts on it first.
async fn cursor_key(writer: &SqlitePool) -> Result<Vec<u8>> {
    sqlx::query("INSERT INTO server_secrets (name, value, created_at) VALUES ('cursor', ?, ?) ON CONFLICT DO NOTHING")
        .bind(super::new_secret())
        .bind(timefmt::format(now()))
        .execute(writer)
        .await
        .map_err(db_error)?;
    sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = 'cursor'")
        .fetch_one(writer)
        .await
        .map_err(db_error)
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn scopes_to_text(scopes: &[Scope]) -> String {
    scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
}

fn scopes_from_text(text: &str) -> Vec<Scope> {
    text.split_whitespace().filter_map(|s| Scope::parse(s).ok()).collect()
}

fn time_column(row: &sqlx::sqlite::SqliteRow, name: &str) -> Result<Option<OffsetDateTime>> {
    let text: Option<String> = row.try_get(name).map_err(db_error)?;
    Ok(text.as_deref().and_then(timefmt::parse))
}

#[async_trait]
impl Store for SqliteStore {
    fn people(&self) -> &dyn crate::domain::people_store::PeopleStore {
        &self.people
    }

    fn cursor_key(&self) -> &[u8] {
        &self.cursor_key
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await.map_err(db_error)?;
        Ok(())
    }

    async fn create_tenant(&self, name: &str) -> Result<Tenant> {
        let tenant = Tenant { id: TenantId(uuid::Uuid::now_v7().to_string()), name: name.to_owned() };
        sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)")
            .bind(&tenant.id.0)
            .bind(name)
            .bind(timefmt::format(now()))
            .execute(&self.writer)
            .await
            .map_err(|e| match db_error(e) {
                Error::Uniqueness(_) => Error::Uniqueness(format!("a tenant named `{name}` already exists")),
                other => other,
            })?;
        Ok(tenant)
    }

    async fn find_tenant(&self, name: &str) -> Result<Option<Tenant>> {
        let row = sqlx::query("SELECT id, name FROM tenants WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.writer)
            .await
            .map_err(db_error)?;
        row.map(|r| {
            Ok(Tenant { id: TenantId(r.try_get("id").map_err(db_error)?), name: r.try_get("name").map_err(db_error)? })
        })
        .transpose()
    }

    async fn has_tenants(&self) -> Result<bool> {
        let row =
            sqlx::query("SELECT EXISTS (SELECT 1 FROM tenants)").fetch_one(&self.writer).await.map_err(db_error)?;
        row.try_get::<bool, _>(0).map_err(db_error)
    }

    async fn insert_token(&self, token: &TokenRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO tokens (tenant_id, id, secret_hash, scopes, description, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&token.tenant.0)
        .bind(&token.id)
        .bind(&token.secret_hash)
        .bind(scopes_to_text(&token.scopes))
        .bind(&token.description)
        .bind(timefmt::format(token.created_at))
        .execute(&self.writer)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn find_token(&self, id: &str) -> Result<Option<TokenRecord>> {
        let row = sqlx::query(
            "SELECT tenant_id, id, secret_hash, scopes, description, created_at, revoked_at FROM tokens WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.reader)
        .await
        .map_err(db_error)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(TokenRecord {
            id: row.try_get("id").map_err(db_error)?,
            tenant: TenantId(row.try_get("tenant_id").map_err(db_error)?),
            secret_hash: row.try_get("secret_hash").map_err(db_error)?,
            scopes: scopes_from_text(&row.try_get::<String, _>("scopes").map_err(db_error)?),
            description: row.try_get("description").map_err(db_error)?,
            created_at: time_column(&row, "created_at")?.unwrap_or(OffsetDateTime::UNIX_EPOCH),
            revoked: time_column(&row, "revoked_at")?.is_some(),
        }))
    }

    async fn list_tokens(&self, tenant: &TenantId) -> Result<Vec<TokenInfo>> {
        let rows = sqlx::query(
            "SELECT id, scopes, description, created_at, last_used_at, revoked_at FROM tokens WHERE tenant_id = ? ORDER BY created_at, id",
        )
        .bind(&tenant.0)
        .fetch_all(&self.writer)
        .await
        .map_err(db_error)?;
        rows.iter()
            .map(|row| {
                Ok(TokenInfo {
                    id: row.try_get("id").map_err(db_error)?,
                    scopes: scopes_from_text(&row.try_get::<String, _>("scopes").map_err(db_error)?),
                    description: row.try_get("description").map_err(db_error)?,
                    created_at: time_column(row, "created_at")?.unwrap_or(OffsetDateTime::UNIX_EPOCH),
                    last_used_at: time_column(row, "last_used_at")?,
                    revoked_at: time_column(row, "revoked_at")?,
                })
            })
            .collect()
    }

    async fn revoke_token(&self, tenant: &TenantId, id: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE tenant_id = ? AND id = ?")
            .bind(timefmt::format(now()))
            .bind(&tenant.0)
            .bind(id)
            .execute(&self.writer)
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn touch_token(&self, id: &str) -> Result<()> {
        // On the engine's writer, in the group commit: on sqlx's connection this UPDATE
        // waited for SQLite's write lock between the engine's commits (1-3 s under load),
        // and once it had the lock, held up every write behind SQLite's busy handler.
        let (at, id) = (timefmt::format(now()), id.to_owned());
        self.engine
            .write(move |conn| {
                conn.prepare_cached("UPDATE tokens SET last_used_at = ?1 WHERE id = ?2")
                    .and_then(|mut s| s.execute(rusqlite::params![at, id]))
                    .map_err(engine::sqlite_error)?;
                Ok(())
            })
            .await
    }

    async fn create(
        &self,
        tenant: &TenantId,
        rt: ResourceType,
        new: NewResource,
        place: Option<Place>,
    ) -> Result<StoredResource> {
        self.engine.write_in_line(place, |conn| resources::create(conn, tenant, rt, new, now())).await
    }

    async fn get(
        &self,
        tenant: &TenantId,
        rt: ResourceType,
        id: &str,
        with_relations: bool,
    ) -> Result<Option<StoredResource>> {
        let read = |conn: &rusqlite::Connection| resources::get(conn, tenant, rt, id, with_relations);
        if resources::reads_at_once(rt, with_relations) {
            self.engine.read_here(read)
        } else {
            self.engine.snapshot_here(read)
        }
    }

    async fn update(
        &self,
        tenant: &TenantId,
        rt: ResourceType,
        id: &str,
        precondition: &Precondition,
        mutation: Mutation,
        with_relations: bool,
    ) -> Result<StoredResource> {
        let change = resources::Change { precondition: precondition.clone(), mutation, with_relations };
        let (tenant, id) = (tenant.clone(), id.to_owned());
        self.engine.write(move |conn| resources::update(conn, &tenant, rt, &id, change, now())).await
    }

    async fn delete(&self, tenant: &TenantId, rt: ResourceType, id: &str, precondition: &Precondition) -> Result<()> {
        let (tenant, id, precondition) = (tenant.clone(), id.to_owned(), precondition.clone());
        self.engine.write(move |conn| resources::delete(conn, &tenant, rt, &id, &precondition, now())).await
    }

    async fn list(&self, tenant: &TenantId, rt: ResourceType, query: &ListQuery) -> Result<Page> {
        // The identity providers' equality lookups and whole-tenant pages take prepared
        // statements; the rest is built dynamically.
        if let Some(lookup) = pages::lookup_statement(rt, query) {
            let read = |conn: &rusqlite::Connection| pages::lookup(conn, tenant, rt, query, &lookup);
            return if resources::reads_at_once(rt, query.with_relations) {
                self.engine.read_here(read)
            } else {
                self.engine.snapshot_here(read)
            };
        }
        if pages::is_whole_tenant(query) {
            let (tenant, query) = (tenant.clone(), query.clone());
            return self.engine.read(move |conn| pages::whole_tenant(conn, &tenant, rt, &query)).await;
        }
        listing::list(&self.reader, tenant, rt, query).await
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    /// A fresh database in a temporary directory (dropped with the returned guard).
    pub async fn store() -> (super::SqliteStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        (super::SqliteStore::connect(&url).await.expect("connect"), dir)
    }

    /// Inserts `rows` rows into the scratch table `t (v)` of the engine tests, each `v` the
    /// row's number padded with zeros to `width` characters.
    pub fn insert_padded(c: &rusqlite::Connection, rows: usize, width: usize) -> crate::domain::Result<()> {
        use super::engine::sqlite_error;
        let mut insert = c.prepare("INSERT INTO t (v) VALUES (?1)").map_err(sqlite_error)?;
        for i in 0..rows {
            insert.execute([format!("{i:0>width$}")]).map_err(sqlite_error)?;
        }
        Ok(())
    }

    /// SQLite's plan for `sql` (a statement without parameters), one step a line.
    pub async fn query_plan<'e>(db: impl sqlx::SqliteExecutor<'e>, sql: &str) -> String {
        let rows = sqlx::query(&format!("EXPLAIN QUERY PLAN {sql}")).fetch_all(db).await.expect("explain");
        rows.iter().map(|r| sqlx::Row::get::<String, _>(r, "detail")).collect::<Vec<_>>().join("\n")
    }
}
