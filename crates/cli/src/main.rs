//! `taskpilot`: the command-line interface. Each subcommand lives in `commands/` and only wires
//! the library crates together; nothing here owns domain logic.

mod commands;
mod context;
mod exit;
mod output;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::commands::*;

/// TaskPilot turns a plain-language request into a tracked task through a governed workflow.
#[derive(Debug, Parser)]
#[command(name = "taskpilot", version, about)]
struct Cli {
    /// Show informational logs on stderr (RUST_LOG overrides).
    #[arg(long, short, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

impl Command {
    /// Commands that do work worth logging to `LOGS_DIR`; they refuse to start when it cannot
    /// be written. The others log to the console only if it cannot.
    fn needs_log_file(&self) -> bool {
        matches!(
            self,
            Command::Run(_)
                | Command::Serve(_)
                | Command::Review(_)
                | Command::Tasks(_)
                | Command::Store(_)
        )
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the workflow on a request: guardrails, planner, policy, reviewer, executor.
    Run(run::RunArgs),
    /// Serve the HTTP API and the web page.
    Serve(serve::ServeArgs),
    /// Work the review queue interactively.
    Review(review::ReviewArgs),
    /// Add, list, show, decide and delete tasks.
    #[command(subcommand)]
    Tasks(tasks::TasksCommand),
    /// Show every setting, its value and where it came from.
    Config(config::ConfigArgs),
    /// Write the built-in prompts, policies, guardrails and a commented .env.example.
    Init(init::InitArgs),
    /// Check that TaskPilot can work here: store, policies, guardrails, paths.
    Doctor(doctor::DoctorArgs),
    /// Compact, back up, restore, check or migrate the task store.
    #[command(subcommand)]
    Store(store::StoreCommand),
    /// Show and summarise the decision log.
    Decisions(decisions::DecisionsArgs),
    /// List, show and follow runs recorded in the store.
    #[command(subcommand)]
    Runs(runs::RunsCommand),
    /// Show recorded traces as trees.
    Traces(traces::TracesArgs),
    /// Show the persisted metrics.
    Metrics(metrics::MetricsArgs),
    /// Show LLM cost by agent and model.
    CostReport(cost_report::CostReportArgs),
    /// Show the golden signals with their bands.
    GoldenSignals(golden_signals::GoldenSignalsArgs),
    /// Evaluate the Rego policy.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Check a text against the guardrails.
    #[command(subcommand)]
    Guard(guard::GuardCommand),
    /// Show the prompts the agents use.
    #[command(subcommand)]
    Prompts(prompts::PromptsCommand),
    /// Measure performance side by side (SPEC section 11).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

/// JSON logs in `LOGS_DIR` plus the console; see [`Command::needs_log_file`].
fn start_logging(
    cli: &Cli,
    ctx: &context::Context,
) -> anyhow::Result<Option<taskpilot_observe::LogGuard>> {
    let logs_dir = &ctx.settings.logs_dir.value;
    match taskpilot_observe::init_logging(logs_dir, cli.verbose) {
        Ok(guard) => Ok(Some(guard)),
        Err(e) if cli.command.needs_log_file() => Err(e.into()),
        Err(_) => {
            taskpilot_observe::init_console_logging(cli.verbose);
            Ok(None)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return exit::report(anyhow::anyhow!("cannot start the async runtime: {e}")),
    };
    let result = runtime.block_on(async move {
        let ctx = context::Context::load()?;
        let _log_guard = start_logging(&cli, &ctx)?;
        match cli.command {
            Command::Run(args) => run::run(args, &ctx).await,
            Command::Serve(args) => serve::run(args, &ctx).await,
            Command::Review(args) => review::run(args, &ctx).await,
            Command::Tasks(cmd) => tasks::run(cmd, &ctx).await,
            Command::Config(args) => config::run(args, &ctx).await,
            Command::Init(args) => init::run(args, &ctx).await,
            Command::Doctor(args) => doctor::run(args, &ctx).await,
            Command::Store(cmd) => store::run(cmd, &ctx).await,
            Command::Decisions(args) => decisions::run(args, &ctx).await,
            Command::Runs(cmd) => runs::run(cmd, &ctx).await,
            Command::Traces(args) => traces::run(args, &ctx).await,
            Command::Metrics(args) => metrics::run(args, &ctx).await,
            Command::CostReport(args) => cost_report::run(args, &ctx).await,
            Command::GoldenSignals(args) => golden_signals::run(args, &ctx).await,
            Command::Policy(cmd) => policy::run(cmd, &ctx).await,
            Command::Guard(cmd) => guard::run(cmd, &ctx).await,
            Command::Prompts(cmd) => prompts::run(cmd, &ctx).await,
            Command::Bench(cmd) => bench::run(cmd, &ctx).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => exit::report(e),
    }
}
