//! Timestamps as the task file stores them.
//!
//! Two styles exist: the seed's naive ISO form (`2025-12-20T10:04:04.305998`, what the Python
//! TaskPilot writes; TaskPilot writes UTC in it) and RFC 3339 with an offset
//! (`2026-11-26T13:04:54.123456Z`). A task file keeps one style ([`TimeStyle`]): naive unless
//! the file already uses offsets, so Python can compare every timestamp in it. Values are read
//! and written back exactly as they are, never shifted to another zone.

use std::fmt;
use std::sync::LazyLock;

use chrono::format::Item;
use chrono::{DateTime, FixedOffset, NaiveDateTime, SecondsFormat, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::CoreError;
use crate::naive_parse::{parse_naive, tokenise};

/// The seed's naive form, and the same with a space (both accepted when reading).
pub(crate) const NAIVE_T: &str = "%Y-%m-%dT%H:%M:%S%.f";
pub(crate) const NAIVE_SPACE: &str = "%Y-%m-%d %H:%M:%S%.f";

/// A point in time as recorded in a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timestamp {
    /// A time with a known offset (everything TaskPilot writes).
    Aware(DateTime<FixedOffset>),
    /// A local time without an offset (the Python version's files).
    Naive(NaiveDateTime),
}

/// How a file writes its timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeStyle {
    /// The seed's naive ISO form, in UTC (`2025-12-20T10:04:04.305998`).
    #[default]
    Naive,
    /// RFC 3339 with an offset (`…Z`).
    Offset,
}

impl TimeStyle {
    /// The style of a file holding these timestamps: offsets only if there is at least one and
    /// every one has an offset, the seed's naive form otherwise.
    pub fn of<'a>(timestamps: impl IntoIterator<Item = &'a Timestamp>) -> TimeStyle {
        let mut any = false;
        for t in timestamps {
            any = true;
            if !t.is_aware() {
                return TimeStyle::Naive;
            }
        }
        if any {
            TimeStyle::Offset
        } else {
            TimeStyle::Naive
        }
    }
}

impl Timestamp {
    /// The current time in `style`: UTC, microsecond precision.
    pub fn now_in(style: TimeStyle) -> Self {
        match (style, Self::now()) {
            (TimeStyle::Naive, Timestamp::Aware(t)) => Timestamp::Naive(t.naive_utc()),
            (_, t) => t,
        }
    }

    /// Whether the time carries a UTC offset (RFC 3339), rather than naive UTC as the seed writes.
    pub fn is_aware(&self) -> bool {
        matches!(self, Timestamp::Aware(_))
    }

    /// The same instant in `style`: an offset time becomes naive UTC; a naive time (UTC, as
    /// TaskPilot writes them) gains `Z`.
    pub fn in_style(self, style: TimeStyle) -> Self {
        match (style, self) {
            (TimeStyle::Naive, Timestamp::Aware(t)) => Timestamp::Naive(t.naive_utc()),
            (TimeStyle::Offset, Timestamp::Naive(t)) => {
                Timestamp::Aware(t.and_utc().fixed_offset())
            }
            (_, t) => t,
        }
    }

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

    /// Reads RFC 3339 or the seed's naive `YYYY-MM-DDTHH:MM:SS[.ffffff]` (or a space for `T`).
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        static ISO_T: LazyLock<Vec<Item<'static>>> = LazyLock::new(|| tokenise(NAIVE_T));
        static ISO_SPACE: LazyLock<Vec<Item<'static>>> = LazyLock::new(|| tokenise(NAIVE_SPACE));
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Ok(Timestamp::Aware(t));
        }
        for (format, items) in [(NAIVE_T, &*ISO_T), (NAIVE_SPACE, &*ISO_SPACE)] {
            if let Some(t) = parse_naive(s, format, items) {
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
    fn a_file_style_is_naive_unless_every_timestamp_has_an_offset() {
        let naive = Timestamp::parse("2025-12-20T10:04:04.305998").unwrap();
        let aware = Timestamp::parse("2026-01-02T03:04:05.123456Z").unwrap();
        assert_eq!(TimeStyle::of(Vec::<&Timestamp>::new()), TimeStyle::Naive);
        assert_eq!(TimeStyle::of([&naive, &aware]), TimeStyle::Naive);
        assert_eq!(TimeStyle::of([&aware, &aware]), TimeStyle::Offset);
        let now = Timestamp::now_in(TimeStyle::Naive).to_string();
        assert!(
            NaiveDateTime::parse_from_str(&now, "%Y-%m-%dT%H:%M:%S%.f").is_ok(),
            "{now}"
        );
        assert_eq!(
            aware.in_style(TimeStyle::Naive).to_string(),
            "2026-01-02T03:04:05.123456"
        );
        assert_eq!(
            naive.in_style(TimeStyle::Offset).to_string(),
            "2025-12-20T10:04:04.305998Z"
        );
    }

    #[test]
    fn garbage_is_an_error_naming_the_value() {
        let err = Timestamp::parse("yesterday").unwrap_err().to_string();
        assert!(err.contains("yesterday"), "{err}");
    }
}
