//! `taskpilot guard`: checks text against the guardrails.

use std::process::ExitCode;

use crate::context::Context;

#[derive(Debug, clap::Subcommand)]
pub enum GuardCommand {}

pub async fn run(command: GuardCommand, _ctx: &Context) -> anyhow::Result<ExitCode> {
    match command {}
}
