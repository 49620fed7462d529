//! What the store's test files share: opening a file store the way they need it (as a process
//! would, or folding only at close so a test can leave a journal in place) and what it leaves
//! (set-aside files, run files); a new task, bytes appended to a file, an error's message; and
//! in [`backends`] a fresh store on any backend, the tests
//! ([`on_fresh!`], [`each_backend!`]) that run the shared suites on one, and a server process of
//! a test's own. Each test file uses a part of it.

#![allow(
    dead_code,
    unused_imports,
    unused_macros,
    reason = "each test file uses a part of the shared helpers"
)]

pub(crate) mod backends;

use std::path::{Path, PathBuf};

pub(crate) use backends::{Backend, Fresh, OwnServer, each_backend, free_port, on_fresh};
use taskpilot_core::{NewTask, Task, TaskId, TimeStyle, Timestamp};
use taskpilot_store::{FileStore, FileStoreOptions, StoreError};
use taskpilot_testkit::files_in;
use tempfile::TempDir;

/// A temporary directory and the path of `.tasks.json` in it (not created), without links, as
/// the store names it in messages.
pub(crate) fn task_file() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let path = dir
        .path()
        .canonicalize()
        .unwrap_or_else(|e| panic!("resolve {}: {e}", dir.path().display()))
        .join(".tasks.json");
    (dir, path)
}

/// The store at `path`, opened as a process opens it.
pub(crate) async fn open_store(path: &Path) -> FileStore {
    FileStore::open(path.to_owned())
        .await
        .unwrap_or_else(|e| panic!("open the file store at {}: {e}", path.display()))
}

/// A store that folds only when closed or told to, never after an idle period, so a test can
/// leave a journal in place with [`FileStore::abandon`] (as a killed process would).
pub(crate) async fn open_unfolded(path: &Path) -> FileStore {
    FileStore::open_with(path.to_owned(), unfolded())
        .await
        .unwrap_or_else(|e| panic!("open the file store at {}: {e}", path.display()))
}

/// The options of [`open_unfolded`]: no fold after an idle period.
pub(crate) fn unfolded() -> FileStoreOptions {
    FileStoreOptions {
        idle_fold: None,
        ..FileStoreOptions::default()
    }
}

/// The runs the file store at `path` keeps: the names of the `.json` files in its runs
/// directory, which is `.tasks.json.runs` beside it, sorted.
pub(crate) fn run_files(path: &Path) -> Vec<String> {
    let runs_dir = taskpilot_store::file::runs_dir(path);
    assert_eq!(runs_dir, path.with_extension("json.runs"));
    let mut names: Vec<String> = std::fs::read_dir(&runs_dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", runs_dir.display()))
        .map(|e| {
            e.expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| Path::new(n).extension().is_some_and(|e| e == "json"))
        .collect();
    names.sort();
    names
}

/// The name of the one entry of `dir` whose name starts with `prefix` (a file the store set
/// aside as evidence); panics listing the entries when there is none or more than one.
pub(crate) fn set_aside(dir: &Path, prefix: &str) -> String {
    let names = files_in(dir);
    let found: Vec<&String> = names.iter().filter(|n| n.starts_with(prefix)).collect();
    assert_eq!(found.len(), 1, "one {prefix}* in {names:?}");
    found[0].clone()
}

/// The error of opening the file store at `path` as a process would; panics if it opens.
pub(crate) async fn refused(path: &Path) -> StoreError {
    FileStore::open(path.to_owned())
        .await
        .err()
        .unwrap_or_else(|| panic!("opening {} must fail", path.display()))
}

/// Asserts that the message of `err` holds `part` (a path, a cause).
pub(crate) fn assert_says(err: &impl std::fmt::Display, part: &str) {
    let message = err.to_string();
    assert!(message.contains(part), "{message:?} does not say {part:?}");
}

/// A new low-priority task titled `title`, not stored, created now (naive timestamps).
pub(crate) fn new_task(title: &str) -> Task {
    NewTask::new(title, "low")
        .into_task(TaskId::generate(), Timestamp::now_in(TimeStyle::Naive))
        .expect("a valid task")
}

/// Appends `bytes` to the file at `path` (a torn record, a damaged line).
pub(crate) fn append(path: &Path, bytes: &[u8]) {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .unwrap_or_else(|e| panic!("append to {}: {e}", path.display()));
}
