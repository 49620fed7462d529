//! The conformance suite every backend passes (modelled on `object_store`'s `integration.rs`):
//! each backend's test opens a store (with [`open`] where a URL is enough) and calls
//! [`run_all`]; two handles on the same data (two processes or instances) are checked with
//! [`contested_across_handles`], three with [`several_handles`] (or its parts
//! [`parallel_creates_across_handles`] and [`claims_have_one_executor`]); the reference
//! fixture goes in and back out with [`fixture_round_trip`]. A backend's test file only opens
//! its connections and calls these, plus what is specific to the backend (for which
//! [`task_in`] brings a task to a status and [`assert_clear_error`] checks an error message).
//!
//! The functions panic with a message naming the backend and the broken expectation, as
//! tests do. They clear the store they are given.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use taskpilot_config::{Secret, StoreLocation};
use taskpilot_core::{CoreError, NewTask, Priority, Status, Task, TaskId, Timestamp, Transition};

use crate::{FileStore, ListQuery, StoreError, TaskStore, claim, fixture};

/// The store at `url` (any backend `taskpilot_store::open` takes by URL); panics naming the
/// URL when it cannot be opened.
pub async fn open(url: &str) -> Arc<dyn TaskStore> {
    crate::open(&StoreLocation::Url(Secret::new(url)))
        .await
        .unwrap_or_else(|e| panic!("open {url}: {e}"))
}

/// Runs every check in turn on an empty-able store, and says how long they took.
pub async fn run_all(store: Arc<dyn TaskStore>) {
    let started = std::time::Instant::now();
    create_get_and_validation(store.as_ref()).await;
    list_order_filter_limit_and_stats(store.as_ref()).await;
    every_allowed_and_forbidden_transition(store.as_ref()).await;
    delete_variants_and_prune(store.as_ref()).await;
    round_trip_of_every_field(store.as_ref()).await;
    scan_pages_in_id_order(store.as_ref()).await;
    parallel_creates_get_unique_ids(store.clone()).await;
    contested_transitions_have_one_winner(store.clone(), store.clone()).await;
    claims_hold_expire_and_are_dropped(store.as_ref()).await;
    store.clear().await.expect("clear at the end");
    eprintln!(
        "{} conformance suite: {:?}",
        ctx(store.as_ref()),
        started.elapsed()
    );
}

/// Three handles on the same data: the first two contest decisions, create `per_writer` tasks
/// each at once when given (see [`parallel_creates_across_handles`]), and all three execute
/// `claimed` approved tasks (see [`claims_have_one_executor`]).
pub async fn several_handles(
    handles: [Arc<dyn TaskStore>; 3],
    per_writer: Option<usize>,
    claimed: usize,
) {
    contested_across_handles(handles[0].clone(), handles[1].clone()).await;
    if let Some(per_writer) = per_writer {
        parallel_creates_across_handles(&handles[..2], per_writer).await;
    }
    claims_have_one_executor(&handles, claimed).await;
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
    let created = create_numbered(store, "task ", "medium", 12).await;
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
            let task = task_in(store, NewTask::new(format!("to {from}"), "low"), from).await;
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
                        assert!(stored.reviewed_at.is_some());
                    }
                    Status::Failed => assert_eq!(stored.error.as_deref(), Some("e")),
                    Status::Pending => {}
                }
            } else {
                match result {
                    Err(StoreError::Invalid(CoreError::ForbiddenTransition {
                        from: f, ..
                    })) => {
                        assert_eq!(f, from);
                    }
                    other => panic!("{name}: forbidden {from}->{to} gave {other:?}"),
                }
                let stored = store.get(&task.id).await.expect("get");
                assert_eq!(stored, task, "{name}: a refused transition changes nothing");
            }
        }
    }
}

/// `n` tasks titled `<title><i>` of `priority`, created one after the other.
async fn create_numbered(
    store: &dyn TaskStore,
    title: &str,
    priority: &str,
    n: usize,
) -> Vec<Task> {
    let mut created = Vec::new();
    for i in 0..n {
        let new = NewTask::new(format!("{title}{i}"), priority);
        created.push(
            store
                .create(new)
                .await
                .unwrap_or_else(|e| panic!("{}: create failed: {e}", ctx(store))),
        );
    }
    created
}

/// The ids of `n` low-priority tasks made by [`create_numbered`].
async fn numbered_ids(store: &dyn TaskStore, title: &str, n: usize) -> Vec<TaskId> {
    let created = create_numbered(store, title, "low", n).await;
    created.into_iter().map(|t| t.id).collect()
}

