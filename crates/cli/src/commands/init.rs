//! `taskpilot init`: writes the built-in defaults into the base directory.

use std::process::ExitCode;

use crate::context::Context;

#[derive(Debug, clap::Args)]
pub struct InitArgs {}

pub async fn run(_args: InitArgs, _ctx: &Context) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`taskpilot init` is not available in this build yet")
}
