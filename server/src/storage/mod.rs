//! Storage: the [`Store`](crate::domain::store::Store) implementations (SQLite, PostgreSQL)
//! and the SQL they share. sqlx errors become domain errors here and go no further.

pub mod dialect;
pub mod people;
pub mod postgres;
pub mod rows;
pub mod sql_filter;
pub mod sqlite;
pub mod timefmt;
pub mod transfer;

use std::sync::Arc;

use crate::domain::store::Store;
use crate::domain::{Error, Result};

/// sqlx's own bookkeeping table, which is migrated, never copied.
pub(crate) const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

/// Opens the database named by `url`, creating and migrating it as needed.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::connect(url).await?))
    } else {
        // The URL may carry a password: name only its scheme.
        let scheme = url.split_once(':').map_or("", |(s, _)| s);
        Err(Error::InvalidValue(format!(
            "unsupported database URL scheme `{scheme}`: use sqlite://PATH or postgres://USER@HOST/DATABASE"
        )))
    }
}

/// 32 random bytes for a new database secret.
pub(crate) fn new_secret() -> Vec<u8> {
    use rand::RngCore;
    let mut key = vec![0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    key
}

/// Maps a sqlx error to the domain: unique violations are conflicts, the rest is internal
/// and keeps its cause for the log.
pub(crate) fn db_error(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            Error::Uniqueness("a resource with the same unique attribute already exists".into())
        }
        _ => Error::Storage(Box::new(e)),
    }
}
