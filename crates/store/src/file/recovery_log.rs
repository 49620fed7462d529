//! `.tasks.json.recovery.log`: one JSON line per repair the store made on its own (a snapshot
//! rebuilt, a journal set aside, records moved out), so `store check` can report it later and a
//! person can find the evidence files it names.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use taskpilot_plumbing::fs::file_mode;

use crate::StoreError;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Entry {
    /// UTC, RFC 3339.
    pub time: String,
    /// What happened, in a sentence naming the files.
    pub what: String,
    /// Files kept as evidence.
    #[serde(default)]
    pub evidence: Vec<String>,
}

/// Appends one entry (and syncs it: it is the only trace of a repair).
pub(super) fn append(log: &Path, what: &str, evidence: &[&Path]) -> Result<(), StoreError> {
    let entry = Entry {
        time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        what: what.to_owned(),
        evidence: evidence.iter().map(|p| p.display().to_string()).collect(),
    };
    let mut line = serde_json::to_vec(&entry).map_err(|e| StoreError::Corrupt {
        message: format!("cannot record a recovery in {}: {e}", log.display()),
    })?;
    line.push(b'\n');
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(file_mode(log))
        .open(log)
        .map_err(|e| StoreError::io("open the recovery log", log, e))?;
    file.write_all(&line)
        .and_then(|()| file.sync_data())
        .map_err(|e| StoreError::io("append to the recovery log", log, e))
}

/// Every entry recorded so far (unreadable lines are returned as text).
pub(super) fn read(log: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(log) else {
        return Vec::new();
    };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| match serde_json::from_str::<Entry>(line) {
            Ok(e) if e.evidence.is_empty() => format!("{}: {}", e.time, e.what),
            Ok(e) => format!(
                "{}: {} (evidence: {})",
                e.time,
                e.what,
                e.evidence.join(", ")
            ),
            Err(_) => line.to_owned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_read_back_with_their_evidence_and_unreadable_lines_as_text() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("recovery.log");
        assert_eq!(read(&log), Vec::<String>::new(), "no log yet");
        append(&log, "first", &[Path::new("/a"), Path::new("/b")]).unwrap();
        let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        file.write_all(b"\n  \nnot json\n").unwrap();
        file.write_all(br#"{"time": "T", "what": "second"}"#)
            .unwrap();
        file.write_all(b"\n").unwrap();
        let entries = read(&log);
        assert_eq!(entries.len(), 3, "{entries:?}");
        assert!(
            entries[0].ends_with(": first (evidence: /a, /b)"),
            "{}",
            entries[0]
        );
        assert_eq!(&entries[1..], ["not json", "T: second"]);
    }
}
