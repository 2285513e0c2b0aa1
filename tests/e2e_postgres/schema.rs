//! Both migration sets describe one logical schema: the same tables, columns (with the same
//! nullability and equivalent types), primary keys and unique indexes (with the same
//! columns, partial or not). Compared from what each database reports after migrating,
//! not from the SQL text.

use std::collections::BTreeMap;

use rollcall_tests::postgres::TestDatabase;
use scim_server::storage::postgres::PgStore;
use scim_server::storage::sqlite::SqliteStore;
use sqlx::{Row, SqlitePool};

/// A table as compared: columns (name → type, nullable), primary key columns, and unique
/// indexes (name → columns, partial).
#[derive(Debug, Default, PartialEq)]
struct Table {
    columns: BTreeMap<String, (String, bool)>,
    primary_key: Vec<String>,
    unique: BTreeMap<String, (Vec<String>, bool)>,
}

/// PostgreSQL's types as the SQLite declared types they stand for.
fn logical(pg_type: &str) -> String {
    match pg_type {
        "text" => "TEXT",
        // The document; SQLite keeps it as text.
        "json" | "jsonb" => "TEXT",
        "boolean" | "bigint" | "integer" => "INTEGER",
        "bytea" => "BLOB",
        other => other,
    }
    .to_owned()
}

async fn sqlite_schema(pool: &SqlitePool) -> BTreeMap<String, Table> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .expect("tables");
    let mut tables = BTreeMap::new();
    for name in names.into_iter().filter(|n| !scim_server::storage::sqlite::DERIVED_TABLES.contains(&n.as_str())) {
        let mut table = Table::default();
        let mut pk = Vec::new();
        for col in sqlx::query(&format!("PRAGMA table_info({name})")).fetch_all(pool).await.expect("columns") {
            let column: String = col.get("name");
            let notnull: i64 = col.get("notnull");
            let pk_pos: i64 = col.get("pk");
            if pk_pos > 0 {
                pk.push((pk_pos, column.clone()));
            }
            table.columns.insert(column, (col.get::<String, _>("type"), notnull == 0));
        }
        pk.sort();
        table.primary_key = pk.into_iter().map(|(_, c)| c).collect();
        for index in sqlx::query(&format!("PRAGMA index_list({name})")).fetch_all(pool).await.expect("indexes") {
            let (index_name, unique, origin, partial): (String, i64, String, i64) =
                (index.get("name"), index.get("unique"), index.get("origin"), index.get("partial"));
            if unique == 0 || origin == "pk" {
                continue;
            }
            let columns = sqlx::query(&format!("PRAGMA index_info({index_name})"))
                .fetch_all(pool)
                .await
                .expect("index columns")
                .iter()
                .map(|c| c.get::<String, _>("name"))
                .collect();
            table.unique.insert(index_name, (columns, partial != 0));
        }
        tables.insert(name, table);
    }
    tables
}

async fn postgres_schema(pool: &sqlx::PgPool) -> BTreeMap<String, Table> {
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    let columns = sqlx::query(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable = 'YES' AS nullable \
         FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .expect("columns");
    for c in columns {
        tables
            .entry(c.get("table_name"))
            .or_default()
            .columns
            .insert(c.get("column_name"), (logical(&c.get::<String, _>("data_type")), c.get("nullable")));
    }
    // Unique indexes and primary keys, with their key columns in order.
    let indexes = sqlx::query(
        "SELECT t.relname::text AS table_name, i.relname::text AS index_name, x.indisprimary AS is_pk, \
                x.indpred IS NOT NULL AS partial, \
                array(SELECT a.attname::text FROM unnest(x.indkey) WITH ORDINALITY k(attnum, ord) \
                      JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord) AS columns \
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = current_schema() AND x.indisunique AND t.relname <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .expect("indexes");
    for x in indexes {
        let table = tables.entry(x.get("table_name")).or_default();
        let columns: Vec<String> = x.get("columns");
        if x.get("is_pk") {
            table.primary_key = columns;
        } else {
            table.unique.insert(x.get("index_name"), (columns, x.get("partial")));
        }
    }
    tables
}

#[tokio::test]
async fn both_migration_sets_make_the_same_logical_schema() {
    let Some(db) = TestDatabase::create().await else { return };
    let pg = PgStore::connect(&db.url).await.expect("connect PostgreSQL");
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = SqliteStore::connect(&format!("sqlite://{}", dir.path().join("s.db").display())).await.expect("open");

    let expected = sqlite_schema(sqlite.writer()).await;
    let actual = postgres_schema(pg.pool()).await;
    assert_eq!(expected.keys().collect::<Vec<_>>(), actual.keys().collect::<Vec<_>>(), "tables differ");
    for (name, table) in &expected {
        assert_eq!(Some(table), actual.get(name), "table {name} differs (left: SQLite, right: PostgreSQL)");
    }
    assert!(expected["users"].unique.contains_key("users_user_name"), "the comparison sees partial unique indexes");
}

/// Replicas starting together all migrate the same new database without tripping over each
/// other: sqlx's migrator holds an advisory lock, and the later ones find nothing to do.
#[tokio::test]
async fn replicas_starting_at_once_migrate_safely() {
    let Some(db) = TestDatabase::create().await else { return };
    let starts = (0..4).map(|_| PgStore::connect(&db.url));
    for started in futures_util::future::join_all(starts).await {
        started.expect("every replica starts");
    }
    let pg = PgStore::connect(&db.url).await.expect("connect");
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(pg.pool())
        .await
        .expect("migrations");
    let embedded = sqlx::migrate!("../migrations/postgres").migrations.len();
    assert_eq!(applied as usize, embedded, "every embedded migration applied exactly once");
}
