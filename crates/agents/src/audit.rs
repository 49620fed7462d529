//! The decision log in the shared store: a [`DecisionSink`] and [`DecisionSource`] over the
//! store's [`DecisionRecords`](taskpilot_store::shared::DecisionRecords), and the choice made
//! at start (see [`decisions_for`]).
//!
//! With a shared store (`TASK_STORE_URL` naming SQLite, PostgreSQL, MySQL/MariaDB, Redis or
//! S3), each decision is written to the store (read back by every replica) and to this
//! process's `DECISION_LOGS_FILE` (a local copy), both durable before the workflow continues;
//! reads come from the store. The file store keeps `DECISION_LOGS_FILE` alone.
//!
//! Not here: the tables and keys themselves (`taskpilot-store`, `shared` and each backend).

use std::sync::Arc;

use async_trait::async_trait;
use taskpilot_observe::redact::redact_value;
use taskpilot_observe::{
    BadLine, Decision, DecisionLog, DecisionSink, DecisionSource, Decisions, ObserveError,
};
use taskpilot_store::TaskStore;
use taskpilot_store::shared::DecisionEntry;

/// The decision log of the store behind `store`.
#[derive(Clone)]
pub struct StoreDecisions {
    store: Arc<dyn TaskStore>,
}

impl StoreDecisions {
    /// `None` when the store's backend keeps no decisions (the file store).
    pub fn of(store: Arc<dyn TaskStore>) -> Option<StoreDecisions> {
        store.decision_records()?;
        Some(StoreDecisions { store })
    }

    fn error(&self, message: impl Into<String>) -> ObserveError {
        ObserveError::Shared {
            location: self.store.describe(),
            message: message.into(),
        }
    }

    fn records(&self) -> Result<&dyn taskpilot_store::shared::DecisionRecords, ObserveError> {
        self.store
            .decision_records()
            .ok_or_else(|| self.error("this backend keeps no decisions"))
    }

    fn parse(&self, entries: Vec<DecisionEntry>) -> (Vec<Decision>, Vec<BadLine>) {
        let mut decisions = Vec::with_capacity(entries.len());
        let mut bad = Vec::new();
        for (i, entry) in entries.into_iter().enumerate() {
            match serde_json::from_str::<Decision>(&entry.json) {
                Ok(d) => decisions.push(d),
                Err(e) => bad.push(BadLine {
                    line: i + 1,
                    error: format!("decision {}: {e}", entry.decision_id),
                }),
            }
        }
        (decisions, bad)
    }
}

/// A decision as the store keeps it (context redacted, as in the file).
pub fn entry_of(decision: &Decision, index: usize) -> Result<DecisionEntry, serde_json::Error> {
    let mut decision = decision.clone();
    redact_value(&mut decision.context);
    Ok(DecisionEntry {
        decision_id: decision.decision_id.clone(),
        sort_key: DecisionEntry::sort_key_for(&decision.timestamp, index),
        request_id: decision.request_id.clone(),
        task_id: decision
            .context
            .get("task_id")
            .and_then(|v| v.as_str())
            .map(str::to_owned),
        json: serde_json::to_string(&decision)?,
    })
}

#[async_trait]
impl DecisionSink for StoreDecisions {
    async fn record(&self, batch: &[Decision]) -> Result<(), ObserveError> {
        let entries = batch
            .iter()
            .enumerate()
            .map(|(i, d)| entry_of(d, i))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.error(format!("a decision cannot be written as JSON: {e}")))?;
        self.records()?
            .append_decisions(&entries)
            .await
            .map_err(|e| self.error(e.to_string()))
    }
}

#[async_trait]
impl DecisionSource for StoreDecisions {
    async fn all(&self) -> Result<(Vec<Decision>, Vec<BadLine>), ObserveError> {
        let entries = self
            .records()?
            .all_decisions()
            .await
            .map_err(|e| self.error(e.to_string()))?;
        Ok(self.parse(entries))
    }

    async fn for_task(&self, task_id: &str) -> Result<Vec<Decision>, ObserveError> {
        let entries = self
            .records()?
            .decisions_for_task(task_id)
            .await
            .map_err(|e| self.error(e.to_string()))?;
        Ok(self.parse(entries).0)
    }
}

/// Writes to the shared store and to the local file at once; done when both are durable.
struct Both {
    store: StoreDecisions,
    file: DecisionLog,
}

#[async_trait]
impl DecisionSink for Both {
    async fn record(&self, batch: &[Decision]) -> Result<(), ObserveError> {
        let (stored, filed) = futures::future::join(
            self.store.record(batch),
            DecisionSink::record(&self.file, batch),
        )
        .await;
        stored.and(filed)
    }
}

/// The decision log for a process on `store`: the store's (plus the local file) when the
/// backend keeps decisions, else `DECISION_LOGS_FILE`.
pub fn decisions_for(store: &Arc<dyn TaskStore>, file: DecisionLog) -> Decisions {
    match StoreDecisions::of(store.clone()) {
        Some(shared) => Decisions::new(
            Arc::new(Both {
                store: shared.clone(),
                file,
            }),
            Arc::new(shared),
            store.describe(),
        ),
        None => Decisions::file(file),
    }
}
