//! `taskpilot`: the command-line interface. Each subcommand lives in `commands/` and only wires
//! the library crates together; nothing here owns domain logic.

mod commands;
mod context;
mod exit;
mod history;
mod output;
mod requests_file;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use crate::commands::{
    bench, config, cost_report, decisions, doctor, golden_signals, guard, init, metrics, policy,
    prompts, review, run, runs, serve, store, tasks, traces,
};

/// TaskPilot turns plain-language requests into tracked tasks through a governed workflow.
///
/// Each request passes input guardrails, a planner, a policy and a reviewer; safe tasks are
/// executed, sensitive ones wait in a review queue for a person. Work from this terminal
/// (`run`, `review`, `tasks`) or serve the HTTP API and web page (`serve`).
#[derive(Debug, Parser)]
#[command(
    name = "taskpilot",
    version,
    after_help = "Start with `taskpilot doctor`, then `taskpilot run \"Create a task to ...\"`.\nSettings come from the environment and .env (see `taskpilot config`)."
)]
struct Cli {
    /// Show informational logs and notes on stderr (`RUST_LOG` overrides the log level).
    #[arg(long, short, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

impl Command {
    /// Commands that change something: they log to `LOGS_DIR` and refuse to start when it
    /// cannot be written. The others log to the file only when `LOGS_DIR` already exists, so a
    /// command that only reads creates nothing.
    fn changes_something(&self) -> bool {
        use store::StoreCommand;
        use tasks::TasksCommand;
        match self {
            Command::Run(_) | Command::Serve(_) | Command::Review(_) | Command::Init(_) => true,
            Command::Tasks(cmd) => !matches!(
                cmd,
                TasksCommand::List { .. } | TasksCommand::Show { .. } | TasksCommand::Stats { .. }
            ),
            Command::Store(cmd) => !matches!(cmd, StoreCommand::Check { .. }),
            _ => false,
        }
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
    /// Measure performance: store, HTTP and workflow benchmarks.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    ///
    /// For bash: `taskpilot completions bash > ~/.local/share/bash-completion/completions/taskpilot`.
    Completions {
        /// The shell to write completions for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `taskpilot man | man -l -`.
    Man,
}

/// JSON logs in `LOGS_DIR` plus the console; see [`Command::changes_something`].
fn start_logging(
    cli: &Cli,
    ctx: &context::Context,
) -> anyhow::Result<Option<taskpilot_observe::LogGuard>> {
    let logs_dir = &ctx.settings.logs_dir.value;
    let writes = cli.command.changes_something();
    if !writes && !logs_dir.is_dir() {
        taskpilot_observe::init_console_logging(cli.verbose);
        return Ok(None);
    }
    match taskpilot_observe::init_logging(logs_dir, cli.verbose) {
        Ok(guard) => Ok(Some(guard)),
        Err(e) if writes => Err(e.into()),
        Err(_) => {
            taskpilot_observe::init_console_logging(cli.verbose);
            Ok(None)
        }
    }
}

/// Commands that describe the CLI itself and need no settings.
fn print_self_description(command: &Command) -> anyhow::Result<bool> {
    match command {
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(*shell, &mut cmd, "taskpilot", &mut std::io::stdout());
            Ok(true)
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    output::set_verbose(cli.verbose);
    match print_self_description(&cli.command) {
        Ok(true) => return ExitCode::SUCCESS,
        Ok(false) => {}
        Err(e) => return exit::report(e),
    }
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
            Command::Completions { .. } | Command::Man => Ok(ExitCode::SUCCESS),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => exit::report(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command and every option says what it is for.
    #[test]
    fn every_command_and_option_has_help_text() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            let here = format!("{path} {}", cmd.get_name());
            if cmd.get_about().is_none() && path.contains(' ') {
                missing.push(format!("{here} (command)"));
            }
            for arg in cmd.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !builtin && arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{here} {}", arg.get_id()));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &here, missing);
            }
        }
        let cmd = Cli::command();
        cmd.clone().debug_assert();
        let mut missing = Vec::new();
        walk(&cmd, "", &mut missing);
        assert_eq!(
            missing,
            Vec::<String>::new(),
            "commands or options without help"
        );
        let about = cmd
            .get_about()
            .map(std::string::ToString::to_string)
            .unwrap_or_default();
        assert!(about.starts_with("TaskPilot turns"), "{about}");
    }

    #[test]
    fn no_help_text_cites_the_spec() {
        let mut help = Vec::new();
        let mut cmd = Cli::command();
        clap_mangen::Man::new(cmd.clone())
            .render(&mut help)
            .unwrap();
        for sub in cmd.get_subcommands_mut() {
            help.extend(sub.render_long_help().to_string().into_bytes());
        }
        let help = String::from_utf8_lossy(&help);
        assert!(!help.contains("SPEC"), "help cites the SPEC");
        assert!(!help.contains("clap commands"), "help describes the code");
    }
}
