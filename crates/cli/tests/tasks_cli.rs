//! Black-box tests of the foundation (issue 2): `taskpilot tasks …`, `taskpilot config`, the
//! task file's recovery paths and exit codes, run against the real binary.

mod common;

use std::path::Path;

use common::{add, add_args, assert_decision_refused, json, run, run_cmd, taskpilot};
use taskpilot_testkit::strings;

#[test]
fn add_list_show_stats_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    let first = add(base, "  First task ", "HIGH");
    let second = add(base, "Second task", "low");
    let list = json(base, &["tasks", "list", "--json"]);
    assert_eq!(
        (list["count"].clone(), list["total"].clone()),
        (2.into(), 2.into())
    );
    let list = list["tasks"].clone();
    let ids: Vec<&str> = strings(&list, "id");
    assert_eq!(ids, [second.as_str(), first.as_str()], "newest first");
    let task = &list[1];
    for field in [
        "id",
        "title",
        "priority",
        "description",
        "status",
        "created_at",
        "reviewed_at",
        "executed_at",
        "reviewer_response",
        "error",
    ] {
        assert!(task.get(field).is_some(), "field {field} missing: {task}");
    }
    assert_eq!(task["title"], "First task");
    assert_eq!(task["priority"], "high");
    assert_eq!(task["status"], "pending");

    let shown = json(base, &["tasks", "show", &first, "--json"]);
    assert_eq!(shown, *task);
    run(base, &["tasks", "show", &first])
        .success()
        .stdout_has("First task");

    let limited = json(base, &["tasks", "list", "--limit", "1", "--json"]);
    assert_eq!(limited["tasks"].as_array().unwrap().len(), 1);
    assert_eq!(
        (limited["count"].clone(), limited["total"].clone()),
        (1.into(), 2.into())
    );
    let stats = json(base, &["tasks", "stats", "--json"]);
    assert_eq!(
        stats,
        serde_json::json!({"total": 2, "by_status": {"pending": 2, "review": 0, "approved": 0, "executed": 0, "failed": 0, "rejected": 0}}),
        "the API's shape (GET /api/v1/stats)"
    );
    run(base, &["tasks", "list"])
        .success()
        .stdout_has("Second task");
}

#[test]
fn invalid_input_exits_2_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    let long = "x".repeat(501);
    let cases: [(&[&str], &str); 5] = [
        (&add_args("ok", "urgent"), "priority"),
        (&add_args(&long, "low"), "title"),
        (&add_args("   ", "low"), "title"),
        (&add_args("bell\u{7}", "low"), "title"),
        (&["tasks", "list", "--status", "done"], "status"),
    ];
    for (args, field) in cases {
        run(base, args).code(2).stderr_has(field);
    }
    assert_eq!(
        json(base, &["tasks", "stats", "--json"])["by_status"]["pending"],
        0
    );
    run(base, &add_args(&"é".repeat(500), "Low")).success();
}

#[test]
fn unknown_ids_exit_3_and_malformed_ids_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    for args in [
        vec!["tasks", "show", "task_20000101_000000_000000"],
        vec!["tasks", "approve", "task_20000101_000000_000000"],
        vec!["tasks", "delete", "task_20000101_000000_000000"],
    ] {
        run(base, &args).code(3).stderr_has("not found");
    }
    run(base, &["tasks", "show", "../../etc/passwd"])
        .code(2)
        .stderr_has("not a task id");
}

#[test]
fn human_decisions_and_forbidden_transitions() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    let id = add(base, "Decide me", "medium");
    let task = json(
        base,
        &["tasks", "approve", &id, "--reason", "looks fine", "--json"],
    );
    // A human approval continues at the executor (SPEC section 1 step 6).
    assert_eq!(task["status"], "executed");
    assert_eq!(task["reviewer_response"], "Human approved: looks fine");
    assert!(task["reviewed_at"].is_string());
    // Approving again, or rejecting an executed task, is refused and names the status found.
    assert_decision_refused(base, "approve", &id, "'executed'");
    assert_decision_refused(base, "reject", &id, "'executed'");

    let other = add(base, "Reject me", "low");
    let task = json(base, &["tasks", "reject", &other, "--json"]);
    assert_eq!(task["status"], "rejected");
    assert!(
        task["reviewer_response"]
            .as_str()
            .unwrap()
            .starts_with("Human rejected: ")
    );
    assert_decision_refused(base, "approve", &other, "'rejected'");
}

