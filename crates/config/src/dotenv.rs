//! Reading the `.env` file with `dotenvy`, without touching the process environment, and
//! turning its parse errors into errors that name the file and the line number.
//!
//! `$` follows python-dotenv (the Python TaskPilot's reader), not dotenvy: only `${NAME}` (and
//! `${NAME:-default}`) is expanded, from the process environment first and then the lines
//! above; `$$` is a literal `$`; any other `$` is literal; nothing is expanded inside single
//! quotes. Expanding a name that is set nowhere gives the empty string and a warning. dotenvy
//! would expand `$NAME` too, so before it parses the text every `$` outside single quotes is
//! escaped and each `${…}` becomes a private-use marker that is resolved here afterwards.

use std::collections::HashMap;
use std::path::Path;

use crate::ConfigError;

/// Opens a `${…}` marker handed through dotenvy.
const MARK_OPEN: char = '\u{E000}';
/// Closes it.
const MARK_CLOSE: char = '\u{E001}';

/// The variables of a `.env` file and the warnings about it (unset names expanded).
#[derive(Debug, Default)]
pub struct Dotenv {
    /// Each variable the file sets, `${NAME}` references expanded.
    pub vars: HashMap<String, String>,
    /// Problems that do not stop loading (a `${NAME}` naming nothing), to print.
    pub warnings: Vec<String>,
}

/// The variables of the `.env` file at `path`; an absent file is an empty map unless
/// `required` (an explicit `ENV_FILE_PATH`), when it is an error naming it. `env` is the
/// process environment, which `${NAME}` consults first.
pub fn read(
    path: &Path,
    required: bool,
    env: &HashMap<String, String>,
) -> Result<Dotenv, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
            return Ok(Dotenv::default());
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ConfigError::EnvFileMissing {
                path: path.to_owned(),
            });
        }
        Err(e) => {
            return Err(ConfigError::DotenvUnreadable {
                path: path.to_owned(),
                reason: e.to_string(),
            });
        }
    };
    parse(&text, path, env)
}

/// Parses the text of a `.env` file (`path` is only for messages).
pub fn parse(
    text: &str,
    path: &Path,
    env: &HashMap<String, String>,
) -> Result<Dotenv, ConfigError> {
    let Protected {
        text: protected,
        references,
        continued,
    } = protect(text);
    let mut out = Dotenv::default();
    // The line after the last entry read: where the search for a bad line starts.
    let mut next_line = 0;
    for item in dotenvy::from_read_iter(protected.as_bytes()) {
        match item {
            Ok((name, value)) => {
                next_line = entry_line(&protected, &name, next_line, &continued)
                    .map_or(next_line, |i| i + 1);
                let value = expand(
                    &value,
                    &references,
                    env,
                    &out.vars,
                    &mut |reference: &str| out_warning(path, &name, reference),
                );
                let (value, warnings) = value;
                out.warnings.extend(warnings);
                out.vars.insert(name, value);
            }
            Err(dotenvy::Error::LineParse(content, index)) => {
                let (line, column) =
                    error_position(&protected, &content, index, next_line, &continued);
                return Err(ConfigError::DotenvLine {
                    path: path.to_owned(),
                    line,
                    reason: format!("unexpected character at column {column}"),
                });
            }
            Err(e) => {
                return Err(ConfigError::DotenvLine {
                    path: path.to_owned(),
                    line: 0,
                    reason: e.to_string(),
                });
            }
        }
    }
    Ok(out)
}

fn out_warning(path: &Path, name: &str, reference: &str) -> String {
    format!(
        "{}: {name} expands ${{{reference}}}, which is set neither in the environment nor \
         above in the file; it expands to nothing (write $$ for a literal $)",
        path.display()
    )
}

