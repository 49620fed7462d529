//! Background work of the server, stopped by a [`CancellationToken`]:
//!
//! - every `WORKFLOW_INTERVAL_SECONDS`, execute the tasks left `approved` (after a crash, or
//!   approved through another instance) so nothing approved is forgotten. A task approved
//!   less than one interval ago is left to whoever approved it, and a claimed task is left
//!   to its claimer until the claim's lease expires: only the claimer executes
//!   (`Runtime::execute_approved` takes the claim by a conditional write first).
//! - every [`METRICS_FLUSH`], add this process's metrics to `METRICS_FILE` (never per request:
//!   the file is shared and locked).

use std::time::Duration;

use chrono::Utc;
use taskpilot_agents::AgentError;
use taskpilot_core::{CoreError, Status, Timestamp};
use taskpilot_store::ListQuery;
use taskpilot_store::StoreError;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::shutdown;
use crate::state::SharedState;

/// How often metrics are flushed to `METRICS_FILE`.
pub const METRICS_FLUSH: Duration = Duration::from_secs(5);

/// At most this many approved tasks are executed per sweep.
pub const SWEEP_BATCH: usize = 100;

/// Starts the loops on a closed tracker: `wait()` on it returns once they have finished
/// (after `stop` is cancelled).
pub fn spawn(state: SharedState, stop: CancellationToken) -> TaskTracker {
    let tracker = TaskTracker::new();
    let interval = Duration::from_secs(
        state
            .runtime
            .settings
            .workflow_interval_seconds
            .value
            .max(1),
    );
    {
        let (state, stop) = (state.clone(), stop.clone());
        tracker.spawn(async move {
            while shutdown::sleep(&stop, interval).await {
                let executed = sweep_approved(&state, interval, &stop).await;
                if executed > 0 {
                    tracing::info!(executed, "executed tasks left approved");
                }
            }
        });
    }
    tracker.spawn(async move {
        while shutdown::sleep(&stop, METRICS_FLUSH).await {
            if let Err(e) = state.runtime.metrics.flush_async().await {
                tracing::warn!(error = %e, "cannot flush metrics; will retry");
            }
        }
    });
    tracker.close();
    tracker
}

/// Executes the tasks in `approved` whose approval is older than `grace`. Returns how many it
/// moved on.
pub async fn sweep_approved(
    state: &SharedState,
    grace: Duration,
    stop: &CancellationToken,
) -> usize {
    let query = ListQuery {
        status: Some(Status::Approved),
        limit: Some(SWEEP_BATCH),
    };
    let tasks = match state.runtime.store.list(&query).await {
        Ok(tasks) => tasks,
        Err(e) => {
            tracing::warn!(error = %e, "background sweep cannot list approved tasks");
            return 0;
        }
    };
    let grace = chrono::Duration::from_std(grace).unwrap_or_else(|_| chrono::Duration::zero());
    let now = Utc::now();
    let mut done = 0;
    for task in tasks {
        if stop.is_cancelled() {
            break;
        }
        let approved_at = match task.reviewed_at {
            Some(Timestamp::Aware(t)) => Some(t.to_utc()),
            _ => None,
        };
        if approved_at.is_some_and(|t| now - t < grace) {
            continue;
        }
        // A live claim means some worker (maybe a run of this process) is executing it.
        if task.claim().is_some_and(|c| c.is_live(&Timestamp::now())) {
            continue;
        }
        let Some(_claim) = state.claim(task.id.as_str()) else {
            continue;
        };
        match state.runtime.execute_approved(&task.id).await {
            Ok(result) => {
                tracing::info!(task_id = %task.id, status = %result.status, "resumed approved task");
                done += 1;
            }
            // Another worker claimed or finished it between the list and the claim.
            Err(
                AgentError::Store(StoreError::Invalid(
                    CoreError::Claimed { .. } | CoreError::UnexpectedStatus { .. },
                ))
                | AgentError::NotDecidable { .. },
            ) => {}
            Err(e) => {
                tracing::warn!(task_id = %task.id, error = %e, "cannot execute approved task");
            }
        }
    }
    done
}
