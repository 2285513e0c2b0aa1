//! The writer's group commit: writes queued together commit together, each fails alone
//! (its savepoint is rolled back, half of it never stays), and an answered write is committed.

use futures_util::future::join_all;
use serde_json::json;

use crate::domain::normalize::MemberRef;
use crate::domain::resource::{ListQuery, NewResource, TenantId};
use crate::domain::schema::ResourceType;
use crate::domain::store::Store;
use crate::domain::Error;

use super::SqliteStore;

fn named(key: &str, name: &str, members: Option<Vec<MemberRef>>) -> NewResource {
    NewResource { data: json!({ key: name }).as_object().cloned().unwrap_or_default(), members }
}

fn everything() -> ListQuery {
    ListQuery {
        filter: None,
        sort: None,
        start_index: 1,
        count: 1000,
        with_relations: false,
        keyset: None,
        count_total: true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_commit_together_and_fail_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = SqliteStore::connect(&url).await.expect("connect");
    let tenant: TenantId = store.create_tenant("t").await.expect("tenant").id;
    store.create(&tenant, ResourceType::User, named("userName", "taken", None), None).await.expect("first");

    // Sixty creates in flight at once: the writer takes them in a few batches. Every third
    // clashes on userName; one group names a member that does not exist, after its own row
    // was already inserted in the batch's transaction.
    let users = (0..60).map(|i| {
        let name = if i % 3 == 0 { "taken".to_owned() } else { format!("u{i}") };
        store.create(&tenant, ResourceType::User, named("userName", &name, None), None)
    });
    let ghost = MemberRef { value: "no-such-id".into(), kind: None, display: None };
    let group = store.create(&tenant, ResourceType::Group, named("displayName", "g", Some(vec![ghost])), None);
    let (results, group) = futures_util::join!(join_all(users), group);
    assert_eq!(results.iter().filter(|r| matches!(r, Err(Error::Uniqueness(_)))).count(), 20);
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 40);
    assert!(matches!(group, Err(Error::InvalidValue(_))), "{group:?}");

    // Answered means committed: a second store on the file (as a restarted server would
    // open it) sees every acknowledged write, and nothing of the failed group.
    let reopened = SqliteStore::connect(&url).await.expect("reopen");
    let users = reopened.list(&tenant, ResourceType::User, &everything()).await.expect("users");
    assert_eq!(users.total, 41);
    let groups = reopened.list(&tenant, ResourceType::Group, &everything()).await.expect("groups");
    assert_eq!(groups.total, 0, "the group's row was rolled back with its savepoint");
}

/// A write counts as under way (the committer holds a commit back for it) from the moment it
/// asks for the writer until it lets go: one given up while it waited, or rolled back, no
/// longer counts, so later commits are not held back for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_given_up_or_done_are_no_longer_under_way() {
    let (store, _dir) = super::test_support::store().await;
    let engine = &store.engine;
    let held = engine.begin_write().await.expect("the writer");
    assert_eq!(engine.under_way(), 1);
    {
        let waiting = engine.begin_write();
        tokio::pin!(waiting);
        let outcome = tokio::time::timeout(std::time::Duration::from_millis(20), &mut waiting).await;
        assert!(outcome.is_err(), "the writer is held: the second write waits");
        assert_eq!(engine.under_way(), 2);
    }
    assert_eq!(engine.under_way(), 1, "the write given up no longer counts");
    held.commit().await.expect("commit");
    assert_eq!(engine.under_way(), 0);
    drop(engine.begin_write().await.expect("the writer again"));
    assert_eq!(engine.under_way(), 0, "a write rolled back no longer counts");
    engine.write(|conn| conn.execute_batch("SELECT 1").map_err(super::engine::sqlite_error)).await.expect("a write");
    assert_eq!(engine.under_way(), 0);
}

/// A commit does not wait for a long queue of writes to be written: after a while in the
/// queue, the committer takes the writer from the next write that lets go of it. (A Bulk
/// batch queues up to a thousand creates at once; the batch before it must not wait for
/// them all before its commit.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_goes_ahead_of_a_long_queue_of_writes() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    let (store, _dir) = super::test_support::store().await;
    let engine = store.engine.clone();
    let first = engine.begin_write().await.expect("the writer");
    // Forty writes queue behind it, each holding the writer for 20 ms once it has it.
    let written = std::sync::Arc::new(AtomicUsize::new(0));
    let queued: Vec<_> = (0..40)
        .map(|_| {
            let (engine, written) = (engine.clone(), written.clone());
            tokio::spawn(async move {
                let tx = engine.begin_write().await.expect("the writer, in turn");
                tokio::time::sleep(Duration::from_millis(20)).await;
                written.fetch_add(1, Ordering::SeqCst);
                tx.commit().await.expect("a queued write is committed");
            })
        })
        .collect();
    while engine.under_way() < 41 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    first.commit().await.expect("the first write is committed");
    let before = written.load(Ordering::SeqCst);
    assert!(before < 20, "the first write's commit waited for {before} of the 40 writes queued behind it");
    for write in queued {
        write.await.expect("a queued write");
    }
    assert_eq!(engine.under_way(), 0);
}

