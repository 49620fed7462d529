//! The JSON file store (the default backend): the seed's `.tasks.json` plus, while a process
//! has the store open, an append-only journal, so a write costs one small append and one sync
//! whatever the store's size. Closing the store (the last handle dropped, or
//! [`TaskStore::close`]) and an idle period fold the journal into `.tasks.json`, so the file
//! alone holds every task whenever no process has it open.
//!
//! Files kept next to `TASKS_FILE` (docs/STORAGE.md explains each and the crash argument):
//! `.tasks.json` (snapshot, seed format), `.tasks.json.journal` (changes since the snapshot,
//! only while open), `.tasks.json.bak` and `.tasks.json.journal.bak` (the previous snapshot and
//! the changes that led from it to the current one), `.tasks.json.lock` (the lock every
//! process takes), `.tasks.json.tmp` (only while a snapshot is written),
//! `.tasks.json.recovery.log` (only after a repair).
//!
//! [`FileStore`] is a handle to an engine on its own thread; concurrent calls are batched so
//! they share one sync (group commit).

mod engine;
mod failpoints;
mod journal;
mod load;
mod recovery_log;
mod runs;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use async_trait::async_trait;
use taskpilot_core::{NewTask, Status, Task, TaskId, Transition};
use taskpilot_plumbing::batch::{Next, next_batch};
use taskpilot_plumbing::fs::parent_dir;
use tokio::sync::oneshot;

use self::engine::{Engine, Op, Reply};
pub use self::engine::{OpenMode, Paths};
pub use self::failpoints::FAILPOINTS;
pub use self::runs::runs_dir;
use crate::{CheckReport, ListQuery, Stats, StoreError, TaskStore};

/// The most operations applied (and synced) together.
const MAX_BATCH: usize = 4096;

/// A store that has had no work for this long folds its journal (a long-running server).
pub const IDLE_FOLD: Duration = Duration::from_secs(2);

/// How to open a file store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Normal, or restoring over a missing or unreadable snapshot.
    pub mode: OpenMode,
    /// Fold the journal after this long without work; `None` folds only at close and on
    /// `compact` (tests that need a journal left in place).
    pub idle_fold: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mode: OpenMode::Normal,
            idle_fold: Some(IDLE_FOLD),
        }
    }
}

type Job = (Op, oneshot::Sender<Result<Reply, StoreError>>);

/// A handle to the file store at one path. Cheap to share behind an `Arc`; dropping it lets
/// the engine finish queued work, fold the journal, and stop (the drop waits for that).
pub struct FileStore {
    path: PathBuf,
    /// `path` resolved through symlinks: the file the engine writes, beside which the runs
    /// directory sits too.
    real: PathBuf,
    jobs: Option<mpsc::Sender<Job>>,
    engine: Option<std::thread::JoinHandle<()>>,
    /// Set by [`FileStore::abandon`]: stop without folding.
    abandoned: Arc<AtomicBool>,
}

impl FileStore {
    /// Opens (creating if needed) the store whose snapshot is `path`, and loads it, so a corrupt
    /// or unreadable store is reported here, before any work.
    pub async fn open(path: PathBuf) -> Result<FileStore, StoreError> {
        FileStore::open_with(path, Options::default()).await
    }

    /// Opens the store with `options` (see [`Options`]). `path` is resolved through symlinks, so
    /// the journal and lock live beside the real file and a fold replaces the file, not the
    /// link; anything but a regular file is refused before a file is created.
    pub async fn open_with(path: PathBuf, options: Options) -> Result<FileStore, StoreError> {
        let real = resolve(&path)?;
        let (jobs, queue) = mpsc::channel::<Job>();
        let mut engine = Engine::new(real.clone(), options.mode);
        let abandoned = Arc::new(AtomicBool::new(false));
        let flag = abandoned.clone();
        let thread = std::thread::Builder::new()
            .name("taskpilot-file-store".into())
            .spawn(move || run_engine(&mut engine, queue, options.idle_fold, &flag))
            .map_err(|e| StoreError::io("start the writer thread for", &path, e))?;
        let store = FileStore {
            path,
            real,
            jobs: Some(jobs),
            engine: Some(thread),
            abandoned,
        };
        store.call(Op::Check).await?;
        Ok(store)
    }

    /// The task file this store was opened on, as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The task file itself: [`FileStore::path`] resolved through symlinks (as it was when the
    /// store opened). The journal, the lock and the runs directory sit beside it.
    pub fn real_path(&self) -> &Path {
        &self.real
    }

    /// Test aid: stops the engine the way a killed process stops, leaving the journal unfolded.
    #[doc(hidden)]
    pub fn abandon(self) {
        self.abandoned.store(true, Ordering::SeqCst);
    }

    async fn call(&self, op: Op) -> Result<Reply, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .as_ref()
            .ok_or_else(|| stopped(&self.path))?
            .send((op, reply))
            .map_err(|_| stopped(&self.path))?;
        answer.await.map_err(|_| stopped(&self.path))?
    }
}

impl Drop for FileStore {
    /// The safety net behind [`TaskStore::close`]: the engine folds what is left and stops.
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(engine) = self.engine.take() {
            let _ = engine.join();
        }
    }
}

