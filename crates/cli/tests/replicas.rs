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

use std::any::Any;
use std::collections::HashMap;
use std::path::Path;
use std::process::Child;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{TempBucket, TempMaria, TempPg, TempRedis, block_on};
use serde_json::Value;
use taskpilot_config::{Secret, StoreLocation};
use taskpilot_core::{NewTask, Status, Task, TaskId, Timestamp};
use taskpilot_store::TaskStore;

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
        let seen: Arc<Mutex<Vec<Received>>> = Arc::default();
        let delay = Arc::new(AtomicU64::new(delay_ms));
        let (s, d) = (seen.clone(), delay.clone());
        let addr = common::http_server(move |request| {
            s.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(Received {
                    header_key: request.header("idempotency-key").map(str::to_owned),
                    body: serde_json::from_slice(&request.body).unwrap_or(Value::Null),
                });
            std::thread::sleep(Duration::from_millis(d.load(Ordering::SeqCst)));
            "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok".to_owned()
        });
        Receiver {
            url: format!("http://{addr}/notify"),
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

/// Where the replicas keep their tasks, and the variables that say so.
struct Shared {
    location: StoreLocation,
    envs: Vec<(String, String)>,
    /// What holds the store (a database, a key prefix, a bucket), removed on drop.
    _server: Box<dyn Any>,
}

impl Shared {
    /// This store, held by `server` (removed when the test ends).
    fn on(self, server: impl Any) -> Shared {
        Shared {
            _server: Box::new(server),
            ..self
        }
    }
}

/// The backends, each `fn(dir)` returning the store, or `None` when its server is missing
/// (after `taskpilot_testkit::service_missing`).
fn file_store(dir: &Path) -> Shared {
    let path = dir.join("shared/.tasks.json");
    Shared {
        location: StoreLocation::File(path.clone()),
        envs: vec![("TASKS_FILE".into(), path.display().to_string())],
        _server: Box::new(()),
    }
}

fn url_store(url: String, envs: &[(&str, &str)]) -> Shared {
    let mut envs: Vec<(String, String)> = envs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    envs.push(("TASK_STORE_URL".into(), url.clone()));
    Shared {
        location: StoreLocation::Url(Secret::new(url)),
        envs,
        _server: Box::new(()),
    }
}

fn sqlite_store(dir: &Path) -> Shared {
    url_store(format!("sqlite://{}/shared/tasks.db", dir.display()), &[])
}

fn postgres_store(_: &Path) -> Option<Shared> {
    let db = TempPg::create("taskpilot_replicas")?;
    Some(url_store(db.url(), &[]).on(db))
}

fn mariadb_store(_: &Path) -> Option<Shared> {
    let db = TempMaria::create("taskpilot_replicas")?;
    Some(url_store(db.url("mariadb"), &[]).on(db))
}

fn redis_store(_: &Path) -> Option<Shared> {
    let keys = TempRedis::create("taskpilot-replicas")?;
    Some(url_store(keys.url(), &[]).on(keys))
}

fn s3_store(_: &Path) -> Option<Shared> {
    let bucket = TempBucket::create("taskpilot-replicas")?;
    let shared = url_store(bucket.url("replicas"), &bucket.envs("replica-test-secret"));
    Some(shared.on(bucket))
}

/// The S3 store's option for each `AWS_*` variable: the test's own handle reads no environment.
const S3_OPTIONS: [(&str, &str); 5] = [
    ("AWS_ENDPOINT_URL", "aws_endpoint"),
    ("AWS_ALLOW_HTTP", "aws_allow_http"),
    ("AWS_ACCESS_KEY_ID", "aws_access_key_id"),
    ("AWS_SECRET_ACCESS_KEY", "aws_secret_access_key"),
    ("AWS_REGION", "aws_region"),
];

/// The test's own handle on the shared store.
async fn open(shared: &Shared) -> Arc<dyn TaskStore> {
    match &shared.location {
        StoreLocation::Url(url) if url.expose().starts_with("s3://") => {
            let options: Vec<(&str, &str)> = shared
                .envs
                .iter()
                .filter_map(|(k, v)| {
                    let (_, option) = S3_OPTIONS.iter().find(|(var, _)| var == k)?;
                    Some((*option, v.as_str()))
                })
                .collect();
            let store = taskpilot_store::s3::S3Store::open_with(url.expose(), &options)
                .await
                .expect("open S3");
            Arc::new(store)
        }
        location => taskpilot_store::open(location)
            .await
            .expect("open the store"),
    }
}

/// Stores `n` tasks in `status`, decided an hour ago (so no sweep waits for their decider).
fn seed(shared: &Shared, n: usize, status: Status) -> Vec<TaskId> {
    block_on(async {
        let store = open(shared).await;
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

/// Exactly one notification for each task of `ids` and none else; the keys consistent.
fn assert_each_notified_once(receiver: &Receiver, ids: &[TaskId]) {
    let by_task = receiver.by_task();
    assert_eq!(
        receiver.received().len(),
        ids.len(),
        "exactly one notification per task: {by_task:?}"
    );
    assert_eq!(by_task.len(), ids.len(), "every task notified");
    for id in ids {
        assert_eq!(by_task.get(id.as_str()).map(Vec::len), Some(1), "task {id}");
    }
    assert_keys_consistent(receiver);
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
    assert_each_notified_once(&receiver, &ids);
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
            cmd.envs(shared.envs.iter().map(|(k, v)| (k, v)))
                .env("NOTIFY_WEBHOOK_URL", &receiver.url)
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
    assert_each_notified_once(&receiver, &ids);
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

/// One test per row: `test: scenario(backend, more arguments…)`, run on a fresh store of that
/// backend (a test whose server is missing returns after `service_missing`).
macro_rules! on_backends {
    ($($test:ident: $scenario:ident($backend:ident $(, $arg:expr)*);)*) => {$(
        #[test]
        fn $test() {
            let dir = tempfile::tempdir().expect("tempdir");
            if let Some(shared) = Option::<Shared>::from($backend(dir.path())) {
                $scenario(shared $(, $arg)*);
            }
        }
    )*};
}

on_backends! {
    three_file_store_processes_execute_each_task_once: three_replicas_execute_each_task_once(file_store, 40);
    three_replicas_on_sqlite_execute_each_task_once: three_replicas_execute_each_task_once(sqlite_store, 40);
    three_replicas_on_postgres_execute_each_task_once: three_replicas_execute_each_task_once(postgres_store, 60);
    three_replicas_on_mariadb_execute_each_task_once: three_replicas_execute_each_task_once(mariadb_store, 40);
    three_replicas_on_redis_execute_each_task_once: three_replicas_execute_each_task_once(redis_store, 40);
    three_replicas_on_s3_execute_each_task_once: three_replicas_execute_each_task_once(s3_store, 30);
    cli_approvals_while_file_store_replicas_sweep_notify_once: approvals_while_replicas_sweep(file_store);
    cli_approvals_while_postgres_replicas_sweep_notify_once: approvals_while_replicas_sweep(postgres_store);
    a_killed_file_store_replica_is_taken_over_after_the_lease: a_killed_replica_is_taken_over(file_store);
    a_killed_postgres_replica_is_taken_over_after_the_lease: a_killed_replica_is_taken_over(postgres_store);
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
