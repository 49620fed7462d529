//! The run workers of a server: [`RUN_WORKERS`] loops that take queued runs from the store
//! (any replica's, with the claim-and-lease rule of `taskpilot_agents::runs`) and carry them
//! out. A worker that finds nothing waits [`IDLE_POLL`]; on stop it finishes the run it holds.
//!
//! Not here: the rules of a claim (`taskpilot_store::shared::RunBook`), the routes.

use std::time::Duration;

use taskpilot_agents::runs::{DEFAULT_LEASE, worker_id};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::shutdown;
use crate::state::SharedState;

/// Runs carried out at once by one server.
pub const RUN_WORKERS: usize = 4;
/// How long an idle worker waits before looking for queued runs again.
pub const IDLE_POLL: Duration = Duration::from_millis(200);
/// How long a worker waits after the store failed.
const ERROR_PAUSE: Duration = Duration::from_secs(2);

/// Starts the workers on a closed tracker: `wait()` on it returns once they have finished
/// (after `stop` is cancelled). No workers when the store keeps no runs.
pub fn spawn(state: SharedState, stop: CancellationToken) -> TaskTracker {
    let tracker = TaskTracker::new();
    if state.runtime.runs.is_some() {
        for slot in 0..RUN_WORKERS {
            let (state, stop) = (state.clone(), stop.clone());
            let owner = worker_id(slot);
            tracker.spawn(async move {
                while !stop.is_cancelled() {
                    let pause = match state.runtime.work_one_run(&owner, DEFAULT_LEASE).await {
                        Ok(Some(run)) => {
                            tracing::info!(run = %run.run_id, status = run.status.as_str(), worker = %owner, "run ended");
                            continue;
                        }
                        Ok(None) => IDLE_POLL,
                        Err(e) => {
                            tracing::warn!(error = %e, worker = %owner, "run worker: the store failed");
                            ERROR_PAUSE
                        }
                    };
                    if !shutdown::sleep(&stop, pause).await {
                        break;
                    }
                }
            });
        }
    }
    tracker.close();
    tracker
}
