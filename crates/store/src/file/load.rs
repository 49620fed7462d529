//! Loading the file store from its files, and every repair a load may make: a journal that
//! continues another snapshot set aside, a fold interrupted by a crash completed, a corrupt
//! snapshot rebuilt from `.bak` and the journals (or from a journal that starts from an empty
//! store), invalid and duplicate records moved out. Each repair is logged, recorded in the
//! recovery log and reported by `check`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use taskpilot_core::TimeStyle;
use taskpilot_plumbing::fs::{parent_dir, sync_dir, with_suffix, write_atomic};

use super::engine::{Engine, FileId, OpenMode, View};
use super::journal::{self, Header};
use super::recovery_log;
use crate::StoreError;
use crate::seed::{self, SeedContents};

/// What an empty store's snapshot holds.
const EMPTY_SNAPSHOT: &[u8] = b"{}\n";

impl Engine {
    /// Loads the snapshot and the journal from scratch.
    pub(super) fn load_all(&mut self) -> Result<(), StoreError> {
        self.tasks.clear();
        self.problems.clear();
        self.journal = None;
        self.view = None;
        let paths = self.paths.clone();
        let bytes = match std::fs::read(&paths.snapshot) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => self.start_missing_snapshot()?,
            Err(e) => return Err(StoreError::io("read", &paths.snapshot, e)),
        };
        let mut needs_fold = false;
        let mut recovered = false;
        match seed::parse_seed(&bytes) {
            Ok(contents) => {
                needs_fold |= self.take_contents(contents)?;
                self.view = Some(self.view_of_snapshot(&bytes)?);
                self.open_journal()?;
            }
            Err(e) => {
                let why = format!(
                    "{} is not a task file (a JSON object keyed by task id): {e}",
                    paths.snapshot.display()
                );
                self.recover(&why)?;
                recovered = true;
            }
        }
        needs_fold |= self.settle_time_style();
        if recovered {
            // The rebuilt tasks exist only in memory until this fold writes them.
            self.fold()?;
        } else if needs_fold && let Err(e) = self.fold() {
            // The snapshot and the journal on disk still hold every task: a tidy-up that
            // cannot be written now (a full disk, say) must not stop the store from opening.
            tracing::warn!(
                store = %paths.snapshot.display(),
                "could not rewrite the task file at open: {e}; the journal keeps every change"
            );
        }
        Ok(())
    }

    fn view_of_snapshot(&self, bytes: &[u8]) -> Result<View, StoreError> {
        let snapshot = FileId::of(&self.paths.snapshot)
            .map_err(|e| StoreError::io("read", &self.paths.snapshot, e))?;
        Ok(View {
            snapshot,
            header: snapshot.header(bytes),
            journal_ino: None,
            journal_len: 0,
            journal_lines: 0,
            journal_records: 0,
            torn_tail: 0,
        })
    }

    /// The snapshot does not exist: a new store, unless a `.bak` says there was one.
    fn start_missing_snapshot(&mut self) -> Result<Vec<u8>, StoreError> {
        let paths = self.paths.clone();
        if paths.bak.exists() && self.mode == OpenMode::Normal {
            return Err(StoreError::Corrupt {
                message: format!(
                    "the task file {} is missing but its previous version {} exists; nothing \
                     was changed. Restore it with `taskpilot store restore {}`, or move {} \
                     away to start an empty store",
                    paths.snapshot.display(),
                    paths.bak.display(),
                    paths.bak.display(),
                    paths.bak.display()
                ),
            });
        }
        // A journal left beside a missing snapshot continued a file that is gone.
        if paths.journal.exists() {
            self.set_journal_aside(&format!(
                "{} was missing; its journal continued a file that is gone",
                paths.snapshot.display()
            ))?;
        }
        write_atomic(&paths.snapshot, EMPTY_SNAPSHOT)?;
        Ok(EMPTY_SNAPSHOT.to_vec())
    }

    /// Takes a parsed snapshot's tasks; invalid and duplicate records are moved aside.
    /// Returns whether the snapshot must be rewritten.
    fn take_contents(&mut self, contents: SeedContents) -> Result<bool, StoreError> {
        self.tasks = contents.tasks;
        let mut rewrite = false;
        if !contents.invalid.is_empty() {
            self.keep_invalid_aside(&contents.invalid)?;
            rewrite = true;
        }
        if !contents.duplicates.is_empty() {
            self.keep_duplicates_aside(&contents.duplicates)?;
            rewrite = true;
        }
        Ok(rewrite)
    }

    /// Opens the journal if there is one and replays it, if it continues this snapshot.
    fn open_journal(&mut self) -> Result<(), StoreError> {
        let paths = self.paths.clone();
        let file = match std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .open(&paths.journal)
        {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(StoreError::io("open the journal", &paths.journal, e)),
        };
        let bytes =
            std::fs::read(&paths.journal).map_err(|e| StoreError::io("read", &paths.journal, e))?;
        let parsed = journal::parse(&bytes, 0);
        let Some(view) = self.view.clone() else {
            return Ok(());
        };
        if parsed.lines == 0 {
            // Not one complete line: a process stopped right after starting this journal, so
            // nothing in it was acknowledged. The next write starts a journal with a header.
            drop(file);
            std::fs::remove_file(&paths.journal)
                .map_err(|e| StoreError::io("remove the empty journal", &paths.journal, e))?;
            sync_dir(parent_dir(&paths.journal))?;
            return Ok(());
        }
        match &parsed.header {
            Some(header) if header.continues(&view.header) => {}
            // Written by a version without headers: it continues whatever the snapshot is.
            None => {}
            Some(header) if digest_of(&paths.bak).as_deref() == Some(header.sha256.as_str()) => {
                // A fold was interrupted after the new snapshot was installed: the journal is
                // already in it. Finish the fold (keeping a journal with unreadable lines as
                // evidence first, as the fold would have) and record it.
                drop(file);
                if !parsed.bad_lines.is_empty() {
                    self.note_bad_lines(&parsed.bad_lines);
                    self.keep_bad_journal_as_evidence();
                }
                self.retire_journal()?;
                sync_dir(parent_dir(&paths.journal))?;
                let what = format!(
                    "completed a fold interrupted after {} was replaced: the journal {} was \
                     already in it and was retired as {}",
                    paths.snapshot.display(),
                    paths.journal.display(),
                    paths.journal_bak.display()
                );
                tracing::info!(store = %paths.snapshot.display(), "{what}");
                recovery_log::append(&paths.recovery_log, &what, &[&paths.journal_bak])?;
                return Ok(());
            }
            Some(_) => {
                drop(file);
                return self.set_journal_aside(&format!(
                    "{} was replaced or edited by something other than TaskPilot; the journal \
                     continued the earlier file and was not replayed over it",
                    paths.snapshot.display()
                ));
            }
        }
        let ino = std::os::unix::fs::MetadataExt::ino(
            &file
                .metadata()
                .map_err(|e| StoreError::io("read", &paths.journal, e))?,
        );
        self.journal = Some(file);
        self.view = Some(View {
            journal_ino: Some(ino),
            ..view
        });
        self.read_journal_from(0)
    }

    /// Renames the journal to `.journal.stale-<time>`, warns naming it, and records why.
    fn set_journal_aside(&mut self, why: &str) -> Result<(), StoreError> {
        let paths = self.paths.clone();
        let aside = paths.aside(&paths.journal, "stale");
        std::fs::rename(&paths.journal, &aside)
            .map_err(|e| StoreError::io("set the journal aside as", &aside, e))?;
        sync_dir(parent_dir(&aside))?;
        let msg = format!("{why}; it was kept as {}", aside.display());
        tracing::warn!("{msg}");
        recovery_log::append(&paths.recovery_log, why, &[&aside])?;
        self.problems.push(msg);
        Ok(())
    }

    /// The snapshot is unreadable: rebuild the tasks from everything there is (`.bak` and the
    /// journals that continue it, or a journal that starts from an empty store), keep the
    /// corrupt file aside, and leave the rebuilt tasks for the caller to fold.
    fn recover(&mut self, why: &str) -> Result<(), StoreError> {
        let paths = self.paths.clone();
        let journal = read_journal(&paths.journal)?;
        let journal_bak = read_journal(&paths.journal_bak)?;
        let mut used: Vec<PathBuf> = Vec::new();
        if self.mode == OpenMode::Restore {
            self.tasks = BTreeMap::new();
        } else if paths.bak.exists() {
            let bak =
                seed::read_seed_file(&paths.bak).map_err(|bak_error| StoreError::Corrupt {
                    message: format!(
                        "cannot load the tasks: {why}; and the previous version cannot be used \
                     either: {bak_error}. Nothing was changed. Repair one of the two files by \
                     hand, or start from a backup you trust with `taskpilot store restore \
                     --replace --yes BACKUP.json` (it sets the damaged file aside)"
                    ),
                })?;
            self.tasks = bak.tasks;
            used.push(paths.bak.clone());
            let bak_digest = digest_of(&paths.bak);
            if let Some(parsed) = journal_bak
                && parsed
                    .header
                    .as_ref()
                    .is_none_or(|h| Some(&h.sha256) == bak_digest.as_ref())
            {
                self.replay(parsed.records);
                used.push(paths.journal_bak.clone());
            }
            // Records are whole tasks: replaying the current journal on top is safe whichever
            // snapshot it continued.
            if let Some(parsed) = journal {
                self.replay(parsed.records);
                used.push(paths.journal.clone());
            }
        } else {
            let empty = journal::digest(EMPTY_SNAPSHOT);
            match journal {
                Some(parsed) if parsed.header.as_ref().is_some_and(|h| h.sha256 == empty) => {
                    self.replay(parsed.records);
                    used.push(paths.journal.clone());
                }
                Some(_) => {
                    return Err(StoreError::Corrupt {
                        message: format!(
                            "cannot load the tasks: {why}. There is no previous version ({}) \
                             and the journal {} only holds the changes made after that file \
                             was written. Nothing was changed. Repair the file by hand, or \
                             start from a backup with `taskpilot store restore --replace --yes \
                             BACKUP.json` (it sets the damaged file aside)",
                            paths.bak.display(),
                            paths.journal.display()
                        ),
                    });
                }
                None => {
                    return Err(StoreError::Corrupt {
                        message: format!(
                            "cannot load the tasks: {why}. There is no previous version ({}) \
                             and no journal to rebuild from. Nothing was changed. Repair the \
                             file by hand, or start from a backup with `taskpilot store \
                             restore --replace --yes BACKUP.json` (it sets the damaged file \
                             aside)",
                            paths.bak.display()
                        ),
                    });
                }
            }
        }
        let aside = paths.aside(&paths.snapshot, "corrupt");
        std::fs::rename(&paths.snapshot, &aside)
            .map_err(|e| StoreError::io("move the corrupt task file aside to", &aside, e))?;
        if paths.journal.exists() {
            // Its records are in the rebuilt tasks (or, restoring, unwanted); it must not be
            // replayed over them again.
            let kind = if used.contains(&paths.journal) {
                "recovered"
            } else {
                "stale"
            };
            let used_journal = paths.aside(&paths.journal, kind);
            std::fs::rename(&paths.journal, &used_journal)
                .map_err(|e| StoreError::io("set the journal aside as", &used_journal, e))?;
        }
        let sources = if used.is_empty() {
            "nothing (the store starts empty to receive a restore)".to_owned()
        } else {
            used.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" + ")
        };
        let what = format!(
            "{why}. {} tasks were recovered from {sources}; the unreadable file was kept as {}",
            self.tasks.len(),
            aside.display()
        );
        tracing::warn!("{what}");
        recovery_log::append(&paths.recovery_log, &what, &[&aside])?;
        self.problems.push(what);
        // The fold that follows writes the rebuilt snapshot; until then the view describes an
        // empty snapshot with no journal.
        self.view = Some(View {
            snapshot: FileId::of(&aside).map_err(|e| StoreError::io("read", &aside, e))?,
            header: Header::of(b""),
            journal_ino: None,
            journal_len: 0,
            journal_lines: 0,
            journal_records: 0,
            torn_tail: 0,
        });
        Ok(())
    }

    /// One style of timestamps per file: with the seed's naive form (anything but a file that
    /// uses offsets throughout), offset timestamps are rewritten as naive UTC. Returns whether
    /// a task changed.
    fn settle_time_style(&mut self) -> bool {
        self.style = TimeStyle::of(self.tasks.values().map(|t| &t.created_at));
        let style = self.style;
        let mut changed = false;
        for task in self.tasks.values_mut() {
            let before = (task.created_at, task.reviewed_at, task.executed_at);
            task.created_at = task.created_at.in_style(style);
            task.reviewed_at = task.reviewed_at.map(|t| t.in_style(style));
            task.executed_at = task.executed_at.map(|t| t.in_style(style));
            changed |= before != (task.created_at, task.reviewed_at, task.executed_at);
        }
        if changed {
            tracing::info!(
                store = %self.paths.snapshot.display(),
                "timestamps with an offset rewritten in the file's naive UTC style"
            );
        }
        changed
    }

    fn keep_invalid_aside(&mut self, invalid: &[seed::InvalidRecord]) -> Result<(), StoreError> {
        let aside = with_suffix(&self.paths.aside(&self.paths.snapshot, "invalid"), ".json");
        let records: BTreeMap<&str, &serde_json::value::RawValue> = invalid
            .iter()
            .map(|r| (r.key.as_str(), r.raw.as_ref()))
            .collect();
        let bytes = serde_json::to_vec_pretty(&records).unwrap_or_default();
        write_atomic(&aside, &bytes)?;
        for record in invalid {
            let msg = format!(
                "task record {} in {} is invalid ({}); it was moved to {}",
                record.key,
                self.paths.snapshot.display(),
                record.reason,
                aside.display()
            );
            tracing::warn!("{msg}");
            recovery_log::append(&self.paths.recovery_log, &msg, &[&aside])?;
            self.problems.push(msg);
        }
        Ok(())
    }

    fn keep_duplicates_aside(&mut self, duplicates: &[seed::Duplicate]) -> Result<(), StoreError> {
        let aside = with_suffix(
            &self.paths.aside(&self.paths.snapshot, "duplicates"),
            ".json",
        );
        let records: Vec<serde_json::Value> = duplicates
            .iter()
            .flat_map(|d| {
                d.copies
                    .iter()
                    .map(|raw| serde_json::json!({ "key": d.key, "record": raw }))
            })
            .collect();
        let bytes = serde_json::to_vec_pretty(&records).unwrap_or_default();
        write_atomic(&aside, &bytes)?;
        for duplicate in duplicates {
            let msg = format!(
                "task id {} appears {} times in {}; the last copy is kept (as Python's json.load \
                 does) and every copy was saved to {}",
                duplicate.key,
                duplicate.copies.len(),
                self.paths.snapshot.display(),
                aside.display()
            );
            tracing::warn!("{msg}");
            recovery_log::append(&self.paths.recovery_log, &msg, &[&aside])?;
            self.problems.push(msg);
        }
        Ok(())
    }
}

/// The SHA-256 of a file, if it can be read.
fn digest_of(path: &Path) -> Option<String> {
    std::fs::read(path).ok().map(|b| journal::digest(&b))
}

/// A whole journal, parsed; `None` when there is none.
fn read_journal(path: &Path) -> Result<Option<journal::Parsed>, StoreError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(journal::parse(&bytes, 0))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io("read", path, e)),
    }
}