#[test]
fn bulk_deletes_need_confirmation_off_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    let ids: Vec<String> = (0..5).map(|i| add(base, &format!("t{i}"), "low")).collect();
    for args in [
        vec!["tasks", "clear"],
        vec!["tasks", "prune", "--keep", "1"],
        vec!["tasks", "delete", "--status", "pending"],
    ] {
        run(base, &args).code(2).stderr_has("--yes");
    }
    assert_eq!(
        json(base, &["tasks", "stats", "--json"])["by_status"]["pending"],
        5,
        "nothing deleted without --yes"
    );

    run(base, &["tasks", "delete", &ids[0]]).success();
    run(base, &["tasks", "reject", &ids[1]]).success();
    run(base, &["tasks", "delete", "--status", "rejected", "--yes"])
        .success()
        .stdout_has("Deleted 1");
    run(base, &["tasks", "prune", "--keep", "2", "--yes"]).success();
    let left = json(base, &["tasks", "list", "--json"]);
    let left: Vec<&str> = strings(&left["tasks"], "id");
    assert_eq!(
        left,
        [ids[4].as_str(), ids[3].as_str()],
        "prune keeps the newest"
    );
    run(base, &["tasks", "clear", "--yes"]).success();
    assert_eq!(
        json(base, &["tasks", "list", "--json"]),
        serde_json::json!({"count": 0, "total": 0, "tasks": []})
    );
}

#[test]
fn config_json_shows_values_sources_and_redacts_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    std::fs::write(base.join(".env"), "METRICS_FILE=data/m.json\nPORT=9000\n").unwrap();
    let text = run_cmd(
        taskpilot(base)
            .env("PORT", "9100")
            .env("TASKS_FILE", "/srv/tasks/.tasks.json")
            .env("OPENAI_API_KEY", "sk-secret-abcdefghijklmnop"),
        &["config", "--json"],
    )
    .success()
    .stdout;
    assert!(
        !text.contains("sk-secret-abcdefghijklmnop"),
        "the key is printed in clear: {text}"
    );
    let cfg: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        cfg["port"],
        serde_json::json!({"value": 9100, "source": "env"})
    );
    assert_eq!(
        cfg["metrics_file"]["value"],
        base.join("data/m.json").display().to_string()
    );
    assert_eq!(cfg["metrics_file"]["source"], "dotenv");
    assert_eq!(cfg["tasks_file"]["value"], "/srv/tasks/.tasks.json");
    assert_eq!(cfg["traces_file"]["source"], "default");
    assert_eq!(
        cfg["logs_dir"]["value"],
        base.join("logs").display().to_string()
    );
    for (key, entry) in cfg.as_object().unwrap() {
        let source = entry["source"].as_str().unwrap_or_default();
        assert!(
            ["env", "dotenv", "default", "docker-logs-dir"].contains(&source),
            "{key}: {entry}"
        );
        if (key.ends_with("_file") || key.ends_with("_dir"))
            && let Some(path) = entry["value"].as_str()
        {
            assert!(Path::new(path).is_absolute(), "{key} not absolute: {path}");
        }
    }
    run(base, &["config"])
        .success()
        .stdout_has("TASKS_FILE")
        .stdout_has("dotenv");
}

#[test]
fn docker_logs_dir_rule_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    let docker = base.join("docker-logs");
    std::fs::create_dir(&docker).unwrap();
    let cfg = json(base, &["config", "--json"]);
    assert_eq!(cfg["logs_dir"]["source"], "default");
    let cfg = run_cmd(
        taskpilot(base).env("DOCKER_LOGS_DIR", &docker),
        &["config", "--json"],
    )
    .json();
    assert_eq!(cfg["logs_dir"]["value"], docker.display().to_string());
    assert_eq!(cfg["logs_dir"]["source"], "docker-logs-dir");
}

