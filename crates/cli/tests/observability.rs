//! Black-box tests of the observability commands: `metrics`, `traces`, `decisions`,
//! `cost-report` and `golden-signals`, run as the real binary against files in a temp dir.

use assert_cmd::Command;
use predicates::prelude::*;
use taskpilot_observe::{
    CostTracker, Decision, DecisionLog, DecisionResult, DecisionType, Metrics, Prices, Tracer,
    names,
};

fn taskpilot(dir: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("taskpilot").unwrap();
    cmd.current_dir(dir)
        .env("BASE_DIR", dir)
        .env_remove("METRICS_FILE")
        .env_remove("TRACES_FILE")
        .env_remove("DECISION_LOGS_FILE")
        .env_remove("OBSERVABILITY_DIR");
    cmd
}

#[test]
fn metrics_recorded_by_two_handles_show_in_json_table_and_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.json");
    for _ in 0..2 {
        let m = Metrics::open(&path);
        m.incr(names::WORKFLOW_RUNS, 2.0);
        m.incr(&names::agent("PlannerAgent", "invocations"), 1.0);
        m.observe(names::WORKFLOW_LATENCY_MS, 120.0);
        m.flush().unwrap();
    }
    let out = taskpilot(dir.path())
        .args(["metrics", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["counters"]["workflow.runs"], 4.0);
    assert_eq!(v["histograms"]["workflow.latency_ms"]["count"], 2);
    taskpilot(dir.path())
        .args(["metrics", "--prometheus"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "taskpilot_workflow_runs_total 4\n",
        ))
        .stdout(predicate::str::contains(
            r#"taskpilot_agent_invocations_total{agent="PlannerAgent"} 2"#,
        ))
        .stdout(predicate::str::contains(
            r#"taskpilot_workflow_duration_seconds_bucket{le="+Inf"} 2"#,
        ));
    taskpilot(dir.path())
        .arg("metrics")
        .assert()
        .success()
        .stdout(
            predicate::str::contains("workflow.runs")
                .and(predicate::str::contains("workflow.latency_ms")),
        );
}

