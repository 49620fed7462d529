//! Small file helpers shared by the metrics and cost modules: an exclusive lock on a sibling
//! `.lock` file. Atomic replacement is `taskpilot_plumbing::fs::write_atomic`, re-exported.

use std::fs::{self, File, OpenOptions};
use std::path::Path;

pub(crate) use taskpilot_plumbing::fs::{with_suffix as sibling, write_atomic};

use crate::ObserveError;

/// Creates the parent directory of `path` if it is missing.
pub(crate) fn ensure_parent(path: &Path) -> Result<(), ObserveError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)
            .map_err(|e| ObserveError::io("cannot create the directory", parent, e))?;
    }
    Ok(())
}

/// An exclusive advisory lock on `<path>.lock`, released when dropped.
pub(crate) struct FileLock {
    file: File,
}

impl FileLock {
    pub(crate) fn acquire(path: &Path) -> Result<FileLock, ObserveError> {
        ensure_parent(path)?;
        let lock_path = sibling(path, ".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&lock_path)
            .map_err(|e| ObserveError::io("cannot open the lock file", &lock_path, e))?;
        file.lock()
            .map_err(|e| ObserveError::io("cannot lock", &lock_path, e))?;
        Ok(FileLock { file })
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// Reads `path`, or `None` when it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, ObserveError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ObserveError::io("cannot read", path, e)),
    }
}
