//! The file store's engine: it runs on one dedicated thread per open store, owns the in-memory
//! tasks, and does every read and write of the store's files.
//!
//! Work arrives in batches (everything queued while the previous batch was being synced). For
//! each batch the engine takes the store's lock, catches up with what other processes wrote,
//! applies the operations, appends their journal records in one write, syncs once (group
//! commit), releases the lock, and only then answers the callers. Folding the journal into the
//! snapshot (at close, when idle, on `compact`) is a sequence of separate steps, each leaving a
//! loadable store.
//!
//! Not here: loading and recovery (`load.rs`), the journal's format (`journal.rs`).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use chrono::Utc;
use taskpilot_core::{
    NewTask, Status, Task, TaskId, TimeStyle, Timestamp, Transition, TransitionOutcome,
};

use super::failpoints::failpoint;
use super::journal::{self, Header, Record};
use super::recovery_log;
use taskpilot_plumbing::fs::{create_file, file_mode, parent_dir, sync_dir, with_suffix};

use crate::seed;
use crate::{CheckReport, ListQuery, Stats, StoreError};

/// A running process folds the journal once it is larger than this and than the snapshot.
const COMPACT_MIN_JOURNAL_BYTES: u64 = 256 * 1024;

/// The files a store at `TASKS_FILE` keeps (docs/STORAGE.md describes each).
#[derive(Debug, Clone)]
pub struct Paths {
    /// `.tasks.json` itself: the snapshot, in the seed's format.
    pub snapshot: PathBuf,
    /// `.tasks.json.bak`: the snapshot before the last fold.
    pub bak: PathBuf,
    /// `.tasks.json.journal`: the changes since the snapshot, while a process has it open.
    pub journal: PathBuf,
    /// `.tasks.json.journal.bak`: the changes that led from `.bak` to the snapshot.
    pub journal_bak: PathBuf,
    /// `.tasks.json.lock`: the lock every process takes to read or write.
    pub lock: PathBuf,
    /// `.tasks.json.tmp`: a snapshot being written.
    pub tmp: PathBuf,
    /// `.tasks.json.recovery.log`: the repairs the store made on its own.
    pub recovery_log: PathBuf,
}

impl Paths {
    /// `snapshot` must already be resolved through symlinks (see `FileStore::open`).
    pub fn new(snapshot: PathBuf) -> Paths {
        Paths {
            bak: with_suffix(&snapshot, ".bak"),
            journal: with_suffix(&snapshot, ".journal"),
            journal_bak: with_suffix(&snapshot, ".journal.bak"),
            lock: with_suffix(&snapshot, ".lock"),
            tmp: with_suffix(&snapshot, ".tmp"),
            recovery_log: with_suffix(&snapshot, ".recovery.log"),
            snapshot,
        }
    }

    /// A name for evidence kept aside: `<path>.<what>-<UTC time>`.
    pub(super) fn aside(&self, path: &Path, what: &str) -> PathBuf {
        with_suffix(
            path,
            &format!(".{what}-{}", Utc::now().format("%Y%m%dT%H%M%S%.6fZ")),
        )
    }
}

/// How the store is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OpenMode {
    /// Refuse to start over a missing or unreadable snapshot that has a `.bak`.
    #[default]
    Normal,
    /// `store restore`: a missing or unreadable snapshot is set aside and the store starts
    /// empty, to receive the backup.
    Restore,
}

/// One operation on the store.
pub(super) enum Op {
    Create(NewTask),
    Get(TaskId),
    List(ListQuery),
    Scan(Option<TaskId>, usize),
    Stats,
    Transition(TaskId, Transition),
    Delete(TaskId),
    DeleteStatus(Status),
    Prune(usize),
    Clear,
    PutMany(Vec<Task>),
    Check,
    /// Fold now, whatever the journal holds.
    Compact,
    /// Fold if there is a journal: the store is being closed.
    Close,
}

