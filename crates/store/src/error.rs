//! The store layer's errors: one enum for every backend, each naming the task, file or URL.

use std::path::PathBuf;

use taskpilot_core::{CoreError, TaskId};
use taskpilot_plumbing::fs::FileError;

/// Why a store operation failed; every backend answers with these.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No task has this id.
    #[error("task {id} not found; `taskpilot tasks list` shows the existing ids")]
    NotFound {
        /// The id asked for.
        id: TaskId,
    },

    /// The request breaks a rule of the task model (a field, a transition, a status another
    /// decider changed first).
    #[error(transparent)]
    Invalid(#[from] CoreError),

    /// A file could not be read or written.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done (`read`, `replace`).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// What the system reported.
        source: std::io::Error,
    },

    /// The store's files cannot be loaded and there is no good copy to recover from.
    #[error("{message}")]
    Corrupt {
        /// What is wrong, naming the files, and what to do.
        message: String,
    },

    /// The URL names a backend this build does not have, or is malformed.
    #[error("unsupported TASK_STORE_URL {url}: {reason}")]
    Unsupported {
        /// The URL, password hidden.
        url: String,
        /// What is missing or malformed.
        reason: String,
    },

    /// A database or remote service failed (the URL is shown with its password hidden).
    #[error("{backend} store at {url}: {message}")]
    Backend {
        /// `sqlite`, `postgres`, `mysql`, `redis` or `s3`.
        backend: &'static str,
        /// The store's URL, password hidden.
        url: String,
        /// What failed and what to check.
        message: String,
    },
}

impl From<FileError> for StoreError {
    fn from(e: FileError) -> Self {
        StoreError::io(e.action, e.path, e.source)
    }
}

impl StoreError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        StoreError::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// A copy of this error for every caller that shared a failed batch.
    pub(crate) fn duplicate(&self) -> StoreError {
        match self {
            StoreError::NotFound { id } => StoreError::NotFound { id: id.clone() },
            StoreError::Invalid(e) => StoreError::Invalid(e.clone()),
            StoreError::Io {
                action,
                path,
                source,
            } => StoreError::Io {
                action,
                path: path.clone(),
                source: std::io::Error::new(source.kind(), source.to_string()),
            },
            StoreError::Corrupt { message } => StoreError::Corrupt {
                message: message.clone(),
            },
            StoreError::Unsupported { url, reason } => StoreError::Unsupported {
                url: url.clone(),
                reason: reason.clone(),
            },
            StoreError::Backend {
                backend,
                url,
                message,
            } => StoreError::Backend {
                backend,
                url: url.clone(),
                message: message.clone(),
            },
        }
    }
}
