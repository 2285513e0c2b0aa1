//! The writer's side of the engine (see `engine`'s documentation): a write's savepoint in
//! the open transaction ([`WriteTx`]), the count of writes under way ([`Turn`]) that the
//! committer waits for, and the committer itself.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::{oneshot, OwnedMutexGuard};

use crate::domain::{Error, Result};

use super::engine::{exec, stopped};

/// The longest the committer waits for writes under way before committing the others.
const GATHER_AT_MOST: Duration = Duration::from_millis(2);

/// The writer connection and the writes done in its open transaction, not committed yet.
pub(super) struct Writer {
    pub(super) conn: Connection,
    /// Each released write's answer: `true` once its transaction is committed.
    pub(super) waiting: Vec<oneshot::Sender<bool>>,
}

/// One write in the writer's open transaction (see `engine`'s documentation).
pub struct WriteTx {
    writer: Option<OwnedMutexGuard<Writer>>,
    /// Let go of as soon as the writer is (fields drop in order).
    turn: Option<Turn>,
    /// On the writer's own thread: where the commit leaves the answer to wait for, since
    /// that thread must not wait for it.
    kept: Option<Kept>,
}

/// The answer a write kept on the writer's thread waits for: `true` once committed.
pub(super) type Kept = Arc<Mutex<Option<oneshot::Receiver<bool>>>>;

/// A write under way, from the moment it asks for the writer until it lets go of it: the
/// committer holds a commit back while there are any, so that they join it.
pub(super) struct Turn {
    under_way: Arc<AtomicUsize>,
    commit: mpsc::Sender<()>,
}

impl Turn {
    pub(super) fn take(under_way: &Arc<AtomicUsize>, commit: &mpsc::Sender<()>) -> Self {
        under_way.fetch_add(1, Ordering::AcqRel);
        Self { under_way: under_way.clone(), commit: commit.clone() }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if self.under_way.fetch_sub(1, Ordering::AcqRel) == 1 {
            let _ = self.commit.send(());
        }
    }
}

impl WriteTx {
    /// A write on the writer, in a savepoint of the open transaction (begun if none is).
    pub(super) fn start(writer: OwnedMutexGuard<Writer>, turn: Turn, kept: Option<Kept>) -> Result<Self> {
        if writer.conn.is_autocommit() {
            // IMMEDIATE takes the write lock now: another process on the file (a CLI
            // command) waits on busy_timeout instead of failing to upgrade a read lock.
            exec(&writer.conn, "BEGIN IMMEDIATE")?;
        }
        if let Err(e) = exec(&writer.conn, "SAVEPOINT w") {
            end_if_idle(&writer);
            return Err(e);
        }
        Ok(WriteTx { writer: Some(writer), turn: Some(turn), kept })
    }

    pub fn conn(&self) -> &Connection {
        &self.writer.as_ref().expect("held until commit or drop").conn
    }

    /// Keeps this write's changes and answers once they are committed (on the writer's own
    /// thread: at once, leaving the answer to its caller).
    pub async fn commit(mut self) -> Result<()> {
        if self.kept.is_some() {
            return self.commit_on_thread();
        }
        let committed = self.keep()?;
        outcome(committed).await
    }

    /// On the writer's own thread: keeps the changes and leaves the answer to wait for to
    /// [`super::engine::Engine::write_on_thread`]'s caller.
    pub(super) fn commit_on_thread(mut self) -> Result<()> {
        let committed = self.keep()?;
        if let Some(kept) = self.kept.take() {
            *kept.lock().unwrap_or_else(|e| e.into_inner()) = Some(committed);
        }
        Ok(())
    }

    /// Releases the savepoint and hands the writer on; answers what to wait for.
    fn keep(&mut self) -> Result<oneshot::Receiver<bool>> {
        let mut writer = self.writer.take().expect("held until commit or drop");
        let turn = self.turn.take().expect("held until commit or drop");
        if let Err(e) = exec(&writer.conn, "RELEASE w") {
            rollback(&writer);
            return Err(e);
        }
        let (answer, committed) = oneshot::channel();
        writer.waiting.push(answer);
        if writer.waiting.len() == 1 {
            // The first write of this transaction calls the committer, who lets the writes
            // under way join this commit.
            turn.commit.send(()).map_err(|_| stopped())?;
        }
        drop(writer);
        // No longer under way: the committer need not wait for this write.
        drop(turn);
        Ok(committed)
    }
}

/// Whether the transaction a write was kept in got committed.
pub(super) async fn outcome(committed: oneshot::Receiver<bool>) -> Result<()> {
    match committed.await {
        Ok(true) => Ok(()),
        _ => Err(Error::Storage("the transaction could not be committed".into())),
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if let Some(writer) = self.writer.take() {
            rollback(&writer);
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
pub(super) fn end_if_idle(writer: &Writer) {
    if writer.waiting.is_empty() && !writer.conn.is_autocommit() {
        if let Err(e) = exec(&writer.conn, "ROLLBACK") {
            tracing::error!(error = %e, "cannot end an empty write transaction");
        }
    }
}

/// The committer. Called by a transaction's first released write, it lets the writes under
/// way join the commit (until none is, or for `GATHER_AT_MOST`), then takes the writer,
/// commits, and answers every write of the transaction. A commit's cost is mostly the pages
/// it writes to the WAL, shared by all its writes: the more writes, the cheaper each.
pub(super) fn commit_loop(writer: &tokio::sync::Mutex<Writer>, under_way: &AtomicUsize, signals: &mpsc::Receiver<()>) {
    while signals.recv().is_ok() {
        let called = std::time::Instant::now();
        while under_way.load(Ordering::Acquire) > 0 {
            let left = GATHER_AT_MOST.saturating_sub(called.elapsed());
            if left.is_zero() {
                break;
            }
            if let Err(mpsc::RecvTimeoutError::Disconnected) = signals.recv_timeout(left) {
                return;
            }
        }
        let mut writer = writer.blocking_lock();
        if writer.waiting.is_empty() {
            continue;
        }
        // A failed statement may have ended the transaction by itself (SQLite does so on
        // some I/O errors): then nothing of it is kept, and every write fails.
        let committed = !writer.conn.is_autocommit()
            && match exec(&writer.conn, "COMMIT") {
                Ok(()) => true,
                Err(e) => {
                    tracing::error!(error = %e, "cannot commit a write transaction");
                    false
                }
            };
        if !writer.conn.is_autocommit() {
            let _ = exec(&writer.conn, "ROLLBACK");
        }
        // Answered after letting go of the writer: each answer wakes a task (a write to the
        // runtime's event fd when its worker sleeps), and the next write need not wait for that.
        let answers = std::mem::take(&mut writer.waiting);
        drop(writer);
        for answer in answers {
            let _ = answer.send(committed);
        }
    }
}
