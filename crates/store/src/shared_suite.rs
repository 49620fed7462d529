//! The shared-state suite: what every backend's decision log and runs must do, run against
//! two handles on one store (two "replicas"). Backend tests call [`run_all`]: [`decisions`],
//! [`runs`] and [`runs_copied_and_by_task`] (the file store calls the last two alone: its
//! decisions stay in `DECISION_LOGS_FILE`).
//!
//! Panics on the first broken rule, with a message naming it.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use crate::TaskStore;
use crate::shared::{DecisionEntry, RunBook, RunError, RunRecord, RunState};

fn entry(id: &str, index: usize, request: Option<&str>, task: Option<&str>) -> DecisionEntry {
    let at = chrono::Utc::now();
    DecisionEntry {
        decision_id: id.to_owned(),
        sort_key: DecisionEntry::sort_key_for(&at, index),
        request_id: request.map(str::to_owned),
        task_id: task.map(str::to_owned),
        json: format!(r#"{{"decision_id":"{id}"}}"#),
    }
}

/// [`decisions`], [`runs`] and [`runs_copied_and_by_task`] (with `newer` runs) in turn.
pub async fn run_all(a: Arc<dyn TaskStore>, b: Arc<dyn TaskStore>, newer: usize) {
    decisions(a.clone(), b.clone()).await;
    runs(a.clone(), b.clone()).await;
    runs_copied_and_by_task(a, b, newer).await;
}

/// A decision written through `a` is read through `b`; a task's decisions include its
/// request's; writing twice keeps one copy.
pub async fn decisions(a: Arc<dyn TaskStore>, b: Arc<dyn TaskStore>) {
    let wa = a.decision_records().expect("the backend keeps decisions");
    let rb = b.decision_records().expect("the backend keeps decisions");
    let unique = format!("{:08x}", rand::random::<u32>());
    let task = format!("task_20260101_000000_{}", &unique[..6]);
    let req = format!("req_{unique}");
    let batch = vec![
        entry(&format!("dec_{unique}_1"), 0, Some(&req), None),
        entry(&format!("dec_{unique}_2"), 1, Some(&req), Some(&task)),
        entry(&format!("dec_{unique}_3"), 2, Some("req_other"), None),
    ];
    wa.append_decisions(&batch).await.expect("append through a");
    let found = rb.decisions_for_task(&task).await.expect("read through b");
    let ids: Vec<&str> = found.iter().map(|e| e.decision_id.as_str()).collect();
    assert_eq!(
        ids,
        vec![batch[0].decision_id.as_str(), batch[1].decision_id.as_str()],
        "a task's decisions are its own and its request's, oldest first"
    );
    assert_eq!(found[1], batch[1], "an entry reads back exactly as written");
    // Restoring twice keeps one copy.
    rb.append_decisions(&batch)
        .await
        .expect("append again through b");
    let all = wa.all_decisions().await.expect("read all through a");
    assert_eq!(
        all.len(),
        3,
        "appending the same decisions twice keeps one copy"
    );
    let distinct: HashSet<&str> = all.iter().map(|e| e.decision_id.as_str()).collect();
    assert_eq!(distinct.len(), 3);
    assert_eq!(all[2].decision_id, batch[2].decision_id, "oldest first");
    assert!(
        rb.decisions_for_task("task_20000101_000000_000000")
            .await
            .expect("read an unknown task")
            .is_empty()
    );
}

/// Runs: submitted through one handle, seen and claimed through the other; one claimer per
/// run; steps in order; the lease; the end.
pub async fn runs(a: Arc<dyn TaskStore>, b: Arc<dyn TaskStore>) {
    let (ba, bb) = (
        RunBook::of(a).expect("the backend keeps runs"),
        RunBook::of(b).expect("the backend keeps runs"),
    );
    let lease = Duration::from_secs(30);
    let run = ba
        .submit("notify the team", Some("alice".into()))
        .await
        .expect("submit through a");
    let seen = bb.get(&run.run_id).await.expect("read through b");
    assert_eq!(seen.status, RunState::Queued);
    assert_eq!(seen.request, "notify the team");
    assert_eq!(seen.user_id.as_deref(), Some("alice"));
    assert!(matches!(
        bb.get("run_nope").await,
        Err(RunError::NotFound { .. })
    ));

    let claimed = bb
        .claim_next("worker-b", lease)
        .await
        .expect("claim through b")
        .expect("a queued run is claimable");
    assert_eq!(claimed.run_id, run.run_id);
    assert_eq!(claimed.status, RunState::Running);
    assert_eq!(claimed.owner.as_deref(), Some("worker-b"));
    assert_eq!(claimed.attempts, 1);
    assert!(
        ba.claim(&run.run_id, "worker-a", lease)
            .await
            .expect("claim")
            .is_none(),
        "a run held on a live lease cannot be claimed"
    );
    for (i, step) in ["guardrails", "planner", "task_created"].iter().enumerate() {
        let detail = if *step == "task_created" {
            serde_json::json!({"task_id": "task_20260101_000000_000001"})
        } else {
            serde_json::json!({"i": i})
        };
        bb.append_step(&run.run_id, "worker-b", lease, step, detail)
            .await
            .expect("append a step");
    }
    assert!(
        matches!(
            ba.append_step(
                &run.run_id,
                "worker-a",
                lease,
                "planner",
                serde_json::json!({})
            )
            .await,
            Err(RunError::Lost { .. })
        ),
        "only the owner appends"
    );
    let mid = ba.get(&run.run_id).await.expect("read through a");
    let steps: Vec<(u32, &str)> = mid.steps.iter().map(|s| (s.seq, s.step.as_str())).collect();
    assert_eq!(
        steps,
        vec![(1, "guardrails"), (2, "planner"), (3, "task_created")]
    );
    assert_eq!(mid.task_id.as_deref(), Some("task_20260101_000000_000001"));
    let done = bb
        .finish(
            &run.run_id,
            "worker-b",
            RunState::Succeeded,
            None,
            serde_json::json!({"status": "review"}),
        )
        .await
        .expect("finish");
    assert_eq!(done.status, RunState::Succeeded);
    let ended = ba.get(&run.run_id).await.expect("read through a");
    assert_eq!(ended.status, RunState::Succeeded);
    assert_eq!(ended.result, Some(serde_json::json!({"status": "review"})));
    assert!(
        ba.claim_next("worker-a", lease)
            .await
            .expect("claim")
            .is_none(),
        "an ended run is not claimed again"
    );

    // A dead worker's run is taken over once its lease expired; the dead worker lost it.
    let orphan = ba.submit("second", None).await.expect("submit");
    let short = Duration::from_millis(50);
    let first = ba
        .claim_next("worker-a", short)
        .await
        .expect("claim")
        .expect("claimable");
    assert_eq!(first.run_id, orphan.run_id);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let taken = bb
        .claim_next("worker-b", lease)
        .await
        .expect("claim")
        .expect("an expired lease is taken over");
    assert_eq!(taken.run_id, orphan.run_id);
    assert_eq!(taken.attempts, 2);
    assert_eq!(taken.owner.as_deref(), Some("worker-b"));
    assert!(matches!(
        ba.renew(&orphan.run_id, "worker-a", lease).await,
        Err(RunError::Lost { .. })
    ));
    bb.finish(
        &orphan.run_id,
        "worker-b",
        RunState::Failed,
        None,
        serde_json::json!({"error": "x"}),
    )
    .await
    .expect("finish");

    // Many runs, two handles claiming at once: each run is claimed exactly once.
    let mut submitted = HashSet::new();
    for i in 0..12 {
        let run = ba.submit(&format!("race {i}"), None).await.expect("submit");
        submitted.insert(run.run_id);
    }
    let claim_all = |book: RunBook, owner: &'static str| async move {
        let mut mine = Vec::new();
        while let Some(run) = book.claim_next(owner, lease).await.expect("claim") {
            mine.push(run.run_id);
        }
        mine
    };
    let (left, right) = tokio::join!(
        tokio::spawn(claim_all(ba.clone(), "worker-a")),
        tokio::spawn(claim_all(bb.clone(), "worker-b"))
    );
    let (left, right) = (left.expect("join"), right.expect("join"));
    assert_eq!(
        left.len() + right.len(),
        12,
        "every run claimed once: {left:?} {right:?}"
    );
    let claimed: HashSet<String> = left.into_iter().chain(right).collect();
    assert_eq!(claimed, submitted);

    let listed = bb.list(3).await.expect("list");
    assert_eq!(listed.len(), 3);
    assert!(
        listed[0].run_id > listed[1].run_id && listed[1].run_id > listed[2].run_id,
        "newest first"
    );
}