/// `value` with its markers replaced by what they name; the warnings for unset names.
fn expand(
    value: &str,
    references: &[(String, Option<String>)],
    env: &HashMap<String, String>,
    earlier: &HashMap<String, String>,
    warn: &mut dyn FnMut(&str) -> String,
) -> (String, Vec<String>) {
    let mut out = String::with_capacity(value.len());
    let mut warnings = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find(MARK_OPEN) {
        out.push_str(&rest[..open]);
        let after = &rest[open + MARK_OPEN.len_utf8()..];
        let reference = after.find(MARK_CLOSE).and_then(|close| {
            let index = after[..close].parse::<usize>().ok()?;
            Some((references.get(index)?, close))
        });
        // A marker character the file itself held (not one of ours) is kept as it is.
        let Some(((name, default), close)) = reference else {
            out.push(MARK_OPEN);
            rest = after;
            continue;
        };
        match env.get(name).or_else(|| earlier.get(name)) {
            Some(v) => out.push_str(v),
            None => match default {
                Some(d) => out.push_str(d),
                None => warnings.push(warn(name)),
            },
        }
        rest = &after[close + MARK_CLOSE.len_utf8()..];
    }
    out.push_str(rest);
    (out, warnings)
}

/// What [`protect`] makes of a `.env` file.
struct Protected {
    /// The text for dotenvy.
    text: String,
    /// The `${NAME}` / `${NAME:-default}` references, by the index their markers hold.
    references: Vec<(String, Option<String>)>,
    /// The indexes of the lines that continue a quoted value begun on an earlier line.
    continued: Vec<usize>,
}

/// The text dotenvy is given: outside single quotes and comments, `$$` and lone `$` become
/// `\$` (dotenvy's literal dollar) and `${NAME}` / `${NAME:-default}` becomes a marker
/// holding the index of the reference returned beside it. Line breaks are kept, so dotenvy's
/// line numbers stay true.
fn protect(text: &str) -> Protected {
    let mut out = String::with_capacity(text.len() + 16);
    let mut references = Vec::new();
    let (mut line, mut continued) = (0, Vec::new());
    let mut in_key = true;
    let mut line_blank = true;
    let (mut strong, mut weak, mut escaped, mut comment) = (false, false, false, false);
    let mut previous = '\n';
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        let prev = std::mem::replace(&mut previous, c);
        if c == '\n' {
            line += 1;
            if strong || weak {
                continued.push(line);
            }
        }
        if c == '\n' && !strong && !weak {
            (in_key, line_blank, escaped, comment) = (true, true, false, false);
            out.push(c);
            continue;
        }
        if comment {
            out.push(c);
            continue;
        }
        if in_key {
            if c == '#' && line_blank {
                comment = true;
            } else if c == '=' {
                in_key = false;
            }
            line_blank &= c.is_whitespace();
            out.push(c);
            continue;
        }
        if escaped {
            escaped = false;
            out.push(c);
            continue;
        }
        if strong {
            strong = c != '\'';
            out.push(c);
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                out.push(c);
            }
            '"' => {
                weak = !weak;
                out.push(c);
            }
            '\'' if !weak => {
                strong = true;
                out.push(c);
            }
            '#' if !weak && (prev == ' ' || prev == '\t') => {
                comment = true;
                out.push(c);
            }
            '$' => {
                let rest = &text[i + 1..];
                if rest.starts_with('$') {
                    chars.next();
                    previous = '$';
                    out.push_str("\\$");
                } else if let Some(inner) = rest
                    .strip_prefix('{')
                    .and_then(|r| {
                        r.find(['}', '\n'])
                            .filter(|&end| r[end..].starts_with('}'))
                            .map(|end| &r[..end])
                    })
                    .filter(|inner| {
                        let name = inner.split_once(":-").map_or(*inner, |(n, _)| n);
                        !name.is_empty()
                            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    })
                {
                    let (name, default) = match inner.split_once(":-") {
                        Some((n, d)) => (n.to_owned(), Some(d.to_owned())),
                        None => (inner.to_owned(), None),
                    };
                    // Skip `{inner}`.
                    for _ in 0..inner.chars().count() + 2 {
                        chars.next();
                    }
                    previous = '}';
                    out.push(MARK_OPEN);
                    out.push_str(&references.len().to_string());
                    out.push(MARK_CLOSE);
                    references.push((name, default));
                } else {
                    out.push_str("\\$");
                }
            }
            _ => out.push(c),
        }
    }
    Protected {
        text: out,
        references,
        continued,
    }
}

