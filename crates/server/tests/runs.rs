//! Runs as resources on real servers (loopback ports, offline provider): an async run answers
//! 202 and is carried out by a worker with every step recorded in order; the events stream;
//! a task's history; and two servers on one PostgreSQL database sharing runs and decisions.

mod common;

use std::time::Duration;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};
use taskpilot_testkit::sql::TempDb;
use taskpilot_testkit::strings;

async fn submit_async(s: &TestServer, request: &str, prefer_header: bool) -> (String, String) {
    let mut r = s.request(Method::POST, "/api/v1/runs", None);
    let body = if prefer_header {
        r = r.header("Prefer", "respond-async");
        json!({"request": request})
    } else {
        json!({"request": request, "wait": false})
    };
    let r = r.json(&body).send().await.expect("send");
    assert_eq!(r.status(), 202);
    let location = r
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .expect("a Location header")
        .to_owned();
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["status"], "queued");
    let run_id = v["run_id"].as_str().expect("run_id").to_owned();
    assert_eq!(location, format!("/api/v1/runs/{run_id}"));
    assert_eq!(
        v["links"]["events"],
        format!("/api/v1/runs/{run_id}/events")
    );
    (run_id, location)
}

/// Polls a run until it ended (at most 60 s).
async fn wait_for_end(s: &TestServer, run_id: &str) -> Value {
    for _ in 0..600 {
        let run = s.get_json(&format!("/api/v1/runs/{run_id}"), None).await;
        if run["status"] == "succeeded" || run["status"] == "failed" {
            return run;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("run {run_id} did not end within 60 s");
}

fn assert_steps_in_order(run: &Value) {
    assert_eq!(strings(&run["steps"], "step"), ALL_STEPS, "{run}");
    let seqs: Vec<u64> = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5, 6]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_async_run_answers_202_then_completes_with_every_step_in_order() {
    let s = TestServer::start(None).await;
    let (run_id, location) = submit_async(&s, EXECUTED_REQUEST, false).await;
    let run = wait_for_end(&s, &run_id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["request"], EXECUTED_REQUEST);
    assert_eq!(run["result"]["status"], "executed");
    assert_steps_in_order(&run);
    let task_id = run["task_id"].as_str().expect("task_id");
    assert_eq!(run["result"]["task"]["id"], task_id);
    assert_eq!(run["steps"][3]["detail"]["task_id"], task_id);
    assert_eq!(run["steps"][5]["detail"]["status"], "executed");
    for field in ["created_at", "updated_at"] {
        assert!(
            run[field].as_str().is_some_and(|t| t.ends_with('Z')),
            "{field}"
        );
    }
    let same = s.get_json(&location, None).await;
    assert_eq!(same["run_id"], run_id.as_str());
    // The runs file beside the tasks (file store).
    assert!(
        s.dir
            .path()
            .join(".tasks.json.runs")
            .join(format!("{run_id}.json"))
            .exists()
    );
    let listed = s.get_json("/api/v1/runs?limit=5", None).await;
    assert_eq!(listed["count"], 1);
    assert_eq!(listed["runs"][0]["run_id"], run_id.as_str());
    s.stop().await;
}

/// Reads a whole SSE body into (event, data) pairs.
fn parse_sse(body: &str) -> Vec<(String, Value)> {
    let mut events = Vec::new();
    for block in body.split("\n\n") {
        let mut name = None;
        let mut data = String::new();
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("event:") {
                name = Some(v.trim().to_owned());
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push_str(v.trim_start());
            }
        }
        if let Some(name) = name {
            events.push((
                name,
                serde_json::from_str(&data).expect("event data is JSON"),
            ));
        }
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_events_stream_sends_each_step_then_the_run() {
    let s = TestServer::start(None).await;
    let (run_id, _) = submit_async(&s, EXECUTED_REQUEST, true).await;
    let stream = format!("/api/v1/runs/{run_id}/events");
    let r = s.send(Method::GET, &stream, None).await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let body = tokio::time::timeout(Duration::from_mins(1), r.text())
        .await
        .expect("the stream ends when the run ends")
        .expect("body");
    let events = parse_sse(&body);
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["step", "step", "step", "step", "step", "step", "end"],
        "{body}"
    );
    let steps: Vec<&str> = events[..6]
        .iter()
        .map(|(_, d)| d["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ALL_STEPS);
    let end = &events[6].1;
    assert_eq!(end["run_id"], run_id.as_str());
    assert_eq!(end["status"], "succeeded");
    assert_steps_in_order(end);
    // An ended run's stream replays its steps and ends at once.
    let again = s
        .send(Method::GET, &stream, None)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(parse_sse(&again).len(), 7);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn run_errors_name_the_run() {
    let s = TestServer::start(None).await;
    for path in ["/api/v1/runs/run_nope", "/api/v1/runs/run_nope/events"] {
        let v = json_of(s.send(Method::GET, path, None).await, 404, path).await;
        assert!(
            v["error"]["message"].as_str().unwrap().contains("run_nope"),
            "{v}"
        );
    }
    let r = s.send(Method::GET, "/api/v1/runs?limit=0", None).await;
    assert_error(r, 422, "invalid_field", "limit=0").await;
    let blank = json!({"request": "  ", "wait": false});
    let r = s.post_json("/api/v1/runs", None, &blank).await;
    assert_error(r, 422, "invalid_field", "a blank request").await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tasks_history_has_its_run_decisions_and_who_approved() {
    let s = TestServer::start(Some(TOKENS)).await;
    let v = s.run(REVIEW_REQUEST, Some(token_for("operator"))).await;
    assert_eq!(v["status"], "review", "{v}");
    let run_id = v["run_id"]
        .as_str()
        .expect("a synchronous run is recorded too");
    let task_id = v["task"]["id"].as_str().unwrap().to_owned();
    let approve = format!("/api/v1/tasks/{task_id}/approve");
    let reason = json!({"reason": "fine"});
    let r = s
        .post_json(&approve, Some(token_for("reviewer")), &reason)
        .await;
    assert_eq!(r.status(), 200);
    let history = format!("/api/v1/tasks/{task_id}/history");
    let h = s.get_json(&history, Some(token_for("viewer"))).await;
    assert_eq!(h["task_id"], task_id.as_str());
    assert_eq!(h["task"]["status"], "executed");
    let runs = h["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["run_id"], run_id);
    assert_eq!(
        strings(&runs[0]["steps"], "step"),
        ALL_STEPS[..5],
        "up to the review"
    );
    let approvals = h["approvals"].as_array().unwrap();
    assert_eq!(approvals.len(), 1);
    assert_eq!(approvals[0]["decision"], "approve");
    assert_eq!(approvals[0]["user_id"], "reviewer#1");
    assert!(approvals[0]["reason"].as_str().unwrap().contains("fine"));
    let types: Vec<&str> = strings(&h["decisions"], "decision_type");
    assert!(types.len() >= 4, "{types:?}");
    assert!(
        types.contains(&"review") && types.contains(&"human_approval"),
        "{types:?}"
    );
    let unknown = "/api/v1/tasks/task_20000101_000000_000000/history";
    let r = s
        .send(Method::GET, unknown, Some(token_for("viewer")))
        .await;
    assert_error(r, 404, "not_found", unknown).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tasks_history_has_its_runs_past_the_newest_thousand() {
    let s = TestServer::start(None).await;
    let v = s.run(REVIEW_REQUEST, None).await;
    assert_eq!(v["status"], "review", "{v}");
    let run_id = v["run_id"].as_str().expect("run_id").to_owned();
    let task_id = v["task"]["id"].as_str().expect("task").to_owned();
    // 1,001 newer runs (of nobody's task or another one), written as the file store keeps
    // them: the task's run is past the newest 1,000 that any listing shows.
    let dir = s.dir.path().join(".tasks.json.runs");
    for i in 0..1_001u32 {
        let id = format!("run_29991231_000000_000000_{i:08x}");
        let run = json!({
            "run_id": id, "status": "succeeded", "request": format!("filler {i}"),
            "user_id": null, "task_id": if i % 2 == 0 { Value::Null } else { json!("task_29991231_000000_000001") },
            "created_at": "2999-12-31T00:00:00Z", "updated_at": "2999-12-31T00:00:00Z",
            "steps": [], "result": {"status": "blocked"}, "owner": null, "lease_until": null,
            "attempts": 1, "version": 2,
        });
        std::fs::write(dir.join(format!("{id}.json")), run.to_string()).expect("write a run");
    }
    let newest = s.get_json("/api/v1/runs?limit=1000", None).await;
    assert_eq!(newest["count"], 1000);
    assert!(
        newest["runs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["run_id"] != run_id.as_str()),
        "the task's run is not among the newest 1,000"
    );
    let h = s
        .get_json(&format!("/api/v1/tasks/{task_id}/history"), None)
        .await;
    let runs = h["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1, "{h}");
    assert_eq!(runs[0]["run_id"], run_id.as_str());
    assert_eq!(
        strings(&runs[0]["steps"], "step"),
        ALL_STEPS[..5],
        "up to the review"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_one_postgres_share_runs_and_decisions() {
    let Some(db) = TempDb::postgres().await else {
        return;
    };
    let env = [("TASK_STORE_URL", db.url.as_str())];
    let a = TestServer::start_with(None, &env).await;
    let b = TestServer::start_with(None, &env).await;
    // Submitted to A, carried out by either, visible from both.
    let mut submitted = Vec::new();
    for _ in 0..4 {
        submitted.push(submit_async(&a, EXECUTED_REQUEST, false).await.0);
    }
    for run_id in &submitted {
        let from_b = wait_for_end(&b, run_id).await;
        assert_eq!(from_b["status"], "succeeded", "{from_b}");
        assert_steps_in_order(&from_b);
        let from_a = a.get_json(&format!("/api/v1/runs/{run_id}"), None).await;
        assert_eq!(from_a, from_b, "both servers show the same run");
    }
    let listed = b.get_json("/api/v1/runs", None).await;
    assert_eq!(listed["count"], 4);
    // A synchronous run on B: its decisions are read from A.
    let v = b.run(REVIEW_REQUEST, None).await;
    assert_eq!(v["status"], "review", "{v}");
    let task_id = v["task"]["id"].as_str().unwrap();
    let decided_on_b: Vec<Value> = v["decisions"].as_array().unwrap().clone();
    assert!(decided_on_b.len() >= 4);
    let from_a = a
        .get_json(&format!("/api/v1/tasks/{task_id}/decisions"), None)
        .await;
    let ids_a: Vec<&str> = strings(&from_a["decisions"], "decision_id");
    let ids_b: Vec<&str> = decided_on_b
        .iter()
        .map(|d| d["decision_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids_a.len(), ids_b.len(), "A shows every decision B made");
    for id in &ids_b {
        assert!(
            ids_a.contains(id),
            "decision {id} made on B is visible on A"
        );
    }
    // A's own decision log file has none of them: the shared store is where they are read.
    let a_file =
        std::fs::read_to_string(a.dir.path().join("decision_logs.jsonl")).unwrap_or_default();
    assert!(!a_file.contains(ids_b[0]));
    let history = a
        .get_json(&format!("/api/v1/tasks/{task_id}/history"), None)
        .await;
    assert_eq!(history["runs"].as_array().unwrap().len(), 1);
    a.stop().await;
    b.stop().await;
}
