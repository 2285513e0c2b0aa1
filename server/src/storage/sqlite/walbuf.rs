//! A VFS over SQLite's own (`unix`, or the one the URL names) for the engine's writer
//! connection: it gathers the writer's WAL frames in memory and hands them to the VFS below
//! in a few large writes per commit, instead of two `pwrite`s a frame (SQLite writes each
//! frame's 24-byte header and its page separately).
//!
//! Why: a commit of the group commit writes a hundred frames or so, and its two hundred
//! system calls were most of the committer's time (70% of it in the kernel), all of it while
//! holding the single writer.
//!
//! What keeps it safe: frames become visible to other connections only through the WAL
//! index's header, which SQLite updates after writing them. Everything gathered is written
//! out (1) right after a commit frame's page (a frame header whose "database size" field is
//! not zero), inside that `xWrite`, so that a failure fails the commit; (2) in the database
//! file's `xShmBarrier`, which SQLite calls between the two copies of the header it
//! publishes, as a second line; (3) before any other use of the WAL file (a read, a sync, a
//! truncation, its size, a file control, closing it), so that SQLite itself never sees the
//! file without its own writes; (4) when a write is not contiguous with what is gathered, or
//! 1 MiB is. Frames of a transaction not committed yet (a cache spill) may wait in memory:
//! nobody may read them, and a crash loses them as it would a transaction in progress; when
//! the transaction lets the write lock go without publishing them, they are dropped. A
//! failed write keeps what was gathered, so that the barrier tries again.
//!
//! Only the writer connection uses it; readers, scanners and the checkpointer read the WAL
//! through the VFS below, and see only what the header says is committed.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_void, CString};
use std::sync::Mutex;

use rusqlite::ffi;

use crate::domain::{Error, Result};

/// Gathered bytes past which they are written out at once.
const MAX_PENDING: usize = 1 << 20;
/// The most handed to the VFS below in one write: the unix VFS masks a write's length to
/// its low 17 bits (0x1ffff), so a longer write would be cut short, or be empty.
const WRITE_AT_ONCE: usize = 120 * 1024;
/// The size of a WAL frame's header, which SQLite writes on its own before the page.
const FRAME_HEADER: usize = 24;

/// What a file opened through this VFS is to SQLite.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Database,
    Wal,
    Other,
}

/// Our part of an open file: SQLite allocates `szOsFile` bytes and hands them to `xOpen`;
/// this struct comes first (its first field is what SQLite sees), the file of the VFS below
/// right after it at [`INNER_OFFSET`].
#[repr(C)]
struct File {
    base: ffi::sqlite3_file,
    inner: *mut ffi::sqlite3_file,
    /// The methods SQLite calls: ours, for each method the file below has.
    methods: ffi::sqlite3_io_methods,
    kind: Kind,
    /// A database: the name SQLite opened it with. A WAL's name is stored in the same block
    /// (`sqlite3_filename_database` leads from one to the other), which pairs the two files
    /// of one connection.
    name: *const c_char,
    /// A database: its WAL, while both are open.
    wal: *mut File,
    /// A WAL: its database, while both are open.
    db: *mut File,
    /// A WAL: bytes written by SQLite and not yet by the VFS below, from `pending_at`.
    pending: Vec<u8>,
    pending_at: i64,
    /// A WAL: the last write was a commit frame's header, so its page comes next.
    commit_page_next: bool,
}

impl File {
    /// A database's WAL, while both are open.
    unsafe fn wal_mut<'a>(&self) -> Option<&'a mut File> {
        if self.kind == Kind::Database {
            self.wal.as_mut()
        } else {
            None
        }
    }

    /// Forgets what is gathered (written out, or never to be).
    fn drop_pending(&mut self) {
        self.pending.clear();
        self.commit_page_next = false;
    }
}

const INNER_OFFSET: usize = std::mem::size_of::<File>().next_multiple_of(16);

