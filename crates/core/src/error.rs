//! The errors of the domain layer: invalid fields and impossible transitions.

use crate::{Status, TaskId};

/// What is wrong with a task or a requested change. Each message names the field or the task
/// and says what would be accepted instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    /// A field's value breaks the record's rules (length, enum, format).
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// The field's name as users write it (`title`, `priority`, `id`).
        field: &'static str,
        /// What is wrong and what would be accepted.
        reason: String,
    },

    /// The requested status change is not one of the allowed transitions.
    #[error(
        "task {id} cannot go from '{from}' to '{to}'; allowed from '{from}': {}",
        allowed_list(*from)
    )]
    ForbiddenTransition {
        /// The task asked to move.
        id: TaskId,
        /// Its status.
        from: Status,
        /// The status asked for.
        to: Status,
    },

    /// The task was not in a status the caller required (someone else decided first).
    #[error("task {id} is '{found}', expected {}", expected_list(expected))]
    UnexpectedStatus {
        /// The task asked to move.
        id: TaskId,
        /// The status it had when the change was tried.
        found: Status,
        /// The statuses the caller required.
        expected: Vec<Status>,
    },

    /// Another worker holds the task's execution claim and its lease has not expired.
    #[error("task {id} is being executed by {owner} (claim held until {until})")]
    Claimed {
        /// The claimed task.
        id: TaskId,
        /// The worker holding the claim.
        owner: String,
        /// When the claim lapses, as the task records it.
        until: String,
    },

    /// The execution claim this worker needed is gone (its lease expired and another worker
    /// took it over, or the task was decided meanwhile).
    #[error("task {id} is no longer claimed by {owner} (now held by {holder})")]
    ClaimLost {
        /// The task whose claim was lost.
        id: TaskId,
        /// The worker that expected to hold the claim.
        owner: String,
        /// Who holds it now (`nobody` when no one does).
        holder: String,
    },
}

impl CoreError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        CoreError::InvalidField {
            field,
            reason: reason.into(),
        }
    }
}

fn allowed_list(from: Status) -> String {
    let next = from.allowed_next();
    if next.is_empty() {
        format!("none ('{from}' is final)")
    } else {
        next.iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn expected_list(expected: &[Status]) -> String {
    expected
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(" or ")
}
