//! `taskpilot golden-signals`: success rate, p95 latency, cost per successful task, policy
//! violation rate and user-confirmed correctness, from the persisted metrics, with their bands.

use std::process::ExitCode;

use comfy_table::{Cell, CellAlignment};
use taskpilot_observe::{GoldenSignals, MetricsSnapshot};

use crate::context::Context;
use crate::output::{print_json, print_table, status_cell, table};

#[derive(Debug, clap::Args)]
pub(crate) struct GoldenSignalsArgs {
    /// Print the signals as JSON (what `GET /golden-signals` answers).
    #[arg(long)]
    pub json: bool,
}

pub(crate) async fn run(args: GoldenSignalsArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let snapshot = MetricsSnapshot::load(&ctx.settings.metrics_file.value)?;
    let signals = GoldenSignals::from_snapshot(&snapshot);
    if args.json {
        print_json(&signals)?;
        return Ok(ExitCode::SUCCESS);
    }
    let band = |b: &dyn std::fmt::Debug| format!("{b:?}").to_lowercase();
    println!(
        "Golden signals over {} workflow runs: {}",
        signals.workflow_runs,
        band(&signals.overall)
    );
    let mut t = table(&["signal", "value", "band", "healthy", "warning"]);
    for (name, s) in signals.rows() {
        let value = match s.unit {
            "usd" => format!("${:.4}", s.value),
            "ms" => format!("{:.2} ms", s.value),
            _ => format!("{:.2} %", s.value),
        };
        t.add_row(vec![
            Cell::new(name),
            Cell::new(value).set_alignment(CellAlignment::Right),
            status_cell(&band(&s.status)),
            Cell::new(s.healthy).set_alignment(CellAlignment::Right),
            Cell::new(s.warning).set_alignment(CellAlignment::Right),
        ]);
    }
    print_table(&t);
    Ok(ExitCode::SUCCESS)
}