impl Op {
    fn is_write(&self) -> bool {
        !matches!(
            self,
            Op::Get(_)
                | Op::List(_)
                | Op::Scan(..)
                | Op::Stats
                | Op::Check
                | Op::Compact
                | Op::Close
        )
    }
}

/// An operation's answer.
pub(super) enum Reply {
    Task(Task),
    Tasks(Vec<Task>),
    Stats(Stats),
    Count(usize),
    Unit(()),
    Check(CheckReport),
}

/// A file's identity and version, to notice that someone replaced or edited it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileId {
    ino: u64,
    len: u64,
    mtime_ns: i64,
}

impl FileId {
    pub(super) fn of(path: &Path) -> std::io::Result<FileId> {
        let m = std::fs::metadata(path)?;
        Ok(FileId {
            ino: m.ino(),
            len: m.len(),
            mtime_ns: m.mtime().saturating_mul(1_000_000_000) + m.mtime_nsec(),
        })
    }

    /// The header a journal continuing this file (with these bytes) starts with.
    pub(super) fn header(&self, bytes: &[u8]) -> Header {
        Header {
            mtime_ns: Some(self.mtime_ns),
            ..Header::of(bytes)
        }
    }
}

/// Which on-disk state the in-memory tasks reflect.
#[derive(Debug, Clone)]
pub(super) struct View {
    pub(super) snapshot: FileId,
    /// What the journal's header must say to continue this snapshot.
    pub(super) header: Header,
    /// The journal's inode, when there is one.
    pub(super) journal_ino: Option<u64>,
    /// Bytes of the journal applied so far (complete lines only).
    pub(super) journal_len: u64,
    pub(super) journal_lines: u64,
    /// `put`/`delete` records in the journal: the snapshot lacks them.
    pub(super) journal_records: u64,
    /// Bytes after `journal_len` that belong to a torn record.
    pub(super) torn_tail: u64,
}

pub(super) struct Engine {
    pub(super) paths: Paths,
    pub(super) mode: OpenMode,
    lock: Option<File>,
    pub(super) journal: Option<File>,
    pub(super) tasks: BTreeMap<TaskId, Task>,
    pub(super) view: Option<View>,
    /// The timestamp style of the file (one per file, see `taskpilot_core::TimeStyle`).
    pub(super) style: TimeStyle,
    /// Problems seen while loading, for `check`.
    pub(super) problems: Vec<String>,
    /// Bad journal lines were seen: keep the journal as evidence at the next fold.
    pub(super) journal_has_bad_lines: bool,
}

impl Engine {
    pub(super) fn new(snapshot: PathBuf, mode: OpenMode) -> Engine {
        Engine {
            paths: Paths::new(snapshot),
            mode,
            lock: None,
            journal: None,
            tasks: BTreeMap::new(),
            view: None,
            style: TimeStyle::default(),
            problems: Vec::new(),
            journal_has_bad_lines: false,
        }
    }

    /// Runs one batch: lock, catch up, apply, append + sync once, unlock. Returns one answer per
    /// operation, in order.
    pub(super) fn run_batch(&mut self, ops: Vec<Op>) -> Vec<Result<Reply, StoreError>> {
        let n = ops.len();
        match self.locked(|engine| Ok(engine.run_locked(ops))) {
            Ok(answers) => answers,
            Err(e) => (0..n).map(|_| Err(e.duplicate())).collect(),
        }
    }

    /// Folds the journal if this process wrote one and nobody has folded it since: called
    /// after an idle period and when the last handle goes away.
    pub(super) fn fold_if_pending(&mut self) -> Result<(), StoreError> {
        if self.view.as_ref().is_none_or(|v| v.journal_ino.is_none()) {
            return Ok(());
        }
        self.locked(|engine| {
            engine.refresh()?;
            engine.close()
        })
    }

    fn locked<T>(
        &mut self,
        work: impl FnOnce(&mut Engine) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let lock = self.lock_file()?;
        lock.lock()
            .map_err(|e| StoreError::io("lock", &self.paths.lock, e))?;
        let result = work(self);
        let _ = lock.unlock();
        result
    }

