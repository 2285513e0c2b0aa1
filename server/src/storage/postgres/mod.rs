//! The PostgreSQL store: for production and for several stateless server replicas on one
//! database. Where SQLite relied on its single writer, this store locks what it changes:
//! an update or delete reads its row `FOR UPDATE`, and members being added are read
//! `FOR SHARE`, so concurrent requests through different replicas serialise on the rows
//! they touch and never lose each other's writes.

mod conns;
mod relations;
mod resources;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgPool, Row};
use time::OffsetDateTime;

use crate::domain::resource::{ListQuery, Mutation, NewResource, Page, Precondition, StoredResource, TenantId};
use crate::domain::schema::ResourceType;
use crate::domain::store::{Place, Store};
use crate::domain::tenant::{Scope, Tenant, TokenInfo, TokenRecord};
use crate::domain::{Error, Result};

use super::{db_error, timefmt};

/// Pool settings read from the URL's query (and removed before sqlx sees it).
const DEFAULT_MAX_CONNECTIONS: u32 = 10;
const DEFAULT_ACQUIRE_TIMEOUT_SECS: u64 = 30;

pub struct PgStore {
    pool: PgPool,
    people: crate::storage::people::PeopleSql<sqlx::Postgres>,
    cursor_key: Vec<u8>,
}

impl PgStore {
    /// Connects and applies the embedded migrations. Safe when several replicas start at
    /// once: sqlx's migrator holds a PostgreSQL advisory lock while it migrates.
    ///
    /// Besides PostgreSQL's own parameters, the URL may carry `max_connections` (default
    /// 10) and `acquire_timeout` (seconds, default 30) for this replica's pool.
    pub async fn connect(url: &str) -> Result<Self> {
        let (url, max_connections, acquire_timeout) = pool_settings(url)?;
        let options = PgConnectOptions::from_str(&url)
            .map_err(|e| Error::InvalidValue(format!("invalid PostgreSQL URL: {e}")))?
            .application_name("scim-server");
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(acquire_timeout))
            .connect_with(options)
            .await
            .map_err(db_error)?;
        sqlx::migrate!("../migrations/postgres").run(&pool).await.map_err(|e| Error::Storage(Box::new(e)))?;
        let people = crate::storage::people::PeopleSql::new(std::sync::Arc::new(conns::PoolConns(pool.clone())));
        // Replicas starting together race to make the key; the first insert wins and every
        // replica reads that one.
        sqlx::query(
            "INSERT INTO server_secrets (name, value, created_at) VALUES ('cursor', $1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(super::new_secret())
        .bind(timefmt::format(OffsetDateTime::now_utc()))
        .execute(&pool)
        .await
        .map_err(db_error)?;
        let cursor_key = sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = 'cursor'")
            .fetch_one(&pool)
            .await
            .map_err(db_error)?;
        Ok(Self { pool, people, cursor_key })
    }

    /// The pool, for tests that look at plans and schemas.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Splits our pool parameters off the URL.
fn pool_settings(url: &str) -> Result<(String, u32, u64)> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut max_connections = DEFAULT_MAX_CONNECTIONS;
    let mut acquire_timeout = DEFAULT_ACQUIRE_TIMEOUT_SECS;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let number = || value.parse::<u64>().ok().filter(|n| *n > 0);
        let invalid = || Error::InvalidValue(format!("`{key}` in the database URL must be a positive number"));
        match key {
            "max_connections" => {
                max_connections = number().and_then(|n| u32::try_from(n).ok()).ok_or_else(invalid)?;
            }
            "acquire_timeout" => acquire_timeout = number().ok_or_else(invalid)?,
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
    Ok((url, max_connections, acquire_timeout))
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

fn time_column(row: &PgRow, name: &str) -> Result<Option<OffsetDateTime>> {
    let text: Option<String> = row.try_get(name).map_err(db_error)?;
    Ok(text.as_deref().and_then(timefmt::parse))
}

#[async_trait]
impl Store for PgStore {
    fn people(&self) -> &dyn crate::domain::people_store::PeopleStore {
        &self.people
    }

    fn cursor_key(&self) -> &[u8] {
        &self.cursor_key
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(db_error)?;
        Ok(())
    }

    async fn create_tenant(&self, name: &str) -> Result<Tenant> {
        let tenant = Tenant { id: TenantId(uuid::Uuid::now_v7().to_string()), name: name.to_owned() };
        sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&tenant.id.0)
            .bind(name)
            .bind(timefmt::format(now()))
            .execute(&self.pool)
            .await
            .map_err(|e| match db_error(e) {
                Error::Uniqueness(_) => Error::Uniqueness(format!("a tenant named `{name}` already exists")),
                other => other,
            })?;
        Ok(tenant)
    }

    async fn find_tenant(&self, name: &str) -> Result<Option<Tenant>> {
        let row = sqlx::query("SELECT id, name FROM tenants WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.map(|r| {
            Ok(Tenant { id: TenantId(r.try_get("id").map_err(db_error)?), name: r.try_get("name").map_err(db_error)? })
        })
        .transpose()
    }

