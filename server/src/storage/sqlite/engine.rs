//! The SQLite engine under every hot path: one writer connection that commits concurrent
//! writes together (group commit), and reader connections with their prepared statements
//! cached.
//!
//! Why not sqlx here: its SQLite driver sends every statement over a channel to a worker
//! thread and back, 70-110 µs a statement on this kind of machine, and one transaction per
//! request caps single-row writes at 5,000-8,000/s. rusqlite calls SQLite directly (a
//! prepared lookup costs a few µs) and links the same `libsqlite3-sys` as sqlx, so both
//! drivers share one SQLite library and one database file; sqlx keeps the migrations, the
//! tokens and tenants, and the dynamic list queries built with `QueryBuilder`.
//!
//! Writes: a [`WriteTx`] holds the writer connection (an async mutex, taken in turn) inside
//! the transaction that is open at that moment, in a SAVEPOINT of its own. Its statements
//! run right there, on the caller's thread: each takes a few µs and none waits on anything
//! but SQLite. [`WriteTx::commit`] releases the savepoint and, while other writes are in
//! line for the writer, hands the connection to the next one without committing. The write
//! that finds none in line behind it (or the first released one waiting for 10 ms) commits
//! everything released so far in one transaction, right there, and only then is each of them
//! answered: an acknowledged write is a committed write, and under load one commit covers
//! many writes. The committer thread commits what the writes leave uncommitted (the writes
//! in line after them failed or were given up) and lets the WAL start over (see the
//! `committer`). A writer that fails, or is dropped, rolls back to its own savepoint and
//! fails alone.
//!
//! A write use case is either a [`WriteTx`] (the lifecycle's statements through
//! `storage::people`) or a closure given to [`Engine::write`]: it gets the writer's
//! `&rusqlite::Connection`, already inside the transaction and its savepoint, does every read
//! and write of the use case there (`conn.prepare_cached(SQL)` with `?` parameters; errors
//! through [`sqlite_error`]), and returns `Ok(value)` to keep its changes or `Err` to undo
//! them all. Neither may begin, commit or roll back itself, nor wait on anything outside the
//! database while it holds the writer (every write queued behind it waits too): compute
//! before, send mail after.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{oneshot, OwnedMutexGuard};

use crate::domain::store::Place;
use crate::domain::{Error, Result};

use super::committer::{commit_loop, Handoff};
use super::walbuf;

/// Statements kept prepared per connection (the hot paths use a few dozen).
const STATEMENT_CACHE: usize = 128;
/// Idle reader connections kept; more are opened when needed, and closed when they come
/// back to a full pool. Reads never wait on anything but SQLite, so about one is in use
/// per runtime worker.
const IDLE_READERS: usize = 4;
/// The page cache of each pooled reader, in KiB: point reads of a large tenant touch pages
/// all over the file, and every miss is a `pread`. 8 MiB holds the id index's leaves and the
/// profiles of 100,000 people beside the interior pages: `get` at 100,000 users took 3-15%
/// less of the server's CPU than with 4 MiB in four alternations (7 December), for a few MB
/// more at peak (each pooled reader fills its own).
const READER_CACHE_KIB: u32 = 8192;
/// The writer's page cache, in KiB: every create updates indexes at random places
/// (userName, e-mails, the audit log's person index).
const WRITER_CACHE_KIB: u32 = 16384;
/// The page cache of each scanning reader thread, in KiB: scans read ahead from the OS.
const SCANNER_CACHE_KIB: u32 = 512;

type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

/// How often the checkpointer moves committed pages from the WAL into the database file.
/// Each checkpoint costs two syncs and copies each page changed since the last one once,
/// however often it changed: every second rather than every 250 ms, `member-add-remove` at
/// 100,000 users went from 11,600-13,800/s (p99 6.4-7.2 ms) to 13,900-15,600/s (p99
/// 5.4-5.6 ms), alternated. The WAL's length is kept by the committer's restarts, not by this.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// The writer connection and the writes done in its open transaction, not committed yet.
pub(super) struct Writer {
    pub(super) conn: Connection,
    /// Each released write's answer: `true` once its transaction is committed.
    pub(super) waiting: Vec<oneshot::Sender<bool>>,
    /// When the first of `waiting` was released.
    pub(super) since: Option<std::time::Instant>,
}

