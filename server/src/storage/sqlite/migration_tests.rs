//! A migration that rebuilds a table (copy, drop, rename) keeps its rows and every row that
//! refers to them: `20261206300000_users_rowid` and `20261207100000_audit_order`, each on a
//! database a server made before it.

use std::str::FromStr;

use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};

use crate::domain::resource::{ListQuery, TenantId};
use crate::domain::schema::ResourceType;
use crate::domain::store::Store;
use crate::protocol::filter::parse_filter;

/// The first migration this test is about.
const REBUILD: i64 = 20261206300000;

/// A database migrated up to (not including) migration `until`, and a connection to it with
/// foreign keys on or off.
async fn database_before(dir: &std::path::Path, until: i64, foreign_keys: bool) -> (String, SqliteConnection) {
    let earlier = dir.join("earlier-migrations");
    std::fs::create_dir(&earlier).expect("dir");
    let all = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/sqlite");
    for entry in std::fs::read_dir(all).expect("migrations") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).expect("name").to_owned();
        let version: i64 = name.split('_').next().and_then(|v| v.parse().ok()).expect("version");
        if version < until {
            std::fs::copy(&path, earlier.join(&name)).expect("copy");
        }
    }
    let url = format!("sqlite://{}", dir.join("t.db").display());
    let options = SqliteConnectOptions::from_str(&url).expect("url").create_if_missing(true).foreign_keys(foreign_keys);
    let mut conn = options.connect().await.expect("connect");
    Migrator::new(earlier.as_path()).await.expect("migrator").run(&mut conn).await.expect("earlier migrations");
    (url, conn)
}

/// A database at the schema before the rebuild, as a server of that time left it (foreign
/// keys on), holding a live and a deleted person with their e-mails, profiles, a sign-up
/// link and a group.
async fn database_before_rebuild(dir: &std::path::Path) -> (String, SqliteConnection) {
    let (url, mut conn) = database_before(dir, REBUILD, true).await;
    sqlx::raw_sql(
        "INSERT INTO tenants (id, name, created_at) VALUES ('t', 'acme', '2026-12-01T00:00:00Z');
         INSERT INTO users (tenant_id, id, user_name, user_name_lower, external_id, active, state, data, version,
                            created_at, updated_at) VALUES
           ('t', 'u1', 'Ada@example.com', 'ada@example.com', 'E1', 1, 'active',
            '{\"userName\":\"Ada@example.com\",\"active\":true}', 3, '2026-12-01T00:00:00Z', '2026-12-02T00:00:00Z'),
           ('t', 'u2', 'Bob@example.com', 'bob@example.com', NULL, 0, 'deleted',
            '{\"userName\":\"Bob@example.com\",\"active\":false}', 5, '2026-12-01T00:00:00Z', '2026-12-03T00:00:00Z');
         INSERT INTO user_emails (tenant_id, user_id, position, value_lower) VALUES
           ('t', 'u1', 0, 'ada@example.com'), ('t', 'u2', 0, 'bob@example.com');
         INSERT INTO people (tenant_id, user_id, user_type, partner, company_role) VALUES
           ('t', 'u1', 'Employee', 0, 'member'), ('t', 'u2', 'Contractor', 1, 'member');
         INSERT INTO person_links (tenant_id, token_hash, user_id, purpose, created_at, expires_at) VALUES
           ('t', 'h1', 'u1', 'signup', '2026-12-01T00:00:00Z', '2026-12-08T00:00:00Z');
         INSERT INTO groups (tenant_id, id, display_name, display_name_lower, data, version, created_at, updated_at)
           VALUES ('t', 'g1', 'Staff', 'staff', '{\"displayName\":\"Staff\"}', 1, '2026-12-01T00:00:00Z',
                   '2026-12-01T00:00:00Z');
         INSERT INTO group_members (tenant_id, group_id, member_id, member_type) VALUES
           ('t', 'g1', 'u1', 'User'), ('t', 'g1', 'u2', 'User');",
    )
    .execute(&mut conn)
    .await
    .expect("rows of the earlier schema");
    (url, conn)
}

