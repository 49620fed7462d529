//! `taskpilot bench execute`: approved tasks executed per second with 1 and 3 replicas on one
//! store (issue 15), side by side, and whether any task was notified twice.
//!
//! Each replica is a runtime of its own (its own pool or handle on the store, its own scratch
//! directory) in this process, running `taskpilot serve`'s background sweep
//! ([`taskpilot_server::background::sweep_approved`], which takes each task's execution claim
//! by a conditional write before the executor's side effect) back to back until no task is
//! left `approved`. `NOTIFY_WEBHOOK_URL` points at a receiver on a loopback port that answers
//! after a fixed delay, so the notification dominates, as with a real webhook. The receiver
//! counts notifications per task id and per `Idempotency-Key`: any duplicate is printed and
//! the command exits 1, as it does when a task is not executed (a measurement gives up two
//! minutes plus the receiver's delay and 100 ms per task after it started).
//!
//! The claim's cost is measured on its own: the conditional write that takes the claim
//! ([`taskpilot_store::claim`], as `Runtime::execute_approved` takes it), timed per task on
//! fresh approved tasks, beside the whole execution per task of the one-replica measurement.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use taskpilot_core::{NewTask, Status, TaskId, Timestamp};
use taskpilot_observe::metrics::percentile;
use taskpilot_server::Tokens;
use taskpilot_server::background::sweep_approved;
use taskpilot_store::{ListQuery, TaskStore};
use tokio_util::sync::CancellationToken;

use super::receiver::Receiver;
use crate::context::Context;
use crate::output::print_json;

/// The replica counts measured side by side.
const REPLICAS: [usize; 2] = [1, 3];

/// Goal of issue 15: three replicas at least this many times one.
const GOAL_SPEEDUP: f64 = 2.5;

/// A measurement gives up this long plus (delay + 100 ms) per task after it started.
const GIVE_UP_AFTER: Duration = Duration::from_mins(2);

#[derive(Debug, clap::Args)]
pub(crate) struct BenchExecuteArgs {
    /// The store the replicas share (default: a SQLite file in a scratch directory). Use a
    /// fresh database: the decisions of the executions stay there (the tasks are deleted).
    #[arg(long)]
    pub store: Option<String>,
    /// Approved tasks per measurement.
    #[arg(long, default_value_t = 200)]
    pub tasks: usize,
    /// How long the notification receiver takes to answer, in milliseconds.
    #[arg(long, default_value_t = 50)]
    pub delay_ms: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// One measurement.
struct Measured {
    replicas: usize,
    seconds: f64,
    executed: usize,
    /// Tasks not `executed` at the end, by status.
    not_executed: HashMap<String, usize>,
    notifications: usize,
    /// Task ids notified more than once, with how many times.
    duplicate_tasks: Vec<(String, usize)>,
    /// Idempotency keys received more than once, with how many times.
    duplicate_keys: Vec<(String, usize)>,
    /// Notifications whose header key differs from the body's or does not name the task.
    key_mismatches: usize,
}

impl Measured {
    fn per_second(&self) -> f64 {
        self.executed as f64 / self.seconds
    }

    fn duplicates(&self) -> usize {
        self.duplicate_tasks.iter().map(|(_, n)| n - 1).sum()
    }

    fn to_json(&self) -> Value {
        json!({
            "replicas": self.replicas,
            "seconds": self.seconds,
            "executed": self.executed,
            "executed_per_second": self.per_second(),
            "not_executed": self.not_executed,
            "notifications": self.notifications,
            "duplicates": self.duplicates(),
            "duplicate_tasks": self.duplicate_tasks,
            "duplicate_keys": self.duplicate_keys,
            "key_mismatches": self.key_mismatches,
        })
    }
}

/// Stores `n` approved tasks, approved an hour ago (so no sweep waits for their approver).
async fn seed(store: &dyn TaskStore, n: usize, label: &str) -> anyhow::Result<Vec<TaskId>> {
    let approved = Timestamp::from_utc(chrono::Utc::now() - chrono::Duration::hours(1));
    let mut id = TaskId::generate();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let mut task = NewTask::new(format!("bench execute {label} task {i}"), "high")
            .with_description("Created by taskpilot bench execute; safe to delete.")
            .into_task(id.clone(), approved)?;
        task.status = Status::Approved;
        task.reviewed_at = Some(approved);
        tasks.push(task);
        id = id.successor();
    }
    let ids = tasks.iter().map(|t| t.id.clone()).collect();
    store.put_many(tasks).await?;
    Ok(ids)
}

/// Entries seen more than once, with their counts, sorted.
fn repeated<'a>(keys: impl Iterator<Item = &'a str>) -> Vec<(String, usize)> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for key in keys {
        *counts.entry(key).or_default() += 1;
    }
    let mut out: Vec<(String, usize)> = counts
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(k, n)| (k.to_owned(), n))
        .collect();
    out.sort();
    out
}

