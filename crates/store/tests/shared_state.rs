//! The decision log and runs beside the tasks, on every backend, through two handles on one
//! store (two "replicas"): `taskpilot_store::shared_suite`. SQLite and the file store use a
//! temporary directory; PostgreSQL, MariaDB and Redis the machine's servers (a fresh database
//! or key prefix per test, removed at the end); S3 the server of `scripts/s3-server start`.
//! With `CI=true` a missing service fails the test.

use std::path::Path;
use std::sync::Arc;

use sqlx::Connection;

use taskpilot_config::{Secret, StoreLocation};
use taskpilot_store::s3::S3Store;
use taskpilot_store::{FileStore, TaskStore, shared_suite};
use taskpilot_testkit::redis::TempPrefix;
use taskpilot_testkit::s3::{self, TempBucket};
use taskpilot_testkit::sql::TempDb;

/// Runs written after a task's run in `runs_copied_and_by_task`: more than the newest 1,000 the
/// task history used to look at.
const NEWER: usize = 1_001;
/// The same for S3, where each run is two or three requests to the test server (about 30 s
/// for 1,001 on a busy two-core machine): the task index there is the same marker listing
/// whatever the count.
const NEWER_S3: usize = 60;

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
    shared_suite::runs(a.clone(), b.clone()).await;
    shared_suite::runs_copied_and_by_task(a, b, NEWER).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_shares_decisions_and_runs_between_two_handles() {
    let Some(db) = TempDb::postgres().await else {
        return;
    };
    let (a, b) = both(&db.url).await;
    shared_suite::decisions(a.clone(), b.clone()).await;
    shared_suite::runs(a.clone(), b.clone()).await;
    shared_suite::runs_copied_and_by_task(a, b, NEWER).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mariadb_shares_decisions_and_runs_between_two_handles() {
    let Some(db) = TempDb::mysql().await else {
        return;
    };
    let (a, b) = both(&db.url).await;
    shared_suite::decisions(a.clone(), b.clone()).await;
    shared_suite::runs(a.clone(), b.clone()).await;
    shared_suite::runs_copied_and_by_task(a, b, NEWER).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_shares_decisions_and_runs_between_two_handles() {
    let Some(temp) = TempPrefix::new() else {
        return;
    };
    let (a, b) = both(&temp.url).await;
    shared_suite::decisions(a.clone(), b.clone()).await;
    shared_suite::runs(a.clone(), b.clone()).await;
    shared_suite::runs_copied_and_by_task(a, b, NEWER).await;
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
    shared_suite::runs(a.clone(), b.clone()).await;
    shared_suite::runs_copied_and_by_task(a, b, NEWER_S3).await;
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
    shared_suite::runs(a.clone(), b.clone()).await;
    shared_suite::runs_copied_and_by_task(a, b, NEWER).await;
    let runs_dir = taskpilot_store::file::runs_dir(&path);
    assert_eq!(runs_dir, dir.path().join(".tasks.json.runs"));
    let files = std::fs::read_dir(&runs_dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".json"))
        })
        .count();
    assert_eq!(
        files,
        14 + 2 + NEWER,
        "one file per run: 14 of `runs`, 2 + NEWER copied"
    );
}

/// A run recorded before migration 0004 (runs without a `task_id` column), written with the
/// schema of migrations 0001 and 0003 alone; opening the store applies 0004, whose backfill
/// gives the run its task id, so the task's history finds it.
async fn a_run_from_before_0004_is_found_by_task(url: &str, dialect: &str) {
    let task = "task_20250101_000000_000001";
    let run = format!(
        r#"{{"run_id":"run_20250101_000000_000000_0000abcd","status":"succeeded","request":"old","user_id":null,"task_id":"{task}","created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z","steps":[],"result":null,"owner":null,"lease_until":null,"attempts":1,"version":3}}"#
    );
    let untasked = r#"{"run_id":"run_20250101_000000_000001_0000abce","status":"failed","request":"older","user_id":null,"task_id":null,"created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z","steps":[],"result":null,"owner":null,"lease_until":null,"attempts":1,"version":2}"#;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(dialect);
    let mut schema = String::new();
    for file in ["0001_tasks.sql", "0003_decisions_runs.sql"] {
        schema.push_str(&std::fs::read_to_string(dir.join(file)).expect("a migration"));
        schema.push('\n');
    }
    let insert = format!(
        "INSERT INTO runs (run_id, status, version, body) VALUES \
         ('run_20250101_000000_000000_0000abcd', 'succeeded', 3, '{run}'), \
         ('run_20250101_000000_000001_0000abce', 'failed', 2, '{untasked}')"
    );
    match dialect {
        "sqlite" => {
            let mut conn = sqlx::SqliteConnection::connect(&format!("{url}?mode=rwc"))
                .await
                .expect("connect to SQLite");
            sqlx::raw_sql(&schema)
                .execute(&mut conn)
                .await
                .expect("0001 and 0003");
            sqlx::raw_sql(&insert)
                .execute(&mut conn)
                .await
                .expect("an old run");
        }
        "postgres" => {
            let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
            sqlx::raw_sql(&schema)
                .execute(&mut conn)
                .await
                .expect("0001 and 0003");
            sqlx::raw_sql(&insert)
                .execute(&mut conn)
                .await
                .expect("an old run");
        }
        _ => {
            let mut conn = sqlx::MySqlConnection::connect(url).await.expect("connect");
            sqlx::raw_sql(&schema)
                .execute(&mut conn)
                .await
                .expect("0001 and 0003");
            sqlx::raw_sql(&insert)
                .execute(&mut conn)
                .await
                .expect("an old run");
        }
    }
    let store = open(url).await;
    let records = store.run_records().expect("runs");
    let found = records.runs_for_task(task).await.expect("a task's runs");
    assert_eq!(
        found.len(),
        1,
        "the backfill indexed the old run: {found:?}"
    );
    assert_eq!(found[0].run_id, "run_20250101_000000_000000_0000abcd");
    assert_eq!(found[0].version, 3);
    let all = records.scan_runs(None, 10).await.expect("scan");
    assert_eq!(all.len(), 2, "the run without a task is still there");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migration_0004_indexes_the_runs_sqlite_already_had() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("old.db").display());
    a_run_from_before_0004_is_found_by_task(&url, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migration_0004_indexes_the_runs_postgres_already_had() {
    let Some(db) = TempDb::postgres().await else {
        return;
    };
    a_run_from_before_0004_is_found_by_task(&db.url, "postgres").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migration_0004_indexes_the_runs_mariadb_already_had() {
    let Some(db) = TempDb::mysql().await else {
        return;
    };
    a_run_from_before_0004_is_found_by_task(&db.url, "mysql").await;
}
