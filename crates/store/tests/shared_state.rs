//! The decision log and runs beside the tasks, on every backend, through two handles on one
//! store (two "replicas"): `taskpilot_store::shared_suite`. SQLite and the file store use a
//! temporary directory; PostgreSQL, MariaDB and Redis the machine's servers (a fresh database
//! or key prefix per test, removed at the end); S3 the server of `scripts/s3-server start`.
//! With `CI=true` a missing service fails the test.

use std::sync::Arc;

use sqlx::Connection;
use taskpilot_config::{Secret, StoreLocation};
use taskpilot_store::s3::S3Store;
use taskpilot_store::{FileStore, TaskStore, shared_suite};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

fn unavailable(what: &str, error: &str) {
    assert!(!ci(), "CI=true but {what} is not reachable: {error}");
    eprintln!("NOTICE: skipping: {what} is not reachable ({error}); CI=true makes this a failure");
}

fn unique() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{}_{nanos}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

async fn open(url: &str) -> Arc<dyn TaskStore> {
    taskpilot_store::open(&StoreLocation::Url(Secret::new(url)))
        .await
        .unwrap_or_else(|e| panic!("open {url}: {e}"))
}

async fn both(url: &str) -> (Arc<dyn TaskStore>, Arc<dyn TaskStore>) {
    (open(url).await, open(url).await)
}

/// A database on one of the machine's SQL servers, dropped at the end.
struct TempDb {
    admin: String,
    name: String,
    url: String,
    postgres: bool,
}

impl TempDb {
    async fn postgres() -> Option<TempDb> {
        let name = format!("taskpilot_shared_{}", unique());
        let mut last = String::new();
        for admin in [
            "postgres://postgres@127.0.0.1:5432/postgres",
            "postgres://root@127.0.0.1:5432/postgres",
        ] {
            match sqlx::PgConnection::connect(admin).await {
                Ok(mut conn) => {
                    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                        .execute(&mut conn)
                        .await
                        .expect("create the test database");
                    let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
                    return Some(TempDb {
                        admin: admin.to_owned(),
                        url: format!("{base}/{name}"),
                        name,
                        postgres: true,
                    });
                }
                Err(e) => last = e.to_string(),
            }
        }
        unavailable("PostgreSQL at 127.0.0.1:5432", &last);
        None
    }

    async fn mysql() -> Option<TempDb> {
        let admin = "mysql://root@127.0.0.1:3306";
        let name = format!("taskpilot_shared_{}", unique());
        match sqlx::MySqlConnection::connect(admin).await {
            Ok(mut conn) => {
                sqlx::query(&format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
                    .execute(&mut conn)
                    .await
                    .expect("create the test database");
                Some(TempDb {
                    admin: admin.to_owned(),
                    url: format!("{admin}/{name}"),
                    name,
                    postgres: false,
                })
            }
            Err(e) => {
                unavailable("MariaDB/MySQL at 127.0.0.1:3306", &e.to_string());
                None
            }
        }
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let (admin, name, postgres) = (self.admin.clone(), self.name.clone(), self.postgres);
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async move {
                if postgres {
                    let mut conn = sqlx::PgConnection::connect(&admin).await.ok()?;
                    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    sqlx::query(&sql).execute(&mut conn).await.ok().map(|_| ())
                } else {
                    let mut conn = sqlx::MySqlConnection::connect(&admin).await.ok()?;
                    let sql = format!("DROP DATABASE IF EXISTS `{name}`");
                    sqlx::query(&sql).execute(&mut conn).await.ok().map(|_| ())
                }
            })
        })
        .join();
    }
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
    let prefix = format!("taskpilot-shared-{}", unique());
    let url = format!("redis://127.0.0.1:6379/0?prefix={prefix}");
    let a = match taskpilot_store::open(&StoreLocation::Url(Secret::new(url.as_str()))).await {
        Ok(a) => a,
        Err(e) => {
            unavailable("Redis at 127.0.0.1:6379", &e.to_string());
            return;
        }
    };
    let b = open(&url).await;
    shared_suite::decisions(a.clone(), b.clone()).await;
    shared_suite::runs(a, b).await;
    let client = redis::Client::open("redis://127.0.0.1:6379/0").unwrap();
    let mut conn = client.get_connection().unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query(&mut conn)
        .unwrap();
    assert!(
        keys.iter()
            .any(|k| k.starts_with(&format!("{prefix}:run:"))),
        "runs live under the store's prefix: {keys:?}"
    );
    redis::cmd("DEL").arg(keys).query::<()>(&mut conn).unwrap();
}

async fn s3_request(endpoint: &str, method: &str, path: &str) -> u16 {
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_shares_decisions_and_runs_between_two_handles() {
    let endpoint = match std::env::var("TASKPILOT_TEST_S3_ENDPOINT") {
        Ok(e) if !e.is_empty() => e,
        _ => {
            unavailable(
                "an S3 server (TASKPILOT_TEST_S3_ENDPOINT; `eval \"$(scripts/s3-server start)\"`)",
                "not set",
            );
            return;
        }
    };
    let bucket = format!("taskpilot-shared-{}", unique().replace('_', "-"));
    assert_eq!(
        s3_request(&endpoint, "PUT", &format!("/{bucket}")).await,
        200
    );
    let url = format!("s3://{bucket}/team");
    let options = [
        ("aws_endpoint", endpoint.as_str()),
        ("aws_allow_http", "true"),
        ("aws_access_key_id", "test"),
        ("aws_secret_access_key", "test-secret"),
        ("aws_region", "us-east-1"),
    ];
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
