//! The file store's bookkeeping pinned to exact values, so that a wrong offset, count or
//! threshold fails a test (written against the missed mutants of `scripts/mutants store`):
//! what `check` says about the snapshot and the journal, the journal's header, line numbers of
//! unreadable records read by another handle, the compaction threshold to the byte, runs kept
//! beside the task file, and the handle's own description.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::{
    append, assert_says, new_task, open_store, open_unfolded, refused, run_files, set_aside,
    task_file, unfolded,
};
use sha2::{Digest, Sha256};
use taskpilot_core::{NewTask, Task};
use taskpilot_store::{FileStore, FileStoreOptions, TaskStore, shared_suite};

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

/// A store at `path` that has folded a task "one" into its snapshot, so that `.bak` and
/// `.journal.bak` exist; it folds again only when told to.
async fn folded_once(path: &Path) -> FileStore {
    let store = open_unfolded(path).await;
    store.create(NewTask::new("one", "low")).await.unwrap();
    store.compact().await.unwrap();
    store
}

#[tokio::test]
async fn check_states_the_snapshot_and_the_journal_exactly_in_every_handle() {
    let (_dir, path) = task_file();
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
    let (_dir, path) = task_file();
    let store = folded_once(&path).await;
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
    let (_dir, path) = task_file();
    let a = open_unfolded(&path).await;
    let b = open_unfolded(&path).await;
    a.create(NewTask::new("one", "low")).await.unwrap(); // line 1 header, 2
    a.create(NewTask::new("two", "low")).await.unwrap(); // line 3
    assert_eq!(b.stats().await.unwrap().total(), 2, "b read lines 1-3");
    append(&journal(&path), b"{not json}\n"); // line 4
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
        let task = new_task("filler");
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
    let (_dir, path) = task_file();
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
    let (_dir, path) = task_file();
    let a: Arc<dyn TaskStore> = Arc::new(open_store(&path).await);
    let b: Arc<dyn TaskStore> = Arc::new(open_store(&path).await);
    shared_suite::runs(a, b).await;
    let names = run_files(&path);
    assert_eq!(names.len(), 14, "one file per run: {names:?}");
}

#[tokio::test]
async fn a_handle_names_its_path_as_given() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join(".tasks.json");
    let store = open_store(&path).await;
    assert_eq!(store.path(), path.as_path());
    assert_eq!(store.describe(), format!("file://{}", path.display()));
}

