//! The conformance suite every backend passes (modelled on object_store's `integration.rs`):
//! each backend's test opens a store and calls [`run_all`]; two handles on the same data (two
//! processes or instances) are checked with [`contested_across_handles`].
//!
//! The functions panic with a message naming the backend and the broken expectation, as
//! tests do. They clear the store they are given.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::json;
use taskpilot_core::{CoreError, NewTask, Priority, Status, Task, TaskId, Timestamp, Transition};

use crate::{ListQuery, StoreError, TaskStore};

/// Runs every check in turn on an empty-able store.
pub async fn run_all(store: Arc<dyn TaskStore>) {
    create_get_and_validation(store.as_ref()).await;
    list_order_filter_limit_and_stats(store.as_ref()).await;
    every_allowed_and_forbidden_transition(store.as_ref()).await;
    delete_variants_and_prune(store.as_ref()).await;
    round_trip_of_every_field(store.as_ref()).await;
    scan_pages_in_id_order(store.as_ref()).await;
    parallel_creates_get_unique_ids(store.clone()).await;
    contested_transitions_have_one_winner(store.clone(), store.clone()).await;
    store.clear().await.expect("clear at the end");
}

/// Two handles on the same data (two processes, two instances) deciding the same tasks.
pub async fn contested_across_handles(a: Arc<dyn TaskStore>, b: Arc<dyn TaskStore>) {
    a.clear().await.expect("clear");
    contested_transitions_have_one_winner(a.clone(), b.clone()).await;
    let created = a
        .create(NewTask::new("seen by both", "low"))
        .await
        .expect("create on a");
    let seen = b.get(&created.id).await.expect("b sees what a created");
    assert_eq!(
        seen,
        created,
        "{}: the second handle sees the task as created",
        b.describe()
    );
    a.clear().await.expect("clear");
}

fn ctx(store: &dyn TaskStore) -> String {
    store.describe()
}

async fn reset(store: &dyn TaskStore) {
    store
        .clear()
        .await
        .unwrap_or_else(|e| panic!("{}: clear failed: {e}", ctx(store)));
}

