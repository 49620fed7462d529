//! Reading the `.env` file with `dotenvy`, without touching the process environment, and
//! turning its parse errors into errors that name the file and the line number.

use std::collections::HashMap;
use std::path::Path;

use crate::ConfigError;

/// The variables of the `.env` file at `path`; an absent file is an empty map.
pub fn read(path: &Path) -> Result<HashMap<String, String>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => {
            return Err(ConfigError::DotenvUnreadable {
                path: path.to_owned(),
                reason: e.to_string(),
            });
        }
    };
    let mut vars = HashMap::new();
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        match item {
            Ok((name, value)) => {
                vars.insert(name, value);
            }
            Err(dotenvy::Error::LineParse(content, index)) => {
                return Err(ConfigError::DotenvLine {
                    path: path.to_owned(),
                    line: line_number(&text, &content),
                    reason: format!("unexpected character at column {}", index + 1),
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
    Ok(vars)
}

/// The 1-based number of the first line that starts with `content` (dotenvy reports the
/// offending text, not its position).
fn line_number(text: &str, content: &str) -> usize {
    let first = content.lines().next().unwrap_or(content).trim();
    text.lines()
        .position(|line| !first.is_empty() && line.trim_start().starts_with(first))
        .map_or(0, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_quoted_values_comments_and_export() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(
            &path,
            "# comment\nPORT=9000\nexport HOST=127.0.0.1\nTITLE=\"a b\"\n\n",
        )
        .unwrap();
        let vars = read(&path).unwrap();
        assert_eq!(vars["PORT"], "9000");
        assert_eq!(vars["HOST"], "127.0.0.1");
        assert_eq!(vars["TITLE"], "a b");
    }

    #[test]
    fn a_bad_line_is_named_by_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, "PORT=9000\n# ok\nTHIS IS NOT VALID\n").unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains(":3:"), "{err}");
        assert!(err.contains(".env"), "{err}");
    }

    #[test]
    fn a_missing_file_is_empty() {
        assert!(read(Path::new("/nonexistent/.env")).unwrap().is_empty());
    }
}
