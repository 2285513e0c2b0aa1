//! `migrate-data`: copies a whole SQLite deployment into an empty PostgreSQL database, for a
//! company that outgrows one machine.
//!
//! The copy is generic over the schema, so a table added by a later migration is copied
//! without touching this file: tables come from the source's catalogue, in foreign-key
//! order, and each value is converted to the type the target's column declares. Both sides
//! are migrated first (to the same embedded version), the source is read in one read
//! transaction (a consistent snapshot, even if a server is still writing to it), and the
//! target is written in one transaction: it ends up with everything or with nothing. Tables
//! SQLite derives from the others (`sqlite::DERIVED_TABLES`) are not copied.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::TryStreamExt;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Column, Postgres, QueryBuilder, Row, TypeInfo, ValueRef};

use crate::domain::{Error, Result};

use super::postgres::PgStore;
use super::sqlite::SqliteStore;
use super::{db_error, MIGRATIONS_TABLE};

/// Tables a server fills by itself when it first opens a database (the cursor-signing key):
/// the target has its own rows before the copy, and the source's replace them, so that
/// cursors handed out before the move stay valid.
const FILLED_AT_START: &[&str] = &["server_secrets"];

/// Rows per INSERT: well under PostgreSQL's 65,535 bind parameters for any of our tables.
const ROWS_PER_INSERT: usize = 500;

/// What was copied, table by table, in the order it was copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferReport {
    pub tables: Vec<(String, u64)>,
}

