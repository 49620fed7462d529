//! `taskpilot store migrate`, `backup`, `restore` and `check` with the Redis and S3 backends,
//! through the real binary: the reference fixture goes file → Redis (→ S3) and comes back
//! equal as a backup; a second migrate writes nothing.
//!
//! Redis: the machine's server (127.0.0.1:6379) under a random key prefix, deleted at the end.
//! S3: the server of `scripts/s3-server start` (`TASKPILOT_TEST_S3_ENDPOINT`), a fresh bucket.
//! With `CI=true` a missing server fails the test; otherwise it reports the skip
//! (`taskpilot_testkit::service_missing`) and returns.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::http;

fn fixture() -> Option<PathBuf> {
    let real =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/reference-tasks.json");
    if real.exists() {
        return Some(real);
    }
    taskpilot_testkit::service_missing("the reference fixture", real.display());
    None
}

fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{}-{nanos}", std::process::id())
}

/// `taskpilot` in `base` with a clean environment plus `envs`.
fn taskpilot(base: &Path, envs: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("taskpilot"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::var("HOME").unwrap_or_default())
        .env("BASE_DIR", base)
        .env("DOCKER_LOGS_DIR", base.join("no-docker-logs"))
        .current_dir(base)
        .args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run taskpilot")
}

fn ok(out: &Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json")
}

/// file → `url` (twice: the second writes 0), `url` → backup file equal to the fixture,
/// `store check` on `url`, restore of the backup into `url` writes nothing new.
fn round_trip(base: &Path, fixture: &Path, url: &str, envs: &[(&str, &str)]) {
    std::fs::copy(fixture, base.join("source.json")).expect("copy the fixture");
    let started = std::time::Instant::now();
    let out = ok(
        &taskpilot(
            base,
            envs,
            &["store", "migrate", "--from", "source.json", "--to", url],
        ),
        "migrate in",
    );
    assert!(
        out.starts_with("Migrated 3689 tasks from ")
            && out.contains(" (3689 written, 0 already identical); verified"),
        "{out}"
    );
    eprintln!(
        "taskpilot store migrate file -> {url}: {:?}",
        started.elapsed()
    );
    let again = ok(
        &taskpilot(
            base,
            envs,
            &["store", "migrate", "--from", "source.json", "--to", url],
        ),
        "migrate again",
    );
    assert!(
        again.starts_with("Migrated 3689 tasks from ")
            && again.contains(" (0 written, 3689 already identical); verified"),
        "a second run changes nothing: {again}"
    );

    let mut with_url = envs.to_vec();
    with_url.push(("TASK_STORE_URL", url));
    let started = std::time::Instant::now();
    ok(
        &taskpilot(base, &with_url, &["store", "backup", "backup.json"]),
        "backup",
    );
    eprintln!("taskpilot store backup from {url}: {:?}", started.elapsed());
    assert_eq!(
        json(&base.join("backup.json")),
        json(fixture),
        "the fixture came back equal"
    );

    let check = ok(&taskpilot(base, &with_url, &["store", "check"]), "check");
    assert!(
        check.contains(": 3689 tasks\n") && check.ends_with("OK: no problems found\n"),
        "{check}"
    );
    let restored = ok(
        &taskpilot(
            base,
            &with_url,
            &["store", "restore", "backup.json", "--yes"],
        ),
        "restore",
    );
    // The tasks' line first; a shared store's decision log follows on its own line.
    let tasks_line = restored.lines().next().unwrap_or_default();
    assert!(
        tasks_line.starts_with("Restored 3689 tasks from ")
            && tasks_line.ends_with(" (0 written, 3689 already identical, 0 removed)"),
        "{restored}"
    );
    for (_, value) in envs {
        if value.contains("secret") {
            assert!(!check.contains(value) && !restored.contains(value));
        }
    }
}

#[test]
fn the_fixture_goes_file_to_redis_and_back_equal() {
    let Some(fixture) = fixture() else { return };
    if std::net::TcpStream::connect("127.0.0.1:6379").is_err() {
        taskpilot_testkit::service_missing("Redis at 127.0.0.1:6379", "connection refused");
        return;
    }
    let prefix = format!("taskpilot-cli-test-{}", unique());
    let url = format!("redis://127.0.0.1:6379/0?prefix={prefix}");
    let dir = tempfile::tempdir().expect("tempdir");
    round_trip(dir.path(), &fixture, &url, &[]);
    let out = taskpilot(
        dir.path(),
        &[("TASK_STORE_URL", url.as_str())],
        &["tasks", "clear", "--yes"],
    );
    if !out.status.success() {
        eprintln!(
            "warning: could not clear the prefix {prefix}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_fixture_goes_file_to_s3_and_back_equal() {
    let Some(fixture) = fixture() else { return };
    let Ok(endpoint) = std::env::var("TASKPILOT_TEST_S3_ENDPOINT") else {
        taskpilot_testkit::service_missing(
            "an S3 server",
            "TASKPILOT_TEST_S3_ENDPOINT is not set; run `eval \"$(scripts/s3-server start)\"`",
        );
        return;
    };
    let bucket = format!("taskpilot-cli-{}", unique());
    assert_eq!(
        http(&endpoint, "PUT", &format!("/{bucket}")).expect("create bucket"),
        200
    );
    let envs = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "cli-test-secret-value"),
        ("AWS_REGION", "us-east-1"),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    round_trip(dir.path(), &fixture, &format!("s3://{bucket}/cli"), &envs);
}

/// Only the config crate reads the environment: `TASK_STORE_PREFIX` written in `.env` is the
/// Redis store's key prefix (the task lands under it, and not under the default).
#[test]
fn task_store_prefix_from_dotenv_is_the_redis_key_prefix() {
    if std::net::TcpStream::connect("127.0.0.1:6379").is_err() {
        taskpilot_testkit::service_missing("Redis at 127.0.0.1:6379", "connection refused");
        return;
    }
    let prefix = format!("taskpilot-dotenv-prefix-{}", unique());
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join(".env"),
        format!("TASK_STORE_URL=redis://127.0.0.1:6379/0\nTASK_STORE_PREFIX={prefix}\n"),
    )
    .expect("write .env");
    let added = ok(
        &taskpilot(
            dir.path(),
            &[],
            &[
                "tasks",
                "add",
                "--title",
                "prefixed",
                "--priority",
                "low",
                "--json",
            ],
        ),
        "add",
    );
    let id = serde_json::from_str::<serde_json::Value>(&added).expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let explicit = format!("redis://127.0.0.1:6379/0?prefix={prefix}");
    let listed = ok(
        &taskpilot(
            dir.path(),
            &[("TASK_STORE_URL", explicit.as_str())],
            &["tasks", "list", "--json"],
        ),
        "list under the prefix",
    );
    let listed: serde_json::Value = serde_json::from_str(&listed).expect("json");
    let ids: Vec<&str> = listed["tasks"]
        .as_array()
        .expect("an array of tasks")
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert_eq!(ids, vec![id.as_str()], "the task is under {prefix}");
    let out = taskpilot(
        dir.path(),
        &[("TASK_STORE_URL", explicit.as_str())],
        &["tasks", "clear", "--yes"],
    );
    assert!(out.status.success(), "clear the prefix {prefix}");
}
