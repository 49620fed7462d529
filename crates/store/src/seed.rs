//! The seed's task file format: one JSON object keyed by task id, each value a task record,
//! pretty-printed with two-space indentation (what the Python TaskPilot writes).
//!
//! Reading keeps going past records that fail validation and past duplicate ids: they are
//! returned apart, with the reason, so the caller can keep them aside instead of losing them.
//!
//! Files are created 0600, or 0640 when their directory has the setgid bit (the usual way to
//! share a directory with a group); a file that already exists keeps its permissions when it
//! is replaced.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};

use serde_json::value::RawValue;
use taskpilot_core::{Task, TaskId};

use crate::StoreError;

/// A seed file's tasks, and the records that could not be accepted.
#[derive(Debug, Default)]
pub struct SeedContents {
    pub tasks: BTreeMap<TaskId, Task>,
    pub invalid: Vec<InvalidRecord>,
    /// Ids that appear more than once; every copy, in file order (the last one is loaded, as
    /// Python's `json.load` does).
    pub duplicates: Vec<Duplicate>,
}

/// Every copy of a record whose id appears more than once in the file.
#[derive(Debug)]
pub struct Duplicate {
    pub key: String,
    pub copies: Vec<Box<RawValue>>,
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
    let Entries(entries) = serde_json::from_slice(bytes)?;
    let mut contents = SeedContents::default();
    let mut records: BTreeMap<String, Box<RawValue>> = BTreeMap::new();
    let mut copies: BTreeMap<String, Vec<Box<RawValue>>> = BTreeMap::new();
    for (key, raw) in entries {
        // Only a duplicate id costs a copy of its record.
        match records.entry(key) {
            Entry::Vacant(slot) => {
                slot.insert(raw);
            }
            Entry::Occupied(mut slot) => {
                let earlier = std::mem::replace(slot.get_mut(), raw.clone());
                copies
                    .entry(slot.key().clone())
                    .or_insert_with(|| vec![earlier])
                    .push(raw);
            }
        }
    }
    contents.duplicates = copies
        .into_iter()
        .map(|(key, copies)| Duplicate { key, copies })
        .collect();
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

/// A JSON object's members in file order, duplicates included (a map would keep only one).
struct Entries(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object keyed by task id")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        d.deserialize_map(EntriesVisitor)
    }
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
    let dir = parent_dir(path);
    std::fs::create_dir_all(dir).map_err(|e| StoreError::io("create the directory", dir, e))?;
    let tmp = with_suffix(path, ".tmp");
    let mode = file_mode(path);
    let result = (|| {
        let mut file = create_file(&tmp, mode).map_err(|e| StoreError::io("create", &tmp, e))?;
        file.write_all(bytes)
            .map_err(|e| StoreError::io("write", &tmp, e))?;
        file.sync_all()
            .map_err(|e| StoreError::io("sync", &tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| StoreError::io("replace", path, e))?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The permissions for `path`: those of the file already there, else 0600, or 0640 when the
/// directory is setgid (shared with a group).
pub(crate) fn file_mode(path: &Path) -> u32 {
    if let Ok(meta) = std::fs::metadata(path) {
        return meta.permissions().mode() & 0o666;
    }
    let setgid =
        std::fs::metadata(parent_dir(path)).is_ok_and(|m| m.permissions().mode() & 0o2000 != 0);
    if setgid { 0o640 } else { 0o600 }
}

/// Creates (or truncates) `path` for writing with `mode`; an existing file is also set to
/// `mode`, since `open` keeps the permissions of a file it does not create.
pub(crate) fn create_file(path: &Path, mode: u32) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    Ok(file)
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
    fn duplicate_ids_keep_every_copy() {
        let text = r#"{
          "task_20251220_100404_305973": {"id":"task_20251220_100404_305973","title":"first","priority":"high","description":"","status":"pending","created_at":"2025-12-20T10:04:04.305998"},
          "task_20251220_100404_305973": {"id":"task_20251220_100404_305973","title":"second","priority":"high","description":"","status":"pending","created_at":"2025-12-20T10:04:04.305998"},
          "task_20251220_100404_305974": {"id":"task_20251220_100404_305974","title":"other","priority":"high","description":"","status":"pending","created_at":"2025-12-20T10:04:04.305998"},
          "task_20251220_100404_305973": {"id":"task_20251220_100404_305973","title":"third","priority":"high","description":"","status":"pending","created_at":"2025-12-20T10:04:04.305998"}
        }"#;
        let contents = parse_seed(text.as_bytes()).unwrap();
        assert_eq!(contents.tasks.len(), 2);
        assert_eq!(contents.tasks.values().next().unwrap().title, "third");
        assert_eq!(contents.duplicates.len(), 1);
        assert_eq!(contents.duplicates[0].key, "task_20251220_100404_305973");
        let titles: Vec<&str> = contents.duplicates[0]
            .copies
            .iter()
            .map(|c| {
                ["first", "second", "third"]
                    .into_iter()
                    .find(|t| c.get().contains(&format!("\"{t}\"")))
                    .unwrap_or("?")
            })
            .collect();
        assert_eq!(
            titles,
            ["first", "second", "third"],
            "every copy, in file order"
        );
    }

    #[test]
    fn not_an_object_is_an_error() {
        assert!(parse_seed(b"[1,2]").is_err());
        assert!(parse_seed(b"{\"a\":").is_err());
    }
}