/// A write released while another is in line leaves the commit to it; when that one is
/// rolled back instead, or given up while it waited, the committer commits the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_followers_fail_is_still_committed() {
    use std::time::Duration;

    let (store, _dir) = super::test_support::store().await;
    let engine = store.engine.clone();
    for follower_gets_the_writer in [true, false] {
        let first = engine.begin_write().await.expect("the writer");
        let table = format!("kept_{follower_gets_the_writer}");
        first.conn().execute_batch(&format!("CREATE TABLE {table} (n INTEGER)")).expect("a change");
        let follower = {
            let engine = engine.clone();
            tokio::spawn(async move {
                let waiting = engine.begin_write();
                if follower_gets_the_writer {
                    // Rolled back once it has the writer.
                    drop(waiting.await.expect("the writer, in turn"));
                } else {
                    // Given up while it waited.
                    let _ = tokio::time::timeout(Duration::from_millis(30), waiting).await;
                }
            })
        };
        while engine.under_way() < 2 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let committed = tokio::time::timeout(Duration::from_secs(5), first.commit()).await;
        committed.expect("answered, not left waiting").expect("committed");
        follower.await.expect("the follower");
        let found: i64 = engine
            .read(move |conn| {
                conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
                    .map_err(super::engine::sqlite_error)
            })
            .await
            .expect("the table is there for a reader");
        assert_eq!(found, 0);
    }
    assert_eq!(engine.under_way(), 0);
}

/// A write that finds the write lock held by another connection waits for it without
/// holding up its runtime: here the only thread, on which the holder lets go. In SQLite's
/// busy handler it would sleep on that thread until the busy timeout, and fail.
#[tokio::test(flavor = "current_thread")]
async fn a_write_waits_for_another_connections_lock_without_blocking_its_runtime() {
    let (store, dir) = super::test_support::store().await;
    let tenant: TenantId = store.create_tenant("t").await.expect("tenant").id;
    let other = rusqlite::Connection::open(dir.path().join("t.db")).expect("another connection");
    other.execute_batch("BEGIN IMMEDIATE").expect("the other connection takes the write lock");
    let started = std::time::Instant::now();
    let write = store.create(&tenant, ResourceType::User, named("userName", "waited", None), None);
    let release = async {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        other.execute_batch("COMMIT").expect("the other connection lets go");
    };
    let (created, ()) = futures_util::join!(write, release);
    created.expect("the write waited for the lock, then went through");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "it waited for the holder, not a timeout");
    let users = store.list(&tenant, ResourceType::User, &everything()).await.expect("users");
    assert_eq!(users.total, 1);
}

/// The WAL's salts (bytes 16..24 of its header) change each time a write starts it over.
fn wal_salts(db: &std::path::Path) -> Vec<u8> {
    let wal = std::fs::read(db.with_extension("db-wal")).expect("the WAL");
    wal.get(16..24).expect("a WAL header").to_vec()
}

/// Under constant writes no checkpoint catches up on its own, and the WAL would grow without
/// bound. Asked by the checkpointer, the committer copies the last frames itself after a
/// commit, and the next write starts the WAL over. Here the checkpointer never runs, so
/// nothing else could.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asked_to_the_committer_lets_the_wal_start_over() {
    let (store, dir) = super::test_support::store().await;
    drop(store);
    let db = dir.path().join("t.db");
    let (engine, restart) = super::engine::Engine::open_without_checkpointer(&db).expect("engine");
    let write = |n: i64| {
        engine.write(move |conn| {
            conn.execute_batch("CREATE TABLE IF NOT EXISTS scratch (n INTEGER)")
                .map_err(super::engine::sqlite_error)?;
            conn.execute("INSERT INTO scratch (n) VALUES (?1)", [n]).map(drop).map_err(super::engine::sqlite_error)
        })
    };
    for n in 0..20 {
        write(n).await.expect("a write");
    }
    let before = wal_salts(&db);
    write(20).await.expect("a write");
    write(21).await.expect("a write");
    assert_eq!(wal_salts(&db), before, "unasked, the WAL goes on growing");
    restart.store(true, std::sync::atomic::Ordering::Release);
    write(22).await.expect("the write after which the committer checkpoints");
    write(23).await.expect("the write that starts the WAL over");
    assert_ne!(wal_salts(&db), before, "the WAL started over");
    let kept: i64 = engine
        .read(|conn| {
            conn.query_row("SELECT count(*) FROM scratch", [], |r| r.get(0)).map_err(super::engine::sqlite_error)
        })
        .await
        .expect("count");
    assert_eq!(kept, 24, "every write is kept");
}

