//! Shared helpers for the black-box tests: run the real `taskpilot` binary in a temporary base
//! directory with a clean environment.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The binary under test.
pub fn binary() -> PathBuf {
    assert_cmd::cargo::cargo_bin("taskpilot")
}

/// `taskpilot` with only PATH and HOME from the outside, BASE_DIR set to `base`, and the Docker
/// logs directory pointed somewhere that does not exist (so the test does not depend on
/// /var/log/taskpilot).
pub fn taskpilot(base: &Path) -> Command {
    let mut cmd = Command::new(binary());
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::var("HOME").unwrap_or_default())
        .env("BASE_DIR", base)
        .env("DOCKER_LOGS_DIR", base.join("no-docker-logs"))
        .current_dir(base);
    cmd
}

/// Runs `taskpilot args…` and returns stdout parsed as JSON (asserting success).
pub fn json(base: &Path, args: &[&str]) -> serde_json::Value {
    let out = taskpilot(base).args(args).output().expect("run taskpilot");
    assert!(
        out.status.success(),
        "taskpilot {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "taskpilot {args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Creates a task and returns its id.
pub fn add(base: &Path, title: &str, priority: &str) -> String {
    let task = json(
        base,
        &[
            "tasks",
            "add",
            "--title",
            title,
            "--priority",
            priority,
            "--json",
        ],
    );
    task["id"].as_str().expect("id").to_owned()
}

/// The 3,689-task fixture (or a generated one of the same shape on a fresh clone).
pub fn reference_fixture() -> PathBuf {
    taskpilot_store::fixture::reference_fixture()
}
