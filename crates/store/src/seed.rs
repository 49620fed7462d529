//! The seed's task file format: one JSON object keyed by task id, each value a task record,
//! pretty-printed with two-space indentation (what the Python TaskPilot writes).
//!
//! Reading keeps going past records that fail validation: they are returned apart, with the
//! reason, so the caller can keep them aside instead of losing them.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::value::RawValue;
use taskpilot_core::{Task, TaskId};

use crate::StoreError;

/// A seed file's tasks, and the records that could not be accepted.
#[derive(Debug, Default)]
pub struct SeedContents {
    pub tasks: BTreeMap<TaskId, Task>,
    pub invalid: Vec<InvalidRecord>,
}

/// A record that is valid JSON but not a valid task.
#[derive(Debug)]
pub struct InvalidRecord {
    pub key: String,
    pub raw: Box<RawValue>,
    pub reason: String,
}

/// Parses the seed format. Errors only when the file is not a JSON object at all.
pub fn parse_seed(bytes: &[u8]) -> Result<SeedContents, serde_json::Error> {
    let records: BTreeMap<String, Box<RawValue>> = serde_json::from_slice(bytes)?;
    let mut contents = SeedContents::default();
    for (key, raw) in records {
        match parse_record(&key, &raw) {
            Ok(task) => {
                contents.tasks.insert(task.id.clone(), task);
            }
            Err(reason) => contents.invalid.push(InvalidRecord { key, raw, reason }),
        }
    }
    Ok(contents)
}

fn parse_record(key: &str, raw: &RawValue) -> Result<Task, String> {
    let task: Task = serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
    if task.id.as_str() != key {
        return Err(format!(
            "the record's id '{}' differs from its key '{key}'",
            task.id
        ));
    }
    task.validate().map_err(|e| e.to_string())?;
    Ok(task)
}

/// The bytes of a seed file holding `tasks` (in id order).
pub fn serialize_seed<'a>(
    tasks: impl IntoIterator<Item = &'a Task>,
) -> Result<Vec<u8>, StoreError> {
    let map: BTreeMap<&str, &Task> = tasks.into_iter().map(|t| (t.id.as_str(), t)).collect();
    let mut bytes = serde_json::to_vec_pretty(&map).map_err(|e| StoreError::Corrupt {
        message: format!("cannot serialize the tasks: {e}"),
    })?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Reads a seed file (a task file or a backup).
pub fn read_seed_file(path: &Path) -> Result<SeedContents, StoreError> {
    let bytes = std::fs::read(path).map_err(|e| StoreError::io("read", path, e))?;
    parse_seed(&bytes).map_err(|e| StoreError::Corrupt {
        message: format!(
            "{} is not a task file (a JSON object keyed by task id): {e}",
            path.display()
        ),
    })
}

/// Writes `bytes` to `path` atomically and durably: `<path>.tmp`, fsync, rename, fsync of the
/// directory. Creates the parent directories.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    Ok(taskpilot_plumbing::fs::write_atomic(path, bytes)?)
}

/// Writes `tasks` as a seed file, atomically.
pub fn write_seed_file<'a>(
    path: &Path,
    tasks: impl IntoIterator<Item = &'a Task>,
) -> Result<(), StoreError> {
    write_atomically(path, &serialize_seed(tasks)?)
}

/// Flushes a directory entry change (a rename, a new file) to disk.
pub fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    Ok(taskpilot_plumbing::fs::sync_dir(dir)?)
}

pub(crate) use taskpilot_plumbing::fs::{parent_dir, with_suffix};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_records_are_set_apart_with_their_reason() {
        let text = r#"{
          "task_20251220_100404_305973": {"id":"task_20251220_100404_305973","title":"ok","priority":"high","description":"","status":"pending","created_at":"2025-12-20T10:04:04.305998"},
          "task_20251220_100404_305974": {"id":"task_20251220_100404_305974","title":"bad","priority":"urgent","description":"","status":"pending","created_at":"2025-12-20T10:04:04.305998"},
          "task_20251220_100404_305975": {"id":"task_20251220_100404_305999","title":"moved","priority":"low","description":"","status":"pending","created_at":"2025-12-20T10:04:04.305998"}
        }"#;
        let contents = parse_seed(text.as_bytes()).unwrap();
        assert_eq!(contents.tasks.len(), 1);
        assert_eq!(contents.invalid.len(), 2);
        assert!(
            contents.invalid[0].reason.contains("urgent"),
            "{}",
            contents.invalid[0].reason
        );
        assert!(
            contents.invalid[1].reason.contains("differs"),
            "{}",
            contents.invalid[1].reason
        );
    }

    #[test]
    fn not_an_object_is_an_error() {
        assert!(parse_seed(b"[1,2]").is_err());
        assert!(parse_seed(b"{\"a\":").is_err());
    }
}
