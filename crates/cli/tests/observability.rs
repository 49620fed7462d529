//! Black-box tests of the observability commands: `metrics`, `traces`, `decisions`,
//! `cost-report` and `golden-signals`, run as the real binary against files in a temp dir.

mod common;

use common::{json, run};
use taskpilot_observe::{
    CostTracker, Decision, DecisionLog, DecisionResult, DecisionType, Metrics, Prices, Tracer,
    names,
};
use taskpilot_testkit::strings;

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
    let v = json(dir.path(), &["metrics", "--json"]);
    assert_eq!(v["counters"]["workflow.runs"], 4.0);
    assert_eq!(v["histograms"]["workflow.latency_ms"]["count"], 2);
    run(dir.path(), &["metrics", "--prometheus"])
        .success()
        .stdout_has("taskpilot_workflow_runs_total 4\n")
        .stdout_has(r#"taskpilot_agent_invocations_total{agent="PlannerAgent"} 2"#)
        .stdout_has(r#"taskpilot_workflow_duration_seconds_bucket{le="+Inf"} 2"#);
    run(dir.path(), &["metrics"])
        .success()
        .stdout_has("workflow.runs")
        .stdout_has("workflow.latency_ms");
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
    let text = run(dir.path(), &["traces", "--request", "req-b"])
        .success()
        .stdout;
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
    run(dir.path(), &["traces", "--request", "nope"])
        .success()
        .stdout_has("No trace has the request id 'nope' (2 traces in");
    let v = json(dir.path(), &["traces", "--tail", "1", "--json"]);
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

    let v = run(dir.path(), &["decisions", "--json"])
        .success()
        .stderr_has("decision_logs.jsonl:5:")
        .json();
    assert_eq!(
        (v["count"].clone(), v["total"].clone()),
        (4.into(), 4.into()),
        "wrapped as the API wraps a listing: {v}"
    );
    let reasons: Vec<&str> = strings(&v["decisions"], "reason");
    assert_eq!(reasons, ["reason 3", "reason 2", "reason 1", "reason 0"]);

    run(
        dir.path(),
        &["decisions", "--type", "tool_call", "--result", "deny"],
    )
    .success()
    .stdout_has("delete_task")
    .stdout_lacks("create_task");
    run(
        dir.path(),
        &["decisions", "--tool", "create_task", "--tail", "5"],
    )
    .success()
    .stdout_has("reason 0")
    .stdout_lacks("reason 1");

    let s = json(dir.path(), &["decisions", "--summary", "--json"]);
    assert_eq!(s["total"], 4);
    assert_eq!(s["by_result"]["allow"]["count"], 2);
    assert_eq!(s["by_result"]["allow"]["percent"], 50.0);
    assert_eq!(s["by_type"]["tool_call"]["percent"], 50.0);
    assert_eq!(s["latency_ms"]["max"], 4.0);
    run(dir.path(), &["decisions", "--summary"])
        .success()
        .stdout_has("require_approval")
        .stdout_has("p95");
    run(dir.path(), &["decisions", "--type", "bogus"]).failure();
}

#[test]
fn golden_signals_with_no_runs_and_cost_report_of_gpt_4o() {
    let dir = tempfile::tempdir().unwrap();
    let g = json(dir.path(), &["golden-signals", "--json"]);
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
    run(dir.path(), &["cost-report", "--format", "csv"])
        .success()
        .stdout_has("total,all,1,1000,500,1500,0.0075,false")
        .stdout_has("agent,PlannerAgent,1,1000,500,1500,0.0075,false")
        .stdout_has("model,gpt-4o,1,1000,500,1500,0.0075,false");
    let c = json(dir.path(), &["cost-report", "--format", "json"]);
    assert_eq!(c["total"]["cost_usd"], 0.0075);
    run(dir.path(), &["cost-report"])
        .success()
        .stdout_has("0.0075")
        .stdout_has("PlannerAgent");
    let j = json(dir.path(), &["cost-report", "--json"]);
    assert_eq!(j, c, "--json is --format json");
    let g = json(dir.path(), &["golden-signals", "--json"]);
    assert_eq!(g["success_rate"]["value"], 33.33);
    assert_eq!(g["success_rate"]["status"], "critical");
    assert_eq!(g["cost_per_successful_task"]["value"], 0.0075);
    run(dir.path(), &["golden-signals"])
        .success()
        .stdout_has("success_rate");
}
