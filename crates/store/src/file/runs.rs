//! Runs beside the file store: the directory `<TASKS_FILE>.runs/` (`.tasks.json.runs/`; when
//! `TASKS_FILE` is a symlink, beside the file it points to, as the journal and lock are), one
//! `<run id>.json` per run, an empty `open/<run id>` marker while a run is queued or running,
//! an empty `by-task/<task id>/<run id>` marker once a run names its task (a hint: a run read
//! through it counts only if it still names the task), and `.lock`, which every process takes while it changes a run (so the conditional write
//! holds across processes, as the tasks file's lock does for tasks). A run file is replaced
//! whole (temporary file, sync, rename, sync of the directory), so readers need no lock.
//!
//! Not here: the rules of a run's life (`crate::shared::RunBook`); decisions, which the file
//! store leaves to `DECISION_LOGS_FILE`.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::FileStore;
use crate::StoreError;
use crate::shared::{RunRecord, RunRecords, is_safe_id};

/// `<tasks_file>.runs`. Pass the task file itself (a symlink resolved, as
/// [`FileStore::real_path`] is): the runs follow the file, not the link.
pub fn runs_dir(tasks_file: &Path) -> PathBuf {
    let mut name = tasks_file.as_os_str().to_owned();
    name.push(".runs");
    PathBuf::from(name)
}

struct Dir {
    root: PathBuf,
}

impl Dir {
    fn file(&self, run_id: &str) -> PathBuf {
        self.root.join(format!("{run_id}.json"))
    }

    fn marker(&self, run_id: &str) -> PathBuf {
        self.root.join("open").join(run_id)
    }

    fn task_dir(&self, task_id: &str) -> PathBuf {
        self.root.join("by-task").join(task_id)
    }

    /// The run ids of the run files, oldest first.
    fn run_ids(&self) -> Result<Vec<String>, StoreError> {
        Ok(self
            .names(&self.root)?
            .into_iter()
            .filter_map(|n| n.strip_suffix(".json").map(str::to_owned))
            .collect())
    }

    /// The runs with these ids, in that order (a run gone meanwhile is skipped).
    fn read_all(&self, ids: Vec<String>) -> Result<Vec<RunRecord>, StoreError> {
        let mut runs = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(run) = self.read(&id)? {
                runs.push(run);
            }
        }
        Ok(runs)
    }

    /// Takes the directory's lock (creating the directories first); released on drop.
    fn lock(&self) -> Result<File, StoreError> {
        let open = self.root.join("open");
        fs::create_dir_all(&open).map_err(|e| StoreError::io("create", &open, e))?;
        let path = self.root.join(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::io("open the lock file", &path, e))?;
        file.lock().map_err(|e| StoreError::io("lock", &path, e))?;
        Ok(file)
    }

    fn read(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError> {
        if !is_safe_id(run_id) {
            return Ok(None); // no such file can exist: the write refuses such ids
        }
        let path = self.file(run_id);
        match fs::read_to_string(&path) {
            Ok(text) => RunRecord::from_json(&text).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io("read", &path, e)),
        }
    }

    /// Writes the run whole and durably, and its markers.
    fn write(&self, run: &RunRecord) -> Result<(), StoreError> {
        run.check_ids()?;
        let path = self.file(&run.run_id);
        let tmp = self.root.join(format!("{}.json.tmp", run.run_id));
        let json = run.to_json()?;
        let mut file = File::create(&tmp).map_err(|e| StoreError::io("create", &tmp, e))?;
        file.write_all(json.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(|e| StoreError::io("write", &tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| StoreError::io("rename into place", &path, e))?;
        let marker = self.marker(&run.run_id);
        if run.status.is_done() {
            match fs::remove_file(&marker) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::io("remove", &marker, e)),
            }
        } else {
            File::create(&marker).map_err(|e| StoreError::io("create", &marker, e))?;
        }
        if let Some(task_id) = &run.task_id {
            let dir = self.task_dir(task_id);
            fs::create_dir_all(&dir).map_err(|e| StoreError::io("create", &dir, e))?;
            let marker = dir.join(&run.run_id);
            File::create(&marker).map_err(|e| StoreError::io("create", &marker, e))?;
        }
        File::open(&self.root)
            .and_then(|d| d.sync_all())
            .map_err(|e| StoreError::io("sync", &self.root, e))
    }

    fn names(&self, dir: &Path) -> Result<Vec<String>, StoreError> {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StoreError::io("list", dir, e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io("list", dir, e))?;
            if let Some(name) = entry.file_name().to_str() {
                names.push(name.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }
}

impl FileStore {
    async fn with_runs<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Dir) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let dir = Dir {
            root: runs_dir(&self.real),
        };
        tokio::task::spawn_blocking(move || op(&dir))
            .await
            .map_err(|e| StoreError::Corrupt {
                message: format!("the runs directory task stopped: {e}"),
            })?
    }
}

#[async_trait]
impl RunRecords for FileStore {
    async fn insert_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        let run = run.clone();
        self.with_runs(move |dir| {
            let _lock = dir.lock()?;
            if dir.file(&run.run_id).exists() {
                return Err(StoreError::Corrupt {
                    message: format!("run {} already exists", run.run_id),
                });
            }
            dir.write(&run)
        })
        .await
    }

    async fn load_run(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError> {
        let run_id = run_id.to_owned();
        self.with_runs(move |dir| dir.read(&run_id)).await
    }

    async fn replace_run(&self, run: &RunRecord, expected: u64) -> Result<bool, StoreError> {
        let run = run.clone();
        self.with_runs(move |dir| {
            let _lock = dir.lock()?;
            match dir.read(&run.run_id)? {
                Some(stored) if stored.version == expected => {
                    dir.write(&run)?;
                    Ok(true)
                }
                _ => Ok(false),
            }
        })
        .await
    }

    async fn list_runs(&self, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        self.with_runs(move |dir| {
            let mut ids = dir.run_ids()?;
            ids.reverse();
            ids.truncate(limit);
            dir.read_all(ids)
        })
        .await
    }

    async fn put_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        let run = run.clone();
        self.with_runs(move |dir| {
            let _lock = dir.lock()?;
            dir.write(&run)
        })
        .await
    }

    async fn scan_runs(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RunRecord>, StoreError> {
        let after = after.map(str::to_owned);
        self.with_runs(move |dir| {
            let ids = dir
                .run_ids()?
                .into_iter()
                .filter(|id| after.as_deref().is_none_or(|after| id.as_str() > after))
                .take(limit)
                .collect();
            dir.read_all(ids)
        })
        .await
    }

    async fn runs_for_task(&self, task_id: &str) -> Result<Vec<RunRecord>, StoreError> {
        let task_id = task_id.to_owned();
        self.with_runs(move |dir| {
            if !is_safe_id(&task_id) {
                return Ok(Vec::new());
            }
            let ids = dir.names(&dir.task_dir(&task_id))?;
            let mut runs = dir.read_all(ids)?;
            runs.retain(|r| r.task_id.as_deref() == Some(task_id.as_str()));
            Ok(runs)
        })
        .await
    }

    async fn open_run_ids(&self) -> Result<Vec<String>, StoreError> {
        self.with_runs(move |dir| dir.names(&dir.root.join("open")))
            .await
    }
}