    fn run_locked(&mut self, ops: Vec<Op>) -> Vec<Result<Reply, StoreError>> {
        if let Err(e) = self.refresh() {
            // Whatever we hold may be stale or half-read: load everything next time.
            self.view = None;
            return ops.iter().map(|_| Err(e.duplicate())).collect();
        }
        let mut pending = Vec::new();
        let mut undo: Vec<(TaskId, Option<Task>)> = Vec::new();
        let mut answers = Vec::with_capacity(ops.len());
        let mut writes = Vec::with_capacity(ops.len());
        for op in ops {
            writes.push(op.is_write());
            answers.push(self.apply(op, &mut pending, &mut undo));
        }
        if !pending.is_empty()
            && let Err(e) = self.append(&pending)
        {
            for (id, old) in undo.into_iter().rev() {
                match old {
                    Some(task) => self.tasks.insert(id, task),
                    None => self.tasks.remove(&id),
                };
            }
            return answers
                .into_iter()
                .zip(writes)
                .map(|(answer, is_write)| if is_write { Err(e.duplicate()) } else { answer })
                .collect();
        }
        if self.compaction_due()
            && let Err(e) = self.fold()
        {
            // The journal still holds every record; folding will be tried again.
            tracing::warn!("could not compact {}: {e}", self.paths.snapshot.display());
            self.view = None;
        }
        answers
    }

    fn apply(
        &mut self,
        op: Op,
        pending: &mut Vec<u8>,
        undo: &mut Vec<(TaskId, Option<Task>)>,
    ) -> Result<Reply, StoreError> {
        match op {
            Op::Create(new) => {
                let mut id = TaskId::generate();
                while self.tasks.contains_key(&id) {
                    id = id.successor();
                }
                let task = new.into_task(id, Timestamp::now_in(self.style))?;
                self.put(task.clone(), pending, undo)?;
                Ok(Reply::Task(task))
            }
            Op::Get(id) => self.get(&id).cloned().map(Reply::Task),
            Op::List(query) => Ok(Reply::Tasks(
                self.tasks
                    .values()
                    .rev()
                    .filter(|t| query.status.is_none_or(|s| t.status == s))
                    .take(query.limit.unwrap_or(usize::MAX))
                    .cloned()
                    .collect(),
            )),
            Op::Scan(after, limit) => {
                let range = match &after {
                    Some(after) => self
                        .tasks
                        .range((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded)),
                    None => self.tasks.range(..),
                };
                Ok(Reply::Tasks(
                    range.take(limit).map(|(_, t)| t.clone()).collect(),
                ))
            }
            Op::Stats => Ok(Reply::Stats(Stats::count(
                self.tasks.values().map(|t| t.status),
            ))),
            Op::Transition(id, transition) => {
                let mut task = self.get(&id)?.clone();
                if task.apply(&transition, Timestamp::now_in(self.style))?
                    == TransitionOutcome::Changed
                {
                    self.put(task.clone(), pending, undo)?;
                }
                Ok(Reply::Task(task))
            }
            Op::Delete(id) => {
                self.get(&id)?;
                self.delete(id, pending, undo)?;
                Ok(Reply::Unit(()))
            }
            Op::DeleteStatus(status) => {
                let ids: Vec<TaskId> = self
                    .tasks
                    .values()
                    .filter(|t| t.status == status)
                    .map(|t| t.id.clone())
                    .collect();
                Ok(Reply::Count(self.delete_all(ids, pending, undo)?))
            }
            Op::Prune(keep) => {
                let excess = self.tasks.len().saturating_sub(keep);
                let ids: Vec<TaskId> = self.tasks.keys().take(excess).cloned().collect();
                Ok(Reply::Count(self.delete_all(ids, pending, undo)?))
            }
            Op::Clear => {
                let ids: Vec<TaskId> = self.tasks.keys().cloned().collect();
                Ok(Reply::Count(self.delete_all(ids, pending, undo)?))
            }
            Op::PutMany(tasks) => {
                // All or nothing: validate every task before storing any.
                for task in &tasks {
                    task.validate()?;
                }
                let mut changed = 0;
                for task in tasks {
                    if self.tasks.get(&task.id) != Some(&task) {
                        self.put(task, pending, undo)?;
                        changed += 1;
                    }
                }
                Ok(Reply::Count(changed))
            }
            Op::Check => Ok(Reply::Check(self.check())),
            Op::Compact => self.fold().map(Reply::Unit),
            Op::Close => self.close().map(Reply::Unit),
        }
    }

