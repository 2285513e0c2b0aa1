//! The lifecycle's statements ([`Stmt`]) on the engine: write transactions on its
//! group-committing writer, reads on its pooled reader connections. Every statement is
//! prepared once per connection and kept.

use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::types::ValueRef;
use rusqlite::{CachedStatement, Connection};

use crate::domain::store::Place;
use crate::domain::{Error, Result};
use crate::storage::people::exec::{Arg, Cell, Conn, Connector, Row, Stmt};

use super::engine::{sqlite_error, Engine, ReadTx, WriteTx};

/// The engine as the lifecycle store's source of transactions.
pub struct EngineConns(pub Arc<Engine>);

#[async_trait]
impl Connector for EngineConns {
    async fn write(&self) -> Result<Box<dyn Conn>> {
        Ok(Box::new(self.0.begin_write().await?))
    }

    async fn write_in_line(&self, place: Option<Place>) -> Result<(Box<dyn Conn>, Option<Place>)> {
        Ok((Box::new(self.0.begin_write_in_line(place).await?), None))
    }

    async fn read(&self) -> Result<Box<dyn Conn>> {
        Ok(Box::new(self.0.begin_read()?))
    }
}

#[async_trait]
impl Conn for WriteTx {
    async fn run(&mut self, stmt: Stmt) -> Result<u64> {
        run(self.conn(), &stmt)
    }

    async fn rows(&mut self, stmt: Stmt) -> Result<Vec<Row>> {
        rows(self.conn(), &stmt)
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        WriteTx::commit(*self).await
    }
}

#[async_trait]
impl Conn for ReadTx {
    async fn run(&mut self, stmt: Stmt) -> Result<u64> {
        // The connection is read-only: SQLite itself refuses a write.
        run(self.conn(), &stmt)
    }

    async fn rows(&mut self, stmt: Stmt) -> Result<Vec<Row>> {
        rows(self.conn(), &stmt)
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        // Nothing to keep: dropping it ends the snapshot and returns the connection.
        Ok(())
    }
}

fn prepare<'c>(conn: &'c Connection, stmt: &Stmt) -> Result<CachedStatement<'c>> {
    let mut prepared = conn.prepare_cached(&stmt.sql).map_err(sqlite_error)?;
    for (i, arg) in stmt.args.iter().enumerate() {
        let at = i + 1;
        let bound = match arg {
            Arg::Text(v) => prepared.raw_bind_parameter(at, v.as_deref()),
            Arg::Int(v) => prepared.raw_bind_parameter(at, v),
            Arg::Bool(b) => prepared.raw_bind_parameter(at, i64::from(*b)),
        };
        bound.map_err(sqlite_error)?;
    }
    Ok(prepared)
}

/// Runs a statement on `conn`; answers the rows it changed.
pub fn run(conn: &Connection, stmt: &Stmt) -> Result<u64> {
    let mut prepared = prepare(conn, stmt)?;
    let changed = prepared.raw_execute().map_err(sqlite_error)?;
    Ok(u64::try_from(changed).unwrap_or(0))
}

/// Runs a query on `conn`; answers its rows, decoded.
pub fn rows(conn: &Connection, stmt: &Stmt) -> Result<Vec<Row>> {
    let mut prepared = prepare(conn, stmt)?;
    let width = prepared.column_count();
    let mut found = prepared.raw_query();
    let mut out = Vec::new();
    while let Some(row) = found.next().map_err(sqlite_error)? {
        let mut cells = Vec::with_capacity(width);
        for i in 0..width {
            cells.push(match row.get_ref(i).map_err(sqlite_error)? {
                ValueRef::Null => Cell::Null,
                ValueRef::Integer(n) => Cell::Int(n),
                ValueRef::Real(f) => Cell::Real(f),
                ValueRef::Text(t) | ValueRef::Blob(t) => Cell::Text(
                    String::from_utf8(t.to_vec())
                        .map_err(|_| Error::Storage(format!("column {i} is not UTF-8 text").into()))?,
                ),
            });
        }
        out.push(Row(cells));
    }
    Ok(out)
}
