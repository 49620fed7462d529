//! `taskpilot golden-signals`: success rate, p95 latency, cost per successful task, policy
//! violation rate and user-confirmed correctness, from the persisted metrics, with their bands.

use std::process::ExitCode;

use taskpilot_observe::{GoldenSignals, MetricsSnapshot};

use crate::context::Context;

#[derive(Debug, clap::Args)]
pub struct GoldenSignalsArgs {
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: GoldenSignalsArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let snapshot = MetricsSnapshot::load(&ctx.settings.metrics_file.value)?;
    let signals = GoldenSignals::from_snapshot(&snapshot);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&signals)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "golden signals over {} workflow runs: {:?}",
        signals.workflow_runs, signals.overall
    );
    for (name, s) in signals.rows() {
        let value = match s.unit {
            "usd" => format!("${:.4}", s.value),
            "ms" => format!("{:.2} ms", s.value),
            _ => format!("{:.2} %", s.value),
        };
        println!(
            "  {name:<28} {value:>14}  {:<8} (healthy {}, warning {})",
            format!("{:?}", s.status).to_lowercase(),
            s.healthy,
            s.warning
        );
    }
    Ok(ExitCode::SUCCESS)
}
