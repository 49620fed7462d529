//! Runs in `taskpilot store backup/restore/migrate`: the runs travel with the tasks between
//! any two backends (every backend keeps them; the file store in `<TASKS_FILE>.runs/`).
//!
//! - A backup `FILE` of a shared store stays a valid `TASKS_FILE`; its runs go beside it, to
//!   `FILE.runs.jsonl`: one run per line (the JSON of `GET /api/v1/runs/{id}`), oldest first.
//!   The file is written when the store has runs (a stale one of an earlier backup to `FILE` is
//!   removed when it has none). `restore FILE` loads it when it exists. A file store's backup
//!   is the task file alone (its runs stay in `.tasks.json.runs/`; `store migrate` moves them).
//! - A run is copied exactly as it is (`RunRecords::put_run`): restoring or migrating twice
//!   keeps one copy, and a run already equal in the target is not written again.
//!
//! Not here: the decisions (`store_decisions`), the tasks (`store`).

use std::collections::HashMap;
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use taskpilot_store::TaskStore;
use taskpilot_store::shared::{RunRecord, RunRecords};

/// Runs read or written per round trip.
const PAGE: usize = 200;

/// `FILE.runs.jsonl`: where a backup's runs go.
pub(crate) fn sibling(backup: &Path) -> PathBuf {
    let mut name = backup.as_os_str().to_owned();
    name.push(".runs.jsonl");
    PathBuf::from(name)
}

/// How many runs were copied and how many of them had to be written.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Copied {
    pub total: usize,
    pub written: usize,
}

/// The runs of a store that must keep them (a target with runs to receive).
fn records(store: &dyn TaskStore) -> anyhow::Result<&dyn RunRecords> {
    store.run_records().ok_or_else(|| {
        anyhow::anyhow!(
            "{} keeps no runs, so no run can be copied there; copy to a store that does (every \
             built-in backend)",
            store.describe()
        )
    })
}

/// The next page of `store`'s runs after `after`, oldest first (none when it keeps no runs).
async fn page(store: &dyn TaskStore, after: Option<&str>) -> anyhow::Result<Vec<RunRecord>> {
    match store.run_records() {
        Some(records) => records
            .scan_runs(after, PAGE)
            .await
            .with_context(|| format!("cannot read the runs of {}", store.describe())),
        None => Ok(Vec::new()),
    }
}

/// Writes every run of `store` to `path` (a temporary file, synced, then renamed); with no
/// runs, removes a stale `path` instead. Returns how many runs were written.
pub(crate) async fn backup(store: &dyn TaskStore, path: &Path) -> anyhow::Result<usize> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let result = write_backup(store, path, &tmp).await;
    if result.is_err() {
        // Nothing half-written is left beside the backup.
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

async fn write_backup(store: &dyn TaskStore, path: &Path, tmp: &Path) -> anyhow::Result<usize> {
    let mut out: Option<BufWriter<std::fs::File>> = None;
    let (mut count, mut after) = (0usize, None::<String>);
    loop {
        let runs = page(store, after.as_deref()).await?;
        let Some(last) = runs.last() else { break };
        after = Some(last.run_id.clone());
        let file = match &mut out {
            Some(file) => file,
            None => out.insert(BufWriter::new(std::fs::File::create(tmp).with_context(
                || format!("cannot write the runs backup {}", tmp.display()),
            )?)),
        };
        for run in &runs {
            serde_json::to_writer(&mut *file, run)?;
            file.write_all(b"\n")
                .with_context(|| format!("cannot write the runs backup {}", tmp.display()))?;
        }
        count += runs.len();
        if runs.len() < PAGE {
            break;
        }
    }
    match out {
        Some(file) => {
            let file = file
                .into_inner()
                .map_err(std::io::IntoInnerError::into_error)
                .with_context(|| format!("cannot write the runs backup {}", tmp.display()))?;
            file.sync_all()
                .with_context(|| format!("cannot sync {}", tmp.display()))?;
            std::fs::rename(tmp, path)
                .with_context(|| format!("cannot move the runs backup to {}", path.display()))?;
        }
        None => match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "cannot remove {}, the runs of an earlier backup (the store has none now)",
                        path.display()
                    )
                });
            }
        },
    }
    Ok(count)
}