#[test]
fn malformed_configuration_names_the_variable_or_line() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    run_cmd(taskpilot(base).env("PORT", "abc"), &["tasks", "list"])
        .code(2)
        .stderr_has("PORT")
        .stderr_has("abc");
    std::fs::write(base.join(".env"), "HOST=127.0.0.1\nthis line is broken\n").unwrap();
    run(base, &["config"]).code(2).stderr_has(".env:2");
}

#[test]
fn corrupt_task_file_recovers_from_bak_and_keeps_the_corrupt_copy() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    let id = add(base, "Keep me", "high");
    run(base, &["store", "compact"]).success();
    std::fs::write(base.join(".tasks.json"), "{ corrupt").unwrap();
    run(base, &["tasks", "show", &id])
        .success()
        .stdout_has("Keep me")
        .stderr_has("corrupt")
        .stderr_has(".bak");
    let aside: Vec<_> = std::fs::read_dir(base)
        .unwrap()
        .filter_map(std::result::Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".tasks.json.corrupt-")
        })
        .collect();
    assert_eq!(aside.len(), 1);
    assert_eq!(
        std::fs::read_to_string(aside[0].path()).unwrap(),
        "{ corrupt"
    );
}

#[test]
fn corrupt_task_file_and_bak_fail_without_starting_empty() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    std::fs::write(base.join(".tasks.json"), "not json").unwrap();
    std::fs::write(base.join(".tasks.json.bak"), "not json either").unwrap();
    run(base, &add_args("x", "low"))
        .code(1)
        .stderr_has(".tasks.json.bak")
        .stderr_has("TASKS_FILE");
    assert_eq!(
        std::fs::read_to_string(base.join(".tasks.json")).unwrap(),
        "not json"
    );
    assert_eq!(
        std::fs::read_to_string(base.join(".tasks.json.bak")).unwrap(),
        "not json either"
    );
}

#[test]
fn reference_fixture_loads_with_its_counts() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    std::fs::copy(common::reference_fixture(), base.join(".tasks.json")).unwrap();
    let stats = json(base, &["tasks", "stats", "--json"]);
    assert_eq!(stats["by_status"]["rejected"], 2060);
    assert_eq!(stats["by_status"]["executed"], 1006);
    assert_eq!(stats["by_status"]["review"], 436);
    assert_eq!(stats["by_status"]["pending"], 187);
    let pending = json(
        base,
        &[
            "tasks", "list", "--status", "pending", "--limit", "3", "--json",
        ],
    );
    assert_eq!(pending["tasks"].as_array().unwrap().len(), 3);
    assert_eq!(pending["total"], 187);
}

/// Root ignores permission bits, so when the tests run as root the binary runs as `nobody`.
fn as_unprivileged(base: &Path, args: &[&str]) -> std::process::Output {
    let is_root = rustix_is_root();
    let bin = base.join("taskpilot-copy");
    std::fs::copy(common::binary(), &bin).unwrap();
    let mut cmd = if is_root {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin);
        c
    } else {
        std::process::Command::new(&bin)
    };
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BASE_DIR", base)
        .env("TASKS_FILE", base.join("data/.tasks.json"))
        .env("DOCKER_LOGS_DIR", base.join("none"))
        .current_dir(base)
        .output()
        .unwrap()
}

fn rustix_is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"))
}

#[test]
fn read_only_data_directory_is_a_clear_error_and_data_stays() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    std::fs::set_permissions(base, std::fs::Permissions::from_mode(0o755)).unwrap();
    let data = base.join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::copy(common::reference_fixture(), data.join(".tasks.json")).unwrap();
    let before = std::fs::read(data.join(".tasks.json")).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o555)).unwrap();
    // The logs directory stays writable, so the store is what fails.
    let logs = base.join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::fs::set_permissions(&logs, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(
        data.join(".tasks.json"),
        std::fs::Permissions::from_mode(0o444),
    )
    .unwrap();

    let out = as_unprivileged(base, &["tasks", "add", "--title", "x", "--priority", "low"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("TASKS_FILE") && stderr.contains(&data.display().to_string()),
        "{stderr}"
    );
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(
        std::fs::read(data.join(".tasks.json")).unwrap(),
        before,
        "existing data untouched"
    );
}
