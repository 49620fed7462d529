//! Optimistic concurrency, written once for the shared backends (SQL, Redis, S3): creating a
//! task under a fresh id, changing it by compare-and-set, "last copy wins" for `put_many`,
//! and the execution claim.
//!
//! A backend supplies only [`Primitives`]: an insert that fails when the id is taken, a read
//! that returns a version token, a write conditional on that token, and plain batch reads and
//! writes. The policy on top — take the id's successor when it is taken, read → `Task::apply`
//! → conditional write and read again when someone else wrote first, keep the last copy of a
//! repeated id and skip unchanged tasks — lives here, as `object_store` builds its operations on
//! a backend's `put_opts`.
//!
//! Not here: SQL, Lua or HTTP (the backend modules); the transition and claim rules
//! themselves (`taskpilot-core`'s `Task::apply`).

use std::collections::HashMap;

use async_trait::async_trait;
use taskpilot_core::{
    CoreError, NewTask, Status, Task, TaskId, Timestamp, Transition, TransitionOutcome,
};

use crate::{StoreError, TaskStore};

/// Successors tried when a new id is taken.
pub(crate) const ID_ATTEMPTS: usize = 10_000;
/// Rounds of read-apply-write for one transition before giving up (each lost round means
/// someone else changed the task; the next read sees their change).
pub(crate) const TRANSITION_ROUNDS: usize = 50;

/// The outcome of a conditional write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cas {
    /// Written (or found already written by an earlier attempt of the same request).
    Written,
    /// The stored version changed since it was read.
    Lost,
    /// The task was deleted since it was read.
    Gone,
}

/// What a shared backend supplies.
#[async_trait]
pub(crate) trait Primitives: Send + Sync {
    /// What identifies one stored state of a task (a row version, the JSON read, an ETag).
    type Version: Send + Sync;

    /// `sql`, `redis`, `s3` and the location with any password hidden, for errors.
    fn backend(&self) -> &'static str;
    fn shown(&self) -> String;

    /// Stores `task` unless its id is taken: `true` when stored (or already stored by an
    /// earlier attempt of this request), `false` when the id belongs to another task.
    async fn insert_new(&self, task: &Task) -> Result<bool, StoreError>;

    /// The task with its version, or `None`.
    async fn read_versioned(
        &self,
        id: &TaskId,
    ) -> Result<Option<(Task, Self::Version)>, StoreError>;

    /// Writes `task` (changed from `read`) only if the stored version is still `version`.
    async fn write_if(
        &self,
        task: &Task,
        read: &Task,
        version: &Self::Version,
    ) -> Result<Cas, StoreError>;

    /// The stored tasks among `ids` (unreadable ones left out, to be overwritten).
    async fn read_many(&self, ids: &[TaskId]) -> Result<HashMap<TaskId, Task>, StoreError>;

    /// Writes tasks unconditionally, replacing any with the same id.
    async fn write_many(&self, tasks: &[&Task]) -> Result<(), StoreError>;

    /// Ids per `put_many` round trip.
    fn chunk(&self) -> usize {
        500
    }
}

fn gave_up<P: Primitives + ?Sized>(p: &P, message: String) -> StoreError {
    StoreError::Backend {
        backend: p.backend(),
        url: p.shown(),
        message,
    }
}

/// Validates and stores a new `pending` task; a taken id moves to its successor.
pub(crate) async fn create<P: Primitives + ?Sized>(
    p: &P,
    new: NewTask,
) -> Result<Task, StoreError> {
    let mut task = new.into_task(TaskId::generate(), Timestamp::now())?;
    for _ in 0..ID_ATTEMPTS {
        if p.insert_new(&task).await? {
            return Ok(task);
        }
        task.id = task.id.successor();
    }
    Err(gave_up(
        p,
        format!("no free task id after {ID_ATTEMPTS} tries"),
    ))
}

/// Read → `Task::apply` → conditional write, again on a lost write, so the loser of a
/// contested decision gets the error `Task::apply` gives on the state it found.
pub(crate) async fn transition<P: Primitives + ?Sized>(
    p: &P,
    id: &TaskId,
    transition: &Transition,
) -> Result<Task, StoreError> {
    for round in 0..TRANSITION_ROUNDS {
        let Some((read, version)) = p.read_versioned(id).await? else {
            return Err(StoreError::NotFound { id: id.clone() });
        };
        let mut task = read.clone();
        if task.apply(transition, Timestamp::now())? == TransitionOutcome::Unchanged {
            return Ok(task);
        }
        match p.write_if(&task, &read, &version).await? {
            Cas::Written => return Ok(task),
            Cas::Gone => return Err(StoreError::NotFound { id: id.clone() }),
            Cas::Lost => {
                tracing::debug!(task = %id, round, "conditional write lost; reading again");
            }
        }
    }
    Err(gave_up(
        p,
        format!(
            "task {id} kept changing under {TRANSITION_ROUNDS} attempts to update it; try again"
        ),
    ))
}

/// Stores tasks exactly as given: the last copy of a repeated id wins (as in a file), and
/// tasks already stored unchanged are not written. Returns how many were written.
pub(crate) async fn put_many<P: Primitives + ?Sized>(
    p: &P,
    tasks: Vec<Task>,
) -> Result<usize, StoreError> {
    let (order, latest) = last_copies(tasks)?;
    let mut changed = 0;
    for chunk in order.chunks(p.chunk().max(1)) {
        let existing = p.read_many(chunk).await?;
        let to_write: Vec<&Task> = chunk
            .iter()
            .filter_map(|id| latest.get(id))
            .filter(|task| existing.get(&task.id) != Some(*task))
            .collect();
        if to_write.is_empty() {
            continue;
        }
        p.write_many(&to_write).await?;
        changed += to_write.len();
    }
    Ok(changed)
}

/// The ids in order of first appearance and the last copy of each, every copy validated.
fn last_copies(tasks: Vec<Task>) -> Result<(Vec<TaskId>, HashMap<TaskId, Task>), StoreError> {
    let mut latest: HashMap<TaskId, Task> = HashMap::with_capacity(tasks.len());
    let mut order = Vec::new();
    for task in tasks {
        task.validate()?;
        let id = task.id.clone();
        if latest.insert(id.clone(), task).is_none() {
            order.push(id);
        }
    }
    Ok((order, latest))
}

/// Takes the execution claim on an approved task for `owner` for `lease` (renewing it when
/// `owner` holds it already). `Ok(None)` when another worker holds a live claim or the task
/// is no longer `approved`: someone else is executing it or has. Every backend takes the
/// claim through its own conditional write (compare-and-set here, the lock in the file store).
pub async fn claim<S: TaskStore + ?Sized>(
    store: &S,
    id: &TaskId,
    owner: &str,
    lease: std::time::Duration,
) -> Result<Option<Task>, StoreError> {
    let until = lease_end(lease);
    let take = Transition::to(Status::Approved)
        .expecting(&[Status::Approved])
        .claiming(owner, until);
    match store.transition(id, &take).await {
        Ok(task) => Ok(Some(task)),
        Err(StoreError::Invalid(
            CoreError::Claimed { .. } | CoreError::UnexpectedStatus { .. },
        )) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The end of a lease of `lease` starting now.
pub fn lease_end(lease: std::time::Duration) -> Timestamp {
    let lease = chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
    Timestamp::from_utc(
        chrono::Utc::now()
            .checked_add_signed(lease)
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC),
    )
}