pub struct Engine {
    file: DbFile,
    writer: Arc<tokio::sync::Mutex<Writer>>,
    handoff: Arc<Handoff>,
    /// Calls the committer: a transaction has its first write waiting for the commit, or no
    /// write is under way any more while one waits.
    commit: mpsc::Sender<()>,
    readers: mpsc::Sender<ReadJob>,
    idle: Arc<Mutex<Vec<Connection>>>,
    /// Dropped with the engine, which stops the checkpointer.
    _checkpointer: mpsc::Sender<()>,
}

impl Engine {
    /// Opens the writer and `readers` reader connections on the (already migrated) file.
    pub fn open(file: DbFile, readers: usize) -> Result<Self> {
        Self::open_with(file, readers, CHECKPOINT_EVERY, Arc::new(AtomicBool::new(false)))
    }

    /// As [`Engine::open`], with the checkpointer's period (tests make it run never) and the
    /// flag by which it asks the committer to let the WAL start over (tests set it).
    fn open_with(file: DbFile, readers: usize, checkpoint_every: Duration, restart: Arc<AtomicBool>) -> Result<Self> {
        // The writer's WAL frames go out in a few writes a commit (see `walbuf`).
        let writer_conn = open(&file.buffered()?, Role::Writer)?;
        // The writer does not checkpoint after each commit (a whole checkpoint writes and
        // syncs the database file, a stall of tens of milliseconds for every write queued
        // behind it): the checkpointer thread does, beside it, and the committer only copies
        // the last frames when the WAL should start over (see `checkpoint`).
        writer_conn.execute_batch("PRAGMA wal_autocheckpoint = 0;").map_err(sqlite_error)?;
        // Each write runs in a savepoint, which copies every page it first touches to a
        // sub-journal: in memory rather than in a temporary file. In memory it grows in blocks
        // of 1 KiB, four mallocs a page (10% of a Bulk create's instructions under callgrind);
        // SQLITE_STMTJRNL_SPILL keeps it in one block instead, but of at most 124 KiB (the unix
        // VFS writes at most 0x1ffff bytes at once), and once one write of a commit outgrows it
        // every later write of that commit journals to a file: at 100,000 users, Bulk went from
        // 11.1 s to 14.3 s, its system time fourfold, alternated.
        writer_conn.execute_batch("PRAGMA temp_store = MEMORY;").map_err(sqlite_error)?;
        // A WAL started over keeps its length; past this it is cut back.
        writer_conn.execute_batch(&format!("PRAGMA journal_size_limit = {WAL_KEEP_BYTES};")).map_err(sqlite_error)?;
        // The writer waits for the write lock on a timer (see `begin_immediate`); once it
        // holds it, nothing it runs waits for another connection.
        writer_conn.busy_timeout(Duration::ZERO).map_err(sqlite_error)?;
        let writer = Arc::new(tokio::sync::Mutex::new(Writer { conn: writer_conn, waiting: Vec::new(), since: None }));
        let (commit, calls) = mpsc::channel::<()>();
        let (handoff, handed) = Handoff::new(restart.clone());
        let handoff = Arc::new(handoff);
        let committed = writer.clone();
        let wanting = handoff.clone();
        let restart_wanted = restart.clone();
        std::thread::Builder::new()
            .name("sqlite-commit".into())
            .spawn(move || commit_loop(&committed, &wanting, &handed, &calls))
            .map_err(|e| Error::Storage(Box::new(e)))?;
        let checkpoint_conn = open(&file, Role::Writer)?;
        let (checkpointer, stop) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(checkpoint_every) {
                    if checkpoint(&checkpoint_conn).is_some_and(|frames| frames >= WAL_RESTART_FRAMES) {
                        restart_wanted.store(true, Ordering::Release);
                    }
                }
            })
            .map_err(|e| Error::Storage(Box::new(e)))?;
        let (reader_tx, reader_rx) = mpsc::channel::<ReadJob>();
        let reader_rx = Arc::new(Mutex::new(reader_rx));
        for n in 0..readers.max(1) {
            let conn = open(&file, Role::Scanner)?;
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
        Ok(Self {
            file,
            writer,
            handoff,
            commit,
            readers: reader_tx,
            idle: Arc::new(Mutex::new(Vec::new())),
            _checkpointer: checkpointer,
        })
    }

    /// Takes the writer (in turn) inside the open transaction, in a savepoint of its own.
    pub async fn begin_write(&self) -> Result<WriteTx> {
        self.begin_write_in_line(None).await
    }

    /// As [`Engine::begin_write`], letting go of `place` as soon as this write has asked for
    /// the writer: it is taken in the order it is asked for, so the write is ordered from
    /// then on, and the next one of the line can queue behind it at once (letting go only
    /// once the writer was held left it idle between a Bulk request's creates: 100,000 users
    /// took 9.4 s instead of 5.9-7.2 s).
    pub async fn begin_write_in_line(&self, place: Option<Place>) -> Result<WriteTx> {
        let turn = Turn::take(&self.handoff, &self.commit);
        let mut lock = std::pin::pin!(self.writer.clone().lock_owned());
        // The first poll takes the writer or joins its queue.
        let first = futures_util::poll!(lock.as_mut());
        drop(place);
        let mut writer = match first {
            std::task::Poll::Ready(writer) => writer,
            std::task::Poll::Pending => lock.await,
        };
        if writer.conn.is_autocommit() {
            begin_immediate(&mut writer).await?;
        }
        if let Err(e) = exec(&writer.conn, "SAVEPOINT w") {
            end_if_idle(&writer);
            return Err(e);
        }
        Ok(WriteTx { writer: Some(writer), turn: Some(turn) })
    }

    /// An engine whose checkpointer never runs, and the flag to set as it would when the
    /// WAL is long (the committer then finishes the checkpoint after its next commit).
    #[cfg(test)]
    pub fn open_without_checkpointer(path: &std::path::Path) -> Result<(Self, Arc<AtomicBool>)> {
        let restart = Arc::new(AtomicBool::new(false));
        let file = DbFile { path: path.to_owned(), vfs: None };
        Ok((Self::open_with(file, 1, Duration::from_secs(24 * 3600), restart.clone())?, restart))
    }

    /// The writes holding the writer or waiting for it.
    #[cfg(test)]
    pub fn under_way(&self) -> usize {
        self.handoff.under_way()
    }

    /// Runs `f` in the writer's transaction (in a savepoint of its own) and answers its
    /// result once that transaction is committed. An error from `f` undoes only `f`'s changes.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&Connection) -> Result<T>,
    {
        self.write_in_line(None, f).await
    }

    /// As [`Engine::write`], for a write with a place in a line (see
    /// [`Engine::begin_write_in_line`]).
    pub async fn write_in_line<T, F>(&self, place: Option<Place>, f: F) -> Result<T>
    where
        F: FnOnce(&Connection) -> Result<T>,
    {
        let tx = self.begin_write_in_line(place).await?;
        let value = f(tx.conn())?;
        tx.commit().await?;
        Ok(value)
    }

    /// A read transaction on one snapshot, on a pooled reader connection of its own.
    pub fn begin_read(&self) -> Result<ReadTx> {
        let conn = self.reader()?;
        if let Err(e) = exec(&conn, "BEGIN") {
            self.give_back(conn);
            return Err(e);
        }
        Ok(ReadTx { conn: Some(conn), idle: self.idle.clone() })
    }

    /// Runs `f` right here, on a pooled read-only connection: for point reads of a few µs,
    /// where handing the work to a reader thread and back would cost two context switches,
    /// more than the read itself. Never for anything that may scan: that would hold up the
    /// runtime worker and every task queued on it.
    pub fn read_here<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.reader()?;
        let out = f(&conn);
        self.give_back(conn);
        out
    }

    /// As [`Engine::read_here`], with every statement of `f` on one snapshot: a point read
    /// of several statements (a resource and its relations) agrees with itself, and takes
    /// WAL's read locks once instead of once a statement.
    pub fn snapshot_here<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.read_here(|conn| on_snapshot(conn, f))
    }

    fn reader(&self) -> Result<Connection> {
        let pooled = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match pooled {
            Some(conn) => Ok(conn),
            None => open(&self.file, Role::Reader),
        }
    }

    fn give_back(&self, conn: Connection) {
        give_back(&self.idle, conn);
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

/// One write in the writer's open transaction (see the module's documentation).
pub struct WriteTx {
    writer: Option<OwnedMutexGuard<Writer>>,
    /// Let go of as soon as the writer is (fields drop in order).
    turn: Option<Turn>,
}

/// A write under way, from the moment it asks for the writer until it lets go of it: the
/// committer holds a commit back while there are any, so that they join it.
struct Turn {
    handoff: Arc<Handoff>,
    commit: mpsc::Sender<()>,
}

impl Turn {
    fn take(handoff: &Arc<Handoff>, commit: &mpsc::Sender<()>) -> Self {
        handoff.under_way.fetch_add(1, Ordering::AcqRel);
        Self { handoff: handoff.clone(), commit: commit.clone() }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if self.handoff.under_way.fetch_sub(1, Ordering::AcqRel) == 1 {
            // Released writes wait for a commit that no write in line will make (the writes
            // after them failed or were given up): the committer makes it.
            if self.handoff.pending() {
                let _ = self.commit.send(());
            }
        }
    }
}

impl WriteTx {
    pub fn conn(&self) -> &Connection {
        &self.writer.as_ref().expect("held until commit or drop").conn
    }

    /// Keeps this write's changes and answers once they are committed.
    pub async fn commit(mut self) -> Result<()> {
        let mut writer = self.writer.take().expect("held until commit or drop");
        let turn = self.turn.take().expect("held until commit or drop");
        if let Err(e) = exec(&writer.conn, "RELEASE w") {
            rollback(&writer);
            return Err(e);
        }
        let (answer, committed) = oneshot::channel();
        writer.waiting.push(answer);
        let first = writer.waiting.len() == 1;
        if first {
            writer.since = Some(std::time::Instant::now());
        }
        let alone = turn.handoff.under_way() == 1;
        let committed_here = turn.handoff.commit_here(&mut writer, alone);
        if !committed_here && first {
            // The first write of this transaction left waiting calls the committer, who
            // commits it if the writes after it do not.
            turn.commit.send(()).map_err(|_| stopped())?;
        }
        turn.handoff.let_go(writer);
        // No longer under way: the committer need not wait for this write.
        drop(turn);
        if committed_here && !alone {
            // The next write in line was woken into this worker's next slot, which no other
            // worker takes: without this, it would wait for this request's whole answer.
            tokio::task::yield_now().await;
        }
        match committed.await {
            Ok(true) => Ok(()),
            _ => Err(Error::Storage("the transaction could not be committed".into())),
        }
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if let (Some(writer), Some(turn)) = (self.writer.take(), &self.turn) {
            rollback(&writer);
            turn.handoff.let_go(writer);
        }
    }
}

/// Undoes the current write's savepoint (the writes released before it stay).
fn rollback(writer: &Writer) {
    if let Err(e) = exec(&writer.conn, "ROLLBACK TO w").and_then(|()| exec(&writer.conn, "RELEASE w")) {
        tracing::error!(error = %e, "cannot roll back a write's savepoint");
    }
    end_if_idle(writer);
}

/// Ends the open transaction when no released write waits for it, so that the write lock is
/// not held by a transaction with nothing in it.
fn end_if_idle(writer: &Writer) {
    if writer.waiting.is_empty() && !writer.conn.is_autocommit() {
        if let Err(e) = exec(&writer.conn, "ROLLBACK") {
            tracing::error!(error = %e, "cannot end an empty write transaction");
        }
    }
}

/// Opens the writer's transaction. IMMEDIATE takes the write lock now, so that another
/// connection on the file (a CLI command, another replica, the checkpointer emptying the
/// WAL) makes this write wait rather than fail to upgrade a read lock later. The wait is a
/// timer, not SQLite's busy handler (the writer's busy timeout is zero): the handler would
/// sleep on a runtime worker, one of two here, and every task queued on that worker would
/// wait with it, up to `WRITER_BUSY_WAIT`. When the holder is a task of this same runtime
/// (two replicas in one test process), it might be one of those tasks.
async fn begin_immediate(writer: &mut Writer) -> Result<()> {
    let started = std::time::Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        let Err(error) = control(&writer.conn, "BEGIN IMMEDIATE") else { return Ok(()) };
        let busy =
            matches!(&error, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DatabaseBusy);
        if !busy || started.elapsed() >= WRITER_BUSY_WAIT {
            return Err(sqlite_error(error));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// How long a write waits for another connection's write lock before it fails.
const WRITER_BUSY_WAIT: Duration = Duration::from_secs(10);

/// A read transaction on a pooled connection; the connection goes back to the pool on drop.
pub struct ReadTx {
    conn: Option<Connection>,
    idle: Arc<Mutex<Vec<Connection>>>,
}

impl ReadTx {
    pub fn conn(&self) -> &Connection {
        self.conn.as_ref().expect("held until drop")
    }
}

impl Drop for ReadTx {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            give_back(&self.idle, conn);
        }
    }
}

/// Returns a reader to the pool, out of any transaction (or closes it, the pool being full).
fn give_back(idle: &Mutex<Vec<Connection>>, conn: Connection) {
    if !conn.is_autocommit() && exec(&conn, "ROLLBACK").is_err() {
        return;
    }
    let mut idle = idle.lock().unwrap_or_else(|e| e.into_inner());
    if idle.len() < IDLE_READERS {
        idle.push(conn);
    }
}

/// What a connection is for, which decides how it is opened.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Writer,
    Reader,
    Scanner,
}

