//! The SQL backends against real databases: the conformance suite on SQLite (a temporary
//! file), PostgreSQL (127.0.0.1:5432) and MariaDB/MySQL (127.0.0.1:3306); two pools deciding
//! the same tasks; migrations started twice at once; the reference fixture copied in and back
//! out; clear errors for a wrong password, a missing database and an unreachable server.
//!
//! Every PostgreSQL / MySQL test creates a database with a random name and drops it at the
//! end (even when the test fails). With `CI=true` an unreachable server fails the test; without
//! it the test prints a notice and returns.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use sqlx::Connection;
use taskpilot_config::{Secret, StoreLocation};
use taskpilot_core::{NewTask, Status, Task, Transition};
use taskpilot_store::{FileStore, StoreError, TaskStore, conformance};

const PG_ADMINS: [&str; 2] = [
    "postgres://postgres@127.0.0.1:5432/postgres",
    "postgres://root@127.0.0.1:5432/postgres",
];
const MYSQL_ADMIN: &str = "mysql://root@127.0.0.1:3306";

fn ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// Fails under CI, prints a notice otherwise (the caller then returns).
fn unavailable(what: &str, error: &str) {
    assert!(!ci(), "CI=true but {what} is not reachable: {error}");
    eprintln!("NOTICE: skipping: {what} is not reachable ({error}); CI=true makes this a failure");
}

#[derive(Clone, Copy, Debug)]
enum Server {
    Postgres,
    Mysql,
}

/// A database created for one test and dropped when this guard goes out of scope.
struct TempDb {
    server: Server,
    admin: String,
    name: String,
    /// The URL of the new database, for the store.
    url: String,
}

fn random_name() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "taskpilot_test_{}_{}_{}",
        std::process::id(),
        nanos,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

impl TempDb {
    async fn create(server: Server) -> Option<TempDb> {
        let name = random_name();
        match server {
            Server::Postgres => {
                let mut last = String::new();
                for admin in PG_ADMINS {
                    match sqlx::PgConnection::connect(admin).await {
                        Ok(mut conn) => {
                            sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                                .execute(&mut conn)
                                .await
                                .expect("create the test database");
                            let _ = conn.close().await;
                            let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
                            return Some(TempDb {
                                server,
                                admin: admin.to_owned(),
                                url: format!("{base}/{name}"),
                                name,
                            });
                        }
                        Err(e) => last = e.to_string(),
                    }
                }
                unavailable("PostgreSQL at 127.0.0.1:5432", &last);
                None
            }
            Server::Mysql => match sqlx::MySqlConnection::connect(MYSQL_ADMIN).await {
                Ok(mut conn) => {
                    sqlx::query(&format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
                        .execute(&mut conn)
                        .await
                        .expect("create the test database");
                    let _ = conn.close().await;
                    Some(TempDb {
                        server,
                        admin: MYSQL_ADMIN.to_owned(),
                        url: format!("{MYSQL_ADMIN}/{name}"),
                        name,
                    })
                }
                Err(e) => {
                    unavailable("MariaDB/MySQL at 127.0.0.1:3306", &e.to_string());
                    None
                }
            },
        }
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let (server, admin, name) = (self.server, self.admin.clone(), self.name.clone());
        // A runtime of its own: the test's runtime may be shutting down.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async move {
                match server {
                    Server::Postgres => {
                        let mut conn = sqlx::PgConnection::connect(&admin).await.ok()?;
                        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                            .execute(&mut conn)
                            .await
                            .ok()
                            .map(|_| ())
                    }
                    Server::Mysql => {
                        let mut conn = sqlx::MySqlConnection::connect(&admin).await.ok()?;
                        sqlx::query(&format!("DROP DATABASE IF EXISTS `{name}`"))
                            .execute(&mut conn)
                            .await
                            .ok()
                            .map(|_| ())
                    }
                }
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("warning: could not drop the test database {}", self.name);
        }
    }
}

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
    parallel_creates_on_two_handles(a, b).await;
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
    parallel_creates_on_two_handles(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_sqlite_handles_on_one_file_contest_fairly() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir.path().join("tasks.db"));
    conformance::contested_across_handles(open(&url).await, open(&url).await).await;
}

