//! The OpenAI-compatible provider against a real HTTP server on a loopback port that checks
//! what is sent (model, messages with the system prompt from `PROMPTS_DIR`, the strict tool
//! schema, `tool_choice`, the bearer key) and answers with tool calls: success, 429 with
//! `Retry-After` then success, malformed arguments, and a timeout.

mod common;

use std::time::{Duration, Instant};

use common::{MockServer, Reply, metrics_after_shutdown, settings, stored, text, tool_call};
use serde_json::json;
use taskpilot_agents::{RunStatus, Runtime, Verdict};
use tempfile::TempDir;

const KEY: &str = "sk-test-0123456789abcdefSECRET";

fn write_prompts(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).unwrap();
    for (agent, text) in [
        ("planner", "CUSTOM PLANNER PROMPT: call create_task."),
        (
            "reviewer",
            "CUSTOM REVIEWER PROMPT: answer APPROVE, REJECTED or REVIEW.",
        ),
        (
            "executor",
            "CUSTOM EXECUTOR PROMPT: write the notification.",
        ),
    ] {
        std::fs::write(
            dir.join(format!("{agent}.yaml")),
            format!("version: \"7.1.0\"\nagent: {agent}\nsystem_instruction: \"{text}\"\n"),
        )
        .unwrap();
    }
}

/// A server answering from `script`, and a runtime in a temporary base directory of its own
/// that talks to it with the custom prompts (`extra`: more settings).
async fn start(script: Vec<Reply>, extra: &[(&str, &str)]) -> (MockServer, TempDir, Runtime) {
    let server = MockServer::start(script).await;
    let dir = tempfile::tempdir().expect("a temporary base directory");
    let prompts = dir.path().join("my-prompts");
    write_prompts(&prompts);
    let prompts = prompts.display().to_string();
    let mut env = vec![
        ("LLM_PROVIDER", "openai"),
        ("OPENAI_API_KEY", KEY),
        ("OPENAI_BASE_URL", server.base_url.as_str()),
        ("OPENAI_MODEL_ID", "test-model"),
        ("PROMPTS_DIR", prompts.as_str()),
        ("RETRY_INITIAL_DELAY", "0.01"),
        ("TOOL_TIMEOUT_SECONDS", "5"),
    ];
    env.extend_from_slice(extra);
    let rt = Runtime::from_settings(&settings(dir.path(), &env))
        .await
        .expect("the openai runtime starts");
    (server, dir, rt)
}

fn good_plan() -> Reply {
    Reply::json(tool_call(
        r#"{"title":"Prepare the board deck","priority":"high","description":"Slides for Thursday"}"#,
    ))
}

/// Runs a request through `rt` and asserts that the run failed, without a task, for a reason
/// containing every one of `parts`; returns the reason.
async fn failure_of_a_run(rt: &Runtime, parts: &[&str]) -> String {
    let r = rt
        .run("Prepare the board deck")
        .await
        .expect("the run completes");
    assert_eq!(r.status, RunStatus::Failed, "{:?}", r.reason);
    assert!(r.task.is_none(), "{:?}", r.task);
    let reason = r.reason.expect("a failed run says why");
    assert!(parts.iter().all(|p| reason.contains(p)), "{reason}");
    reason
}

