//! Shared state beside the tasks: the decision log ([`DecisionRecords`]) and runs as resources
//! ([`RunRecords`], [`RunBook`]), so that every replica on one store sees the same audit trail
//! and any replica's worker can take a queued run.
//!
//! A backend offers the two traits through [`crate::TaskStore::decision_records`] and
//! [`crate::TaskStore::run_records`]. The SQL backends, Redis and S3 keep both; the file store
//! keeps runs (a directory beside the tasks file) and leaves decisions to `DECISION_LOGS_FILE`.
//!
//! The rules of a run's life (claim, lease, steps, end) are written once here, in [`RunBook`],
//! on top of one conditional write per backend ([`RunRecords::replace_run`]): a worker owns a
//! run while its lease lasts; after the lease expires any worker may take it over.
//!
//! Not here: what a decision means (`taskpilot-observe`), running the workflow
//! (`taskpilot-agents`).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{StoreError, TaskStore};

/// One decision as the shared store keeps it: the JSON object of a `DECISION_LOGS_FILE` line
/// (`json`) and the fields used to find and order it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionEntry {
    pub decision_id: String,
    /// Orders the entries: the decision's time (fixed width, UTC) and its place in its batch.
    pub sort_key: String,
    pub request_id: Option<String>,
    pub task_id: Option<String>,
    /// The decision, exactly the line `DECISION_LOGS_FILE` would hold (without the newline).
    pub json: String,
}

impl DecisionEntry {
    /// The sort key of the `index`-th decision of a batch made at `at`.
    pub fn sort_key_for(at: &DateTime<Utc>, index: usize) -> String {
        format!("{}_{index:04}", at.format("%Y%m%dT%H%M%S%.9fZ"))
    }
}

/// The decision log in a shared store. Writing is idempotent by `decision_id`, so a restore or
/// migrate run twice keeps one copy of each decision.
#[async_trait]
pub trait DecisionRecords: Send + Sync {
    /// Stores the entries; durable when it returns `Ok`.
    async fn append_decisions(&self, entries: &[DecisionEntry]) -> Result<(), StoreError>;

    /// The decisions about `task_id` (its own, and every decision of a request that touched
    /// it), oldest first.
    async fn decisions_for_task(&self, task_id: &str) -> Result<Vec<DecisionEntry>, StoreError>;

    /// Every decision, oldest first.
    async fn all_decisions(&self) -> Result<Vec<DecisionEntry>, StoreError>;
}

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Queued => "queued",
            RunState::Running => "running",
            RunState::Succeeded => "succeeded",
            RunState::Failed => "failed",
        }
    }

    /// Succeeded or failed: nothing more will happen to the run.
    pub fn is_done(self) -> bool {
        matches!(self, RunState::Succeeded | RunState::Failed)
    }
}

/// One step of a run, appended as the workflow goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunStep {
    /// 1, 2, 3… in the order the steps happened.
    pub seq: u32,
    /// `guardrails`, `planner`, `policy`, `task_created`, `reviewer`, `executor`.
    pub step: String,
    /// RFC 3339, UTC.
    pub at: DateTime<Utc>,
    pub detail: Value,
}

/// A run: the request, where it is, its steps, and its result when it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    pub status: RunState,
    /// The request text as submitted.
    pub request: String,
    /// Who submitted it (the caller's user id), if known.
    pub user_id: Option<String>,
    /// The task the run created, once it exists.
    pub task_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub steps: Vec<RunStep>,
    /// The workflow's result (the JSON of `taskpilot run --json`) or `{"error": …}`.
    pub result: Option<Value>,
    /// The worker that holds the run while it is `running`.
    pub owner: Option<String>,
    /// Until when the owner's claim holds; after it any worker may take the run over.
    pub lease_until: Option<DateTime<Utc>>,
    /// How many times a worker claimed the run.
    pub attempts: u32,
    /// Incremented by every write; the conditional write compares it.
    pub version: u64,
}

impl RunRecord {
    /// A new run, `queued`, with a fresh time-ordered id.
    pub fn queued(request: impl Into<String>, user_id: Option<String>) -> RunRecord {
        let now = Utc::now();
        RunRecord {
            run_id: new_run_id(&now),
            status: RunState::Queued,
            request: request.into(),
            user_id,
            task_id: None,
            created_at: now,
            updated_at: now,
            steps: Vec::new(),
            result: None,
            owner: None,
            lease_until: None,
            attempts: 0,
            version: 1,
        }
    }

    /// Whether `now` a worker may claim this run: it is queued, or running on an expired lease.
    pub fn claimable(&self, now: DateTime<Utc>) -> bool {
        match self.status {
            RunState::Queued => true,
            RunState::Running => self.lease_until.is_none_or(|until| until <= now),
            _ => false,
        }
    }

    /// Appends a step with the next sequence number.
    pub fn push_step(&mut self, step: &str, detail: Value) {
        let seq = self.steps.last().map_or(1, |s| s.seq + 1);
        self.steps.push(RunStep {
            seq,
            step: step.to_owned(),
            at: Utc::now(),
            detail,
        });
    }

