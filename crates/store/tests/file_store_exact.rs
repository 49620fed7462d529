//! The file store's bookkeeping pinned to exact values, so that a wrong offset, count or
//! threshold fails a test (written against the missed mutants of `scripts/mutants store`):
//! what `check` says about the snapshot and the journal, the journal's header, line numbers of
//! unreadable records read by another handle, the compaction threshold to the byte, runs kept
//! beside the task file, and the handle's own description.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use taskpilot_core::{NewTask, Task, TaskId, TimeStyle, Timestamp};
use taskpilot_store::{FileStore, FileStoreOptions, TaskStore, shared_suite};

/// Folds only at close or on request, so a test decides when the journal is folded.
async fn open_unfolded(path: &Path) -> FileStore {
    FileStore::open_with(
        path.to_owned(),
        FileStoreOptions {
            idle_fold: None,
            ..FileStoreOptions::default()
        },
    )
    .await
    .expect("open file store")
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn journal(path: &Path) -> PathBuf {
    path.with_extension("json.journal")
}

/// `check`'s notes about the snapshot, the journal and `.bak`, as they must read.
fn expected_notes(path: &Path, records: Option<u64>, bak: bool) -> Vec<String> {
    let snapshot = std::fs::read(path).unwrap();
    vec![
        format!(
            "snapshot {} ({} bytes, sha256 {})",
            path.display(),
            snapshot.len(),
            sha256_hex(&snapshot)
        ),
        match records {
            Some(n) => format!(
                "journal {} ({} bytes, {n} records not yet in the snapshot)",
                journal(path).display(),
                len(&journal(path))
            ),
            None => format!(
                "journal {}: none (the snapshot holds every task)",
                journal(path).display()
            ),
        },
        format!(
            "previous snapshot {}: {}",
            path.with_extension("json.bak").display(),
            if bak { "present" } else { "none yet" }
        ),
    ]
}

#[tokio::test]
async fn check_states_the_snapshot_and_the_journal_exactly_in_every_handle() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().canonicalize().unwrap().join(".tasks.json");
    let a = open_unfolded(&path).await;
    let b = open_unfolded(&path).await;
    let report = a.check().await.unwrap();
    assert_eq!(report.tasks, 0);
    assert_eq!(report.notes, expected_notes(&path, None, false));

    let first = a.create(NewTask::new("one", "low")).await.unwrap();
    a.create(NewTask::new("two", "low")).await.unwrap();
    let report = a.check().await.unwrap();
    assert_eq!(report.tasks, 2);
    assert_eq!(report.notes, expected_notes(&path, Some(2), false));
    // The other handle catches up from the journal and counts the same.
    let report = b.check().await.unwrap();
    assert_eq!((report.tasks, report.problems.len()), (2, 0));
    assert_eq!(report.notes, expected_notes(&path, Some(2), false));

    // Records read in two steps by one handle, written in two batches by the other.
    b.delete(&first.id).await.unwrap();
    a.create(NewTask::new("three", "low")).await.unwrap();
    for store in [&a, &b] {
        let report = store.check().await.unwrap();
        assert_eq!(report.tasks, 2);
        assert_eq!(report.notes, expected_notes(&path, Some(4), false));
    }

    a.compact().await.unwrap();
    for store in [&a, &b] {
        let report = store.check().await.unwrap();
        assert_eq!(report.tasks, 2);
        assert_eq!(report.notes, expected_notes(&path, None, true));
    }
}

#[tokio::test]
async fn the_journal_header_names_the_snapshot_by_digest_length_and_mtime() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".tasks.json");
    let store = open_unfolded(&path).await;
    store.create(NewTask::new("one", "low")).await.unwrap();
    store.compact().await.unwrap();
    store.create(NewTask::new("two", "low")).await.unwrap();
    let snapshot = std::fs::read(&path).unwrap();
    let mtime = std::fs::metadata(&path)
        .unwrap()
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let text = std::fs::read_to_string(journal(&path)).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(
        first,
        serde_json::json!({"continues": {
            "sha256": sha256_hex(&snapshot),
            "bytes": snapshot.len(),
            "mtime_ns": u64::try_from(mtime).unwrap(),
        }})
    );
}