fn rewrite_as_new_file(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("replacing");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[tokio::test]
async fn a_task_file_replaced_under_an_open_handle_is_read_again() {
    let (_dir, path) = task_file();
    let store = open_unfolded(&path).await;
    let kept = store.create(NewTask::new("kept", "low")).await.unwrap();
    store.compact().await.unwrap(); // no journal now
    let mut outside = kept.clone();
    outside.title = "edited by another tool".into();
    rewrite_as_new_file(
        &path,
        &serde_json::to_vec(&serde_json::json!({ kept.id.as_str(): outside })).unwrap(),
    );
    assert_eq!(store.get(&kept.id).await.unwrap(), outside);
}

#[tokio::test]
async fn a_journal_replaced_or_cut_under_an_open_handle_is_read_from_the_start() {
    let (_dir, path) = task_file();
    let a = open_unfolded(&path).await;
    let b = open_unfolded(&path).await;
    let one = a.create(NewTask::new("one", "low")).await.unwrap();
    let two = a.create(NewTask::new("two", "low")).await.unwrap();
    assert_eq!(b.stats().await.unwrap().total(), 2);
    let text = std::fs::read_to_string(journal(&path)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "header, one, two");

    // Another file with the same start and a longer last record: read from the start.
    let mut renamed = two.clone();
    renamed.title = "two, renamed by whoever replaced the journal".into();
    let put = serde_json::to_string(&serde_json::json!({ "put": renamed })).unwrap();
    rewrite_as_new_file(
        &journal(&path),
        format!("{}\n{}\n{put}\n", lines[0], lines[1]).as_bytes(),
    );
    assert_eq!(b.get(&two.id).await.unwrap(), renamed);
    assert_eq!(b.check().await.unwrap().problems, Vec::<String>::new());

    // The same file cut back to its first record: read from the start, `two` is gone.
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(journal(&path))
        .unwrap();
    file.set_len((lines[0].len() + lines[1].len() + 2) as u64)
        .unwrap();
    assert_eq!(
        b.scan(None, 10).await.unwrap(),
        vec![one],
        "only what the journal holds now"
    );
}

#[tokio::test]
async fn a_handle_that_saw_a_torn_tail_reads_what_another_appended_after_cutting_it() {
    let (_dir, path) = task_file();
    let store = open_unfolded(&path).await;
    store.create(NewTask::new("one", "low")).await.unwrap();
    store.abandon();
    // Longer than the journal's complete lines and than the record appended next.
    let torn = format!(r#"{{"put": {{"id": "task_20{}"#, "x".repeat(3000));
    append(&journal(&path), torn.as_bytes());
    let a = open_unfolded(&path).await;
    let b = open_unfolded(&path).await;
    let two = a.create(NewTask::new("two", "low")).await.unwrap();
    assert_eq!(b.get(&two.id).await.unwrap(), two);
    assert_eq!(b.stats().await.unwrap().total(), 2);
    // b's own write must not cut what a appended where the torn record was.
    let three = b.create(NewTask::new("three", "low")).await.unwrap();
    drop((a, b));
    let store = open_unfolded(&path).await;
    assert_eq!(store.get(&two.id).await.unwrap(), two);
    assert_eq!(store.get(&three.id).await.unwrap(), three);
    assert_eq!(store.stats().await.unwrap().total(), 3);
}

#[tokio::test]
async fn a_fold_that_cannot_retire_the_journal_fails_naming_the_file() {
    let (_dir, path) = task_file();
    let store = open_unfolded(&path).await;
    let journal_bak = path.with_extension("json.journal.bak");
    std::fs::create_dir(&journal_bak).unwrap();
    std::fs::write(journal_bak.join("occupied"), b"").unwrap();
    store.create(NewTask::new("one", "low")).await.unwrap();
    let err = store.compact().await.unwrap_err();
    assert_says(&err, &journal_bak.display().to_string());
}

#[tokio::test]
async fn a_load_that_moved_records_aside_rewrites_the_task_file_at_once() {
    let (_dir, path) = task_file();
    let good = new_task("good");
    let mut bad = serde_json::to_value(new_task("bad")).unwrap();
    bad["status"] = "finished".into();
    let bad_id = bad["id"].as_str().unwrap().to_owned();
    std::fs::write(
        &path,
        serde_json::to_vec(&serde_json::json!({ good.id.as_str(): good, bad_id.clone(): bad }))
            .unwrap(),
    )
    .unwrap();
    let store = open_unfolded(&path).await;
    let on_disk: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        on_disk.keys().collect::<Vec<_>>(),
        [good.id.as_str()],
        "rewritten while the store is open"
    );
    assert_eq!(store.scan(None, 10).await.unwrap(), vec![good]);
}

#[tokio::test]
async fn restoring_starts_empty_over_a_missing_or_unreadable_task_file() {
    let (dir, path) = task_file();
    let restore = FileStoreOptions {
        mode: taskpilot_store::OpenMode::Restore,
        idle_fold: None,
    };
    drop(folded_once(&path).await);

    std::fs::write(&path, b"{ unreadable").unwrap();
    let store = FileStore::open_with(path.clone(), restore).await.unwrap();
    assert_eq!(store.stats().await.unwrap().total(), 0, "starts empty");
    drop(store);
    set_aside(dir.path(), ".tasks.json.corrupt-"); // the unreadable file is kept aside

    std::fs::remove_file(&path).unwrap();
    assert!(
        FileStore::open_with(path.clone(), unfolded())
            .await
            .is_err(),
        "a normal open refuses a missing file that has a .bak"
    );
    let store = FileStore::open_with(path.clone(), restore).await.unwrap();
    assert_eq!(store.stats().await.unwrap().total(), 0);
}

#[tokio::test]
async fn a_failed_append_fails_the_writes_of_its_batch_and_answers_the_reads() {
    use std::future::Future;
    use std::task::{Context, Waker};

    let (dir, path) = task_file();
    let store = open_unfolded(&path).await;
    let existing = store.create(NewTask::new("existing", "low")).await.unwrap();
    store.compact().await.unwrap(); // the next write starts a journal
    // ...which cannot be created: its name leads into a directory that does not exist.
    std::os::unix::fs::symlink(dir.path().join("missing").join("journal"), journal(&path)).unwrap();

    // Hold the store's lock so that the three calls queue up and the failing write shares a
    // batch with at least one read.
    let lock = std::fs::File::options()
        .read(true)
        .write(true)
        .open(path.with_extension("json.lock"))
        .unwrap();
    lock.lock().unwrap();
    let mut stats = std::pin::pin!(store.stats());
    let mut create = std::pin::pin!(store.create(NewTask::new("lost", "low")));
    let existing_id = existing.id.clone();
    let mut get = std::pin::pin!(store.get(&existing_id));
    let mut context = Context::from_waker(Waker::noop());
    assert!(stats.as_mut().poll(&mut context).is_pending());
    assert!(create.as_mut().poll(&mut context).is_pending());
    assert!(get.as_mut().poll(&mut context).is_pending());
    lock.unlock().unwrap();

    assert_eq!(stats.await.unwrap().total(), 1);
    let err = create.await.unwrap_err().to_string();
    assert!(err.contains(".tasks.json.journal"), "{err}");
    assert_eq!(get.await.unwrap(), existing);

    std::fs::remove_file(journal(&path)).unwrap();
    let later = store.create(NewTask::new("later", "low")).await.unwrap();
    assert_eq!(
        store.scan(None, 10).await.unwrap(),
        vec![existing, later],
        "the failed write left nothing behind"
    );
}

#[tokio::test]
async fn errors_in_the_runs_directory_are_reported_not_taken_for_absence() {
    use taskpilot_store::shared::{RunRecord, RunState};

    let (_dir, path) = task_file();
    let store = open_store(&path).await;
    let runs_dir = taskpilot_store::file::runs_dir(&path);
    let runs = store.run_records().expect("the file store keeps runs");
    assert_eq!(runs.open_run_ids().await.unwrap(), Vec::<String>::new());
    assert_eq!(runs.list_runs(10).await.unwrap(), Vec::new());
    assert!(!runs_dir.exists(), "nothing created by reading");
    let run = RunRecord::queued("a request", None);
    runs.insert_run(&run).await.unwrap();

    // A run that cannot be read is an error, not a missing run.
    let unreadable = RunRecord::queued("another", None);
    let unreadable_file = runs_dir.join(format!("{}.json", unreadable.run_id));
    std::fs::create_dir(&unreadable_file).unwrap();
    let err = runs.load_run(&unreadable.run_id).await.unwrap_err();
    assert_says(&err, &unreadable_file.display().to_string());
    std::fs::remove_dir(&unreadable_file).unwrap();

    // An open marker that cannot be removed fails the write that ends the run.
    let marker = runs_dir.join("open").join(&run.run_id);
    std::fs::remove_file(&marker).unwrap();
    std::fs::create_dir(&marker).unwrap();
    std::fs::write(marker.join("occupied"), b"").unwrap();
    let done = RunRecord {
        status: RunState::Succeeded,
        version: run.version + 1,
        ..run.clone()
    };
    let err = runs.replace_run(&done, run.version).await.unwrap_err();
    assert_says(&err, &marker.display().to_string());
    std::fs::remove_dir_all(&marker).unwrap();

    // Without a marker to remove, ending a run is fine.
    let second = RunRecord::queued("a second request", None);
    runs.insert_run(&second).await.unwrap();
    std::fs::remove_file(runs_dir.join("open").join(&second.run_id)).unwrap();
    let ended = RunRecord {
        status: RunState::Failed,
        version: second.version + 1,
        ..second.clone()
    };
    assert!(runs.replace_run(&ended, second.version).await.unwrap());
    assert_eq!(runs.load_run(&second.run_id).await.unwrap(), Some(ended));

    // A list of open runs that cannot be read is an error, not "none open".
    std::fs::remove_dir_all(runs_dir.join("open")).unwrap();
    std::fs::write(runs_dir.join("open"), b"not a directory").unwrap();
    assert!(runs.open_run_ids().await.is_err());
}

#[tokio::test]
async fn a_task_file_that_is_not_a_regular_file_is_named_exactly_through_its_link() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let err = refused(&fifo).await;
    assert_says(
        &err,
        &format!(
            "TASKS_FILE {} is a FIFO (named pipe), not a regular file",
            fifo.display()
        ),
    );
    let link = dir.path().join(".tasks.json");
    std::os::unix::fs::symlink(&fifo, &link).unwrap();
    let err = refused(&link).await;
    assert_says(
        &err,
        &format!(
            "TASKS_FILE {} (→ {}) is a FIFO (named pipe)",
            link.display(),
            fifo.display()
        ),
    );
}

