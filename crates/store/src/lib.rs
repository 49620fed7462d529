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
mod runbook;
#[cfg(feature = "s3")]
pub mod s3;
mod seed;
pub mod shared;
#[cfg(feature = "test-support")]
pub mod shared_suite;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod sql;
mod task_store;

use taskpilot_config::{Settings, StoreLocation};

pub use error::StoreError;
pub use file::{FileStore, OpenMode, Options as FileStoreOptions};
pub use occ::{claim, lease_end};
pub use seed::{read_seed_file, write_seed_file};
pub use task_store::{CheckReport, ListQuery, Stats, TaskStore};

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
    /// The options the settings give (`TASK_STORE_PREFIX`, the `AWS_*` variables).
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
