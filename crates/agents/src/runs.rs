//! Runs as resources: a request submitted with `"wait": false` is recorded in the store as a
//! `queued` run; any replica's worker claims it ([`RunBook::claim_next`]: a conditional write
//! of owner and lease), runs the workflow with each step appended to the run as it happens,
//! renews the lease while it works, and ends the run with the workflow's result. A run whose
//! worker died is taken over once its lease expired: without a task yet it is run again from
//! the start; with a task it ends with the task as it stands (the task's own life continues
//! in the store, an `approved` task is executed by the sweep).
//!
//! Synchronous runs are recorded too, once they ended ([`Runtime::run_recorded`]), so every
//! task's history has its run's steps.
//!
//! Not here: the HTTP routes (`taskpilot-server`), the records themselves (`taskpilot-store`).

use std::sync::Mutex;
use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use taskpilot_store::shared::{RunBook, RunError, RunRecord, RunState};

use crate::workflow::{RunResult, RunStatus, StepObserver};
use crate::{AgentError, Runtime};

/// How long a worker's claim on a run lasts without renewal.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// A worker's identity: the kernel's host name (the pod's name in Kubernetes) and process id,
/// plus a random part so two workers of one process differ. The host name is read from
/// `/proc/sys/kernel/hostname`, not the environment (only `taskpilot-config` reads that).
pub fn worker_id(slot: usize) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!(
        "{host}:{}:{slot}:{:04x}",
        std::process::id(),
        rand::random::<u16>()
    )
}

/// The run's state from the workflow's outcome: `failed` when the workflow could not run or
/// ended `failed`, else `succeeded` (its `result.status` says how: executed, review…).
fn state_of(result: &Result<RunResult, AgentError>) -> RunState {
    match result {
        Ok(r) if r.status != RunStatus::Failed => RunState::Succeeded,
        _ => RunState::Failed,
    }
}

fn result_json(result: &Result<RunResult, AgentError>) -> Value {
    match result {
        Ok(r) => serde_json::to_value(r).unwrap_or_else(|e| json!({"error": e.to_string()})),
        Err(e) => json!({"error": e.to_string()}),
    }
}

fn task_of(result: &Result<RunResult, AgentError>) -> Option<String> {
    result
        .as_ref()
        .ok()
        .and_then(|r| r.task.as_ref())
        .map(|t| t.id.to_string())
}

/// Appends each step to a claimed run.
struct Appender<'a> {
    book: &'a RunBook,
    run_id: &'a str,
    owner: &'a str,
    lease: Duration,
}

#[async_trait::async_trait]
impl StepObserver for Appender<'_> {
    async fn step(&self, step: &str, detail: Value) {
        if let Err(e) = self
            .book
            .append_step(self.run_id, self.owner, self.lease, step, detail)
            .await
        {
            tracing::warn!(run = self.run_id, step, error = %e, "cannot append the step to the run");
        }
    }
}

/// Collects the steps of a synchronous run in memory.
#[derive(Default)]
struct Collector {
    run: Mutex<Option<RunRecord>>,
}

#[async_trait::async_trait]
impl StepObserver for Collector {
    async fn step(&self, step: &str, detail: Value) {
        let mut run = self
            .run
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(run) = run.as_mut() {
            if let Some(task_id) = detail.get("task_id").and_then(Value::as_str) {
                run.task_id = Some(task_id.to_owned());
            }
            run.push_step(step, detail);
        }
    }
}

impl Runtime {
    /// Runs `request` now and, when the store keeps runs, records the run (steps and result)
    /// once it ended. Returns the result and the run id (`None` without runs).
    pub async fn run_recorded(
        &self,
        request: &str,
        user_id: Option<&str>,
    ) -> Result<(RunResult, Option<String>), AgentError> {
        let Some(book) = &self.runs else {
            return Ok((self.run_as(request, user_id).await?, None));
        };
        let collector = Collector {
            run: Mutex::new(Some(RunRecord::queued(request, user_id.map(str::to_owned)))),
        };
        let result = self.run_observed(request, user_id, Some(&collector)).await;
        let Some(mut run) = collector
            .run
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
        else {
            return Ok((result?, None));
        };
        run.status = state_of(&result);
        if let Some(task_id) = task_of(&result) {
            run.task_id = Some(task_id);
        }
        run.result = Some(result_json(&result));
        run.updated_at = Utc::now();
        run.attempts = 1;
        let run_id = run.run_id.clone();
        let result = result?;
        if let Err(e) = book.record_finished(&run).await {
            tracing::warn!(run = %run_id, error = %e, "cannot record the finished run");
            return Ok((result, None));
        }
        Ok((result, Some(run_id)))
    }

