//! The decision log and runs through the real binary: `store migrate` carries the decisions
//! from `DECISION_LOGS_FILE` into a shared store (SQLite, and PostgreSQL on the machine's
//! server) and verifies them; `taskpilot decisions` then reads the store; `store backup` writes
//! them beside the backup and `restore` loads them into another store; `taskpilot runs` lists
//! and shows the recorded runs.

mod common;

use std::path::Path;

use common::{run_cmd, stdout_of, taskpilot};
use serde_json::Value;
use taskpilot_testkit::strings;

const EXECUTED_REQUEST: &str = "Create a high priority task to prepare the board deck";
const REVIEW_REQUEST: &str = "Create a task to review the confidential salary report";

fn decision_ids(base: &Path, envs: &[(&str, &str)]) -> Vec<String> {
    let text = stdout_of(base, envs, &["decisions", "--all", "--json"]);
    let v: Value = serde_json::from_str(&text).expect("decisions --json");
    let mut ids: Vec<String> = v["decisions"]
        .as_array()
        .expect("an array")
        .iter()
        .map(|d| d["decision_id"].as_str().expect("decision_id").to_owned())
        .collect();
    ids.sort();
    ids
}

/// Runs two requests on the file store and migrates to `url`; returns the decision ids.
fn migrate_with_decisions(base: &Path, url: &str) -> Vec<String> {
    stdout_of(base, &[], &["run", EXECUTED_REQUEST]);
    stdout_of(base, &[], &["run", REVIEW_REQUEST]);
    let in_file = decision_ids(base, &[]);
    assert!(in_file.len() >= 8, "{in_file:?}");
    let out = stdout_of(
        base,
        &[],
        &["store", "migrate", "--from", ".tasks.json", "--to", url],
    );
    assert!(
        out.contains(&format!("Migrated {} decisions", in_file.len())),
        "{out}"
    );
    assert!(out.contains("verified: every decision is present"), "{out}");
    let in_store = decision_ids(base, &[("TASK_STORE_URL", url)]);
    assert_eq!(
        in_store, in_file,
        "the store holds exactly the file's decisions"
    );
    // Idempotent: a second migrate keeps one copy of each.
    stdout_of(
        base,
        &[],
        &["store", "migrate", "--from", ".tasks.json", "--to", url],
    );
    assert_eq!(decision_ids(base, &[("TASK_STORE_URL", url)]), in_file);
    in_file
}

#[test]
fn migrate_backup_and_restore_carry_the_decisions_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    let url = format!("sqlite://{}", base.join("shared.db").display());
    let ids = migrate_with_decisions(base, &url);

    // A run on the shared store is recorded with its steps; `runs` shows it.
    let env = [("TASK_STORE_URL", url.as_str())];
    stdout_of(base, &env, &["run", EXECUTED_REQUEST]);
    let runs: Value =
        serde_json::from_str(&stdout_of(base, &env, &["runs", "list", "--json"])).unwrap();
    // The file store's two runs came with the migrate; this one is the newest.
    assert_eq!(runs["count"], 3, "the API's shape, {{count, runs}}");
    let runs = runs["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[0]["status"], "succeeded");
    let run_id = runs[0]["run_id"].as_str().unwrap();
    let shown: Value =
        serde_json::from_str(&stdout_of(base, &env, &["runs", "show", run_id, "--json"])).unwrap();
    let steps: Vec<&str> = strings(&shown["steps"], "step");
    assert_eq!(
        steps,
        [
            "guardrails",
            "planner",
            "policy",
            "task_created",
            "reviewer",
            "executor"
        ]
    );
    let watched = stdout_of(base, &env, &["runs", "watch", run_id]);
    assert_eq!(watched.lines().count(), 7, "{watched}");
    let now = decision_ids(base, &env);
    assert!(now.len() > ids.len());

    // Backup: a valid TASKS_FILE plus the decisions beside it; restore into another store.
    let out = stdout_of(base, &env, &["store", "backup", "backup.json"]);
    assert!(
        out.contains(&format!("Backed up {} decisions", now.len())),
        "{out}"
    );
    let beside = std::fs::read_to_string(base.join("backup.json.decisions.jsonl")).unwrap();
    assert_eq!(beside.lines().count(), now.len());
    let other = format!("sqlite://{}", base.join("other.db").display());
    let env2 = [("TASK_STORE_URL", other.as_str())];
    let out = stdout_of(base, &env2, &["store", "restore", "backup.json"]);
    assert!(
        out.contains(&format!("Restored {} decisions", now.len())),
        "{out}"
    );
    assert_eq!(decision_ids(base, &env2), now);
    stdout_of(base, &env2, &["store", "restore", "backup.json"]);
    assert_eq!(
        decision_ids(base, &env2),
        now,
        "restoring twice keeps one copy"
    );

    // A broken decisions file is refused with its line number, nothing restored.
    std::fs::write(base.join("bad.json"), "{}").unwrap();
    std::fs::write(base.join("bad.json.decisions.jsonl"), "{not json\n").unwrap();
    run_cmd(
        taskpilot(base).env("TASK_STORE_URL", &other),
        &["store", "restore", "bad.json"],
    )
    .failure()
    .stderr_has("bad.json.decisions.jsonl:1");
}

#[test]
fn migrate_carries_the_decisions_to_postgres() {
    let Some(pg) = common::TempPg::create("taskpilot_cli_dec") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ids = migrate_with_decisions(dir.path(), &pg.url());
    assert!(!ids.is_empty());
}