async fn create_get_and_validation(store: &dyn TaskStore) {
    reset(store).await;
    let name = ctx(store);
    let task = store
        .create(NewTask::new("  Prepare the board deck  ", "HIGH").with_description("Q3 numbers"))
        .await
        .unwrap_or_else(|e| panic!("{name}: create failed: {e}"));
    assert_eq!(
        task.title, "Prepare the board deck",
        "{name}: title trimmed"
    );
    assert_eq!(
        task.priority,
        Priority::High,
        "{name}: priority lower-cased"
    );
    assert_eq!(
        task.status,
        Status::Pending,
        "{name}: new tasks are pending"
    );
    assert!(TaskId::parse(task.id.as_str()).is_ok(), "{name}: id format");
    let got = store
        .get(&task.id)
        .await
        .unwrap_or_else(|e| panic!("{name}: get failed: {e}"));
    assert_eq!(got, task, "{name}: get returns what create returned");

    for bad in [
        NewTask::new("", "low"),
        NewTask::new("x".repeat(501), "low"),
        NewTask::new("ok", "urgent"),
        NewTask::new("ok", "low").with_description("d".repeat(10_001)),
    ] {
        match store.create(bad).await {
            Err(StoreError::Invalid(CoreError::InvalidField { .. })) => {}
            other => panic!("{name}: invalid task accepted or wrong error: {other:?}"),
        }
    }
    assert_eq!(
        store.stats().await.expect("stats").total(),
        1,
        "{name}: nothing stored on bad input"
    );

    let missing = TaskId::parse("task_20000101_000000_000000").expect("id");
    assert!(
        matches!(store.get(&missing).await, Err(StoreError::NotFound { .. })),
        "{name}: unknown id is NotFound"
    );
    assert!(matches!(
        store
            .transition(&missing, &Transition::to(Status::Approved))
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.delete(&missing).await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn list_order_filter_limit_and_stats(store: &dyn TaskStore) {
    reset(store).await;
    let name = ctx(store);
    let mut created = Vec::new();
    for i in 0..12 {
        created.push(
            store
                .create(NewTask::new(format!("task {i}"), "medium"))
                .await
                .expect("create"),
        );
    }
    for task in &created[..3] {
        store
            .transition(&task.id, &Transition::to(Status::Review))
            .await
            .expect("to review");
    }
    store
        .transition(&created[3].id, &Transition::to(Status::Rejected))
        .await
        .expect("reject");

    let all = store.list(&ListQuery::default()).await.expect("list");
    let ids: Vec<_> = all.iter().map(|t| t.id.clone()).collect();
    let mut expected: Vec<_> = created.iter().map(|t| t.id.clone()).collect();
    expected.reverse();
    assert_eq!(ids, expected, "{name}: list is newest first");

    let review = store
        .list(&ListQuery {
            status: Some(Status::Review),
            limit: None,
        })
        .await
        .expect("list review");
    assert_eq!(review.len(), 3, "{name}: status filter");
    assert!(review.iter().all(|t| t.status == Status::Review));
    assert_eq!(
        review[0].id, created[2].id,
        "{name}: filtered list is newest first"
    );

    let limited = store
        .list(&ListQuery {
            status: None,
            limit: Some(5),
        })
        .await
        .expect("limit");
    assert_eq!(limited.len(), 5, "{name}: limit");
    assert_eq!(limited[0].id, created[11].id);

    let stats = store.stats().await.expect("stats");
    assert_eq!(stats.0.len(), 6, "{name}: every status present in stats");
    assert_eq!(stats.get(Status::Pending), 8);
    assert_eq!(stats.get(Status::Review), 3);
    assert_eq!(stats.get(Status::Rejected), 1);
    assert_eq!(stats.get(Status::Executed), 0);
}

async fn every_allowed_and_forbidden_transition(store: &dyn TaskStore) {
    let name = ctx(store);
    for from in Status::ALL {
        for to in Status::ALL {
            reset(store).await;
            let task = task_in(store, from).await;
            let result = store
                .transition(&task.id, &Transition::to(to).with_error("e"))
                .await;
            if from == to {
                let same =
                    result.unwrap_or_else(|e| panic!("{name}: {from}->{to} no-op failed: {e}"));
                assert_eq!(same, task, "{name}: same-status transition changes nothing");
            } else if from.can_move_to(to) {
                let moved = result.unwrap_or_else(|e| panic!("{name}: {from}->{to} failed: {e}"));
                assert_eq!(moved.status, to);
                let stored = store.get(&task.id).await.expect("get");
                assert_eq!(stored, moved, "{name}: {from}->{to} stored as returned");
                match to {
                    Status::Executed => assert!(stored.executed_at.is_some()),
                    Status::Approved | Status::Rejected | Status::Review => {
                        assert!(stored.reviewed_at.is_some())
                    }
                    Status::Failed => assert_eq!(stored.error.as_deref(), Some("e")),
                    Status::Pending => {}
                }
            } else {
                match result {
                    Err(StoreError::Invalid(CoreError::ForbiddenTransition {
                        from: f, ..
                    })) => {
                        assert_eq!(f, from)
                    }
                    other => panic!("{name}: forbidden {from}->{to} gave {other:?}"),
                }
                let stored = store.get(&task.id).await.expect("get");
                assert_eq!(stored, task, "{name}: a refused transition changes nothing");
            }
        }
    }
}

/// A task brought to `status` through allowed transitions.
async fn task_in(store: &dyn TaskStore, status: Status) -> Task {
    let task = store
        .create(NewTask::new(format!("to {status}"), "low"))
        .await
        .expect("create");
    let path: &[Status] = match status {
        Status::Pending => &[],
        Status::Review => &[Status::Review],
        Status::Approved => &[Status::Approved],
        Status::Rejected => &[Status::Rejected],
        Status::Executed => &[Status::Approved, Status::Executed],
        Status::Failed => &[Status::Approved, Status::Failed],
    };
    let mut task = task;
    for step in path {
        task = store
            .transition(&task.id, &Transition::to(*step))
            .await
            .expect("step");
    }
    task
}

async fn delete_variants_and_prune(store: &dyn TaskStore) {
    reset(store).await;
    let name = ctx(store);
    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(
            store
                .create(NewTask::new(format!("d{i}"), "low"))
                .await
                .expect("create")
                .id,
        );
    }
    for id in &ids[..4] {
        store
            .transition(id, &Transition::to(Status::Rejected))
            .await
            .expect("reject");
    }
    store.delete(&ids[9]).await.expect("delete one");
    assert!(
        matches!(store.get(&ids[9]).await, Err(StoreError::NotFound { .. })),
        "{name}: deleted"
    );
    assert_eq!(
        store
            .delete_status(Status::Rejected)
            .await
            .expect("delete status"),
        4
    );
    assert_eq!(store.stats().await.expect("stats").total(), 5);
    assert_eq!(
        store.prune(2).await.expect("prune"),
        3,
        "{name}: prune deletes the oldest"
    );
    let left: Vec<_> = store
        .list(&ListQuery::default())
        .await
        .expect("list")
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(
        left,
        vec![ids[8].clone(), ids[7].clone()],
        "{name}: prune keeps the newest"
    );
    assert_eq!(store.prune(5).await.expect("prune"), 0);
    assert_eq!(store.clear().await.expect("clear"), 2);
    assert_eq!(store.stats().await.expect("stats").total(), 0);
}

async fn round_trip_of_every_field(store: &dyn TaskStore) {
    reset(store).await;
    let name = ctx(store);
    let long_unicode =
        "Prüfung 検査 ✓ — «quotes» \"double\" 'single' \\ back\u{00a0}slash ".repeat(120);
    let mut full: Task = serde_json::from_value(json!({
        "id": "task_20251220_100404_305973",
        "title": "Ünïcödé title with emoji 🚀 and <script>alert(1)</script>",
        "priority": "high",
        "description": long_unicode.chars().take(10_000).collect::<String>(),
        "status": "executed",
        "created_at": "2025-12-20T10:04:04.305998",
        "reviewed_at": "2025-12-20T10:29:14.791006",
        "executed_at": "2026-01-02T03:04:05.123456Z",
        "reviewer_response": "Human approved: Agent flagged for human review",
        "error": "line one\nline two",
    }))
    .expect("task");
    full.extra.insert("version".into(), json!(7));
    let nulls: Task = serde_json::from_value(json!({
        "id": "task_20251220_102120_572200",
        "title": "Nulls",
        "priority": "medium",
        "description": "",
        "status": "rejected",
        "created_at": "2025-12-20T10:21:20.572297",
        "reviewed_at": null,
        "executed_at": null,
        "reviewer_response": null,
        "error": null,
    }))
    .expect("task");
    let written = store
        .put_many(vec![full.clone(), nulls.clone()])
        .await
        .expect("put_many");
    assert_eq!(written, 2);
    assert_eq!(
        store.get(&full.id).await.expect("get"),
        full,
        "{name}: every field round-trips"
    );
    assert_eq!(
        store.get(&nulls.id).await.expect("get"),
        nulls,
        "{name}: nulls round-trip"
    );
    assert_eq!(
        store
            .put_many(vec![full.clone(), nulls.clone()])
            .await
            .expect("again"),
        0,
        "{name}: putting identical tasks again changes nothing"
    );
    let mut changed = nulls.clone();
    changed.title = "Changed".into();
    assert_eq!(
        store
            .put_many(vec![changed.clone()])
            .await
            .expect("replace"),
        1
    );
    assert_eq!(
        store.get(&nulls.id).await.expect("get"),
        changed,
        "{name}: put replaces"
    );
    // A later create never collides with imported ids: it gets an id of its own, now.
    let before = Timestamp::now();
    let fresh = store
        .create(NewTask::new("after import", "low"))
        .await
        .expect("create");
    let after = Timestamp::now();
    assert!(
        fresh.id > full.id && fresh.id > nulls.id,
        "{name}: {} is newer than the imported ids",
        fresh.id
    );
    assert!(
        before.naive_local() <= fresh.created_at.naive_local()
            && fresh.created_at.naive_local() <= after.naive_local(),
        "{name}: created_at {} is the time of the create",
        fresh.created_at
    );
}

async fn scan_pages_in_id_order(store: &dyn TaskStore) {
    reset(store).await;
    let name = ctx(store);
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(
            store
                .create(NewTask::new(format!("s{i}"), "low"))
                .await
                .expect("create")
                .id,
        );
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.scan(after.as_ref(), 3).await.expect("scan");
        if page.is_empty() {
            break;
        }
        after = page.last().map(|t| t.id.clone());
        seen.extend(page.into_iter().map(|t| t.id));
    }
    assert_eq!(
        seen, ids,
        "{name}: scan pages cover every task once, oldest first"
    );
}

async fn parallel_creates_get_unique_ids(store: Arc<dyn TaskStore>) {
    reset(store.as_ref()).await;
    let name = ctx(store.as_ref());
    let mut handles = Vec::new();
    for worker in 0..8 {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..25 {
                let task = store
                    .create(NewTask::new(format!("w{worker} #{i}"), "low"))
                    .await
                    .expect("parallel create");
                ids.push(task.id);
            }
            ids
        }));
    }
    let mut all = HashSet::new();
    for handle in handles {
        for id in handle.await.expect("join") {
            assert!(all.insert(id.clone()), "{name}: duplicate id {id}");
        }
    }
    assert_eq!(all.len(), 200);
    assert_eq!(
        store.stats().await.expect("stats").total(),
        200,
        "{name}: no create lost"
    );
}

