//! `taskpilot serve`: the HTTP API and web page.

use std::process::ExitCode;

use crate::context::Context;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {}

pub async fn run(_args: ServeArgs, _ctx: &Context) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`taskpilot serve` is not available in this build yet")
}