/// A run as a restore brings it: an id made at `at`, ended, with steps and a task.
fn copied_run(at: chrono::DateTime<chrono::Utc>, task_id: Option<&str>, n: u32) -> RunRecord {
    let mut run = RunRecord::queued(format!("copied {n}"), Some("restore".into()));
    run.run_id = crate::shared::new_run_id(&at);
    run.created_at = at;
    run.updated_at = at;
    run.push_step("guardrails", serde_json::json!({"allowed": true, "n": n}));
    if let Some(task_id) = task_id {
        run.push_step("task_created", serde_json::json!({"task_id": task_id}));
        run.task_id = Some(task_id.to_owned());
    }
    run.status = RunState::Succeeded;
    run.result = Some(serde_json::json!({"status": "review", "latency_ms": 12.5 + f64::from(n)}));
    run.attempts = 1;
    run.version = 7;
    run
}

/// What `store backup/restore/migrate` and a task's history need: a run written with
/// `put_run` through `a` reads back exactly through `b` (a second put replaces it, keeping one
/// copy; an open one is claimable); `scan_runs` pages through every run oldest first; and
/// `runs_for_task` finds a task's runs however many newer runs there are (`newer` of them,
/// more than any listing limit the caller has).
pub async fn runs_copied_and_by_task(a: Arc<dyn TaskStore>, b: Arc<dyn TaskStore>, newer: usize) {
    let wa = a.run_records().expect("the backend keeps runs");
    let rb = b.run_records().expect("the backend keeps runs");
    let unique = format!("{:06}", rand::random::<u32>() % 1_000_000);
    let task = format!("task_20260101_000000_{unique}");
    let other_task = format!("task_20260101_000001_{unique}");
    // Old enough to sort before every run the other suites made.
    let start = chrono::DateTime::parse_from_rfc3339("2001-01-01T00:00:00Z")
        .expect("a fixed time")
        .with_timezone(&chrono::Utc)
        + chrono::TimeDelta::seconds(i64::from(rand::random::<u16>()));
    let mine = copied_run(start, Some(&task), 0);
    wa.put_run(&mine).await.expect("put a run through a");
    assert_eq!(
        rb.load_run(&mine.run_id).await.expect("read through b"),
        Some(mine.clone()),
        "a copied run reads back exactly"
    );
    let mut changed = mine.clone();
    changed.push_step("reviewer", serde_json::json!({"verdict": "approve"}));
    changed.version = 3; // lower than the stored one: a copy replaces whatever is there
    rb.put_run(&changed).await.expect("put again through b");
    assert_eq!(
        wa.load_run(&mine.run_id).await.expect("read"),
        Some(changed.clone()),
        "the second put replaced the first"
    );

    // A queued run copied in is open: a worker takes it.
    let mut queued = RunRecord::queued("copied while queued", None);
    queued.run_id = crate::shared::new_run_id(&(start + chrono::TimeDelta::milliseconds(1)));
    wa.put_run(&queued).await.expect("put a queued run");
    assert!(
        rb.open_run_ids()
            .await
            .expect("open runs")
            .contains(&queued.run_id),
        "a queued run put is open"
    );
    let mut done = queued.clone();
    done.status = RunState::Failed;
    done.result = Some(serde_json::json!({"error": "copied"}));
    rb.put_run(&done).await.expect("put it ended");
    assert!(
        !wa.open_run_ids()
            .await
            .expect("open runs")
            .contains(&queued.run_id),
        "an ended run put is no longer open"
    );

    // `newer` runs after it, one of them the task's too, the others another task's or none.
    let mut expected_ids = vec![mine.run_id.clone()];
    let mut all_ids = vec![mine.run_id.clone(), queued.run_id.clone()];
    for i in 0..newer {
        let at = start + chrono::TimeDelta::seconds(1) + chrono::TimeDelta::milliseconds(i as i64);
        let which = if i == newer / 2 {
            Some(task.as_str())
        } else if i % 2 == 0 {
            Some(other_task.as_str())
        } else {
            None
        };
        let run = copied_run(at, which, i as u32 + 1);
        if which == Some(task.as_str()) {
            expected_ids.push(run.run_id.clone());
        }
        all_ids.push(run.run_id.clone());
        wa.put_run(&run).await.expect("put a newer run");
    }
    let found = rb.runs_for_task(&task).await.expect("a task's runs");
    let found_ids: Vec<&str> = found.iter().map(|r| r.run_id.as_str()).collect();
    assert_eq!(
        found_ids, expected_ids,
        "every run of the task, oldest first, past {newer} newer runs"
    );
    assert_eq!(found[0], changed, "the task's run reads back exactly");
    assert!(
        rb.runs_for_task("task_20000101_000000_000000")
            .await
            .expect("an unknown task")
            .is_empty()
    );

    // Paging through every run, oldest first; these runs come before any other suite's.
    let page = 7;
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let got = wa
            .scan_runs(after.as_deref(), page)
            .await
            .expect("scan runs");
        assert!(got.len() <= page);
        seen.extend(got.iter().map(|r| r.run_id.clone()));
        match got.last() {
            Some(last) if got.len() == page => after = Some(last.run_id.clone()),
            _ => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted, "oldest first, each run once");
    let ours: Vec<&String> = seen.iter().filter(|id| all_ids.contains(id)).collect();
    assert_eq!(ours.len(), all_ids.len(), "every run is scanned");
    assert_eq!(
        &seen[..all_ids.len()],
        &all_ids[..],
        "the copied runs, oldest, first"
    );
}
