//! The e2e suite on PostgreSQL: every module of `tests/e2e` (included, not copied, so a test
//! added there runs on both databases), each test on a fresh PostgreSQL database, plus the
//! checks that only make sense on PostgreSQL. Without a reachable PostgreSQL the suite
//! runs on SQLite and says loudly that PostgreSQL was skipped (see `rollcall_tests::postgres`).

#[path = "../e2e/main.rs"]
mod e2e;

mod migrate_data;
mod plans;
mod replicas;
mod schema;
