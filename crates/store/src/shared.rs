//! Shared state beside the tasks: the decision log ([`DecisionRecords`]) and runs as resources
//! ([`RunRecords`], [`RunBook`]), so that every replica on one store sees the same audit trail
//! and any replica's worker can take a queued run.
//!
//! A backend offers the two traits through [`crate::TaskStore::decision_records`] and
//! [`crate::TaskStore::run_records`]. The SQL backends, Redis and S3 keep both; the file store
//! keeps runs (a directory beside the tasks file) and leaves decisions to `DECISION_LOGS_FILE`.
//!
//! The rules of a run's life (claim, lease, steps, end) are written once, in [`RunBook`]
//! (`runbook.rs`, re-exported here), on top of one conditional write per backend
//! ([`RunRecords::replace_run`]).
//!
//! Not here: what a decision means (`taskpilot-observe`), running the workflow
//! (`taskpilot-agents`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::StoreError;
pub use crate::runbook::{RunBook, RunError};

/// One decision as the shared store keeps it: the JSON object of a `DECISION_LOGS_FILE` line
/// (`json`) and the fields used to find and order it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionEntry {
    /// The decision's unique id; writing it twice keeps one copy.
    pub decision_id: String,
    /// Orders the entries: the decision's time (fixed width, UTC) and its place in its batch.
    pub sort_key: String,
    /// The request the decision belongs to, if any.
    pub request_id: Option<String>,
    /// The task the decision is about, if any.
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
    /// Submitted; waiting for a worker.
    Queued,
    /// A worker is carrying it out, under a lease.
    Running,
    /// Ended with the workflow's result.
    Succeeded,
    /// Ended with an error.
    Failed,
}

impl RunState {
    /// The lower-case name stored and shown (`queued`).
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
    /// What the step decided or produced (a JSON object).
    pub detail: Value,
}

/// A run: the request, where it is, its steps, and its result when it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// `run_YYYYMMDD_HHMMSS_ffffff_xxxxxxxx`: sorts by creation time.
    pub run_id: String,
    /// Where the run is in its life.
    pub status: RunState,
    /// The request text as submitted.
    pub request: String,
    /// Who submitted it (the caller's user id), if known.
    pub user_id: Option<String>,
    /// The task the run created, once it exists.
    pub task_id: Option<String>,
    /// When the run was submitted.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// The steps so far, in order.
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

    /// The run as one JSON object, as the backends store it.
    pub fn to_json(&self) -> Result<String, StoreError> {
        serde_json::to_string(self).map_err(|e| StoreError::Corrupt {
            message: format!("run {} cannot be written as JSON: {e}", self.run_id),
        })
    }

    /// Reads a run the backends stored with [`RunRecord::to_json`].
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

    /// The run `run_id`, or `None` when there is none.
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
