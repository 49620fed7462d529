//! `taskpilot traces`: prints recorded traces as trees.

use std::process::ExitCode;

use crate::context::Context;

#[derive(Debug, clap::Args)]
pub struct TracesArgs {}

pub async fn run(_args: TracesArgs, _ctx: &Context) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`taskpilot traces` is not available in this build yet")
}
