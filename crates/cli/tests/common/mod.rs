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
        panic!("taskpilot {args:?} printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stdout))
    })
}

/// Creates a task and returns its id.
pub fn add(base: &Path, title: &str, priority: &str) -> String {
    let task = json(base, &["tasks", "add", "--title", title, "--priority", priority, "--json"]);
    task["id"].as_str().expect("id").to_owned()
}

/// The 3,689-task fixture from ../shared/fixtures, or a generated file of the same shape when
/// it is absent (a fresh clone); with CI=true it must be present.
pub fn reference_fixture() -> PathBuf {
    let real = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/reference-tasks.json");
    if real.exists() {
        return real;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but the fixture {} is missing",
        real.display()
    );
    let path = std::env::temp_dir()
        .join(format!("taskpilot-generated-fixture-{}.json", std::process::id()));
    let mut map = serde_json::Map::new();
    let mut n = 0u64;
    for (status, count) in [("rejected", 2060), ("executed", 1006), ("review", 436), ("pending", 187)] {
        for _ in 0..count {
            let id = format!("task_20251220_{:06}_{:06}", 100_000 + n / 1_000_000, n % 1_000_000);
            map.insert(
                id.clone(),
                serde_json::json!({
                    "id": id, "title": format!("Generated task {n}"),
                    "priority": if n % 2 == 0 { "high" } else { "medium" },
                    "description": "", "status": status,
                    "created_at": "2025-12-20T10:04:04.305998",
                    "reviewed_at": if status == "pending" { serde_json::Value::Null } else { "2025-12-20T10:29:14.791006".into() },
                    "executed_at": if status == "executed" { "2025-12-20T10:56:14.474349".into() } else { serde_json::Value::Null },
                    "reviewer_response": null, "error": null
                }),
            );
            n += 1;
        }
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&map).expect("json")).expect("write fixture");
    path
}
