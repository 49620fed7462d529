//! Opening a file store the way the file store's test files need it: as a process would, or
//! folding only at close so a test can leave a journal in place.

use std::path::Path;

use taskpilot_store::{FileStore, FileStoreOptions};

/// The store at `path`, opened as a process opens it.
pub(crate) async fn open_store(path: &Path) -> FileStore {
    FileStore::open(path.to_owned())
        .await
        .unwrap_or_else(|e| panic!("open the file store at {}: {e}", path.display()))
}

/// A store that folds only when closed or told to, never after an idle period, so a test can
/// leave a journal in place with [`FileStore::abandon`] (as a killed process would).
pub(crate) async fn open_unfolded(path: &Path) -> FileStore {
    FileStore::open_with(
        path.to_owned(),
        FileStoreOptions {
            idle_fold: None,
            ..FileStoreOptions::default()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("open the file store at {}: {e}", path.display()))
}