    fn put(
        &mut self,
        task: Task,
        pending: &mut Vec<u8>,
        undo: &mut Vec<(TaskId, Option<Task>)>,
    ) -> Result<(), StoreError> {
        let id = task.id.clone();
        pending.extend(
            Record::Put(task.clone())
                .to_line()
                .map_err(|e| StoreError::Corrupt {
                    message: format!("cannot serialize task {id}: {e}"),
                })?,
        );
        let old = self.tasks.insert(id.clone(), task);
        undo.push((id, old));
        Ok(())
    }

    fn get(&self, id: &TaskId) -> Result<&Task, StoreError> {
        self.tasks
            .get(id)
            .ok_or_else(|| StoreError::NotFound { id: id.clone() })
    }

    fn delete(
        &mut self,
        id: TaskId,
        pending: &mut Vec<u8>,
        undo: &mut Vec<(TaskId, Option<Task>)>,
    ) -> Result<(), StoreError> {
        pending.extend(
            Record::Delete(id.clone())
                .to_line()
                .map_err(|e| StoreError::Corrupt {
                    message: format!("cannot serialize the deletion of {id}: {e}"),
                })?,
        );
        let old = self.tasks.remove(&id);
        undo.push((id, old));
        Ok(())
    }

    fn delete_all(
        &mut self,
        ids: Vec<TaskId>,
        pending: &mut Vec<u8>,
        undo: &mut Vec<(TaskId, Option<Task>)>,
    ) -> Result<usize, StoreError> {
        let n = ids.len();
        for id in ids {
            self.delete(id, pending, undo)?;
        }
        Ok(n)
    }

    fn check(&self) -> CheckReport {
        let mut report = CheckReport {
            tasks: self.tasks.len(),
            ..CheckReport::default()
        };
        report.problems.extend(self.problems.iter().cloned());
        for (id, task) in &self.tasks {
            if &task.id != id {
                report
                    .problems
                    .push(format!("task stored under {id} has id {}", task.id));
            }
            if let Err(e) = task.validate() {
                report.problems.push(format!("task {id}: {e}"));
            }
        }
        if let Some(view) = &self.view {
            report.notes.push(format!(
                "snapshot {} ({} bytes, sha256 {})",
                self.paths.snapshot.display(),
                view.snapshot.len,
                view.header.sha256
            ));
            report.notes.push(match view.journal_ino {
                Some(_) => format!(
                    "journal {} ({} bytes, {} records not yet in the snapshot)",
                    self.paths.journal.display(),
                    view.journal_len,
                    view.journal_records
                ),
                None => format!(
                    "journal {}: none (the snapshot holds every task)",
                    self.paths.journal.display()
                ),
            });
        }
        report.notes.push(format!(
            "previous snapshot {}: {}",
            self.paths.bak.display(),
            if self.paths.bak.exists() {
                "present"
            } else {
                "none yet"
            }
        ));
        for entry in recovery_log::read(&self.paths.recovery_log) {
            report.notes.push(format!(
                "earlier recovery (recorded in {}): {entry}",
                self.paths.recovery_log.display()
            ));
        }
        report
    }

    // ----- files -----