/// `new` created and brought to `status` through allowed transitions.
pub async fn task_in(store: &dyn TaskStore, new: NewTask, status: Status) -> Task {
    let task = store
        .create(new)
        .await
        .unwrap_or_else(|e| panic!("{}: create failed: {e}", ctx(store)));
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
            .unwrap_or_else(|e| panic!("{}: {} to {step} failed: {e}", ctx(store), task.id));
    }
    task
}

async fn delete_variants_and_prune(store: &dyn TaskStore) {
    reset(store).await;
    let name = ctx(store);
    let ids = numbered_ids(store, "d", 10).await;
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
    let ids = numbered_ids(store, "s", 7).await;
    let seen: Vec<TaskId> = read_all(store, 3).await.into_iter().map(|t| t.id).collect();
    assert_eq!(
        seen, ids,
        "{name}: scan pages cover every task once, oldest first"
    );
}

async fn parallel_creates_get_unique_ids(store: Arc<dyn TaskStore>) {
    reset(store.as_ref()).await;
    let name = ctx(store.as_ref());
    let writers = (0..8).map(|worker| (format!("w{worker}"), store.clone()));
    let all = create_at_once(&name, writers, 25).await;
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

/// Every task of a store, oldest first, read `page` tasks at a time with `scan` (as `store
/// migrate` reads, 500 at a time).
pub async fn read_all(store: &dyn TaskStore, page: usize) -> Vec<Task> {
    let mut all: Vec<Task> = Vec::new();
    loop {
        let page = store
            .scan(all.last().map(|t| &t.id), page)
            .await
            .unwrap_or_else(|e| panic!("{}: scan failed: {e}", ctx(store)));
        if page.is_empty() {
            return all;
        }
        all.extend(page);
    }
}

/// Copies `tasks` into `store` page by page (as `store migrate` does); returns how many were
/// written.
pub async fn copy_into(store: &dyn TaskStore, tasks: &[Task]) -> usize {
    let mut written = 0;
    for page in tasks.chunks(500) {
        written += store
            .put_many(page.to_vec())
            .await
            .unwrap_or_else(|e| panic!("{}: put_many failed: {e}", ctx(store)));
    }
    written
}

/// Each of `writers` (a name and a handle) creates `per_writer` tasks at the same time as the
/// others; every id is new. Returns the ids.
async fn create_at_once(
    name: &str,
    writers: impl Iterator<Item = (String, Arc<dyn TaskStore>)>,
    per_writer: usize,
) -> HashSet<TaskId> {
    let mut jobs = Vec::new();
    for (writer, store) in writers {
        jobs.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..per_writer {
                let task = store
                    .create(NewTask::new(format!("{writer} #{i}"), "low"))
                    .await
                    .unwrap_or_else(|e| panic!("{writer}: parallel create failed: {e}"));
                ids.push(task.id);
            }
            ids
        }));
    }
    let mut all = HashSet::new();
    for job in jobs {
        for id in job.await.expect("join") {
            assert!(all.insert(id.clone()), "{name}: duplicate id {id}");
        }
    }
    all
}

/// Two writers per handle create `per_writer` tasks each at once (ids collide in the same
/// microsecond across instances), then the handles approve every task from both ends: no id
/// is lost or duplicated, and every task is decided once.
pub async fn parallel_creates_across_handles(handles: &[Arc<dyn TaskStore>], per_writer: usize) {
    let first = handles.first().expect("at least one handle").clone();
    let name = ctx(first.as_ref());
    first.clear().await.expect("clear");
    let writers = handles.iter().chain(handles).cloned().enumerate();
    let all = create_at_once(
        &name,
        writers.map(|(n, s)| (format!("h{n}"), s)),
        per_writer,
    )
    .await;
    let expected = per_writer * handles.len() * 2;
    assert_eq!(all.len(), expected, "{name}: every create got an id");
    let last = handles.last().expect("a handle").clone();
    assert_eq!(
        last.stats().await.expect("stats").get(Status::Pending),
        expected
    );
    let approve = Transition::to(Status::Approved).expecting(&[Status::Pending]);
    let mut deciders = Vec::new();
    for (n, store) in handles.iter().cloned().enumerate() {
        let mut ids: Vec<TaskId> = all.iter().cloned().collect();
        ids.sort();
        if n % 2 == 1 {
            ids.reverse();
        }
        let approve = approve.clone();
        deciders.push(tokio::spawn(async move {
            let mut won = 0;
            for id in ids {
                won += usize::from(store.transition(&id, &approve).await.is_ok());
            }
            won
        }));
    }
    let mut wins = 0;
    for decider in deciders {
        wins += decider.await.expect("join");
    }
    assert_eq!(wins, expected, "{name}: each task approved exactly once");
    assert_eq!(
        first.stats().await.expect("stats").get(Status::Approved),
        expected
    );
    let report = first.check().await.expect("check");
    assert!(report.problems.is_empty(), "{name}: {:?}", report.problems);
    first.clear().await.expect("clear");
}

