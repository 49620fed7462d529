//! `taskpilot store migrate`, `backup`, `restore` and `check` with the Redis and S3 backends,
//! through the real binary: the reference fixture goes file → Redis (→ S3) and comes back
//! equal as a backup; a second migrate writes nothing.
//!
//! Redis: the machine's server (127.0.0.1:6379) under a random key prefix, deleted at the end.
//! S3: the server of `scripts/s3-server start` (`TASKPILOT_TEST_S3_ENDPOINT`), a fresh bucket.
//! With `CI=true` a missing server fails the test; otherwise it reports the skip
//! (`taskpilot_testkit::service_missing`) and returns.

mod common;

use std::path::Path;

use common::{Ran, TempBucket, TempRedis, assert_migrated, read_json, run_cmd, taskpilot};

/// `taskpilot args…` in `base` with a clean environment plus `envs`.
fn with_env(base: &Path, envs: &[(&str, &str)], args: &[&str]) -> Ran {
    run_cmd(taskpilot(base).envs(envs.iter().copied()), args)
}

/// file → `url` (twice: the second writes 0), `url` → backup file equal to the fixture,
/// `store check` on `url`, restore of the backup into `url` writes nothing new.
fn round_trip(base: &Path, fixture: &Path, url: &str, envs: &[(&str, &str)]) {
    std::fs::copy(fixture, base.join("source.json")).expect("copy the fixture");
    let started = std::time::Instant::now();
    let migrate_in = ["store", "migrate", "--from", "source.json", "--to", url];
    assert_migrated(&with_env(base, envs, &migrate_in).success().stdout, 3689);
    eprintln!(
        "taskpilot store migrate file -> {url}: {:?}",
        started.elapsed()
    );
    // A second run changes nothing.
    assert_migrated(&with_env(base, envs, &migrate_in).success().stdout, 0);

    let mut with_url = envs.to_vec();
    with_url.push(("TASK_STORE_URL", url));
    let started = std::time::Instant::now();
    with_env(base, &with_url, &["store", "backup", "backup.json"]).success();
    eprintln!("taskpilot store backup from {url}: {:?}", started.elapsed());
    assert_eq!(
        read_json(&base.join("backup.json")),
        read_json(fixture),
        "the fixture came back equal"
    );

    let check = with_env(base, &with_url, &["store", "check"])
        .success()
        .stdout;
    assert!(
        check.contains(": 3689 tasks\n") && check.ends_with("OK: no problems found\n"),
        "{check}"
    );
    let restore = ["store", "restore", "backup.json", "--yes"];
    let restored = with_env(base, &with_url, &restore).success().stdout;
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
    let fixture = common::reference_fixture();
    let Some(redis) = TempRedis::create("taskpilot-cli-test") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    round_trip(dir.path(), &fixture, &redis.url(), &[]);
}

#[test]
fn the_fixture_goes_file_to_s3_and_back_equal() {
    let fixture = common::reference_fixture();
    let Some(bucket) = TempBucket::create("taskpilot-cli") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let envs = bucket.envs("cli-test-secret-value");
    round_trip(dir.path(), &fixture, &bucket.url("cli"), &envs);
}

/// Only the config crate reads the environment: `TASK_STORE_PREFIX` written in `.env` is the
/// Redis store's key prefix (the task lands under it, and not under the default).
#[test]
fn task_store_prefix_from_dotenv_is_the_redis_key_prefix() {
    let Some(redis) = TempRedis::create("taskpilot-dotenv-prefix") else {
        return;
    };
    let prefix = redis.prefix();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join(".env"),
        format!("TASK_STORE_URL=redis://127.0.0.1:6379/0\nTASK_STORE_PREFIX={prefix}\n"),
    )
    .expect("write .env");
    let id = common::add(dir.path(), "prefixed", "low");
    let explicit = redis.url();
    let on_prefix = [("TASK_STORE_URL", explicit.as_str())];
    let listed = with_env(dir.path(), &on_prefix, &["tasks", "list", "--json"])
        .success()
        .json();
    let ids: Vec<&str> = listed["tasks"]
        .as_array()
        .expect("an array of tasks")
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert_eq!(ids, vec![id.as_str()], "the task is under {prefix}");
    with_env(dir.path(), &on_prefix, &["tasks", "clear", "--yes"]).success();
}
