//! The `.env` reader pinned to exact values through `taskpilot_config::dotenv::parse`: what
//! each form of quoting, `$$`, a lone `$`, `${NAME}`, `${NAME:-default}`, `\` escapes and `#`
//! comments parse to, alone and on the lines after them, and the warning an unset name gives,
//! so that each small change cargo-mutants makes to the reader fails one of these tests.
//!
//! A mistake in tracking quotes or comments shows on the *next* lines: a `'` taken for an
//! opening quote leaves their `$` unprotected, and dotenvy then expands `$$y` to nothing.

use std::collections::HashMap;
use std::path::Path;

use taskpilot_config::ConfigError;
use taskpilot_config::dotenv::{self, Dotenv};

/// The process environment the tests pretend to have.
fn env() -> HashMap<String, String> {
    [("APP_HOME", "/home/u"), ("EMPTY_IN_ENV", "")]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn parse(text: &str) -> Dotenv {
    match dotenv::parse(text, Path::new("/x/.env"), &env()) {
        Ok(d) => d,
        Err(e) => panic!("{text:?}: {e}"),
    }
}

/// The variables of `text`, sorted by name.
fn vars(text: &str) -> Vec<(String, String)> {
    let d = parse(text);
    assert!(d.warnings.is_empty(), "{text:?}: {:?}", d.warnings);
    let mut vars: Vec<(String, String)> = d.vars.into_iter().collect();
    vars.sort();
    vars
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn dollars_and_references_in_unquoted_values() {
    for (line, expected) in [
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
        ("V=${Db_9}x", "x"),
        ("V=\\${APP_HOME}", "${APP_HOME}"),
        ("V=x#${APP_HOME}", "x#/home/u"),
    ] {
        let mut d = parse(&format!("{line}\n"));
        let warnings = std::mem::take(&mut d.warnings);
        assert_eq!(
            d.vars.get("V").map(String::as_str),
            Some(expected),
            "{line}"
        );
        assert_eq!(d.vars.len(), 1, "{line}: {:?}", d.vars);
        // `${Db_9}` names nothing: it is a name (letters, digits, `_`), so it warns.
        assert_eq!(
            warnings.len(),
            usize::from(line == "V=${Db_9}x"),
            "{line}: {warnings:?}"
        );
    }
}

#[test]
fn dollars_and_references_in_quoted_values() {
    for (line, expected) in [
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
    ] {
        let d = parse(&format!("{line}\n"));
        assert_eq!(
            d.vars.get("V").map(String::as_str),
            Some(expected),
            "{line}"
        );
        assert!(d.warnings.is_empty(), "{line}: {:?}", d.warnings);
    }
}

#[test]
fn comments_change_nothing_on_their_line_or_the_next() {
    // A comment after a value needs a space or tab before its `#`; what it holds (quotes,
    // references) changes nothing, on its line or the next.
    assert_eq!(
        vars("V=x #${NOPE} it's\nW=$$y\n"),
        pairs(&[("V", "x"), ("W", "$y")])
    );
    assert_eq!(
        vars("V=x\t# it's ${NOPE}\nW=$$y\n"),
        pairs(&[("V", "x"), ("W", "$y")])
    );
    assert_eq!(
        vars("V=\"a b\" # it's\nW=$$y\n"),
        pairs(&[("V", "a b"), ("W", "$y")])
    );
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
            pairs(&[("A", "1"), ("W", "$y")]),
            "{comment:?}"
        );
    }
}

#[test]
fn quotes_and_line_breaks_end_where_they_should() {
    // A double-quoted value over two lines: the `$` on its second line is still handled,
    // and the line after it starts afresh.
    assert_eq!(
        vars("V=\"one\n$$two ${APP_HOME}\"\nW=$$y\n"),
        pairs(&[("V", "one\n$two /home/u"), ("W", "$y")])
    );
    // The same in single quotes: nothing inside is touched.
    assert_eq!(
        vars("V='one\n$$two ${APP_HOME}'\nW=$$y\n"),
        pairs(&[("V", "one\n$$two ${APP_HOME}"), ("W", "$y")])
    );
    // A `#` inside a quoted value does not start a comment, and the quote's end is found.
    assert_eq!(
        vars("V=\"a # it's\" #c\nW=$$y\n"),
        pairs(&[("V", "a # it's"), ("W", "$y")])
    );
    // `export` before the name changes nothing: the value's single quotes still keep `$$`.
    assert_eq!(
        vars("export V='$$'\nW=$$y\n"),
        pairs(&[("V", "$$"), ("W", "$y")])
    );
    // `\` escapes the next character, also a quote.
    assert_eq!(vars("V=\\'$$\nW=$$y\n"), pairs(&[("V", "'$"), ("W", "$y")]));
    // A reference at the end of the first line of a quoted value is not closed by a `}` on
    // the next.
    assert_eq!(
        vars("V=\"${APP_HOME\n}\"\nW=$$y\n"),
        pairs(&[("V", "${APP_HOME\n}"), ("W", "$y")])
    );
}

#[test]
fn references_use_the_environment_first_then_the_lines_above() {
    let d = parse("APP_HOME=/from/file\nA=a\nB=${A}-${APP_HOME}\nC=${B}!\nD=${LATER}\nLATER=x\n");
    let mut vars: Vec<(String, String)> = d.vars.into_iter().collect();
    vars.sort();
    assert_eq!(
        vars,
        pairs(&[
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
    for (line, expected) in [
        ("V=\u{E000}", "\u{E000}"),
        ("V=\u{E000}x${APP_HOME}", "\u{E000}x/home/u"),
        ("V=\u{E000}7\u{E001}", "\u{E000}7\u{E001}"),
        ("V=a\u{E001}b", "a\u{E001}b"),
    ] {
        let d = parse(&format!("{line}\n"));
        assert_eq!(
            d.vars.get("V").map(String::as_str),
            Some(expected),
            "{line:?}"
        );
        assert!(d.warnings.is_empty(), "{line:?}: {:?}", d.warnings);
    }
}

#[test]
fn a_bad_key_is_named_by_its_line_and_column() {
    for (text, line, column) in [
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
    ] {
        match dotenv::parse(text, Path::new("/x/.env"), &env()) {
            Err(ConfigError::DotenvLine {
                path,
                line: l,
                reason,
            }) => {
                assert_eq!(path, Path::new("/x/.env"), "{text:?}");
                assert_eq!(
                    (l, reason),
                    (line, format!("unexpected character at column {column}")),
                    "{text:?}"
                );
            }
            other => panic!("{text:?}: {other:?}"),
        }
    }
}

#[test]
fn a_bad_value_is_named_by_its_line_and_its_column_in_that_line() {
    for (text, line, column) in [
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
    ] {
        match dotenv::parse(text, Path::new("/x/.env"), &env()) {
            Err(ConfigError::DotenvLine {
                line: l, reason, ..
            }) => assert_eq!(
                (l, reason),
                (line, format!("unexpected character at column {column}")),
                "{text:?}"
            ),
            other => panic!("{text:?}: {other:?}"),
        }
    }
}
