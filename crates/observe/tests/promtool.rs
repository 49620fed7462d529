//! `promtool check metrics` accepts our exposition. Skipped (and reported as skipped by
//! `taskpilot_testkit::service_missing`) when promtool is not installed, except in CI
//! (`CI=true`), where its absence is a failure (Debian package `prometheus`).

use std::io::Write;
use std::process::{Command, Stdio};

use taskpilot_observe::{Metrics, names};

#[test]
fn promtool_accepts_the_exposition() {
    let m = Metrics::in_memory();
    for n in [
        names::WORKFLOW_RUNS,
        names::WORKFLOW_SUCCESS,
        names::WORKFLOW_ERRORS,
        names::TASKS_CREATED,
        names::TASKS_APPROVED,
        names::TASKS_REJECTED,
        names::TASKS_REVIEW,
        names::TASKS_EXECUTED,
        names::POLICY_VIOLATIONS_TOTAL,
        names::LLM_COST_TOTAL,
        names::LLM_TOKENS_INPUT,
        names::LLM_TOKENS_OUTPUT,
        names::LLM_TOKENS_TOTAL,
        names::HUMAN_APPROVALS,
        names::OTEL_EXPORT_FAILURES,
    ] {
        m.incr(n, 2.0);
    }
    for agent in ["PlannerAgent", "ReviewerAgent", "ExecutorAgent"] {
        for what in ["invocations", "success", "errors"] {
            m.incr(&names::agent(agent, what), 1.0);
        }
        m.observe(&names::agent(agent, "latency_ms"), 42.0);
        m.incr(&names::llm(agent, "gpt-4o-mini", "cost"), 0.001);
        m.incr(&names::llm(agent, "gpt-4o-mini", "input_tokens"), 100.0);
        m.incr(&names::llm(agent, "gpt-4o-mini", "output_tokens"), 50.0);
        m.incr(&names::llm(agent, "gpt-4o-mini", "calls"), 1.0);
    }
    for what in ["calls", "success", "errors"] {
        m.incr(&names::tool("notify_external_system", what), 1.0);
    }
    m.observe(&names::tool("notify_external_system", "latency_ms"), 3.0);
    m.observe(names::WORKFLOW_LATENCY_MS, 1500.0);
    m.observe(names::WORKFLOW_LATENCY_MS, 999_999.0);
    m.set_gauge(names::HEALTH_STATUS, 2.0);
    let text = m.snapshot().unwrap().to_prometheus();

    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            taskpilot_testkit::service_missing(
                "promtool",
                format!("{e}; apt-get install prometheus"),
            );
            return;
        }
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "promtool rejected:\n{stdout}{stderr}\n---\n{text}"
    );
    assert!(
        stdout.trim().is_empty() && stderr.trim().is_empty(),
        "promtool lint:\n{stdout}{stderr}\n---\n{text}"
    );
}
