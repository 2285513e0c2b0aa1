//! Planner hints for indexes SQLite has no statistics for.
//!
//! Without statistics, SQLite's planner prefers the `tenant_id` prefix of a WITHOUT ROWID
//! table's primary key to any non-unique secondary index, and so scans the whole tenant for
//! lookups such as "this person's unused links": a cost that grows with the tenant, paid on
//! every SCIM create. A fresh database has no statistics, and most never run ANALYZE. So at
//! start, every index without a `sqlite_stat1` row gets one that says what a tenant looks
//! like: many rows, and few per value of each further column. A real ANALYZE replaces them.

use sqlx::SqlitePool;

use crate::domain::Result;
use crate::storage::db_error;

/// Rows assumed in an index, and per tenant.
const ROWS: u64 = 1_000_000;
const PER_TENANT: u64 = 10_000;

/// The `sqlite_stat1` figures for an index of `columns` columns led by `tenant_id`.
pub fn hint(columns: usize) -> String {
    let mut stat = format!("{ROWS} {PER_TENANT}");
    for _ in 1..columns {
        stat.push_str(" 1");
    }
    stat
}

/// Writes a hint for every index that has no statistics, then reloads them. Runs on the
/// writer before the other connections open, so that every connection plans with them.
pub async fn hint_unanalyzed_indexes(writer: &SqlitePool) -> Result<()> {
    let mut conn = writer.acquire().await.map_err(db_error)?;
    // Makes sure sqlite_stat1 exists (and touches no other table's figures).
    sqlx::query("ANALYZE sqlite_schema").execute(&mut *conn).await.map_err(db_error)?;
    let missing: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT m.tbl_name, m.name, (SELECT count(*) FROM pragma_index_info(m.name)) FROM sqlite_schema m \
         WHERE m.type = 'index' AND m.name NOT LIKE 'sqlite_%' \
         AND NOT EXISTS (SELECT 1 FROM sqlite_stat1 s WHERE s.idx = m.name)",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    if missing.is_empty() {
        return Ok(());
    }
    for (table, index, columns) in &missing {
        sqlx::query("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)")
            .bind(table)
            .bind(index)
            .bind(hint(usize::try_from(*columns).unwrap_or(1).max(1)))
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
    }
    // Reloads the statistics on this connection; the others open after this.
    sqlx::query("ANALYZE sqlite_schema").execute(&mut *conn).await.map_err(db_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_hint_has_a_figure_per_column() {
        assert_eq!(super::hint(1), "1000000 10000");
        assert_eq!(super::hint(3), "1000000 10000 1 1");
    }
}
