//! The `.env` reader pinned to exact values through `taskpilot_config::dotenv::parse`: what
//! each form of quoting, `$$`, a lone `$`, `${NAME}`, `${NAME:-default}`, `\` escapes and `#`
//! comments parse to, alone and on the lines after them, and the warning an unset name gives,
//! so that each small change cargo-mutants makes to the reader fails one of these tests.
//!
//! A mistake in tracking quotes or comments shows on the *next* lines: a `'` taken for an
//! opening quote leaves their `$` unprotected, and dotenvy then expands `$$y` to nothing.

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::owned;
use taskpilot_config::ConfigError;
use taskpilot_config::dotenv::{self, Dotenv};

/// The process environment the tests pretend to have.
fn env() -> HashMap<String, String> {
    owned(&[("APP_HOME", "/home/u"), ("EMPTY_IN_ENV", "")])
}

fn parse(text: &str) -> Dotenv {
    match dotenv::parse(text, Path::new("/x/.env"), &env()) {
        Ok(d) => d,
        Err(e) => panic!("{text:?}: {e}"),
    }
}

/// The variables of a parse, sorted by name.
fn sorted(vars: HashMap<String, String>) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = vars.into_iter().collect();
    vars.sort();
    vars
}

/// The variables of `text`, sorted by name; it must give no warning.
fn vars(text: &str) -> Vec<(String, String)> {
    let d = parse(text);
    assert!(d.warnings.is_empty(), "{text:?}: {:?}", d.warnings);
    sorted(d.vars)
}

/// What `line`, alone in a file, sets `V` to (it must set nothing else), and its warnings.
fn value_of_v(line: &str) -> (String, Vec<String>) {
    let mut d = parse(&format!("{line}\n"));
    assert_eq!(d.vars.keys().collect::<Vec<_>>(), ["V"], "{line:?}");
    (d.vars.remove("V").unwrap_or_default(), d.warnings)
}

/// Each `(line, value)`: `line` alone in a file sets `V` to `value`, with no warning.
fn assert_sets_v(cases: &[(&str, &str)]) {
    for (line, value) in cases {
        assert_eq!(value_of_v(line), ((*value).to_owned(), vec![]), "{line:?}");
    }
}

/// Each `(text, value)`: `text` sets `V` to `value`, and the line `W=$$y` after it is read
/// afresh (`W` is `$y`), with no warning.
fn assert_sets_v_then_w(cases: &[(&str, &str)]) {
    for (text, value) in cases {
        assert_eq!(
            vars(&format!("{text}\nW=$$y\n")),
            owned::<Vec<_>>(&[("V", value), ("W", "$y")]),
            "{text:?}"
        );
    }
}

/// The line and reason of the error `text` gives: a line error naming `/x/.env`.
fn line_error(text: &str) -> (usize, String) {
    match dotenv::parse(text, Path::new("/x/.env"), &env()) {
        Err(ConfigError::DotenvLine { path, line, reason }) => {
            assert_eq!(path, Path::new("/x/.env"), "{text:?}");
            (line, reason)
        }
        other => panic!("{text:?}: {other:?}"),
    }
}

/// Each `(text, line, column)`: `text` is refused at that line and column.
fn assert_refused_at(cases: &[(&str, usize, usize)]) {
    for (text, line, column) in cases {
        assert_eq!(
            line_error(text),
            (*line, format!("unexpected character at column {column}")),
            "{text:?}"
        );
    }
}

#[test]
fn dollars_and_references_in_unquoted_values() {
    assert_sets_v(&[
        ("V=p$$q", "p$q"),
        ("V=$$", "$"),
        ("V=$$$$", "$$"),
        ("V=a$b", "a$b"),
        ("V=$", "$"),
        ("V=$APP_HOME", "$APP_HOME"),
        ("V=${APP_HOME}", "/home/u"),
        ("V=${APP_HOME}tail", "/home/utail"),
        ("V=x${APP_HOME}${APP_HOME}y", "x/home/u/home/uy"),
        ("V=$${APP_HOME}", "${APP_HOME}"),
        ("V=${NOPE:-dflt}x", "dfltx"),
        ("V=${NOPE:-é€}x", "é€x"),
        ("V=${NOPE:-}x", "x"),
        ("V=${APP_HOME:-other}", "/home/u"),
        ("V=${NOPE:-b:-c}", "b:-c"),
        ("V=${EMPTY_IN_ENV:-d}", ""),
        ("V=${}", "${}"),
        ("V=${:-d}", "${:-d}"),
        ("V=${A-B}", "${A-B}"),
        ("V=${APP_HOME", "${APP_HOME"),
        ("V=${APP_HO.ME}", "${APP_HO.ME}"),
        ("V=\\${APP_HOME}", "${APP_HOME}"),
        ("V=x#${APP_HOME}", "x#/home/u"),
    ]);
    // `${Db_9}` names nothing: it is a name (letters, digits, `_`), so it warns.
    let (value, warnings) = value_of_v("V=${Db_9}x");
    assert_eq!((value.as_str(), warnings.len()), ("x", 1), "{warnings:?}");
}

#[test]
fn dollars_and_references_in_quoted_values() {
    assert_sets_v(&[
        (
            "V=\"${APP_HOME} and $APP_HOME and $$\"",
            "/home/u and $APP_HOME and $",
        ),
        ("V=\"it's ${APP_HOME} $$\"", "it's /home/u $"),
        ("V=\"say \\\"hi\\\" it's $$\"", "say \"hi\" it's $"),
        ("V=\"\\$APP_HOME\"", "$APP_HOME"),
        ("V=\"${A B}\"", "${A B}"),
        ("V=\"x # ${APP_HOME}\"", "x # /home/u"),
        ("V='${APP_HOME} $$ $x'", "${APP_HOME} $$ $x"),
        ("V='a \"b'\"$$\"", "a \"b$"),
        ("V='a'\"$$\"'$$'", "a$$$"),
        ("V=\"a'\"$$", "a'$"),
    ]);
}

