//! Task priority: `high`, `medium` or `low`, accepted in any case and stored lower-case.
//!
//! Not here: reading a priority from text (`parse.rs`).

use serde::Serialize;

/// How urgent a task is.
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
pub enum Priority {
    /// Do first.
    High,
    /// The usual priority.
    Medium,
    /// When time allows.
    Low,
}

impl Priority {
    /// Every priority, most urgent first.
    pub const ALL: [Priority; 3] = [Priority::High, Priority::Medium, Priority::Low];

    /// The lower-case name stored and shown (`high`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}
