//! `taskpilot policy`: evaluates the Rego policy.

use std::process::ExitCode;

use crate::context::Context;

#[derive(Debug, clap::Subcommand)]
pub enum PolicyCommand {}

pub async fn run(command: PolicyCommand, _ctx: &Context) -> anyhow::Result<ExitCode> {
    match command {}
}