#[test]
fn comments_change_nothing_on_their_line_or_the_next() {
    // A comment after a value needs a space or tab before its `#`; what it holds (quotes,
    // references) changes nothing, on its line or the next.
    assert_sets_v_then_w(&[
        ("V=x #${NOPE} it's", "x"),
        ("V=x\t# it's ${NOPE}", "x"),
        ("V=\"a b\" # it's", "a b"),
    ]);
    // Comment lines, flush or indented by one, two or three blanks, even holding `=`.
    for comment in [
        "# it's ${NOPE}",
        " # a=it's",
        "  # a=it's",
        "\t # a=it's",
        "   # a=it's",
    ] {
        assert_eq!(
            vars(&format!("A=1\n{comment}\nW=$$y\n")),
            owned::<Vec<_>>(&[("A", "1"), ("W", "$y")]),
            "{comment:?}"
        );
    }
}

#[test]
fn quotes_and_line_breaks_end_where_they_should() {
    assert_sets_v_then_w(&[
        // A double-quoted value over two lines: the `$` on its second line is still handled,
        // and the line after it starts afresh.
        ("V=\"one\n$$two ${APP_HOME}\"", "one\n$two /home/u"),
        // The same in single quotes: nothing inside is touched.
        ("V='one\n$$two ${APP_HOME}'", "one\n$$two ${APP_HOME}"),
        // A `#` inside a quoted value does not start a comment, and the quote's end is found.
        ("V=\"a # it's\" #c", "a # it's"),
        // `export` before the name changes nothing: the value's single quotes still keep `$$`.
        ("export V='$$'", "$$"),
        // `\` escapes the next character, also a quote.
        ("V=\\'$$", "'$"),
        // A reference at the end of the first line of a quoted value is not closed by a `}` on
        // the next.
        ("V=\"${APP_HOME\n}\"", "${APP_HOME\n}"),
    ]);
}

#[test]
fn references_use_the_environment_first_then_the_lines_above() {
    let d = parse("APP_HOME=/from/file\nA=a\nB=${A}-${APP_HOME}\nC=${B}!\nD=${LATER}\nLATER=x\n");
    assert_eq!(
        sorted(d.vars),
        owned::<Vec<_>>(&[
            ("A", "a"),
            ("APP_HOME", "/from/file"),
            ("B", "a-/home/u"),
            ("C", "a-/home/u!"),
            ("D", ""),
            ("LATER", "x"),
        ])
    );
    assert_eq!(
        d.warnings,
        [
            "/x/.env: D expands ${LATER}, which is set neither in the environment nor above in \
             the file; it expands to nothing (write $$ for a literal $)"
        ]
    );
}

#[test]
fn each_unset_reference_warns_once_and_defaults_do_not_warn() {
    let d = parse("V=${ONE}/${NOPE:-d}/${TWO}\n");
    assert_eq!(d.vars["V"], "/d/");
    let names: Vec<bool> = d
        .warnings
        .iter()
        .map(|w| w.starts_with("/x/.env: V expands ${ONE}"))
        .collect();
    assert_eq!(names, [true, false]);
    assert!(
        d.warnings[1].starts_with("/x/.env: V expands ${TWO}, "),
        "{:?}",
        d.warnings
    );
}

#[test]
fn marker_characters_in_the_file_itself_are_kept() {
    assert_sets_v(&[
        ("V=\u{E000}", "\u{E000}"),
        ("V=\u{E000}x${APP_HOME}", "\u{E000}x/home/u"),
        ("V=\u{E000}7\u{E001}", "\u{E000}7\u{E001}"),
        ("V=a\u{E001}b", "a\u{E001}b"),
    ]);
}

#[test]
fn a_bad_key_is_named_by_its_line_and_column() {
    assert_refused_at(&[
        ("A=1\nB C\n", 2, 3),
        ("A=\"x\ny\"\n\n# c\nB C\n", 5, 3),
        ("A=1\n  B$=1\n", 2, 4),
        // A key alone is the start of an earlier, good line: the search starts after the
        // last entry read.
        ("A=1\nA\n", 2, 2),
        ("X=1\nA=1\nA\n", 3, 2),
        // The same text inside a quoted value above does not take the blame.
        ("X='\nA#=$x'\nA#=$x\n", 3, 2),
        ("X=\"\nA$B=1\"\nA$B=1\n", 3, 2),
    ]);
}

#[test]
fn a_bad_value_is_named_by_its_line_and_its_column_in_that_line() {
    assert_refused_at(&[
        // dotenvy reports only the value; the column counts from the start of the line.
        ("A=1\nB=1 2\n", 2, 5),
        ("V='a \"b' \"$$\"\n", 1, 10),
        ("A=1\nexport  V='x' y\n", 2, 15),
        ("A=1\nV = 'x' y\n", 2, 9),
        // The same text earlier in the file, as a value read before or inside a quoted value
        // that goes on over lines, does not take the blame.
        ("A='1 2'\nB=1 2\n", 2, 5),
        ("A='x\n1 2'\nB=1 2\n", 3, 5),
        ("A=\"x\nB=1 2\"\nC=3\nB=1 2\n", 4, 5),
        ("A=\"x\nB C\"\nB C\n", 3, 3),
    ]);
}
