//! The S3 backend against a real S3-compatible server: the one `scripts/s3-server start`
//! runs (moto, at `TASKPILOT_TEST_S3_ENDPOINT`). Each test makes a bucket of its own.
//!
//! Covered: the conformance suite; two handles racing on the same tasks (conditional writes
//! that lose with 412 are retried after a re-read, so each contest has one winner and the
//! loser is told the status it found); three handles claiming the same approved tasks; the
//! reference fixture in and back out, equal (the shared suites of `conformance.rs`); a
//! missing bucket and wrong credentials (a second moto with authentication on) give errors
//! naming the bucket and endpoint without the secret.
//!
//! With `CI=true` a missing server fails the test; otherwise it reports the skip
//! (`taskpilot_testkit::service_missing`) and returns.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::backends::S3_SECRET as SECRET;
use common::{OwnServer, free_port};
use taskpilot_core::{CoreError, NewTask, Status, Task, Transition};
use taskpilot_store::conformance::{self, assert_clear_error};
use taskpilot_store::s3::S3Store;
use taskpilot_store::{StoreError, TaskStore};
use taskpilot_testkit::s3;

async fn open_at(endpoint: &str, url: &str, key_id: &str) -> Result<S3Store, StoreError> {
    S3Store::open_with(url, &s3::options(endpoint, key_id, SECRET)).await
}

common::each_backend!(conformance::run_all; s3_passes_the_conformance_suite: S3);
common::each_backend!(conformance::fixture_round_trip;
    the_fixture_goes_into_s3_and_back_equal: S3
);
common::on_fresh! {
    two_s3_handles_racing_on_one_task_have_one_winner: S3 => |bucket| {
        let [a, b, c] = bucket.three().await;
        conformance::contested_across_handles(a.clone(), b.clone()).await;
        racing_transitions_have_one_winner(&a, &b).await;
        a.clear().await.unwrap();
        conformance::claims_have_one_executor(&[a, b, c], 20).await;
    }
}

/// Approved tasks: one handle executes, the other marks failed, with no expectation of the
/// status, so both read `approved` and both PUT with the same ETag; the one whose PUT gets 412
/// re-reads, finds the winner's status and is refused by the transition rules.
async fn racing_transitions_have_one_winner(a: &Arc<dyn TaskStore>, b: &Arc<dyn TaskStore>) {
    for round in 0..15 {
        let new = NewTask::new(format!("race {round}"), "low");
        let task = conformance::task_in(a.as_ref(), new, Status::Approved).await;
        let (sa, sb, ida, idb) = (a.clone(), b.clone(), task.id.clone(), task.id.clone());
        let one =
            tokio::spawn(
                async move { sa.transition(&ida, &Transition::to(Status::Executed)).await },
            );
        let two = tokio::spawn(async move {
            sb.transition(&idb, &Transition::to(Status::Failed).with_error("boom"))
                .await
        });
        let results = [one.await.unwrap(), two.await.unwrap()];
        let winners: Vec<&Task> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}: one winner: {results:?}");
        let loser = results.iter().find_map(|r| r.as_ref().err()).unwrap();
        assert!(
            matches!(
                loser,
                StoreError::Invalid(CoreError::ForbiddenTransition { .. })
            ),
            "round {round}: the loser re-read and was refused by the rules: {loser}"
        );
        assert_eq!(&a.get(&task.id).await.unwrap(), winners[0]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_bucket_gives_a_clear_error_naming_it_and_the_endpoint() {
    let Some(endpoint) = s3::endpoint() else {
        return;
    };
    let missing = s3::unique_bucket();
    let error = open_at(&endpoint, &format!("s3://{missing}/x"), "test")
        .await
        .err()
        .expect("a missing bucket is an error")
        .to_string();
    eprintln!("{error}");
    assert_clear_error(&error, &[&missing, &endpoint], SECRET, "does not exist");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_give_a_clear_error_without_the_secret() {
    if s3::endpoint().is_none() {
        return;
    }
    let Ok(moto) = std::env::var("TASKPILOT_TEST_MOTO_SERVER") else {
        taskpilot_testkit::service_missing(
            "moto_server",
            "TASKPILOT_TEST_MOTO_SERVER is not set; run `eval \"$(scripts/s3-server start)\"`",
        );
        return;
    };
    // A moto of the test's own with authentication on (no key is known to it).
    let port = free_port();
    let mut command = Command::new(&moto);
    command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
    let command = command.env("INITIAL_NO_AUTH_ACTION_COUNT", "0");
    let Some(_server) = OwnServer::start(command, port, Duration::from_secs(30)) else {
        return;
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let error = open_at(&endpoint, "s3://locked-bucket/tasks", "AKIAWRONGKEY")
        .await
        .err()
        .expect("wrong credentials are an error")
        .to_string();
    eprintln!("{error}");
    let shown = ["locked-bucket", &endpoint];
    assert_clear_error(&error, &shown, SECRET, "AWS_ACCESS_KEY_ID");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_without_a_bucket_is_refused() {
    let error = taskpilot_store::open(&taskpilot_config::StoreLocation::Url(
        taskpilot_config::Secret::new("s3:///prefix"),
    ))
    .await
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(error.contains("bucket name is missing"), "{error}");
}
