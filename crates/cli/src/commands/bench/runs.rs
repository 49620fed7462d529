//! `taskpilot bench runs`: queued async runs completed per second with 1 and 3 replicas on one
//! store, side by side. A "replica" is a runtime of its own (its own pool or handle on the
//! store, its own scratch directory for local files) with the server's 4 run workers, all in
//! this process; runs are submitted as `POST /api/v1/runs` with `"wait": false` records them
//! (queued), then the clock runs until every one has ended. Offline provider.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use taskpilot_agents::runs::{DEFAULT_LEASE, worker_id};

use crate::context::Context;
use crate::output::print_json;

/// Run workers per replica (as `taskpilot serve`).
const WORKERS: usize = 4;

#[derive(Debug, clap::Args)]
pub(crate) struct BenchRunsArgs {
    /// The store the replicas share (default: a SQLite file in a scratch directory). Use a
    /// fresh database: the runs stay there.
    #[arg(long)]
    pub store: Option<String>,
    /// Runs per measurement.
    #[arg(long, default_value_t = 200)]
    pub runs: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Completed runs per second with `replicas` replicas.
async fn measure(url: &str, replicas: usize, runs: usize) -> anyhow::Result<f64> {
    let mut handles = Vec::new();
    for i in 0..replicas {
        let (scratch, runtime) =
            super::scratch::replica(url, &format!("runs-{replicas}-{i}"), &[]).await?;
        handles.push((scratch, Arc::new(runtime)));
    }
    let submitter = handles[0].1.clone();
    let mut ids = Vec::with_capacity(runs);
    for i in 0..runs {
        let request = if i % 2 == 0 {
            "Create a high priority task to prepare the board deck"
        } else {
            "Create a task to review the confidential salary report"
        };
        ids.push(submitter.submit_run(request, Some("bench")).await?.run_id);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut workers = Vec::new();
    for (_, rt) in &handles {
        for slot in 0..WORKERS {
            let (rt, stop, owner) = (rt.clone(), stop.clone(), worker_id(slot));
            workers.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    match rt.work_one_run(&owner, DEFAULT_LEASE).await {
                        Ok(Some(_)) => {}
                        Ok(None) => tokio::time::sleep(Duration::from_millis(20)).await,
                        Err(e) => {
                            eprintln!("worker {owner}: {e}");
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                    }
                }
            }));
        }
    }
    let book = submitter.run_book()?.clone();
    loop {
        let mut open = 0;
        for id in &ids {
            if !book.get(id).await?.status.is_done() {
                open += 1;
                break;
            }
        }
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
    for (_, rt) in &handles {
        rt.shutdown().await?;
    }
    Ok(runs as f64 / elapsed)
}

pub(super) async fn run(args: BenchRunsArgs, _ctx: &Context) -> anyhow::Result<ExitCode> {
    let (scratch, _) = super::scratch::offline_scratch("runs-store")?;
    let url = args
        .store
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", scratch.path().join("runs.db").display()));
    let runs = args.runs.max(1);
    let one = measure(&url, 1, runs).await?;
    let three = measure(&url, 3, runs).await?;
    let shown = taskpilot_config::redact_url(&url);
    if args.json {
        print_json(&json!({
            "store": shown,
            "runs": runs,
            "workers_per_replica": WORKERS,
            "runs_per_second": {"1_replica": one, "3_replicas": three},
            "speedup": three / one,
            "provider": "offline",
        }))?;
    } else {
        println!(
            "queued async runs on {shown}, {runs} runs per measurement, {WORKERS} workers per replica, offline provider"
        );
        println!("  1 replica   {one:>8.1} runs/s");
        println!("  3 replicas  {three:>8.1} runs/s  ({:.2}x)", three / one);
    }
    Ok(ExitCode::SUCCESS)
}
