//! Task ids: `task_YYYYMMDD_HHMMSS_ffffff`, the creation time in UTC to the microsecond.
//!
//! Ids sort in creation order as plain strings. Within one process [`TaskId::generate`] never
//! hands out the same id twice, even for many tasks in one microsecond: it moves to the next
//! free microsecond. Across processes and instances the store settles collisions by asking
//! for [`TaskId::successor`] until the id is free, under its lock or unique constraint.
//!
//! Not here: reading an id from text ([`TaskId::parse`], in `parse.rs`).

use std::fmt;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::format::Item;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Serialize, Serializer};

const FORMAT: &str = "task_%Y%m%d_%H%M%S_%6f";
/// An id, to show in messages.
pub(crate) const EXAMPLE: &str = "task_20251220_100404_305973";

/// [`FORMAT`] tokenised once (see [`crate::naive_parse::parse_naive`]).
static ITEMS: LazyLock<Vec<Item<'static>>> = LazyLock::new(|| crate::naive_parse::tokenise(FORMAT));

/// The time an id names, if it names one.
fn parse_time(s: &str) -> Option<NaiveDateTime> {
    crate::naive_parse::parse_naive(s, FORMAT, &ITEMS)
}

/// The last microsecond handed out by this process.
static LAST_MICROS: AtomicI64 = AtomicI64::new(0);

/// A task's identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(String);

impl TaskId {
    /// A fresh id for a task created now, unique within this process.
    pub fn generate() -> Self {
        let now = Utc::now().timestamp_micros();
        let mut last = LAST_MICROS.load(Ordering::Relaxed);
        loop {
            let next = now.max(last + 1);
            match LAST_MICROS.compare_exchange_weak(last, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return Self::from_micros(next),
                Err(seen) => last = seen,
            }
        }
    }

    /// The id one microsecond later: what a store tries when this id is taken.
    pub fn successor(&self) -> Self {
        let micros = self
            .micros()
            .unwrap_or_else(|| Utc::now().timestamp_micros());
        // Keep this process's generator ahead of ids it has seen taken.
        LAST_MICROS.fetch_max(micros + 1, Ordering::AcqRel);
        Self::from_micros(micros + 1)
    }

    /// The id one microsecond earlier (to scan from just before this id).
    pub fn predecessor(&self) -> Self {
        Self::from_micros(self.micros().unwrap_or(1) - 1)
    }

    /// The id `s` spells, if `s` has an id's exact shape (see [`TaskId::parse`]).
    pub(crate) fn checked(s: &str) -> Option<Self> {
        let valid = s.len() == EXAMPLE.len() && s.starts_with("task_") && parse_time(s).is_some();
        valid.then(|| TaskId(s.to_owned()))
    }

    /// The id as text (`task_20251220_100404_305973`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The creation time the id encodes, in microseconds since the Unix epoch.
    pub fn micros(&self) -> Option<i64> {
        parse_time(&self.0).map(|t| t.and_utc().timestamp_micros())
    }

    fn from_micros(micros: i64) -> Self {
        let t = DateTime::<Utc>::from_timestamp_micros(micros).unwrap_or_else(Utc::now);
        TaskId(t.format(FORMAT).to_string())
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for TaskId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn generated_ids_have_the_seed_format() {
        let id = TaskId::generate();
        assert_eq!(id.as_str().len(), EXAMPLE.len());
        assert_eq!(TaskId::parse(id.as_str()), Ok(id));
    }

    #[test]
    fn many_ids_in_one_microsecond_stay_unique_across_threads() {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                std::thread::spawn(|| (0..5_000).map(|_| TaskId::generate()).collect::<Vec<_>>())
            })
            .collect();
        let mut seen = HashSet::new();
        for handle in handles {
            for id in handle.join().unwrap() {
                assert!(seen.insert(id.clone()), "duplicate id {id}");
            }
        }
        assert_eq!(seen.len(), 40_000);
    }

    #[test]
    fn successor_is_one_microsecond_later() {
        let id = TaskId::parse("task_20251220_235959_999999").unwrap();
        assert_eq!(id.successor().as_str(), "task_20251221_000000_000000");
    }

    #[test]
    fn rejects_other_shapes() {
        for bad in [
            "",
            "task_1",
            "task_20251320_100404_305973",
            "TASK_20251220_100404_305973",
            "task_20251220_100404_305973x",
        ] {
            assert!(TaskId::parse(bad).is_err(), "{bad}");
        }
    }
}
