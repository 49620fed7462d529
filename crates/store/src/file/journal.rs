//! The file store's journal: a header line naming the snapshot it continues, then one JSON
//! record per line, each a whole task (`{"put": {…}}`) or a deletion (`{"delete": "task_…"}`),
//! appended and synced before a write is acknowledged.
//!
//! Records carry whole tasks, never deltas, so replaying a journal over a snapshot that already
//! contains it changes nothing; the crash-safety argument in docs/STORAGE.md rests on that. The
//! header (`{"continues": {"sha256": …, "bytes": …, "mtime_ns": …}}`) names the snapshot the
//! records apply to, by digest and modification time (a `cp` of identical bytes over the file
//! is still a restore): a journal whose snapshot was replaced by someone else is never replayed.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use taskpilot_core::{Task, TaskId};

/// Which snapshot a journal continues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Header {
    /// Lowercase hex SHA-256 of the snapshot's bytes.
    pub sha256: String,
    pub bytes: u64,
    /// The snapshot's modification time (nanoseconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime_ns: Option<i64>,
}

impl Header {
    pub(super) fn of(snapshot: &[u8]) -> Header {
        Header {
            sha256: digest(snapshot),
            bytes: snapshot.len() as u64,
            mtime_ns: None,
        }
    }

    /// Whether a journal with this header continues the snapshot described by `current`.
    pub(super) fn continues(&self, current: &Header) -> bool {
        self.sha256 == current.sha256
            && (self.mtime_ns.is_none()
                || current.mtime_ns.is_none()
                || self.mtime_ns == current.mtime_ns)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Record {
    /// Only as the first line.
    Continues(Header),
    Put(Task),
    Delete(TaskId),
}

impl Record {
    /// The record as one journal line, newline included.
    pub(super) fn to_line(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut line = serde_json::to_vec(self)?;
        line.push(b'\n');
        Ok(line)
    }
}

/// Lowercase hex SHA-256 of `bytes`.
pub(super) fn digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What reading a stretch of journal found.
#[derive(Debug, Default)]
pub(super) struct Parsed {
    /// The first line's header; `None` for an empty journal or one an older version wrote.
    pub header: Option<Header>,
    /// `put` and `delete` records, in order.
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
pub(super) fn parse(bytes: &[u8], first_line: u64) -> Parsed {
    let mut parsed = Parsed::default();
    let mut start = 0usize;
    while let Some(offset) = bytes[start..].iter().position(|&b| b == b'\n') {
        let line = &bytes[start..start + offset];
        parsed.lines += 1;
        let number = first_line + parsed.lines;
        if !line.iter().all(u8::is_ascii_whitespace) {
            match serde_json::from_slice::<Record>(line) {
                Ok(Record::Continues(header)) if number == 1 => parsed.header = Some(header),
                Ok(Record::Continues(_)) => parsed
                    .bad_lines
                    .push((number, "a header line after the first line".into())),
                Ok(record) if record_is_valid(&record) => parsed.records.push(record),
                Ok(_) => parsed
                    .bad_lines
                    .push((number, "the task in it fails validation".into())),
                Err(e) => parsed.bad_lines.push((number, e.to_string())),
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
        Record::Delete(_) | Record::Continues(_) => true,
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
        let mut bytes = Record::Continues(Header::of(b"{}\n")).to_line().unwrap();
        bytes.extend(Record::Put(task.clone()).to_line().unwrap());
        bytes.extend_from_slice(b"{not json}\n");
        bytes.extend(Record::Delete(task.id.clone()).to_line().unwrap());
        bytes.extend_from_slice(b"{\"put\": {\"id\": \"task_2025");
        let parsed = parse(&bytes, 0);
        assert_eq!(parsed.header, Some(Header::of(b"{}\n")));
        assert_eq!(parsed.records.len(), 2);
        assert_eq!(parsed.bad_lines.len(), 1);
        assert_eq!(parsed.bad_lines[0].0, 3);
        assert_eq!(parsed.torn_tail, 25);
        assert_eq!(parsed.consumed as usize, bytes.len() - 25);
    }

    #[test]
    fn a_header_is_only_accepted_on_the_first_line() {
        let header = Record::Continues(Header::of(b"{}\n")).to_line().unwrap();
        let mut bytes = b"\n".to_vec();
        bytes.extend(&header);
        let parsed = parse(&bytes, 0);
        assert_eq!(parsed.header, None);
        assert_eq!(parsed.bad_lines.len(), 1);
        assert_eq!(parsed.bad_lines[0].0, 2);
    }

    #[test]
    fn every_field_of_a_parse_is_exact_from_any_first_line() {
        let task = NewTask::new("t", "low")
            .into_task(TaskId::generate(), Timestamp::now())
            .unwrap();
        let mut invalid = serde_json::to_value(Record::Put(task.clone())).unwrap();
        invalid["put"]["title"] = "".into();
        let put = Record::Put(task.clone()).to_line().unwrap();
        let mut bytes = put.clone(); // line 11
        bytes.extend_from_slice(b"   \n"); // line 12: blank, skipped
        bytes.extend(serde_json::to_vec(&invalid).unwrap()); // line 13
        bytes.push(b'\n');
        bytes.extend(Record::Delete(task.id.clone()).to_line().unwrap()); // line 14
        bytes.extend_from_slice(b"{\"del");
        let parsed = parse(&bytes, 10);
        assert_eq!(parsed.header, None, "no header after line 1");
        assert_eq!(
            parsed.records,
            vec![Record::Put(task.clone()), Record::Delete(task.id.clone())]
        );
        assert_eq!(parsed.lines, 4);
        assert_eq!(
            parsed.bad_lines,
            vec![(13, "the task in it fails validation".to_owned())]
        );
        assert_eq!(parsed.torn_tail, 5);
        assert_eq!(parsed.consumed, bytes.len() as u64 - 5);
        assert_eq!(parse(&put, 0).records, vec![Record::Put(task)]);
        assert_eq!(parse(b"", 0).lines, 0);
    }

    #[test]
    fn a_header_is_the_digest_and_length_of_the_snapshot() {
        assert_eq!(
            Header::of(b"{}\n"),
            Header {
                sha256: digest(b"{}\n"),
                bytes: 3,
                mtime_ns: None,
            }
        );
    }

    #[test]
    fn a_journal_continues_a_snapshot_with_its_digest_and_mtime() {
        let h = |sha256: &str, mtime_ns| Header {
            sha256: sha256.into(),
            bytes: 3,
            mtime_ns,
        };
        assert!(h("a", Some(1)).continues(&h("a", Some(1))));
        assert!(!h("a", Some(1)).continues(&h("a", Some(2))), "a copy");
        assert!(!h("a", Some(1)).continues(&h("b", Some(1))), "an edit");
        assert!(
            h("a", None).continues(&h("a", Some(2))),
            "a header without mtime (an older version) goes by the digest"
        );
        assert!(h("a", Some(1)).continues(&h("a", None)));
        assert!(h("a", None).continues(&h("a", None)));
        assert!(!h("a", None).continues(&h("b", None)));
    }

    #[test]
    fn the_digest_is_sha256_hex() {
        assert_eq!(
            digest(b"{}\n"),
            "ca3d163bab055381827226140568f3bef7eaac187cebd76878e0b63e9e442356"
        );
    }
}
