//! `taskpilot runs list|show|watch`: the runs recorded in the store (submitted to any replica
//! with `POST /api/v1/runs`, synchronous or `"wait": false`), read straight from the store.

use std::process::ExitCode;
use std::time::Duration;

use taskpilot_store::shared::{RunBook, RunRecord, RunStep};

use crate::context::Context;
use crate::exit::usage;
use crate::output::print_json;

/// How often `watch` looks for new steps.
const WATCH_POLL: Duration = Duration::from_millis(200);

#[derive(Debug, clap::Subcommand)]
pub(crate) enum RunsCommand {
    /// The newest runs first.
    List {
        /// At most this many runs.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Print the runs as JSON, as `GET /api/v1/runs` answers.
        #[arg(long)]
        json: bool,
    },
    /// One run with its steps and result.
    Show {
        /// The run's id, as `taskpilot runs list` or `POST /api/v1/runs` gave it.
        run_id: String,
        /// Print the run as JSON, as `GET /api/v1/runs/{id}` answers.
        #[arg(long)]
        json: bool,
    },
    /// Print a run's steps as they are appended, until it ends.
    Watch {
        /// The run's id, as `taskpilot runs list` or `POST /api/v1/runs` gave it.
        run_id: String,
        /// One JSON object per line: each step, then the run.
        #[arg(long)]
        json: bool,
    },
}

fn step_line(step: &RunStep) -> String {
    format!(
        "{:>3}  {}  {:<13} {}",
        step.seq,
        step.at.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
        step.step,
        step.detail
    )
}

fn summary_line(run: &RunRecord) -> String {
    let verdict = run
        .result
        .as_ref()
        .and_then(|r| r.get("status"))
        .and_then(|s| s.as_str())
        .unwrap_or("-");
    format!(
        "{}  {:<9} {:<9} {:<26} {}",
        run.run_id,
        run.status.as_str(),
        verdict,
        run.task_id.as_deref().unwrap_or("-"),
        run.request.chars().take(60).collect::<String>()
    )
}

fn print_run(run: &RunRecord) {
    println!("{}", summary_line(run));
    println!(
        "  created {}  updated {}  attempts {}",
        run.created_at.format("%Y-%m-%dT%H:%M:%SZ"),
        run.updated_at.format("%Y-%m-%dT%H:%M:%SZ"),
        run.attempts
    );
    for step in &run.steps {
        println!("{}", step_line(step));
    }
    if let Some(reason) = run
        .result
        .as_ref()
        .and_then(|r| r.get("reason").or_else(|| r.get("error")))
        .and_then(|s| s.as_str())
    {
        println!("  reason: {reason}");
    }
}

pub(crate) async fn run(command: RunsCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    let store = ctx.open_store().await?;
    let Some(book) = RunBook::of(store.clone()) else {
        return Err(usage(format!(
            "{} keeps no runs; runs are recorded by stores that do (every built-in backend)",
            store.describe()
        )));
    };
    match command {
        RunsCommand::List { limit, json } => {
            let runs = book.list(limit).await?;
            if json {
                // The API's shape (GET /api/v1/runs).
                print_json(&serde_json::json!({"count": runs.len(), "runs": runs}))?;
            } else if runs.is_empty() {
                println!("no runs in {}", store.describe());
            } else {
                for run in &runs {
                    println!("{}", summary_line(run));
                }
            }
        }
        RunsCommand::Show { run_id, json } => {
            let run = book.get(&run_id).await?;
            if json {
                print_json(&run)?;
            } else {
                print_run(&run);
            }
        }
        RunsCommand::Watch { run_id, json } => {
            let mut sent = 0;
            loop {
                let run = book.get(&run_id).await?;
                let seen = sent;
                for step in run.steps.iter().filter(|s| s.seq > seen) {
                    if json {
                        println!("{}", serde_json::to_string(step)?);
                    } else {
                        println!("{}", step_line(step));
                    }
                    sent = step.seq;
                }
                if run.status.is_done() {
                    if json {
                        println!("{}", serde_json::to_string(&run)?);
                    } else {
                        println!("{}", summary_line(&run));
                    }
                    break;
                }
                tokio::time::sleep(WATCH_POLL).await;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
