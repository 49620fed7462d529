//! `taskpilot cost-report`: LLM cost by agent and model.

use std::process::ExitCode;

use crate::context::Context;

#[derive(Debug, clap::Args)]
pub struct CostReportArgs {}

pub async fn run(_args: CostReportArgs, _ctx: &Context) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`taskpilot cost-report` is not available in this build yet")
}
