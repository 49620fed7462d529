//! `taskpilot golden-signals`: the golden signals with their bands.

use std::process::ExitCode;

use crate::context::Context;

#[derive(Debug, clap::Args)]
pub struct GoldenSignalsArgs {}

pub async fn run(_args: GoldenSignalsArgs, _ctx: &Context) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`taskpilot golden-signals` is not available in this build yet")
}
