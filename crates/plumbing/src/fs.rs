//! Durable file replacement: write `<path>.tmp`, fsync it, rename it over `path`, fsync the
//! directory, so a reader sees the old or the new content and never a mix, even after a crash.
//!
//! Files are created 0600, or 0640 when their directory has the setgid bit (the usual way to
//! share a directory with a group); a file that already exists keeps its permissions when it
//! is replaced.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A file operation that failed: `cannot <action> <path>: <cause>`.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {}: {source}", path.display())]
pub struct FileError {
    /// What was being done, as a verb phrase (`create`, `sync the directory`).
    pub action: &'static str,
    /// The file or directory.
    pub path: PathBuf,
    #[source]
    /// What the system reported.
    pub source: std::io::Error,
}

fn fail(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> FileError {
    let path = path.to_owned();
    move |source| FileError {
        action,
        path,
        source,
    }
}

/// Replaces `path` with `bytes` atomically and durably, creating the parent directories and
/// keeping the permissions of the file replaced (see [`file_mode`]). On failure the temporary
/// file is removed and `path` is untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let dir = parent_dir(path);
    std::fs::create_dir_all(dir).map_err(fail("create the directory", dir))?;
    let tmp = with_suffix(path, ".tmp");
    let mode = file_mode(path);
    let result = (|| {
        let mut file = create_file(&tmp, mode).map_err(fail("create", &tmp))?;
        file.write_all(bytes).map_err(fail("write", &tmp))?;
        file.sync_all().map_err(fail("sync", &tmp))?;
        std::fs::rename(&tmp, path).map_err(fail("replace", path))?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The permissions for `path`: those of the file already there, else 0600, or 0640 when the
/// directory is setgid (shared with a group).
pub fn file_mode(path: &Path) -> u32 {
    if let Ok(meta) = std::fs::metadata(path) {
        return meta.permissions().mode() & 0o666;
    }
    let setgid =
        std::fs::metadata(parent_dir(path)).is_ok_and(|m| m.permissions().mode() & 0o2000 != 0);
    if setgid { 0o640 } else { 0o600 }
}

/// Creates (or truncates) `path` for writing with `mode`; an existing file is also set to
/// `mode`, since `open` keeps the permissions of a file it does not create.
pub fn create_file(path: &Path, mode: u32) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    Ok(file)
}

/// Flushes a directory entry change (a rename, a new file) to disk.
pub fn sync_dir(dir: &Path) -> Result<(), FileError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(fail("sync the directory", dir))
}

/// The directory `path` is in (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// `path` with `suffix` appended to its file name (`.tasks.json` → `.tasks.json.bak`).
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/state.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert!(!with_suffix(&path, ".tmp").exists());
    }

    #[test]
    fn a_new_file_is_private_and_a_replaced_one_keeps_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        write_atomic(&path, b"one").unwrap();
        assert_eq!(mode(&path), 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(mode(&path), 0o644);
    }

    #[test]
    fn a_failure_names_the_action_and_the_path() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be: the rename fails.
        let path = dir.path().join("taken");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("x"), b"x").unwrap();
        let e = write_atomic(&path, b"new").unwrap_err();
        assert_eq!(e.action, "replace");
        assert!(e.to_string().starts_with("cannot replace "), "{e}");
        assert!(!with_suffix(&path, ".tmp").exists());
    }

    #[test]
    fn parent_of_a_bare_name_is_the_current_directory() {
        assert_eq!(parent_dir(Path::new("f.json")), Path::new("."));
        assert_eq!(parent_dir(Path::new("a/f.json")), Path::new("a"));
    }
}
