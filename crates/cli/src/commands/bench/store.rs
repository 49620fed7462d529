//! `taskpilot bench store`.

use std::process::ExitCode;

use crate::context::Context;

#[derive(Debug, clap::Args)]
pub struct BenchStoreArgs {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(_args: BenchStoreArgs, _ctx: &Context) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`taskpilot bench store` is not available in this build yet")
}
