//! Task priority: `high`, `medium` or `low`, accepted in any case and stored lower-case.

use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

use crate::CoreError;
use crate::error::parse_named;

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
    High,
    Medium,
    Low,
}

impl Priority {
    pub const ALL: [Priority; 3] = [Priority::High, Priority::Medium, Priority::Low];

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl FromStr for Priority {
    type Err = CoreError;

    /// Any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_named("priority", &Priority::ALL, s)
    }
}

impl<'de> Deserialize<'de> for Priority {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_any_case_and_prints_lower_case() {
        assert_eq!("HIGH".parse::<Priority>(), Ok(Priority::High));
        assert_eq!(" Medium ".parse::<Priority>(), Ok(Priority::Medium));
        assert_eq!(Priority::Low.to_string(), "low");
        let err = "urgent".parse::<Priority>().unwrap_err().to_string();
        assert!(err.contains("priority") && err.contains("urgent"), "{err}");
    }
}