async fn count(conn: &mut SqliteConnection, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(conn).await.expect(sql)
}

#[tokio::test]
async fn rebuilding_users_keeps_people_and_everything_that_refers_to_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (url, conn) = database_before_rebuild(dir.path()).await;
    conn.close().await.expect("close");

    let store = super::SqliteStore::connect(&url).await.expect("the server migrates and starts");
    let mut conn = store.writer().acquire().await.expect("conn");
    let schema: String = sqlx::query_scalar("SELECT sql FROM sqlite_schema WHERE name = 'users'")
        .fetch_one(&mut *conn)
        .await
        .expect("users");
    assert!(!schema.to_uppercase().contains("WITHOUT ROWID"), "{schema}");
    for (sql, expected) in [
        ("SELECT count(*) FROM users", 2),
        ("SELECT count(*) FROM user_emails", 2),
        ("SELECT count(*) FROM people", 2),
        ("SELECT count(*) FROM person_links", 1),
        ("SELECT count(*) FROM group_members", 2),
        ("SELECT n FROM live_counts WHERE tenant_id = 't' AND resource_type = 'User'", 1),
        ("SELECT version FROM users WHERE id = 'u2' AND state = 'deleted'", 5),
    ] {
        assert_eq!(count(&mut conn, sql).await, expected, "{sql}");
    }

    // The lookups answer from the rebuilt table and its indexes.
    let tenant = TenantId("t".into());
    let query = ListQuery {
        filter: Some(parse_filter(r#"userName eq "ADA@example.com""#).expect("filter")),
        sort: None,
        start_index: 1,
        count: 10,
        with_relations: true,
        keyset: None,
        count_total: true,
    };
    let page = store.list(&tenant, ResourceType::User, &query).await.expect("lookup");
    assert_eq!(page.items.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["u1"]);
    let groups = page.items[0].groups.as_ref().expect("groups read");
    assert_eq!(groups.iter().map(|g| g.value.as_str()).collect::<Vec<_>>(), ["g1"]);

    // Its triggers and unique indexes are back, and foreign keys are enforced again.
    sqlx::raw_sql(
        "INSERT INTO users (tenant_id, id, user_name, user_name_lower, active, state, data, version, created_at,
                            updated_at)
         VALUES ('t', 'u3', 'Cy', 'cy', 1, 'active', '{}', 1, '2026-12-04T00:00:00Z', '2026-12-04T00:00:00Z')",
    )
    .execute(&mut *conn)
    .await
    .expect("insert");
    assert_eq!(count(&mut conn, "SELECT n FROM live_counts WHERE tenant_id = 't' AND resource_type = 'User'").await, 2);
    let duplicate = sqlx::raw_sql(
        "INSERT INTO users (tenant_id, id, user_name, user_name_lower, active, state, data, version, created_at,
                            updated_at)
         VALUES ('t', 'u4', 'CY', 'cy', 1, 'active', '{}', 1, '2026-12-04T00:00:00Z', '2026-12-04T00:00:00Z')",
    )
    .execute(&mut *conn)
    .await;
    assert!(duplicate.is_err(), "userName stays unique among live people");
    let orphan = sqlx::raw_sql(
        "INSERT INTO user_emails (tenant_id, user_id, position, value_lower) VALUES ('t', 'nobody', 0, 'x')",
    )
    .execute(&mut *conn)
    .await;
    assert!(orphan.is_err(), "an e-mail of no one is refused");
    sqlx::raw_sql("DELETE FROM users WHERE id = 'u1'").execute(&mut *conn).await.expect("delete");
    assert_eq!(count(&mut conn, "SELECT count(*) FROM user_emails WHERE user_id = 'u1'").await, 0, "cascades");
    assert_eq!(count(&mut conn, "SELECT count(*) FROM people WHERE user_id = 'u1'").await, 0, "cascades");
}

