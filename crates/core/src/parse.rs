//! Reading task ids, statuses and priorities from text (user input, files, requests): each
//! refusal is a [`CoreError::InvalidField`] naming the field and what would be accepted.
//!
//! Kept apart from the types so that [`CoreError`], which names ids and statuses, sits between
//! them and this module instead of in an import cycle with them.

use std::borrow::Cow;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

use crate::id::EXAMPLE;
use crate::{CoreError, Priority, Status, TaskId};

impl TaskId {
    /// Validates an id given by a user or read from a file.
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        TaskId::checked(s).ok_or_else(|| {
            CoreError::invalid(
                "id",
                format!(
                    "'{}' is not a task id (expected the form {EXAMPLE})",
                    s.escape_debug()
                ),
            )
        })
    }
}

impl FromStr for TaskId {
    type Err = CoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TaskId::parse(s)
    }
}

impl<'de> Deserialize<'de> for TaskId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Cow::<'de, str>::deserialize(d)?;
        TaskId::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl FromStr for Status {
    type Err = CoreError;

    /// Any case; the error lists the statuses in report order.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_named("status", &Status::ALL, s)
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Cow::<'de, str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
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
        let s = Cow::<'de, str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The value of `all` whose name is `s` (trimmed, any case), or an invalid-`field` error that
/// lists the names in `all`'s order.
fn parse_named<T: Copy + Into<&'static str>>(
    field: &'static str,
    all: &[T],
    s: &str,
) -> Result<T, CoreError> {
    let wanted = s.trim();
    all.iter()
        .copied()
        .find(|v| (*v).into().eq_ignore_ascii_case(wanted))
        .ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|v| (*v).into()).collect();
            CoreError::invalid(
                field,
                format!("'{}' is not one of {}", s.escape_debug(), names.join(", ")),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_parse_by_known_names_only() {
        assert_eq!("Review".parse::<Status>(), Ok(Status::Review));
        assert!("done".parse::<Status>().is_err());
    }

    #[test]
    fn priorities_parse_in_any_case_and_print_lower_case() {
        assert_eq!("HIGH".parse::<Priority>(), Ok(Priority::High));
        assert_eq!(" Medium ".parse::<Priority>(), Ok(Priority::Medium));
        assert_eq!(Priority::Low.to_string(), "low");
        let err = "urgent".parse::<Priority>().unwrap_err().to_string();
        assert!(err.contains("priority") && err.contains("urgent"), "{err}");
    }
}