impl TransferReport {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

/// One value in transit, as SQLite stores it.
enum Cell {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// Copies every row of the SQLite database at `from` into the PostgreSQL database at `to`,
/// which must hold no data yet (it is migrated here if it is new).
pub async fn sqlite_to_postgres(from: &str, to: &str) -> Result<TransferReport> {
    if !from.starts_with("sqlite:") || !(to.starts_with("postgres://") || to.starts_with("postgresql://")) {
        return Err(Error::InvalidValue(
            "migrate-data copies from a SQLite database to a PostgreSQL one: --from sqlite://PATH --to postgres://…"
                .into(),
        ));
    }
    let source = SqliteStore::connect(from).await?;
    let target = PgStore::connect(to).await?;

    let mut read = source.writer().begin().await.map_err(db_error)?;
    let tables = copy_order(&mut read).await?;
    let target_columns = postgres_columns(target.pool()).await?;
    let mut write = target.pool().begin().await.map_err(db_error)?;
    for table in FILLED_AT_START.iter().filter(|t| tables.iter().any(|n| n == *t)) {
        sqlx::query(&format!("DELETE FROM {table}")).execute(&mut *write).await.map_err(db_error)?;
    }
    for table in &tables {
        if sqlx::query_scalar::<_, bool>(&format!("SELECT EXISTS (SELECT 1 FROM {table})"))
            .fetch_one(&mut *write)
            .await
            .map_err(db_error)?
        {
            return Err(Error::InvalidValue(format!(
                "the target database already holds data (table `{table}` is not empty): migrate-data only fills an empty database"
            )));
        }
    }

    let mut report = TransferReport { tables: Vec::new() };
    for table in tables {
        let types = target_columns.get(&table).ok_or_else(|| {
            Error::InvalidValue(format!("table `{table}` exists in the SQLite database but not in PostgreSQL"))
        })?;
        // Names come from the databases' own catalogues, never from input. Rows stream
        // through in chunks, so a large tenant never sits in memory whole.
        let select = format!("SELECT * FROM {table}");
        let mut rows = sqlx::query(&select).fetch(&mut *read);
        let mut chunk: Vec<SqliteRow> = Vec::with_capacity(ROWS_PER_INSERT);
        let mut layout: Option<(Vec<String>, Vec<String>)> = None;
        let mut copied = 0u64;
        loop {
            let next = rows.try_next().await.map_err(db_error)?;
            let done = next.is_none();
            chunk.extend(next);
            if chunk.len() < ROWS_PER_INSERT && !done {
                continue;
            }
            if let Some(first) = chunk.first() {
                if layout.is_none() {
                    layout = Some(column_layout(first, types, &table)?);
                }
                let (columns, column_types) = layout.as_ref().expect("set above");
                insert_rows(&mut write, &table, columns, column_types, &chunk).await?;
                copied += chunk.len() as u64;
                chunk.clear();
            }
            if done {
                break;
            }
        }
        report.tables.push((table, copied));
    }

    // Read back what the target now holds before committing: the counts must agree.
    for (table, copied) in &report.tables {
        let held: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut *write)
            .await
            .map_err(db_error)?;
        if held as u64 != *copied {
            return Err(Error::InvalidValue(format!(
                "table `{table}`: copied {copied} rows but the target holds {held}"
            )));
        }
    }
    write.commit().await.map_err(db_error)?;
    read.rollback().await.map_err(db_error)?;
    Ok(report)
}

/// The columns of `row` and the PostgreSQL type each must be written as.
fn column_layout(row: &SqliteRow, types: &BTreeMap<String, String>, table: &str) -> Result<(Vec<String>, Vec<String>)> {
    let columns: Vec<String> = row.columns().iter().map(|c| c.name().to_owned()).collect();
    let column_types = columns
        .iter()
        .map(|c| {
            types.get(c).cloned().ok_or_else(|| {
                Error::InvalidValue(format!("column `{table}.{c}` exists in SQLite but not in PostgreSQL"))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((columns, column_types))
}

/// One multi-row INSERT of `rows` into `table`.
async fn insert_rows(
    write: &mut sqlx::PgConnection,
    table: &str,
    columns: &[String],
    column_types: &[String],
    rows: &[SqliteRow],
) -> Result<()> {
    let mut insert = QueryBuilder::<Postgres>::new(format!("INSERT INTO {table} ({}) ", columns.join(", ")));
    let mut failure = None;
    insert.push_values(rows, |mut values, row| {
        for (i, pg_type) in column_types.iter().enumerate() {
            let bound = read_cell(row, i).and_then(|cell| bind_cell(&mut values, cell, pg_type, table, &columns[i]));
            if let Err(e) = bound {
                failure.get_or_insert(e);
            }
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    insert.build().execute(write).await.map_err(db_error)?;
    Ok(())
}

/// The source's tables, every table after those its foreign keys point to.
async fn copy_order(conn: &mut sqlx::SqliteConnection) -> Result<Vec<String>> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> ? ORDER BY name",
    )
    .bind(MIGRATIONS_TABLE)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let names: Vec<String> =
        names.into_iter().filter(|n| !super::sqlite::DERIVED_TABLES.contains(&n.as_str())).collect();
    let mut depends: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for name in &names {
        let parents: Vec<String> = sqlx::query_scalar("SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?)")
            .bind(name)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error)?;
        // A table pointing at itself is ordered within the table by its rows' order.
        depends.insert(name.clone(), parents.into_iter().filter(|p| p != name).collect());
    }
    let mut order = Vec::with_capacity(names.len());
    while !depends.is_empty() {
        let ready: Vec<String> = depends
            .iter()
            .filter(|(_, parents)| parents.iter().all(|p| order.contains(p) || !depends.contains_key(p)))
            .map(|(name, _)| name.clone())
            .collect();
        if ready.is_empty() {
            let cycle: Vec<&String> = depends.keys().collect();
            return Err(Error::InvalidValue(format!("foreign keys form a cycle between tables {cycle:?}")));
        }
        for name in ready {
            depends.remove(&name);
            order.push(name);
        }
    }
    Ok(order)
}

/// Every PostgreSQL table's columns and their declared types.
async fn postgres_columns(pool: &sqlx::PgPool) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
    let rows: Vec<PgRow> = sqlx::query(
        "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_schema = current_schema()",
    )
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    let mut tables: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for row in rows {
        let (table, column, data_type): (String, String, String) =
            (row.try_get(0).map_err(db_error)?, row.try_get(1).map_err(db_error)?, row.try_get(2).map_err(db_error)?);
        tables.entry(table).or_default().insert(column, data_type);
    }
    Ok(tables)
}

/// A value as SQLite holds it (its storage class, whatever the column declares).
fn read_cell(row: &SqliteRow, i: usize) -> Result<Cell> {
    let raw = row.try_get_raw(i).map_err(db_error)?;
    if raw.is_null() {
        return Ok(Cell::Null);
    }
    let class = raw.type_info().name().to_owned();
    Ok(match class.as_str() {
        "INTEGER" | "BOOLEAN" => Cell::Integer(row.try_get(i).map_err(db_error)?),
        "REAL" => Cell::Real(row.try_get(i).map_err(db_error)?),
        "BLOB" => Cell::Blob(row.try_get(i).map_err(db_error)?),
        _ => Cell::Text(row.try_get(i).map_err(db_error)?),
    })
}

/// Binds `cell` as the PostgreSQL type `pg_type`, or says why it does not fit.
fn bind_cell(
    values: &mut sqlx::query_builder::Separated<'_, '_, Postgres, &str>,
    cell: Cell,
    pg_type: &str,
    table: &str,
    column: &str,
) -> Result<()> {
    let mismatch = |what: &str| {
        Error::InvalidValue(format!("`{table}.{column}`: a {what} value does not fit PostgreSQL type {pg_type}"))
    };
    match (pg_type, cell) {
        ("boolean", Cell::Null) => values.push_bind(None::<bool>),
        ("boolean", Cell::Integer(n)) => values.push_bind(n != 0),
        ("bigint" | "integer" | "smallint", Cell::Null) => values.push_bind(None::<i64>),
        ("bigint", Cell::Integer(n)) => values.push_bind(n),
        ("integer", Cell::Integer(n)) => values.push_bind(i32::try_from(n).map_err(|_| mismatch("large integer"))?),
        ("smallint", Cell::Integer(n)) => values.push_bind(i16::try_from(n).map_err(|_| mismatch("large integer"))?),
        ("double precision" | "real", Cell::Null) => values.push_bind(None::<f64>),
        ("double precision" | "real", Cell::Real(x)) => values.push_bind(x),
        ("double precision" | "real", Cell::Integer(n)) => values.push_bind(n as f64),
        ("bytea", Cell::Null) => values.push_bind(None::<Vec<u8>>),
        ("bytea", Cell::Blob(b)) => values.push_bind(b),
        // JSON documents travel as their text, so key order and spacing survive as stored.
        ("json" | "jsonb", Cell::Null) => values.push_bind(None::<String>).push_unseparated(format!("::{pg_type}")),
        ("json" | "jsonb", Cell::Text(t)) => values.push_bind(t).push_unseparated(format!("::{pg_type}")),
        ("text" | "character varying", Cell::Null) => values.push_bind(None::<String>),
        ("text" | "character varying", Cell::Text(t)) => values.push_bind(t),
        (_, Cell::Null) => return Err(mismatch("NULL")),
        (_, Cell::Integer(_)) => return Err(mismatch("integer")),
        (_, Cell::Real(_)) => return Err(mismatch("real")),
        (_, Cell::Text(_)) => return Err(mismatch("text")),
        (_, Cell::Blob(_)) => return Err(mismatch("blob")),
    };
    Ok(())
}