#[tokio::test]
async fn an_unreadable_line_read_by_another_handle_is_named_by_its_line_number() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().canonicalize().unwrap().join(".tasks.json");
    let a = open_unfolded(&path).await;
    let b = open_unfolded(&path).await;
    a.create(NewTask::new("one", "low")).await.unwrap(); // line 1 header, 2
    a.create(NewTask::new("two", "low")).await.unwrap(); // line 3
    assert_eq!(b.stats().await.unwrap().total(), 2, "b read lines 1-3");
    std::fs::OpenOptions::new()
        .append(true)
        .open(journal(&path))
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"{not json}\n")) // line 4
        .unwrap();
    let three = a.create(NewTask::new("three", "low")).await.unwrap(); // line 5
    for store in [&a, &b] {
        let report = store.check().await.unwrap();
        assert_eq!(report.tasks, 3);
        assert_eq!(report.problems.len(), 1, "{report:?}");
        let prefix = format!(
            "{}:4: skipped an unreadable journal record (",
            journal(&path).display()
        );
        assert!(
            report.problems[0].starts_with(&prefix),
            "{:?} starts with {prefix:?}",
            report.problems[0]
        );
        assert_eq!(store.get(&three.id).await.unwrap(), three);
    }
}

/// New tasks whose journal records (`{"put": …}` and a newline) add up to exactly `bytes`.
fn tasks_of_record_length(mut bytes: usize) -> Vec<Task> {
    const MAX_DESCRIPTION: usize = 9_000;
    let record = |task: &Task| serde_json::to_vec(&serde_json::json!({ "put": task })).unwrap();
    let mut tasks = Vec::new();
    while bytes > 0 {
        let task = NewTask::new("filler", "low")
            .into_task(TaskId::generate(), Timestamp::now_in(TimeStyle::Naive))
            .unwrap();
        let overhead = record(&task).len() + 1;
        assert!(bytes >= overhead, "{bytes} bytes cannot hold a record");
        let room = bytes - overhead;
        let description = if room <= MAX_DESCRIPTION {
            room
        } else if room - MAX_DESCRIPTION >= 2 * overhead {
            MAX_DESCRIPTION
        } else {
            room / 2 // so that the rest still holds a whole record
        };
        let task = Task {
            description: "x".repeat(description),
            ..task
        };
        assert_eq!(record(&task).len() + 1, overhead + description);
        bytes -= overhead + description;
        tasks.push(task);
    }
    tasks
}

#[tokio::test]
async fn the_journal_is_compacted_once_it_passes_256_kib_and_the_snapshot_to_the_byte() {
    const THRESHOLD: u64 = 256 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".tasks.json");
    let store = open_unfolded(&path).await;
    store.create(NewTask::new("first", "low")).await.unwrap();
    // Exactly at the threshold (and far larger than the snapshot): no compaction.
    let fill = usize::try_from(THRESHOLD - len(&journal(&path))).unwrap();
    store.put_many(tasks_of_record_length(fill)).await.unwrap();
    assert_eq!(len(&journal(&path)), THRESHOLD);
    assert_eq!(std::fs::read(&path).unwrap(), b"{}\n", "not compacted");
    // One byte past it: the batch compacts.
    store.put_many(tasks_of_record_length(1000)).await.unwrap();
    assert!(!journal(&path).exists(), "compacted");
    let snapshot = len(&path);
    assert!(snapshot > THRESHOLD, "{snapshot}");

    // Past the threshold, the journal must also pass the snapshot's size.
    store.create(NewTask::new("again", "low")).await.unwrap();
    let fill = usize::try_from(snapshot - len(&journal(&path))).unwrap();
    store.put_many(tasks_of_record_length(fill)).await.unwrap();
    assert_eq!(len(&journal(&path)), snapshot);
    assert_eq!(len(&path), snapshot, "not compacted at the snapshot's size");
    store.put_many(tasks_of_record_length(1000)).await.unwrap();
    assert!(!journal(&path).exists(), "compacted one batch later");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn runs_live_beside_the_task_file_and_two_handles_share_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".tasks.json");
    let a: Arc<dyn TaskStore> = Arc::new(FileStore::open(path.clone()).await.unwrap());
    let b: Arc<dyn TaskStore> = Arc::new(FileStore::open(path.clone()).await.unwrap());
    shared_suite::runs(a, b).await;
    let runs_dir = taskpilot_store::file::runs_dir(&path);
    assert_eq!(runs_dir, dir.path().join(".tasks.json.runs"));
    let mut names: Vec<String> = std::fs::read_dir(&runs_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 14, "one file per run: {names:?}");
}

#[tokio::test]
async fn a_handle_names_its_path_as_given() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join(".tasks.json");
    let store = FileStore::open(path.clone()).await.unwrap();
    assert_eq!(store.path(), path.as_path());
    assert_eq!(store.describe(), format!("file://{}", path.display()));
}
