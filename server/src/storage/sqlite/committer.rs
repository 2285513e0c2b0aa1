//! Group commit: when a write commits the writer's open transaction for the writes released
//! into it, and the committer, the thread that commits what the writes leave (and lets the
//! WAL start over), with how it gets the writer from the writes queued for it. The writer,
//! its transaction and the writes' savepoints are the engine's (see [`super::engine`]).

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use tokio::sync::OwnedMutexGuard;

use super::engine::{exec, Writer};

/// The longest the first write released into a transaction waits for its commit while
/// other writes keep coming: the write released after that commits them all. Only a long
/// queue (a Bulk batch) keeps coming that long: single requests' writes commit when the line
/// is empty. At 2 ms, Bulk into 100,000 users committed five times as often as with the
/// committer's thread (which took 2 ms to gather, then up to 8 ms in the queue) and took
/// 11.7-13.7 s against 11.4-11.5 s, alternated; at 10 ms, 10.8-11.6 s against 10.4-12.9 s.
const GATHER_AT_MOST: Duration = Duration::from_millis(10);

/// The longest the committer then waits in the writer's queue before it takes the writer
/// ahead of the writes still queued (see [`Handoff`]). A queue of single requests' writes
/// is through in less; a Bulk batch's is not.
const QUEUE_AT_MOST: Duration = Duration::from_millis(8);

/// The committer's way past a long queue for the writer. The writer's mutex hands it over in
/// the order it was asked for, so a committer queued like a write commits only after every
/// write queued before it. A Bulk batch queues up to 1,000 creates at once (see
/// `protocol::bulk_line`): the batch before it would wait for all of them to be written
/// before its commit, and its request could not answer (and its client send the next one)
/// while the writer had work. After [`QUEUE_AT_MOST`] in the queue, the committer raises
/// `wanted` instead, and the next write to let go of the writer passes it to the committer.
///
/// It is also how a write commits by itself (see [`Handoff::commit_here`]).
pub(super) struct Handoff {
    wanted: AtomicBool,
    to_committer: mpsc::Sender<OwnedMutexGuard<Writer>>,
    /// Set by the checkpointer: the next commit is the committer's, which then lets the WAL
    /// start over (holding the writer for tens of milliseconds: not on a runtime worker).
    restart: Arc<AtomicBool>,
    /// Released writes wait in the open transaction for a commit. Written only by the
    /// writer's holder; the committer reads it to leave the writer alone when none do.
    pending: AtomicBool,
    /// Commits made so far, by writes or by the committer.
    commits: AtomicU64,
    /// Writes holding the writer or waiting for it.
    pub(super) under_way: AtomicUsize,
}

impl Handoff {
    /// The handoff, and the committer's end of it.
    pub(super) fn new(restart: Arc<AtomicBool>) -> (Self, mpsc::Receiver<OwnedMutexGuard<Writer>>) {
        let (to_committer, handed) = mpsc::channel();
        let handoff = Self {
            wanted: AtomicBool::new(false),
            to_committer,
            restart,
            pending: AtomicBool::new(false),
            commits: AtomicU64::new(0),
            under_way: AtomicUsize::new(0),
        };
        (handoff, handed)
    }

    /// Commits the open transaction right here, by the write just released into it, when no
    /// other write is under way (`alone`) or the first released write has waited
    /// [`GATHER_AT_MOST`]; answers whether it did. Otherwise a write in line after it will,
    /// or else the committer.
    ///
    /// Why here and not always on the committer's thread: handing the writer to a sleeping
    /// thread and back costs two wake-ups a commit, and the writer waits through both. With
    /// every commit the committer's, `create` at 100,000 users held the writer 50-66% of the
    /// time and the committer 6-29%, at about 500 commits a second; the writer was idle the
    /// rest, and the runtime's two workers were each half idle (7 December).
    pub(super) fn commit_here(&self, writer: &mut Writer, alone: bool) -> bool {
        let due = alone || writer.since.is_some_and(|since| since.elapsed() >= GATHER_AT_MOST);
        if !due || self.restart.load(Ordering::Acquire) {
            self.pending.store(true, Ordering::Release);
            return false;
        }
        self.commit(writer);
        true
    }

    /// Commits the open transaction and answers every write released into it.
    fn commit(&self, writer: &mut Writer) {
        commit_released(writer);
        self.pending.store(false, Ordering::Release);
        self.commits.fetch_add(1, Ordering::AcqRel);
    }

    /// The writes holding the writer or waiting for it.
    pub(super) fn under_way(&self) -> usize {
        self.under_way.load(Ordering::Acquire)
    }

    /// Whether released writes wait for a commit.
    pub(super) fn pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Lets go of the writer: to the committer when it is waiting for it, else to the next
    /// write in line.
    pub(super) fn let_go(&self, writer: OwnedMutexGuard<Writer>) {
        if self.wanted.swap(false, Ordering::AcqRel) {
            // A committer that has stopped drops it with the error, which lets it go too.
            let _ = self.to_committer.send(writer);
        } else {
            drop(writer);
        }
    }
}

