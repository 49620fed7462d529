//! `taskpilot review`: the interactive review queue.

use std::process::ExitCode;

use crate::context::Context;

#[derive(Debug, clap::Args)]
pub struct ReviewArgs {}

pub async fn run(_args: ReviewArgs, _ctx: &Context) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`taskpilot review` is not available in this build yet")
}
