//! What a directory holds, for tests that check which files a command or a store left.

use std::path::Path;

/// The names of the entries of `dir`, sorted.
///
/// # Panics
/// When `dir` cannot be listed, naming it.
pub fn files_in(dir: &Path) -> Vec<String> {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    let mut names: Vec<String> = entries
        .map(|e| {
            e.unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}
