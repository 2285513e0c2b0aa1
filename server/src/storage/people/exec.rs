//! How the lifecycle's statements reach a database. A statement is SQL text and its bound
//! values ([`Stmt`]); a [`Conn`] runs it inside one transaction and answers owned [`Row`]s.
//! SQLite runs them on the rusqlite engine (prepared statements, group commit), PostgreSQL
//! through sqlx: the lifecycle's SQL is written once and never sees either driver.

use async_trait::async_trait;

use crate::domain::store::Place;
use crate::domain::{Error, Result};

/// A bound value. Each kind keeps its SQL type even when NULL: PostgreSQL types parameters
/// when it prepares, and a NULL text is not a NULL integer there.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Text(Option<String>),
    Int(Option<i64>),
    /// A boolean column of the SCIM core tables (INTEGER in SQLite, BOOLEAN in PostgreSQL).
    Bool(bool),
}

/// One statement: its text (placeholders in the database's style) and its values in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Stmt {
    pub sql: String,
    pub args: Vec<Arg>,
}

/// A column's value as read.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

/// One result row, decoded off the driver so that callers never see a driver type.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub Vec<Cell>);

impl Row {
    fn cell(&self, i: usize) -> Result<&Cell> {
        self.0.get(i).ok_or_else(|| Error::Storage(format!("no column {i} in the row").into()))
    }

    /// A text column (an integer reads as its digits, as SQLite's dynamic typing allows).
    pub fn text(&self, i: usize) -> Result<Option<String>> {
        Ok(match self.cell(i)? {
            Cell::Null => None,
            Cell::Text(s) => Some(s.clone()),
            Cell::Int(n) => Some(n.to_string()),
            Cell::Real(f) => Some(f.to_string()),
        })
    }

    /// An integer column (booleans read as 0 and 1).
    pub fn int(&self, i: usize) -> Result<Option<i64>> {
        match self.cell(i)? {
            Cell::Null => Ok(None),
            Cell::Int(n) => Ok(Some(*n)),
            // Counts and flags only; a fraction is not expected here.
            Cell::Real(f) => Ok(Some(*f as i64)),
            Cell::Text(s) => {
                s.parse().map(Some).map_err(|_| Error::Storage(format!("column {i} is not an integer").into()))
            }
        }
    }
}

/// A transaction on one connection. Dropping it without [`Conn::commit`] rolls it back.
#[async_trait]
pub trait Conn: Send {
    /// Runs a statement; answers the number of rows it changed.
    async fn run(&mut self, stmt: Stmt) -> Result<u64>;
    async fn rows(&mut self, stmt: Stmt) -> Result<Vec<Row>>;
    /// Commits; answers once the changes are durable (SQLite: once the group they were
    /// committed with is).
    async fn commit(self: Box<Self>) -> Result<()>;
}

/// Where a store's transactions come from.
#[async_trait]
pub trait Connector: Send + Sync {
    /// A write transaction.
    async fn write(&self) -> Result<Box<dyn Conn>>;
    /// A write transaction for a write with a place in a line (see [`Place`]), and the place
    /// when the transaction does not order the write by itself: a database with a single
    /// writer lets go of it as soon as the write has asked for the writer; on others the
    /// caller keeps it until the write holds its lock.
    async fn write_in_line(&self, place: Option<Place>) -> Result<(Box<dyn Conn>, Option<Place>)> {
        Ok((self.write().await?, place))
    }
    /// A read-only transaction on one snapshot.
    async fn read(&self) -> Result<Box<dyn Conn>>;
}