    pub fn to_json(&self) -> Result<String, StoreError> {
        serde_json::to_string(self).map_err(|e| StoreError::Corrupt {
            message: format!("run {} cannot be written as JSON: {e}", self.run_id),
        })
    }

    pub fn from_json(json: &str) -> Result<RunRecord, StoreError> {
        serde_json::from_str(json).map_err(|e| StoreError::Corrupt {
            message: format!("a stored run is not valid JSON of a run: {e}"),
        })
    }
}

/// Whether `id` can name a run or a task in a file or key name: not empty, at most 64 ASCII
/// letters, digits, `_` or `-` (every id this program makes; a run read from a backup must
/// pass too, so no id reaches a path with a `/` or `..`).
pub fn is_safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl RunRecord {
    /// Refuses a run whose id or task id could not be a file or key name ([`is_safe_id`]).
    pub fn check_ids(&self) -> Result<(), StoreError> {
        if !is_safe_id(&self.run_id) {
            return Err(StoreError::Corrupt {
                message: format!(
                    "run id {:?} is not an id this program makes (ASCII letters, digits, _ and -)",
                    self.run_id
                ),
            });
        }
        if let Some(task_id) = self.task_id.as_deref().filter(|t| !is_safe_id(t)) {
            return Err(StoreError::Corrupt {
                message: format!(
                    "run {} names the task id {task_id:?}, which is not an id this program makes",
                    self.run_id
                ),
            });
        }
        Ok(())
    }
}

/// `run_YYYYMMDD_HHMMSS_ffffff_xxxxxxxx`: sorts by creation time as plain text.
pub fn new_run_id(at: &DateTime<Utc>) -> String {
    format!(
        "run_{}_{:08x}",
        at.format("%Y%m%d_%H%M%S_%6f"),
        rand::random::<u32>()
    )
}

/// Runs in a shared store: what a backend provides. The version of a record is its `version`
/// field; [`RunRecords::replace_run`] writes only if the stored version is `expected`.
#[async_trait]
pub trait RunRecords: Send + Sync {
    /// Stores a new run (its id is fresh).
    async fn insert_run(&self, run: &RunRecord) -> Result<(), StoreError>;

