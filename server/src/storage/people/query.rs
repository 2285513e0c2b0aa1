//! A small statement builder over `QueryBuilder`: SQL text is pushed as written, values are
//! always bound. It reads like the SQL it makes: `Sql::new("… WHERE id = ").text(id)`.

use sqlx::QueryBuilder;
use time::{Duration, OffsetDateTime};

use crate::domain::Result;
use crate::storage::timefmt;

use super::Backend;

pub struct Sql<'a, D: Backend> {
    qb: QueryBuilder<'a, D>,
}

impl<'a, D: Backend> Sql<'a, D> {
    pub fn new(sql: &str) -> Self {
        Self { qb: D::builder(sql.to_owned()) }
    }

    pub fn sql(mut self, sql: &str) -> Self {
        self.qb.push(sql);
        self
    }

    pub fn text(mut self, value: impl Into<String>) -> Self {
        D::bind_text(&mut self.qb, value.into());
        self
    }

    pub fn opt_text(mut self, value: Option<impl Into<String>>) -> Self {
        D::bind_opt_text(&mut self.qb, value.map(Into::into));
        self
    }

    pub fn int(mut self, value: i64) -> Self {
        D::bind_int(&mut self.qb, value);
        self
    }

    pub fn opt_int(mut self, value: Option<i64>) -> Self {
        D::bind_opt_int(&mut self.qb, value);
        self
    }

    pub fn flag(self, value: bool) -> Self {
        self.int(i64::from(value))
    }

    /// A boolean column of the SCIM core tables (INTEGER in SQLite, BOOLEAN in PostgreSQL).
    pub fn boolean(mut self, value: bool) -> Self {
        D::bind_bool(&mut self.qb, value);
        self
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
            self.qb.push("(NULL)");
            return self;
        }
        self.qb.push("(");
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.qb.push(", ");
            }
            D::bind_text(&mut self.qb, v.clone());
        }
        self.qb.push(")");
        self
    }

    pub async fn run(mut self, conn: &mut <D as sqlx::Database>::Connection) -> Result<u64> {
        D::run(conn, &mut self.qb).await
    }

    pub async fn rows(
        mut self,
        conn: &mut <D as sqlx::Database>::Connection,
    ) -> Result<Vec<<D as sqlx::Database>::Row>> {
        D::rows(conn, &mut self.qb).await
    }
}

/// Reads a required text column.
pub fn req_text<D: Backend>(row: &<D as sqlx::Database>::Row, i: usize) -> Result<String> {
    D::text(row, i)?.ok_or_else(|| crate::domain::Error::Storage(format!("column {i} is NULL").into()))
}

pub fn opt_time<D: Backend>(row: &<D as sqlx::Database>::Row, i: usize) -> Result<Option<OffsetDateTime>> {
    Ok(D::text(row, i)?.as_deref().and_then(timefmt::parse))
}

pub fn req_time<D: Backend>(row: &<D as sqlx::Database>::Row, i: usize) -> Result<OffsetDateTime> {
    opt_time::<D>(row, i)?.ok_or_else(|| crate::domain::Error::Storage(format!("column {i} is not a time").into()))
}

/// The first column of the first row as a count (`SELECT count(*) …`).
pub fn count<D: Backend>(rows: &[<D as sqlx::Database>::Row]) -> Result<u64> {
    let n = rows.first().map(|r| D::int(r, 0)).transpose()?.flatten().unwrap_or(0);
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
pub fn lease_claim<'a, D: Backend>(
    table: &str,
    due: impl FnOnce(Sql<'a, D>) -> Sql<'a, D>,
    order: &str,
    returning: &str,
    now: OffsetDateTime,
    lease: Duration,
    limit: u32,
) -> Sql<'a, D> {
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
