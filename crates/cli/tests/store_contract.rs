//! Issue 13 through the real binary: `.tasks.json` copied alone after `tasks add`, `run`,
//! `tasks approve` and a server's graceful stop holds everything; read-only commands create
//! nothing and find the project's store from a subdirectory; suggested commands work when
//! pasted; `store backup` / `migrate --to FILE` leave one file; the log file tells the story.

mod common;

use std::path::Path;
use std::process::Command;

use common::{add, json, run, run_cmd, taskpilot};
use taskpilot_testkit::files_in;

/// `.tasks.json` alone, copied to a fresh base directory, as the storage guide's backup does.
fn copy_alone(base: &Path) -> tempfile::TempDir {
    let fresh = tempfile::tempdir().unwrap();
    std::fs::copy(base.join(".tasks.json"), fresh.path().join(".tasks.json")).unwrap();
    fresh
}

fn task_in(base: &Path, id: &str) -> serde_json::Value {
    json(base, &["tasks", "show", id, "--json"])
}

#[test]
fn the_task_file_alone_is_complete_after_add_run_and_approve() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    let added = add(base, "Added by hand", "high");
    let copy = copy_alone(base);
    assert_eq!(task_in(copy.path(), &added)["title"], "Added by hand");

    let run = json(
        base,
        &["run", "Schedule the quarterly board review", "--json"],
    );
    let run_task = run["task"]["id"]
        .as_str()
        .expect("the run made a task")
        .to_owned();
    let copy = copy_alone(base);
    assert_eq!(
        task_in(copy.path(), &run_task)["status"],
        run["task"]["status"]
    );

    json(base, &["tasks", "approve", &added, "--json"]);
    let copy = copy_alone(base);
    let approved = task_in(copy.path(), &added);
    assert!(
        approved["status"] == "executed" || approved["status"] == "failed",
        "{approved}"
    );
    assert_eq!(approved, task_in(base, &added));
    assert!(
        !base.join(".tasks.json.journal").exists(),
        "no journal once the commands are done"
    );
}

#[test]
fn the_reference_store_copied_alone_after_add_and_approve_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    std::fs::copy(common::reference_fixture(), base.join(".tasks.json")).unwrap();
    let id = add(base, "One more", "low");
    json(base, &["tasks", "approve", &id, "--json"]);
    let copy = copy_alone(base);
    let stats = json(copy.path(), &["tasks", "stats", "--json"]);
    let per_status: u64 = stats["by_status"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(per_status, 3690);
    assert_eq!(stats["total"], 3690);
    assert_eq!(task_in(copy.path(), &id), task_in(base, &id));
}

#[test]
fn a_servers_graceful_stop_leaves_a_complete_task_file() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    let (mut child, addr, _) = common::serve(base, &[]);
    let mut ids = Vec::new();
    for n in 0..5 {
        let body = format!("{{\"title\": \"served {n}\", \"priority\": \"low\"}}");
        let out = Command::new("curl")
            .args(["-sS", "-X", "POST", "-H", "Content-Type: application/json"])
            .args(["-d", &body, &format!("http://{addr}/api/v1/tasks")])
            .output()
            .expect("curl");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
        ids.push(v["id"].as_str().expect("created").to_owned());
    }
    common::sigterm(&child);
    assert!(child.wait().unwrap().success());
    assert!(!base.join(".tasks.json.journal").exists());
    let copy = copy_alone(base);
    for id in &ids {
        assert_eq!(task_in(copy.path(), id)["id"], id.as_str());
    }
}

#[test]
fn read_only_commands_create_nothing_and_name_the_store_they_looked_for() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    let store = base.join(".tasks.json").display().to_string();
    for args in [
        &["tasks", "list"][..],
        &["tasks", "stats"],
        &["config"],
        &["store", "check"],
        &["tasks", "list", "--json"],
    ] {
        let stderr = run(base, args).stderr;
        if args[0] != "config" {
            assert!(
                stderr.contains(&format!("No task store at {store}")),
                "{args:?}: {stderr}"
            );
        }
        assert_eq!(
            files_in(base),
            Vec::<String>::new(),
            "{args:?} created files"
        );
    }
    run(base, &["tasks", "show", "task_20251220_100404_305973"])
        .code(3)
        .stderr_has("No task store at");
    assert_eq!(files_in(base), Vec::<String>::new());
}

