//! The rules of a run's life (claim, lease, steps, end), written once on top of one
//! conditional write per backend ([`RunRecords::replace_run`]): a worker owns a run while its
//! lease lasts; after the lease expires any worker may take it over.
//!
//! Not here: what a backend stores and how (`shared.rs`, the backends).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::shared::{RunRecord, RunRecords, RunState};
use crate::{StoreError, TaskStore};

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
    /// No run has this id.
    #[error("run {run_id} not found; `taskpilot runs list` shows the existing runs")]
    NotFound {
        /// The id asked for.
        run_id: String,
    },
    /// Another worker took the run over (this worker's lease had expired).
    #[error("run {run_id} is now held by {owner}; this worker's lease expired")]
    Lost {
        /// The run.
        run_id: String,
        /// The worker that holds it now.
        owner: String,
    },
    /// The store itself failed.
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

    /// The run `run_id` as stored now.
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
                run.task_id.clone_from(&task_id);
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
