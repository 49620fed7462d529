//! The file store's engine: it runs on one dedicated thread per open store, owns the in-memory
//! tasks, and does every read and write of the store's files.
//!
//! Work arrives in batches (everything queued while the previous batch was being synced). For
//! each batch the engine takes the store's lock, catches up with what other processes wrote,
//! applies the operations, appends their journal records in one write, syncs once (group
//! commit), releases the lock, and only then answers the callers.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use chrono::Utc;
use taskpilot_core::{NewTask, Status, Task, TaskId, Timestamp, Transition, TransitionOutcome};

use super::journal::{self, Record};
use crate::seed::{self, parent_dir, sync_dir, with_suffix};
use crate::{CheckReport, ListQuery, Stats, StoreError};

/// The journal is folded into the snapshot once it is larger than this and than the snapshot.
const COMPACT_MIN_JOURNAL_BYTES: u64 = 256 * 1024;

/// The files a store at `TASKS_FILE` keeps (docs/STORAGE.md describes each).
#[derive(Debug, Clone)]
pub struct Paths {
    pub snapshot: PathBuf,
    pub bak: PathBuf,
    pub journal: PathBuf,
    pub journal_bak: PathBuf,
    pub lock: PathBuf,
}

impl Paths {
    pub fn new(snapshot: PathBuf) -> Paths {
        Paths {
            bak: with_suffix(&snapshot, ".bak"),
            journal: with_suffix(&snapshot, ".journal"),
            journal_bak: with_suffix(&snapshot, ".journal.bak"),
            lock: with_suffix(&snapshot, ".lock"),
            snapshot,
        }
    }

    fn aside(&self, path: &Path, what: &str) -> PathBuf {
        with_suffix(
            path,
            &format!(".{what}-{}", Utc::now().format("%Y%m%dT%H%M%S%.6fZ")),
        )
    }
}

/// One operation on the store.
pub enum Op {
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
    Compact,
}

/// An operation's answer.
pub enum Reply {
    Task(Task),
    Tasks(Vec<Task>),
    Stats(Stats),
    Count(usize),
    Unit(()),
    Check(CheckReport),
}

/// Which on-disk state the in-memory tasks reflect.
#[derive(Debug, Default, Clone, Copy)]
struct View {
    snapshot_ino: u64,
    snapshot_len: u64,
    journal_ino: u64,
    /// Bytes of the journal applied so far (complete lines only).
    journal_len: u64,
    journal_lines: u64,
    /// Bytes after `journal_len` that belong to a torn record.
    torn_tail: u64,
}

pub struct Engine {
    paths: Paths,
    lock: Option<File>,
    journal: Option<File>,
    tasks: BTreeMap<TaskId, Task>,
    view: Option<View>,
    /// Problems seen while loading, for `check`.
    problems: Vec<String>,
    /// Bad journal lines were seen: keep the journal as evidence at the next compaction.
    journal_has_bad_lines: bool,
}

impl Engine {
    pub fn new(snapshot: PathBuf) -> Engine {
        Engine {
            paths: Paths::new(snapshot),
            lock: None,
            journal: None,
            tasks: BTreeMap::new(),
            view: None,
            problems: Vec::new(),
            journal_has_bad_lines: false,
        }
    }