#[tokio::test]
async fn a_task_file_under_a_regular_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain");
    std::fs::write(&file, b"").unwrap();
    let path = file.join(".tasks.json");
    let err = refused(&path).await;
    assert_says(&err, &format!("inspect {}", path.display()));
}

/// A task file written by someone else (no `.bak` yet), as the seed's format.
fn seeded(path: &Path) -> Task {
    let task = new_task("seeded");
    taskpilot_store::write_seed_file(path, [&task]).unwrap();
    task
}

#[tokio::test]
async fn a_young_store_is_rebuilt_only_from_a_journal_that_starts_from_nothing() {
    // The journal continues a file with a task in it: it alone cannot rebuild the store.
    let (_dir, path) = task_file();
    seeded(&path);
    let store = open_unfolded(&path).await;
    store.create(NewTask::new("after", "low")).await.unwrap();
    store.abandon();
    std::fs::write(&path, b"{ broken").unwrap();
    let err = refused(&path).await;
    assert_says(
        &err,
        "only holds the changes made after that file was written",
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"{ broken",
        "nothing changed"
    );

    // No journal at all.
    let (_dir, path) = task_file();
    std::fs::write(&path, b"{ broken").unwrap();
    let err = refused(&path).await;
    assert_says(&err, "no journal to rebuild from");
}

