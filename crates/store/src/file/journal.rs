//! The file store's journal: one JSON record per line, each a whole task (`{"put": {…}}`) or a
//! deletion (`{"delete": "task_…"}`), appended and synced before a write is acknowledged.
//!
//! Records carry whole tasks, never deltas, so replaying a journal over a snapshot that already
//! contains it changes nothing; the crash-safety argument in docs/STORAGE.md rests on that.

use serde::{Deserialize, Serialize};
use taskpilot_core::{Task, TaskId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Record {
    Put(Task),
    Delete(TaskId),
}

impl Record {
    /// The record as one journal line, newline included.
    pub fn to_line(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut line = serde_json::to_vec(self)?;
        line.push(b'\n');
        Ok(line)
    }
}

/// What reading a stretch of journal found.
#[derive(Debug, Default)]
pub struct Parsed {
    pub records: Vec<Record>,
    /// Bytes of complete lines read (where the next read starts).
    pub consumed: u64,
    /// Complete lines that did not parse: (line number, reason).
    pub bad_lines: Vec<(u64, String)>,
    /// Bytes after the last newline: a record whose write was cut short.
    pub torn_tail: u64,
    pub lines: u64,
}

/// Parses `bytes`, the journal from the line numbered `first_line + 1` on.
pub fn parse(bytes: &[u8], first_line: u64) -> Parsed {
    let mut parsed = Parsed::default();
    let mut start = 0usize;
    while let Some(offset) = bytes[start..].iter().position(|&b| b == b'\n') {
        let line = &bytes[start..start + offset];
        parsed.lines += 1;
        if !line.iter().all(u8::is_ascii_whitespace) {
            match serde_json::from_slice::<Record>(line) {
                Ok(record) if record_is_valid(&record) => parsed.records.push(record),
                Ok(_) => parsed.bad_lines.push((
                    first_line + parsed.lines,
                    "the task in it fails validation".into(),
                )),
                Err(e) => parsed
                    .bad_lines
                    .push((first_line + parsed.lines, e.to_string())),
            }
        }
        start += offset + 1;
    }
    parsed.consumed = start as u64;
    parsed.torn_tail = (bytes.len() - start) as u64;
    parsed
}

fn record_is_valid(record: &Record) -> bool {
    match record {
        Record::Put(task) => task.validate().is_ok(),
        Record::Delete(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use taskpilot_core::{NewTask, Timestamp};

    use super::*;

    #[test]
    fn torn_tail_and_bad_lines_are_reported_without_hiding_good_records() {
        let task = NewTask::new("t", "low")
            .into_task(TaskId::generate(), Timestamp::now())
            .unwrap();
        let mut bytes = Record::Put(task.clone()).to_line().unwrap();
        bytes.extend_from_slice(b"{not json}\n");
        bytes.extend(Record::Delete(task.id.clone()).to_line().unwrap());
        bytes.extend_from_slice(b"{\"put\": {\"id\": \"task_2025");
        let parsed = parse(&bytes, 10);
        assert_eq!(parsed.records.len(), 2);
        assert_eq!(parsed.bad_lines.len(), 1);
        assert_eq!(parsed.bad_lines[0].0, 12);
        assert_eq!(parsed.torn_tail, 25);
        assert_eq!(parsed.consumed as usize, bytes.len() - 25);
    }
}