async fn contested_transitions_have_one_winner(a: Arc<dyn TaskStore>, b: Arc<dyn TaskStore>) {
    let name = ctx(a.as_ref());
    for round in 0..10 {
        let task = a
            .create(NewTask::new(format!("contested {round}"), "high"))
            .await
            .expect("create");
        a.transition(&task.id, &Transition::to(Status::Review))
            .await
            .expect("review");
        let human = [Status::Pending, Status::Review];
        let approve = Transition::to(Status::Approved)
            .expecting(&human)
            .with_response("Human approved: a");
        let reject = Transition::to(Status::Rejected)
            .expecting(&human)
            .with_response("Human rejected: b");
        let (id_a, id_b) = (task.id.clone(), task.id.clone());
        let (sa, sb) = (a.clone(), b.clone());
        let first = tokio::spawn(async move { sa.transition(&id_a, &approve).await });
        let second = tokio::spawn(async move { sb.transition(&id_b, &reject).await });
        let results = [first.await.expect("join"), second.await.expect("join")];
        let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(
            winners.len(),
            1,
            "{name}: exactly one of two contested decisions wins: {results:?}"
        );
        let loser = results
            .iter()
            .find_map(|r| r.as_ref().err())
            .expect("a loser");
        assert!(
            matches!(
                loser,
                StoreError::Invalid(CoreError::UnexpectedStatus { .. })
            ),
            "{name}: the loser is told the status it found: {loser}"
        );
        let stored = a.get(&task.id).await.expect("get");
        assert_eq!(
            &stored, winners[0],
            "{name}: the winner's decision is what is stored"
        );
    }
}