#[tokio::test]
async fn a_journal_that_cannot_be_read_stops_a_recovery_instead_of_being_skipped() {
    let (_dir, path) = task_file();
    drop(folded_once(&path).await);
    let journal_bak = path.with_extension("json.journal.bak");
    std::fs::remove_file(&journal_bak).unwrap();
    std::fs::create_dir(&journal_bak).unwrap();
    std::fs::write(&path, b"{ broken").unwrap();
    let err = refused(&path).await;
    assert_says(&err, &format!("read {}", journal_bak.display()));
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"{ broken",
        "nothing changed"
    );
}

#[tokio::test]
async fn a_task_file_or_journal_that_cannot_be_read_is_an_error_not_a_missing_file() {
    // A journal that cannot be opened (here a directory) stops the open.
    let (_dir, path) = task_file();
    std::fs::write(&path, b"{}\n").unwrap();
    std::fs::create_dir(journal(&path)).unwrap();
    let err = refused(&path).await;
    assert_says(
        &err,
        &format!("open the journal {}", journal(&path).display()),
    );
    std::fs::remove_dir(journal(&path)).unwrap();

    // A task file replaced by something unreadable (here a directory) under an open handle.
    let store = folded_once(&path).await;
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    std::fs::write(path.join("occupied"), b"").unwrap();
    let err = store.stats().await.unwrap_err();
    assert_says(&err, &format!("cannot read {}", path.display()));
}
