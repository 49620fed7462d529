//! The console's conventions reach the commands (through `taskpilot_config::console`, the one
//! reader of the environment): `USER` is the reviewer recorded by `tasks approve`, `tasks
//! reject` and `review` when `--reviewer` is not given, and `RUST_LOG` sets what the console
//! shows. (`COLUMNS` is in terminal.rs.)

mod common;

use std::path::Path;

use common::{json, run_cmd, run_request, taskpilot};
use serde_json::Value;

/// A task the offline reviewer sends to human review; returns its id.
fn in_review(base: &Path, request: &str) -> String {
    let r = run_request(base, request);
    assert_eq!(r["status"], "review", "{r}");
    r["task"]["id"].as_str().expect("task id").to_owned()
}

/// The `user_id` of the human decision on `id` in the decision log.
fn decided_by(base: &Path, id: &str) -> Value {
    let text = std::fs::read_to_string(base.join("decision_logs.jsonl")).expect("decision log");
    let human: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("a JSON decision"))
        .filter(|d| d["decision_type"] == "human_approval" && d["context"]["task_id"] == id)
        .collect();
    assert_eq!(human.len(), 1, "one human decision on {id}: {human:?}");
    human[0]["user_id"].clone()
}

#[test]
fn user_names_the_reviewer_unless_reviewer_is_given() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = dir.path();
    let cases: [(&str, Option<&str>, &[&str], Value); 5] = [
        ("approve", Some("alice"), &[], "alice".into()),
        (
            "reject",
            Some("alice"),
            &["--reviewer", "bob"],
            "bob".into(),
        ),
        ("approve", None, &[], Value::Null),
        ("reject", Some("  "), &[], Value::Null),
        ("approve", Some("alice"), &["--reviewer", ""], Value::Null),
    ];
    for (i, (verb, user, extra, expected)) in cases.into_iter().enumerate() {
        let id = in_review(base, &format!("Share the confidential salary report {i}"));
        let mut cmd = taskpilot(base);
        if let Some(user) = user {
            cmd.env("USER", user);
        }
        let mut args = vec!["tasks", verb, id.as_str()];
        args.extend_from_slice(extra);
        run_cmd(&mut cmd, &args).success();
        assert_eq!(
            decided_by(base, &id),
            expected,
            "tasks {verb} with USER={user:?} and {extra:?}"
        );
    }
    // The review queue takes USER too.
    let id = in_review(base, "Share the confidential salary report, queue");
    run_cmd(
        taskpilot(base).env("USER", "carol").write_stdin("r\n\n"),
        &["review"],
    )
    .success();
    assert_eq!(decided_by(base, &id), "carol");
    let task = json(base, &["tasks", "show", &id, "--json"]);
    assert_eq!(task["status"], "rejected");
    // A blank --reviewer records no one there too, as with tasks approve/reject.
    let id = in_review(base, "Share the confidential salary report, blank queue");
    run_cmd(
        taskpilot(base).env("USER", "carol").write_stdin("r\n\n"),
        &["review", "--reviewer", " "],
    )
    .success();
    assert_eq!(decided_by(base, &id), Value::Null);
}

#[test]
fn rust_log_sets_what_the_console_shows() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = dir.path();
    let cases: [(Option<&str>, &[&str], bool); 5] = [
        (None, &[], false),
        (None, &["--verbose"], true),
        (Some("info"), &[], true),
        (Some("error"), &["--verbose"], false),
        // Not a filter: the default stands.
        (Some("taskpilot=loud"), &[], false),
    ];
    for (rust_log, flags, shown) in cases {
        let mut cmd = taskpilot(base);
        if let Some(filter) = rust_log {
            cmd.env("RUST_LOG", filter);
        }
        let mut args = flags.to_vec();
        args.extend(["run", "Prepare the quarterly report"]);
        let ran = run_cmd(&mut cmd, &args).success();
        assert_eq!(
            ran.stderr.contains("run finished"),
            shown,
            "RUST_LOG={rust_log:?} {flags:?}: stderr was\n{}",
            ran.stderr
        );
    }
}
