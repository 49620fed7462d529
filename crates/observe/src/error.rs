//! The one error type of this crate; every variant names the file or setting involved.

use std::path::PathBuf;

/// An observability operation failed. Each variant names the path (and, where there is one,
/// the setting) so the message tells the user what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    /// A file or directory could not be read, written, created, locked or synced.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done (`cannot read`).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// What the system reported.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be replaced atomically (`cannot <action> <path>: <cause>`).
    #[error(transparent)]
    File(#[from] taskpilot_plumbing::fs::FileError),
    /// A directory named by a setting (for example `LOGS_DIR`) could not be created or written.
    #[error("{variable} ({}) is not usable: {source}; set {variable} to a writable directory", path.display())]
    Setting {
        /// The setting (`LOGS_DIR`).
        variable: &'static str,
        /// The directory it names.
        path: PathBuf,
        /// What the system reported.
        #[source]
        source: std::io::Error,
    },
    /// A file exists but does not hold what it should (for example a corrupt `METRICS_FILE`).
    #[error("{} is not valid: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A background writer (the decision log's) stopped; nothing more can be recorded.
    #[error("the writer for {} has stopped: {message}", path.display())]
    WriterStopped {
        /// The file the writer wrote.
        path: PathBuf,
        /// Why it stopped.
        message: String,
    },
    /// The decision log kept in a shared store (`TASK_STORE_URL`) failed.
    #[error("the decision log in {location}: {message}")]
    Shared {
        /// The store, password hidden.
        location: String,
        /// What failed.
        message: String,
    },
    /// The global logger could not be installed (another one already is).
    #[error("cannot install the logger: {0}")]
    Logger(String),
}

impl ObserveError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        ObserveError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
