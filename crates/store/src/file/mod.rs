//! The JSON file store (the default backend): the seed's `.tasks.json` plus an append-only
//! journal, so a write costs one small append and one sync whatever the store's size.
//!
//! Files kept next to `TASKS_FILE` (docs/STORAGE.md explains each and the crash argument):
//! `.tasks.json` (snapshot, seed format), `.tasks.json.journal` (changes since the snapshot),
//! `.tasks.json.bak` and `.tasks.json.journal.bak` (the previous snapshot and the changes that
//! led from it to the current one), `.tasks.json.lock` (the lock every process takes),
//! `.tasks.json.tmp` (only while a snapshot is written).
//!
//! [`FileStore`] is a handle to an engine on its own thread; concurrent calls are batched so
//! they share one sync (group commit).

mod engine;
mod journal;
mod runs;

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use async_trait::async_trait;
use taskpilot_core::{NewTask, Status, Task, TaskId, Transition};
use tokio::sync::oneshot;

pub use self::engine::Paths;
use self::engine::{Engine, Op, Reply};
pub use self::runs::runs_dir;
use crate::{CheckReport, ListQuery, Stats, StoreError, TaskStore};

/// The most operations applied (and synced) together.
const MAX_BATCH: usize = 4096;

type Job = (Op, oneshot::Sender<Result<Reply, StoreError>>);

/// A handle to the file store at one path. Cheap to share behind an `Arc`; dropping the last
/// handle lets the engine finish queued work and stop.
pub struct FileStore {
    path: PathBuf,
    jobs: mpsc::Sender<Job>,
}

impl FileStore {
    /// Opens (creating if needed) the store whose snapshot is `path`, and loads it, so a corrupt
    /// or unreadable store is reported here, before any work.
    pub async fn open(path: PathBuf) -> Result<FileStore, StoreError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let mut engine = Engine::new(path.clone());
        std::thread::Builder::new()
            .name("taskpilot-file-store".into())
            .spawn(move || run_engine(&mut engine, queue))
            .map_err(|e| StoreError::io("start the writer thread for", &path, e))?;
        let store = FileStore { path, jobs };
        store.call(Op::Check).await?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn call(&self, op: Op) -> Result<Reply, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send((op, reply))
            .map_err(|_| stopped(&self.path))?;
        answer.await.map_err(|_| stopped(&self.path))?
    }
}

fn stopped(path: &Path) -> StoreError {
    StoreError::Corrupt {
        message: format!("the file store for {} has stopped", path.display()),
    }
}

fn run_engine(engine: &mut Engine, queue: mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let (ops, replies): (Vec<Op>, Vec<_>) = batch.into_iter().unzip();
        for (answer, reply) in engine.run_batch(ops).into_iter().zip(replies) {
            let _ = reply.send(answer);
        }
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
}
