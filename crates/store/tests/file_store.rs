//! The file backend: the conformance suite, two handles on one file, recovery from corruption,
//! torn journal tails, and the reference fixture.

mod common;

use std::path::Path;

use common::{append, open_store as open, open_unfolded, refused, set_aside, task_file};
use taskpilot_core::{NewTask, Status};
use taskpilot_store::{ListQuery, StoreError, TaskStore, conformance};
use taskpilot_testkit::files_in;

common::each_backend!(conformance::run_all; file_store_passes_the_conformance_suite: File);
common::on_fresh! {
    two_handles_on_one_file_share_tasks_and_contest_fairly: File => |file| {
        conformance::contested_across_handles(file.open().await, file.open().await).await;
    }
}

#[tokio::test]
async fn writes_survive_reopening_and_compaction_keeps_the_seed_format() {
    let (dir, path) = task_file();
    let store = open(&path).await;
    let new = NewTask::new("persist me", "low");
    let task = conformance::task_in(&store, new, Status::Review).await;
    drop(store);
    let store = open(&path).await;
    assert_eq!(store.get(&task.id).await.unwrap().status, Status::Review);
    store.compact().await.unwrap();
    let seed: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        seed[task.id.as_str()]["status"],
        "review",
        "the snapshot alone is complete after compact"
    );
    assert!(
        !path.with_extension("json.journal").exists(),
        "no journal after a fold; the next write starts one"
    );
    let names = files_in(dir.path());
    assert!(names.contains(&".tasks.json.bak".to_owned()), "{names:?}");
    assert!(
        !names.iter().any(|n| Path::new(n)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("tmp"))),
        "no .tmp left behind: {names:?}"
    );
}

#[tokio::test]
async fn corrupt_snapshot_recovers_from_bak_and_journals_and_keeps_the_evidence() {
    let (dir, path) = task_file();
    let store = open(&path).await;
    let before = store
        .create(NewTask::new("before compaction", "high"))
        .await
        .unwrap();
    store.compact().await.unwrap(); // .bak = {}, journal.bak = [before]
    let after = store
        .create(NewTask::new("after compaction", "low"))
        .await
        .unwrap();
    drop(store);
    std::fs::write(&path, b"{ this is not json").unwrap();

    let store = open(&path).await;
    assert_eq!(
        store.get(&before.id).await.unwrap(),
        before,
        "compacted task recovered"
    );
    assert_eq!(
        store.get(&after.id).await.unwrap(),
        after,
        "journaled task recovered"
    );
    let aside = set_aside(dir.path(), ".tasks.json.corrupt-");
    assert_eq!(
        std::fs::read(dir.path().join(aside)).unwrap(),
        b"{ this is not json"
    );
    let report = store.check().await.unwrap();
    assert!(
        report.problems.iter().any(|p| p.contains("recovered")),
        "{report:?}"
    );
}

#[tokio::test]
async fn corrupt_snapshot_and_bak_is_an_error_that_changes_nothing() {
    let (dir, path) = task_file();
    std::fs::write(&path, b"garbage").unwrap();
    std::fs::write(dir.path().join(".tasks.json.bak"), b"also garbage").unwrap();
    let err = refused(&path).await;
    let msg = err.to_string();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{msg}");
    assert!(
        msg.contains(".tasks.json") && msg.contains(".tasks.json.bak"),
        "{msg}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"garbage",
        "the evidence is untouched"
    );
    assert_eq!(
        std::fs::read(dir.path().join(".tasks.json.bak")).unwrap(),
        b"also garbage"
    );
}

#[tokio::test]
async fn torn_journal_tail_is_ignored_and_earlier_records_kept() {
    let (dir, path) = task_file();
    let store = open_unfolded(&path).await;
    let a = store.create(NewTask::new("a", "low")).await.unwrap();
    let b = store.create(NewTask::new("b", "low")).await.unwrap();
    store.abandon(); // as if killed: the journal stays
    append(
        &dir.path().join(".tasks.json.journal"),
        br#"{"put":{"id":"task_2025"#,
    );

    let store = open(&path).await;
    assert_eq!(store.get(&a.id).await.unwrap(), a);
    assert_eq!(store.get(&b.id).await.unwrap(), b);
    let c = store.create(NewTask::new("c", "low")).await.unwrap();
    drop(store);
    let store = open(&path).await;
    assert_eq!(
        store.stats().await.unwrap().total(),
        3,
        "the torn bytes were cut before appending"
    );
    assert_eq!(store.get(&c.id).await.unwrap(), c);
}

#[tokio::test]
async fn invalid_records_are_kept_aside_not_deleted() {
    let (dir, path) = task_file();
    std::fs::write(
        &path,
        r#"{"task_20251220_100404_305973": {"id":"task_20251220_100404_305973","title":"good","priority":"high","description":"","status":"pending","created_at":"2025-12-20T10:04:04.305998","reviewed_at":null,"executed_at":null,"reviewer_response":null,"error":null},
            "task_20251220_100404_305974": {"id":"task_20251220_100404_305974","title":"bad","priority":"high","description":"","status":"finished","created_at":"2025-12-20T10:04:04.305998"}}"#,
    )
    .unwrap();
    let store = open(&path).await;
    assert_eq!(store.stats().await.unwrap().total(), 1);
    let aside = set_aside(dir.path(), ".tasks.json.invalid-");
    let kept: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(aside)).unwrap()).unwrap();
    assert_eq!(kept["task_20251220_100404_305974"]["status"], "finished");
}

#[tokio::test]
async fn the_reference_fixture_loads_as_it_is() {
    let (_dir, path) = task_file();
    std::fs::copy(taskpilot_store::fixture::reference_fixture(), &path).unwrap();
    let original = std::fs::read(&path).unwrap();
    let store = open(&path).await;
    let stats = store.stats().await.unwrap();
    assert_eq!(stats.total(), 3689);
    assert_eq!(stats.get(Status::Rejected), 2060);
    assert_eq!(stats.get(Status::Executed), 1006);
    assert_eq!(stats.get(Status::Review), 436);
    assert_eq!(stats.get(Status::Pending), 187);
    let newest = store
        .list(&ListQuery {
            status: None,
            limit: Some(1),
        })
        .await
        .unwrap();
    assert_eq!(newest.len(), 1);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        original,
        "loading does not rewrite the file"
    );
    // Compaction writes the same records back: naive timestamps and nulls unchanged.
    store.compact().await.unwrap();
    let before: serde_json::Value = serde_json::from_slice(&original).unwrap();
    let after: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(before, after);
}
