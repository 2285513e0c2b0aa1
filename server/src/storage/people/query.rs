//! A small statement builder: SQL text is pushed as written, values are always bound. It
//! reads like the SQL it makes: `Sql::new("… WHERE id = ").text(id)`.

use std::fmt::Write as _;
use std::marker::PhantomData;

use time::{Duration, OffsetDateTime};

use crate::domain::Result;
use crate::storage::timefmt;

use super::exec::{Arg, Conn, Row, Stmt};
use super::Backend;

pub struct Sql<D: Backend> {
    sql: String,
    args: Vec<Arg>,
    _dialect: PhantomData<fn() -> D>,
}

impl<D: Backend> Sql<D> {
    pub fn new(sql: &str) -> Self {
        // Room for what usually follows, so that a statement is not copied as it grows.
        let mut text = String::with_capacity(sql.len() + 256);
        text.push_str(sql);
        Self { sql: text, args: Vec::with_capacity(8), _dialect: PhantomData }
    }

    pub fn sql(mut self, sql: &str) -> Self {
        self.sql.push_str(sql);
        self
    }

    fn bind(mut self, arg: Arg) -> Self {
        self.args.push(arg);
        if D::NUMBERED_PARAMS {
            let _ = write!(self.sql, "${}", self.args.len());
        } else {
            self.sql.push('?');
        }
        self
    }

    pub fn text(self, value: impl Into<String>) -> Self {
        self.bind(Arg::Text(Some(value.into())))
    }

    pub fn opt_text(self, value: Option<impl Into<String>>) -> Self {
        self.bind(Arg::Text(value.map(Into::into)))
    }

    pub fn int(self, value: i64) -> Self {
        self.bind(Arg::Int(Some(value)))
    }

    pub fn opt_int(self, value: Option<i64>) -> Self {
        self.bind(Arg::Int(value))
    }

    pub fn flag(self, value: bool) -> Self {
        self.int(i64::from(value))
    }

    /// A boolean column of the SCIM core tables (INTEGER in SQLite, BOOLEAN in PostgreSQL).
    pub fn boolean(self, value: bool) -> Self {
        self.bind(Arg::Bool(value))
    }

    pub fn time(self, t: OffsetDateTime) -> Self {
        self.text(timefmt::format(t))
    }

    pub fn opt_time(self, t: Option<OffsetDateTime>) -> Self {
        self.opt_text(t.map(timefmt::format))
    }

    /// `(v1, v2, …)` of bound texts; `(NULL)` when empty, which matches nothing.
    pub fn list(mut self, values: &[String]) -> Self {
        if values.is_empty() {
            self.sql.push_str("(NULL)");
            return self;
        }
        self.sql.push('(');
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.sql.push_str(", ");
            }
            self = self.text(v.clone());
        }
        self.sql.push(')');
        self
    }

    /// The statement as built (its text and values).
    pub fn build(self) -> Stmt {
        Stmt { sql: self.sql, args: self.args }
    }

    pub async fn run(self, conn: &mut dyn Conn) -> Result<u64> {
        conn.run(self.build()).await
    }

    pub async fn rows(self, conn: &mut dyn Conn) -> Result<Vec<Row>> {
        conn.rows(self.build()).await
    }
}

/// Reads a required text column.
pub fn req_text(row: &Row, i: usize) -> Result<String> {
    row.text(i)?.ok_or_else(|| crate::domain::Error::Storage(format!("column {i} is NULL").into()))
}

pub fn opt_time(row: &Row, i: usize) -> Result<Option<OffsetDateTime>> {
    Ok(row.text(i)?.as_deref().and_then(timefmt::parse))
}

pub fn req_time(row: &Row, i: usize) -> Result<OffsetDateTime> {
    opt_time(row, i)?.ok_or_else(|| crate::domain::Error::Storage(format!("column {i} is not a time").into()))
}

/// The first column of the first row as a count (`SELECT count(*) …`).
pub fn count(rows: &[Row]) -> Result<u64> {
    let n = rows.first().map(|r| r.int(0)).transpose()?.flatten().unwrap_or(0);
    Ok(u64::try_from(n).unwrap_or(0))
}

/// A count or position as the integer SQL binds.
pub fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The lease claim every background queue uses (the outbox, reassignment jobs): up to
/// `limit` due rows of `table` not held by a live lease get `locked_until = now + lease` and
/// one more attempt, in one statement that on PostgreSQL skips rows another replica is
/// claiming. `due` adds the queue's own condition after `WHERE`; `returning` names the columns
/// answered.
pub fn lease_claim<D: Backend>(
    table: &str,
    due: impl FnOnce(Sql<D>) -> Sql<D>,
    order: &str,
    returning: &str,
    now: OffsetDateTime,
    lease: Duration,
    limit: u32,
) -> Sql<D> {
    let head = Sql::<D>::new(&format!("UPDATE {table} SET locked_until = "))
        .time(now + lease)
        .sql(&format!(", attempts = attempts + 1 WHERE (tenant_id, id) IN (SELECT tenant_id, id FROM {table} WHERE "));
    due(head)
        .sql(" AND (locked_until IS NULL OR locked_until <= ")
        .time(now)
        .sql(&format!(") ORDER BY {order} LIMIT "))
        .int(i64::from(limit))
        .sql(D::SKIP_LOCKED)
        .sql(&format!(") RETURNING {returning}"))
}
