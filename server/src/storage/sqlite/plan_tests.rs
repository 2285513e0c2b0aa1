//! Proof that the equality lookups identity providers make before every create are index
//! lookups, not scans of the tenant: `EXPLAIN QUERY PLAN` of the very query the store runs.

use sqlx::Row;

use crate::domain::resource::{ListQuery, TenantId};
use crate::domain::schema::ResourceType;
use crate::protocol::filter::parse_filter;

use sqlx::Sqlite;

use super::test_support::{query_plan, store};
use crate::storage::rows::select_page;

fn query(filter: &str) -> ListQuery {
    ListQuery {
        filter: Some(parse_filter(filter).expect("filter")),
        sort: None,
        start_index: 1,
        count: 100,
        with_relations: false,
        keyset: None,
        count_total: true,
    }
}

async fn plan(store: &super::SqliteStore, rt: ResourceType, filter: &str) -> String {
    let tenant = TenantId("t".into());
    let mut qb = select_page::<Sqlite>("EXPLAIN QUERY PLAN ", &tenant, rt, &query(filter)).expect("query");
    let rows = qb.build().fetch_all(&store.reader).await.expect("explain");
    rows.iter().map(|r| r.get::<String, _>("detail")).collect::<Vec<_>>().join("\n")
}

#[tokio::test]
async fn equality_filters_use_an_index() {
    let (store, _dir) = store().await;
    // `users` is a rowid table: its primary key is the unique index SQLite makes for it.
    let cases = [
        (ResourceType::User, r#"id eq "x""#, "USING INDEX sqlite_autoindex_users_1 (tenant_id=? AND id=?)"),
        (ResourceType::User, r#"userName eq "x""#, "USING INDEX users_user_name (tenant_id=? AND user_name_lower=?)"),
        (ResourceType::User, r#"externalId eq "x""#, "USING INDEX users_external_id (tenant_id=? AND external_id=?)"),
        (
            ResourceType::User,
            r#"emails.value eq "x""#,
            "USING COVERING INDEX user_emails_value (tenant_id=? AND value_lower=?)",
        ),
        (
            ResourceType::User,
            r#"emails[value eq "x"]"#,
            "USING COVERING INDEX user_emails_value (tenant_id=? AND value_lower=?)",
        ),
        (ResourceType::User, r#"displayName eq "x""#, "USING INDEX users_display_name (tenant_id=? AND <expr>=?)"),
        (ResourceType::Group, r#"id eq "x""#, "USING PRIMARY KEY (tenant_id=? AND id=?)"),
        (
            ResourceType::Group,
            r#"displayName eq "x""#,
            "USING INDEX groups_display_name (tenant_id=? AND display_name_lower=?)",
        ),
        (ResourceType::Group, r#"externalId eq "x""#, "USING INDEX groups_external_id (tenant_id=? AND external_id=?)"),
        (
            ResourceType::Group,
            r#"members.value eq "x""#,
            "USING COVERING INDEX group_members_member (tenant_id=? AND member_id=?)",
        ),
        (
            ResourceType::Group,
            r#"members[value eq "x"]"#,
            "USING COVERING INDEX group_members_member (tenant_id=? AND member_id=?)",
        ),
    ];
    for (rt, filter, expected) in cases {
        let plan = plan(&store, rt, filter).await;
        assert!(plan.contains(expected), "{filter} on {rt:?} should use `{expected}`; plan:\n{plan}");
        assert!(!plan.lines().any(|l| l.starts_with("SCAN r")), "{filter} scans the table; plan:\n{plan}");
    }
}

/// The same lookups as the server runs them: on the prepared statements of `pages`.
#[tokio::test]
async fn prepared_lookups_use_an_index() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("t.db");
    let _store = super::SqliteStore::connect(&format!("sqlite://{}", path.display())).await.expect("connect");
    let conn = rusqlite::Connection::open(&path).expect("open");
    for (rt, filter, index) in [
        (ResourceType::User, r#"id eq "x""#, "sqlite_autoindex_users_1"),
        (ResourceType::User, r#"userName eq "x""#, "users_user_name"),
        (ResourceType::User, r#"USERNAME eq "x""#, "users_user_name"),
        (ResourceType::User, r#"externalId eq "x""#, "users_external_id"),
        (ResourceType::User, r#"emails.value eq "x""#, "user_emails_value"),
        (ResourceType::Group, r#"displayName eq "x""#, "groups_display_name"),
        (ResourceType::Group, r#"externalId eq "x""#, "groups_external_id"),
    ] {
        let sql = super::pages::lookup_statement(rt, &query(filter)).expect("a prepared lookup").sql;
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).expect("explain");
        let plan: Vec<String> = stmt
            .query_map(rusqlite::params!["t", "x"], |r| r.get::<_, String>(3))
            .expect("plan")
            .collect::<Result<_, _>>()
            .expect("rows");
        let plan = plan.join("\n");
        assert!(plan.contains(index), "{filter} on {rt:?} should use {index}; plan:\n{plan}");
        assert!(!plan.lines().any(|l| l.starts_with("SCAN r")), "{filter} scans the table; plan:\n{plan}");
    }
}

/// Every SCIM create first looks for a live or archived person with the same userName or
/// externalId; without their own indexes the archived lookups scanned the tenant, and
/// creates slowed down as the tenant grew.
#[tokio::test]
async fn the_identity_lookup_before_a_create_uses_indexes() {
    let (store, _dir) = store().await;
    let sql = crate::storage::people::identity_sql::<Sqlite>("EXPLAIN QUERY PLAN ", "t", "ada", Some("E1"));
    let read = store.engine.begin_read().expect("read");
    let rows = super::conns::rows(read.conn(), &sql.build()).expect("explain");
    // EXPLAIN QUERY PLAN answers (id, parent, notused, detail).
    let plan: Vec<String> = rows.iter().map(|r| r.text(3).expect("detail").unwrap_or_default()).collect();
    let plan = plan.join("\n");
    for index in ["users_user_name", "users_external_id", "users_archived_user_name", "users_archived_external_id"] {
        assert!(plan.contains(&format!("USING INDEX {index} ")), "{index}: {plan}");
    }
    assert!(!plan.contains("USING PRIMARY KEY (tenant_id=?)\n") && !plan.contains("SCAN users"), "{plan}");
}

/// The lifecycle's lookups by person (links, grants, the audit log) use their secondary
/// indexes, not the primary key's tenant prefix, thanks to the planner hints written at start.
#[tokio::test]
async fn lookups_by_person_use_their_indexes() {
    let (store, _dir) = store().await;
    for (sql, index) in [
        (
            "UPDATE person_links SET used_at = 'x' WHERE tenant_id = 't' AND user_id = 'u' AND purpose = 'p' \
             AND used_at IS NULL",
            "person_links_user",
        ),
        ("SELECT * FROM project_members WHERE tenant_id = 't' AND user_id = 'u'", "project_members_user"),
        ("SELECT * FROM audit_log WHERE tenant_id = 't' AND user_id = 'u' ORDER BY at DESC", "audit_log_user"),
        ("SELECT 1 FROM group_members WHERE tenant_id = 't' AND member_id = 'u'", "group_members_member"),
    ] {
        let plan = query_plan(&store.reader, sql).await;
        assert!(plan.contains(index), "{sql}\nshould use {index}; plan:\n{plan}");
    }
}

#[tokio::test]
async fn an_index_page_skips_over_index_entries_not_records() {
    let (store, _dir) = store().await;
    let sql = format!("EXPLAIN QUERY PLAN {}", super::pages::offset_page(ResourceType::User));
    let rows = sqlx::query(&sql).bind("t").bind(100).bind(5000).fetch_all(&store.reader).await.expect("explain");
    let plan = rows.iter().map(|r| r.get::<String, _>("detail")).collect::<Vec<_>>().join("\n");
    assert!(plan.contains("SEARCH i USING COVERING INDEX users_live_order (tenant_id=?)"), "{plan}");
    assert!(plan.contains("SEARCH r USING INDEX sqlite_autoindex_users_1 (tenant_id=? AND id>?)"), "{plan}");
}
