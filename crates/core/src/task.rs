//! The task record (SPEC section 1 "Task record"), its validation and its status changes.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::claim::{self, CLAIM_FIELD, Claim, ClaimRule};
use crate::{CoreError, Priority, Status, TaskId, Timestamp};

/// Longest title, in characters, after trimming.
pub const TITLE_MAX_CHARS: usize = 500;
/// Longest description, in characters.
pub const DESCRIPTION_MAX_CHARS: usize = 10_000;

/// One task, with the seed file's ten fields in the seed's order. Fields this version does not
/// know (written by a newer version or another tool) are kept in `extra` and written back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Unique, and the creation time: ids sort in creation order.
    pub id: TaskId,
    /// One line, trimmed, at most [`TITLE_MAX_CHARS`] characters.
    pub title: String,
    /// How urgent the task is.
    pub priority: Priority,
    #[serde(default, deserialize_with = "null_as_empty")]
    /// Free text, at most [`DESCRIPTION_MAX_CHARS`] characters; `null` in a file reads as empty.
    pub description: String,
    /// Where the task is in its life; changed only by [`Task::apply`].
    pub status: Status,
    /// When the task was created, in the file's own time style.
    pub created_at: Timestamp,
    #[serde(default)]
    /// When it was last approved, rejected or sent to review.
    pub reviewed_at: Option<Timestamp>,
    #[serde(default)]
    /// When it was executed.
    pub executed_at: Option<Timestamp>,
    #[serde(default)]
    /// The reviewer's or person's reason for the last decision.
    pub reviewer_response: Option<String>,
    #[serde(default)]
    /// Why execution failed.
    pub error: Option<String>,
    #[serde(flatten)]
    /// Fields this version does not know, kept and written back unchanged.
    pub extra: Map<String, Value>,
}

/// What a caller supplies to create a task; [`NewTask::validate`] checks and normalises it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NewTask {
    /// The title as given; trimmed and checked by [`NewTask::validate`].
    pub title: String,
    /// `high`, `medium` or `low`, in any case.
    pub priority: String,
    #[serde(default)]
    /// Optional free text.
    pub description: String,
}

/// A requested status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The status to move to.
    pub to: Status,
    /// When set, the task must be in one of these statuses (a person approving a task in
    /// `review` must not approve it a second time after someone else did).
    pub expected_from: Option<Vec<Status>>,
    /// Stored in `reviewer_response` when set.
    pub reviewer_response: Option<String>,
    /// Stored in `error` when set (with `failed`).
    pub error: Option<String>,
    /// Takes or requires the execution claim (see `claim.rs`).
    pub claim: Option<ClaimRule>,
}

/// Whether a transition changed the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransitionOutcome {
    /// The task was changed and must be written.
    Changed,
    /// The task already had the requested status: nothing was written.
    Unchanged,
}

impl NewTask {
    /// A task to create with `title` and `priority`, without a description.
    pub fn new(title: impl Into<String>, priority: impl Into<String>) -> Self {
        NewTask {
            title: title.into(),
            priority: priority.into(),
            description: String::new(),
        }
    }

    /// The same task with `description`.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Checks the limits of SPEC section 1 and builds the `pending` task with the given id.
    pub fn into_task(self, id: TaskId, now: Timestamp) -> Result<Task, CoreError> {
        let (title, priority, description) = self.validate()?;
        Ok(Task {
            id,
            title,
            priority,
            description,
            status: Status::Pending,
            created_at: now,
            reviewed_at: None,
            executed_at: None,
            reviewer_response: None,
            error: None,
            extra: Map::new(),
        })
    }

    /// The trimmed title, the parsed priority and the description, or the first broken rule.
    /// New titles are held to [`crate::first_refused`] too (no zero-width or bidi characters),
    /// which records already stored are not.
    pub fn validate(&self) -> Result<(String, Priority, String), CoreError> {
        let title = validate_title(&self.title)?;
        if let Some(c) = crate::text::first_refused(&title) {
            return Err(CoreError::invalid(
                "title",
                format!(
                    "contains the invisible or control character {}; use plain text on one line",
                    crate::text::code_point(c)
                ),
            ));
        }
        let priority = self.priority.parse()?;
        validate_description(&self.description)?;
        Ok((title, priority, self.description.clone()))
    }
}

impl Task {
    /// Checks a record read from a file or a database against the same rules new tasks obey
    /// (the title is checked as stored, not re-trimmed).
    pub fn validate(&self) -> Result<(), CoreError> {
        validate_title(&self.title)?;
        validate_description(&self.description)?;
        Ok(())
    }

