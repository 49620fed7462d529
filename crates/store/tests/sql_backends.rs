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

mod common;

use sqlx::Connection;
use taskpilot_config::{Secret, StoreLocation};
use taskpilot_core::{NewTask, Status};
use taskpilot_store::StoreError;
use taskpilot_store::conformance::{self, assert_clear_error as assert_clear, open};
use taskpilot_testkit::sql::{Server, TempDb};

// ---------------------------------------------------------------------------------------------
// The shared suites on each backend: one store, several handles (instances), the fixture.

common::each_backend!(conformance::run_all;
    sqlite_passes_the_conformance_suite: Sqlite,
    postgres_passes_the_conformance_suite: Postgres,
    mysql_passes_the_conformance_suite: Mysql,
);
common::each_backend!(conformance::fixture_round_trip;
    the_fixture_goes_into_sqlite_and_back_equal: Sqlite,
    the_fixture_goes_into_postgres_and_back_equal: Postgres,
    the_fixture_goes_into_mysql_and_back_equal: Mysql,
);
common::on_fresh! {
    two_postgres_pools_create_and_decide_tasks_concurrently: Postgres => |db| {
        let alias = open(&db.location.replacen("postgres://", "postgresql://", 1)).await;
        let handles = [db.open().await, alias, db.open().await];
        conformance::several_handles(handles, Some(40), 30).await;
    }
    two_mysql_pools_create_and_decide_tasks_concurrently: Mysql => |db| {
        let alias = open(&db.location.replacen("mysql://", "mariadb://", 1)).await;
        let handles = [db.open().await, alias, db.open().await];
        conformance::several_handles(handles, Some(40), 30).await;
    }
    two_sqlite_handles_on_one_file_contest_fairly: Sqlite => |db| {
        conformance::several_handles(db.three().await, None, 30).await;
    }
    postgres_migrations_started_twice_at_once_both_succeed: Postgres => |db| {
        concurrent_migrations(&db.location).await;
    }
    mysql_migrations_started_twice_at_once_both_succeed: Mysql => |db| {
        concurrent_migrations(&db.location).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Migrations started by two pools at once (the two tests are above).

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

// ---------------------------------------------------------------------------------------------
// SQLite specifics and `check`.

#[tokio::test]
async fn sqlite_creates_its_file_in_wal_mode_and_check_reports_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/tasks.db");
    let url = format!("sqlite://{}", path.display());
    let store = open(&url).await;
    assert!(path.exists(), "the database file is created");
    let new = NewTask::new("persist me", "high");
    let task = conformance::task_in(store.as_ref(), new, Status::Review).await;
    drop(store);

    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
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

/// Opening each URL fails with an error that names the URL shown (its password hidden), never
/// the password `secret`, and gives the hint.
async fn assert_open_errors(cases: &[(&str, &str, &str)]) {
    for (url, shown, hint) in cases {
        assert_clear(&open_error(url).await, &[shown], "secret", hint);
    }
}

#[tokio::test]
async fn unreachable_servers_give_a_clear_error() {
    assert_open_errors(&[
        (
            "postgres://nobody:secret@127.0.0.1:1/tasks",
            "postgres://nobody:***@127.0.0.1:1/tasks",
            "is the server running",
        ),
        (
            "mysql://root:secret@127.0.0.1:1/tasks",
            "mysql://root:***@127.0.0.1:1/tasks",
            "is the server running",
        ),
    ])
    .await;
}

#[tokio::test]
async fn postgres_unknown_user_and_missing_database_give_clear_errors() {
    let Some(db) = TempDb::create(Server::Postgres).await else {
        return;
    };
    let user = db
        .admin
        .trim_start_matches("postgres://")
        .split('@')
        .next()
        .unwrap_or("postgres");
    let missing = format!(
        "postgres://{user}:secret@127.0.0.1:5432/does_not_exist_{}",
        std::process::id()
    );
    let shown = format!("postgres://{user}:***@127.0.0.1:5432/does_not_exist");
    assert_open_errors(&[
        // The server trusts local users, so a wrong password cannot fail there: an unknown
        // user does.
        (
            "postgres://nobody:secret@127.0.0.1:5432/does_not_exist",
            "postgres://nobody:***@127.0.0.1:5432/does_not_exist",
            "nobody",
        ),
        (&missing, &shown, "create the database"),
    ])
    .await;
}

#[tokio::test]
async fn mysql_wrong_password_and_missing_database_give_clear_errors() {
    let Some(_db) = TempDb::create(Server::Mysql).await else {
        return;
    };
    assert_open_errors(&[
        (
            "mysql://root:secret@127.0.0.1:3306/test",
            "mysql://root:***@127.0.0.1:3306/test",
            "password",
        ),
        (
            "mariadb://root@127.0.0.1:3306/does_not_exist_here",
            "mariadb://root@127.0.0.1:3306/does_not_exist_here",
            "create the database",
        ),
    ])
    .await;
}
