//! `taskpilot metrics`: prints the persisted metrics (`METRICS_FILE`) as tables, as the JSON
//! file itself (`--json`) or as Prometheus text exposition (`--prometheus`).

use std::process::ExitCode;

use comfy_table::{Cell, CellAlignment};
use taskpilot_observe::MetricsSnapshot;

use crate::context::Context;
use crate::output::{print_json, print_table, safe_line, table};

#[derive(Debug, clap::Args)]
pub(crate) struct MetricsArgs {
    /// Print the persisted JSON (`{"counters","gauges","histograms","timestamp"}`).
    #[arg(long, conflicts_with = "prometheus")]
    pub json: bool,
    /// Print the Prometheus text exposition (what `GET /metrics` serves).
    #[arg(long)]
    pub prometheus: bool,
}

fn number(v: f64) -> Cell {
    let text = if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.4}")
    };
    Cell::new(text).set_alignment(CellAlignment::Right)
}

pub(crate) async fn run(args: MetricsArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let snapshot = MetricsSnapshot::load(&ctx.settings.metrics_file.value)?;
    if args.json {
        print_json(&snapshot)?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.prometheus {
        print!("{}", snapshot.to_prometheus());
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Metrics from {} (last saved {})",
        ctx.settings.metrics_file.value.display(),
        snapshot.timestamp.as_deref().unwrap_or("never")
    );
    if snapshot.counters.is_empty() && snapshot.gauges.is_empty() && snapshot.histograms.is_empty()
    {
        println!("Nothing recorded yet: run a request (`taskpilot run \"...\"`) first.");
        return Ok(ExitCode::SUCCESS);
    }
    if !snapshot.counters.is_empty() {
        let mut t = table(&["counter", "value"]);
        for (k, v) in &snapshot.counters {
            t.add_row(vec![Cell::new(safe_line(k)), number(*v)]);
        }
        print_table(&t);
    }
    if !snapshot.gauges.is_empty() {
        let mut t = table(&["gauge", "value"]);
        for (k, v) in &snapshot.gauges {
            t.add_row(vec![Cell::new(safe_line(k)), number(*v)]);
        }
        print_table(&t);
    }
    if !snapshot.histograms.is_empty() {
        let mut t = table(&["histogram (ms)", "count", "mean", "p50", "p95", "max"]);
        for (k, h) in &snapshot.histograms {
            let max = h.recent.iter().copied().fold(0.0, f64::max);
            t.add_row(vec![
                Cell::new(safe_line(k)),
                Cell::new(h.count).set_alignment(CellAlignment::Right),
                number1(h.mean()),
                number1(h.percentile(0.5)),
                number1(h.percentile(0.95)),
                number1(max),
            ]);
        }
        print_table(&t);
    }
    Ok(ExitCode::SUCCESS)
}

fn number1(v: f64) -> Cell {
    Cell::new(format!("{v:.1}")).set_alignment(CellAlignment::Right)
}
