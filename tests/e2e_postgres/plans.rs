//! Proof that the equality lookups identity providers make before every create are index
//! lookups on PostgreSQL too: `EXPLAIN` of the very query the store runs, on a tenant of a
//! few thousand people with statistics, so the planner chooses as it would in production.
//! Sequential scans are switched off as well, so that the test asks "is there a usable
//! index" rather than depending on the planner's cost estimates.

use rollcall_tests::postgres::TestDatabase;
use scim_server::domain::resource::{ListQuery, TenantId};
use scim_server::domain::schema::ResourceType;
use scim_server::protocol::filter::parse_filter;
use scim_server::storage::postgres::PgStore;
use scim_server::storage::rows::select_page;
use sqlx::{Postgres, Row};

async fn plan(conn: &mut sqlx::PgConnection, rt: ResourceType, filter: &str) -> String {
    let query = ListQuery {
        filter: Some(parse_filter(filter).expect("filter")),
        sort: None,
        start_index: 1,
        count: 100,
        with_relations: false,
        keyset: None,
        count_total: true,
    };
    let tenant = TenantId("t".into());
    let mut qb = select_page::<Postgres>("EXPLAIN ", &tenant, rt, &query).expect("query");
    let rows = qb.build().fetch_all(&mut *conn).await.expect("explain");
    rows.iter().map(|r| r.get::<String, _>(0)).collect::<Vec<_>>().join("\n")
}

#[tokio::test]
async fn equality_filters_use_an_index() {
    let Some(db) = TestDatabase::create().await else { return };
    let store = PgStore::connect(&db.url).await.expect("connect");
    let mut conn = store.pool().acquire().await.expect("connection");
    sqlx::raw_sql(
        "INSERT INTO tenants VALUES ('t', 't', '2026-01-01T00:00:00.000000Z'); \
         INSERT INTO users SELECT 't', 'u' || i, 'user' || i, 'user' || i, 'ext' || i, true, 'active', \
             json_build_object('userName', 'user' || i, 'emails', \
                 json_build_array(json_build_object('value', 'user' || i || '@example.com', 'primary', i % 100 = 0))), \
             1, '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z' FROM generate_series(1, 5000) i; \
         INSERT INTO user_emails SELECT 't', 'u' || i, 0, 'user' || i || '@example.com' FROM generate_series(1, 5000) i; \
         INSERT INTO groups SELECT 't', 'g' || i, 'group' || i, 'group' || i, 'ext' || i, '{}', 1, \
             '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z' FROM generate_series(1, 500) i; \
         INSERT INTO group_members SELECT 't', 'g' || (i % 500 + 1), 'u' || i, 'User', NULL, NULL \
             FROM generate_series(1, 5000) i; \
         ANALYZE; \
         SET enable_seqscan = off;",
    )
    .execute(&mut *conn)
    .await
    .expect("fill the tenant");
    let cases = [
        (ResourceType::User, r#"id eq "x""#, "users_pkey"),
        (ResourceType::User, r#"userName eq "x""#, "users_user_name"),
        (ResourceType::User, r#"externalId eq "x""#, "users_external_id"),
        (ResourceType::User, r#"emails.value eq "x""#, "user_emails_value"),
        (ResourceType::User, r#"emails[value eq "x"]"#, "user_emails_value"),
        // Booleans, numbers and case-exact strings inside the document: the GIN index.
        (ResourceType::User, r#"emails[primary eq true]"#, "users_data"),
        (ResourceType::User, r#"displayName eq "x""#, "users_display_name"),
        (ResourceType::Group, r#"id eq "x""#, "groups_pkey"),
        (ResourceType::Group, r#"displayName eq "x""#, "groups_display_name"),
        (ResourceType::Group, r#"externalId eq "x""#, "groups_external_id"),
        (ResourceType::Group, r#"members.value eq "x""#, "group_members_member"),
        (ResourceType::Group, r#"members[value eq "x"]"#, "group_members_member"),
    ];
    for (rt, filter, index) in cases {
        let plan = plan(&mut conn, rt, filter).await;
        assert!(
            plan.contains(&format!("using {index}")) || plan.contains(&format!("on {index}")),
            "{filter} on {rt:?} should use {index}; plan:\n{plan}"
        );
        assert!(!plan.contains("Seq Scan"), "{filter} scans a table; plan:\n{plan}");
    }
}