/// Both handles create tasks at once (ids collide in the same microsecond across "instances")
/// and approve each other's: no id is lost or duplicated, every task is decided once.
async fn parallel_creates_on_two_handles(a: Arc<dyn TaskStore>, b: Arc<dyn TaskStore>) {
    a.clear().await.unwrap();
    let mut jobs = Vec::new();
    for (n, store) in [a.clone(), b.clone(), a.clone(), b.clone()]
        .into_iter()
        .enumerate()
    {
        jobs.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..40 {
                ids.push(
                    store
                        .create(NewTask::new(format!("h{n} #{i}"), "low"))
                        .await
                        .unwrap()
                        .id,
                );
            }
            ids
        }));
    }
    let mut all = std::collections::HashSet::new();
    for job in jobs {
        for id in job.await.unwrap() {
            assert!(all.insert(id.clone()), "duplicate id {id}");
        }
    }
    assert_eq!(b.stats().await.unwrap().total(), 160);
    let approve = Transition::to(Status::Approved).expecting(&[Status::Pending]);
    let (ids_a, ids_b): (Vec<_>, Vec<_>) =
        (all.iter().cloned().collect(), all.iter().cloned().collect());
    let (ta, tb, ap1, ap2) = (a.clone(), b.clone(), approve.clone(), approve);
    let wa = tokio::spawn(async move {
        let mut won = 0;
        for id in ids_a {
            won += usize::from(ta.transition(&id, &ap1).await.is_ok());
        }
        won
    });
    let wb = tokio::spawn(async move {
        let mut won = 0;
        for id in ids_b.iter().rev() {
            won += usize::from(tb.transition(id, &ap2).await.is_ok());
        }
        won
    });
    let wins = wa.await.unwrap() + wb.await.unwrap();
    assert_eq!(wins, 160, "each task approved exactly once");
    assert_eq!(a.stats().await.unwrap().get(Status::Approved), 160);
    a.clear().await.unwrap();
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
        report.notes.iter().any(|n| n == "schema version: 3"),
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

fn reference_fixture() -> PathBuf {
    let real =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/reference-tasks.json");
    assert!(
        real.exists() || !ci(),
        "CI=true but {} is missing",
        real.display()
    );
    real
}

async fn read_all(store: &dyn TaskStore) -> Vec<Task> {
    let mut all: Vec<Task> = Vec::new();
    loop {
        let page = store.scan(all.last().map(|t| &t.id), 500).await.unwrap();
        if page.is_empty() {
            return all;
        }
        all.extend(page);
    }
}

/// Copies `tasks` into `store` page by page (as `store migrate` does); returns how many
/// were written.
async fn copy_into(store: &dyn TaskStore, tasks: &[Task]) -> usize {
    let mut written = 0;
    for page in tasks.chunks(500) {
        written += store.put_many(page.to_vec()).await.unwrap();
    }
    written
}

async fn fixture_round_trip(url: &str) {
    let fixture = reference_fixture();
    if !fixture.exists() {
        eprintln!("NOTICE: skipping: {} is missing", fixture.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let source_path = dir.path().join("source.json");
    std::fs::copy(&fixture, &source_path).unwrap();
    let source = FileStore::open(source_path).await.unwrap();
    let tasks = read_all(&source).await;
    assert_eq!(tasks.len(), 3689);

    let target = open(url).await;
    target.clear().await.unwrap();
    let started = Instant::now();
    assert_eq!(copy_into(target.as_ref(), &tasks).await, 3689);
    let into = started.elapsed();
    let started = Instant::now();
    assert_eq!(
        copy_into(target.as_ref(), &tasks).await,
        0,
        "a second copy changes nothing"
    );
    let again = started.elapsed();
    let started = Instant::now();
    let stored = read_all(target.as_ref()).await;
    let read = started.elapsed();
    assert_eq!(stored, tasks, "{url}: every task stored as it was");
    let stats = target.stats().await.unwrap();
    assert_eq!(stats.get(Status::Rejected), 2060);
    assert_eq!(stats.get(Status::Executed), 1006);
    assert!(target.check().await.unwrap().problems.is_empty());

    let back = FileStore::open(dir.path().join("back.json")).await.unwrap();
    assert_eq!(copy_into(&back, &stored).await, 3689);
    back.compact().await.unwrap();
    let original: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&fixture).unwrap()).unwrap();
    let returned: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("back.json")).unwrap()).unwrap();
    assert_eq!(
        returned, original,
        "{url}: the fixture comes back byte-for-byte equal as JSON"
    );
    eprintln!(
        "fixture via {}: 3689 tasks written in {into:?}, identical re-copy in {again:?}, read back in {read:?}",
        target.describe()
    );
    target.clear().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fixture_goes_into_sqlite_and_back_equal() {
    let dir = tempfile::tempdir().unwrap();
    fixture_round_trip(&sqlite_url(&dir.path().join("tasks.db"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fixture_goes_into_postgres_and_back_equal() {
    let Some(db) = TempDb::create(Server::Postgres).await else {
        return;
    };
    fixture_round_trip(&db.url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fixture_goes_into_mysql_and_back_equal() {
    let Some(db) = TempDb::create(Server::Mysql).await else {
        return;
    };
    fixture_round_trip(&db.url).await;
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

fn assert_clear(message: &str, shown: &str, hint: &str) {
    assert!(
        message.contains(shown),
        "the error names {shown}: {message}"
    );
    assert!(
        !message.contains("secret"),
        "the password never appears: {message}"
    );
    assert!(message.contains(hint), "the error says `{hint}`: {message}");
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
