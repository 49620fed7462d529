//! `taskpilot metrics`: prints the persisted metrics.

use std::process::ExitCode;

use crate::context::Context;

#[derive(Debug, clap::Args)]
pub struct MetricsArgs {}

pub async fn run(_args: MetricsArgs, _ctx: &Context) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`taskpilot metrics` is not available in this build yet")
}
