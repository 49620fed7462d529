//! Several `taskpilot serve` replicas on one store: each approved task is executed once on
//! every shared backend (the file store with several processes, SQLite, PostgreSQL, MariaDB,
//! Redis, S3); approvals through the CLI while the replicas sweep add no duplicate; a replica
//! killed with SIGKILL while it holds a claim is taken over once the lease expires;
//! `taskpilot bench execute`, run tiny, executes and notifies each task once.
//! Notifications go to a receiver on a loopback port that counts them with their
//! `Idempotency-Key`.
//!
//! With `CI=true` a missing database, Redis or S3 server fails the test; otherwise it reports
//! the skip (`taskpilot_testkit::service_missing`) and returns.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use taskpilot_config::{Secret, StoreLocation};
use taskpilot_core::{NewTask, Status, Task, TaskId, Timestamp};

fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{}_{nanos}", std::process::id())
}

fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(future)
}

/// One notification as the receiver got it.
#[derive(Debug, Clone)]
struct Received {
    header_key: Option<String>,
    body: Value,
}

/// An HTTP receiver on 127.0.0.1 that records every POST when it arrives, then answers 200
/// after `delay_ms`.
struct Receiver {
    url: String,
    seen: Arc<Mutex<Vec<Received>>>,
    delay_ms: Arc<AtomicU64>,
}

impl Receiver {
    fn start(delay_ms: u64) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the receiver");
        let url = format!("http://{}/notify", listener.local_addr().expect("addr"));
        let seen: Arc<Mutex<Vec<Received>>> = Arc::default();
        let delay = Arc::new(AtomicU64::new(delay_ms));
        let (s, d) = (seen.clone(), delay.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (s, d) = (s.clone(), d.clone());
                std::thread::spawn(move || answer(stream, &s, &d));
            }
        });
        Receiver {
            url,
            seen,
            delay_ms: delay,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Notifications per task id.
    fn by_task(&self) -> HashMap<String, Vec<Received>> {
        let mut by: HashMap<String, Vec<Received>> = HashMap::new();
        for r in self.received() {
            let id = r.body["task_id"].as_str().unwrap_or_default().to_owned();
            by.entry(id).or_default().push(r);
        }
        by
    }
}

fn answer(stream: TcpStream, seen: &Mutex<Vec<Received>>, delay: &AtomicU64) {
    let mut reader = BufReader::new(stream);
    let mut length = 0usize;
    let mut key = None;
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap_or(0),
                "idempotency-key" => key = Some(value.trim().to_owned()),
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    seen.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(Received {
            header_key: key,
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        });
    std::thread::sleep(Duration::from_millis(delay.load(Ordering::SeqCst)));
    let mut stream = reader.into_inner();
    let _ =
        stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
}

/// Where the replicas keep their tasks, and the variables that say so.
struct Shared {
    location: StoreLocation,
    envs: Vec<(String, String)>,
    /// Dropped at the end (a database, a key prefix).
    cleanup: Option<Box<dyn FnOnce()>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(cleanup) = self.cleanup.take() {
            cleanup();
        }
    }
}

fn file_store(dir: &Path) -> Shared {
    let path = dir.join("shared/.tasks.json");
    Shared {
        location: StoreLocation::File(path.clone()),
        envs: vec![("TASKS_FILE".into(), path.display().to_string())],
        cleanup: None,
    }
}

fn url_store(url: String, mut envs: Vec<(String, String)>) -> Shared {
    envs.push(("TASK_STORE_URL".into(), url.clone()));
    Shared {
        location: StoreLocation::Url(Secret::new(url)),
        envs,
        cleanup: None,
    }
}

fn sqlite_store(dir: &Path) -> Shared {
    url_store(
        format!("sqlite://{}/shared/tasks.db", dir.display()),
        vec![],
    )
}

