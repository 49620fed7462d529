//! The run workers of a server: [`RUN_WORKERS`] loops that take queued runs from the store
//! (any replica's, with the claim-and-lease rule of `taskpilot_agents::runs`) and carry them
//! out. A worker that finds nothing waits [`IDLE_POLL`]; on stop it finishes the run it holds.
//!
//! Not here: the rules of a claim (`taskpilot_store::shared::RunBook`), the routes.

use std::time::Duration;

use taskpilot_agents::runs::{DEFAULT_LEASE, worker_id};
use tokio::task::JoinHandle;

use crate::shutdown::Stop;
use crate::state::SharedState;

/// Runs carried out at once by one server.
pub const RUN_WORKERS: usize = 4;
/// How long an idle worker waits before looking for queued runs again.
pub const IDLE_POLL: Duration = Duration::from_millis(200);
/// How long a worker waits after the store failed.
const ERROR_PAUSE: Duration = Duration::from_secs(2);

/// Starts the workers; empty when the store keeps no runs.
pub fn spawn(state: SharedState, stop: Stop) -> Vec<JoinHandle<()>> {
    if state.runtime.runs.is_none() {
        return Vec::new();
    }
    (0..RUN_WORKERS)
        .map(|slot| {
            let (state, stop) = (state.clone(), stop.clone());
            let owner = worker_id(slot);
            tokio::spawn(async move {
                while !stop.is_triggered() {
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
                    if !stop.sleep(pause).await {
                        break;
                    }
                }
            })
        })
        .collect()
}