fn stopped() -> Error {
    Error::Storage("the SQLite engine has stopped".into())
}

fn open(file: &DbFile, role: Role) -> Result<Connection> {
    let read_only = role != Role::Writer;
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = match &file.vfs {
        Some(vfs) => Connection::open_with_flags_and_vfs(&file.path, flags, vfs),
        None => Connection::open_with_flags(&file.path, flags),
    }
    .map_err(sqlite_error)?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(sqlite_error)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // WAL is a property of the file (set by the migrating connection); these are per connection.
    // NORMAL in WAL mode: a commit survives a crash of the process.
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;").map_err(sqlite_error)?;
    let cache_kib = match role {
        Role::Writer => WRITER_CACHE_KIB,
        Role::Reader => READER_CACHE_KIB,
        Role::Scanner => SCANNER_CACHE_KIB,
    };
    conn.execute_batch(&format!("PRAGMA cache_size = -{cache_kib};")).map_err(sqlite_error)?;
    Ok(conn)
}

/// PASSIVE checkpoints copy what no reader still needs and never wait for anyone. Once they
/// have copied every frame, the next write starts the WAL over from its beginning, writing
/// on pages of the file the OS already holds. Under constant writes that never happens on
/// its own: by the time a checkpoint has copied the frames it found, more were committed.
/// The WAL then grows without bound (1.7 GB in ten seconds of creates), every frame
/// extends the file, and the kernel zeroes each new page before the write fills it: half
/// of the committer's time went there. So past `WAL_RESTART_FRAMES` the committer is asked
/// to copy the last few frames itself, holding the writer (see `commit_loop`).
///
/// What the committer copies is what was committed while the checkpointer's last pass ran,
/// so before asking, the checkpointer catches up (see [`catch_up`]).
///
/// Readers can still hold it back (a frame some reader's snapshot needs is not copied):
/// past `WAL_LIMIT_FRAMES` frames in use, a TRUNCATE checkpoint waits for them (and holds
/// writers meanwhile) and empties it. The file's own size says nothing here: a WAL that has
/// been started over keeps its length (up to `journal_size_limit`) while holding few frames.
///
/// Answers the frames in the WAL, when known.
fn checkpoint(conn: &Connection) -> Option<i64> {
    let result = match passive(conn) {
        Ok((in_use, copied)) if in_use >= WAL_LIMIT_FRAMES && copied < in_use => {
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).map(|()| None).map_err(sqlite_error)
        }
        Ok((in_use, _)) if in_use >= WAL_RESTART_FRAMES => catch_up(conn, in_use).map(Some),
        other => other.map(|(in_use, _)| Some(in_use)),
    };
    result.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "WAL checkpoint failed");
        None
    })
}

