//! `taskpilot bench`: side-by-side measurements (SPEC section 11), run on demand, never in CI.

mod execute;
mod http;
mod policy;
mod receiver;
mod runs;
mod scratch;
mod store;
mod workflow;

use std::process::ExitCode;

use crate::context::Context;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum BenchCommand {
    /// Durable creates/s of the file store against fdatasync, the Python strategy and SQLite.
    Store(store::BenchStoreArgs),
    /// Median and p99 time of one evaluation of the default policy.
    Policy(policy::BenchPolicyArgs),
    /// Server throughput: task creations per second and p99 over N HTTP clients.
    Http(http::BenchHttpArgs),
    /// Workflow runs per second with the offline provider, in a temporary base directory.
    Workflow(workflow::BenchWorkflowArgs),
    /// Queued async runs completed per second with 1 and 3 replicas on one store.
    Runs(runs::BenchRunsArgs),
    /// Approved tasks executed per second by the serve sweep with 1 and 3 replicas on one
    /// store, duplicate notifications, and the cost of the execution claim.
    Execute(execute::BenchExecuteArgs),
}

pub(crate) async fn run(command: BenchCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    match command {
        BenchCommand::Store(args) => store::run(args, ctx).await,
        BenchCommand::Policy(args) => policy::run(args, ctx).await,
        BenchCommand::Workflow(args) => workflow::run(args, ctx).await,
        BenchCommand::Http(args) => http::run(args, ctx).await,
        BenchCommand::Runs(args) => runs::run(args, ctx).await,
        BenchCommand::Execute(args) => execute::run(args, ctx).await,
    }
}
