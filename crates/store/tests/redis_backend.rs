//! The Redis backend against real servers: the conformance suite and two handles on the
//! machine's Redis (127.0.0.1:6379, each test under a random key prefix of its own, deleted at
//! the end even when the test fails); three handles claiming the same approved tasks;
//! contested decisions from two processes; the reference fixture copied in and back out (the
//! shared suites of `conformance.rs`); `check` finding a broken index; and a Redis server of the
//! test's own (`redis-server --port <free port>`) killed and restarted mid-run: the request
//! made while it is down fails with an error naming the URL, and the store reconnects.
//!
//! With `CI=true` a missing Redis fails the test; without it the test reports the skip
//! (`taskpilot_testkit::service_missing`) and returns.

mod common;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{OwnServer, free_port};
use taskpilot_config::{Secret, StoreLocation};
use taskpilot_core::{NewTask, Status, TaskId, Transition};
use taskpilot_store::StoreError;
use taskpilot_store::conformance::{self, open};
use taskpilot_testkit::redis::{REDIS, TempPrefix};

// ---------------------------------------------------------------------------------------------
// The shared suites: one handle, three handles (instances) on one prefix, two processes, the
// reference fixture in and out.

common::each_backend!(conformance::run_all; redis_passes_the_conformance_suite: Redis);
common::each_backend!(conformance::fixture_round_trip;
    the_fixture_goes_into_redis_and_back_equal: Redis
);
common::on_fresh! {
    two_redis_handles_contest_fairly_and_never_share_an_id: Redis => |redis| {
        conformance::several_handles(redis.three().await, Some(50), 30).await;
    }
    contested_decisions_from_two_processes_have_one_winner_each: Redis => |redis| {
        decide_in_two_processes(&redis.location).await;
    }
}