    fn lock_file(&mut self) -> Result<File, StoreError> {
        if let Some(lock) = &self.lock {
            return lock
                .try_clone()
                .map_err(|e| StoreError::io("open", &self.paths.lock, e));
        }
        let dir = parent_dir(&self.paths.snapshot);
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io("create the directory", dir, e))?;
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(file_mode(&self.paths.snapshot))
            .open(&self.paths.lock)
            .map_err(|e| StoreError::io("open the lock file", &self.paths.lock, e))?;
        let clone = lock
            .try_clone()
            .map_err(|e| StoreError::io("open", &self.paths.lock, e))?;
        self.lock = Some(lock);
        Ok(clone)
    }

    /// Brings the in-memory tasks up to date with the files (other processes may have written,
    /// folded, or replaced the snapshot).
    fn refresh(&mut self) -> Result<(), StoreError> {
        let Some(view) = self.view.clone() else {
            return self.load_all();
        };
        if FileId::of(&self.paths.snapshot).ok() != Some(view.snapshot) {
            return self.load_all();
        }
        let journal = std::fs::metadata(&self.paths.journal).ok();
        match (view.journal_ino, journal) {
            (None, None) => Ok(()),
            (Some(ino), Some(meta)) if meta.ino() == ino && meta.len() >= view.journal_len => {
                // Anything past the last complete line: new records, or a torn record (which
                // another process may since have cut and replaced with records of any length).
                if meta.len() > view.journal_len {
                    self.read_journal_from(view.journal_len)?;
                }
                Ok(())
            }
            _ => self.load_all(),
        }
    }

    /// Reads the journal from `offset` and applies its records.
    pub(super) fn read_journal_from(&mut self, offset: u64) -> Result<(), StoreError> {
        let (Some(journal), Some(mut view)) = (&self.journal, self.view.clone()) else {
            return Ok(());
        };
        let len = journal
            .metadata()
            .map_err(|e| StoreError::io("read", &self.paths.journal, e))?
            .len();
        let mut bytes = vec![0; (len - offset) as usize];
        std::os::unix::fs::FileExt::read_exact_at(journal, &mut bytes, offset)
            .map_err(|e| StoreError::io("read", &self.paths.journal, e))?;
        let parsed = journal::parse(&bytes, view.journal_lines);
        self.note_bad_lines(&parsed.bad_lines);
        self.warn_of_a_new_torn_tail(&parsed, &view);
        view.journal_len = offset + parsed.consumed;
        view.journal_lines += parsed.lines;
        view.journal_records += parsed.records.len() as u64;
        view.torn_tail = parsed.torn_tail;
        self.view = Some(view);
        self.replay(parsed.records);
        Ok(())
    }

    /// Warns of a torn last record, once: not again when the same one is read again.
    fn warn_of_a_new_torn_tail(&self, parsed: &journal::Parsed, before: &View) {
        let same = parsed.consumed == 0 && parsed.torn_tail == before.torn_tail;
        if parsed.torn_tail > 0 && !same {
            tracing::warn!(
                "{}: ignored a torn last record ({} bytes) left by an interrupted write; it was never acknowledged",
                self.paths.journal.display(),
                parsed.torn_tail
            );
        }
    }

    /// Reports unreadable journal lines (line number, reason) and marks the journal to be kept
    /// as evidence at the next fold.
    pub(super) fn note_bad_lines(&mut self, bad_lines: &[(u64, String)]) {
        for (line, reason) in bad_lines {
            let msg = format!(
                "{}:{line}: skipped an unreadable journal record ({reason})",
                self.paths.journal.display()
            );
            tracing::warn!("{msg}");
            self.problems.push(msg);
            self.journal_has_bad_lines = true;
        }
    }

    pub(super) fn replay(&mut self, records: Vec<Record>) {
        for record in records {
            match record {
                Record::Put(task) => {
                    self.tasks.insert(task.id.clone(), task);
                }
                Record::Delete(id) => {
                    self.tasks.remove(&id);
                }
                Record::Continues(_) => {}
            }
        }
    }

    /// Appends records and makes them durable. A store without a journal (right after a fold)
    /// starts one whose first line names the snapshot it continues. On failure the journal is
    /// cut back to where it was, so no half-written record is left behind.
    fn append(&mut self, records: &[u8]) -> Result<(), StoreError> {
        let Some(mut view) = self.view.clone() else {
            return Err(StoreError::Corrupt {
                message: "the store is not loaded".into(),
            });
        };
        let path = self.paths.journal.clone();
        let mut bytes = Vec::new();
        if self.journal.is_none() {
            let file = self.start_journal()?;
            failpoint!("append.journal_created");
            view.journal_ino = Some(file.metadata().map(|m| m.ino()).unwrap_or_default());
            view.journal_len = 0;
            view.journal_lines = 0;
            view.journal_records = 0;
            view.torn_tail = 0;
            self.journal = Some(file);
            bytes = Record::Continues(view.header.clone())
                .to_line()
                .map_err(|e| StoreError::Corrupt {
                    message: format!("cannot write the journal header: {e}"),
                })?;
        }
        bytes.extend_from_slice(records);
        let Some(journal) = &self.journal else {
            unreachable!("the journal was just opened")
        };
        if view.torn_tail > 0 {
            journal
                .set_len(view.journal_len)
                .map_err(|e| StoreError::io("cut the torn record off", &path, e))?;
            view.torn_tail = 0;
            failpoint!("append.torn_tail_cut");
        }
        let mut writer = journal;
        let result = writer
            .write_all(&bytes)
            .map_err(|e| StoreError::io("append to", &path, e))
            .and_then(|()| {
                failpoint!("append.written");
                journal
                    .sync_data()
                    .map_err(|e| StoreError::io("sync", &path, e))
            });
        if let Err(e) = result {
            let _ = journal.set_len(view.journal_len);
            let _ = journal.sync_data();
            self.view = Some(view);
            return Err(e);
        }
        failpoint!("append.synced");
        view.journal_len += bytes.len() as u64;
        view.journal_lines += bytes.iter().filter(|&&b| b == b'\n').count() as u64;
        view.journal_records += records.iter().filter(|&&b| b == b'\n').count() as u64;
        self.view = Some(view);
        Ok(())
    }

    /// Creates the journal file (empty) and makes its directory entry durable.
    fn start_journal(&self) -> Result<File, StoreError> {
        let path = &self.paths.journal;
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(file_mode(&self.paths.snapshot))
            .open(path)
            .map_err(|e| StoreError::io("open the journal", path, e))?;
        sync_dir(parent_dir(path))?;
        Ok(file)
    }

    fn compaction_due(&self) -> bool {
        self.view.as_ref().is_some_and(|v| {
            v.journal_len > COMPACT_MIN_JOURNAL_BYTES && v.journal_len > v.snapshot.len
        })
    }

    /// Closing: fold if a journal exists, so `.tasks.json` alone holds every task.
    fn close(&mut self) -> Result<(), StoreError> {
        if self.view.as_ref().is_some_and(|v| v.journal_ino.is_some()) {
            self.fold()?;
        }
        Ok(())
    }

    /// Writes every task into a new snapshot; the old one becomes `.bak` and the journal
    /// `.journal.bak`. Each step leaves a loadable store (docs/STORAGE.md has the argument).
    pub(super) fn fold(&mut self) -> Result<(), StoreError> {
        let started = std::time::Instant::now();
        let records = self.view.as_ref().map_or(0, |v| v.journal_records);
        let bytes = seed::serialize_seed(self.tasks.values())?;
        self.write_snapshot_tmp(&bytes)?;
        self.link_snapshot_to_bak()?;
        self.install_snapshot()?;
        self.keep_bad_journal_as_evidence();
        self.retire_journal()?;
        let dir = parent_dir(&self.paths.snapshot);
        sync_dir(dir)?;
        failpoint!("fold.dir_synced");
        self.journal = None;
        let snapshot = FileId::of(&self.paths.snapshot)
            .map_err(|e| StoreError::io("read", &self.paths.snapshot, e))?;
        self.view = Some(View {
            snapshot,
            header: snapshot.header(&bytes),
            journal_ino: None,
            journal_len: 0,
            journal_lines: 0,
            journal_records: 0,
            torn_tail: 0,
        });
        tracing::info!(
            store = %self.paths.snapshot.display(),
            tasks = self.tasks.len(),
            journal_records = records,
            bytes = bytes.len(),
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            "store compacted: the task file holds every task"
        );
        Ok(())
    }

    /// Fold step 1: the new snapshot in `.tmp`, synced.
    fn write_snapshot_tmp(&self, bytes: &[u8]) -> Result<(), StoreError> {
        let tmp = &self.paths.tmp;
        let write = || -> std::io::Result<()> {
            let mut file = create_file(tmp, file_mode(&self.paths.snapshot))?;
            file.write_all(bytes)?;
            failpoint!("fold.tmp_written");
            file.sync_all()
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(tmp);
            StoreError::io("write", tmp, e)
        })?;
        failpoint!("fold.tmp_synced");
        Ok(())
    }

    /// Fold step 2: the current snapshot becomes `.bak` (a hard link keeps it in place).
    fn link_snapshot_to_bak(&self) -> Result<(), StoreError> {
        let paths = &self.paths;
        let Ok(snapshot) = std::fs::metadata(&paths.snapshot) else {
            return Ok(());
        };
        if std::fs::metadata(&paths.bak)
            .is_ok_and(|bak| (bak.dev(), bak.ino()) == (snapshot.dev(), snapshot.ino()))
        {
            // A fold stopped after this step: `.bak` already is the snapshot. (Renaming a
            // second link of the same file over it would do nothing and leave `.bak.tmp`.)
            return Ok(());
        }
        let bak_tmp = with_suffix(&paths.bak, ".tmp");
        let _ = std::fs::remove_file(&bak_tmp);
        if std::fs::hard_link(&paths.snapshot, &bak_tmp).is_err() {
            std::fs::copy(&paths.snapshot, &bak_tmp)
                .map_err(|e| StoreError::io("copy the snapshot to", &bak_tmp, e))?;
        }
        failpoint!("fold.bak_tmp_linked");
        std::fs::rename(&bak_tmp, &paths.bak)
            .map_err(|e| StoreError::io("replace", &paths.bak, e))?;
        failpoint!("fold.bak_replaced");
        Ok(())
    }

    /// Fold step 3: `.tmp` replaces the snapshot.
    fn install_snapshot(&self) -> Result<(), StoreError> {
        std::fs::rename(&self.paths.tmp, &self.paths.snapshot)
            .map_err(|e| StoreError::io("replace", &self.paths.snapshot, e))?;
        failpoint!("fold.snapshot_installed");
        Ok(())
    }

    /// Before the journal is retired: a journal with unreadable lines is copied aside.
    pub(super) fn keep_bad_journal_as_evidence(&mut self) {
        let paths = &self.paths;
        if self.journal_has_bad_lines && paths.journal.exists() {
            let evidence = paths.aside(&paths.journal, "corrupt");
            if std::fs::copy(&paths.journal, &evidence).is_ok() {
                failpoint!("fold.evidence_copied");
                let _ = recovery_log::append(
                    &paths.recovery_log,
                    &format!(
                        "the journal {} had unreadable lines; a copy was kept",
                        paths.journal.display()
                    ),
                    &[&evidence],
                );
                failpoint!("fold.evidence_recorded");
            }
            self.journal_has_bad_lines = false;
        }
    }

    /// Fold step 4: the journal becomes `.journal.bak` (the changes from `.bak` to the new
    /// snapshot); the next write starts a new journal.
    pub(super) fn retire_journal(&self) -> Result<(), StoreError> {
        let paths = &self.paths;
        match std::fs::rename(&paths.journal, &paths.journal_bak) {
            Ok(()) => {
                failpoint!("fold.journal_retired");
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io("replace", &paths.journal_bak, e)),
        }
    }
}
