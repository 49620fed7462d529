//! Where tasks live: the [`TaskStore`] trait, one module per backend, the optimistic
//! concurrency the shared backends build on (`occ.rs`), and — with the `test-support`
//! feature — the conformance suite every backend passes (`conformance::run_all`).
//!
//! The backend is chosen by a [`StoreLocation`] (from `TASK_STORE_URL`, else `TASKS_FILE`):
//! the JSON file store is the default and the only one a fresh machine needs. This crate does
//! not decide anything about tasks; it stores them and enforces the transition rules of
//! `taskpilot-core` atomically.

#[cfg(feature = "test-support")]
pub mod conformance;
mod error;
pub mod file;
#[cfg(feature = "fixture")]
pub mod fixture;
mod location;
mod occ;
#[cfg(feature = "redis")]
pub mod redis_store;
#[cfg(feature = "s3")]
pub mod s3;
mod seed;
pub mod shared;
#[cfg(feature = "test-support")]
pub mod shared_suite;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod sql;

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::Serialize;
use taskpilot_config::{Settings, StoreLocation};
use taskpilot_core::{NewTask, Status, Task, TaskId, Transition};

pub use error::StoreError;
pub use file::{FileStore, OpenMode, Options as FileStoreOptions};
pub use occ::{claim, lease_end};
pub use seed::{read_seed_file, write_seed_file};

/// What `list` returns: newest first, optionally one status, optionally at most `limit`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub status: Option<Status>,
    pub limit: Option<usize>,
}

/// The number of tasks in each of the six statuses (every status present, zero included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stats(pub BTreeMap<&'static str, usize>);

impl Stats {
    pub fn count(tasks: impl IntoIterator<Item = Status>) -> Stats {
        let mut counts: BTreeMap<&'static str, usize> =
            Status::ALL.iter().map(|s| (s.as_str(), 0)).collect();
        for status in tasks {
            *counts.entry(status.as_str()).or_default() += 1;
        }
        Stats(counts)
    }

    pub fn get(&self, status: Status) -> usize {
        self.0.get(status.as_str()).copied().unwrap_or(0)
    }

    pub fn total(&self) -> usize {
        self.0.values().sum()
    }
}

/// What `check` found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CheckReport {
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

    async fn get(&self, id: &TaskId) -> Result<Task, StoreError>;

    /// Tasks newest first (by id, which is the creation time).
    async fn list(&self, query: &ListQuery) -> Result<Vec<Task>, StoreError>;

    /// Up to `limit` tasks in id order (oldest first) after `after`: for streaming copies.
    async fn scan(&self, after: Option<&TaskId>, limit: usize) -> Result<Vec<Task>, StoreError>;

    async fn stats(&self) -> Result<Stats, StoreError>;

    /// Applies a status change atomically and returns the task as stored.
    async fn transition(&self, id: &TaskId, transition: &Transition) -> Result<Task, StoreError>;

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

/// What opening a store takes beyond its location; it comes from the settings, never from
/// the process environment.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// The key prefix of a Redis store (`TASK_STORE_PREFIX`); a `?prefix=` in the URL wins.
    pub prefix: Option<String>,
    /// The `AWS_*` variables for an S3 store (endpoint, credentials, region).
    pub aws_variables: Vec<(String, taskpilot_config::Secret)>,
}

impl OpenOptions {
    pub fn from_settings(settings: &Settings) -> OpenOptions {
        OpenOptions {
            prefix: Some(settings.task_store_prefix.value.clone()),
            aws_variables: settings.aws_variables.clone(),
        }
    }
}

/// Opens the store the settings name (`TASK_STORE_URL`, else `TASKS_FILE`).
pub async fn open_configured(
    settings: &Settings,
) -> Result<std::sync::Arc<dyn TaskStore>, StoreError> {
    open_with(
        &settings.store_location(),
        &OpenOptions::from_settings(settings),
    )
    .await
}

/// Opens the store at `location` with default options.
pub async fn open(location: &StoreLocation) -> Result<std::sync::Arc<dyn TaskStore>, StoreError> {
    open_with(location, &OpenOptions::default()).await
}

/// Opens the store at `location`.
pub async fn open_with(
    location: &StoreLocation,
    options: &OpenOptions,
) -> Result<std::sync::Arc<dyn TaskStore>, StoreError> {
    match location {
        StoreLocation::File(path) => Ok(std::sync::Arc::new(FileStore::open(path.clone()).await?)),
        StoreLocation::Url(url) => open_url(url.expose(), options).await,
    }
}

#[cfg_attr(not(all(feature = "redis", feature = "s3")), allow(unused_variables))]
async fn open_url(
    url: &str,
    options: &OpenOptions,
) -> Result<std::sync::Arc<dyn TaskStore>, StoreError> {
    let parsed = location::parse(url, "SCHEME://…, for example file:///data/.tasks.json")?;
    match parsed.scheme() {
        "file" => {
            let Ok(path) = parsed.to_file_path() else {
                return Err(StoreError::Unsupported {
                    url: taskpilot_config::redact_url(url),
                    reason: "a file URL needs an absolute path: file:///abs/path/.tasks.json"
                        .into(),
                });
            };
            Ok(std::sync::Arc::new(FileStore::open(path).await?))
        }
        #[cfg(feature = "sqlite")]
        "sqlite" => Ok(std::sync::Arc::new(sql::sqlite::open(url).await?)),
        #[cfg(feature = "postgres")]
        "postgres" | "postgresql" => Ok(std::sync::Arc::new(sql::postgres::open(url).await?)),
        #[cfg(feature = "mysql")]
        "mysql" | "mariadb" => Ok(std::sync::Arc::new(sql::mysql::open(url).await?)),
        #[cfg(feature = "redis")]
        "redis" | "rediss" => Ok(std::sync::Arc::new(
            redis_store::RedisStore::open_with(url, options.prefix.as_deref()).await?,
        )),
        #[cfg(feature = "s3")]
        "s3" => Ok(std::sync::Arc::new(
            s3::S3Store::open_with_variables(url, &options.aws_variables).await?,
        )),
        other => Err(StoreError::Unsupported {
            url: taskpilot_config::redact_url(url),
            reason: format!("the '{other}' backend is not part of this build"),
        }),
    }
}
