//! `taskpilot store migrate` between the SQL backends and the file store, through the real
//! binary: the reference fixture goes file → SQLite → file and file → PostgreSQL → file, equal,
//! and a second run writes nothing; two processes starting on one fresh PostgreSQL database
//! both apply (or find) the schema.
//!
//! The PostgreSQL tests create a database with a random name and drop it at the end. With
//! `CI=true` an unreachable server fails them; otherwise they report the skip
//! (`taskpilot_testkit::service_missing`) and return.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const PG_ADMINS: [&str; 2] = ["postgres@127.0.0.1:5432", "root@127.0.0.1:5432"];

fn fixture() -> Option<PathBuf> {
    let real =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/reference-tasks.json");
    if real.exists() {
        return Some(real);
    }
    taskpilot_testkit::service_missing("the reference fixture", real.display());
    None
}

/// `taskpilot` run in `base` (as `BASE_DIR`) with a clean environment (PATH and HOME only).
fn taskpilot(base: &Path) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("taskpilot"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::var("HOME").unwrap_or_default())
        .env("BASE_DIR", base)
        .env("DOCKER_LOGS_DIR", base.join("no-docker-logs"))
        .current_dir(base);
    cmd
}

/// Runs `taskpilot store migrate`, asserts success, returns stdout and the time it took.
fn migrate(base: &Path, from: &str, to: &str) -> (String, std::time::Duration) {
    let started = Instant::now();
    let out = taskpilot(base)
        .args(["store", "migrate", "--from", from, "--to", to])
        .output()
        .expect("run taskpilot");
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "migrate {from} -> {to} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (stdout, took)
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json")
}

/// file → `url` → file, equal; a second copy into `url` writes 0.
fn round_trip(base: &Path, fixture: &Path, url: &str) {
    std::fs::copy(fixture, base.join("source.json")).expect("copy the fixture");
    let (out, took) = migrate(base, "source.json", url);
    assert!(
        out.starts_with("Migrated 3689 tasks from ")
            && out.contains(" (3689 written, 0 already identical); verified"),
        "{out}"
    );
    eprintln!("taskpilot store migrate file -> {url}: {took:?}");
    let (again, _) = migrate(base, "source.json", url);
    assert!(
        again.starts_with("Migrated 3689 tasks from ")
            && again.contains(" (0 written, 3689 already identical); verified"),
        "a second run changes nothing: {again}"
    );
    let (back, took) = migrate(base, url, "back.json");
    assert!(
        back.starts_with("Migrated 3689 tasks from ")
            && back.contains(" (3689 written, 0 already identical); verified"),
        "{back}"
    );
    eprintln!("taskpilot store migrate {url} -> file: {took:?}");
    let out = taskpilot(base)
        .args(["store", "compact"])
        .env("TASKS_FILE", base.join("back.json"))
        .output()
        .expect("compact");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        json(&base.join("back.json")),
        json(fixture),
        "the fixture came back equal"
    );
    let check = taskpilot(base)
        .args(["store", "check"])
        .env("TASK_STORE_URL", url)
        .output()
        .expect("check");
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success()
            && stdout.contains(": 3689 tasks\n")
            && stdout.ends_with("OK: no problems found\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("secret"));
}

#[test]
fn the_fixture_goes_file_to_sqlite_to_file_equal_and_idempotent() {
    let Some(fixture) = fixture() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("db/tasks.db").display());
    round_trip(dir.path(), &fixture, &url);
}

/// A fresh PostgreSQL database (dropped on drop), created with `psql`.
struct PgDb {
    admin: String,
    name: String,
}

impl PgDb {
    fn create() -> Option<PgDb> {
        let name = format!(
            "taskpilot_cli_test_{}_{}",
            std::process::id(),
            rand_suffix()
        );
        let mut last = String::new();
        for admin in PG_ADMINS {
            let admin = format!("postgres://{admin}/postgres");
            match psql(&admin, &format!("CREATE DATABASE \"{name}\"")) {
                Ok(()) => return Some(PgDb { admin, name }),
                Err(e) => last = e,
            }
        }
        taskpilot_testkit::service_missing("PostgreSQL at 127.0.0.1:5432", last);
        None
    }

    fn url(&self) -> String {
        let base = self
            .admin
            .rsplit_once('/')
            .map_or(self.admin.as_str(), |(b, _)| b);
        format!("{base}/{}", self.name)
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        if let Err(e) = psql(
            &self.admin,
            &format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name),
        ) {
            eprintln!("warning: could not drop {}: {e}", self.name);
        }
    }
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
}

fn psql(url: &str, sql: &str) -> Result<(), String> {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
        .map_err(|e| format!("cannot run psql: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn the_fixture_goes_file_to_postgres_to_file_equal_and_idempotent() {
    let Some(fixture) = fixture() else { return };
    let Some(db) = PgDb::create() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    round_trip(dir.path(), &fixture, &db.url());
}

#[test]
fn two_processes_starting_on_one_fresh_postgres_database_both_succeed() {
    let Some(db) = PgDb::create() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let children: Vec<_> = (0..2)
        .map(|_| {
            taskpilot(dir.path())
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
