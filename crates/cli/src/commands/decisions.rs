//! `taskpilot decisions`: filters and summarises the decision log.

use std::process::ExitCode;

use crate::context::Context;

#[derive(Debug, clap::Args)]
pub struct DecisionsArgs {}

pub async fn run(_args: DecisionsArgs, _ctx: &Context) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`taskpilot decisions` is not available in this build yet")
}
