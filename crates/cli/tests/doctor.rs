//! `taskpilot doctor`: healthy on a fresh directory, unhealthy (exit 1) with a message naming
//! the cause when the store, a policy or the provider settings are broken.

mod common;

use common::{run_cmd, taskpilot};

/// `taskpilot doctor --json` with `env`: the exit code and the report.
fn doctor(base: &std::path::Path, env: &[(&str, &str)]) -> (i32, serde_json::Value) {
    let out = run_cmd(
        taskpilot(base).envs(env.iter().copied()),
        &["doctor", "--json"],
    );
    (out.code.unwrap_or(-1), out.json())
}

fn check<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} check: {report}"))
}

#[test]
fn fresh_directory_is_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let (code, report) = doctor(dir.path(), &[]);
    assert_eq!(code, 0);
    assert_eq!(report["status"], "healthy", "{report}");
    for name in [
        "store",
        "policies",
        "guardrails",
        "prompts",
        "path:TASKS_FILE",
        "path:LOGS_DIR",
    ] {
        assert_eq!(check(&report, name)["status"], "healthy", "{name}");
    }
    assert_eq!(report["backend"], "file");
}

#[test]
fn broken_policy_corrupt_store_and_missing_key_are_unhealthy() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    std::fs::create_dir(base.join("policies")).unwrap();
    std::fs::write(
        base.join("policies/broken.rego"),
        "package taskpilot.tool_calls\n\nallow if {\n",
    )
    .unwrap();
    std::fs::write(base.join(".tasks.json"), "nope").unwrap();
    std::fs::write(base.join(".tasks.json.bak"), "nope").unwrap();
    let (code, report) = doctor(base, &[("LLM_PROVIDER", "openai")]);
    assert_eq!(code, 1);
    assert_eq!(report["status"], "unhealthy");
    assert!(
        check(&report, "policies")["message"]
            .as_str()
            .unwrap()
            .contains("broken.rego"),
        "{report}"
    );
    assert_eq!(check(&report, "store")["status"], "unhealthy");
    assert!(
        check(&report, "llm_provider")["message"]
            .as_str()
            .unwrap()
            .contains("OPENAI_API_KEY")
    );
}

#[test]
fn unreachable_otlp_endpoint_degrades() {
    let dir = tempfile::tempdir().unwrap();
    let (code, report) = doctor(
        dir.path(),
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")],
    );
    assert_eq!(code, 0);
    assert_eq!(report["status"], "degraded", "{report}");
    assert_eq!(check(&report, "otlp_endpoint")["status"], "degraded");
}
