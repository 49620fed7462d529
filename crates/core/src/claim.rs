//! Execution claims: which worker may run the executor's side effect for an approved task,
//! and until when.
//!
//! A claim is kept in the task's extra field `claim` (`owner`, `expires_at`, `key`), so the
//! status stays one of the seed's six and every backend stores it as it stores any extra
//! field. It is taken and checked inside [`Task::apply`](crate::Task::apply), the one
//! transition rule, so whichever conditional write a backend uses makes it atomic.
//!
//! Not here: lease lengths and owner names (the caller's), writing (the store's).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{CoreError, Status, TaskId, Timestamp};

/// The extra field that holds a task's claim.
pub const CLAIM_FIELD: &str = "claim";

/// The claim on an approved task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// Who may execute the task (one worker of one process).
    pub owner: String,
    /// After this instant another worker may take the claim over.
    pub expires_at: Timestamp,
    /// The idempotency key of this execution: the task id and the approval it executes, so
    /// a takeover after a crash repeats the key and a receiver can drop the duplicate.
    pub key: String,
}

/// What a transition requires of, or does to, the claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimRule {
    /// Take the claim for `owner` until `until`. The task must end `approved`; a claim of
    /// another owner that has not expired refuses.
    Take {
        /// The worker taking the claim.
        owner: String,
        /// When the claim lapses unless renewed.
        until: Timestamp,
    },
    /// The task must be claimed by `owner` (finishing an execution).
    Held {
        /// The worker that must hold the claim.
        owner: String,
    },
}

impl Claim {
    /// The claim kept in a task's `extra` fields, if it has a readable one.
    pub(crate) fn read(extra: &Map<String, Value>) -> Option<Claim> {
        extra
            .get(CLAIM_FIELD)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }

    /// Whether the claim still holds at `now`. A time without an offset is UTC, as TaskPilot
    /// writes them (the file store's clock is naive UTC in a seed-style file).
    pub fn is_live(&self, now: &Timestamp) -> bool {
        instant(now) < instant(&self.expires_at)
    }
}

impl ClaimRule {
    /// Checks the rule against `current`, the claim task `id` has before the transition.
    pub(crate) fn check(
        &self,
        id: &TaskId,
        current: Option<Claim>,
        now: &Timestamp,
    ) -> Result<(), CoreError> {
        match self {
            ClaimRule::Take { owner, .. } => match current {
                Some(c) if &c.owner != owner && c.is_live(now) => Err(CoreError::Claimed {
                    id: id.clone(),
                    owner: c.owner,
                    until: c.expires_at.to_string(),
                }),
                _ => Ok(()),
            },
            ClaimRule::Held { owner } => match current {
                Some(c) if &c.owner == owner => Ok(()),
                other => Err(CoreError::ClaimLost {
                    id: id.clone(),
                    owner: owner.clone(),
                    holder: other.map_or_else(|| "nobody".to_owned(), |c| c.owner),
                }),
            },
        }
    }
}

/// After a transition set task `id`'s `status`: takes the claim into the task's `extra`
/// fields, or drops it when the task left `approved`. `approved_at` makes the claim's
/// idempotency key.
pub(crate) fn settle(
    extra: &mut Map<String, Value>,
    id: &TaskId,
    status: Status,
    approved_at: Timestamp,
    rule: Option<&ClaimRule>,
) -> Result<(), CoreError> {
    if status != Status::Approved {
        extra.remove(CLAIM_FIELD);
        if matches!(rule, Some(ClaimRule::Take { .. })) {
            return Err(CoreError::invalid(
                "claim",
                format!("task {id} is '{status}'; only an approved task is claimed"),
            ));
        }
        return Ok(());
    }
    if let Some(ClaimRule::Take { owner, until }) = rule {
        let claim = Claim {
            owner: owner.clone(),
            expires_at: *until,
            key: format!("{id}@{approved_at}"),
        };
        let value = serde_json::to_value(claim).unwrap_or(Value::Null);
        extra.insert(CLAIM_FIELD.to_owned(), value);
    }
    Ok(())
}

fn instant(t: &Timestamp) -> DateTime<Utc> {
    match t {
        Timestamp::Aware(t) => t.to_utc(),
        Timestamp::Naive(t) => t.and_utc(),
    }
}