/// One PASSIVE checkpoint: the frames in the WAL, and how many of them are copied.
fn passive(conn: &Connection) -> Result<(i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)))
        .map_err(sqlite_error)
}

/// Copies, before the committer is asked to restart the WAL, what was committed while the
/// last pass copied the WAL's first `in_use` frames: pass after pass, each shorter than the
/// one before (copying is several times faster than the writes that fill the WAL), until one
/// finds at most [`RESTART_TAIL_FRAMES`] new frames. Answers the frames in the WAL then.
///
/// Why: the committer copies the rest while every write waits, and a pass over a second's
/// frames leaves a long rest. With one pass, at 100,000 users under `create`, it copied
/// 3,500-4,700 frames and held the writes for 80-570 ms (mostly 120-180), every two seconds
/// or so (8 December, the machine at half speed); after catching up, for 20-310 ms (mostly
/// 70-120). What is left is the syncs: strace showed the database file's fsync taking 120 ms
/// of such a restart, the WAL's 4 ms, however few pages the restart copied.
pub(super) fn catch_up(conn: &Connection, mut in_use: i64) -> Result<i64> {
    for _ in 0..CATCH_UP_PASSES {
        let (now, _) = passive(conn)?;
        let new = now - in_use;
        in_use = now;
        if new <= RESTART_TAIL_FRAMES {
            break;
        }
    }
    Ok(in_use)
}