fn postgres_store() -> Option<Shared> {
    let name = format!("taskpilot_replicas_{}", unique());
    let created = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c"])
        .arg(format!("CREATE DATABASE \"{name}\""))
        .output();
    if !created.is_ok_and(|o| o.status.success()) {
        taskpilot_testkit::service_missing("PostgreSQL at 127.0.0.1:5432 (psql)", "not available");
        return None;
    }
    let mut shared = url_store(format!("postgres://postgres@127.0.0.1:5432/{name}"), vec![]);
    shared.cleanup = Some(Box::new(move || {
        let _ = Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c"])
            .arg(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .output();
    }));
    Some(shared)
}

fn mariadb_store() -> Option<Shared> {
    let name = format!("taskpilot_replicas_{}", unique());
    let sql = |statement: String| {
        Command::new("mysql")
            .args(["-h", "127.0.0.1", "-P", "3306", "-u", "root", "-e"])
            .arg(statement)
            .output()
    };
    if !sql(format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
        .is_ok_and(|o| o.status.success())
    {
        taskpilot_testkit::service_missing("MariaDB at 127.0.0.1:3306 (mysql)", "not available");
        return None;
    }
    let mut shared = url_store(format!("mariadb://root@127.0.0.1:3306/{name}"), vec![]);
    shared.cleanup = Some(Box::new(move || {
        let _ = sql(format!("DROP DATABASE IF EXISTS `{name}`"));
    }));
    Some(shared)
}

fn redis_store() -> Option<Shared> {
    if TcpStream::connect("127.0.0.1:6379").is_err() {
        taskpilot_testkit::service_missing("Redis at 127.0.0.1:6379", "not available");
        return None;
    }
    let url = format!(
        "redis://127.0.0.1:6379/0?prefix=taskpilot-replicas-{}",
        unique()
    );
    let mut shared = url_store(url, vec![]);
    let location = shared.location.clone();
    shared.cleanup = Some(Box::new(move || {
        let _ = block_on(async {
            let store = taskpilot_store::open(&location).await?;
            store.clear().await
        });
    }));
    Some(shared)
}

fn s3_store() -> Option<Shared> {
    let Ok(endpoint) = std::env::var("TASKPILOT_TEST_S3_ENDPOINT") else {
        taskpilot_testkit::service_missing(
            "an S3 server (eval \"$(scripts/s3-server start)\")",
            "not available",
        );
        return None;
    };
    let bucket = format!("taskpilot-replicas-{}", unique().replace('_', "-"));
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(host).expect("connect to the S3 server");
    write!(
        stream,
        "PUT /{bucket} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .expect("create the bucket");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let envs = vec![
        ("AWS_ENDPOINT_URL".into(), endpoint.clone()),
        ("AWS_ALLOW_HTTP".into(), "true".into()),
        ("AWS_ACCESS_KEY_ID".into(), "test".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "replica-test-secret".into()),
        ("AWS_REGION".into(), "us-east-1".into()),
    ];
    Some(url_store(format!("s3://{bucket}/replicas"), envs))
}

/// Stores `n` tasks in `status`, decided an hour ago (so no sweep waits for their decider).
fn seed(shared: &Shared, n: usize, status: Status) -> Vec<TaskId> {
    block_on(async {
        // The S3 backend reads its AWS_* settings from the process environment of the test
        // only through `S3Store::open_with`; the other backends need nothing more.
        let store = match &shared.location {
            StoreLocation::Url(url) if url.expose().starts_with("s3://") => {
                let options: Vec<(String, String)> = shared
                    .envs
                    .iter()
                    .filter_map(|(k, v)| {
                        let key = match k.as_str() {
                            "AWS_ENDPOINT_URL" => "aws_endpoint",
                            "AWS_ALLOW_HTTP" => "aws_allow_http",
                            "AWS_ACCESS_KEY_ID" => "aws_access_key_id",
                            "AWS_SECRET_ACCESS_KEY" => "aws_secret_access_key",
                            "AWS_REGION" => "aws_region",
                            _ => return None,
                        };
                        Some((key.to_owned(), v.clone()))
                    })
                    .collect();
                let options: Vec<(&str, &str)> = options
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let store = taskpilot_store::s3::S3Store::open_with(url.expose(), &options)
                    .await
                    .expect("open S3");
                Arc::new(store) as Arc<dyn taskpilot_store::TaskStore>
            }
            location => taskpilot_store::open(location)
                .await
                .expect("open the store"),
        };
        let decided = Timestamp::from_utc(chrono::Utc::now() - chrono::Duration::hours(1));
        let mut id = TaskId::generate();
        let mut tasks: Vec<Task> = Vec::new();
        for i in 0..n {
            let mut task = NewTask::new(format!("replica task {i}"), "high")
                .into_task(id.clone(), decided)
                .expect("a valid task");
            task.status = status;
            task.reviewed_at = Some(decided);
            tasks.push(task);
            id = id.successor();
        }
        let ids = tasks.iter().map(|t| t.id.clone()).collect();
        assert_eq!(store.put_many(tasks).await.expect("seed"), n);
        ids
    })
}

/// `taskpilot serve` in a base directory of its own on the shared store.
fn replica(
    dir: &Path,
    n: usize,
    shared: &Shared,
    receiver: &Receiver,
    extra: &[(&str, &str)],
) -> Child {
    let base = dir.join(format!("replica-{n}"));
    std::fs::create_dir_all(&base).expect("base dir");
    let mut envs: Vec<(&str, &str)> = shared
        .envs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    envs.push(("NOTIFY_WEBHOOK_URL", receiver.url.as_str()));
    envs.push(("WORKFLOW_INTERVAL_SECONDS", "1"));
    envs.extend_from_slice(extra);
    common::serve(&base, &envs).0
}

fn stop(mut children: Vec<Child>) {
    for child in &mut children {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Waits (at most `limit`) until `done` holds.
fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// How many tasks are `executed` (0 while the store cannot be read).
fn executed(shared: &Shared) -> usize {
    block_on(async {
        match taskpilot_store::open(&shared.location).await {
            Ok(store) => store.stats().await.map_or(0, |s| s.get(Status::Executed)),
            Err(_) => 0,
        }
    })
}

/// Every notification's header key equals its body key, which names its task.
fn assert_keys_consistent(receiver: &Receiver) {
    let received = receiver.received();
    assert!(!received.is_empty(), "notifications arrived");
    for r in &received {
        let body_key = r.body["idempotency_key"].as_str().unwrap_or_default();
        assert_eq!(r.header_key.as_deref(), Some(body_key), "{r:?}");
        let task = r.body["task_id"].as_str().unwrap_or_default();
        assert!(!task.is_empty() && body_key.starts_with(task), "{r:?}");
    }
}

/// Three replicas sweep `n` approved tasks: exactly `n` notifications, one per task.
fn three_replicas_execute_each_task_once(shared: Shared, n: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let ids = seed(&shared, n, Status::Approved);
    let receiver = Receiver::start(20);
    let replicas: Vec<Child> = (0..3)
        .map(|i| replica(dir.path(), i, &shared, &receiver, &[]))
        .collect();
    wait_until(Duration::from_mins(2), "every task notified", || {
        receiver.received().len() >= n
    });
    // Two more sweeps of every replica: a duplicate would show now.
    std::thread::sleep(Duration::from_millis(2500));
    stop(replicas);
    let by_task = receiver.by_task();
    assert_eq!(
        receiver.received().len(),
        n,
        "exactly one notification per task"
    );
    assert_eq!(by_task.len(), n, "every task notified");
    for id in &ids {
        assert_eq!(by_task.get(id.as_str()).map(Vec::len), Some(1), "task {id}");
    }
    assert_keys_consistent(&receiver);
}

#[test]
fn three_file_store_processes_execute_each_task_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    three_replicas_execute_each_task_once(file_store(dir.path()), 40);
}

#[test]
fn three_replicas_on_sqlite_execute_each_task_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    three_replicas_execute_each_task_once(sqlite_store(dir.path()), 40);
}

#[test]
fn three_replicas_on_postgres_execute_each_task_once() {
    let Some(shared) = postgres_store() else {
        return;
    };
    three_replicas_execute_each_task_once(shared, 60);
}

#[test]
fn three_replicas_on_mariadb_execute_each_task_once() {
    let Some(shared) = mariadb_store() else {
        return;
    };
    three_replicas_execute_each_task_once(shared, 40);
}

#[test]
fn three_replicas_on_redis_execute_each_task_once() {
    let Some(shared) = redis_store() else { return };
    three_replicas_execute_each_task_once(shared, 40);
}

#[test]
fn three_replicas_on_s3_execute_each_task_once() {
    let Some(shared) = s3_store() else { return };
    three_replicas_execute_each_task_once(shared, 30);
}

/// People approve tasks with `taskpilot tasks approve` (which executes at once) while three
/// replicas sweep every second and each notification takes longer than a sweep interval:
/// still one notification per task.
fn approvals_while_replicas_sweep(shared: Shared) {
    let dir = tempfile::tempdir().expect("tempdir");
    let ids = seed(&shared, 8, Status::Review);
    let receiver = Receiver::start(1500);
    let replicas: Vec<Child> = (0..3)
        .map(|i| replica(dir.path(), i, &shared, &receiver, &[]))
        .collect();
    let cli_base = dir.path().join("cli");
    std::fs::create_dir_all(&cli_base).expect("cli base");
    let approvals: Vec<_> = ids
        .iter()
        .map(|id| {
            let mut cmd = common::taskpilot(&cli_base);
            for (k, v) in &shared.envs {
                cmd.env(k, v);
            }
            cmd.env("NOTIFY_WEBHOOK_URL", &receiver.url)
                .env("LLM_PROVIDER", "offline")
                .args(["tasks", "approve", id.as_str(), "--reason", "ship it"]);
            std::thread::spawn(move || cmd.output().expect("run taskpilot"))
        })
        .collect();
    for approval in approvals {
        let out = approval.join().expect("join");
        assert!(
            out.status.success(),
            "approve failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Three more sweeps of every replica.
    std::thread::sleep(Duration::from_millis(3500));
    stop(replicas);
    let by_task = receiver.by_task();
    assert_eq!(receiver.received().len(), ids.len(), "{by_task:?}");
    for id in &ids {
        assert_eq!(by_task.get(id.as_str()).map(Vec::len), Some(1), "task {id}");
    }
    assert_keys_consistent(&receiver);
}

#[test]
fn cli_approvals_while_file_store_replicas_sweep_notify_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    approvals_while_replicas_sweep(file_store(dir.path()));
}

#[test]
fn cli_approvals_while_postgres_replicas_sweep_notify_once() {
    let Some(shared) = postgres_store() else {
        return;
    };
    approvals_while_replicas_sweep(shared);
}

/// A replica is killed (SIGKILL) in the middle of a notification, holding that task's claim;
/// another replica finishes every task, the held one after the lease expired. The task being
/// notified at the kill may be notified twice, always with the same idempotency key.
fn a_killed_replica_is_taken_over(shared: Shared) {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = 10;
    let ids = seed(&shared, n, Status::Approved);
    let receiver = Receiver::start(60_000);
    let lease = [("CLAIM_LEASE_SECONDS", "3")];
    let mut doomed = replica(dir.path(), 0, &shared, &receiver, &lease);
    wait_until(Duration::from_mins(1), "the first notification", || {
        !receiver.received().is_empty()
    });
    let held = receiver.received()[0].body["task_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    doomed.kill().expect("SIGKILL the replica");
    let _ = doomed.wait();
    receiver.delay_ms.store(0, Ordering::SeqCst);
    let killed_at = Instant::now();
    let survivor = replica(dir.path(), 1, &shared, &receiver, &lease);
    wait_until(Duration::from_mins(1), "every task executed", || {
        executed(&shared) == n
    });
    stop(vec![survivor]);
    let by_task = receiver.by_task();
    assert_eq!(by_task.len(), n, "every task notified");
    for id in &ids {
        let got = by_task.get(id.as_str()).cloned().unwrap_or_default();
        let keys: std::collections::HashSet<&str> = got
            .iter()
            .filter_map(|r| r.body["idempotency_key"].as_str())
            .collect();
        assert_eq!(keys.len(), 1, "task {id}: one idempotency key: {got:?}");
        let expected = if id.as_str() == held { 2 } else { 1 };
        assert_eq!(got.len(), expected, "task {id}: {got:?}");
    }
    assert_keys_consistent(&receiver);
    eprintln!("taken over {:?} after the kill", killed_at.elapsed());
}

#[test]
fn a_killed_file_store_replica_is_taken_over_after_the_lease() {
    let dir = tempfile::tempdir().expect("tempdir");
    a_killed_replica_is_taken_over(file_store(dir.path()));
}

#[test]
fn a_killed_postgres_replica_is_taken_over_after_the_lease() {
    let Some(shared) = postgres_store() else {
        return;
    };
    a_killed_replica_is_taken_over(shared);
}

/// `bench execute` run tiny on SQLite (not a timing): with 1 and then 3 replicas every task is
/// executed and notified exactly once, and each claim's write was timed.
#[test]
fn bench_execute_notifies_each_task_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = common::json(
        dir.path(),
        &[
            "bench",
            "execute",
            "--tasks",
            "10",
            "--delay-ms",
            "5",
            "--json",
        ],
    );
    let measurements = r["measurements"].as_array().expect("measurements");
    let replicas: Vec<&Value> = measurements.iter().map(|m| &m["replicas"]).collect();
    assert_eq!(replicas, [1, 3], "{r}");
    for m in measurements {
        assert_eq!(m["executed"], 10, "{r}");
        assert_eq!(m["notifications"], 10, "{r}");
        assert_eq!(m["duplicates"], 0, "{r}");
        assert_eq!(m["duplicate_keys"], serde_json::json!([]), "{r}");
        assert_eq!(m["key_mismatches"], 0, "{r}");
    }
    assert_eq!(r["claim"]["tasks"], 10, "{r}");
    assert!(
        r["store"]
            .as_str()
            .unwrap_or_default()
            .starts_with("sqlite://"),
        "{r}"
    );
}