    async fn load_run(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError>;

    /// Writes `run` (whose `version` is already the new one) if the stored run still has
    /// version `expected`; `false` when someone else wrote first.
    async fn replace_run(&self, run: &RunRecord, expected: u64) -> Result<bool, StoreError>;

    /// The newest `limit` runs, newest first.
    async fn list_runs(&self, limit: usize) -> Result<Vec<RunRecord>, StoreError>;

    /// Ids of the runs that are `queued` or `running`, oldest first.
    async fn open_run_ids(&self) -> Result<Vec<String>, StoreError>;

    /// Writes `run` exactly as given, replacing a stored run with its id whatever its version
    /// (`store restore` and `store migrate` copy runs this way; writing one run twice keeps
    /// one copy). Not for workers: they change runs with [`RunRecords::replace_run`].
    async fn put_run(&self, run: &RunRecord) -> Result<(), StoreError>;

    /// Up to `limit` runs whose ids sort after `after` (all when `None`), oldest first: every
    /// run of the store, page by page.
    async fn scan_runs(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RunRecord>, StoreError>;

    /// Every run whose `task_id` is `task_id` (the runs that created the task), oldest first,
    /// however many runs the store holds.
    async fn runs_for_task(&self, task_id: &str) -> Result<Vec<RunRecord>, StoreError>;
}

/// `now + lease` (a lease too long for the calendar is a day).
fn later(now: DateTime<Utc>, lease: Duration) -> DateTime<Utc> {
    now + chrono::TimeDelta::from_std(lease).unwrap_or_else(|_| chrono::TimeDelta::days(1))
}

/// Rounds of read-change-write before giving up on a run that keeps changing.
const ROUNDS: usize = 50;

/// The rules of a run's life on top of a backend's [`RunRecords`].
#[derive(Clone)]
pub struct RunBook {
    store: Arc<dyn TaskStore>,
}

/// Why a worker may not change a run any more.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("run {run_id} not found; `taskpilot runs list` shows the existing runs")]
    NotFound { run_id: String },
    /// Another worker took the run over (this worker's lease had expired).
    #[error("run {run_id} is now held by {owner}; this worker's lease expired")]
    Lost { run_id: String, owner: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RunBook {
    /// The runs of `store`, or `None` when its backend keeps none.
    pub fn of(store: Arc<dyn TaskStore>) -> Option<RunBook> {
        store.run_records()?;
        Some(RunBook { store })
    }

    fn records(&self) -> Result<&dyn RunRecords, StoreError> {
        self.store
            .run_records()
            .ok_or_else(|| StoreError::Unsupported {
                url: self.store.describe(),
                reason: "this backend keeps no runs".into(),
            })
    }

    /// The newest `limit` runs, newest first.
    pub async fn list(&self, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        self.records()?.list_runs(limit).await
    }

    /// Every run of `task_id`, oldest first.
    pub async fn for_task(&self, task_id: &str) -> Result<Vec<RunRecord>, StoreError> {
        self.records()?.runs_for_task(task_id).await
    }

    /// Records a new queued run.
    pub async fn submit(
        &self,
        request: &str,
        user_id: Option<String>,
    ) -> Result<RunRecord, StoreError> {
        let run = RunRecord::queued(request, user_id);
        self.records()?.insert_run(&run).await?;
        Ok(run)
    }

    pub async fn get(&self, run_id: &str) -> Result<RunRecord, RunError> {
        self.records()?
            .load_run(run_id)
            .await?
            .ok_or_else(|| RunError::NotFound {
                run_id: run_id.to_owned(),
            })
    }

    /// Takes the oldest claimable run for `owner` with a lease of `lease`, or `None` when no
    /// run is waiting. Of two workers claiming one run, one wins (the conditional write).
    pub async fn claim_next(
        &self,
        owner: &str,
        lease: Duration,
    ) -> Result<Option<RunRecord>, StoreError> {
        for run_id in self.records()?.open_run_ids().await? {
            if let Some(run) = self.claim(&run_id, owner, lease).await? {
                return Ok(Some(run));
            }
        }
        Ok(None)
    }

    /// Claims one run if it is claimable now.
    pub async fn claim(
        &self,
        run_id: &str,
        owner: &str,
        lease: Duration,
    ) -> Result<Option<RunRecord>, StoreError> {
        let Some(mut run) = self.records()?.load_run(run_id).await? else {
            return Ok(None);
        };
        let now = Utc::now();
        if !run.claimable(now) {
            return Ok(None);
        }
        let expected = run.version;
        run.status = RunState::Running;
        run.owner = Some(owner.to_owned());
        run.lease_until = Some(later(now, lease));
        run.attempts += 1;
        run.updated_at = now;
        run.version += 1;
        if self.records()?.replace_run(&run, expected).await? {
            Ok(Some(run))
        } else {
            Ok(None)
        }
    }

    /// Changes a run this worker holds: reads it, checks the owner, applies `change`, writes
    /// it conditionally (again on a lost race), and extends the lease by `lease`.
    async fn update(
        &self,
        run_id: &str,
        owner: &str,
        lease: Duration,
        change: impl Fn(&mut RunRecord),
    ) -> Result<RunRecord, RunError> {
        for _ in 0..ROUNDS {
            let mut run = self.get(run_id).await?;
            if run.owner.as_deref() != Some(owner) || run.status != RunState::Running {
                return Err(RunError::Lost {
                    run_id: run_id.to_owned(),
                    owner: run.owner.unwrap_or_else(|| "nobody".into()),
                });
            }
            let expected = run.version;
            change(&mut run);
            let now = Utc::now();
            run.updated_at = now;
            if run.status == RunState::Running {
                run.lease_until = Some(later(now, lease));
            }
            run.version += 1;
            if self.records()?.replace_run(&run, expected).await? {
                return Ok(run);
            }
        }
        Err(RunError::Store(StoreError::Corrupt {
            message: format!("run {run_id} kept changing under {ROUNDS} attempts to update it"),
        }))
    }

    /// Appends a step (and the task id once known) and renews the lease.
    pub async fn append_step(
        &self,
        run_id: &str,
        owner: &str,
        lease: Duration,
        step: &str,
        detail: Value,
    ) -> Result<RunRecord, RunError> {
        self.update(run_id, owner, lease, |run| {
            if let Some(task_id) = detail.get("task_id").and_then(Value::as_str) {
                run.task_id = Some(task_id.to_owned());
            }
            run.push_step(step, detail.clone());
        })
        .await
    }

    /// Extends the lease of a run this worker holds.
    pub async fn renew(
        &self,
        run_id: &str,
        owner: &str,
        lease: Duration,
    ) -> Result<RunRecord, RunError> {
        self.update(run_id, owner, lease, |_| {}).await
    }

    /// Ends a run this worker holds with its result.
    pub async fn finish(
        &self,
        run_id: &str,
        owner: &str,
        state: RunState,
        task_id: Option<String>,
        result: Value,
    ) -> Result<RunRecord, RunError> {
        self.update(run_id, owner, Duration::ZERO, |run| {
            run.status = state;
            if task_id.is_some() {
                run.task_id = task_id.clone();
            }
            run.result = Some(result.clone());
            run.lease_until = None;
        })
        .await
    }

    /// Records a run that already ended (a synchronous run), steps and all.
    pub async fn record_finished(&self, run: &RunRecord) -> Result<(), StoreError> {
        self.records()?.insert_run(run).await
    }
}

impl std::fmt::Debug for RunBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RunBook")
    }
}
