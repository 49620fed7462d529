//! `taskpilot doctor`: health checks.

use std::process::ExitCode;

use crate::context::Context;

#[derive(Debug, clap::Args)]
pub struct DoctorArgs {}

pub async fn run(_args: DoctorArgs, _ctx: &Context) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`taskpilot doctor` is not available in this build yet")
}