/// `path` with every symlink resolved (a dangling link resolves to its target), refused unless
/// it is a regular file or does not exist yet.
fn resolve(path: &Path) -> Result<PathBuf, StoreError> {
    let mut real = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&real) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = std::fs::read_link(&real)
                    .map_err(|e| StoreError::io("read the symlink", &real, e))?;
                real = parent_dir(&real).join(target);
            }
            Ok(meta) if meta.is_file() => {
                return std::fs::canonicalize(&real)
                    .map_err(|e| StoreError::io("resolve", &real, e));
            }
            Ok(meta) => {
                return Err(StoreError::Corrupt {
                    message: format!(
                        "TASKS_FILE {} is {}, not a regular file; nothing was created. Point \
                         TASKS_FILE at a regular file (or a path where one can be created)",
                        describe_path(path, &real),
                        kind_of(&meta)
                    ),
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(real),
            Err(e) => return Err(StoreError::io("inspect", &real, e)),
        }
    }
    Err(StoreError::Corrupt {
        message: format!(
            "TASKS_FILE {}: too many levels of symbolic links",
            path.display()
        ),
    })
}

fn describe_path(given: &Path, real: &Path) -> String {
    if given == real {
        given.display().to_string()
    } else {
        format!("{} (→ {})", given.display(), real.display())
    }
}

fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

fn stopped(path: &Path) -> StoreError {
    StoreError::Corrupt {
        message: format!("the file store for {} has stopped", path.display()),
    }
}

fn run_engine(
    engine: &mut Engine,
    queue: mpsc::Receiver<Job>,
    idle_fold: Option<Duration>,
    abandoned: &AtomicBool,
) {
    loop {
        let batch = match next_batch(&queue, MAX_BATCH, idle_fold) {
            Next::Batch(batch) => batch,
            Next::Idle => {
                fold_quietly(engine, "after an idle period");
                continue;
            }
            Next::Closed => {
                if !abandoned.load(Ordering::SeqCst) {
                    fold_quietly(engine, "at close");
                }
                return;
            }
        };
        let (ops, replies): (Vec<Op>, Vec<_>) = batch.into_iter().unzip();
        for (answer, reply) in engine.run_batch(ops).into_iter().zip(replies) {
            let _ = reply.send(answer);
        }
    }
}

/// Folds a pending journal; a failure leaves the journal, which the next open replays.
fn fold_quietly(engine: &mut Engine, when: &str) {
    if let Err(e) = engine.fold_if_pending() {
        tracing::warn!(
            "could not fold the journal into the task file {when}: {e}; it stays in the journal and is replayed at the next open"
        );
    }
}

macro_rules! expect_reply {
    ($reply:expr, $variant:ident) => {
        match $reply? {
            Reply::$variant(value) => Ok(value),
            _ => unreachable!("the engine answers each operation with its own reply kind"),
        }
    };
}

#[async_trait]
impl TaskStore for FileStore {
    fn describe(&self) -> String {
        format!("file://{}", self.path.display())
    }

    fn run_records(&self) -> Option<&dyn crate::shared::RunRecords> {
        Some(self)
    }

    async fn create(&self, new: NewTask) -> Result<Task, StoreError> {
        expect_reply!(self.call(Op::Create(new)).await, Task)
    }

    async fn get(&self, id: &TaskId) -> Result<Task, StoreError> {
        expect_reply!(self.call(Op::Get(id.clone())).await, Task)
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<Task>, StoreError> {
        expect_reply!(self.call(Op::List(query.clone())).await, Tasks)
    }

    async fn scan(&self, after: Option<&TaskId>, limit: usize) -> Result<Vec<Task>, StoreError> {
        expect_reply!(self.call(Op::Scan(after.cloned(), limit)).await, Tasks)
    }

    async fn stats(&self) -> Result<Stats, StoreError> {
        expect_reply!(self.call(Op::Stats).await, Stats)
    }

    async fn transition(&self, id: &TaskId, transition: &Transition) -> Result<Task, StoreError> {
        expect_reply!(
            self.call(Op::Transition(id.clone(), transition.clone()))
                .await,
            Task
        )
    }

    async fn delete(&self, id: &TaskId) -> Result<(), StoreError> {
        expect_reply!(self.call(Op::Delete(id.clone())).await, Unit)
    }

    async fn delete_status(&self, status: Status) -> Result<usize, StoreError> {
        expect_reply!(self.call(Op::DeleteStatus(status)).await, Count)
    }

    async fn prune(&self, keep: usize) -> Result<usize, StoreError> {
        expect_reply!(self.call(Op::Prune(keep)).await, Count)
    }

    async fn clear(&self) -> Result<usize, StoreError> {
        expect_reply!(self.call(Op::Clear).await, Count)
    }

    async fn put_many(&self, tasks: Vec<Task>) -> Result<usize, StoreError> {
        expect_reply!(self.call(Op::PutMany(tasks)).await, Count)
    }

    async fn check(&self) -> Result<CheckReport, StoreError> {
        expect_reply!(self.call(Op::Check).await, Check)
    }

    async fn compact(&self) -> Result<(), StoreError> {
        expect_reply!(self.call(Op::Compact).await, Unit)
    }

    async fn close(&self) -> Result<(), StoreError> {
        expect_reply!(self.call(Op::Close).await, Unit)
    }
}