    /// Records a queued run for any worker to take.
    pub async fn submit_run(
        &self,
        request: &str,
        user_id: Option<&str>,
    ) -> Result<RunRecord, AgentError> {
        let book = self.run_book()?;
        Ok(book.submit(request, user_id.map(str::to_owned)).await?)
    }

    /// The runs of the store, or an error naming the store when it keeps none.
    pub fn run_book(&self) -> Result<&RunBook, AgentError> {
        self.runs.as_ref().ok_or_else(|| {
            AgentError::Store(taskpilot_store::StoreError::Unsupported {
                url: self.store.describe(),
                reason: "this store keeps no runs".into(),
            })
        })
    }

    /// Claims one waiting run as `owner` and carries it to its end. `Ok(None)` when no run
    /// was waiting; the run as it ended otherwise.
    pub async fn work_one_run(
        &self,
        owner: &str,
        lease: Duration,
    ) -> Result<Option<RunRecord>, AgentError> {
        let book = self.run_book()?;
        let Some(run) = book.claim_next(owner, lease).await? else {
            return Ok(None);
        };
        Ok(Some(self.carry_run(book, run, owner, lease).await?))
    }

    async fn carry_run(
        &self,
        book: &RunBook,
        run: RunRecord,
        owner: &str,
        lease: Duration,
    ) -> Result<RunRecord, AgentError> {
        let run_id = run.run_id.clone();
        if let Some(task_id) = run.task_id.clone() {
            // Taken over after the task was created: do not create another one.
            let task = self
                .store
                .get(
                    &taskpilot_core::TaskId::parse(&task_id)
                        .map_err(taskpilot_store::StoreError::from)?,
                )
                .await?;
            let note = "the worker that started this run stopped; the task continues in the store";
            let detail = json!({"previous_owner_lease_expired": true, "task_id": task_id, "status": task.status.as_str()});
            let _ = book
                .append_step(&run_id, owner, lease, "taken_over", detail)
                .await;
            let result = json!({"status": task.status.as_str(), "task": task, "reason": note});
            return finish(
                book,
                &run_id,
                owner,
                RunState::Succeeded,
                Some(task_id),
                result,
            )
            .await;
        }
        let renewer = {
            let (book, run_id, owner) = (book.clone(), run_id.clone(), owner.to_owned());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(lease / 3).await;
                    if let Err(e) = book.renew(&run_id, &owner, lease).await {
                        tracing::warn!(run = %run_id, error = %e, "cannot renew the lease");
                        if matches!(e, RunError::Lost { .. } | RunError::NotFound { .. }) {
                            return;
                        }
                    }
                }
            })
        };
        let appender = Appender {
            book,
            run_id: &run_id,
            owner,
            lease,
        };
        let result = self
            .run_observed(&run.request, run.user_id.as_deref(), Some(&appender))
            .await;
        renewer.abort();
        let state = state_of(&result);
        finish(
            book,
            &run_id,
            owner,
            state,
            task_of(&result),
            result_json(&result),
        )
        .await
    }
}

async fn finish(
    book: &RunBook,
    run_id: &str,
    owner: &str,
    state: RunState,
    task_id: Option<String>,
    result: Value,
) -> Result<RunRecord, AgentError> {
    book.finish(run_id, owner, state, task_id, result)
        .await
        .map_err(|e| match e {
            RunError::Store(e) => AgentError::Store(e),
            other => AgentError::Internal {
                what: "ending a run",
                message: other.to_string(),
            },
        })
}

#[cfg(test)]
mod tests {
    use super::worker_id;

    #[test]
    fn a_worker_id_names_the_host_the_process_and_the_slot() {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_default();
        let id = worker_id(3);
        let parts: Vec<&str> = id.split(':').collect();
        assert_eq!(parts.len(), 4, "{id}");
        assert_eq!(parts[0], if host.is_empty() { "localhost" } else { &host });
        assert_eq!(parts[1], std::process::id().to_string());
        assert_eq!(parts[2], "3");
        assert_eq!(parts[3].len(), 4, "{id}");
    }
}
