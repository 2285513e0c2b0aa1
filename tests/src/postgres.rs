//! PostgreSQL for the tests: a fresh database per test on the server named by
//! `ROLLCALL_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`, a
//! user allowed to create databases), dropped when the test ends.
//!
//! The `e2e_postgres` test binary runs the whole e2e suite this way. When no PostgreSQL
//! answers, that binary says so loudly on stderr and its tests run on SQLite instead, so
//! `cargo test --workspace` still passes on a machine without PostgreSQL; set
//! `ROLLCALL_TEST_REQUIRE_POSTGRES=1` (CI does) to fail instead. `ROLLCALL_TEST_DATABASE`
//! (`sqlite` or `postgres`) overrides the choice for any test binary.

use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use sqlx::{Connection, Executor, PgConnection};

pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The name of the test binary that runs the e2e suite on PostgreSQL.
pub const SUITE_BINARY: &str = "e2e_postgres";

/// The server URL the tests use (a database on it to connect to for administration).
pub fn admin_url() -> String {
    std::env::var("ROLLCALL_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// A database created for one test and dropped (connections and all) when this is dropped.
pub struct TestDatabase {
    /// The URL to give the server.
    pub url: String,
    name: String,
    admin_url: String,
}

impl TestDatabase {
    /// Creates an empty database; `None` when PostgreSQL does not answer.
    pub async fn create() -> Option<Self> {
        if !reachable().await {
            return None;
        }
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let name = format!("rollcall_test_{}_{}_{nanos}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let admin_url = admin_url();
        let mut admin = PgConnection::connect(&admin_url).await.expect("connect to PostgreSQL");
        // The name is ours (digits and underscores), never input.
        admin.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("create test database");
        let _ = admin.close().await;
        Some(Self { url: with_database(&admin_url, &name), name, admin_url })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot block on itself: use a thread
        // with its own runtime. FORCE ends the pools that still hold connections.
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await?;
                admin.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await?;
                admin.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            let _ = writeln!(std::io::stderr(), "warning: could not drop test database {}", self.name);
        }
    }
}

/// `url` with its database name replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[authority_start..].find('/').map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// Whether the PostgreSQL server answers (asked once per test binary). Panics instead of
/// answering no when `ROLLCALL_TEST_REQUIRE_POSTGRES=1`.
pub async fn reachable() -> bool {
    let up = check_once().await;
    let required = std::env::var("ROLLCALL_TEST_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    assert!(up || !required, "ROLLCALL_TEST_REQUIRE_POSTGRES=1 but PostgreSQL at {} is unreachable", admin_url());
    up
}

async fn check_once() -> bool {
    static REACHABLE: OnceLock<bool> = OnceLock::new();
    if let Some(known) = REACHABLE.get() {
        return *known;
    }
    let url = admin_url();
    let attempt = tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(&url)).await;
    let result = match attempt {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            Ok(())
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer within 5 s".to_owned()),
    };
    let up = result.is_ok();
    if REACHABLE.set(up).is_ok() {
        if let Err(why) = &result {
            skipped(&url, why);
        }
    }
    up
}

/// Says, once and past the test harness's output capture, that PostgreSQL was not used.
fn skipped(url: &str, why: &str) {
    let message = format!(
        "\n\
         ====================================================================\n\
         PostgreSQL suite SKIPPED: cannot connect to {url}\n  ({why})\n\
         The e2e_postgres tests ran on SQLite instead; the PostgreSQL-only\n\
         tests (schema parity, plans, replicas) did nothing.\n\
         To run it: start PostgreSQL (user `postgres`, trust auth, on\n\
         127.0.0.1:5432) or set ROLLCALL_TEST_POSTGRES_URL=postgres://USER@HOST:PORT/DB\n\
         (a user that may CREATE DATABASE), then:\n\
         \x20   cargo test -p rollcall-tests --test e2e_postgres\n\
         ====================================================================\n"
    );
    // Written to the process's stderr directly: libtest captures eprintln! of passing tests.
    let _ = std::io::stderr().write_all(message.as_bytes());
}

/// Whether this test binary runs the e2e suite on PostgreSQL.
fn suite_on_postgres() -> bool {
    match std::env::var("ROLLCALL_TEST_DATABASE").as_deref() {
        Ok("postgres") => true,
        Ok("sqlite") => false,
        _ => std::env::current_exe()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .is_some_and(
                // Cargo names test binaries `<target>-<hash>`.
                |name| name.starts_with(&format!("{SUITE_BINARY}-")) || name == SUITE_BINARY,
            ),
    }
}

/// A fresh PostgreSQL database when this binary runs the suite on PostgreSQL and PostgreSQL
/// answers; `None` means SQLite.
pub(crate) async fn fresh_database_for_suite() -> Option<TestDatabase> {
    if !suite_on_postgres() {
        return None;
    }
    TestDatabase::create().await
}
