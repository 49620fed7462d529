//! The SQL backends against real databases: the conformance suite on SQLite (a temporary
//! file), PostgreSQL (127.0.0.1:5432) and MariaDB/MySQL (127.0.0.1:3306); two pools deciding
//! the same tasks; three handles claiming the same approved tasks; migrations started twice at
//! once; the reference fixture copied in and back out; clear errors for a wrong password, a
//! missing database and an unreachable server. The checks themselves are the shared suites of
//! `conformance.rs`; this file opens the connections.
//!
//! Every PostgreSQL / MySQL test creates a database with a random name and drops it at the
//! end (even when the test fails). With `CI=true` an unreachable server fails the test; without
//! it the test reports the skip (`taskpilot_testkit::service_missing`) and returns.

use std::path::Path;
use std::sync::Arc;

use sqlx::Connection;
use taskpilot_config::{Secret, StoreLocation};
use taskpilot_core::{NewTask, Status, Transition};
use taskpilot_store::conformance::{self, assert_clear_error as assert_clear};
use taskpilot_store::{StoreError, TaskStore};
use taskpilot_testkit::sql::{Server, TempDb};

async fn open(url: &str) -> Arc<dyn TaskStore> {
    taskpilot_store::open(&StoreLocation::Url(Secret::new(url)))
        .await
        .unwrap_or_else(|e| panic!("open {url}: {e}"))
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

// ---------------------------------------------------------------------------------------------
// The conformance suite on each backend.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    conformance::run_all(open(&sqlite_url(&dir.path().join("data/tasks.db"))).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_passes_the_conformance_suite() {
    let Some(db) = TempDb::create(Server::Postgres).await else {
        return;
    };
    conformance::run_all(open(&db.url).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mysql_passes_the_conformance_suite() {
    let Some(db) = TempDb::create(Server::Mysql).await else {
        return;
    };
    conformance::run_all(open(&db.url).await).await;
}

// ---------------------------------------------------------------------------------------------
// Several handles (instances) on one database.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_postgres_pools_create_and_decide_tasks_concurrently() {
    let Some(db) = TempDb::create(Server::Postgres).await else {
        return;
    };
    let (a, b) = (
        open(&db.url).await,
        open(&db.url.replacen("postgres://", "postgresql://", 1)).await,
    );
    conformance::contested_across_handles(a.clone(), b.clone()).await;
    conformance::parallel_creates_across_handles(&[a.clone(), b.clone()], 40).await;
    conformance::claims_have_one_executor(&[a, b, open(&db.url).await], 30).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_mysql_pools_create_and_decide_tasks_concurrently() {
    let Some(db) = TempDb::create(Server::Mysql).await else {
        return;
    };
    let (a, b) = (
        open(&db.url).await,
        open(&db.url.replacen("mysql://", "mariadb://", 1)).await,
    );
    conformance::contested_across_handles(a.clone(), b.clone()).await;
    conformance::parallel_creates_across_handles(&[a.clone(), b.clone()], 40).await;
    conformance::claims_have_one_executor(&[a, b, open(&db.url).await], 30).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_sqlite_handles_on_one_file_contest_fairly() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir.path().join("tasks.db"));
    conformance::contested_across_handles(open(&url).await, open(&url).await).await;
    let handles = [open(&url).await, open(&url).await, open(&url).await];
    conformance::claims_have_one_executor(&handles, 30).await;
}

// ---------------------------------------------------------------------------------------------
// Migrations started by two pools at once.

async fn concurrent_migrations(url: &str) {
    let location = StoreLocation::Url(Secret::new(url));
    let (first, second) = tokio::join!(
        taskpilot_store::open(&location),
        taskpilot_store::open(&location)
    );
    let (first, second) = (
        first.expect("first migrator"),
        second.expect("second migrator"),
    );
    let task = first
        .create(NewTask::new("after a racing start", "low"))
        .await
        .unwrap();
    assert_eq!(second.get(&task.id).await.unwrap(), task);
    let report = second.check().await.unwrap();
    assert!(report.problems.is_empty(), "{report:?}");
    assert!(
        report.notes.iter().any(|n| n == "schema version: 4"),
        "{report:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_migrations_started_twice_at_once_both_succeed() {
    let Some(db) = TempDb::create(Server::Postgres).await else {
        return;
    };
    concurrent_migrations(&db.url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mysql_migrations_started_twice_at_once_both_succeed() {
    let Some(db) = TempDb::create(Server::Mysql).await else {
        return;
    };
    concurrent_migrations(&db.url).await;
}

// ---------------------------------------------------------------------------------------------
// SQLite specifics and `check`.

#[tokio::test]
async fn sqlite_creates_its_file_in_wal_mode_and_check_reports_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/tasks.db");
    let url = sqlite_url(&path);
    let store = open(&url).await;
    assert!(path.exists(), "the database file is created");
    let task = store
        .create(NewTask::new("persist me", "high"))
        .await
        .unwrap();
    store
        .transition(&task.id, &Transition::to(Status::Review))
        .await
        .unwrap();
    drop(store);

    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    sqlx::query(
        "INSERT INTO tasks (id, title, priority, description, status, created_at) \
         VALUES ('task_20251220_100404_305974', 'bad', 'high', '', 'finished', '2025-12-20T10:04:04.305998')",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    let store = open(&url).await;
    assert_eq!(
        store.get(&task.id).await.unwrap().status,
        Status::Review,
        "survives reopening"
    );
    let report = store.check().await.unwrap();
    assert_eq!(report.tasks, 2);
    assert_eq!(report.problems.len(), 1, "{report:?}");
    assert!(
        report.problems[0].contains("task_20251220_100404_305974"),
        "{report:?}"
    );
    assert_eq!(store.describe(), url);
}

#[tokio::test]
async fn a_relative_sqlite_path_is_refused() {
    let err = taskpilot_store::open(&StoreLocation::Url(Secret::new(
        "sqlite://relative/tasks.db",
    )))
    .await
    .err()
    .expect("must fail");
    assert!(err.to_string().contains("absolute path"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// The reference fixture into each backend and back.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fixture_goes_into_sqlite_and_back_equal() {
    let dir = tempfile::tempdir().unwrap();
    conformance::fixture_round_trip(open(&sqlite_url(&dir.path().join("tasks.db"))).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fixture_goes_into_postgres_and_back_equal() {
    let Some(db) = TempDb::create(Server::Postgres).await else {
        return;
    };
    conformance::fixture_round_trip(open(&db.url).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fixture_goes_into_mysql_and_back_equal() {
    let Some(db) = TempDb::create(Server::Mysql).await else {
        return;
    };
    conformance::fixture_round_trip(open(&db.url).await).await;
}

// ---------------------------------------------------------------------------------------------
// Errors that name the URL and never the password.

async fn open_error(url: &str) -> String {
    match taskpilot_store::open(&StoreLocation::Url(Secret::new(url))).await {
        Ok(store) => panic!("{url} opened as {}", store.describe()),
        Err(e) => {
            assert!(matches!(e, StoreError::Backend { .. }), "{e:?}");
            e.to_string()
        }
    }
}

#[tokio::test]
async fn unreachable_servers_give_a_clear_error() {
    let message = open_error("postgres://nobody:secret@127.0.0.1:1/tasks").await;
    assert_clear(
        &message,
        "postgres://nobody:***@127.0.0.1:1/tasks",
        "is the server running",
    );
    let message = open_error("mysql://root:secret@127.0.0.1:1/tasks").await;
    assert_clear(
        &message,
        "mysql://root:***@127.0.0.1:1/tasks",
        "is the server running",
    );
}

#[tokio::test]
async fn postgres_unknown_user_and_missing_database_give_clear_errors() {
    let Some(db) = TempDb::create(Server::Postgres).await else {
        return;
    };
    // The server trusts local users, so a wrong password cannot fail there: an unknown user does.
    let message = open_error("postgres://nobody:secret@127.0.0.1:5432/does_not_exist").await;
    assert_clear(
        &message,
        "postgres://nobody:***@127.0.0.1:5432/does_not_exist",
        "nobody",
    );
    let user = db
        .admin
        .trim_start_matches("postgres://")
        .split('@')
        .next()
        .unwrap_or("postgres");
    let url = format!(
        "postgres://{user}:secret@127.0.0.1:5432/does_not_exist_{}",
        std::process::id()
    );
    let message = open_error(&url).await;
    assert_clear(
        &message,
        &format!("postgres://{user}:***@127.0.0.1:5432/does_not_exist"),
        "create the database",
    );
}

#[tokio::test]
async fn mysql_wrong_password_and_missing_database_give_clear_errors() {
    let Some(_db) = TempDb::create(Server::Mysql).await else {
        return;
    };
    let message = open_error("mysql://root:secret@127.0.0.1:3306/test").await;
    assert_clear(&message, "mysql://root:***@127.0.0.1:3306/test", "password");
    let message = open_error("mariadb://root@127.0.0.1:3306/does_not_exist_here").await;
    assert_clear(
        &message,
        "mariadb://root@127.0.0.1:3306/does_not_exist_here",
        "create the database",
    );
}
