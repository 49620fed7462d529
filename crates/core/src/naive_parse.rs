//! Parsing naive date-times with a chrono format tokenised once: chrono re-reads a format
//! string on every `parse_from_str` call, which was about 7% of the CPU time of opening the
//! 3,689-task reference store. Used for task ids (`id.rs`) and the seed's timestamps
//! (`time.rs`).
//!
//! Not here: what the formats are (beside the types that use them).

use chrono::NaiveDateTime;
use chrono::format::{Item, Parsed, StrftimeItems};

/// `format` split into chrono's items once, for [`parse_naive`]. Empty if `format` is not a
/// valid format (then [`parse_naive`] falls back to chrono's own parsing).
pub(crate) fn tokenise(format: &'static str) -> Vec<Item<'static>> {
    StrftimeItems::new(format).parse().unwrap_or_default()
}

/// `NaiveDateTime::parse_from_str(s, format)` with `format` tokenised beforehand ([`tokenise`]):
/// chrono re-reads the format string on every call, which was about 7% of the CPU time of
/// opening the 3,689-task reference store.
pub(crate) fn parse_naive(
    s: &str,
    format: &'static str,
    items: &[Item<'static>],
) -> Option<NaiveDateTime> {
    if items.is_empty() {
        return NaiveDateTime::parse_from_str(s, format).ok();
    }
    let mut parsed = Parsed::new();
    chrono::format::parse(&mut parsed, s, items.iter()).ok()?;
    parsed.to_naive_datetime_with_offset(0).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{NAIVE_SPACE, NAIVE_T};

    /// The pre-tokenised parse accepts and refuses exactly what chrono's `parse_from_str` does.
    #[test]
    fn parse_naive_agrees_with_parse_from_str() {
        let inputs = [
            "2025-12-20T10:04:04.305998",
            "2025-12-20T10:04:04",
            "2025-12-20T10:04:04.3",
            "2025-12-20T10:04:04.123456789",
            "2025-12-20 10:04:04.305998",
            "2025-12-20T10:04:04.305998Z",
            "2025-12-20T10:04:04.305998 ",
            " 2025-12-20T10:04:04",
            "2025-02-30T10:04:04",
            "2025-12-20T24:00:00",
            "2025-12-20T10:04:60",
            "2025-12-20",
            "task_20251220_100404_305973",
            "task_20251220_100404_30597",
            "task_20251220_100404_3059731",
            "",
        ];
        for format in [NAIVE_T, NAIVE_SPACE, "task_%Y%m%d_%H%M%S_%6f"] {
            let items = tokenise(format);
            assert!(!items.is_empty(), "{format}");
            for s in inputs {
                assert_eq!(
                    parse_naive(s, format, &items),
                    NaiveDateTime::parse_from_str(s, format).ok(),
                    "{s:?} with {format}"
                );
            }
        }
        // Without items (a format chrono refused) it is chrono's own parse.
        assert_eq!(
            parse_naive("2025-12-20T10:04:04", NAIVE_T, &[]),
            NaiveDateTime::parse_from_str("2025-12-20T10:04:04", NAIVE_T).ok()
        );
    }
}
