//! The SQLite engine under the resource hot paths: one writer thread that commits
//! concurrent writes together (group commit), and a few reader threads, each owning a
//! rusqlite connection with its prepared statements cached.
//!
//! Why not sqlx here: its SQLite driver sends every statement over a channel to a worker
//! thread and back, 70-110 µs a statement on this kind of machine, and one transaction per
//! request caps single-row writes at 5,000-8,000/s. rusqlite calls SQLite directly (a
//! prepared lookup costs a few µs) and links the same `libsqlite3-sys` as sqlx, so both
//! drivers share one SQLite library and one database file; sqlx keeps the migrations, the
//! tokens and tenants, and the dynamic list queries built with `QueryBuilder`.
//!
//! A write is a closure run on the writer's connection inside a transaction. The writer
//! takes every job queued, opens one transaction, runs each job inside its own SAVEPOINT
//! (a failing job is rolled back to it and fails alone), commits once, and only then
//! answers every job: an acknowledged write is a committed write.
//!
//! A new write use case is one closure given to [`Engine::write`]: it gets the writer's
//! `&rusqlite::Connection`, already inside the transaction and its savepoint, does every read
//! and write of the use case there (`conn.prepare_cached(SQL)` with `?` parameters; errors
//! through [`sqlite_error`]), and returns `Ok(value)` to keep its changes or `Err` to undo
//! them all. It must not begin, commit or roll back itself, and must not wait on anything
//! outside the database (it holds up every write queued behind it): compute before, send
//! mail after. `Err(Error::Uniqueness)` and the other domain errors travel back unchanged.
//! For example, in `SqliteStore`:
//!
//! ```ignore
//! async fn archive_user(&self, tenant: &TenantId, id: &str) -> Result<()> {
//!     let (tenant, id) = (tenant.clone(), id.to_owned());
//!     self.engine.write(move |conn| lifecycle::archive(conn, &tenant, &id, now())).await
//! }
//! ```

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::oneshot;

use crate::domain::{Error, Result};

/// The most writes committed in one transaction: bounds how long the first of them waits.
const MAX_BATCH: usize = 512;
/// Statements kept prepared per connection (the hot paths use a few dozen).
const STATEMENT_CACHE: usize = 128;

/// Called once the batch a job ran in is committed (`true`) or rolled back (`false`).
type Done = Box<dyn FnOnce(bool) + Send>;
/// A write: runs on the writer's connection, says whether it succeeded and how to answer.
type WriteJob = Box<dyn FnOnce(&Connection) -> (bool, Done) + Send>;
type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

/// How often the checkpointer moves committed pages from the WAL into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

pub struct Engine {
    /// Tells this engine's thread-local reader connections from another engine's.
    id: u64,
    path: PathBuf,
    writer: mpsc::Sender<WriteJob>,
    readers: mpsc::Sender<ReadJob>,
    /// Dropped with the engine, which stops the checkpointer.
    _checkpointer: mpsc::Sender<()>,
}

impl Engine {
    /// Opens the writer and `readers` reader connections on the (already migrated) file.
    pub fn open(path: &Path, readers: usize) -> Result<Self> {
        let writer_conn = open(path, false)?;
        // The writer never checkpoints (a checkpoint writes and syncs the database file, a
        // stall of tens of milliseconds for every write queued behind it): the checkpointer
        // thread does, beside it, without blocking it.
        writer_conn.execute_batch("PRAGMA wal_autocheckpoint = 0;").map_err(sqlite_error)?;
        let (writer, jobs) = mpsc::channel::<WriteJob>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || write_loop(&writer_conn, &jobs))
            .map_err(|e| Error::Storage(Box::new(e)))?;
        let checkpoint_conn = open(path, false)?;
        let (checkpointer, stop) = mpsc::channel::<()>();
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        let wal = PathBuf::from(wal);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY) {
                    checkpoint(&checkpoint_conn, &wal);
                }
            })
            .map_err(|e| Error::Storage(Box::new(e)))?;
        let (reader_tx, reader_rx) = mpsc::channel::<ReadJob>();
        let reader_rx = Arc::new(Mutex::new(reader_rx));
        for n in 0..readers.max(1) {
            let conn = open(path, true)?;
            let jobs = reader_rx.clone();
            std::thread::Builder::new()
                .name(format!("sqlite-reader-{n}"))
                .spawn(move || loop {
                    let job = {
                        let jobs = jobs.lock().unwrap_or_else(|e| e.into_inner());
                        jobs.recv()
                    };
                    match job {
                        Ok(job) => {
                            let _ = catch_unwind(AssertUnwindSafe(|| job(&conn)));
                        }
                        Err(_) => return,
                    }
                })
                .map_err(|e| Error::Storage(Box::new(e)))?;
        }
        let id = NEXT_ENGINE.fetch_add(1, Ordering::Relaxed);
        Ok(Self { id, path: path.to_owned(), writer, readers: reader_tx, _checkpointer: checkpointer })
    }

    /// Runs `f` in the writer's transaction (in a savepoint of its own) and answers its
    /// result once that transaction is committed. An error from `f` undoes only `f`'s changes.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<T>>();
        let job: WriteJob = Box::new(move |conn| {
            let result = f(conn);
            let ok = result.is_ok();
            let done: Done = Box::new(move |committed| {
                let answer = match result {
                    Ok(_) if !committed => Err(Error::Storage("the transaction could not be committed".into())),
                    other => other,
                };
                let _ = tx.send(answer);
            });
            (ok, done)
        });
        self.writer.send(job).map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    /// Runs `f` right here, on a read-only connection owned by the calling thread (the async
    /// runtime's worker): for point reads of a few µs, where handing the work to a reader
    /// thread and back would cost two context switches, more than the read itself. Never
    /// for anything that may scan: that would hold up every task of this worker.
    pub fn read_here<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        LOCAL_READERS.with(|cell| {
            let mut conns = cell.borrow_mut();
            let at = match conns.iter().position(|(id, _)| *id == self.id) {
                Some(at) => at,
                None => {
                    // A thread serves one engine in the server; tests make many.
                    if conns.len() >= MAX_LOCAL_READERS {
                        conns.remove(0);
                    }
                    conns.push((self.id, open(&self.path, true)?));
                    conns.len() - 1
                }
            };
            f(&conns[at].1)
        })
    }

    /// Runs `f` on a reader connection (one read transaction when `f` opens one).
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<T>>();
        self.readers
            .send(Box::new(move |conn| {
                let _ = tx.send(f(conn));
            }))
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }
}

