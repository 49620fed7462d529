//! The seed's task file format: one JSON object keyed by task id, each value a task record,
//! pretty-printed with two-space indentation (what the Python TaskPilot writes).
//!
//! Reading keeps going past records that fail validation and past duplicate ids: they are
//! returned apart, with the reason, so the caller can keep them aside instead of losing them.
//!
//! Not here: writing files durably and their permissions (`taskpilot_plumbing::fs`).

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::path::Path;

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};

use serde_json::value::RawValue;
use taskpilot_core::{Task, TaskId};
use taskpilot_plumbing::fs::write_atomic;

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
pub(crate) fn parse_seed(bytes: &[u8]) -> Result<SeedContents, serde_json::Error> {
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
pub(crate) fn serialize_seed<'a>(
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

/// Writes `tasks` as a seed file, atomically.
pub fn write_seed_file<'a>(
    path: &Path,
    tasks: impl IntoIterator<Item = &'a Task>,
) -> Result<(), StoreError> {
    Ok(write_atomic(path, &serialize_seed(tasks)?)?)
}

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
