//! Small file helpers shared by the metrics and cost modules: an exclusive lock on a sibling
//! `.lock` file, and atomic replacement (write a temporary file, fsync, rename, fsync the dir).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::ObserveError;

/// Creates the parent directory of `path` if it is missing.
pub(crate) fn ensure_parent(path: &Path) -> Result<(), ObserveError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)
            .map_err(|e| ObserveError::io("cannot create the directory", parent, e))?;
    }
    Ok(())
}

/// `<path>.<suffix>` next to `path`.
pub(crate) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
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

/// Replaces `path` with `bytes` atomically: `<path>.tmp`, fsync, rename, fsync of the directory.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ObserveError> {
    ensure_parent(path)?;
    let tmp = sibling(path, ".tmp");
    let mut file = File::create(&tmp).map_err(|e| ObserveError::io("cannot create", &tmp, e))?;
    file.write_all(bytes)
        .map_err(|e| ObserveError::io("cannot write", &tmp, e))?;
    file.sync_all()
        .map_err(|e| ObserveError::io("cannot sync", &tmp, e))?;
    drop(file);
    fs::rename(&tmp, path).map_err(|e| ObserveError::io("cannot replace", path, e))?;
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        // Best effort: some filesystems refuse to open or sync a directory.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Reads `path`, or `None` when it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, ObserveError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ObserveError::io("cannot read", path, e)),
    }
}
