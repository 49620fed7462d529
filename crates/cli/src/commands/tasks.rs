//! `taskpilot tasks`: add, list, show, count, decide and delete tasks in the configured store.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context as _;
use taskpilot_core::{NewTask, Status, TaskId};
use taskpilot_store::shared::RunRecord;
use taskpilot_store::{ListQuery, Stats, StoreError, TaskStore};

use comfy_table::Cell;
use serde_json::json;
use taskpilot_observe::{Decision, DecisionType, read_decisions};

use crate::context::Context;
use crate::exit::usage;
use crate::history;
use crate::output::{
    decidable, print_json, print_table, print_task_table, safe, safe_line, status_cell, table,
    task_fields, width, wrap,
};

/// How many tasks `tasks list` shows unless told otherwise.
pub(crate) const DEFAULT_LIST_LIMIT: usize = 20;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum TasksCommand {
    /// Create a task by hand; it starts as pending, waiting for a person's decision.
    Add {
        /// What the task is, in a few words.
        #[arg(long)]
        title: String,
        /// high, medium or low (any case).
        #[arg(long)]
        priority: String,
        /// Longer text: the request or the details a reviewer needs.
        #[arg(long, default_value = "")]
        description: String,
        /// Print the created task as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List tasks, newest first (the newest 20 unless --limit or --all).
    List {
        /// Only tasks in this status: pending, review, approved, executed, failed, rejected.
        #[arg(long)]
        status: Option<String>,
        /// Show at most this many tasks (default 20).
        #[arg(long, conflicts_with = "all")]
        limit: Option<usize>,
        /// Show every task.
        #[arg(long)]
        all: bool,
        /// Print `{count, total, tasks}` as JSON, like `GET /api/v1/tasks`.
        #[arg(long)]
        json: bool,
    },
    /// Show one task: its fields, why it waits for review, who decided it, and its history.
    Show {
        /// The task id (`task_YYYYMMDD_HHMMSS_ffffff`).
        id: String,
        /// Print the task as JSON, like `GET /api/v1/tasks/{id}` (its decisions:
        /// `taskpilot decisions --task ID --json`).
        #[arg(long)]
        json: bool,
    },
    /// Count tasks per status.
    Stats {
        /// Print JSON as the API does: `{"total", "by_status": {status: count}}`.
        #[arg(long)]
        json: bool,
    },
    /// Approve a task in review (or still pending); the executor runs it at once.
    Approve(DecisionArgs),
    /// Reject a task in review (or still pending).
    Reject(DecisionArgs),
    /// Delete one task, or every task in a status.
    Delete {
        /// The task id to delete.
        #[arg(required_unless_present = "status", conflicts_with = "status")]
        id: Option<String>,
        /// Delete every task in this status instead.
        #[arg(long)]
        status: Option<String>,
        /// Do not ask for confirmation.
        #[arg(long, short)]
        yes: bool,
    },
    /// Delete all but the newest N tasks.
    Prune {
        /// How many of the newest tasks to keep.
        #[arg(long, default_value_t = 200)]
        keep: usize,
        /// Do not ask for confirmation.
        #[arg(long, short)]
        yes: bool,
    },
    /// Delete every task.
    Clear {
        /// Do not ask for confirmation.
        #[arg(long, short)]
        yes: bool,
    },
}

/// What `tasks approve` and `tasks reject` take.
#[derive(Debug, clap::Args)]
pub(crate) struct DecisionArgs {
    /// The task id.
    id: String,
    /// Why; recorded with the decision and shown in the task's history.
    #[arg(long)]
    reason: Option<String>,
    /// Who is deciding, recorded with the decision (default: $USER).
    #[arg(long)]
    reviewer: Option<String>,
    /// Print the task as stored at the end as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(command: TasksCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    let fail = |e| crate::exit::store_error(e, &ctx.settings);
    match command {
        TasksCommand::List { .. } | TasksCommand::Show { .. } | TasksCommand::Stats { .. } => {
            let store = ctx.open_existing_store().await?;
            let result = read(command, ctx, store.as_deref()).await;
            // A read changed nothing: a fold that cannot be written now (a full disk) leaves
            // every task in the journal, so it is a warning, not a failed command.
            if let Some(store) = store
                && let Err(e) = store.close().await
            {
                tracing::warn!(store = %store.describe(), "could not fold the journal at close: {e}");
            }
            return result;
        }
        TasksCommand::Approve(args) => return decide(ctx, Status::Approved, &args).await,
        TasksCommand::Reject(args) => return decide(ctx, Status::Rejected, &args).await,
        _ => {}
    }
    let store = ctx.open_store().await?;
    let result = write(command, ctx, store.as_ref()).await;
    // Fold the journal: `.tasks.json` alone holds every task once the command is done.
    store.close().await.map_err(fail)?;
    result
}

/// `list`, `show` and `stats`; `store` is `None` when there is no store (nothing is created).
async fn read(
    command: TasksCommand,
    ctx: &Context,
    store: Option<&dyn TaskStore>,
) -> anyhow::Result<ExitCode> {
    let fail = |e| crate::exit::store_error(e, &ctx.settings);
    match command {
        TasksCommand::List {
            status,
            limit,
            all,
            json,
        } => {
            let status = status.as_deref().map(str::parse::<Status>).transpose()?;
            let limit = if all {
                None
            } else {
                Some(limit.unwrap_or(DEFAULT_LIST_LIMIT))
            };
            let (tasks, total) = match store {
                Some(store) => {
                    let stats = store.stats().await.map_err(fail)?;
                    let total = status.map_or_else(|| stats.total(), |s| stats.get(s));
                    let tasks = store
                        .list(&ListQuery { status, limit })
                        .await
                        .map_err(fail)?;
                    (tasks, total)
                }
                None => (Vec::new(), 0),
            };
            if json {
                print_json(&json!({"count": tasks.len(), "total": total, "tasks": tasks}))?;
            } else if tasks.is_empty() {
                println!(
                    "No tasks{}.",
                    status.map(|s| format!(" in '{s}'")).unwrap_or_default()
                );
            } else {
                print_task_table(&tasks);
                if tasks.len() < total {
                    println!(
                        "Showing the newest {} of {total} tasks; --limit N or --all for more.",
                        tasks.len()
                    );
                }
            }
        }
        TasksCommand::Show { id, json } => {
            let id = TaskId::parse(&id)?;
            let Some(store) = store else {
                return Err(fail(StoreError::NotFound { id }));
            };
            let task = store.get(&id).await.map_err(fail)?;
            if json {
                print_json(&task)?;
            } else {
                // A shared store keeps the decisions of every replica; the file store's are in
                // DECISION_LOGS_FILE.
                let (all_decisions, _) = match store.decision_records() {
                    Some(records) => {
                        let entries = records
                            .decisions_for_task(id.as_str())
                            .await
                            .map_err(fail)?;
                        let parsed = entries
                            .iter()
                            .filter_map(|e| serde_json::from_str::<Decision>(&e.json).ok())
                            .collect();
                        (parsed, Vec::new())
                    }
                    None => {
                        read_decisions(&ctx.settings.decision_logs_file.value).unwrap_or_default()
                    }
                };
                // Every run of the task, found by its id (not among the newest few).
                let runs = match store.run_records() {
                    Some(records) => records.runs_for_task(id.as_str()).await.map_err(fail)?,
                    None => Vec::new(),
                };
                show_task(
                    &task,
                    &history::for_task(&all_decisions, task.id.as_str()),
                    &runs,
                );
            }
        }
        TasksCommand::Stats { json } => {
            let stats = match store {
                Some(store) => store.stats().await.map_err(fail)?,
                None => Stats::count(std::iter::empty()),
            };
            if json {
                // The API's shape (GET /api/v1/stats).
                print_json(&json!({"total": stats.total(), "by_status": stats}))?;
            } else {
                let mut t = table(&["status", "tasks"]);
                for status in Status::ALL {
                    t.add_row(vec![
                        status_cell(status.as_str()),
                        Cell::new(stats.get(status)),
                    ]);
                }
                t.add_row(vec![Cell::new("total"), Cell::new(stats.total())]);
                print_table(&t);
            }
        }
        _ => unreachable!("only reading commands are passed here"),
    }
    Ok(ExitCode::SUCCESS)
}

/// The commands that change tasks directly (not through the workflow).
async fn write(
    command: TasksCommand,
    ctx: &Context,
    store: &dyn TaskStore,
) -> anyhow::Result<ExitCode> {
    let fail = |e| crate::exit::store_error(e, &ctx.settings);
    match command {
        TasksCommand::Add {
            title,
            priority,
            description,
            json,
        } => {
            let task = store
                .create(NewTask {
                    title,
                    priority,
                    description,
                })
                .await
                .map_err(fail)?;
            tracing::info!(task_id = %task.id, priority = %task.priority, store = %store.describe(), "task created by hand");
            if json {
                print_json(&task)?;
            } else {
                println!("Created task {}", task.id);
                task_fields(&task).print();
            }
        }
        TasksCommand::Delete { id: Some(id), .. } => {
            let id = TaskId::parse(&id)?;
            store.delete(&id).await.map_err(fail)?;
            tracing::info!(task_id = %id, "task deleted");
            println!("Deleted task {id}");
        }
        TasksCommand::Delete {
            id: None,
            status,
            yes,
        } => {
            let status: Status = status.as_deref().unwrap_or_default().parse()?;
            let n = store.stats().await.map_err(fail)?.get(status);
            confirm(yes, &format!("Delete the {n} tasks in '{status}'?"))?;
            let deleted = store.delete_status(status).await.map_err(fail)?;
            tracing::info!(%status, deleted, "tasks deleted by status");
            println!("Deleted {deleted} tasks in '{status}'");
        }
        TasksCommand::Prune { keep, yes } => {
            let total = store.stats().await.map_err(fail)?.total();
            let excess = total.saturating_sub(keep);
            confirm(
                yes,
                &format!("Delete the {excess} oldest tasks and keep the newest {keep}?"),
            )?;
            let deleted = store.prune(keep).await.map_err(fail)?;
            tracing::info!(keep, deleted, "tasks pruned");
            println!(
                "Deleted {deleted} tasks; kept the newest {}",
                total - deleted
            );
        }
        TasksCommand::Clear { yes } => {
            let total = store.stats().await.map_err(fail)?.total();
            confirm(yes, &format!("Delete all {total} tasks?"))?;
            let deleted = store.clear().await.map_err(fail)?;
            tracing::info!(deleted, "every task deleted");
            println!("Deleted {deleted} tasks");
        }
        _ => unreachable!("reading commands and decisions are handled by `run`"),
    }
    Ok(ExitCode::SUCCESS)
}

/// A person's decision on a task in `review` (or still `pending`; approve also retries a
/// `failed` task). Both are logged as `human_approval` decisions; an approval continues at the
/// executor, so the task ends `executed` or `failed`. `--json` prints
/// the task as stored at the end. Errors name the store.
async fn decide(ctx: &Context, to: Status, args: &DecisionArgs) -> anyhow::Result<ExitCode> {
    decide_task(ctx, to, args)
        .await
        .map_err(|e| with_store(e, ctx))?;
    Ok(ExitCode::SUCCESS)
}

/// Who a human decision is recorded as: `--reviewer` when given, else `USER`; blank is no one.
pub(crate) fn reviewer_or_user(given: Option<&str>) -> Option<String> {
    given
        .map(str::to_owned)
        .or_else(taskpilot_config::console::user)
        .filter(|u| !u.trim().is_empty())
}

async fn decide_task(ctx: &Context, to: Status, args: &DecisionArgs) -> anyhow::Result<()> {
    let DecisionArgs {
        id,
        reason,
        reviewer,
        json,
    } = args;
    let id = TaskId::parse(id)?;
    let rt = super::run::runtime(ctx).await?;
    let user = reviewer_or_user(reviewer.as_deref());
    let user = user.as_deref();
    let outcome = if to == Status::Approved {
        rt.approve(&id, reason.as_deref(), user).await
    } else {
        rt.reject(&id, reason.as_deref(), user).await
    };
    let shutdown = rt.shutdown().await;
    let result = outcome.map_err(|e| super::run::agent_error(e, ctx))?;
    if let Err(e) = shutdown {
        eprintln!("warning: {e}");
    }
    let Some(task) = result.task else {
        anyhow::bail!("task {id} disappeared while it was being decided");
    };
    if *json {
        print_json(&task)?;
    } else {
        let verb = if to == Status::Approved {
            "approved"
        } else {
            "rejected"
        };
        println!(
            "Task {} {verb} ({}); now '{}'",
            task.id,
            safe_line(&task.title),
            task.status
        );
        if let Some(error) = &task.error
            && task.status == Status::Failed
        {
            println!("error: {}", safe(error));
        }
    }
    Ok(())
}

/// `tasks show` for people: the fields, then why it waits or who decided, then the history.
fn show_task(task: &taskpilot_core::Task, decisions: &[&Decision], runs: &[RunRecord]) {
    let mut kv = task_fields(task);
    if task.status == Status::Review {
        let reasons = history::review_reasons(task.reviewer_response.as_deref(), decisions);
        if !reasons.is_empty() {
            kv.add("why review", &reasons.join("\n"));
        }
    }
    if let Some(d) = history::last_human(decisions) {
        let verb = if d.result.as_str() == "allow" {
            "approved"
        } else {
            "rejected"
        };
        let mut line = format!(
            "{verb} by {} at {}",
            d.user_id.as_deref().unwrap_or("an unnamed person"),
            d.timestamp.format("%Y-%m-%d %H:%M:%S UTC")
        );
        if !d.reason.is_empty() {
            line.push_str(&format!(" ({})", d.reason));
        }
        kv.add("decided", &line);
    }
    kv.print();
    if decidable(task.status) {
        println!();
        println!("Decide it with one of:");
        println!("  taskpilot tasks approve {} --reason \"...\"", task.id);
        println!("  taskpilot tasks reject {} --reason \"...\"", task.id);
    }
    // The runs that made the task, each with its steps in order (`taskpilot runs show ID`
    // prints a step's details).
    let columns = width().map_or(usize::MAX, usize::from);
    for run in runs {
        println!();
        println!("Run {}  {}", run.run_id, run.status.as_str());
        let by = run
            .user_id
            .as_deref()
            .map(|u| format!(" by {}", safe_line(u)))
            .unwrap_or_default();
        for line in wrap(
            &format!(
                "submitted {}{by}",
                run.created_at.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            columns.saturating_sub(2),
        ) {
            println!("  {line}");
        }
        let steps: Vec<String> = run.steps.iter().map(|s| safe_line(&s.step)).collect();
        if !steps.is_empty() {
            for line in wrap(
                &format!("steps: {}", steps.join(" → ")),
                columns.saturating_sub(2),
            ) {
                println!("  {line}");
            }
        }
    }
    if decisions.is_empty() {
        return;
    }
    // Passed guardrail checks are many and alike: counted, not listed.
    let passed = |d: &&&Decision| {
        matches!(
            d.decision_type,
            DecisionType::GuardrailsInput | DecisionType::GuardrailsOutput
        ) && d.result.as_str() == "allow"
    };
    let checks = decisions.iter().filter(passed).count();
    let shown: Vec<&Decision> = decisions.iter().filter(|d| !passed(d)).copied().collect();
    println!();
    println!("History, oldest first");
    super::decisions::print_decisions(&shown, &std::collections::HashMap::default(), false);
    if checks > 0 {
        println!("{checks} passed guardrail checks are not listed; every decision:");
        println!("  taskpilot decisions --task {} --all", task.id);
    }
}

fn with_store(e: anyhow::Error, ctx: &Context) -> anyhow::Error {
    match e.downcast::<taskpilot_store::StoreError>() {
        Ok(store_error) => crate::exit::store_error(store_error, &ctx.settings),
        Err(other) => other,
    }
}

/// Asks on a terminal; elsewhere only `--yes` proceeds.
pub(crate) fn confirm(yes: bool, question: &str) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(usage(format!(
            "{question} Refusing without confirmation: standard input is not a terminal; add --yes"
        )));
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("cannot read the answer")?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(usage("cancelled; nothing was deleted"))
    }
}
