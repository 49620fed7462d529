//! `taskpilot tasks`: add, list, show, count, decide and delete tasks in the configured store.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context as _;
use taskpilot_core::{NewTask, Status, TaskId};
use taskpilot_store::{ListQuery, Stats, StoreError, TaskStore};

use crate::context::Context;
use crate::exit::usage;
use crate::output::{print_json, print_task, print_task_table, table};

#[derive(Debug, clap::Subcommand)]
pub enum TasksCommand {
    /// Create a task by hand (status pending).
    Add {
        #[arg(long)]
        title: String,
        /// high, medium or low (any case).
        #[arg(long)]
        priority: String,
        #[arg(long, default_value = "")]
        description: String,
        #[arg(long)]
        json: bool,
    },
    /// List tasks, newest first.
    List {
        /// Only tasks in this status.
        #[arg(long)]
        status: Option<String>,
        /// At most this many.
        #[arg(long)]
        limit: Option<usize>,
        #[arg(long)]
        json: bool,
    },
    /// Show one task.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Count tasks per status.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// A person approves a task in review (or still pending).
    Approve {
        id: String,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// A person rejects a task in review (or still pending).
    Reject {
        id: String,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Delete one task, or every task in a status.
    Delete {
        #[arg(required_unless_present = "status", conflicts_with = "status")]
        id: Option<String>,
        #[arg(long)]
        status: Option<String>,
        /// Do not ask for confirmation.
        #[arg(long, short)]
        yes: bool,
    },
    /// Delete all but the newest N tasks.
    Prune {
        #[arg(long, default_value_t = 200)]
        keep: usize,
        #[arg(long, short)]
        yes: bool,
    },
    /// Delete every task.
    Clear {
        #[arg(long, short)]
        yes: bool,
    },
}

pub async fn run(command: TasksCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    let fail = |e| crate::exit::store_error(e, &ctx.settings);
    match command {
        TasksCommand::List { .. } | TasksCommand::Show { .. } | TasksCommand::Stats { .. } => {
            let store = ctx.open_existing_store().await?;
            let result = read(command, ctx, store.as_deref()).await;
            if let Some(store) = store {
                store.close().await.map_err(fail)?;
            }
            return result;
        }
        TasksCommand::Approve { id, reason, json } => {
            decide(ctx, &id, Status::Approved, reason, json)
                .await
                .map_err(|e| with_store(e, ctx))?;
            return Ok(ExitCode::SUCCESS);
        }
        TasksCommand::Reject { id, reason, json } => {
            decide(ctx, &id, Status::Rejected, reason, json)
                .await
                .map_err(|e| with_store(e, ctx))?;
            return Ok(ExitCode::SUCCESS);
        }
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
            json,
        } => {
            let status = status.as_deref().map(str::parse::<Status>).transpose()?;
            let tasks = match store {
                Some(store) => store
                    .list(&ListQuery { status, limit })
                    .await
                    .map_err(fail)?,
                None => Vec::new(),
            };
            if json {
                print_json(&tasks)?;
            } else if tasks.is_empty() {
                println!(
                    "No tasks{}.",
                    status.map(|s| format!(" in '{s}'")).unwrap_or_default()
                );
            } else {
                print_task_table(&tasks);
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
                print_task(&task);
            }
        }
        TasksCommand::Stats { json } => {
            let stats = match store {
                Some(store) => store.stats().await.map_err(fail)?,
                None => Stats::count(std::iter::empty()),
            };
            if json {
                print_json(&stats)?;
            } else {
                let mut t = table(&["status", "tasks"]);
                for status in Status::ALL {
                    t.add_row(vec![status.to_string(), stats.get(status).to_string()]);
                }
                t.add_row(vec!["total".to_owned(), stats.total().to_string()]);
                println!("{t}");
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
                print_task(&task);
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
/// executor (SPEC section 1 step 6), so the task ends `executed` or `failed`. `--json` prints
/// the task as stored at the end.
async fn decide(
    ctx: &Context,
    id: &str,
    to: Status,
    reason: Option<String>,
    json: bool,
) -> anyhow::Result<()> {
    let id = TaskId::parse(id)?;
    let rt = super::run::runtime(ctx).await?;
    let outcome = if to == Status::Approved {
        rt.approve(&id, reason.as_deref(), None).await
    } else {
        rt.reject(&id, reason.as_deref(), None).await
    };
    let shutdown = rt.shutdown().await;
    let result = outcome.map_err(|e| super::run::agent_error(e, ctx))?;
    if let Err(e) = shutdown {
        eprintln!("warning: {e}");
    }
    let Some(task) = result.task else {
        anyhow::bail!("task {id} disappeared while it was being decided");
    };
    if json {
        print_json(&task)?;
    } else {
        let verb = if to == Status::Approved {
            "approved"
        } else {
            "rejected"
        };
        println!(
            "Task {} {verb} ({}); now '{}'",
            task.id, task.title, task.status
        );
        if let Some(error) = &task.error
            && task.status == Status::Failed
        {
            println!("error: {error}");
        }
    }
    Ok(())
}

fn with_store(e: anyhow::Error, ctx: &Context) -> anyhow::Error {
    match e.downcast::<taskpilot_store::StoreError>() {
        Ok(store_error) => crate::exit::store_error(store_error, &ctx.settings),
        Err(other) => other,
    }
}

/// Asks on a terminal; elsewhere only `--yes` proceeds.
pub fn confirm(yes: bool, question: &str) -> anyhow::Result<()> {
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