/// Separate processes: this test binary started twice in "decider" mode, one approving and
/// one rejecting the same tasks at the same moment, on the store at `url`.
async fn decide_in_two_processes(url: &str) {
    let store = open(url).await;
    let mut ids = Vec::new();
    for i in 0..40 {
        let new = NewTask::new(format!("contested {i}"), "high");
        let task = conformance::task_in(store.as_ref(), new, Status::Review).await;
        ids.push(task.id);
    }
    let start_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 1500;
    let exe = std::env::current_exe().unwrap();
    let spawn = |decision: &str| -> Child {
        Command::new(&exe)
            .args([
                "--exact",
                "decider_process",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("TASKPILOT_TEST_DECIDER", decision)
            .env("TASKPILOT_TEST_DECIDER_URL", url)
            .env(
                "TASKPILOT_TEST_DECIDER_IDS",
                ids.iter()
                    .map(taskpilot_core::TaskId::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            )
            .env("TASKPILOT_TEST_DECIDER_START", start_at.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap()
    };
    let (approver, rejecter) = (spawn("approved"), spawn("rejected"));
    let outputs = [
        approver.wait_with_output().unwrap(),
        rejecter.wait_with_output().unwrap(),
    ];
    let mut wins: HashMap<String, Vec<String>> = HashMap::new();
    let mut losses = 0;
    for out in &outputs {
        assert!(out.status.success(), "a decider process failed");
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            // The harness may print "test decider_process ... " before the first line.
            let start = ["WON ", "LOST "]
                .iter()
                .filter_map(|m| line.find(m))
                .min()
                .unwrap_or(line.len());
            let mut parts = line[start..].split_whitespace();
            match (parts.next(), parts.next(), parts.next()) {
                (Some("WON"), Some(id), Some(status)) => wins
                    .entry(id.to_owned())
                    .or_default()
                    .push(status.to_owned()),
                (Some("LOST"), Some(_), _) => losses += 1,
                _ => {}
            }
        }
    }
    for id in &ids {
        let winners = wins.get(id.as_str()).cloned().unwrap_or_default();
        assert_eq!(
            winners.len(),
            1,
            "task {id}: exactly one process wins: {winners:?}"
        );
        let stored = store.get(id).await.unwrap();
        assert_eq!(
            stored.status.as_str(),
            winners[0],
            "task {id}: the winner is stored"
        );
    }
    assert_eq!(
        losses,
        ids.len(),
        "every loser was told the status it found"
    );
    let split: Vec<usize> = ["approved", "rejected"]
        .iter()
        .map(|s| wins.values().filter(|w| w[0] == *s).count())
        .collect();
    eprintln!(
        "two processes, {} tasks: approvals won {}, rejections won {}",
        ids.len(),
        split[0],
        split[1]
    );
    store.clear().await.unwrap();
}

/// The child side of the test above; does nothing when run as an ordinary test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decider_process() {
    let Ok(decision) = std::env::var("TASKPILOT_TEST_DECIDER") else {
        return;
    };
    let url = std::env::var("TASKPILOT_TEST_DECIDER_URL").unwrap();
    let ids: Vec<TaskId> = std::env::var("TASKPILOT_TEST_DECIDER_IDS")
        .unwrap()
        .split(',')
        .map(|s| TaskId::parse(s).unwrap())
        .collect();
    let start: u128 = std::env::var("TASKPILOT_TEST_DECIDER_START")
        .unwrap()
        .parse()
        .unwrap();
    let to: Status = decision.parse().unwrap();
    let store = open(&url).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    if start > now {
        tokio::time::sleep(Duration::from_millis((start - now) as u64)).await;
    }
    let transition = Transition::to(to)
        .expecting(&[Status::Pending, Status::Review])
        .with_response(format!("Human {decision}"));
    let mut jobs = Vec::new();
    for id in ids {
        let (store, transition) = (store.clone(), transition.clone());
        jobs.push(tokio::spawn(async move {
            (id.clone(), store.transition(&id, &transition).await)
        }));
    }
    for job in jobs {
        let (id, result) = job.await.unwrap();
        match result {
            Ok(task) => println!("WON {id} {}", task.status),
            Err(StoreError::Invalid(taskpilot_core::CoreError::UnexpectedStatus {
                found, ..
            })) => println!("LOST {id} {found}"),
            Err(e) => panic!("{id}: unexpected error {e}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Check.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_finds_tasks_missing_from_the_indexes_and_stale_entries() {
    let Some(temp) = TempPrefix::new() else {
        return;
    };
    let store = open(&temp.url).await;
    let kept = store.create(NewTask::new("indexed", "low")).await.unwrap();
    assert!(store.check().await.unwrap().problems.is_empty());

    let client = redis::Client::open(REDIS).unwrap();
    let mut conn = client.get_connection().unwrap();
    let stray = serde_json::json!({
        "id": "task_20200101_000000_000001", "title": "written behind the index",
        "priority": "low", "description": "", "status": "pending",
        "created_at": "2020-01-01T00:00:00", "reviewed_at": null, "executed_at": null,
        "reviewer_response": null, "error": null
    });
    redis::cmd("SET")
        .arg(format!("{}:task:task_20200101_000000_000001", temp.prefix))
        .arg(stray.to_string())
        .query::<()>(&mut conn)
        .unwrap();
    redis::cmd("ZADD")
        .arg(format!("{}:status:executed", temp.prefix))
        .arg(0)
        .arg(kept.id.as_str())
        .query::<()>(&mut conn)
        .unwrap();
    let report = store.check().await.unwrap();
    let text = report.problems.join("\n");
    assert!(
        text.contains("lacks task task_20200101_000000_000001"),
        "{text}"
    );
    assert!(
        text.contains(&format!(":status:executed lists {}", kept.id)),
        "{text}"
    );
    assert_eq!(report.tasks, 2);
    assert_eq!(
        store.clear().await.unwrap(),
        2,
        "clear removes unindexed tasks too"
    );
    assert!(store.check().await.unwrap().problems.is_empty());
}

// ---------------------------------------------------------------------------------------------
// A server of our own, killed and restarted.

/// `redis-server` on `port` without persistence, killed on drop.
fn own_redis(port: u16) -> Option<OwnServer> {
    let mut command = Command::new("redis-server");
    command.args(["--port", &port.to_string(), "--bind", "127.0.0.1"]);
    command.args(["--save", "", "--appendonly", "no"]);
    OwnServer::start(&mut command, port, Duration::from_secs(10))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_mid_run_gives_a_clear_error_then_reconnects() {
    let port = free_port();
    let Some(server) = own_redis(port) else {
        return;
    };
    let url = format!("redis://127.0.0.1:{port}/0");
    let store = open(&url).await;
    let before = store
        .create(NewTask::new("before the restart", "low"))
        .await
        .unwrap();
    assert_eq!(store.get(&before.id).await.unwrap(), before);

    drop(server);
    let started = Instant::now();
    let error = store
        .get(&before.id)
        .await
        .expect_err("a request while the server is down fails");
    let message = error.to_string();
    eprintln!("while down ({:?}): {message}", started.elapsed());
    assert!(matches!(error, StoreError::Backend { .. }), "{error:?}");
    assert!(
        message.contains(&format!("127.0.0.1:{port}")) && message.contains("redis"),
        "the error names the URL: {message}"
    );
    assert!(
        message.contains("is it running"),
        "the error says what to check: {message}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the failure comes quickly"
    );

    let _server = own_redis(port).expect("restart on the same port");
    let started = Instant::now();
    // The server came back empty (no persistence): the store works again without reopening.
    let after = loop {
        match store.create(NewTask::new("after the restart", "low")).await {
            Ok(task) => break task,
            Err(e) => {
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "the store did not reconnect: {e}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    eprintln!("reconnected after {:?}", started.elapsed());
    assert_eq!(store.get(&after.id).await.unwrap(), after);
    assert!(matches!(
        store.get(&before.id).await,
        Err(StoreError::NotFound { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_and_a_bad_url_give_clear_errors() {
    let port = free_port();
    let url = format!("redis://:hunter22@127.0.0.1:{port}/0");
    let error = match taskpilot_store::open(&StoreLocation::Url(Secret::new(url.as_str()))).await {
        Ok(_) => panic!("nothing listens on {port}"),
        Err(e) => e.to_string(),
    };
    let shown = format!("127.0.0.1:{port}");
    conformance::assert_clear_error(&error, &[&shown], "hunter22", "is it running");
    let bad = taskpilot_store::open(&StoreLocation::Url(Secret::new(
        "redis://127.0.0.1:6379/notanumber",
    )))
    .await
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(bad.contains("redis://127.0.0.1:6379/notanumber"), "{bad}");
}
