//! Reading a JSON-lines file (`DECISION_LOGS_FILE`, `TRACES_FILE`): every record in file order,
//! and the lines that could not be parsed, with their line numbers, so a torn or hand-edited
//! line is reported rather than stopping the read.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ObserveError;

/// A line of a JSON-lines file that could not be parsed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BadLine {
    /// 1-based line number.
    pub line: usize,
    /// Why it could not be parsed.
    pub error: String,
}

/// Reads `path` line by line; blank lines are skipped and a missing file is empty. `what` is
/// the error's action (`cannot read TRACES_FILE`).
pub(crate) fn read<T: DeserializeOwned>(
    path: &Path,
    what: &'static str,
) -> Result<(Vec<T>, Vec<BadLine>), ObserveError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(ObserveError::io(what, path, e)),
    };
    let mut records = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in BufReader::new(file).split(b'\n').enumerate() {
        let line = line.map_err(|e| ObserveError::io(what, path, e))?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<T>(&line) {
            Ok(record) => records.push(record),
            Err(e) => bad.push(BadLine {
                line: i + 1,
                error: e.to_string(),
            }),
        }
    }
    Ok((records, bad))
}
