//! Reading requests for `taskpilot run --file` (one per line) and `taskpilot run -` with
//! bounds, so that `/dev/zero`, a binary file or a runaway pipe gives a clear error instead of
//! filling memory: each line at most [`MAX_LINE_BYTES`], at most [`MAX_REQUESTS`] requests,
//! valid UTF-8.
//!
//! Not here: running the requests (`commands::run`).

use std::io::{BufRead, Read};

/// Longest request line, in bytes.
pub(crate) const MAX_LINE_BYTES: usize = 16 * 1024;
/// Most requests in one file.
pub(crate) const MAX_REQUESTS: usize = 100_000;

/// Why the requests could not be read; messages name the source and the line.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RequestsError {
    #[error(
        "{source_name} line {line} is longer than {MAX_LINE_BYTES} bytes; put one short request \
         on each line (is this a text file?)"
    )]
    LineTooLong { source_name: String, line: usize },
    #[error("{source_name} line {line} is not UTF-8 text")]
    NotText { source_name: String, line: usize },
    #[error("{source_name} has more than {MAX_REQUESTS} requests; split it into several files")]
    TooMany { source_name: String },
    #[error("cannot read {source_name}: {error}")]
    Io {
        source_name: String,
        error: std::io::Error,
    },
}

/// The requests of `reader`: lines trimmed, empty lines and `#` comments skipped.
pub(crate) fn read_requests(
    mut reader: impl BufRead,
    source_name: &str,
) -> Result<Vec<String>, RequestsError> {
    let mut requests = Vec::new();
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        number += 1;
        line.clear();
        let limit = (MAX_LINE_BYTES + 1) as u64;
        let read = (&mut reader)
            .take(limit)
            .read_until(b'\n', &mut line)
            .map_err(|error| RequestsError::Io {
                source_name: source_name.to_owned(),
                error,
            })?;
        if read == 0 {
            return Ok(requests);
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        if line.len() > MAX_LINE_BYTES {
            return Err(RequestsError::LineTooLong {
                source_name: source_name.to_owned(),
                line: number,
            });
        }
        let text = std::str::from_utf8(&line).map_err(|_| RequestsError::NotText {
            source_name: source_name.to_owned(),
            line: number,
        })?;
        let text = text.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        if requests.len() == MAX_REQUESTS {
            return Err(RequestsError::TooMany {
                source_name: source_name.to_owned(),
            });
        }
        requests.push(text.to_owned());
    }
}

/// One request from `reader` (all of it, at most [`MAX_LINE_BYTES`] bytes), trimmed.
pub(crate) fn read_one(reader: impl Read, source_name: &str) -> Result<String, RequestsError> {
    let mut bytes = Vec::new();
    reader
        .take((MAX_LINE_BYTES + 1) as u64)
        .read_to_end(&mut bytes)
        .map_err(|error| RequestsError::Io {
            source_name: source_name.to_owned(),
            error,
        })?;
    if bytes.len() > MAX_LINE_BYTES {
        return Err(RequestsError::LineTooLong {
            source_name: source_name.to_owned(),
            line: 1,
        });
    }
    String::from_utf8(bytes)
        .map(|s| s.trim().to_owned())
        .map_err(|_| RequestsError::NotText {
            source_name: source_name.to_owned(),
            line: 1,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_comments_and_limits() {
        let got = read_requests("a\n\n# c\n  b  \r\nlast".as_bytes(), "f").unwrap();
        assert_eq!(got, ["a", "b", "last"]);
        let long = format!("ok\n{}\n", "x".repeat(MAX_LINE_BYTES + 1));
        let e = read_requests(long.as_bytes(), "f").unwrap_err().to_string();
        assert!(e.starts_with("f line 2 is longer than 16384 bytes"), "{e}");
        let exact = "y".repeat(MAX_LINE_BYTES);
        assert_eq!(read_requests(exact.as_bytes(), "f").unwrap().len(), 1);
        let e = read_requests(&b"ok\n\xff\xfe\n"[..], "f")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "f line 2 is not UTF-8 text");
        let zeros = std::io::repeat(0).take(10 * MAX_LINE_BYTES as u64);
        let e = read_requests(std::io::BufReader::new(zeros), "/dev/zero").unwrap_err();
        assert!(
            matches!(e, RequestsError::LineTooLong { line: 1, .. }),
            "{e}"
        );
        let e = read_one(std::io::repeat(b'a'), "standard input").unwrap_err();
        assert!(matches!(e, RequestsError::LineTooLong { .. }), "{e}");
    }
}