/// Run by a tool that keeps foreign keys on (dropping `users` would then delete what refers
/// to it), the rebuild refuses to start and changes nothing.
#[tokio::test]
async fn the_rebuild_refuses_a_connection_that_enforces_foreign_keys() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_url, mut conn) = database_before_rebuild(dir.path()).await;
    let refused = sqlx::migrate!("../migrations/sqlite").run(&mut conn).await;
    assert!(refused.is_err(), "the guard stops the rebuild");
    let schema: String = sqlx::query_scalar("SELECT sql FROM sqlite_schema WHERE name = 'users'")
        .fetch_one(&mut conn)
        .await
        .expect("users");
    assert!(schema.to_uppercase().contains("WITHOUT ROWID"), "{schema}");
    assert_eq!(count(&mut conn, "SELECT count(*) FROM user_emails").await, 2);
    assert_eq!(count(&mut conn, "SELECT count(*) FROM people").await, 2);
    assert_eq!(count(&mut conn, &format!("SELECT count(*) FROM _sqlx_migrations WHERE version = {REBUILD}")).await, 0);
}

/// `20261207100000_audit_order` keys the audit log by time: its entries stay, the lists come
/// in the same order straight from the key, and nothing is left of the two indexes it drops.
#[tokio::test]
async fn keying_the_audit_log_by_time_keeps_its_entries_and_their_order() {
    const AUDIT_ORDER: i64 = 20261207100000;
    let dir = tempfile::tempdir().expect("temp dir");
    // As the server's migrating connection: the users rebuild before it wants foreign keys off.
    let (url, mut conn) = database_before(dir.path(), AUDIT_ORDER, false).await;
    sqlx::raw_sql(
        "INSERT INTO tenants (id, name, created_at) VALUES ('t', 'acme', '2026-12-01T00:00:00Z');
         INSERT INTO audit_log (tenant_id, id, at, actor, action, user_id, before, after) VALUES
           ('t', 'a3', '2026-12-03T00:00:00Z', 'scim', 'archive', 'u1', '{\"state\":\"active\"}', NULL),
           ('t', 'a1', '2026-12-01T00:00:00Z', 'scim', 'invite', 'u1', NULL, '{\"state\":\"invited\"}'),
           ('t', 'a2', '2026-12-02T00:00:00Z', 'admin', 'activate', 'u2', NULL, NULL),
           ('t', 'a0', '2026-12-02T00:00:00Z', 'admin', 'invite', 'u2', NULL, NULL);",
    )
    .execute(&mut conn)
    .await
    .expect("entries of the earlier schema");
    conn.close().await.expect("close");

    let store = super::SqliteStore::connect(&url).await.expect("the server migrates and starts");
    let mut conn = store.writer().acquire().await.expect("conn");
    let ids = |sql: &'static str| sqlx::query_scalar::<_, String>(sql);
    let newest_first = "SELECT id FROM audit_log WHERE tenant_id = 't' ORDER BY at DESC, id DESC";
    assert_eq!(ids(newest_first).fetch_all(&mut *conn).await.expect("list"), ["a3", "a2", "a0", "a1"]);
    let of_u2 = "SELECT id FROM audit_log WHERE tenant_id = 't' AND user_id = 'u2' ORDER BY at DESC, id DESC";
    assert_eq!(ids(of_u2).fetch_all(&mut *conn).await.expect("list"), ["a2", "a0"]);
    assert_eq!(
        count(&mut conn, "SELECT count(*) FROM audit_log WHERE before = '{\"state\":\"active\"}'").await,
        1,
        "the snapshots stay"
    );
    for sql in [newest_first, of_u2] {
        let plan = super::test_support::query_plan(&mut *conn, sql).await;
        assert!(!plan.contains("TEMP B-TREE"), "{sql} is ordered by an index: {plan}");
    }
    assert_eq!(
        count(&mut conn, "SELECT count(*) FROM sqlite_schema WHERE name IN ('audit_log_at', 'people_role')").await,
        0
    );
}