/// Open databases' files (a WAL finds its own by [`File::name`]).
static DATABASES: Mutex<Vec<usize>> = Mutex::new(Vec::new());
/// VFS names registered so far: registration is once per process and base VFS.
static REGISTERED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Registers (once) this VFS over `base` (SQLite's default when `None`) and answers its name.
pub fn over(base: Option<&str>) -> Result<String> {
    let name = format!("rollcall-walbuf-{}", base.unwrap_or("default"));
    let mut registered = REGISTERED.lock().unwrap_or_else(|e| e.into_inner());
    if registered.contains(&name) {
        return Ok(name);
    }
    let base_name = base.map(CString::new).transpose().map_err(|e| Error::Storage(Box::new(e)))?;
    // SAFETY: sqlite3_vfs_find takes a NUL-terminated name or NULL (the default VFS), and
    // initialises SQLite first.
    let below = unsafe { ffi::sqlite3_vfs_find(base_name.as_ref().map_or(std::ptr::null(), |n| n.as_ptr())) };
    if below.is_null() {
        return Err(Error::Storage(format!("no SQLite VFS named {}", base.unwrap_or("(default)")).into()));
    }
    let c_name = CString::new(name.clone()).map_err(|e| Error::Storage(Box::new(e)))?;
    // SAFETY: `below` is a registered VFS, which SQLite never frees.
    let (sz_os_file, mx_pathname) = unsafe { ((*below).szOsFile, (*below).mxPathname) };
    let sz = usize::try_from(sz_os_file).map_err(|e| Error::Storage(Box::new(e)))? + INNER_OFFSET;
    // Registered VFSes live as long as the process: leaked on purpose.
    let vfs = Box::leak(Box::new(ffi::sqlite3_vfs {
        iVersion: 2,
        szOsFile: c_int::try_from(sz).map_err(|e| Error::Storage(Box::new(e)))?,
        mxPathname: mx_pathname,
        pNext: std::ptr::null_mut(),
        zName: c_name.into_raw(),
        pAppData: below.cast(),
        xOpen: Some(v_open),
        xDelete: Some(v_delete),
        xAccess: Some(v_access),
        xFullPathname: Some(v_full_pathname),
        // SAFETY: as above; the unix VFS's loadable-extension methods ignore their VFS
        // argument (and the engine loads no extension).
        xDlOpen: unsafe { (*below).xDlOpen },
        xDlError: unsafe { (*below).xDlError },
        xDlSym: unsafe { (*below).xDlSym },
        xDlClose: unsafe { (*below).xDlClose },
        xRandomness: Some(v_randomness),
        xSleep: Some(v_sleep),
        xCurrentTime: Some(v_current_time),
        xGetLastError: Some(v_get_last_error),
        xCurrentTimeInt64: Some(v_current_time_int64),
        xSetSystemCall: None,
        xGetSystemCall: None,
        xNextSystemCall: None,
    }));
    // SAFETY: `vfs` is complete and lives for the rest of the process.
    let rc = unsafe { ffi::sqlite3_vfs_register(vfs, 0) };
    if rc != ffi::SQLITE_OK {
        return Err(Error::Storage(format!("cannot register the SQLite VFS {name} ({rc})").into()));
    }
    registered.push(name.clone());
    Ok(name)
}

/// The VFS below this one.
unsafe fn below(vfs: *mut ffi::sqlite3_vfs) -> *mut ffi::sqlite3_vfs {
    (*vfs).pAppData.cast()
}

unsafe extern "C" fn v_open(
    vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let below = below(vfs);
    let inner = file.cast::<u8>().add(INNER_OFFSET).cast::<ffi::sqlite3_file>();
    (*inner).pMethods = std::ptr::null();
    let Some(open) = (*below).xOpen else { return ffi::SQLITE_CANTOPEN };
    let rc = open(below, name, inner, flags, out_flags);
    if (*inner).pMethods.is_null() {
        // Nothing to close: SQLite will not call xClose.
        (*file).pMethods = std::ptr::null();
        return rc;
    }
    let kind = if flags & ffi::SQLITE_OPEN_MAIN_DB != 0 {
        Kind::Database
    } else if flags & ffi::SQLITE_OPEN_WAL != 0 && !name.is_null() {
        Kind::Wal
    } else {
        Kind::Other
    };
    let ours = file.cast::<File>();
    ours.write(File {
        base: ffi::sqlite3_file { pMethods: std::ptr::null() },
        inner,
        methods: methods_like(&*(*inner).pMethods),
        kind,
        name,
        wal: std::ptr::null_mut(),
        db: std::ptr::null_mut(),
        pending: Vec::new(),
        pending_at: 0,
        commit_page_next: false,
    });
    (*ours).base.pMethods = &raw const (*ours).methods;
    if rc == ffi::SQLITE_OK {
        let mut databases = DATABASES.lock().unwrap_or_else(|e| e.into_inner());
        match kind {
            Kind::Database => databases.push(ours as usize),
            Kind::Wal => {
                let db_name = ffi::sqlite3_filename_database(name);
                let db = databases.iter().map(|&d| d as *mut File).find(|&d| (*d).name == db_name);
                if let Some(db) = db {
                    (*db).wal = ours;
                    (*ours).db = db;
                }
            }
            Kind::Other => {}
        }
    }
    rc
}

/// Our methods for each method the file below has (and its version).
fn methods_like(m: &ffi::sqlite3_io_methods) -> ffi::sqlite3_io_methods {
    let v2 = m.iVersion >= 2;
    let v3 = m.iVersion >= 3;
    ffi::sqlite3_io_methods {
        iVersion: m.iVersion,
        xClose: Some(x_close),
        xRead: Some(x_read),
        xWrite: Some(x_write),
        xTruncate: Some(x_truncate),
        xSync: Some(x_sync),
        xFileSize: Some(x_file_size),
        xLock: m.xLock.map(|_| x_lock as _),
        xUnlock: m.xUnlock.map(|_| x_unlock as _),
        xCheckReservedLock: m.xCheckReservedLock.map(|_| x_check_reserved_lock as _),
        xFileControl: Some(x_file_control),
        xSectorSize: m.xSectorSize.map(|_| x_sector_size as _),
        xDeviceCharacteristics: m.xDeviceCharacteristics.map(|_| x_device_characteristics as _),
        xShmMap: m.xShmMap.filter(|_| v2).map(|_| x_shm_map as _),
        xShmLock: m.xShmLock.filter(|_| v2).map(|_| x_shm_lock as _),
        xShmBarrier: m.xShmBarrier.filter(|_| v2).map(|_| x_shm_barrier as _),
        xShmUnmap: m.xShmUnmap.filter(|_| v2).map(|_| x_shm_unmap as _),
        xFetch: m.xFetch.filter(|_| v3).map(|_| x_fetch as _),
        xUnfetch: m.xUnfetch.filter(|_| v3).map(|_| x_unfetch as _),
    }
}

unsafe fn ours<'a>(f: *mut ffi::sqlite3_file) -> &'a mut File {
    &mut *f.cast::<File>()
}

unsafe fn inner_methods<'a>(file: &File) -> &'a ffi::sqlite3_io_methods {
    &*(*file.inner).pMethods
}

/// Hands what is gathered to the VFS below. On failure it is kept (the call that asked
/// fails): a caller that ignores the failure (`walLimitSize` does) must not leave a commit's
/// rewritten frame headers unwritten, so the barrier tries again before the commit is
/// published, and stops the process if it cannot. Frames never published are dropped when
/// the transaction lets the write lock go (see `x_shm_lock`).
unsafe fn flush(file: &mut File) -> c_int {
    let Some(write) = inner_methods(file).xWrite else { return ffi::SQLITE_IOERR_WRITE };
    let mut done = 0;
    let mut rc = ffi::SQLITE_OK;
    while done < file.pending.len() && rc == ffi::SQLITE_OK {
        let n = (file.pending.len() - done).min(WRITE_AT_ONCE);
        let at = file.pending_at + i64::try_from(done).unwrap_or(i64::MAX);
        rc = write(file.inner, file.pending.as_ptr().add(done).cast(), n as c_int, at);
        done += n;
        #[cfg(test)]
        count_write(file);
    }
    if rc == ffi::SQLITE_OK {
        file.drop_pending();
    }
    rc
}

/// Flushes a WAL before any use of it other than a write.
unsafe fn settle(file: &mut File) -> c_int {
    if file.kind == Kind::Wal && !file.pending.is_empty() {
        flush(file)
    } else {
        ffi::SQLITE_OK
    }
}

/// Settles the file (see [`settle`]), then runs `call` on it; a failure to settle is the
/// call's answer.
unsafe fn settled(f: *mut ffi::sqlite3_file, call: impl FnOnce(&File) -> c_int) -> c_int {
    let file = ours(f);
    match settle(file) {
        ffi::SQLITE_OK => call(file),
        failed => failed,
    }
}

unsafe extern "C" fn x_close(f: *mut ffi::sqlite3_file) -> c_int {
    let file = ours(f);
    let flushed = settle(file);
    {
        let mut databases = DATABASES.lock().unwrap_or_else(|e| e.into_inner());
        match file.kind {
            Kind::Database => {
                databases.retain(|&d| d != f as usize);
                if !file.wal.is_null() {
                    (*file.wal).db = std::ptr::null_mut();
                }
            }
            Kind::Wal if !file.db.is_null() => (*file.db).wal = std::ptr::null_mut(),
            _ => {}
        }
    }
    let closed = match inner_methods(file).xClose {
        Some(close) => close(file.inner),
        None => ffi::SQLITE_OK,
    };
    std::ptr::drop_in_place(f.cast::<File>());
    if flushed != ffi::SQLITE_OK {
        flushed
    } else {
        closed
    }
}

unsafe extern "C" fn x_read(f: *mut ffi::sqlite3_file, buf: *mut c_void, amt: c_int, off: i64) -> c_int {
    settled(f, |file| inner_methods(file).xRead.map_or(ffi::SQLITE_IOERR_READ, |read| read(file.inner, buf, amt, off)))
}

unsafe extern "C" fn x_write(f: *mut ffi::sqlite3_file, buf: *const c_void, amt: c_int, off: i64) -> c_int {
    let file = ours(f);
    let Ok(len) = usize::try_from(amt) else { return ffi::SQLITE_IOERR_WRITE };
    if file.kind != Kind::Wal || len >= MAX_PENDING {
        return settled(f, |file| {
            #[cfg(test)]
            if file.kind == Kind::Wal {
                count_write(file);
            }
            inner_methods(file).xWrite.map_or(ffi::SQLITE_IOERR_WRITE, |write| write(file.inner, buf, amt, off))
        });
    }
    let data = std::slice::from_raw_parts(buf.cast::<u8>(), len);
    // A commit frame's page: the transaction is complete in the WAL once it is written.
    let commit_done = std::mem::replace(&mut file.commit_page_next, false);
    let end = file.pending_at + i64::try_from(file.pending.len()).unwrap_or(i64::MAX);
    if !file.pending.is_empty() && (off != end || file.pending.len() + len > MAX_PENDING) {
        let rc = flush(file);
        if rc != ffi::SQLITE_OK {
            return rc;
        }
    }
    if file.pending.is_empty() {
        file.pending_at = off;
    }
    file.pending.extend_from_slice(data);
    file.commit_page_next = len == FRAME_HEADER && data[4..8] != [0; 4];
    if commit_done {
        return flush(file);
    }
    ffi::SQLITE_OK
}

/// Writes handed to the VFS below, by WAL file name (tests of this process run in parallel).
#[cfg(test)]
static WAL_WRITES: Mutex<Vec<(String, usize)>> = Mutex::new(Vec::new());

#[cfg(test)]
unsafe fn count_write(file: &File) {
    let name = std::ffi::CStr::from_ptr(file.name).to_string_lossy().into_owned();
    let mut counts = WAL_WRITES.lock().unwrap_or_else(|e| e.into_inner());
    match counts.iter_mut().find(|(n, _)| *n == name) {
        Some((_, c)) => *c += 1,
        None => counts.push((name, 1)),
    }
}

/// The writes this VFS handed to the one below for the WAL of the database at `db`.
#[cfg(test)]
pub fn wal_writes(db: &std::path::Path) -> usize {
    let wal = format!("{}-wal", db.display());
    let counts = WAL_WRITES.lock().unwrap_or_else(|e| e.into_inner());
    counts.iter().find(|(n, _)| *n == wal).map_or(0, |(_, c)| *c)
}

unsafe extern "C" fn x_truncate(f: *mut ffi::sqlite3_file, size: i64) -> c_int {
    settled(f, |file| inner_methods(file).xTruncate.map_or(ffi::SQLITE_IOERR_TRUNCATE, |cut| cut(file.inner, size)))
}

unsafe extern "C" fn x_sync(f: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    settled(f, |file| inner_methods(file).xSync.map_or(ffi::SQLITE_IOERR_FSYNC, |sync| sync(file.inner, flags)))
}

unsafe extern "C" fn x_file_size(f: *mut ffi::sqlite3_file, size: *mut i64) -> c_int {
    settled(f, |file| inner_methods(file).xFileSize.map_or(ffi::SQLITE_IOERR_FSTAT, |len| len(file.inner, size)))
}

unsafe extern "C" fn x_lock(f: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    let file = ours(f);
    inner_methods(file).xLock.map_or(ffi::SQLITE_OK, |lock| lock(file.inner, level))
}

unsafe extern "C" fn x_unlock(f: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    let file = ours(f);
    inner_methods(file).xUnlock.map_or(ffi::SQLITE_OK, |unlock| unlock(file.inner, level))
}

unsafe extern "C" fn x_check_reserved_lock(f: *mut ffi::sqlite3_file, out: *mut c_int) -> c_int {
    let file = ours(f);
    inner_methods(file).xCheckReservedLock.map_or(ffi::SQLITE_OK, |check| check(file.inner, out))
}

unsafe extern "C" fn x_file_control(f: *mut ffi::sqlite3_file, op: c_int, arg: *mut c_void) -> c_int {
    settled(f, |file| inner_methods(file).xFileControl.map_or(ffi::SQLITE_NOTFOUND, |fc| fc(file.inner, op, arg)))
}

unsafe extern "C" fn x_sector_size(f: *mut ffi::sqlite3_file) -> c_int {
    let file = ours(f);
    inner_methods(file).xSectorSize.map_or(4096, |size| size(file.inner))
}

unsafe extern "C" fn x_device_characteristics(f: *mut ffi::sqlite3_file) -> c_int {
    let file = ours(f);
    inner_methods(file).xDeviceCharacteristics.map_or(0, |dc| dc(file.inner))
}

unsafe extern "C" fn x_shm_map(
    f: *mut ffi::sqlite3_file,
    page: c_int,
    size: c_int,
    extend: c_int,
    out: *mut *mut c_void,
) -> c_int {
    let file = ours(f);
    inner_methods(file).xShmMap.map_or(ffi::SQLITE_IOERR_SHMMAP, |map| map(file.inner, page, size, extend, out))
}

/// The WAL's write lock (slot 0 of the WAL index's locks).
const WAL_WRITE_LOCK: c_int = 0;

/// When a transaction lets the WAL's write lock go, whatever is still gathered was never
/// published (a commit is published after the barrier, which writes everything out): the
/// frames of a transaction rolled back after spilling, or of a commit that failed. They are
/// dropped, as SQLite drops them, rather than written later, after another connection may
/// have truncated the WAL.
unsafe extern "C" fn x_shm_lock(f: *mut ffi::sqlite3_file, offset: c_int, n: c_int, flags: c_int) -> c_int {
    let file = ours(f);
    let rc = inner_methods(file).xShmLock.map_or(ffi::SQLITE_IOERR_SHMLOCK, |lock| lock(file.inner, offset, n, flags));
    let releases_write_lock =
        offset == WAL_WRITE_LOCK && flags & ffi::SQLITE_SHM_UNLOCK != 0 && flags & ffi::SQLITE_SHM_EXCLUSIVE != 0;
    if releases_write_lock {
        if let Some(wal) = file.wal_mut() {
            wal.drop_pending();
        }
    }
    rc
}

/// SQLite calls this on the database file between writing the two copies of the WAL
/// index's header it publishes: the frames it names must be in the WAL by then. Writing
/// them after each commit frame already did so; this is the second line, and as it cannot
/// report a failure, a failure stops the process rather than publish frames that are not
/// in the file (the commit was not answered, so nothing acknowledged is lost).
unsafe extern "C" fn x_shm_barrier(f: *mut ffi::sqlite3_file) {
    let file = ours(f);
    if let Some(wal) = file.wal_mut() {
        if settle(wal) != ffi::SQLITE_OK {
            tracing::error!("cannot write the WAL's frames before publishing them; stopping");
            std::process::abort();
        }
    }
    if let Some(barrier) = inner_methods(file).xShmBarrier {
        barrier(file.inner);
    }
}

unsafe extern "C" fn x_shm_unmap(f: *mut ffi::sqlite3_file, delete: c_int) -> c_int {
    let file = ours(f);
    inner_methods(file).xShmUnmap.map_or(ffi::SQLITE_OK, |unmap| unmap(file.inner, delete))
}

unsafe extern "C" fn x_fetch(f: *mut ffi::sqlite3_file, off: i64, amt: c_int, out: *mut *mut c_void) -> c_int {
    let file = ours(f);
    match inner_methods(file).xFetch {
        Some(fetch) => fetch(file.inner, off, amt, out),
        None => {
            *out = std::ptr::null_mut();
            ffi::SQLITE_OK
        }
    }
}

unsafe extern "C" fn x_unfetch(f: *mut ffi::sqlite3_file, off: i64, p: *mut c_void) -> c_int {
    let file = ours(f);
    inner_methods(file).xUnfetch.map_or(ffi::SQLITE_OK, |unfetch| unfetch(file.inner, off, p))
}

unsafe extern "C" fn v_delete(vfs: *mut ffi::sqlite3_vfs, name: *const c_char, sync_dir: c_int) -> c_int {
    let below = below(vfs);
    (*below).xDelete.map_or(ffi::SQLITE_IOERR_DELETE, |delete| delete(below, name, sync_dir))
}

unsafe extern "C" fn v_access(vfs: *mut ffi::sqlite3_vfs, name: *const c_char, flags: c_int, out: *mut c_int) -> c_int {
    let below = below(vfs);
    (*below).xAccess.map_or(ffi::SQLITE_IOERR_ACCESS, |access| access(below, name, flags, out))
}

unsafe extern "C" fn v_full_pathname(
    vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    n: c_int,
    out: *mut c_char,
) -> c_int {
    let below = below(vfs);
    (*below).xFullPathname.map_or(ffi::SQLITE_CANTOPEN, |full| full(below, name, n, out))
}

unsafe extern "C" fn v_randomness(vfs: *mut ffi::sqlite3_vfs, n: c_int, out: *mut c_char) -> c_int {
    let below = below(vfs);
    (*below).xRandomness.map_or(0, |random| random(below, n, out))
}

unsafe extern "C" fn v_sleep(vfs: *mut ffi::sqlite3_vfs, micros: c_int) -> c_int {
    let below = below(vfs);
    (*below).xSleep.map_or(0, |sleep| sleep(below, micros))
}

unsafe extern "C" fn v_current_time(vfs: *mut ffi::sqlite3_vfs, out: *mut f64) -> c_int {
    let below = below(vfs);
    (*below).xCurrentTime.map_or(ffi::SQLITE_ERROR, |now| now(below, out))
}

unsafe extern "C" fn v_get_last_error(vfs: *mut ffi::sqlite3_vfs, n: c_int, out: *mut c_char) -> c_int {
    let below = below(vfs);
    (*below).xGetLastError.map_or(0, |last| last(below, n, out))
}

unsafe extern "C" fn v_current_time_int64(vfs: *mut ffi::sqlite3_vfs, out: *mut i64) -> c_int {
    let below = below(vfs);
    match (*below).xCurrentTimeInt64 {
        Some(now) if (*below).iVersion >= 2 => now(below, out),
        _ => ffi::SQLITE_ERROR,
    }
}