/// The most frames a checkpointer leaves for the committer to copy when it asks for a
/// restart (4 MiB of 4 KiB pages), unless [`CATCH_UP_PASSES`] did not get there.
pub(super) const RESTART_TAIL_FRAMES: i64 = 1024;
/// The passes a checkpointer makes to catch up before it asks for a restart anyway (when
/// the writes outrun it, or readers hold frames back).
const CATCH_UP_PASSES: usize = 6;

/// The frames in the WAL past which the committer finishes a checkpoint so that the WAL
/// starts over (128 MiB of 4 KiB pages). Finishing one holds the writes for the two syncs
/// of a checkpoint, 40-50 ms on this machine under load however few frames are left: so
/// rarely, once the file is long enough that starting over does not extend it for a while.
const WAL_RESTART_FRAMES: i64 = 32 * 1024;

/// The frames in use in the WAL past which the checkpointer waits for readers to empty it
/// (256 MiB of 4 KiB pages): the committer's restarts keep it below that unless readers
/// hold it back.
const WAL_LIMIT_FRAMES: i64 = 64 * 1024;
/// The length a WAL file is cut back to when a write starts it over, in bytes: above what
/// it reaches between restarts, so that it is not cut and grown again each time.
const WAL_KEEP_BYTES: i64 = 160 * 1024 * 1024;

