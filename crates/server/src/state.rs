//! [`AppState`]: what every handler shares — the workflow runtime (store, policy, metrics,
//! decision log…), the API tokens, and the set of tasks this process is executing right now
//! (so the background sweep does not execute a task twice).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use taskpilot_agents::Runtime;

use crate::auth::Tokens;

/// Shared by every handler.
pub type SharedState = Arc<AppState>;

/// What every handler shares: the workflow runtime and the tokens.
pub struct AppState {
    /// The store, agents, metrics and logs.
    pub runtime: Runtime,
    /// The configured API tokens and their roles.
    pub tokens: Tokens,
    /// When the server started (uptime in `/health`).
    pub started: Instant,
    executing: Mutex<HashSet<String>>,
}

impl AppState {
    /// The state of a server on `runtime` with `tokens`.
    pub fn new(runtime: Runtime, tokens: Tokens) -> AppState {
        AppState {
            runtime,
            tokens,
            started: Instant::now(),
            executing: Mutex::default(),
        }
    }

    /// Marks `task_id` as being decided or executed by this process; `None` when it already
    /// is. The mark is removed when the guard is dropped.
    pub fn claim(&self, task_id: &str) -> Option<Claim<'_>> {
        let mut set = self
            .executing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        set.insert(task_id.to_owned()).then(|| Claim {
            state: self,
            task_id: task_id.to_owned(),
        })
    }
}

/// See [`AppState::claim`].
pub struct Claim<'a> {
    state: &'a AppState,
    task_id: String,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        let mut set = self
            .state
            .executing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        set.remove(&self.task_id);
    }
}
