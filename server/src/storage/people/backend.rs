//! What the lifecycle's SQL needs to know about a database beyond [`Dialect`].

use sqlx::{Postgres, Sqlite};

use crate::storage::dialect::Dialect;

pub trait Backend: Dialect {
    /// Appended to a statement that reads the tenant's settings row to lock it.
    const LOCK_ROW: &'static str;
    /// Appended to the outbox claim so replicas skip rows another one is claiming.
    const SKIP_LOCKED: &'static str;
    /// Cast of a bound text to the `data` column's JSON type.
    const JSON_CAST: &'static str;
    /// Placeholders are numbered (`$1`, `$2`) rather than all `?`.
    const NUMBERED_PARAMS: bool;
    /// The aggregate joining the `permission` texts of a group with spaces (no order promised).
    const TEXT_AGG: &'static str;
    /// Whether a save reads a person's rows first to write only what changed. In-process
    /// SQLite reads in µs, and every row or index entry it rewrites is a page to journal
    /// and to commit; on PostgreSQL each read is one more round trip.
    const READS_BEFORE_WRITING: bool;
}

impl Backend for Sqlite {
    // SQLite has one writer: a write transaction holds the whole database.
    const LOCK_ROW: &'static str = "";
    const SKIP_LOCKED: &'static str = "";
    const JSON_CAST: &'static str = "";
    const NUMBERED_PARAMS: bool = false;
    const TEXT_AGG: &'static str = "group_concat(permission, ' ')";
    const READS_BEFORE_WRITING: bool = true;
}

impl Backend for Postgres {
    const LOCK_ROW: &'static str = " FOR UPDATE";
    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";
    const JSON_CAST: &'static str = "::json";
    const NUMBERED_PARAMS: bool = true;
    const TEXT_AGG: &'static str = "string_agg(permission, ' ')";
    const READS_BEFORE_WRITING: bool = false;
}