/// How long the committer leaves a transaction to its writes, which commit it within
/// [`GATHER_AT_MOST`] and one write while they keep coming.
const LEAVE_TO_WRITES: Duration = Duration::from_millis(20);

/// The committer. Called when a transaction has a write waiting for its commit, it leaves
/// the commit to the writes (see [`Handoff::commit_here`]) for [`LEAVE_TO_WRITES`], or until
/// none is under way; if the transaction is still open then, it takes the writer, commits,
/// and answers every write of the transaction.
///
/// When the checkpointer asks for it (`restart`), the next commit is the committer's, at
/// once: after answering, still holding the writer, it finishes the checkpoint, so that the
/// next write starts the WAL over (see the engine's `checkpoint`).
pub(super) fn commit_loop(
    writer: &Arc<tokio::sync::Mutex<Writer>>,
    handoff: &Handoff,
    handed: &mpsc::Receiver<OwnedMutexGuard<Writer>>,
    calls: &mpsc::Receiver<()>,
) {
    while calls.recv().is_ok() {
        let seen = handoff.commits.load(Ordering::Acquire);
        let called = std::time::Instant::now();
        while !handoff.restart.load(Ordering::Acquire)
            && handoff.pending.load(Ordering::Acquire)
            && handoff.commits.load(Ordering::Acquire) == seen
            && handoff.under_way() > 0
        {
            let left = LEAVE_TO_WRITES.saturating_sub(called.elapsed());
            if left.is_zero() {
                break;
            }
            if let Err(mpsc::RecvTimeoutError::Disconnected) = calls.recv_timeout(left) {
                return;
            }
        }
        let restart = handoff.restart.load(Ordering::Acquire);
        // Committed meanwhile by a write: the writer is left to the writes. A transaction
        // opened since has called again.
        if !handoff.pending.load(Ordering::Acquire) || (handoff.commits.load(Ordering::Acquire) != seen && !restart) {
            continue;
        }
        let mut writer = take_writer(writer, handoff, handed);
        if writer.waiting.is_empty() {
            continue;
        }
        handoff.commit(&mut writer);
        if handoff.restart.swap(false, Ordering::AcqRel) {
            // The checkpointer has just copied all but the frames committed while it ran:
            // copying those is quick, but the checkpoint's two syncs hold the writes queued
            // behind for 40-50 ms here (hence `WAL_RESTART_FRAMES`).
            if let Err(e) = writer.conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                tracing::warn!(error = %e, "WAL checkpoint before a restart failed");
            }
        }
    }
}

/// Commits the writer's open transaction and answers every write released into it.
fn commit_released(writer: &mut Writer) {
    // A failed statement may have ended the transaction by itself (SQLite does so on some
    // I/O errors): then nothing of it is kept, and every write fails.
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
    for answer in writer.waiting.drain(..) {
        let _ = answer.send(committed);
    }
    writer.since = None;
}

/// The writer for a commit: in turn, as a write would get it, unless the writes queued ahead
/// keep it longer than [`QUEUE_AT_MOST`]; then from the next write that lets go of it (see
/// [`Handoff`]).
fn take_writer(
    writer: &Arc<tokio::sync::Mutex<Writer>>,
    handoff: &Handoff,
    handed: &mpsc::Receiver<OwnedMutexGuard<Writer>>,
) -> OwnedMutexGuard<Writer> {
    if let Some(in_turn) = lock_within(writer, QUEUE_AT_MOST) {
        return in_turn;
    }
    handoff.wanted.store(true, Ordering::Release);
    loop {
        if let Ok(free) = writer.clone().try_lock_owned() {
            // Held here, the writer cannot be let go of by a write: nobody else reads the flag.
            handoff.wanted.store(false, Ordering::Release);
            return free;
        }
        // A write that lets go of the writer without a turn of its own (one whose `begin`
        // failed) gives it to the next write in line: look again every millisecond. (The
        // channel stays open: the committer holds the handoff, and its sender, itself.)
        if let Ok(given) = handed.recv_timeout(Duration::from_millis(1)) {
            return given;
        }
    }
}

/// The writer, in turn behind the writes queued for it, if it comes within `within`.
fn lock_within(writer: &Arc<tokio::sync::Mutex<Writer>>, within: Duration) -> Option<OwnedMutexGuard<Writer>> {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut lock = std::pin::pin!(writer.clone().lock_owned());
    let deadline = std::time::Instant::now() + within;
    loop {
        if let std::task::Poll::Ready(guard) = std::future::Future::poll(lock.as_mut(), &mut cx) {
            return Some(guard);
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            // Dropped, the lock leaves the queue (or passes on a turn it was just given).
            return None;
        }
        std::thread::park_timeout(left);
    }
}
