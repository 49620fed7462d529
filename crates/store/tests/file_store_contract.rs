//! The file store's data contract (issue 13, and the file-store parts of issue 18): closing
//! folds the journal so `.tasks.json` alone is complete; someone else's `.tasks.json` wins over
//! a journal; recovery uses everything; one timestamp style per file that Python can sort;
//! symlinks, non-regular files, permissions and duplicate ids.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{assert_says, open_store as open, open_unfolded, refused, set_aside, task_file};
use taskpilot_core::{NewTask, Status, Transition};
use taskpilot_store::{FileStore, FileStoreOptions, TaskStore};
use taskpilot_testkit::files_in;

fn seed(path: &Path) -> serde_json::Map<String, serde_json::Value> {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Copies `.tasks.json` alone to a fresh directory, as the storage guide's backup does.
fn copy_alone(path: &Path) -> (tempfile::TempDir, PathBuf) {
    let (dir, copy) = task_file();
    std::fs::copy(path, &copy).unwrap();
    (dir, copy)
}

/// In `dir`, `app/.tasks.json` a symbolic link to `volume/tasks.json` (`{}`): returns the
/// directory `app`, the directory `volume`, the link and its target.
fn linked_task_file(dir: &Path) -> [PathBuf; 4] {
    let (app, volume) = (dir.join("app"), dir.join("volume"));
    std::fs::create_dir(&volume).unwrap();
    std::fs::create_dir(&app).unwrap();
    let target = volume.join("tasks.json");
    std::fs::write(&target, "{}\n").unwrap();
    let link = app.join(".tasks.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    [app, volume, link, target]
}

fn python3(script: &str, args: &[&Path]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 is installed on this machine");
    assert!(
        out.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const TASK: &str = r#""task_20251220_100404_305973": {"id": "task_20251220_100404_305973", "title": "seeded", "priority": "high", "description": "", "status": "pending", "created_at": "2025-12-20T10:04:04.305998", "reviewed_at": null, "executed_at": null, "reviewer_response": null, "error": null}"#;

#[tokio::test]
async fn dropping_the_last_handle_folds_so_the_task_file_alone_is_complete() {
    let (dir, path) = task_file();
    let store = open(&path).await;
    let a = store.create(NewTask::new("a", "high")).await.unwrap();
    let b = store.create(NewTask::new("b", "low")).await.unwrap();
    let b = store
        .transition(&b.id, &Transition::to(Status::Approved))
        .await
        .unwrap();
    drop(store);
    assert_eq!(
        files_in(dir.path()),
        [
            ".tasks.json",
            ".tasks.json.bak",
            ".tasks.json.journal.bak",
            ".tasks.json.lock"
        ]
    );
    let (_copy_dir, copy) = copy_alone(&path);
    let store = open(&copy).await;
    assert_eq!(store.stats().await.unwrap().total(), 2);
    assert_eq!(store.get(&a.id).await.unwrap(), a);
    assert_eq!(store.get(&b.id).await.unwrap(), b);
}

#[tokio::test]
async fn close_folds_and_the_store_stays_usable() {
    let (_dir, path) = task_file();
    let store = open_unfolded(&path).await;
    let a = store.create(NewTask::new("a", "high")).await.unwrap();
    assert!(path.with_extension("json.journal").exists());
    assert_eq!(seed(&path).len(), 0, "a running write is an append only");
    store.close().await.unwrap();
    assert!(!path.with_extension("json.journal").exists());
    assert_eq!(seed(&path).len(), 1);
    let b = store.create(NewTask::new("b", "high")).await.unwrap();
    store.abandon();
    let store = open(&path).await;
    assert_eq!(store.get(&a.id).await.unwrap(), a);
    assert_eq!(
        store.get(&b.id).await.unwrap(),
        b,
        "replayed from the journal"
    );
}

#[tokio::test]
async fn an_idle_store_folds_its_journal() {
    let (_dir, path) = task_file();
    let store = FileStore::open_with(
        path.clone(),
        FileStoreOptions {
            idle_fold: Some(std::time::Duration::from_millis(50)),
            ..FileStoreOptions::default()
        },
    )
    .await
    .unwrap();
    let a = store.create(NewTask::new("a", "high")).await.unwrap();
    // Wait for the fold (an event, not a duration: up to a minute on a loaded machine).
    let journal = path.with_extension("json.journal");
    for _ in 0..600 {
        if !journal.exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!journal.exists(), "the idle store folded its journal");
    assert!(seed(&path).contains_key(a.id.as_str()));
    store.abandon();
}

#[tokio::test]
async fn the_reference_store_copied_alone_after_writes_loses_nothing() {
    let (_dir, path) = task_file();
    std::fs::copy(taskpilot_store::fixture::reference_fixture(), &path).unwrap();
    let store = open(&path).await;
    let mut created = Vec::new();
    for i in 0..20 {
        let t = store
            .create(NewTask::new(format!("new {i}"), "low"))
            .await
            .unwrap();
        created.push(
            store
                .transition(&t.id, &Transition::to(Status::Approved))
                .await
                .unwrap(),
        );
    }
    drop(store);
    let (_copy_dir, copy) = copy_alone(&path);
    let store = open(&copy).await;
    assert_eq!(store.stats().await.unwrap().total(), 3689 + 20);
    assert_eq!(store.stats().await.unwrap().get(Status::Approved), 20);
    for t in &created {
        assert_eq!(&store.get(&t.id).await.unwrap(), t);
    }
}

#[tokio::test]
async fn a_task_file_edited_by_python_wins_and_the_journal_is_kept_as_evidence() {
    let (dir, path) = task_file();
    let store = open(&path).await;
    let a = store.create(NewTask::new("a", "high")).await.unwrap();
    let b = store.create(NewTask::new("b", "high")).await.unwrap();
    drop(store);
    // A running process approves `a` (journal only), then dies.
    let store = open_unfolded(&path).await;
    store
        .transition(&a.id, &Transition::to(Status::Approved))
        .await
        .unwrap();
    store.abandon();
    // The Python TaskPilot rejects `b` in the file.
    python3(
        "import json,sys\n\
         p=sys.argv[1]\n\
         d=json.load(open(p))\n\
         d[sys.argv[2]]['status']='rejected'\n\
         json.dump(d,open(p,'w'),indent=2)\n",
        &[&path, Path::new(b.id.as_str())],
    );
    let store = open(&path).await;
    assert_eq!(store.get(&b.id).await.unwrap().status, Status::Rejected);
    assert_eq!(
        store.get(&a.id).await.unwrap().status,
        Status::Pending,
        "the journal of the replaced file is not replayed"
    );
    let stale = set_aside(dir.path(), ".tasks.json.journal.stale-");
    let evidence = std::fs::read_to_string(dir.path().join(&stale)).unwrap();
    assert!(evidence.contains("approved"), "{evidence}");
    let report = store.check().await.unwrap();
    assert!(
        report.problems.iter().any(|p| p.contains(stale.as_str())),
        "the warning names the evidence: {report:?}"
    );
}

#[tokio::test]
async fn a_backup_copied_over_the_task_file_is_a_rollback() {
    let (dir, path) = task_file();
    let store = open(&path).await;
    let a = store.create(NewTask::new("a", "high")).await.unwrap();
    drop(store);
    let backup = dir.path().join("backup.json");
    std::fs::copy(&path, &backup).unwrap();
    let store = open_unfolded(&path).await;
    let b = store.create(NewTask::new("b", "high")).await.unwrap();
    store
        .transition(&a.id, &Transition::to(Status::Rejected))
        .await
        .unwrap();
    store.abandon();
    std::fs::copy(&backup, &path).unwrap(); // `cp backup.json .tasks.json`
    let store = open(&path).await;
    assert_eq!(store.stats().await.unwrap().total(), 1);
    assert_eq!(store.get(&a.id).await.unwrap().status, Status::Pending);
    assert!(store.get(&b.id).await.is_err());
}

#[tokio::test]
async fn an_interrupted_fold_is_completed_not_taken_for_an_outside_edit() {
    let (dir, path) = task_file();
    let store = open_unfolded(&path).await;
    let a = store.create(NewTask::new("a", "high")).await.unwrap();
    let everything = vec![a.clone()];
    store.abandon();
    // The fold's first three steps, then a crash: .bak = old snapshot, new snapshot in place,
    // journal not yet retired.
    std::fs::copy(&path, dir.path().join(".tasks.json.bak")).unwrap();
    taskpilot_store::write_seed_file(&path, &everything).unwrap();
    let store = open(&path).await;
    assert_eq!(store.get(&a.id).await.unwrap(), a);
    let names = files_in(dir.path());
    assert!(
        !names.iter().any(|n| n.contains("stale")),
        "nothing set aside: {names:?}"
    );
    assert!(
        names.contains(&".tasks.json.journal.bak".to_owned()),
        "{names:?}"
    );
    assert!(store.check().await.unwrap().problems.is_empty());
}

#[tokio::test]
async fn a_corrupt_young_store_is_rebuilt_from_its_journal_and_check_reports_it_later() {
    let (dir, path) = task_file();
    let store = open_unfolded(&path).await;
    let a = store.create(NewTask::new("a", "high")).await.unwrap();
    let b = store.create(NewTask::new("b", "low")).await.unwrap();
    store.abandon();
    assert!(
        !dir.path().join(".tasks.json.bak").exists(),
        "a young store"
    );
    std::fs::write(&path, b"{ broken").unwrap();
    let store = open(&path).await;
    assert_eq!(store.get(&a.id).await.unwrap(), a);
    assert_eq!(store.get(&b.id).await.unwrap(), b);
    drop(store);
    assert_eq!(seed(&path).len(), 2, "the rebuilt snapshot is complete");
    let corrupt = set_aside(dir.path(), ".tasks.json.corrupt-");
    assert_eq!(
        std::fs::read(dir.path().join(&corrupt)).unwrap(),
        b"{ broken"
    );
    // A later process sees the recovery in `check`.
    let store = open(&path).await;
    let report = store.check().await.unwrap();
    let earlier: Vec<&String> = report
        .notes
        .iter()
        .filter(|n| n.contains("earlier recovery"))
        .collect();
    assert_eq!(earlier.len(), 1, "{report:?}");
    assert!(earlier[0].contains(corrupt.as_str()), "{}", earlier[0]);
}

#[tokio::test]
async fn duplicate_ids_are_reported_and_every_copy_is_kept() {
    let (dir, path) = task_file();
    let second = TASK.replace("seeded", "second copy");
    std::fs::write(&path, format!("{{{TASK},\n{second}}}\n")).unwrap();
    let store = open(&path).await;
    assert_eq!(store.stats().await.unwrap().total(), 1);
    let report = store.check().await.unwrap();
    assert_eq!(report.problems.len(), 1, "{report:?}");
    assert!(
        report.problems[0].contains("task_20251220_100404_305973")
            && report.problems[0].contains("2 times"),
        "{report:?}"
    );
    drop(store);
    let aside = set_aside(dir.path(), ".tasks.json.duplicates-");
    let kept: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(dir.path().join(aside)).unwrap()).unwrap();
    assert_eq!(kept.len(), 2);
    assert_eq!(kept[0]["record"]["title"], "seeded");
    assert_eq!(kept[1]["record"]["title"], "second copy");
    // A later `check` still reports it (from the recovery log).
    let store = open(&path).await;
    let report = store.check().await.unwrap();
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("earlier recovery") && n.contains("2 times")),
        "{report:?}"
    );
}

#[tokio::test]
async fn new_timestamps_follow_the_files_style_and_python_can_sort_them() {
    let (_dir, path) = task_file();
    std::fs::copy(taskpilot_store::fixture::reference_fixture(), &path).unwrap();
    let store = open(&path).await;
    let t = store.create(NewTask::new("new", "low")).await.unwrap();
    let t = store
        .transition(&t.id, &Transition::to(Status::Approved))
        .await
        .unwrap();
    assert!(
        !t.created_at.to_string().ends_with('Z') && !t.created_at.is_aware(),
        "{}",
        t.created_at
    );
    drop(store);
    // As the Python TaskPilot reads it.
    let out = python3(
        "import json,sys\n\
         from datetime import datetime\n\
         d=json.load(open(sys.argv[1]))\n\
         for t in d.values():\n\
         \x20   for k in ('created_at','reviewed_at','executed_at'):\n\
         \x20       if t.get(k): datetime.fromisoformat(t[k])\n\
         s=sorted(d.values(), key=lambda t: datetime.fromisoformat(t['created_at']))\n\
         print(len(s), s[-1]['id'])\n",
        &[&path],
    );
    assert_eq!(out.trim(), format!("3690 {}", t.id));
}

#[tokio::test]
async fn a_file_with_offsets_keeps_offsets_and_a_mixed_file_becomes_naive() {
    let dir = tempfile::tempdir().unwrap();
    let offsets = dir.path().join("offsets.json");
    std::fs::write(
        &offsets,
        format!("{{{}}}\n", TASK.replace("305998\"", "305998Z\"")),
    )
    .unwrap();
    let store = open(&offsets).await;
    let t = store.create(NewTask::new("new", "low")).await.unwrap();
    assert!(t.created_at.to_string().ends_with('Z'), "{}", t.created_at);
    drop(store);

    let mixed = dir.path().join("mixed.json");
    let aware = TASK
        .replace("305973", "305974")
        .replace("305998\"", "305998Z\"");
    std::fs::write(&mixed, format!("{{{TASK},\n{aware}}}\n")).unwrap();
    drop(open(&mixed).await);
    let text = std::fs::read_to_string(&mixed).unwrap();
    assert!(!text.contains("305998Z"), "{text}");
    assert_eq!(text.matches("\"2025-12-20T10:04:04.305998\"").count(), 2);
}

#[tokio::test]
async fn a_symlinked_task_file_stays_a_link_and_the_store_lives_beside_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let [app, _, link, target] = linked_task_file(dir.path());
    let store = open(&link).await;
    let a = store.create(NewTask::new("a", "high")).await.unwrap();
    store.compact().await.unwrap();
    let b = store.create(NewTask::new("b", "high")).await.unwrap();
    drop(store);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(files_in(&app), [".tasks.json"]);
    let stored = seed(&target);
    assert_eq!(stored.len(), 2);
    assert!(stored.contains_key(a.id.as_str()) && stored.contains_key(b.id.as_str()));
}

