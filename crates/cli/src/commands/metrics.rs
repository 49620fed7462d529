//! `taskpilot metrics`: prints the persisted metrics (`METRICS_FILE`) as a table, as the JSON
//! file itself (`--json`) or as Prometheus text exposition (`--prometheus`).

use std::process::ExitCode;

use taskpilot_observe::MetricsSnapshot;

use crate::context::Context;

#[derive(Debug, clap::Args)]
pub struct MetricsArgs {
    /// Print the persisted JSON (`{"counters","gauges","histograms","timestamp"}`).
    #[arg(long, conflicts_with = "prometheus")]
    pub json: bool,
    /// Print the Prometheus text exposition (what `GET /metrics` serves).
    #[arg(long)]
    pub prometheus: bool,
}

pub async fn run(args: MetricsArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let snapshot = MetricsSnapshot::load(&ctx.settings.metrics_file.value)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&snapshot)?);
    } else if args.prometheus {
        print!("{}", snapshot.to_prometheus());
    } else {
        println!("metrics from {}", ctx.settings.metrics_file.value.display());
        println!(
            "last saved: {}",
            snapshot.timestamp.as_deref().unwrap_or("never")
        );
        println!("\ncounters");
        for (k, v) in &snapshot.counters {
            println!("  {k:<52} {v:>14}");
        }
        println!("\ngauges");
        for (k, v) in &snapshot.gauges {
            println!("  {k:<52} {v:>14}");
        }
        println!(
            "\nhistograms (ms)                                         count      mean       p50       p95       max"
        );
        for (k, h) in &snapshot.histograms {
            let max = h.recent.iter().copied().fold(0.0, f64::max);
            println!(
                "  {k:<52} {:>6} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
                h.count,
                h.mean(),
                h.percentile(0.5),
                h.percentile(0.95),
                max
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
