//! Timestamps as the task file stores them.
//!
//! New timestamps are written in RFC 3339 with an offset (`2026-11-26T13:04:54.123456Z`).
//! Files written by the Python TaskPilot hold naive local times (`2025-12-20T10:04:04.305998`);
//! those are read and written back exactly as they are, never shifted to another zone.

use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDateTime, SecondsFormat, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::CoreError;

/// A point in time as recorded in a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timestamp {
    /// A time with a known offset (everything TaskPilot writes).
    Aware(DateTime<FixedOffset>),
    /// A local time without an offset (the Python version's files).
    Naive(NaiveDateTime),
}

impl Timestamp {
    /// The current time, in UTC, with microsecond precision.
    pub fn now() -> Self {
        Self::from_utc(Utc::now())
    }

    /// A UTC instant truncated to microseconds (the precision of the file format).
    pub fn from_utc(t: DateTime<Utc>) -> Self {
        let micros = t.nanosecond() / 1_000 * 1_000;
        let t = t.with_nanosecond(micros).unwrap_or(t);
        Timestamp::Aware(t.fixed_offset())
    }

    pub fn parse(s: &str) -> Result<Self, CoreError> {
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Ok(Timestamp::Aware(t));
        }
        for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
            if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
                return Ok(Timestamp::Naive(t));
            }
        }
        Err(CoreError::invalid(
            "timestamp",
            format!(
                "'{}' is neither RFC 3339 nor YYYY-MM-DDTHH:MM:SS[.ffffff]",
                s.escape_debug()
            ),
        ))
    }

    /// The time as a naive date-time in its own zone (used for display and ordering hints).
    pub fn naive_local(&self) -> NaiveDateTime {
        match self {
            Timestamp::Aware(t) => t.naive_local(),
            Timestamp::Naive(t) => *t,
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Timestamp::Aware(t) => f.write_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            // Python's isoformat(): microseconds only when non-zero, always six digits.
            Timestamp::Naive(t) => {
                write!(f, "{}", t.format("%Y-%m-%dT%H:%M:%S"))?;
                let micros = t.nanosecond() / 1_000;
                if micros != 0 {
                    write!(f, ".{micros:06}")?;
                }
                Ok(())
            }
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Timestamp::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naive_python_timestamps_round_trip_unchanged() {
        for s in ["2025-12-20T10:04:04.305998", "2025-12-20T10:04:04"] {
            let t = Timestamp::parse(s).unwrap();
            assert!(matches!(t, Timestamp::Naive(_)));
            assert_eq!(t.to_string(), s);
        }
    }

    #[test]
    fn new_timestamps_are_rfc3339_utc_with_micros() {
        let s = Timestamp::now().to_string();
        assert!(s.ends_with('Z'), "{s}");
        assert!(DateTime::parse_from_rfc3339(&s).is_ok(), "{s}");
        let t = Timestamp::parse("2026-01-02T03:04:05.123456+02:00").unwrap();
        assert_eq!(t.to_string(), "2026-01-02T03:04:05.123456+02:00");
    }

    #[test]
    fn garbage_is_an_error_naming_the_value() {
        let err = Timestamp::parse("yesterday").unwrap_err().to_string();
        assert!(err.contains("yesterday"), "{err}");
    }
}