#[tokio::test]
async fn the_runs_of_a_symlinked_task_file_live_beside_the_target() {
    use taskpilot_store::shared::RunBook;
    let dir = tempfile::tempdir().unwrap();
    let [app, volume, link, target] = linked_task_file(dir.path());
    let store = open(&link).await;
    assert_eq!(store.real_path(), target.canonicalize().unwrap());
    let through_link = RunBook::of(std::sync::Arc::new(store)).expect("the file store keeps runs");
    let run = through_link
        .submit("notify the team", Some("alice".into()))
        .await
        .unwrap();
    drop(through_link);

    assert_eq!(
        files_in(&app),
        [".tasks.json"],
        "nothing but the link beside the link"
    );
    let runs = volume.join("tasks.json.runs");
    assert!(
        runs.join(format!("{}.json", run.run_id)).is_file(),
        "the run is beside the target: {:?}",
        files_in(&volume)
    );
    assert_eq!(taskpilot_store::file::runs_dir(&target), runs);
    // Opened through the target itself (another process, another mount of the volume), the
    // store is the same one: the run is there.
    let direct = RunBook::of(std::sync::Arc::new(open(&target).await)).unwrap();
    let found = direct.get(&run.run_id).await.unwrap();
    assert_eq!(found, run, "the run reads back exactly through the target");
}

