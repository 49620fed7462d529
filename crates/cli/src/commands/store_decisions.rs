//! The decision log in `taskpilot store backup/restore/migrate`: decisions travel with the
//! tasks.
//!
//! - A store that keeps decisions (SQL, Redis, S3) is read and written directly; the file
//!   store's decisions are `DECISION_LOGS_FILE`.
//! - A backup `FILE` stays a valid `TASKS_FILE`; its decisions go beside it, to
//!   `FILE.decisions.jsonl`, in `DECISION_LOGS_FILE` format (one decision per line, oldest
//!   first). `restore FILE` loads that file when it exists.
//! - Writing is idempotent by `decision_id`: restoring or migrating twice keeps one copy.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use taskpilot_agents::audit::{StoreDecisions, entry_of};
use taskpilot_config::Settings;
use taskpilot_observe::{Decision, DecisionLog, DecisionSource, read_decisions};
use taskpilot_store::TaskStore;

/// Decisions written per round trip.
const PAGE: usize = 500;

/// `FILE.decisions.jsonl`: where a backup's decisions go.
pub(crate) fn sibling(backup: &Path) -> PathBuf {
    taskpilot_plumbing::fs::with_suffix(backup, ".decisions.jsonl")
}

/// Whether `store` keeps the decision log itself (a shared store), rather than
/// `DECISION_LOGS_FILE` beside it (the file store).
pub(crate) fn is_shared(store: &Arc<dyn TaskStore>) -> bool {
    StoreDecisions::of(store.clone()).is_some()
}

/// Every decision of `store` (its own log, or `DECISION_LOGS_FILE` for the file store),
/// oldest first, and where they were read from.
pub(crate) async fn read_from(
    store: &Arc<dyn TaskStore>,
    settings: &Settings,
) -> anyhow::Result<(Vec<Decision>, String)> {
    if let Some(shared) = StoreDecisions::of(store.clone()) {
        let (decisions, bad) = shared.all().await?;
        if let Some(b) = bad.first() {
            anyhow::bail!(
                "{} holds {} unreadable decisions (first: {}); nothing was copied",
                store.describe(),
                bad.len(),
                b.error
            );
        }
        Ok((decisions, store.describe()))
    } else {
        read_log_file(settings)
    }
}

/// Every decision in `DECISION_LOGS_FILE`, oldest first, and its path; unreadable lines are
/// skipped with a warning.
pub(crate) fn read_log_file(settings: &Settings) -> anyhow::Result<(Vec<Decision>, String)> {
    let path = &settings.decision_logs_file.value;
    let (decisions, bad) = read_decisions(path)?;
    crate::output::warn_unreadable_lines(path, &bad);
    Ok((decisions, path.display().to_string()))
}

/// Writes `decisions` to `store` (or, for the file store, appends the ones it lacks to
/// `DECISION_LOGS_FILE`); returns how many were sent.
pub(crate) async fn write_to(
    store: &Arc<dyn TaskStore>,
    settings: &Settings,
    decisions: &[Decision],
) -> anyhow::Result<usize> {
    if let Some(records) = store.decision_records() {
        for page in decisions.chunks(PAGE) {
            let entries = page
                .iter()
                .enumerate()
                .map(|(i, d)| entry_of(d, i))
                .collect::<Result<Vec<_>, _>>()?;
            records.append_decisions(&entries).await?;
        }
        return Ok(decisions.len());
    }
    let path = settings.decision_logs_file.value.clone();
    let (existing, _) = read_decisions(&path)?;
    let known: HashSet<&str> = existing.iter().map(|d| d.decision_id.as_str()).collect();
    let missing: Vec<Decision> = decisions
        .iter()
        .filter(|d| !known.contains(d.decision_id.as_str()))
        .cloned()
        .collect();
    if !missing.is_empty() {
        let log = DecisionLog::open(&path)?;
        for page in missing.chunks(PAGE) {
            taskpilot_observe::DecisionSink::record(&log, page).await?;
        }
    }
    Ok(missing.len())
}

/// Writes `decisions` to `path` in `DECISION_LOGS_FILE` format, atomically and durably.
pub(crate) fn write_file(path: &Path, decisions: &[Decision]) -> anyhow::Result<()> {
    let mut bytes = Vec::new();
    for d in decisions {
        serde_json::to_writer(&mut bytes, d)?;
        bytes.push(b'\n');
    }
    Ok(taskpilot_plumbing::fs::write_atomic(path, &bytes)?)
}

/// The decisions of a backup's sibling file; `None` when there is none.
pub(crate) fn read_file(path: &Path) -> anyhow::Result<Option<Vec<Decision>>> {
    if !path.exists() {
        return Ok(None);
    }
    let (decisions, bad) = read_decisions(path)?;
    if let Some(b) = bad.first() {
        anyhow::bail!(
            "{}:{}: {} ({} unreadable lines); fix or remove them, no decision was restored",
            path.display(),
            b.line,
            b.error,
            bad.len()
        );
    }
    Ok(Some(decisions))
}

/// How many of `source`'s decisions `target` lacks (by id).
pub(crate) async fn missing_in(
    source: &[Decision],
    target: &Arc<dyn TaskStore>,
    settings: &Settings,
) -> anyhow::Result<usize> {
    let (theirs, _) = read_from(target, settings).await?;
    let ids: HashSet<&str> = theirs.iter().map(|d| d.decision_id.as_str()).collect();
    Ok(source
        .iter()
        .filter(|d| !ids.contains(d.decision_id.as_str()))
        .count())
}
