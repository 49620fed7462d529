//! `taskpilot prompts`: shows the agents' prompts.

use std::process::ExitCode;

use crate::context::Context;

#[derive(Debug, clap::Subcommand)]
pub enum PromptsCommand {}

pub async fn run(command: PromptsCommand, _ctx: &Context) -> anyhow::Result<ExitCode> {
    match command {}
}