    async fn has_tenants(&self) -> Result<bool> {
        let row = sqlx::query("SELECT EXISTS (SELECT 1 FROM tenants)").fetch_one(&self.pool).await.map_err(db_error)?;
        row.try_get::<bool, _>(0).map_err(db_error)
    }

    async fn insert_token(&self, token: &TokenRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO tokens (tenant_id, id, secret_hash, scopes, description, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&token.tenant.0)
        .bind(&token.id)
        .bind(&token.secret_hash)
        .bind(scopes_to_text(&token.scopes))
        .bind(&token.description)
        .bind(timefmt::format(token.created_at))
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn find_token(&self, id: &str) -> Result<Option<TokenRecord>> {
        let row = sqlx::query(
            "SELECT tenant_id, id, secret_hash, scopes, description, created_at, revoked_at FROM tokens WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
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
            "SELECT id, scopes, description, created_at, last_used_at, revoked_at FROM tokens WHERE tenant_id = $1 ORDER BY created_at, id",
        )
        .bind(&tenant.0)
        .fetch_all(&self.pool)
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
        let done =
            sqlx::query("UPDATE tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE tenant_id = $2 AND id = $3")
                .bind(timefmt::format(now()))
                .bind(&tenant.0)
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn touch_token(&self, id: &str) -> Result<()> {
        sqlx::query("UPDATE tokens SET last_used_at = $1 WHERE id = $2")
            .bind(timefmt::format(now()))
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn create(
        &self,
        tenant: &TenantId,
        rt: ResourceType,
        new: NewResource,
        place: Option<Place>,
    ) -> Result<StoredResource> {
        resources::create(&self.pool, tenant, rt, new, now(), place).await
    }

    async fn get(
        &self,
        tenant: &TenantId,
        rt: ResourceType,
        id: &str,
        with_relations: bool,
    ) -> Result<Option<StoredResource>> {
        // One snapshot for the row and its relations.
        let mut tx = resources::begin_read(&self.pool).await?;
        let found = resources::get(&mut tx, tenant, rt, id, with_relations, resources::Lock::None).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(found)
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
        let change = resources::Change { precondition, mutation, with_relations };
        resources::update(&self.pool, tenant, rt, id, change, now()).await
    }

    async fn delete(&self, tenant: &TenantId, rt: ResourceType, id: &str, precondition: &Precondition) -> Result<()> {
        resources::delete(&self.pool, tenant, rt, id, precondition, now()).await
    }

    async fn list(&self, tenant: &TenantId, rt: ResourceType, query: &ListQuery) -> Result<Page> {
        resources::list(&self.pool, tenant, rt, query).await
    }
}

#[cfg(test)]
mod tests {
    use super::pool_settings;

    #[test]
    fn pool_settings_come_off_the_url() {
        let (url, max, timeout) = pool_settings("postgres://h/db?sslmode=disable&max_connections=20").unwrap();
        assert_eq!((url.as_str(), max, timeout), ("postgres://h/db?sslmode=disable", 20, 30));
        let (url, max, timeout) = pool_settings("postgres://h/db?acquire_timeout=5").unwrap();
        assert_eq!((url.as_str(), max, timeout), ("postgres://h/db", 10, 5));
        assert!(pool_settings("postgres://h/db?max_connections=0").is_err());
    }
}