/// The runs of a backup's sibling file, sorted by id; `None` when there is none. A line that
/// is not a run (or names an id no run can have) is an error naming the line: nothing is
/// restored from a damaged file.
pub(crate) fn read_file(path: &Path) -> anyhow::Result<Option<Vec<RunRecord>>> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mut runs = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let run = RunRecord::from_json(&line)
            .and_then(|run| run.check_ids().map(|()| run))
            .map_err(|e| {
                anyhow::anyhow!(
                    "{}:{}: {e}; fix or remove the line, no run was restored",
                    path.display(),
                    i + 1
                )
            })?;
        runs.push(run);
    }
    runs.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    runs.dedup_by(|a, b| a.run_id == b.run_id);
    Ok(Some(runs))
}

/// `target`'s runs with ids in `(after, upto]`, by id.
async fn target_range(
    target: &dyn TaskStore,
    after: Option<&str>,
    upto: &str,
) -> anyhow::Result<HashMap<String, RunRecord>> {
    let mut found = HashMap::new();
    let mut cursor = after.map(str::to_owned);
    loop {
        let runs = page(target, cursor.as_deref()).await?;
        let past_end = runs.len() < PAGE || runs.last().is_none_or(|r| r.run_id.as_str() >= upto);
        cursor = runs.last().map(|r| r.run_id.clone());
        for run in runs {
            if run.run_id.as_str() <= upto {
                found.insert(run.run_id.clone(), run);
            }
        }
        if past_end {
            return Ok(found);
        }
    }
}

/// Writes the runs of one page (sorted by id, all after `after`) that `target` lacks or holds
/// differently; counts them without writing when `dry_run`.
async fn sync_page(
    target: &dyn TaskStore,
    after: Option<&str>,
    runs: &[RunRecord],
    dry_run: bool,
) -> anyhow::Result<usize> {
    let Some(last) = runs.last() else {
        return Ok(0);
    };
    let theirs = target_range(target, after, &last.run_id).await?;
    let mut written = 0;
    for run in runs {
        if theirs.get(&run.run_id) == Some(run) {
            continue;
        }
        if !dry_run {
            records(target)?.put_run(run).await.with_context(|| {
                format!("cannot write run {} to {}", run.run_id, target.describe())
            })?;
        }
        written += 1;
    }
    Ok(written)
}

/// Writes `runs` (sorted by id, as [`read_file`] gives them) to `target`.
pub(crate) async fn write_to(target: &dyn TaskStore, runs: &[RunRecord]) -> anyhow::Result<Copied> {
    let mut copied = Copied::default();
    let mut after: Option<&str> = None;
    for chunk in runs.chunks(PAGE) {
        copied.written += sync_page(target, after, chunk, false).await?;
        copied.total += chunk.len();
        after = chunk.last().map(|r| r.run_id.as_str());
    }
    Ok(copied)
}

/// Copies every run of `source` to `target`, page by page (only counts with `dry_run`).
pub(crate) async fn copy(
    source: &dyn TaskStore,
    target: &dyn TaskStore,
    dry_run: bool,
) -> anyhow::Result<Copied> {
    let mut copied = Copied::default();
    let mut after: Option<String> = None;
    loop {
        let runs = page(source, after.as_deref()).await?;
        if runs.is_empty() {
            return Ok(copied);
        }
        if !dry_run {
            records(target)?;
        }
        copied.written += sync_page(target, after.as_deref(), &runs, dry_run).await?;
        copied.total += runs.len();
        after = runs.last().map(|r| r.run_id.clone());
        if runs.len() < PAGE {
            return Ok(copied);
        }
    }
}

/// How many runs of `source` are missing from `target` or differ there.
pub(crate) async fn mismatches(
    source: &dyn TaskStore,
    target: &dyn TaskStore,
) -> anyhow::Result<usize> {
    let mut missing = 0;
    let mut after: Option<String> = None;
    loop {
        let runs = page(source, after.as_deref()).await?;
        let Some(last) = runs.last() else {
            return Ok(missing);
        };
        let theirs = target_range(target, after.as_deref(), &last.run_id).await?;
        missing += runs
            .iter()
            .filter(|r| theirs.get(&r.run_id) != Some(*r))
            .count();
        after = Some(last.run_id.clone());
        if runs.len() < PAGE {
            return Ok(missing);
        }
    }
}