/// The index of the first line from `from` on that assigns `name` (`name=`, `export name =`),
/// skipping the lines that continue a quoted value.
fn entry_line(text: &str, name: &str, from: usize, continued: &[usize]) -> Option<usize> {
    text.lines().enumerate().skip(from).find_map(|(i, line)| {
        if continued.contains(&i) {
            return None;
        }
        let line = line.trim_start();
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let rest = line.strip_prefix(name)?.trim_start();
        rest.starts_with('=').then_some(i)
    })
}

/// The 1-based line and column of a parse error, searching from the line index `from` (the
/// line after the last entry read) and skipping the lines that continue a quoted value.
/// dotenvy reports the offending text and the index of the bad character in it: the whole
/// line for a bad key, only the value for a bad value, whose column is then counted from the
/// start of its line here. Text not found on any line blames the line after the last entry.
fn error_position(
    text: &str,
    content: &str,
    index: usize,
    from: usize,
    continued: &[usize],
) -> (usize, usize) {
    let first = content.lines().next().unwrap_or_default();
    let found = text.lines().enumerate().skip(from).find_map(|(i, line)| {
        if first.is_empty() || continued.contains(&i) {
            None
        } else if line.starts_with(first) {
            Some((i, index))
        } else {
            let value = line.split_once('=')?.1.trim_start();
            value
                .starts_with(first)
                .then(|| (i, line.len() - value.len() + index))
        }
    });
    let (i, offset) = found.unwrap_or((from, index));
    (i + 1, offset + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(text: &str, env: &[(&str, &str)]) -> Dotenv {
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        parse(text, Path::new("/x/.env"), &env).unwrap()
    }

    #[test]
    fn reads_quoted_values_comments_and_export() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(
            &path,
            "# comment\nPORT=9000\nexport HOST=127.0.0.1\nTITLE=\"a b\"\n\n",
        )
        .unwrap();
        let vars = read(&path, false, &HashMap::new()).unwrap().vars;
        assert_eq!(vars["PORT"], "9000");
        assert_eq!(vars["HOST"], "127.0.0.1");
        assert_eq!(vars["TITLE"], "a b");
    }

    #[test]
    fn only_braced_names_expand_and_double_dollar_is_a_dollar() {
        let d = vars(
            "TASKPILOT_API_TOKENS=Adm1n$ecretToken:admin\n\
             A=x${HOME}y\nB=\"$HOME and ${HOME}\"\nC='${HOME} $$'\nD=p$$q\nE=${A}!\n\
             F=${NOPE:-fallback}\nG=\"cost $5\" # comment $x\n",
            &[("HOME", "/home/u")],
        );
        assert_eq!(d.vars["TASKPILOT_API_TOKENS"], "Adm1n$ecretToken:admin");
        assert_eq!(d.vars["A"], "x/home/uy");
        assert_eq!(d.vars["B"], "$HOME and /home/u");
        assert_eq!(d.vars["C"], "${HOME} $$");
        assert_eq!(d.vars["D"], "p$q");
        assert_eq!(d.vars["E"], "x/home/uy!");
        assert_eq!(d.vars["F"], "fallback");
        assert_eq!(d.vars["G"], "cost $5");
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    }

    #[test]
    fn an_unset_name_expands_to_nothing_with_a_warning() {
        let d = vars("URL=http://${DB_HOST}/x\n", &[]);
        assert_eq!(d.vars["URL"], "http:///x");
        assert_eq!(d.warnings.len(), 1);
        assert!(
            d.warnings[0].contains("URL") && d.warnings[0].contains("${DB_HOST}"),
            "{:?}",
            d.warnings
        );
        assert!(d.warnings[0].contains("/x/.env"), "{:?}", d.warnings);
    }

    #[test]
    fn a_bad_line_is_named_by_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, "PORT=9000\n# ok $x\nTHIS IS NOT VALID\n").unwrap();
        let err = read(&path, false, &HashMap::new()).unwrap_err().to_string();
        assert!(err.contains(":3:"), "{err}");
        assert!(err.contains(".env"), "{err}");
    }

    #[test]
    fn a_missing_file_is_empty_unless_required() {
        let none = HashMap::new();
        assert!(
            read(Path::new("/nonexistent/.env"), false, &none)
                .unwrap()
                .vars
                .is_empty()
        );
        let err = read(Path::new("/nonexistent/prod.env"), true, &none)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ENV_FILE_PATH") && err.contains("/nonexistent/prod.env"),
            "{err}"
        );
    }
}
