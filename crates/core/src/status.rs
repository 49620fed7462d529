//! The six task statuses and the only transitions allowed between them (SPEC section 1).
//!
//! Not here: reading a status from text (`parse.rs`).

use serde::Serialize;

/// Where a task is in its life.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    strum::Display,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Status {
    /// New: waiting for a decision.
    Pending,
    /// Accepted for execution, by a person or the reviewer.
    Approved,
    /// Turned down; final.
    Rejected,
    /// Waiting for a person's decision (the reviewer could not decide alone).
    Review,
    /// Carried out; final.
    Executed,
    /// Execution was tried and failed; may be approved again to retry.
    Failed,
}

impl Status {
    /// Every status, in the order reports show them.
    pub const ALL: [Status; 6] = [
        Status::Pending,
        Status::Review,
        Status::Approved,
        Status::Executed,
        Status::Failed,
        Status::Rejected,
    ];

    /// The lower-case name stored and shown (`pending`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The statuses this one may move to. Empty for the final statuses.
    pub fn allowed_next(self) -> &'static [Status] {
        match self {
            Status::Pending => &[Status::Approved, Status::Rejected, Status::Review],
            Status::Approved => &[Status::Executed, Status::Failed],
            Status::Review => &[Status::Approved, Status::Rejected],
            Status::Failed => &[Status::Approved],
            Status::Rejected | Status::Executed => &[],
        }
    }

    /// Whether a task in this status may move to `next`.
    pub fn can_move_to(self, next: Status) -> bool {
        self.allowed_next().contains(&next)
    }

    /// Whether nothing more can happen to a task in this status (`rejected`, `executed`).
    pub fn is_final(self) -> bool {
        self.allowed_next().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_table_is_the_spec() {
        use Status::*;
        let allowed = [
            (Pending, Approved),
            (Pending, Rejected),
            (Pending, Review),
            (Approved, Executed),
            (Approved, Failed),
            (Review, Approved),
            (Review, Rejected),
            (Failed, Approved),
        ];
        for from in Status::ALL {
            for to in Status::ALL {
                assert_eq!(
                    from.can_move_to(to),
                    allowed.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
        }
        assert!(Rejected.is_final() && Executed.is_final() && !Failed.is_final());
    }
}