#[tokio::test]
async fn sends_the_strict_schema_the_system_prompt_and_the_key() {
    let script = vec![
        good_plan(),
        Reply::json(text("APPROVE clear and harmless")),
        Reply::json(text("Task ready: prepare the board deck.")),
    ];
    let (server, dir, rt) = start(script, &[]).await;
    let request = "Create a high priority task to prepare the board deck";
    let r = rt.run(request).await.unwrap();
    assert_eq!(r.status, RunStatus::Executed, "{:?}", r.reason);
    assert_eq!(r.reviewer_decision, Some(Verdict::Approve));
    assert_eq!(r.task.as_ref().unwrap().title, "Prepare the board deck");
    assert_eq!(r.task.as_ref().unwrap().priority.as_str(), "high");

    let got = server.requests();
    assert_eq!(got.len(), 3);
    let plan = &got[0];
    assert_eq!(plan.path, "/v1/chat/completions");
    assert_eq!(plan.headers["authorization"], format!("Bearer {KEY}"));
    assert_eq!(plan.body["model"], "test-model");
    assert_eq!(plan.body["messages"][0]["role"], "system");
    assert_eq!(
        plan.body["messages"][0]["content"],
        "CUSTOM PLANNER PROMPT: call create_task."
    );
    assert_eq!(
        plan.body["messages"][1],
        json!({"role": "user", "content": request})
    );
    assert_eq!(
        plan.body["tools"],
        json!([{
            "type": "function",
            "function": {
                "name": "create_task",
                "description": "Create exactly one task from the user's request.",
                "strict": true,
                "parameters": {
                    "type": "object",
                    "properties": {
                        "title": {"type": "string", "minLength": 1, "maxLength": 500},
                        "priority": {"type": "string", "enum": ["high", "medium", "low"]},
                        "description": {"type": "string", "maxLength": 10000}
                    },
                    "required": ["title", "priority", "description"],
                    "additionalProperties": false
                }
            }
        }])
    );
    assert_eq!(
        plan.body["tool_choice"],
        json!({"type": "function", "function": {"name": "create_task"}})
    );
    assert_eq!(
        got[1].body["messages"][0]["content"],
        "CUSTOM REVIEWER PROMPT: answer APPROVE, REJECTED or REVIEW."
    );
    assert!(
        got[1].body["messages"][1]["content"]
            .as_str()
            .unwrap()
            .contains("Prepare the board deck")
    );
    assert!(got[1].body.get("tools").is_none());
    assert_eq!(
        got[2].body["messages"][0]["content"],
        "CUSTOM EXECUTOR PROMPT: write the notification."
    );
    // Token usage became cost; the prompt version is in spans and decisions; the key is nowhere.
    let m = metrics_after_shutdown(&rt, dir.path()).await;
    assert_eq!(m.counter("llm.tokens.input"), 120.0 + 80.0 + 80.0);
    assert_eq!(m.counter("llm.tokens.output"), 30.0 + 10.0 + 10.0);
    assert!(m.counter("llm.cost.total") > 0.0);
    assert_eq!(
        m.counter("llm.agent.PlannerAgent.model.test-model.calls"),
        1.0
    );
    let traces = std::fs::read_to_string(dir.path().join("traces.jsonl")).unwrap();
    assert!(traces.contains("taskpilot.llm.test-model.call"));
    assert!(traces.contains("\"prompt.version\":\"7.1.0\""));
    let decisions = std::fs::read_to_string(dir.path().join("decision_logs.jsonl")).unwrap();
    assert!(decisions.contains("\"prompt_version\":\"7.1.0\""));
    for file in [
        "traces.jsonl",
        "decision_logs.jsonl",
        "metrics.json",
        "notifications.jsonl",
    ] {
        let text = std::fs::read_to_string(dir.path().join(file)).unwrap();
        assert!(
            !text.contains(KEY) && !text.contains("SECRET"),
            "key leaked into {file}"
        );
    }
}

#[tokio::test]
async fn retries_a_429_after_retry_after_then_succeeds() {
    let rate_limited = Reply {
        headers: vec![("Retry-After".into(), "1".into())],
        ..Reply::status(429, r#"{"error":{"message":"rate limited"}}"#)
    };
    let script = vec![
        rate_limited,
        good_plan(),
        Reply::json(text("APPROVE")),
        Reply::json(text("Task ready.")),
    ];
    let (server, _dir, rt) = start(script, &[]).await;
    let started = Instant::now();
    let r = rt
        .run("Prepare the board deck, high priority")
        .await
        .unwrap();
    let waited = started.elapsed();
    assert_eq!(r.status, RunStatus::Executed, "{:?}", r.reason);
    assert!(
        waited >= Duration::from_millis(950),
        "Retry-After honoured: {waited:?}"
    );
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test]
async fn retries_server_errors_with_backoff_until_the_attempts_run_out() {
    let busy = vec![Reply::status(503, "busy"); 3];
    let (server, _dir, rt) = start(busy, &[("RETRY_MAX_ATTEMPTS", "3")]).await;
    let reason = failure_of_a_run(&rt, &["503", "3 attempt"]).await;
    assert!(!reason.contains(KEY));
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn malformed_arguments_end_the_run_failed_without_a_task() {
    for arguments in [
        r#"{"title": 5, "priority": "high", "description": ""}"#,
        r#"{"title": "x", "priority": "high"}"#,
        r#"{"title": "x", "priority": "high", "description": "", "extra": 1}"#,
        "not json at all",
    ] {
        let (_server, _dir, rt) = start(vec![Reply::json(tool_call(arguments))], &[]).await;
        let r = rt.run("Prepare the board deck").await.unwrap();
        assert_eq!(r.status, RunStatus::Failed, "{arguments}");
        assert!(r.task.is_none(), "{arguments}");
        let reason = r.reason.unwrap();
        assert!(
            reason.contains("malformed create_task arguments"),
            "{arguments}: {reason}"
        );
        assert_eq!(stored(&rt).await, 0, "{arguments}");
    }
}

#[tokio::test]
async fn a_slow_endpoint_times_out_and_the_run_fails() {
    let slow = Reply {
        delay: Duration::from_secs(4),
        ..good_plan()
    };
    let settings = [("TOOL_TIMEOUT_SECONDS", "0.5"), ("RETRY_MAX_ATTEMPTS", "2")];
    let (_server, _dir, rt) = start(vec![slow; 2], &settings).await;
    // Without the timeout the slow endpoint's good plan would arrive and the run succeed.
    failure_of_a_run(&rt, &["timed out", "2 attempt"]).await;
}