/// The reference fixture copied into `target` (twice: the second writes nothing), read back
/// equal, counted, checked, and copied out into a file equal to the original as JSON.
pub async fn fixture_round_trip(target: Arc<dyn TaskStore>) {
    let name = ctx(target.as_ref());
    let fixture = fixture::reference_fixture();
    let dir = std::env::temp_dir().join(format!(
        "taskpilot-fixture-round-trip-{}-{:08x}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).expect("create a scratch directory");
    std::fs::copy(&fixture, dir.join("source.json")).expect("copy the fixture");
    let source = FileStore::open(dir.join("source.json"))
        .await
        .expect("open the fixture");
    let tasks = read_all(&source, 500).await;
    assert_eq!(tasks.len(), 3689, "the fixture's size");

    target.clear().await.expect("clear");
    let started = std::time::Instant::now();
    assert_eq!(
        copy_into(target.as_ref(), &tasks).await,
        3689,
        "{name}: all written"
    );
    let into = started.elapsed();
    assert_eq!(
        copy_into(target.as_ref(), &tasks).await,
        0,
        "{name}: a second copy changes nothing"
    );
    let started = std::time::Instant::now();
    let stored = read_all(target.as_ref(), 500).await;
    let read = started.elapsed();
    assert_eq!(stored, tasks, "{name}: every task stored as it was");
    let stats = target.stats().await.expect("stats");
    for (status, count) in fixture::REFERENCE_COUNTS {
        let status: Status = status.parse().expect("a status");
        assert_eq!(stats.get(status), count, "{name}: {status} tasks");
    }
    let report = target.check().await.expect("check");
    assert_eq!(report.tasks, 3689, "{name}: check counts every task");
    assert!(report.problems.is_empty(), "{name}: {:?}", report.problems);

    let back = FileStore::open(dir.join("back.json")).await.expect("open");
    assert_eq!(copy_into(&back, &stored).await, 3689);
    back.compact().await.expect("compact");
    drop((back, source));
    let original: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&fixture).expect("read")).expect("json");
    let returned: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("back.json")).expect("read")).expect("json");
    assert_eq!(
        returned, original,
        "{name}: the fixture comes back equal as JSON"
    );
    eprintln!("fixture via {name}: 3689 tasks written in {into:?}, read back in {read:?}");
    target.clear().await.expect("clear");
    let _ = std::fs::remove_dir_all(&dir);
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
}

/// An error message names each of `shown` (a URL with its password hidden, a bucket, an
/// endpoint), never the password or key `secret`, and gives the `hint`.
pub fn assert_clear_error(message: &str, shown: &[&str], secret: &str, hint: &str) {
    for shown in shown {
        assert!(
            message.contains(shown),
            "the error names {shown}: {message}"
        );
    }
    assert!(
        !message.contains(secret),
        "the secret never appears: {message}"
    );
    assert!(message.contains(hint), "the error says `{hint}`: {message}");
}

