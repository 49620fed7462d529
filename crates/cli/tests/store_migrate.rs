//! `taskpilot store migrate` between the SQL backends and the file store, through the real
//! binary: the reference fixture goes file → SQLite → file and file → PostgreSQL → file, equal,
//! and a second run writes nothing; two processes starting on one fresh PostgreSQL database
//! both apply (or find) the schema.
//!
//! The PostgreSQL tests create a database with a random name and drop it at the end. With
//! `CI=true` an unreachable server fails them; otherwise they report the skip
//! (`taskpilot_testkit::service_missing`) and return.

mod common;

use std::path::Path;
use std::time::Instant;

use common::{TempPg, assert_migrated, read_json, run, run_cmd, taskpilot};

/// Runs `taskpilot store migrate`, asserts success, returns stdout and the time it took.
fn migrate(base: &Path, from: &str, to: &str) -> (String, std::time::Duration) {
    let started = Instant::now();
    let out = run(base, &["store", "migrate", "--from", from, "--to", to]);
    (out.success().stdout, started.elapsed())
}

/// file → `url` → file, equal; a second copy into `url` writes 0.
fn round_trip(base: &Path, fixture: &Path, url: &str) {
    std::fs::copy(fixture, base.join("source.json")).expect("copy the fixture");
    let (out, took) = migrate(base, "source.json", url);
    assert_migrated(&out, 3689);
    eprintln!("taskpilot store migrate file -> {url}: {took:?}");
    // A second run changes nothing.
    assert_migrated(&migrate(base, "source.json", url).0, 0);
    let (back, took) = migrate(base, url, "back.json");
    assert_migrated(&back, 3689);
    eprintln!("taskpilot store migrate {url} -> file: {took:?}");
    let mut compact = taskpilot(base);
    compact.env("TASKS_FILE", base.join("back.json"));
    run_cmd(&mut compact, &["store", "compact"]).success();
    assert_eq!(
        read_json(&base.join("back.json")),
        read_json(fixture),
        "the fixture came back equal"
    );
    let check = run_cmd(
        taskpilot(base).env("TASK_STORE_URL", url),
        &["store", "check"],
    );
    let stdout = &check.stdout;
    assert!(
        check.code == Some(0)
            && stdout.contains(": 3689 tasks\n")
            && stdout.ends_with("OK: no problems found\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("secret"));
}

#[test]
fn the_fixture_goes_file_to_sqlite_to_file_equal_and_idempotent() {
    let fixture = common::reference_fixture();
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("db/tasks.db").display());
    round_trip(dir.path(), &fixture, &url);
}

#[test]
fn the_fixture_goes_file_to_postgres_to_file_equal_and_idempotent() {
    let fixture = common::reference_fixture();
    let Some(db) = TempPg::create("taskpilot_cli_test") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    round_trip(dir.path(), &fixture, &db.url());
}

#[test]
fn two_processes_starting_on_one_fresh_postgres_database_both_succeed() {
    let Some(db) = TempPg::create("taskpilot_cli_test") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let children: Vec<_> = (0..2)
        .map(|_| {
            common::process(dir.path())
                .args(["store", "check"])
                .env("TASK_STORE_URL", db.url())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn taskpilot")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success()
                && stdout.contains(": 0 tasks\n")
                && stdout.contains("schema version: 4"),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
