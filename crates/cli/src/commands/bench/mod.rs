//! `taskpilot bench`: side-by-side measurements (SPEC section 11), run on demand, never in CI.

use std::process::ExitCode;

use crate::context::Context;

#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {}

pub async fn run(command: BenchCommand, _ctx: &Context) -> anyhow::Result<ExitCode> {
    match command {}
}