/// A write whose sub-journal is large (2 MB here; a spill of it to a file of 512 KiB once
/// failed with SQLITE_FULL, see `Engine::open_with`) still fails alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_with_a_large_sub_journal_still_fails_alone() {
    use super::engine::{sqlite_error, Engine};

    let (store, dir) = super::test_support::store().await;
    drop(store);
    let (engine, _) = Engine::open_without_checkpointer(&dir.path().join("t.db")).expect("engine");
    engine
        .write(|c| {
            c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)").map_err(sqlite_error)?;
            super::test_support::insert_padded(c, 4000, 500)
        })
        .await
        .expect("rows");
    // Every page of the table (about 2 MB) goes to the sub-journal before the write fails.
    let failed = engine
        .write(|c| {
            let changed = c.execute("UPDATE t SET v = 'changed'", []).map_err(sqlite_error)?;
            assert_eq!(changed, 4000);
            Err::<(), _>(Error::InvalidValue("refused after the update".into()))
        })
        .await;
    assert!(matches!(failed, Err(Error::InvalidValue(_))), "{failed:?}");
    engine.write(|c| c.execute("INSERT INTO t (v) VALUES ('after')", []).map_err(sqlite_error)).await.expect("after");
    let counts = engine
        .read_here(|c| {
            c.query_row("SELECT count(*), count(*) FILTER (WHERE v = 'changed') FROM t", [], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })
            .map_err(sqlite_error)
        })
        .expect("counts");
    assert_eq!(counts, (4001, 0));
}

#[test]
fn the_vfs_is_read_from_the_url() {
    use std::str::FromStr;

    use super::engine::DbFile;
    let vfs = |url: &str| {
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).expect("url");
        DbFile::of(url, &options).vfs
    };
    assert_eq!(vfs("sqlite://scim.db?vfs=unix-excl").as_deref(), Some("unix-excl"));
    assert_eq!(vfs("sqlite:///var/lib/scim.db?mode=rwc&vfs=unix-excl").as_deref(), Some("unix-excl"));
    assert_eq!(vfs("sqlite://scim.db"), None);
    assert_eq!(vfs("sqlite://scim.db?vfs="), None);
    assert_eq!(vfs("sqlite://scim.db?mode=rwc"), None);
}

/// With `?vfs=unix-excl` the server holds the file's lock while it runs and keeps the WAL
/// index in memory: no `-shm` file appears. (Connections of one process share the lock, so a
/// connection on the default VFS would not show here; the engine is given the VFS all the
/// same, so that it never depends on which connection locked the file first.) The data is
/// the same file's: a server started later without the VFS reads it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exclusive_server_opens_every_connection_through_its_vfs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("t.db");
    let shm = dir.path().join("t.db-shm");
    let store = SqliteStore::connect(&format!("sqlite://{}?vfs=unix-excl", file.display())).await.expect("connect");
    let tenant: TenantId = store.create_tenant("t").await.expect("tenant").id;
    let created =
        store.create(&tenant, ResourceType::User, named("userName", "ann", None), None).await.expect("create");
    let read = store.get(&tenant, ResourceType::User, &created.id, false).await.expect("get").expect("found");
    assert_eq!(read.data.get("userName"), Some(&json!("ann")));
    assert!(!shm.exists(), "the WAL index is in memory");
    drop(store);

    let shared = SqliteStore::connect(&format!("sqlite://{}", file.display())).await.expect("reopen");
    let users = shared.list(&tenant, ResourceType::User, &everything()).await.expect("users");
    assert_eq!(users.total, 1);
    assert!(shm.exists(), "the default VFS keeps its WAL index in the -shm file");
}

/// Before the committer is asked to start the WAL over (holding every write while it copies
/// what is left), the checkpointer copies pass after pass: what the committer would find then
/// is only what was committed during the last, short pass. With nothing written meanwhile,
/// that is nothing.
#[test]
fn catching_up_leaves_the_committer_nothing_to_copy() {
    use super::engine::{catch_up, RESTART_TAIL_FRAMES};

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("c.db");
    let writer = rusqlite::Connection::open(&path).expect("writer");
    writer
        .execute_batch("PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (v BLOB NOT NULL);")
        .expect("schema");
    // A commit of one 3,000-byte row writes a frame or two: well past the tail.
    for _ in 0..1500 {
        writer.execute("INSERT INTO t (v) VALUES (zeroblob(3000))", []).expect("insert");
    }
    let checkpointer = rusqlite::Connection::open(&path).expect("checkpointer");
    let in_use = catch_up(&checkpointer, 0).expect("catch up");
    assert!(in_use > RESTART_TAIL_FRAMES, "{in_use} frames");

    let (now, copied): (i64, i64) = checkpointer
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get(1)?, r.get(2)?)))
        .expect("checkpoint");
    assert_eq!((now, copied), (in_use, in_use), "every frame copied, none left for the committer");
}
