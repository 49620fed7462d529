//! The decision log and runs beside the tasks, on every backend, through two handles on one
//! store (two "replicas"): `taskpilot_store::shared_suite`. SQLite and the file store use a
//! temporary directory; PostgreSQL, MariaDB and Redis the machine's servers (a fresh database
//! or key prefix per test, removed at the end); S3 the server of `scripts/s3-server start`.
//! With `CI=true` a missing service fails the test.

use std::sync::Arc;

use taskpilot_config::{Secret, StoreLocation};
use taskpilot_store::s3::S3Store;
use taskpilot_store::{FileStore, TaskStore, shared_suite};
use taskpilot_testkit::redis::TempPrefix;
use taskpilot_testkit::s3::{self, TempBucket};
use taskpilot_testkit::sql::TempDb;

async fn open(url: &str) -> Arc<dyn TaskStore> {
    taskpilot_store::open(&StoreLocation::Url(Secret::new(url)))
        .await
        .unwrap_or_else(|e| panic!("open {url}: {e}"))
}

async fn both(url: &str) -> (Arc<dyn TaskStore>, Arc<dyn TaskStore>) {
    (open(url).await, open(url).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_shares_decisions_and_runs_between_two_handles() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("tasks.db").display());
    let (a, b) = both(&url).await;
    shared_suite::decisions(a.clone(), b.clone()).await;
    shared_suite::runs(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_shares_decisions_and_runs_between_two_handles() {
    let Some(db) = TempDb::postgres().await else {
        return;
    };
    let (a, b) = both(&db.url).await;
    shared_suite::decisions(a.clone(), b.clone()).await;
    shared_suite::runs(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mariadb_shares_decisions_and_runs_between_two_handles() {
    let Some(db) = TempDb::mysql().await else {
        return;
    };
    let (a, b) = both(&db.url).await;
    shared_suite::decisions(a.clone(), b.clone()).await;
    shared_suite::runs(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_shares_decisions_and_runs_between_two_handles() {
    let Some(temp) = TempPrefix::new() else {
        return;
    };
    let (a, b) = both(&temp.url).await;
    shared_suite::decisions(a.clone(), b.clone()).await;
    shared_suite::runs(a, b).await;
    let keys = temp.keys().expect("list the keys under the prefix");
    assert!(
        keys.iter()
            .any(|k| k.starts_with(&format!("{}:run:", temp.prefix))),
        "runs live under the store's prefix: {keys:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_shares_decisions_and_runs_between_two_handles() {
    let Some(bucket) = TempBucket::new().await else {
        return;
    };
    let url = bucket.url("team");
    let options = s3::options(&bucket.endpoint, "test", "test-secret");
    let a: Arc<dyn TaskStore> = Arc::new(S3Store::open_with(&url, &options).await.unwrap());
    let b: Arc<dyn TaskStore> = Arc::new(S3Store::open_with(&url, &options).await.unwrap());
    shared_suite::decisions(a.clone(), b.clone()).await;
    shared_suite::runs(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_file_store_shares_runs_between_two_handles() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".tasks.json");
    let a: Arc<dyn TaskStore> = Arc::new(FileStore::open(path.clone()).await.unwrap());
    let b: Arc<dyn TaskStore> = Arc::new(FileStore::open(path.clone()).await.unwrap());
    assert!(
        a.decision_records().is_none(),
        "decisions stay in DECISION_LOGS_FILE"
    );
    shared_suite::runs(a, b).await;
    let runs_dir = taskpilot_store::file::runs_dir(&path);
    assert_eq!(runs_dir, dir.path().join(".tasks.json.runs"));
    let files = std::fs::read_dir(&runs_dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".json"))
        })
        .count();
    assert_eq!(files, 14, "one file per run");
}
