//! The [`TaskStore`] trait every backend implements, and the values its methods take and
//! return.
//!
//! Not here: opening a store from its location (the crate root), the backends.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::Serialize;
use taskpilot_core::{NewTask, Status, Task, TaskId, Transition};

use crate::StoreError;
use crate::shared;

/// What `list` returns: newest first, optionally one status, optionally at most `limit`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// Only tasks in this status.
    pub status: Option<Status>,
    /// At most this many tasks.
    pub limit: Option<usize>,
}

/// The number of tasks in each of the six statuses (every status present, zero included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stats(pub BTreeMap<&'static str, usize>);

impl Stats {
    /// Counts the statuses of `tasks`.
    pub fn count(tasks: impl IntoIterator<Item = Status>) -> Stats {
        let mut counts: BTreeMap<&'static str, usize> =
            Status::ALL.iter().map(|s| (s.as_str(), 0)).collect();
        for status in tasks {
            *counts.entry(status.as_str()).or_default() += 1;
        }
        Stats(counts)
    }

    /// How many tasks are in `status`.
    pub fn get(&self, status: Status) -> usize {
        self.0.get(status.as_str()).copied().unwrap_or(0)
    }

    /// How many tasks there are.
    pub fn total(&self) -> usize {
        self.0.values().sum()
    }
}

/// What `check` found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// How many tasks the store holds.
    pub tasks: usize,
    /// Problems found, each naming the task or file; empty when the store is sound.
    pub problems: Vec<String>,
    /// Facts worth showing (files, sizes, journal length).
    pub notes: Vec<String>,
}

/// One task store. Every method is atomic: a transition either happens completely or not at
/// all, and of two concurrent transitions of one task that cannot both apply, one fails.
#[async_trait]
pub trait TaskStore: Send + Sync {
    /// The backend and location, with any password hidden (`file:///…/.tasks.json`).
    fn describe(&self) -> String;

    /// Validates and stores a new `pending` task with a fresh unique id.
    async fn create(&self, new: NewTask) -> Result<Task, StoreError>;

    /// The task `id`, or [`StoreError::NotFound`].
    async fn get(&self, id: &TaskId) -> Result<Task, StoreError>;

    /// Tasks newest first (by id, which is the creation time).
    async fn list(&self, query: &ListQuery) -> Result<Vec<Task>, StoreError>;

    /// Up to `limit` tasks in id order (oldest first) after `after`: for streaming copies.
    async fn scan(&self, after: Option<&TaskId>, limit: usize) -> Result<Vec<Task>, StoreError>;

    /// How many tasks are in each status.
    async fn stats(&self) -> Result<Stats, StoreError>;

    /// Applies a status change atomically and returns the task as stored.
    async fn transition(&self, id: &TaskId, transition: &Transition) -> Result<Task, StoreError>;

    /// Deletes the task `id`, or answers [`StoreError::NotFound`].
    async fn delete(&self, id: &TaskId) -> Result<(), StoreError>;

    /// Deletes every task in `status`; returns how many.
    async fn delete_status(&self, status: Status) -> Result<usize, StoreError>;

    /// Deletes all but the newest `keep` tasks; returns how many were deleted.
    async fn prune(&self, keep: usize) -> Result<usize, StoreError>;

    /// Deletes every task; returns how many.
    async fn clear(&self) -> Result<usize, StoreError>;

    /// Stores tasks exactly as given (ids and all fields kept), replacing tasks with the same
    /// id: restore and migrate use this. Returns how many were written or changed.
    async fn put_many(&self, tasks: Vec<Task>) -> Result<usize, StoreError>;

    /// Verifies integrity and reports what it found.
    async fn check(&self) -> Result<CheckReport, StoreError>;

    /// Folds pending changes into the main representation (the file store's snapshot); a
    /// no-op for backends without one.
    async fn compact(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// The decision log kept beside the tasks (`None`: the backend has none; decisions stay in
    /// `DECISION_LOGS_FILE`). See [`shared`].
    fn decision_records(&self) -> Option<&dyn shared::DecisionRecords> {
        None
    }

    /// Runs kept beside the tasks (`None`: the backend has none). See [`shared`].
    fn run_records(&self) -> Option<&dyn shared::RunRecords> {
        None
    }

    /// Called when the process is done with the store: the file store folds its journal so
    /// `.tasks.json` alone holds every task. The store stays usable. A no-op elsewhere.
    async fn close(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
