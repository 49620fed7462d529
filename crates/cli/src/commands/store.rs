//! `taskpilot store`: compact, back up, restore, check and migrate the task store.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use taskpilot_config::{Secret, StoreLocation};
use taskpilot_core::{NewTask, Status, Task, TaskId, Transition};
use taskpilot_store::{
    FileStore, FileStoreOptions, OpenMode, TaskStore, read_seed_file, write_seed_file,
};

use crate::commands::{store_decisions, store_runs};
use crate::context::Context;
use crate::exit::usage;
use crate::output::print_json;

/// Tasks copied per round trip by `migrate` and `backup`.
const PAGE: usize = 500;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum StoreCommand {
    /// Fold the journal into the task file now, so `.tasks.json` alone is complete.
    Compact,
    /// Write every task to FILE in the seed's JSON format (a valid `TASKS_FILE`).
    Backup {
        /// Where to write the backup.
        file: PathBuf,
    },
    /// Load the tasks of a backup (seed format) into the store.
    Restore {
        /// The backup to load (a file written by `store backup`).
        file: PathBuf,
        /// Make the store exactly the backup: delete tasks the backup does not have.
        #[arg(long)]
        replace: bool,
        /// Do not ask for confirmation.
        #[arg(long, short)]
        yes: bool,
    },
    /// Verify the store's integrity.
    Check {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Copy every task from one store to another (URL or task file path), then verify.
    Migrate {
        /// The store to copy from: a database URL or a task file path.
        #[arg(long)]
        from: String,
        /// The store to copy to: a database URL or a task file path.
        #[arg(long)]
        to: String,
        /// Count what would be copied; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Test aid: create (and approve) tasks in a loop, printing each acknowledged write.
    #[command(hide = true)]
    Stress {
        /// How many tasks to create.
        #[arg(long, default_value_t = 1000)]
        count: usize,
    },
}

pub(crate) async fn run(command: StoreCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    match command {
        StoreCommand::Compact => {
            let store = existing(ctx).await?;
            store
                .compact()
                .await
                .map_err(|e| crate::exit::store_error(e, &ctx.settings))?;
            tracing::info!(store = %store.describe(), "store compacted on request");
            println!("Compacted {}", store.describe());
        }
        StoreCommand::Backup { file } => {
            let store = existing(ctx).await?;
            let file = ctx.settings.base_dir.value.join(file);
            let tasks = read_all(store.as_ref()).await?;
            write_seed_file(&file, &tasks)
                .with_context(|| format!("cannot write the backup {}", file.display()))?;
            tracing::info!(store = %store.describe(), backup = %file.display(), tasks = tasks.len(), "store backed up");
            println!("Backed up {} tasks to {}", tasks.len(), file.display());
            // A shared store holds the decision log and the runs too: they go beside the
            // backup. The file store keeps them in DECISION_LOGS_FILE and `.tasks.json.runs/`,
            // so its backup is the one task file and nothing beside it (`store migrate`
            // carries its runs to another store).
            if store_decisions::is_shared(&store) {
                let (decisions, from) = store_decisions::read_from(&store, &ctx.settings).await?;
                let beside = store_decisions::sibling(&file);
                store_decisions::write_file(&beside, &decisions)?;
                println!(
                    "Backed up {} decisions from {from} to {}",
                    decisions.len(),
                    beside.display()
                );
                let runs_file = store_runs::sibling(&file);
                let runs = store_runs::backup(store.as_ref(), &runs_file).await?;
                if runs > 0 {
                    println!("Backed up {runs} runs to {}", runs_file.display());
                }
            }
            store
                .close()
                .await
                .map_err(|e| crate::exit::store_error(e, &ctx.settings))?;
        }
        StoreCommand::Restore { file, replace, yes } => {
            let file = ctx.settings.base_dir.value.join(file);
            let contents = read_seed_file(&file)?;
            if let Some(bad) = contents.invalid.first() {
                return Err(usage(format!(
                    "{} has {} invalid task records (first: {}: {}); fix or remove them, nothing was restored",
                    file.display(),
                    contents.invalid.len(),
                    bad.key,
                    bad.reason
                )));
            }
            // A missing or unreadable task file is what a restore repairs: open in restore
            // mode, which sets such a file aside instead of refusing.
            let store: Arc<dyn TaskStore> = match ctx.settings.store_location() {
                StoreLocation::File(path) => Arc::new(
                    FileStore::open_with(
                        path,
                        FileStoreOptions {
                            mode: OpenMode::Restore,
                            ..FileStoreOptions::default()
                        },
                    )
                    .await
                    .map_err(|e| crate::exit::store_error(e, &ctx.settings))?,
                ),
                StoreLocation::Url(_) => ctx.open_store().await?,
            };
            let fail = |e| crate::exit::store_error(e, &ctx.settings);
            let mut removed = 0;
            if replace {
                let existing = read_all(store.as_ref()).await?;
                let extra: Vec<TaskId> = existing
                    .into_iter()
                    .map(|t| t.id)
                    .filter(|id| !contents.tasks.contains_key(id))
                    .collect();
                if !extra.is_empty() {
                    crate::commands::tasks::confirm(
                        yes,
                        &format!(
                            "Delete the {} tasks that are not in the backup?",
                            extra.len()
                        ),
                    )?;
                }
                for id in extra {
                    store.delete(&id).await.map_err(fail)?;
                    removed += 1;
                }
            }
            let total = contents.tasks.len();
            let changed = store
                .put_many(contents.tasks.into_values().collect())
                .await
                .map_err(fail)?;
            store.close().await.map_err(fail)?;
            tracing::info!(store = %store.describe(), backup = %file.display(), tasks = total, changed, removed, "store restored from a backup");
            println!(
                "Restored {total} tasks from {} ({changed} written, {} already identical, {removed} removed)",
                file.display(),
                total - changed
            );
            let beside = store_decisions::sibling(&file);
            if let Some(decisions) = store_decisions::read_file(&beside)? {
                let sent = store_decisions::write_to(&store, &ctx.settings, &decisions).await?;
                println!(
                    "Restored {} decisions from {} ({sent} sent; a decision already there is kept once)",
                    decisions.len(),
                    beside.display()
                );
            }
            let runs_file = store_runs::sibling(&file);
            if let Some(runs) = store_runs::read_file(&runs_file)? {
                let copied = store_runs::write_to(store.as_ref(), &runs).await?;
                println!(
                    "Restored {} runs from {} ({} written, {} already identical)",
                    copied.total,
                    runs_file.display(),
                    copied.written,
                    copied.total - copied.written
                );
            }
        }
        StoreCommand::Check { json } => {
            let store = existing(ctx).await?;
            let report = store
                .check()
                .await
                .map_err(|e| crate::exit::store_error(e, &ctx.settings))?;
            if json {
                print_json(&report)?;
            } else {
                println!("{}: {} tasks", store.describe(), report.tasks);
                for note in &report.notes {
                    println!("  {note}");
                }
                for problem in &report.problems {
                    println!("  problem: {problem}");
                }
                if report.problems.is_empty() {
                    println!("OK: no problems found");
                }
            }
            if !report.problems.is_empty() {
                return Ok(ExitCode::FAILURE);
            }
        }
        StoreCommand::Migrate { from, to, dry_run } => {
            migrate(ctx, &from, &to, dry_run).await?;
        }
        StoreCommand::Stress { count } => {
            let store = ctx.open_store().await?;
            let mut out = std::io::stdout().lock();
            for i in 0..count {
                let task = store
                    .create(NewTask::new(format!("stress {i}"), "low"))
                    .await?;
                writeln!(out, "created {}", task.id)?;
                out.flush()?;
                store
                    .transition(&task.id, &Transition::to(Status::Approved))
                    .await?;
                writeln!(out, "approved {}", task.id)?;
                out.flush()?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The configured store, which must exist (commands that only read create nothing).
async fn existing(ctx: &Context) -> anyhow::Result<Arc<dyn TaskStore>> {
    match ctx.open_existing_store().await? {
        Some(store) => Ok(store),
        None => Err(anyhow::anyhow!(
            "there is no task store to work on (see the note above)"
        )),
    }
}

/// Every task, oldest first, read page by page.
async fn read_all(store: &dyn TaskStore) -> anyhow::Result<Vec<Task>> {
    let mut all = Vec::new();
    loop {
        let page = store.scan(all.last().map(|t: &Task| &t.id), PAGE).await?;
        let done = page.len() < PAGE;
        all.extend(page);
        if done {
            return Ok(all);
        }
    }
}

/// A store named on the command line: a URL, or a path to a task file.
fn location(ctx: &Context, spec: &str) -> StoreLocation {
    if spec.contains("://") {
        StoreLocation::Url(Secret::new(spec))
    } else {
        StoreLocation::File(ctx.settings.base_dir.value.join(spec))
    }
}

async fn open(ctx: &Context, spec: &str, flag: &str) -> anyhow::Result<Arc<dyn TaskStore>> {
    taskpilot_store::open_with(
        &location(ctx, spec),
        &taskpilot_store::OpenOptions::from_settings(&ctx.settings),
    )
    .await
    .with_context(|| {
        format!(
            "cannot open the {flag} store {}",
            taskpilot_config::redact_url(spec)
        )
    })
}

/// The files a file store keeps beside its task file, and which of them existed before this
/// command: `migrate` removes the ones it made, so a file store named on the command line ends
/// as one complete file.
struct Beside {
    created: Vec<PathBuf>,
    before: Vec<bool>,
}

impl Beside {
    fn of(ctx: &Context, spec: &str) -> Option<Beside> {
        let StoreLocation::File(path) = location(ctx, spec) else {
            return None;
        };
        let path = std::fs::canonicalize(&path).unwrap_or(path);
        let created: Vec<PathBuf> = [".lock", ".bak", ".journal", ".journal.bak", ".tmp"]
            .iter()
            .map(|suffix| {
                let mut name = path.as_os_str().to_owned();
                name.push(suffix);
                PathBuf::from(name)
            })
            .collect();
        let before = created.iter().map(|p| p.exists()).collect();
        Some(Beside { created, before })
    }

    /// Call once the store is closed and dropped.
    fn clean_up(self) {
        for (path, existed) in self.created.iter().zip(self.before) {
            if !existed {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

async fn migrate(ctx: &Context, from: &str, to: &str, dry_run: bool) -> anyhow::Result<()> {
    let beside = [Beside::of(ctx, from), Beside::of(ctx, to)];
    let result = copy_and_verify(ctx, from, to, dry_run).await;
    // The stores are closed (folded) and dropped by now: remove what they left beside.
    for b in beside.into_iter().flatten() {
        b.clean_up();
    }
    result
}

async fn copy_and_verify(ctx: &Context, from: &str, to: &str, dry_run: bool) -> anyhow::Result<()> {
    let source = open(ctx, from, "--from").await?;
    let target = open(ctx, to, "--to").await?;
    if source.describe() == target.describe() {
        return Err(usage("--from and --to name the same store"));
    }
    let total = source.stats().await?.total();
    let bar = progress(total as u64, if dry_run { "checking" } else { "copying" });
    let (mut copied, mut changed, mut last) = (0usize, 0usize, None::<TaskId>);
    loop {
        let page = source.scan(last.as_ref(), PAGE).await?;
        let Some(tail) = page.last() else { break };
        last = Some(tail.id.clone());
        copied += page.len();
        bar.inc(page.len() as u64);
        if dry_run {
            for task in &page {
                if target.get(&task.id).await.ok().as_ref() != Some(task) {
                    changed += 1;
                }
            }
        } else {
            changed += target.put_many(page).await?;
        }
    }
    bar.finish_and_clear();
    if dry_run {
        println!(
            "Dry run: {copied} tasks in {}; {changed} would be written to {}; nothing was changed",
            source.describe(),
            target.describe()
        );
        let runs = store_runs::copy(source.as_ref(), target.as_ref(), true).await?;
        if runs.total > 0 {
            println!(
                "Dry run: {} runs in {}; {} would be written",
                runs.total,
                source.describe(),
                runs.written
            );
        }
        return Ok(());
    }
    let mismatches = verify(source.as_ref(), target.as_ref()).await?;
    target.close().await?;
    source.close().await?;
    if mismatches > 0 {
        anyhow::bail!(
            "verification failed: {mismatches} tasks of {} differ in or are missing from {}",
            source.describe(),
            target.describe()
        );
    }
    tracing::info!(from = %source.describe(), to = %target.describe(), copied, changed, "store migrated");
    println!(
        "Migrated {copied} tasks from {} to {} ({changed} written, {} already identical); verified: every task is present and equal",
        source.describe(),
        target.describe(),
        copied - changed
    );
    if source.decision_records().is_some() || target.decision_records().is_some() {
        let (decisions, from) = store_decisions::read_from(&source, &ctx.settings).await?;
        store_decisions::write_to(&target, &ctx.settings, &decisions).await?;
        let missing = store_decisions::missing_in(&decisions, &target, &ctx.settings).await?;
        if missing > 0 {
            anyhow::bail!(
                "verification failed: {missing} decisions of {from} are missing from {}",
                target.describe()
            );
        }
        println!(
            "Migrated {} decisions from {from} to {}; verified: every decision is present",
            decisions.len(),
            target.describe()
        );
    }
    let runs = store_runs::copy(source.as_ref(), target.as_ref(), false).await?;
    if runs.total > 0 {
        let missing = store_runs::mismatches(source.as_ref(), target.as_ref()).await?;
        if missing > 0 {
            anyhow::bail!(
                "verification failed: {missing} runs of {} differ in or are missing from {}",
                source.describe(),
                target.describe()
            );
        }
        println!(
            "Migrated {} runs from {} to {} ({} written, {} already identical); verified: every run is present and equal",
            runs.total,
            source.describe(),
            target.describe(),
            runs.written,
            runs.total - runs.written
        );
    }
    Ok(())
}

/// How many tasks of `source` are missing from `target` or differ there.
async fn verify(source: &dyn TaskStore, target: &dyn TaskStore) -> anyhow::Result<usize> {
    let mut mismatches = 0;
    let mut last: Option<TaskId> = None;
    loop {
        let page = source.scan(last.as_ref(), PAGE).await?;
        let Some(tail) = page.last() else {
            return Ok(mismatches);
        };
        last = Some(tail.id.clone());
        // The target holds at least these ids in the same order; read the same range there.
        let first = &page[0].id;
        let mut theirs = std::collections::HashMap::new();
        let mut cursor = Some(first.predecessor());
        loop {
            let chunk = target.scan(cursor.as_ref(), PAGE).await?;
            let past_end = chunk.last().is_none_or(|t| t.id > tail.id) || chunk.len() < PAGE;
            cursor = chunk.last().map(|t| t.id.clone());
            for task in chunk {
                if task.id <= tail.id {
                    theirs.insert(task.id.clone(), task);
                }
            }
            if past_end {
                break;
            }
        }
        mismatches += page
            .iter()
            .filter(|t| theirs.get(&t.id) != Some(*t))
            .count();
    }
}

fn progress(total: u64, verb: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{verb} {{bar:40}} {{pos}}/{{len}} tasks ({{per_sec}}, {{eta}} left)"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}