/// Runs every statement of `f` on one snapshot of the reader `conn`.
pub fn on_snapshot<T>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    exec(conn, "BEGIN")?;
    let out = f(conn);
    // A read-only transaction: ending it either way keeps nothing.
    exec(conn, "COMMIT")?;
    out
}

/// Runs one statement of transaction control, prepared once per connection (they run for
/// every write and many reads: parsing them each time showed in profiles).
pub(super) fn exec(conn: &Connection, sql: &str) -> Result<()> {
    control(conn, sql).map_err(sqlite_error)
}

/// As [`exec`], with SQLite's own error (whether it was `SQLITE_BUSY`, for instance).
fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql).and_then(|mut s| s.execute([])).map(drop)
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

/// The database file a `sqlite:` URL names, and the VFS it names with `?vfs=NAME` (sqlx's
/// connections use it too, but sqlx keeps it to itself). `unix-excl` is the one that matters:
/// the process holds the file's lock for as long as it runs, so SQLite's locks are taken in
/// memory rather than with `fcntl`, and the WAL index lives in memory rather than in the
/// `-shm` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbFile {
    pub path: PathBuf,
    pub vfs: Option<String>,
}

impl DbFile {
    pub fn of(url: &str, options: &sqlx::sqlite::SqliteConnectOptions) -> Self {
        let vfs = url.split_once('?').and_then(|(_, query)| {
            query.split('&').find_map(|pair| pair.strip_prefix("vfs=")).filter(|v| !v.is_empty()).map(str::to_owned)
        });
        Self { path: options.get_filename().to_path_buf(), vfs }
    }

    /// The same file through [`walbuf`], over the VFS this one names.
    fn buffered(&self) -> Result<Self> {
        Ok(Self { path: self.path.clone(), vfs: Some(walbuf::over(self.vfs.as_deref())?) })
    }
}