#[test]
fn traces_prints_the_tree_of_one_request_indented_by_parent() {
    let dir = tempfile::tempdir().unwrap();
    let tracer = Tracer::new(Some(dir.path().join("traces.jsonl")));
    for request in ["req-a", "req-b"] {
        let root = tracer.start_span("taskpilot.workflow.run", None, Some(request));
        let agent = root.child("taskpilot.agent.PlannerAgent.run");
        agent.child("taskpilot.llm.gpt-4o-mini.call").end();
        agent.end();
        root.end();
    }
    let out = taskpilot(dir.path())
        .args(["traces", "--request", "req-b"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("request req-b") && !text.contains("req-a"),
        "{text}"
    );
    assert!(text.contains("\n  taskpilot.workflow.run  "), "{text}");
    assert!(
        text.contains("\n    taskpilot.agent.PlannerAgent.run  "),
        "{text}"
    );
    assert!(
        text.contains("\n      taskpilot.llm.gpt-4o-mini.call  "),
        "{text}"
    );
    assert!(text.contains(" ms"));
    taskpilot(dir.path())
        .args(["traces", "--request", "nope"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "No trace has the request id 'nope' (2 traces in",
        ));
    let out = taskpilot(dir.path())
        .args(["traces", "--tail", "1", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(
        v[0]["roots"][0]["children"][0]["name"],
        "taskpilot.agent.PlannerAgent.run"
    );
}

#[test]
fn decisions_filters_newest_first_summarises_and_skips_a_torn_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("decision_logs.jsonl");
    {
        let log = DecisionLog::open(&path).unwrap();
        for (i, (t, r, tool)) in [
            (DecisionType::ToolCall, DecisionResult::Allow, "create_task"),
            (DecisionType::ToolCall, DecisionResult::Deny, "delete_task"),
            (DecisionType::GuardrailsInput, DecisionResult::Allow, ""),
            (DecisionType::Review, DecisionResult::RequireApproval, ""),
        ]
        .into_iter()
        .enumerate()
        {
            let mut d = Decision::new(t, r, format!("reason {i}"));
            d.tool_name = (!tool.is_empty()).then(|| tool.to_owned());
            d.latency_ms = (i + 1) as f64;
            d.timestamp =
                serde_json::from_value(serde_json::json!(format!("2026-01-01T00:00:0{i}Z")))
                    .unwrap();
            log.record(&d).unwrap();
        }
    }
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(br#"{"decision_id": "torn"#);
    std::fs::write(&path, bytes).unwrap();

    let out = taskpilot(dir.path())
        .args(["decisions", "--json"])
        .assert()
        .success()
        .stderr(predicate::str::contains("decision_logs.jsonl:5:"))
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        (v["count"].clone(), v["total"].clone()),
        (4.into(), 4.into()),
        "wrapped as the API wraps a listing: {v}"
    );
    let reasons: Vec<&str> = v["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["reason 3", "reason 2", "reason 1", "reason 0"]);

    taskpilot(dir.path())
        .args(["decisions", "--type", "tool_call", "--result", "deny"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("delete_task")
                .and(predicate::str::contains("create_task").not()),
        );
    taskpilot(dir.path())
        .args(["decisions", "--tool", "create_task", "--tail", "5"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("reason 0").and(predicate::str::contains("reason 1").not()),
        );

    let out = taskpilot(dir.path())
        .args(["decisions", "--summary", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let s: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(s["total"], 4);
    assert_eq!(s["by_result"]["allow"]["count"], 2);
    assert_eq!(s["by_result"]["allow"]["percent"], 50.0);
    assert_eq!(s["by_type"]["tool_call"]["percent"], 50.0);
    assert_eq!(s["latency_ms"]["max"], 4.0);
    taskpilot(dir.path())
        .args(["decisions", "--summary"])
        .assert()
        .success()
        .stdout(predicate::str::contains("require_approval").and(predicate::str::contains("p95")));
    taskpilot(dir.path())
        .args(["decisions", "--type", "bogus"])
        .assert()
        .failure();
}

#[test]
fn golden_signals_with_no_runs_and_cost_report_of_gpt_4o() {
    let dir = tempfile::tempdir().unwrap();
    let out = taskpilot(dir.path())
        .args(["golden-signals", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let g: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(g["success_rate"]["value"], 100.0);
    assert_eq!(g["success_rate"]["status"], "healthy");
    assert_eq!(g["cost_per_successful_task"]["value"], 0.0);

    let metrics = Metrics::open(dir.path().join("metrics.json"));
    CostTracker::new(metrics.clone(), Prices::default()).record(
        "PlannerAgent",
        "gpt-4o",
        1_000,
        500,
    );
    metrics.incr(names::WORKFLOW_RUNS, 3.0);
    metrics.incr(names::WORKFLOW_SUCCESS, 1.0);
    metrics.flush().unwrap();
    taskpilot(dir.path())
        .args(["cost-report", "--format", "csv"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "total,all,1,1000,500,1500,0.0075,false",
        ))
        .stdout(predicate::str::contains(
            "agent,PlannerAgent,1,1000,500,1500,0.0075,false",
        ))
        .stdout(predicate::str::contains(
            "model,gpt-4o,1,1000,500,1500,0.0075,false",
        ));
    let out = taskpilot(dir.path())
        .args(["cost-report", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let c: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(c["total"]["cost_usd"], 0.0075);
    taskpilot(dir.path())
        .arg("cost-report")
        .assert()
        .success()
        .stdout(predicate::str::contains("0.0075").and(predicate::str::contains("PlannerAgent")));
    let out = taskpilot(dir.path())
        .args(["cost-report", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let j: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(j, c, "--json is --format json");
    let out = taskpilot(dir.path())
        .args(["golden-signals", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let g: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(g["success_rate"]["value"], 33.33);
    assert_eq!(g["success_rate"]["status"], "critical");
    assert_eq!(g["cost_per_successful_task"]["value"], 0.0075);
    taskpilot(dir.path())
        .arg("golden-signals")
        .assert()
        .success()
        .stdout(predicate::str::contains("success_rate"));
}
