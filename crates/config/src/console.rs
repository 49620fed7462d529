//! What the person's console session says through the conventions every command-line tool
//! honours, rather than through TaskPilot's own settings: `NO_COLOR` (plain text when set and
//! not empty, <https://no-color.org>), `COLUMNS` (the width to fit tables to), `RUST_LOG` (the
//! console's log filter) and `USER` (who is at the keyboard, the default reviewer). `.env` does
//! not set them and `taskpilot config` does not list them; they are read here because only this
//! crate reads the environment.
//!
//! Not here: whether a stream is a terminal, what width is too narrow, how a filter is parsed
//! (the caller knows its stream, its tables and its logger).

use std::ffi::OsStr;

/// Whether `NO_COLOR` asks for plain text: it is set to anything but the empty string.
pub fn no_color() -> bool {
    asks_for_no_color(std::env::var_os("NO_COLOR").as_deref())
}

/// The width `COLUMNS` asks for, if it holds a whole number (spaces around it allowed).
pub fn columns() -> Option<u16> {
    width_of(std::env::var_os("COLUMNS").as_deref())
}

/// The log filter `RUST_LOG` asks for (`debug`, `taskpilot=info,warn`, …), as written; unset
/// or not UTF-8 is none.
pub fn log_filter() -> Option<String> {
    text_of(std::env::var_os("RUST_LOG").as_deref())
}

/// The login name in `USER`; unset, blank or not UTF-8 is none.
pub fn user() -> Option<String> {
    text_of(std::env::var_os("USER").as_deref()).filter(|name| !name.trim().is_empty())
}

fn asks_for_no_color(value: Option<&OsStr>) -> bool {
    value.is_some_and(|v| !v.is_empty())
}

fn width_of(value: Option<&OsStr>) -> Option<u16> {
    value?.to_str()?.trim().parse().ok()
}

fn text_of(value: Option<&OsStr>) -> Option<String> {
    value?.to_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use std::os::unix::ffi::OsStrExt;

    use super::*;

    #[test]
    fn no_color_is_asked_for_by_any_value_but_the_empty_one() {
        for (value, expected) in [
            (None, false),
            (Some(""), false),
            (Some("1"), true),
            (Some("0"), true),
            (Some("false"), true),
        ] {
            assert_eq!(
                asks_for_no_color(value.map(OsStr::new)),
                expected,
                "NO_COLOR={value:?}"
            );
        }
    }

    #[test]
    fn columns_is_a_whole_number_or_nothing() {
        for (value, expected) in [
            (None, None),
            (Some(""), None),
            (Some("80"), Some(80)),
            (Some(" 120 \n"), Some(120)),
            (Some("0"), Some(0)),
            (Some("wide"), None),
            (Some("-5"), None),
            (Some("80.5"), None),
            (Some("70000"), None),
        ] {
            assert_eq!(
                width_of(value.map(OsStr::new)),
                expected,
                "COLUMNS={value:?}"
            );
        }
    }

    #[test]
    fn text_is_kept_as_written_and_non_utf8_is_none() {
        assert_eq!(text_of(None), None);
        assert_eq!(text_of(Some(OsStr::new(""))), Some(String::new()));
        assert_eq!(
            text_of(Some(OsStr::new(" info,x=debug "))),
            Some(" info,x=debug ".to_owned())
        );
        assert_eq!(text_of(Some(OsStr::from_bytes(b"ab\xff"))), None);
    }
}