#[tokio::test]
async fn a_fifo_or_a_device_is_refused_and_nothing_is_created() {
    let (dir, fifo) = task_file();
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let msg = refused(&fifo).await.to_string();
    assert!(
        msg.contains("FIFO") && msg.contains(".tasks.json") && msg.contains("TASKS_FILE"),
        "{msg}"
    );
    assert_eq!(files_in(dir.path()), [".tasks.json"]);

    assert_says(&refused(Path::new("/dev/null")).await, "character device");
    assert!(!Path::new("/dev/null.lock").exists());
}

/// Asserts that the 4 files a store in `dir` leaves after a write have the permissions `mode`.
async fn assert_files_after_a_write_have(dir: &Path, wanted: u32) {
    let store = open(&dir.join(".tasks.json")).await;
    store.create(NewTask::new("a", "high")).await.unwrap();
    drop(store);
    let names = files_in(dir);
    assert_eq!(names.len(), 4, "{names:?}");
    for name in &names {
        let mode = std::fs::metadata(dir.join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, wanted, "{name}: {mode:o}");
    }
}

#[tokio::test]
async fn data_files_are_0600_or_0640_in_a_setgid_directory() {
    let (dir, _) = task_file();
    assert_files_after_a_write_have(dir.path(), 0o600).await;
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o2770)).unwrap();
    assert_files_after_a_write_have(&shared, 0o640).await;
}