/// One handle: a claim is taken with the approval, refused to another worker while it lives,
/// renewed by its owner, taken over once it expired, required to finish, and dropped when the
/// task leaves `approved`.
async fn claims_hold_expire_and_are_dropped(store: &dyn TaskStore) {
    reset(store).await;
    let name = ctx(store);
    let task = task_in(store, NewTask::new("to review", "low"), Status::Review).await;
    let approve = Transition::to(Status::Approved)
        .expecting(&[Status::Review])
        .claiming("w1", crate::lease_end(Duration::from_mins(1)));
    let approved = store.transition(&task.id, &approve).await.expect("approve");
    let first = approved.claim().expect("the approval took the claim");
    assert_eq!(first.owner, "w1", "{name}: the approver holds the claim");
    assert_eq!(
        approved.status,
        Status::Approved,
        "{name}: status unchanged by a claim"
    );
    let lease = Duration::from_mins(1);
    assert!(
        claim(store, &task.id, "w2", lease)
            .await
            .expect("claim")
            .is_none(),
        "{name}: a live claim refuses another worker"
    );
    let renewed = claim(store, &task.id, "w1", lease)
        .await
        .expect("claim")
        .expect("the owner renews");
    assert_eq!(renewed.claim().map(|c| c.key), Some(first.key.clone()));
    assert_eq!(
        store
            .get(&task.id)
            .await
            .expect("get")
            .claim()
            .map(|c| c.owner),
        Some("w1".to_owned())
    );

    // An expired claim is taken over, with the same idempotency key (the same approval).
    let expire = Transition::to(Status::Approved)
        .expecting(&[Status::Approved])
        .claiming("w1", crate::lease_end(Duration::ZERO));
    store
        .transition(&task.id, &expire)
        .await
        .expect("shorten the lease");
    let taken = claim(store, &task.id, "w2", lease)
        .await
        .expect("claim")
        .expect("an expired claim is taken over");
    let second = taken.claim().expect("claimed");
    assert_eq!(second.owner, "w2", "{name}: the new owner");
    assert_eq!(second.key, first.key, "{name}: a takeover keeps the key");

    let finish = Transition::to(Status::Executed)
        .expecting(&[Status::Approved])
        .held_by("w1");
    match store.transition(&task.id, &finish).await {
        Err(StoreError::Invalid(CoreError::ClaimLost { .. })) => {}
        other => panic!("{name}: the old owner cannot finish: {other:?}"),
    }
    let done = store
        .transition(
            &task.id,
            &Transition::to(Status::Executed)
                .expecting(&[Status::Approved])
                .held_by("w2"),
        )
        .await
        .expect("the holder finishes");
    assert_eq!(done.status, Status::Executed);
    assert!(
        done.claim().is_none(),
        "{name}: the claim goes with the approval"
    );
    assert_eq!(store.get(&task.id).await.expect("get"), done);
    assert!(
        claim(store, &task.id, "w3", lease)
            .await
            .expect("claim")
            .is_none(),
        "{name}: an executed task cannot be claimed"
    );
}

/// Several workers, each on its own handle, sweep the same `tasks` approved tasks at once as
/// replicas do: claim, "notify", finish. Every task is notified exactly once.
pub async fn claims_have_one_executor(handles: &[Arc<dyn TaskStore>], tasks: usize) {
    let first = handles.first().expect("at least one handle").clone();
    let name = ctx(first.as_ref());
    first.clear().await.expect("clear");
    let mut approved = Vec::new();
    for i in 0..tasks {
        let task = first
            .create(NewTask::new(format!("claim me {i}"), "high"))
            .await
            .expect("create");
        first
            .transition(&task.id, &Transition::to(Status::Approved))
            .await
            .expect("approve");
        approved.push(task.id);
    }
    let notified: Arc<Mutex<HashMap<TaskId, Vec<String>>>> = Arc::default();
    let mut workers = Vec::new();
    for (n, store) in handles.iter().cloned().enumerate() {
        let notified = notified.clone();
        workers.push(tokio::spawn(async move {
            let worker = format!("worker-{n}");
            let query = ListQuery {
                status: Some(Status::Approved),
                limit: None,
            };
            for task in store.list(&query).await.expect("list") {
                let Some(claimed) =
                    claim(store.as_ref(), &task.id, &worker, Duration::from_mins(1))
                        .await
                        .expect("claim")
                else {
                    continue;
                };
                let key = claimed.claim().expect("claimed").key;
                notified
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .entry(task.id.clone())
                    .or_default()
                    .push(key);
                store
                    .transition(
                        &task.id,
                        &Transition::to(Status::Executed)
                            .expecting(&[Status::Approved])
                            .held_by(&worker),
                    )
                    .await
                    .expect("the claimer finishes");
            }
        }));
    }
    for worker in workers {
        worker.await.expect("join");
    }
    let notified = notified
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    assert_eq!(notified.len(), tasks, "{name}: every task executed");
    for id in &approved {
        let keys = notified.get(id).cloned().unwrap_or_default();
        assert_eq!(keys.len(), 1, "{name}: task {id} executed once: {keys:?}");
        assert!(
            keys[0].starts_with(id.as_str()),
            "{name}: the key names the task"
        );
    }
    assert_eq!(
        first.stats().await.expect("stats").get(Status::Executed),
        tasks,
        "{name}: all executed"
    );
    first.clear().await.expect("clear");
}
