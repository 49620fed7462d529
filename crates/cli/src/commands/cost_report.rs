//! `taskpilot cost-report`: LLM cost by agent and model, from the persisted metrics and the
//! price table (`<OBSERVABILITY_DIR>/prices.json` overrides the built-in prices).

use std::process::ExitCode;

use comfy_table::{Cell, CellAlignment};
use taskpilot_observe::{CostReport, MetricsSnapshot, Prices};

use crate::context::Context;
use crate::output::{print_json, print_table, safe_line, table};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum CostFormat {
    /// Tables for people.
    #[default]
    Text,
    /// The report as JSON (what `GET /cost-report` answers).
    Json,
    /// One line per total, agent and model.
    Csv,
}

#[derive(Debug, clap::Args)]
pub(crate) struct CostReportArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = CostFormat::Text)]
    pub format: CostFormat,
    /// Print JSON (the same as --format json).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
}

pub(crate) async fn run(args: CostReportArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let snapshot = MetricsSnapshot::load(&ctx.settings.metrics_file.value)?;
    let prices = Prices::load(&ctx.settings.observability_dir.value.join("prices.json"))?;
    let report = CostReport::from_snapshot(&snapshot, &prices);
    let format = if args.json {
        CostFormat::Json
    } else {
        args.format
    };
    match format {
        CostFormat::Text => print_text(&report),
        CostFormat::Json => print_json(&report)?,
        CostFormat::Csv => print!("{}", report.to_csv()),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_text(report: &CostReport) {
    println!("LLM cost (USD; prices per million tokens; * = estimated)");
    let mut t = table(&["", "name", "calls", "tokens in", "tokens out", "cost $"]);
    let rows = std::iter::once(("total", "all", &report.total))
        .chain(
            report
                .by_agent
                .iter()
                .map(|(k, l)| ("agent", k.as_str(), l)),
        )
        .chain(
            report
                .by_model
                .iter()
                .map(|(k, l)| ("model", k.as_str(), l)),
        );
    for (scope, name, l) in rows {
        t.add_row(vec![
            Cell::new(scope),
            Cell::new(safe_line(name)),
            Cell::new(l.calls).set_alignment(CellAlignment::Right),
            Cell::new(l.input_tokens).set_alignment(CellAlignment::Right),
            Cell::new(l.output_tokens).set_alignment(CellAlignment::Right),
            Cell::new(format!(
                "{:.4}{}",
                l.cost_usd,
                if l.estimated { "*" } else { "" }
            ))
            .set_alignment(CellAlignment::Right),
        ]);
    }
    print_table(&t);
}
