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

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use taskpilot_core::{CoreError, NewTask, Status, Task, Transition};
use taskpilot_store::s3::S3Store;
use taskpilot_store::{StoreError, TaskStore, conformance};
use taskpilot_testkit::s3::{self, TempBucket};

const SECRET: &str = "test-secret-key-not-to-be-printed";

/// A store on `prefix` of `bucket`.
async fn open(bucket: &TempBucket, prefix: &str) -> Arc<dyn TaskStore> {
    let url = bucket.url(prefix);
    Arc::new(
        open_at(&bucket.endpoint, &url, "test")
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}")),
    )
}

async fn open_at(endpoint: &str, url: &str, key_id: &str) -> Result<S3Store, StoreError> {
    S3Store::open_with(url, &s3::options(endpoint, key_id, SECRET)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_passes_the_conformance_suite() {
    let Some(bucket) = TempBucket::new().await else {
        return;
    };
    let started = Instant::now();
    conformance::run_all(open(&bucket, "team/a").await).await;
    eprintln!("s3 conformance suite: {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_s3_handles_racing_on_one_task_have_one_winner() {
    let Some(bucket) = TempBucket::new().await else {
        return;
    };
    let (a, b) = (open(&bucket, "p").await, open(&bucket, "p").await);
    conformance::contested_across_handles(a.clone(), b.clone()).await;

    // Approved tasks: one handle executes, the other marks failed, with no expectation of the
    // status, so both read `approved` and both PUT with the same ETag; the one whose PUT gets
    // 412 re-reads, finds the winner's status and is refused by the transition rules.
    for round in 0..15 {
        let task = a
            .create(NewTask::new(format!("race {round}"), "low"))
            .await
            .unwrap();
        a.transition(&task.id, &Transition::to(Status::Approved))
            .await
            .unwrap();
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
    a.clear().await.unwrap();
    conformance::claims_have_one_executor(&[a, b, open(&bucket, "p").await], 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_fixture_goes_into_s3_and_back_equal() {
    let Some(bucket) = TempBucket::new().await else {
        return;
    };
    conformance::fixture_round_trip(open(&bucket, "fixture").await).await;
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
    assert!(error.contains(&missing), "names the bucket: {error}");
    assert!(error.contains(&endpoint), "names the endpoint: {error}");
    assert!(
        error.contains("does not exist"),
        "says what is wrong: {error}"
    );
    assert!(!error.contains(SECRET), "no secret: {error}");
}

/// A moto of the test's own with authentication on (no key is known to it), killed on drop.
struct AuthMoto(Child);

impl Drop for AuthMoto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = AuthMoto(
        Command::new(&moto)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("INITIAL_NO_AUTH_ACTION_COUNT", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "moto did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let endpoint = format!("http://127.0.0.1:{port}");
    let error = open_at(&endpoint, "s3://locked-bucket/tasks", "AKIAWRONGKEY")
        .await
        .err()
        .expect("wrong credentials are an error")
        .to_string();
    eprintln!("{error}");
    assert!(error.contains("locked-bucket"), "names the bucket: {error}");
    assert!(error.contains(&endpoint), "names the endpoint: {error}");
    assert!(
        error.contains("AWS_ACCESS_KEY_ID"),
        "says what to check: {error}"
    );
    assert!(!error.contains(SECRET), "no secret: {error}");
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