    /// Runs one batch: lock, catch up, apply, append + sync once, unlock. Returns one answer per
    /// operation, in order.
    pub fn run_batch(&mut self, ops: Vec<Op>) -> Vec<Result<Reply, StoreError>> {
        let lock = match self.lock_file() {
            Ok(lock) => lock,
            Err(e) => return ops.iter().map(|_| Err(e.duplicate())).collect(),
        };
        if let Err(e) = lock.lock() {
            let e = StoreError::io("lock", &self.paths.lock, e);
            return ops.iter().map(|_| Err(e.duplicate())).collect();
        }
        let answers = self.run_locked(ops);
        let _ = lock.unlock();
        answers
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
            let is_write = !matches!(
                op,
                Op::Get(_) | Op::List(_) | Op::Scan(..) | Op::Stats | Op::Check | Op::Compact
            );
            writes.push(is_write);
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
            && let Err(e) = self.compact()
        {
            // The journal still holds every record; compaction will be tried again.
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
                let task = new.into_task(id, Timestamp::now())?;
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
                if task.apply(&transition, Timestamp::now())? == TransitionOutcome::Changed {
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
            Op::Compact => self.compact().map(|()| Reply::Unit(())),
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
        if let Some(view) = self.view {
            report.notes.push(format!(
                "snapshot {} ({} bytes)",
                self.paths.snapshot.display(),
                view.snapshot_len
            ));
            report.notes.push(format!(
                "journal {} ({} bytes, {} records not yet in the snapshot)",
                self.paths.journal.display(),
                view.journal_len,
                view.journal_lines
            ));
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
            .open(&self.paths.lock)
            .map_err(|e| StoreError::io("open the lock file", &self.paths.lock, e))?;
        let clone = lock
            .try_clone()
            .map_err(|e| StoreError::io("open", &self.paths.lock, e))?;
        self.lock = Some(lock);
        Ok(clone)
    }

    /// Brings the in-memory tasks up to date with the files (other processes may have written).
    fn refresh(&mut self) -> Result<(), StoreError> {
        let Some(view) = self.view else {
            return self.load_all();
        };
        let snapshot_ino = std::fs::metadata(&self.paths.snapshot)
            .map(|m| m.ino())
            .ok();
        let journal = std::fs::metadata(&self.paths.journal).ok();
        let same_files = snapshot_ino == Some(view.snapshot_ino)
            && journal
                .as_ref()
                .is_some_and(|m| m.ino() == view.journal_ino);
        let journal_len = journal.map_or(0, |m| m.len());
        if !same_files || journal_len < view.journal_len {
            return self.load_all();
        }
        if journal_len > view.journal_len + view.torn_tail {
            self.read_journal_from(view.journal_len)?;
        }
        Ok(())
    }

    /// Loads the snapshot and the journal from scratch, recovering from `.bak` when the
    /// snapshot is corrupt.
    fn load_all(&mut self) -> Result<(), StoreError> {
        self.tasks.clear();
        self.problems.clear();
        self.journal = None;
        self.view = None;
        let snapshot = &self.paths.snapshot.clone();
        if !snapshot.exists() {
            if self.paths.bak.exists() {
                return Err(StoreError::Corrupt {
                    message: format!(
                        "the task file {} is missing but its backup {} exists; restore it with \
                         `taskpilot store restore {}`, or move the backup away to start empty",
                        snapshot.display(),
                        self.paths.bak.display(),
                        self.paths.bak.display()
                    ),
                });
            }
            seed::write_atomically(snapshot, b"{}\n")?;
        }
        let mut needs_compaction = false;
        match seed::read_seed_file(snapshot) {
            Ok(contents) => {
                self.tasks = contents.tasks;
                if !contents.invalid.is_empty() {
                    self.keep_invalid_aside(&contents.invalid)?;
                    needs_compaction = true;
                }
            }
            Err(StoreError::Corrupt { message }) => {
                self.recover_from_bak(&message)?;
                needs_compaction = false;
            }
            Err(e) => return Err(e),
        }
        let snapshot_meta =
            std::fs::metadata(snapshot).map_err(|e| StoreError::io("read", snapshot, e))?;
        let journal = self.open_journal()?;
        let journal_ino = journal.metadata().map(|m| m.ino()).unwrap_or_default();
        self.journal = Some(journal);
        self.view = Some(View {
            snapshot_ino: snapshot_meta.ino(),
            snapshot_len: snapshot_meta.len(),
            journal_ino,
            ..View::default()
        });
        self.read_journal_from(0)?;
        if needs_compaction {
            self.compact()?;
        }
        Ok(())
    }

    /// The snapshot is unreadable: rebuild from `.bak` plus both journals, keep the corrupt
    /// file aside, and write a good snapshot.
    fn recover_from_bak(&mut self, why: &str) -> Result<(), StoreError> {
        let paths = self.paths.clone();
        let bak = match seed::read_seed_file(&paths.bak) {
            Ok(bak) => bak,
            Err(bak_error) => {
                return Err(StoreError::Corrupt {
                    message: format!(
                        "cannot load the tasks: {why}; and the backup cannot be used either: \
                         {bak_error}. Nothing was changed. Repair one of the two files by hand \
                         (or restore a backup with `taskpilot store restore FILE`), or move both \
                         away to start with an empty store."
                    ),
                });
            }
        };
        self.tasks = bak.tasks;
        if paths.journal_bak.exists() {
            let bytes = std::fs::read(&paths.journal_bak)
                .map_err(|e| StoreError::io("read", &paths.journal_bak, e))?;
            self.replay(journal::parse(&bytes, 0).records);
        }
        let aside = paths.aside(&paths.snapshot, "corrupt");
        std::fs::rename(&paths.snapshot, &aside)
            .map_err(|e| StoreError::io("move the corrupt task file aside to", &aside, e))?;
        tracing::warn!(
            "{why}. Recovered the tasks from {} and its journal; the corrupt file was kept as {}",
            paths.bak.display(),
            aside.display()
        );
        self.problems.push(format!(
            "recovered from {}; corrupt file kept as {}",
            paths.bak.display(),
            aside.display()
        ));
        // The current journal applies on top (replaying records already present is harmless).
        if paths.journal.exists() {
            let bytes = std::fs::read(&paths.journal)
                .map_err(|e| StoreError::io("read", &paths.journal, e))?;
            self.replay(journal::parse(&bytes, 0).records);
        }
        seed::write_seed_file(&paths.snapshot, self.tasks.values())
    }

    fn keep_invalid_aside(&mut self, invalid: &[seed::InvalidRecord]) -> Result<(), StoreError> {
        let aside = with_suffix(&self.paths.aside(&self.paths.snapshot, "invalid"), ".json");
        let records: BTreeMap<&str, &serde_json::value::RawValue> = invalid
            .iter()
            .map(|r| (r.key.as_str(), r.raw.as_ref()))
            .collect();
        let bytes = serde_json::to_vec_pretty(&records).unwrap_or_default();
        seed::write_atomically(&aside, &bytes)?;
        for record in invalid {
            let msg = format!(
                "task record {} in {} is invalid ({}); it was moved to {}",
                record.key,
                self.paths.snapshot.display(),
                record.reason,
                aside.display()
            );
            tracing::warn!("{msg}");
            self.problems.push(msg);
        }
        Ok(())
    }

    fn open_journal(&self) -> Result<File, StoreError> {
        let existed = self.paths.journal.exists();
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&self.paths.journal)
            .map_err(|e| StoreError::io("open the journal", &self.paths.journal, e))?;
        if !existed {
            sync_dir(parent_dir(&self.paths.journal))?;
        }
        Ok(file)
    }

    fn read_journal_from(&mut self, offset: u64) -> Result<(), StoreError> {
        let (Some(journal), Some(mut view)) = (&self.journal, self.view) else {
            return Ok(());
        };
        let len = journal
            .metadata()
            .map_err(|e| StoreError::io("read", &self.paths.journal, e))?
            .len();
        let mut bytes = vec![0; (len - offset) as usize];
        journal
            .read_exact_at(&mut bytes, offset)
            .map_err(|e| StoreError::io("read", &self.paths.journal, e))?;
        let parsed = journal::parse(&bytes, view.journal_lines);
        for (line, reason) in &parsed.bad_lines {
            let msg = format!(
                "{}:{line}: skipped an unreadable journal record ({reason})",
                self.paths.journal.display()
            );
            tracing::warn!("{msg}");
            self.problems.push(msg);
            self.journal_has_bad_lines = true;
        }
        if parsed.torn_tail > 0 {
            let msg = format!(
                "{}: ignored a torn last record ({} bytes) left by an interrupted write; it was never acknowledged",
                self.paths.journal.display(),
                parsed.torn_tail
            );
            tracing::warn!("{msg}");
        }
        view.journal_len = offset + parsed.consumed;
        view.journal_lines += parsed.lines;
        view.torn_tail = parsed.torn_tail;
        self.view = Some(view);
        self.replay(parsed.records);
        Ok(())
    }

    fn replay(&mut self, records: Vec<Record>) {
        for record in records {
            match record {
                Record::Put(task) => {
                    self.tasks.insert(task.id.clone(), task);
                }
                Record::Delete(id) => {
                    self.tasks.remove(&id);
                }
            }
        }
    }

    /// Appends records and makes them durable. On failure the journal is cut back to where it
    /// was, so no half-written record is left behind.
    fn append(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        let (Some(journal), Some(mut view)) = (&self.journal, self.view) else {
            return Err(StoreError::Corrupt {
                message: "the store is not loaded".into(),
            });
        };
        let path = &self.paths.journal;
        if view.torn_tail > 0 {
            journal
                .set_len(view.journal_len)
                .map_err(|e| StoreError::io("cut the torn record off", path, e))?;
            view.torn_tail = 0;
        }
        let mut writer = journal;
        let result = writer
            .write_all(bytes)
            .map_err(|e| StoreError::io("append to", path, e))
            .and_then(|()| {
                journal
                    .sync_data()
                    .map_err(|e| StoreError::io("sync", path, e))
            });
        if let Err(e) = result {
            let _ = journal.set_len(view.journal_len);
            let _ = journal.sync_data();
            self.view = Some(view);
            return Err(e);
        }
        view.journal_len += bytes.len() as u64;
        view.journal_lines += bytes.iter().filter(|&&b| b == b'\n').count() as u64;
        self.view = Some(view);
        Ok(())
    }

    fn compaction_due(&self) -> bool {
        self.view.is_some_and(|v| {
            v.journal_len > COMPACT_MIN_JOURNAL_BYTES && v.journal_len > v.snapshot_len
        })
    }

    /// Writes every task into a new snapshot; the old one becomes `.bak` and the journal
    /// `.journal.bak`; a fresh journal starts. Each step leaves a loadable store.
    fn compact(&mut self) -> Result<(), StoreError> {
        let paths = self.paths.clone();
        let dir = parent_dir(&paths.snapshot);
        let tmp = with_suffix(&paths.snapshot, ".tmp");
        let bytes = seed::serialize_seed(self.tasks.values())?;
        let write_tmp = || -> std::io::Result<()> {
            let mut file = File::create(&tmp)?;
            file.write_all(&bytes)?;
            file.sync_all()
        };
        if let Err(e) = write_tmp() {
            let _ = std::fs::remove_file(&tmp);
            return Err(StoreError::io("write", &tmp, e));
        }
        // The current snapshot becomes the backup (a hard link keeps the snapshot in place).
        if paths.snapshot.exists() {
            let bak_tmp = with_suffix(&paths.bak, ".tmp");
            let _ = std::fs::remove_file(&bak_tmp);
            if std::fs::hard_link(&paths.snapshot, &bak_tmp).is_err() {
                std::fs::copy(&paths.snapshot, &bak_tmp)
                    .map_err(|e| StoreError::io("copy the snapshot to", &bak_tmp, e))?;
            }
            std::fs::rename(&bak_tmp, &paths.bak)
                .map_err(|e| StoreError::io("replace", &paths.bak, e))?;
        }
        std::fs::rename(&tmp, &paths.snapshot)
            .map_err(|e| StoreError::io("replace", &paths.snapshot, e))?;
        if self.journal_has_bad_lines && paths.journal.exists() {
            let evidence = paths.aside(&paths.journal, "corrupt");
            let _ = std::fs::copy(&paths.journal, &evidence);
            self.journal_has_bad_lines = false;
        }
        if paths.journal.exists() {
            std::fs::rename(&paths.journal, &paths.journal_bak)
                .map_err(|e| StoreError::io("replace", &paths.journal_bak, e))?;
        }
        sync_dir(dir)?;
        let journal = self.open_journal()?;
        let snapshot_meta = std::fs::metadata(&paths.snapshot)
            .map_err(|e| StoreError::io("read", &paths.snapshot, e))?;
        self.view = Some(View {
            snapshot_ino: snapshot_meta.ino(),
            snapshot_len: snapshot_meta.len(),
            journal_ino: journal.metadata().map(|m| m.ino()).unwrap_or_default(),
            ..View::default()
        });
        self.journal = Some(journal);
        Ok(())
    }
}