/// `replicas` replicas sweep `n` fresh approved tasks until none is left `approved`.
async fn measure(
    url: &str,
    replicas: usize,
    n: usize,
    receiver: &Receiver,
) -> anyhow::Result<(Measured, Vec<TaskId>)> {
    let mut states = Vec::new();
    let mut scratches = Vec::new();
    for i in 0..replicas {
        let (scratch, runtime) = super::scratch::replica(
            url,
            &format!("execute-{replicas}-{i}"),
            &[("NOTIFY_WEBHOOK_URL", receiver.url())],
        )
        .await?;
        scratches.push(scratch);
        states.push(taskpilot_server::state(runtime, Tokens::open()));
    }
    let store = states[0].runtime.store.clone();
    let ids = seed(store.as_ref(), n, &format!("{replicas}r")).await?;
    receiver.take();
    let stop = CancellationToken::new();
    let started = Instant::now();
    // A task left approved for good (a claim that is never released) must not hang the
    // benchmark: give up well after the slowest plausible run; it then counts as not executed.
    let deadline = started
        + GIVE_UP_AFTER
        + (receiver.delay() + Duration::from_millis(100)) * u32::try_from(n).unwrap_or(u32::MAX);
    let mut sweepers = Vec::new();
    for state in &states {
        let (state, stop) = (state.clone(), stop.clone());
        sweepers.push(tokio::spawn(async move {
            let left = ListQuery {
                status: Some(Status::Approved),
                limit: Some(1),
            };
            while !stop.is_cancelled() && Instant::now() < deadline {
                if sweep_approved(&state, Duration::ZERO, &stop).await == 0 {
                    // Nothing this replica could take: done once nobody holds one either.
                    if state.runtime.store.list(&left).await?.is_empty() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            anyhow::Ok(())
        }));
    }
    let mut failure = None;
    for sweeper in sweepers {
        if let Err(e) = sweeper.await? {
            stop.cancel();
            failure.get_or_insert(e);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    if let Some(e) = failure {
        return Err(e.context("a replica's sweep could not list the approved tasks"));
    }
    let mut executed = 0;
    let mut not_executed: HashMap<String, usize> = HashMap::new();
    for id in &ids {
        let task = store.get(id).await?;
        if task.status == Status::Executed {
            executed += 1;
        } else {
            *not_executed.entry(task.status.to_string()).or_default() += 1;
        }
    }
    // Late duplicates would still be on their way: the receiver's delay, twice.
    tokio::time::sleep(Duration::from_millis(100) + 2 * receiver.delay()).await;
    let received = receiver.take();
    let key_mismatches = received
        .iter()
        .filter(|r| {
            r.header_key.as_deref() != Some(r.body_key.as_str())
                || r.task_id.is_empty()
                || !r.body_key.starts_with(&r.task_id)
        })
        .count();
    let measured = Measured {
        replicas,
        seconds,
        executed,
        not_executed,
        notifications: received.len(),
        duplicate_tasks: repeated(received.iter().map(|r| r.task_id.as_str())),
        duplicate_keys: repeated(received.iter().map(|r| r.body_key.as_str())),
        key_mismatches,
    };
    for state in &states {
        state.runtime.shutdown().await?;
    }
    drop(scratches);
    Ok((measured, ids))
}

/// The claim's conditional write, timed per task on `n` fresh approved tasks (milliseconds).
async fn claim_ms(url: &str, n: usize) -> anyhow::Result<(Vec<f64>, Vec<TaskId>)> {
    let (_scratch, runtime) = super::scratch::replica(url, "execute-claim", &[]).await?;
    let store = runtime.store.clone();
    let ids = seed(store.as_ref(), n, "claim").await?;
    let owner = format!("bench-claim-{}", std::process::id());
    let mut times = Vec::with_capacity(n);
    for id in &ids {
        let started = Instant::now();
        let claimed =
            taskpilot_store::claim(store.as_ref(), id, &owner, Duration::from_mins(1)).await?;
        times.push(started.elapsed().as_secs_f64() * 1e3);
        anyhow::ensure!(claimed.is_some(), "task {id} could not be claimed");
    }
    runtime.shutdown().await?;
    Ok((times, ids))
}

pub(super) async fn run(args: BenchExecuteArgs, _ctx: &Context) -> anyhow::Result<ExitCode> {
    let (scratch, _) = super::scratch::offline_scratch("execute-store")?;
    let url = args
        .store
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", scratch.path().join("execute.db").display()));
    let n = args.tasks.max(1);
    let receiver = Receiver::start(Duration::from_millis(args.delay_ms)).await?;
    let mut measured = Vec::new();
    let mut seeded = Vec::new();
    for replicas in REPLICAS {
        if !args.json {
            eprintln!("measuring {replicas} replica(s), {n} approved tasks …");
        }
        let (m, ids) = measure(&url, replicas, n, &receiver).await?;
        measured.push(m);
        seeded.extend(ids);
    }
    receiver.stop().await;
    let (claims, ids) = claim_ms(&url, n).await?;
    seeded.extend(ids);
    // The tasks go; the decisions of their executions stay in a shared store.
    {
        let (_scratch, runtime) = super::scratch::replica(&url, "execute-cleanup", &[]).await?;
        for id in &seeded {
            runtime.store.delete(id).await?;
        }
        runtime.shutdown().await?;
    }

    let one = &measured[0];
    let three = &measured[1];
    let speedup = three.per_second() / one.per_second();
    let execution_ms = one.seconds * 1e3 / one.executed.max(1) as f64;
    let claim_p50 = percentile(&claims, 0.5);
    let shown = taskpilot_config::redact_url(&url);
    let report = json!({
        "benchmark": "approved tasks executed by the serve sweep, 1 and 3 replicas",
        "store": shown,
        "tasks": n,
        "receiver_delay_ms": args.delay_ms,
        "provider": "offline",
        "executed_per_second": {"1_replica": one.per_second(), "3_replicas": three.per_second()},
        "speedup": speedup,
        "goal_speedup": GOAL_SPEEDUP,
        "measurements": measured.iter().map(Measured::to_json).collect::<Vec<_>>(),
        "claim": {
            "tasks": claims.len(),
            "p50_ms": claim_p50,
            "p99_ms": percentile(&claims, 0.99),
            "execution_ms_per_task_1_replica": execution_ms,
            "share_of_execution": claim_p50 / execution_ms,
        },
    });
    if args.json {
        print_json(&report)?;
    } else {
        println!(
            "approved tasks executed by the serve sweep on {shown}: {n} tasks per measurement, receiver answers after {} ms, offline provider",
            args.delay_ms
        );
        for m in &measured {
            println!(
                "  {} replica(s)  {:>8.1} executed/s  ({} of {n} executed in {:.2} s, {} notifications, {} duplicates)",
                m.replicas,
                m.per_second(),
                m.executed,
                m.seconds,
                m.notifications,
                m.duplicates()
            );
        }
        println!(
            "  speedup       {speedup:>8.2}x  (goal >= {GOAL_SPEEDUP}x: {})",
            if speedup >= GOAL_SPEEDUP {
                "met"
            } else {
                "MISSED"
            }
        );
        println!(
            "  claim         {claim_p50:>8.2} ms median (p99 {:.2} ms) per task, {:.1}% of one execution ({execution_ms:.1} ms)",
            percentile(&claims, 0.99),
            100.0 * claim_p50 / execution_ms
        );
    }
    let mut failed = false;
    for m in &measured {
        if m.duplicates() > 0 || !m.duplicate_keys.is_empty() {
            failed = true;
            eprintln!(
                "DUPLICATE NOTIFICATIONS with {} replica(s): {} task(s) notified more than once: {:?}; repeated idempotency keys: {:?}",
                m.replicas,
                m.duplicate_tasks.len(),
                m.duplicate_tasks,
                m.duplicate_keys
            );
        }
        if m.executed != n {
            failed = true;
            eprintln!(
                "NOT EXECUTED with {} replica(s): {} of {n} tasks executed; the others are {:?}",
                m.replicas, m.executed, m.not_executed
            );
        }
        if m.key_mismatches > 0 {
            failed = true;
            eprintln!(
                "{} notification(s) with {} replica(s) whose Idempotency-Key header differs from the body's or does not name the task",
                m.key_mismatches, m.replicas
            );
        }
    }
    drop(scratch);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(task_ids: &[&str]) -> Measured {
        Measured {
            replicas: 3,
            seconds: 1.0,
            executed: 3,
            not_executed: HashMap::new(),
            notifications: task_ids.len(),
            duplicate_tasks: repeated(task_ids.iter().copied()),
            duplicate_keys: Vec::new(),
            key_mismatches: 0,
        }
    }

    #[test]
    fn a_task_notified_three_times_is_two_duplicates() {
        let m = measured(&["task_a", "task_b", "task_a", "task_c", "task_a", "task_b"]);
        assert_eq!(
            m.duplicate_tasks,
            [("task_a".to_owned(), 3), ("task_b".to_owned(), 2)]
        );
        assert_eq!(m.duplicates(), 3);
        assert_eq!(m.to_json()["duplicates"], 3);
    }

    #[test]
    fn one_notification_per_task_is_no_duplicate() {
        let m = measured(&["task_a", "task_b", "task_c"]);
        assert!(m.duplicate_tasks.is_empty());
        assert_eq!(m.duplicates(), 0);
    }
}
