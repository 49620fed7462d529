//! `taskpilot bench http`: server throughput for task creation (SPEC section 11, issue 8).
//! Starts the real server in-process on a loopback port, with a temporary base directory and
//! the file store, then drives `POST /api/v1/tasks` from N concurrent keep-alive HTTP clients
//! for a fixed time, and reports requests/s and p50/p99 latency. Afterwards it checks that the
//! store holds exactly one task per acknowledged request.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use taskpilot_agents::Runtime;
use taskpilot_observe::metrics::percentile;
use taskpilot_server::Tokens;
use taskpilot_store::ListQuery;

use crate::context::Context;
use crate::output::print_json;

#[derive(Debug, clap::Args)]
pub(crate) struct BenchHttpArgs {
    /// Concurrent HTTP clients (each keeps one connection and sends one request at a time).
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// How long to measure, in seconds (after a one-second warm-up).
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What one client saw.
#[derive(Default)]
struct ClientStats {
    latencies_us: Vec<u32>,
    errors: usize,
}

pub(super) async fn run(args: BenchHttpArgs, _ctx: &Context) -> anyhow::Result<ExitCode> {
    let clients = args.clients.max(1);
    let (_scratch, settings) = super::scratch::offline_scratch("http")?;
    let backend = settings.store_backend();
    let runtime = Runtime::from_settings(&settings).await?;
    let store = runtime.store.clone();
    let listener = taskpilot_server::bind("127.0.0.1", 0).await?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(taskpilot_server::serve(
        listener,
        taskpilot_server::state(runtime, Tokens::open()),
        async move {
            let _ = stop_rx.await;
        },
    ));

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .tcp_nodelay(true)
        .build()?;
    let url = Arc::new(format!("http://{addr}/api/v1/tasks"));
    let warmup_end = Instant::now() + Duration::from_secs(1);
    let end = warmup_end + Duration::from_secs(args.seconds.max(1));
    let mut handles = Vec::with_capacity(clients);
    for c in 0..clients {
        let (client, url) = (client.clone(), url.clone());
        handles.push(tokio::spawn(async move {
            let mut stats = ClientStats::default();
            let mut acknowledged = 0usize;
            let mut n = 0u64;
            loop {
                let now = Instant::now();
                if now >= end {
                    break;
                }
                n += 1;
                let body = json!({
                    "title": format!("bench task {c}-{n}"),
                    "priority": "medium",
                    "description": "created by taskpilot bench http",
                });
                let sent = client.post(url.as_str()).json(&body).send().await;
                let ok = matches!(&sent, Ok(r) if r.status().as_u16() == 201);
                if let Ok(r) = sent {
                    let _ = r.bytes().await;
                }
                let elapsed = now.elapsed();
                if ok {
                    acknowledged += 1;
                }
                if now >= warmup_end {
                    if ok {
                        stats
                            .latencies_us
                            .push(u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX));
                    } else {
                        stats.errors += 1;
                    }
                }
            }
            (stats, acknowledged)
        }));
    }
    let mut latencies: Vec<u32> = Vec::new();
    let mut errors = 0;
    let mut acknowledged = 0;
    for h in handles {
        let (s, a) = h.await?;
        latencies.extend(s.latencies_us);
        errors += s.errors;
        acknowledged += a;
    }
    let measured = args.seconds.max(1) as f64;
    let _ = stop_tx.send(());
    server.await??;
    let stored = store.list(&ListQuery::default()).await?.len();

    let latencies_ms: Vec<f64> = latencies.iter().map(|&us| f64::from(us) / 1000.0).collect();
    let pct = |q: f64| percentile(&latencies_ms, q);
    let requests = latencies.len();
    let rps = requests as f64 / measured;
    let report = json!({
        "benchmark": "http task creation (POST /api/v1/tasks)",
        "store": backend,
        "clients": clients,
        "seconds": measured,
        "requests": requests,
        "errors": errors,
        "requests_per_second": (rps * 10.0).round() / 10.0,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": pct(1.0),
        "acknowledged_total": acknowledged,
        "stored_total": stored,
    });
    if args.json {
        print_json(&report)?;
    } else {
        println!(
            "bench http: {clients} clients, {measured} s, {backend} store, POST /api/v1/tasks"
        );
        println!(
            "  {requests} requests ({errors} errors): {:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            rps,
            pct(0.50),
            pct(0.99),
            pct(1.0)
        );
        println!("  acknowledged {acknowledged}, stored {stored} (must be equal)");
    }
    if stored != acknowledged {
        anyhow::bail!(
            "the store holds {stored} tasks but {acknowledged} creations were acknowledged"
        );
    }
    Ok(ExitCode::SUCCESS)
}