    /// Applies a status change, setting `reviewed_at`, `executed_at`, `reviewer_response` and
    /// `error` as the new status requires.
    pub fn apply(
        &mut self,
        transition: &Transition,
        now: Timestamp,
    ) -> Result<TransitionOutcome, CoreError> {
        if let Some(expected) = &transition.expected_from
            && !expected.contains(&self.status)
        {
            return Err(CoreError::UnexpectedStatus {
                id: self.id.clone(),
                found: self.status,
                expected: expected.clone(),
            });
        }
        if let Some(rule) = &transition.claim {
            rule.check(&self.id, self.claim(), &now)?;
        }
        if self.status == transition.to {
            if transition.claim.is_none() {
                return Ok(TransitionOutcome::Unchanged);
            }
            let before = self.extra.get(CLAIM_FIELD).cloned();
            self.settle_claim(transition.claim.as_ref())?;
            return Ok(if before.as_ref() == self.extra.get(CLAIM_FIELD) {
                TransitionOutcome::Unchanged
            } else {
                TransitionOutcome::Changed
            });
        }
        if !self.status.can_move_to(transition.to) {
            return Err(CoreError::ForbiddenTransition {
                id: self.id.clone(),
                from: self.status,
                to: transition.to,
            });
        }
        match transition.to {
            Status::Approved | Status::Rejected | Status::Review => self.reviewed_at = Some(now),
            Status::Executed => self.executed_at = Some(now),
            Status::Failed | Status::Pending => {}
        }
        if let Some(response) = &transition.reviewer_response {
            self.reviewer_response = Some(response.clone());
        }
        if let Some(error) = &transition.error {
            self.error = Some(error.clone());
        }
        self.status = transition.to;
        self.settle_claim(transition.claim.as_ref())?;
        Ok(TransitionOutcome::Changed)
    }
}

impl Task {
    /// The task's execution claim, if it has a readable one.
    pub fn claim(&self) -> Option<Claim> {
        Claim::read(&self.extra)
    }

    /// After the status is set: takes the claim, or drops it when the task left `approved`.
    fn settle_claim(&mut self, rule: Option<&ClaimRule>) -> Result<(), CoreError> {
        let approved_at = self.reviewed_at.unwrap_or(self.created_at);
        claim::settle(&mut self.extra, &self.id, self.status, approved_at, rule)
    }
}

impl Transition {
    /// A change to `status`, with no other condition or field.
    pub fn to(status: Status) -> Self {
        Transition {
            to: status,
            expected_from: None,
            reviewer_response: None,
            error: None,
            claim: None,
        }
    }

    /// Also takes the execution claim for `owner` until `until` (the task ends `approved`).
    pub fn claiming(mut self, owner: impl Into<String>, until: Timestamp) -> Self {
        self.claim = Some(ClaimRule::Take {
            owner: owner.into(),
            until,
        });
        self
    }

    /// Only if the task is claimed by `owner` (an execution finishing).
    pub fn held_by(mut self, owner: impl Into<String>) -> Self {
        self.claim = Some(ClaimRule::Held {
            owner: owner.into(),
        });
        self
    }

    /// Only if the task is in one of `from` (so a decision is not made twice).
    pub fn expecting(mut self, from: &[Status]) -> Self {
        self.expected_from = Some(from.to_vec());
        self
    }

    /// Also records `response` as the reviewer's response.
    pub fn with_response(mut self, response: impl Into<String>) -> Self {
        self.reviewer_response = Some(response.into());
        self
    }

    /// Also records `error` as the reason execution failed.
    pub fn with_error(mut self, error: impl Into<String>) -> Self {
        self.error = Some(error.into());
        self
    }
}

fn validate_title(raw: &str) -> Result<String, CoreError> {
    let title = raw.trim();
    let chars = title.chars().count();
    if chars == 0 {
        return Err(CoreError::invalid("title", "must not be empty"));
    }
    if chars > TITLE_MAX_CHARS {
        return Err(CoreError::invalid(
            "title",
            format!("is {chars} characters long; the limit is {TITLE_MAX_CHARS}"),
        ));
    }
    if let Some(c) = title.chars().find(|c| c.is_control()) {
        return Err(CoreError::invalid(
            "title",
            format!("contains the control character {c:?}; use plain text on one line"),
        ));
    }
    Ok(title.to_owned())
}

fn validate_description(description: &str) -> Result<(), CoreError> {
    let chars = description.chars().count();
    if chars > DESCRIPTION_MAX_CHARS {
        return Err(CoreError::invalid(
            "description",
            format!("is {chars} characters long; the limit is {DESCRIPTION_MAX_CHARS}"),
        ));
    }
    if let Some(c) = description
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(CoreError::invalid(
            "description",
            format!("contains the control character {c:?}"),
        ));
    }
    Ok(())
}

fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> Task {
        NewTask::new("  Prepare the board deck ", "HIGH")
            .into_task(TaskId::generate(), Timestamp::now())
            .unwrap()
    }

    #[test]
    fn new_tasks_are_trimmed_lower_cased_and_pending() {
        let t = task();
        assert_eq!(t.title, "Prepare the board deck");
        assert_eq!(t.priority, Priority::High);
        assert_eq!(t.status, Status::Pending);
        assert!(t.reviewed_at.is_none() && t.executed_at.is_none());
    }

    #[test]
    fn limits_name_the_field() {
        let cases = [
            (NewTask::new("   ", "low"), "title"),
            (NewTask::new("x".repeat(501), "low"), "title"),
            (NewTask::new("ok", "urgent"), "priority"),
            (
                NewTask::new("ok", "low").with_description("d".repeat(10_001)),
                "description",
            ),
            (NewTask::new("bell\u{7}", "low"), "title"),
            (NewTask::new("esc \u{1b}[31m red", "low"), "title"),
            (NewTask::new("\u{200B}\u{200C}\u{FEFF}", "low"), "title"),
            (NewTask::new("invoice \u{202E}fdp.exe", "low"), "title"),
        ];
        for (new, field) in cases {
            match new.validate() {
                Err(CoreError::InvalidField { field: f, .. }) => assert_eq!(f, field),
                other => panic!("expected an error on {field}, got {other:?}"),
            }
        }
        // Exactly at the limits is fine, counted in characters, not bytes.
        assert!(
            NewTask::new("é".repeat(500), "low")
                .with_description("ü".repeat(10_000))
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn transitions_set_their_timestamps() {
        let mut t = task();
        let now = Timestamp::now();
        t.apply(&Transition::to(Status::Review).with_response("REVIEW"), now)
            .unwrap();
        assert_eq!(t.reviewed_at, Some(now));
        assert_eq!(t.reviewer_response.as_deref(), Some("REVIEW"));
        t.apply(&Transition::to(Status::Approved), now).unwrap();
        t.apply(&Transition::to(Status::Failed).with_error("timeout"), now)
            .unwrap();
        assert_eq!(t.error.as_deref(), Some("timeout"));
        t.apply(&Transition::to(Status::Approved), now).unwrap();
        t.apply(&Transition::to(Status::Executed), now).unwrap();
        assert_eq!(t.executed_at, Some(now));
    }

    #[test]
    fn same_status_is_a_no_op_and_forbidden_moves_name_the_allowed_ones() {
        let mut t = task();
        let before = t.clone();
        assert_eq!(
            t.apply(&Transition::to(Status::Pending), Timestamp::now()),
            Ok(TransitionOutcome::Unchanged)
        );
        assert_eq!(t, before);
        let err = t
            .apply(&Transition::to(Status::Executed), Timestamp::now())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("'pending'") && err.contains("'approved', 'rejected', 'review'"),
            "{err}"
        );
        t.apply(&Transition::to(Status::Rejected), Timestamp::now())
            .unwrap();
        let err = t
            .apply(&Transition::to(Status::Approved), Timestamp::now())
            .unwrap_err()
            .to_string();
        assert!(err.contains("final"), "{err}");
    }

    #[test]
    fn expected_status_makes_the_second_decider_lose() {
        let mut t = task();
        let approve =
            Transition::to(Status::Approved).expecting(&[Status::Pending, Status::Review]);
        t.apply(&approve, Timestamp::now()).unwrap();
        let err = t.apply(&approve, Timestamp::now()).unwrap_err();
        assert!(matches!(
            err,
            CoreError::UnexpectedStatus {
                found: Status::Approved,
                ..
            }
        ));
    }

    #[test]
    fn seed_records_round_trip_with_unknown_fields() {
        let raw = r#"{"id":"task_20251220_100404_305973","title":"T","priority":"high","description":null,"status":"executed","created_at":"2025-12-20T10:04:04.305998","reviewed_at":null,"executed_at":"2025-12-20T10:56:14.474349","reviewer_response":null,"error":null,"version":3}"#;
        let t: Task = serde_json::from_str(raw).unwrap();
        assert_eq!(t.description, "");
        assert_eq!(t.extra.get("version"), Some(&Value::from(3)));
        let back = serde_json::to_value(&t).unwrap();
        assert_eq!(back["created_at"], "2025-12-20T10:04:04.305998");
        assert_eq!(back["version"], 3);
    }
}
