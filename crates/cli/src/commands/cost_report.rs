//! `taskpilot cost-report`: LLM cost by agent and model, from the persisted metrics and the
//! price table (`<OBSERVABILITY_DIR>/prices.json` overrides the built-in prices).

use std::process::ExitCode;

use taskpilot_observe::{CostReport, MetricsSnapshot, Prices};

use crate::context::Context;

#[derive(Debug, Clone, Copy, Default, clap::ValueEnum)]
pub enum CostFormat {
    #[default]
    Text,
    Json,
    Csv,
}

#[derive(Debug, clap::Args)]
pub struct CostReportArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = CostFormat::Text)]
    pub format: CostFormat,
}

pub async fn run(args: CostReportArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let snapshot = MetricsSnapshot::load(&ctx.settings.metrics_file.value)?;
    let prices = Prices::load(&ctx.settings.observability_dir.value.join("prices.json"))?;
    let report = CostReport::from_snapshot(&snapshot, &prices);
    match args.format {
        CostFormat::Text => print!("{}", report.to_text()),
        CostFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        CostFormat::Csv => print!("{}", report.to_csv()),
    }
    Ok(ExitCode::SUCCESS)
}