static NEXT_ENGINE: AtomicU64 = AtomicU64::new(0);
const MAX_LOCAL_READERS: usize = 4;

thread_local! {
    static LOCAL_READERS: RefCell<Vec<(u64, Connection)>> = const { RefCell::new(Vec::new()) };
}

fn stopped() -> Error {
    Error::Storage("the SQLite engine has stopped".into())
}

fn open(path: &Path, read_only: bool) -> Result<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags).map_err(sqlite_error)?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(sqlite_error)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // WAL is a property of the file (set by the migrating connection); these are per connection.
    // NORMAL in WAL mode: a commit survives a crash of the process.
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;").map_err(sqlite_error)?;
    if read_only {
        // Readers are many (a few threads, plus one per runtime worker) and the OS caches the
        // file anyway: a smaller page cache each keeps the server's memory down.
        conn.execute_batch("PRAGMA cache_size = -512;").map_err(sqlite_error)?;
    }
    Ok(conn)
}

/// PASSIVE checkpoints copy what no reader still needs and never wait for anyone, but under
/// constant reads and writes the WAL is never restarted and grows without bound (2 GB in a
/// benchmark). Past `WAL_LIMIT` a TRUNCATE checkpoint waits for the readers of older frames
/// to finish (and holds writers meanwhile: milliseconds) and empties it.
fn checkpoint(conn: &Connection, wal: &Path) {
    let large = std::fs::metadata(wal).map(|m| m.len() > WAL_LIMIT).unwrap_or(false);
    let sql = if large { "PRAGMA wal_checkpoint(TRUNCATE)" } else { "PRAGMA wal_checkpoint(PASSIVE)" };
    if let Err(e) = conn.query_row(sql, [], |_| Ok(())) {
        tracing::warn!(error = %e, "WAL checkpoint failed");
    }
}

/// The WAL size past which the checkpointer empties it.
const WAL_LIMIT: u64 = 64 * 1024 * 1024;

/// The writer: batch what is queued, one transaction, a savepoint per job, commit, answer.
fn write_loop(conn: &Connection, jobs: &mpsc::Receiver<WriteJob>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            tracing::error!(error = %e, "cannot begin a write transaction");
            // Each job's sender is dropped unanswered: its caller gets a storage error.
            continue;
        }
        let mut done = Vec::with_capacity(batch.len());
        for job in batch {
            if conn.execute_batch("SAVEPOINT job").is_err() {
                continue;
            }
            let outcome = catch_unwind(AssertUnwindSafe(|| job(conn)));
            let ok = matches!(outcome, Ok((true, _)));
            let undo = if ok { "RELEASE job" } else { "ROLLBACK TO job; RELEASE job" };
            if let Err(e) = conn.execute_batch(undo) {
                tracing::error!(error = %e, "cannot close a savepoint");
            }
            if let Ok((ok, answer)) = outcome {
                done.push((ok, answer));
            }
        }
        let committed = match conn.execute_batch("COMMIT") {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, "cannot commit a write transaction");
                let _ = conn.execute_batch("ROLLBACK");
                false
            }
        };
        for (_, answer) in done {
            answer(committed);
        }
    }
}

/// Maps a rusqlite error to the domain, as `storage::db_error` does for sqlx: unique
/// violations are conflicts, the rest is internal and keeps its cause for the log.
pub fn sqlite_error(e: rusqlite::Error) -> Error {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            Error::Uniqueness("a resource with the same unique attribute already exists".into())
        }
        _ => Error::Storage(Box::new(e)),
    }
}

/// The database file named by a `sqlite:` URL.
pub fn file_of(options: &sqlx::sqlite::SqliteConnectOptions) -> PathBuf {
    options.get_filename().to_path_buf()
}