#[test]
fn a_subdirectory_of_a_project_finds_the_projects_store() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    let sub = project.join("docs").join("notes");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(project.join(".env"), "LLM_PROVIDER=offline\n").unwrap();
    let id = add(&project, "Project task", "high");
    let in_sub = |args: &[&str]| run_cmd(taskpilot(&sub).env_remove("BASE_DIR"), args).success();
    let listed = in_sub(&["tasks", "list", "--json"]).json();
    assert_eq!(listed["tasks"].as_array().unwrap().len(), 1);
    assert_eq!(listed["tasks"][0]["id"], id.as_str());
    in_sub(&["config"])
        .stdout_has(&format!("base directory: {}", project.display()))
        .stdout_has("holds .env");
    assert_eq!(files_in(&sub), Vec::<String>::new());
}

/// The commands an error message suggests, between backticks.
fn suggested_commands(stderr: &str) -> Vec<String> {
    stderr
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|c| c.starts_with("taskpilot "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_missing_task_file_with_a_bak_suggests_a_restore_that_works_when_pasted() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    let first = add(base, "First", "high");
    let second = add(base, "Second", "low");
    std::fs::remove_file(base.join(".tasks.json")).unwrap();
    let stderr = run(base, &["tasks", "list"]).code(1).stderr;
    let commands = suggested_commands(&stderr);
    assert_eq!(commands.len(), 1, "{stderr}");
    let words: Vec<&str> = commands[0].split_whitespace().collect();
    assert_eq!(&words[..3], ["taskpilot", "store", "restore"], "{stderr}");
    run(base, &words[1..]).success();
    // `.bak` is the store before the last command: the first task.
    assert_eq!(task_in(base, &first)["title"], "First");
    run(base, &["tasks", "show", &second]).code(3);
}

#[test]
fn backup_and_migrate_to_a_file_write_one_complete_file() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    add(base, "A", "high");
    add(base, "B", "low");
    let out_dir = base.join("out");
    std::fs::create_dir(&out_dir).unwrap();
    run(base, &["store", "backup", "out/backup.json"]).success();
    assert_eq!(files_in(&out_dir), ["backup.json"]);
    run(
        base,
        &[
            "store",
            "migrate",
            "--from",
            ".tasks.json",
            "--to",
            "out/moved.json",
        ],
    )
    .success();
    assert_eq!(files_in(&out_dir), ["backup.json", "moved.json"]);
    for name in ["backup.json", "moved.json"] {
        let seed: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&std::fs::read(out_dir.join(name)).unwrap()).unwrap();
        assert_eq!(seed.len(), 2, "{name}");
    }
}

#[test]
fn the_log_file_tells_what_run_add_and_approve_did() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    let run = json(base, &["run", "Book a meeting room for Friday", "--json"]);
    let request_id = run["request_id"].as_str().unwrap().to_owned();
    let id = add(base, "Approve me", "high");
    json(base, &["tasks", "approve", &id, "--json"]);
    let lines = common::json_lines(&base.join("logs").join("taskpilot.log"));
    let messages: Vec<&str> = lines
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    let find = |m: &str| {
        lines
            .iter()
            .filter(|l| l["message"] == m)
            .collect::<Vec<_>>()
    };
    let started = find("run started");
    assert!(!started.is_empty(), "{messages:?}");
    assert_eq!(started[0]["request_id"], request_id.as_str());
    let finished = find("run finished");
    assert_eq!(finished.len(), 1, "{messages:?}");
    assert_eq!(finished[0]["request_id"], request_id.as_str());
    assert_eq!(finished[0]["level"], "INFO");
    assert_eq!(finished[0]["fields"]["status"], run["status"]);
    assert_eq!(finished[0]["fields"]["task_id"], run["task"]["id"]);
    assert!(finished[0]["fields"]["latency_ms"].is_number());
    let created = find("task created by hand");
    assert_eq!(created.len(), 1, "{messages:?}");
    assert_eq!(created[0]["fields"]["task_id"], id.as_str());
    let approved = find("task approved by a person");
    assert_eq!(approved.len(), 1, "{messages:?}");
    assert_eq!(approved[0]["fields"]["task_id"], id.as_str());
    assert!(
        messages
            .iter()
            .filter(|m| m.starts_with("store compacted"))
            .count()
            >= 3,
        "{messages:?}"
    );
}
