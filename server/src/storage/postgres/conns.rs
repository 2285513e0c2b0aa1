//! The lifecycle's statements ([`Stmt`]) on PostgreSQL, through sqlx: each transaction on a
//! pooled connection, each statement prepared once per connection by sqlx's own cache.

use async_trait::async_trait;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{Column, PgPool, Postgres, Row as _, Transaction, TypeInfo, ValueRef};

use crate::domain::{Error, Result};
use crate::storage::db_error;
use crate::storage::people::exec::{Arg, Cell, Conn, Connector, Row, Stmt};

/// The pool as the lifecycle store's source of transactions.
pub struct PoolConns(pub PgPool);

/// A transaction of the pool.
struct PgConn(Transaction<'static, Postgres>);

#[async_trait]
impl Connector for PoolConns {
    async fn write(&self) -> Result<Box<dyn Conn>> {
        let mut tx = self.0.begin().await.map_err(db_error)?;
        // A connection keeps the plans of its foreign-key checks (and, after five runs, of
        // its prepared statements) for its whole life, made for the tables as they were when
        // first run. On a new database those tables were empty, and PostgreSQL checked each
        // new person's row against `users` by scanning the tenant on `users_display_name`
        // (any index led by tenant_id costs the same on an empty table): a first load slowed
        // from 430 to 160 creates/s within 20,000 users. Writes plan each run instead.
        sqlx::query("SET LOCAL plan_cache_mode = force_custom_plan").execute(&mut *tx).await.map_err(db_error)?;
        Ok(Box::new(PgConn(tx)))
    }

    async fn read(&self) -> Result<Box<dyn Conn>> {
        let mut tx = self.0.begin().await.map_err(db_error)?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        Ok(Box::new(PgConn(tx)))
    }
}

fn bind(stmt: &Stmt) -> Query<'_, Postgres, PgArguments> {
    let mut query = sqlx::query(&stmt.sql);
    for arg in &stmt.args {
        query = match arg {
            Arg::Text(v) => query.bind(v.clone()),
            Arg::Int(v) => query.bind(*v),
            Arg::Bool(b) => query.bind(*b),
        };
    }
    query
}

/// Decodes a row by each column's PostgreSQL type.
fn decode(row: &PgRow) -> Result<Row> {
    let mut cells = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        if row.try_get_raw(i).map_err(db_error)?.is_null() {
            cells.push(Cell::Null);
            continue;
        }
        let cell = match column.type_info().name() {
            "INT8" => Cell::Int(row.try_get::<i64, _>(i).map_err(db_error)?),
            "INT4" => Cell::Int(i64::from(row.try_get::<i32, _>(i).map_err(db_error)?)),
            "INT2" => Cell::Int(i64::from(row.try_get::<i16, _>(i).map_err(db_error)?)),
            "BOOL" => Cell::Int(i64::from(row.try_get::<bool, _>(i).map_err(db_error)?)),
            "FLOAT8" => Cell::Real(row.try_get::<f64, _>(i).map_err(db_error)?),
            "FLOAT4" => Cell::Real(f64::from(row.try_get::<f32, _>(i).map_err(db_error)?)),
            "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "UNKNOWN" => {
                Cell::Text(row.try_get::<String, _>(i).map_err(db_error)?)
            }
            other => {
                return Err(Error::Storage(
                    format!("column {i} has type {other}: select it as text or an integer").into(),
                ))
            }
        };
        cells.push(cell);
    }
    Ok(Row(cells))
}

#[async_trait]
impl Conn for PgConn {
    async fn run(&mut self, stmt: Stmt) -> Result<u64> {
        Ok(bind(&stmt).execute(&mut *self.0).await.map_err(db_error)?.rows_affected())
    }

    async fn rows(&mut self, stmt: Stmt) -> Result<Vec<Row>> {
        let found = bind(&stmt).fetch_all(&mut *self.0).await.map_err(db_error)?;
        found.iter().map(decode).collect()
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        self.0.commit().await.map_err(db_error)
    }
}
