//! The decision log and runs beside the tasks, on every backend, through two handles on one
//! store (two "replicas"): `taskpilot_store::shared_suite`. SQLite and the file store use a
//! temporary directory; PostgreSQL, MariaDB and Redis the machine's servers (a fresh database
//! or key prefix per test, removed at the end); S3 the server of `scripts/s3-server start`.
//! With `CI=true` a missing service fails the test.

mod common;

use std::path::Path;

use sqlx::Connection;
use taskpilot_store::{conformance, shared_suite};

/// Runs written after a task's run in `runs_copied_and_by_task`: more than the newest 1,000 the
/// task history used to look at.
const NEWER: usize = 1_001;
/// The same for S3, where each run is two or three requests to the test server (about 30 s
/// for 1,001 on a busy two-core machine): the task index there is the same marker listing
/// whatever the count.
const NEWER_S3: usize = 60;

common::on_fresh! {
    sqlite_shares_decisions_and_runs_between_two_handles: Sqlite => |db| {
        shared_suite::run_all(db.open().await, db.open().await, NEWER).await;
    }
    postgres_shares_decisions_and_runs_between_two_handles: Postgres => |db| {
        shared_suite::run_all(db.open().await, db.open().await, NEWER).await;
    }
    mariadb_shares_decisions_and_runs_between_two_handles: Mysql => |db| {
        shared_suite::run_all(db.open().await, db.open().await, NEWER).await;
    }
    redis_shares_decisions_and_runs_between_two_handles: Redis => |redis| {
        shared_suite::run_all(redis.open().await, redis.open().await, NEWER).await;
        let temp = redis.redis().expect("a Redis prefix");
        let keys = temp.keys().expect("list the keys under the prefix");
        assert!(
            keys.iter().any(|k| k.starts_with(&format!("{}:run:", temp.prefix))),
            "runs live under the store's prefix: {keys:?}"
        );
    }
    s3_shares_decisions_and_runs_between_two_handles: S3 => |bucket| {
        shared_suite::run_all(bucket.open().await, bucket.open().await, NEWER_S3).await;
    }
    the_file_store_shares_runs_between_two_handles: File => |file| {
        let (a, b) = (file.open().await, file.open().await);
        assert!(a.decision_records().is_none(), "decisions stay in DECISION_LOGS_FILE");
        shared_suite::runs(a.clone(), b.clone()).await;
        shared_suite::runs_copied_and_by_task(a, b, NEWER).await;
        let files = common::run_files(Path::new(&file.location)).len();
        assert_eq!(files, 14 + 2 + NEWER, "one file per run: 14 of `runs`, 2 + NEWER copied");
    }
    migration_0004_indexes_the_runs_sqlite_already_had: Sqlite => |db| {
        a_run_from_before_0004_is_found_by_task(&db.location, "sqlite").await;
    }
    migration_0004_indexes_the_runs_postgres_already_had: Postgres => |db| {
        a_run_from_before_0004_is_found_by_task(&db.location, "postgres").await;
    }
    migration_0004_indexes_the_runs_mariadb_already_had: Mysql => |db| {
        a_run_from_before_0004_is_found_by_task(&db.location, "mysql").await;
    }
}

/// Runs `statements` (each a script) over a new connection of type `C` to `url`.
async fn execute<C>(url: &str, statements: &[&str])
where
    C: Connection,
    for<'c> &'c mut C: sqlx::Executor<'c, Database = C::Database>,
{
    let mut conn = C::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    for sql in statements {
        sqlx::raw_sql(sql)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("run SQL on {url}: {e}"));
    }
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
    let statements = [schema.as_str(), insert.as_str()];
    let created = format!("{url}?mode=rwc"); // SQLite creates the file
    match dialect {
        "sqlite" => execute::<sqlx::SqliteConnection>(&created, &statements).await,
        "postgres" => execute::<sqlx::PgConnection>(url, &statements).await,
        _ => execute::<sqlx::MySqlConnection>(url, &statements).await,
    }
    let store = conformance::open(url).await;
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
