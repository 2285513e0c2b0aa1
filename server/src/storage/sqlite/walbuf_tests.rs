//! The writer's WAL frames, gathered by `walbuf`: every answered write is in the WAL file
//! for other connections (which read it through SQLite's own VFS), a transaction that
//! outgrows the writer's cache (frames written before the commit, some rewritten in place)
//! reads back whole, also from a copy of the files on disk (recovery checks every frame's
//! checksum), and a commit reaches the file in a few writes rather than two a frame.

use futures_util::future::join_all;
use rusqlite::{Connection, OpenFlags};

use super::engine::{sqlite_error, Engine};
use super::test_support::insert_padded;
use super::walbuf;

/// A connection of another kind than the writer's: SQLite's default VFS, read-only.
fn outsider(db: &std::path::Path) -> Connection {
    Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open")
}

/// The rows of `t`.
fn rows(conn: &Connection) -> i64 {
    conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).expect("count")
}

/// The rows of `t`, and those of them whose value is `changed`.
fn rows_and_changed(conn: &Connection) -> (i64, i64) {
    conn.query_row("SELECT count(*), count(*) FILTER (WHERE v = 'changed') FROM t", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("counts")
}

fn engine() -> (Engine, tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("t.db");
    let setup = Connection::open(&db).expect("create");
    setup
        .execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL);")
        .expect("schema");
    drop(setup);
    let (engine, _) = Engine::open_without_checkpointer(&db).expect("engine");
    (engine, dir, db)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answered_write_is_in_the_wal_for_other_connections() {
    let (engine, _dir, db) = engine();
    let reader = outsider(&db);
    for i in 1..=50_i64 {
        engine
            .write(move |c| c.execute("INSERT INTO t (v) VALUES (?1)", [format!("row {i}")]).map_err(sqlite_error))
            .await
            .expect("write");
        assert_eq!(rows(&reader), i, "write {i} is visible as soon as it is answered");
    }
    // Concurrent writes share commits; each answered one is there.
    let writes = (0..40).map(|i| {
        engine.write(move |c| c.execute("INSERT INTO t (v) VALUES (?1)", [format!("many {i}")]).map_err(sqlite_error))
    });
    assert!(join_all(writes).await.iter().all(Result::is_ok));
    assert_eq!(rows(&reader), 90);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_larger_than_the_writers_cache_reads_back_whole() {
    let (engine, _dir, db) = engine();
    // About 24 MB in one write, past the writer's 16 MiB cache: SQLite writes frames to the
    // WAL before the commit, and rewrites in place those of pages changed again.
    engine
        .write(|c| {
            insert_padded(c, 24_000, 1000)?;
            c.execute("UPDATE t SET v = 'changed' WHERE id % 100 = 0", []).map_err(sqlite_error)?;
            Ok(())
        })
        .await
        .expect("large write");
    let reader = outsider(&db);
    assert_eq!(rows_and_changed(&reader), (24_000, 240));
    let check: String = reader.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("check");
    assert_eq!(check, "ok");
    drop(reader);

    // The WAL as it is on disk, copied while the engine holds it open: opening the copy
    // recovers it frame by frame, checksums included (SQLite rewrites the headers of a
    // transaction's frames when it changed a page it had already written), and stops at the
    // first frame that does not check out.
    let copy = tempfile::tempdir().expect("temp dir");
    std::fs::copy(&db, copy.path().join("t.db")).expect("copy the database");
    std::fs::copy(db.with_extension("db-wal"), copy.path().join("t.db-wal")).expect("copy the WAL");
    let recovered = Connection::open(copy.path().join("t.db")).expect("open the copy");
    assert_eq!(rows_and_changed(&recovered), (24_000, 240), "the copy recovers every committed frame");
    drop(recovered);

    // Reopened (the WAL read back from the file, as after a restart): the same.
    drop(engine);
    assert_eq!(rows(&outsider(&db)), 24_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_reaches_the_wal_file_in_a_few_writes() {
    let (engine, _dir, db) = engine();
    let before = walbuf::wal_writes(&db);
    // One commit of about 100 pages: two writes a frame would be some 200.
    engine.write(|c| insert_padded(c, 400, 1000)).await.expect("write");
    let writes = walbuf::wal_writes(&db) - before;
    assert!((1..=6).contains(&writes), "{writes} writes to the WAL");
    assert_eq!(rows(&outsider(&db)), 400);
}
