//! The decision log: one JSON object per governance decision per line in
//! `DECISION_LOGS_FILE`, with the fields of SPEC 4.
//!
//! [`DecisionLog::record`] returns only once the line is on disk (`fdatasync`), so a decision
//! is durable before it takes effect. A dedicated writer thread drains a channel and syncs once
//! per batch (group commit): concurrent callers share one sync and each waits for its
//! acknowledgement. Dropping the last handle drains the queue before the thread ends.
//!
//! Where decisions go is behind [`DecisionSink`] and where they are read from behind
//! [`DecisionSource`]; [`Decisions`] bundles the two, so the workflow records and the API and
//! CLI read without caring whether the log is this file or a table in the shared store (the
//! agents crate provides that one).
//!
//! Not for: making decisions (that is `taskpilot-govern`).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use async_trait::async_trait;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use strum::VariantArray;
use taskpilot_plumbing::batch::{Next, next_batch};

use crate::ObserveError;
use crate::fsutil::ensure_parent;
use crate::jsonl;
pub use crate::jsonl::BadLine;
use crate::metrics::percentile;
use crate::redact::redact_value;

/// What kind of decision this was.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum DecisionType {
    /// The input guardrails checked a request.
    GuardrailsInput,
    /// The output guardrails checked the planner's answer.
    GuardrailsOutput,
    /// The policy judged a tool call.
    ToolCall,
    /// The reviewer agent judged a task.
    Review,
    /// A person approved or rejected a task.
    HumanApproval,
}

impl DecisionType {
    /// Every decision type, in declaration order.
    pub const ALL: &[DecisionType] = <DecisionType as VariantArray>::VARIANTS;

    /// The `snake_case` name written to the log (`tool_call`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl std::str::FromStr for DecisionType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        parse_named(DecisionType::ALL, s, "decision type")
    }
}

/// The variant whose name is exactly `s`, or an error naming `what` and every name.
fn parse_named<T: Copy + Into<&'static str>>(all: &[T], s: &str, what: &str) -> Result<T, String> {
    let name = |t: &T| -> &'static str { (*t).into() };
    all.iter().find(|t| name(t) == s).copied().ok_or_else(|| {
        let names: Vec<&str> = all.iter().map(name).collect();
        format!("unknown {what} `{s}`; expected one of {}", names.join(", "))
    })
}

/// The outcome of a decision.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum DecisionResult {
    /// Allowed to go on.
    Allow,
    /// Refused.
    Deny,
    /// Waits for a person.
    RequireApproval,
}

impl DecisionResult {
    /// Every result, in declaration order.
    pub const ALL: &[DecisionResult] = <DecisionResult as VariantArray>::VARIANTS;

    /// The `snake_case` name written to the log (`require_approval`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl std::str::FromStr for DecisionResult {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        parse_named(DecisionResult::ALL, s, "decision result")
    }
}

/// One decision: exactly the fields of SPEC 4.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Unique; writing a decision twice keeps one copy.
    pub decision_id: String,
    /// RFC 3339, UTC.
    pub timestamp: DateTime<Utc>,
    /// What was decided about.
    pub decision_type: DecisionType,
    /// The outcome.
    pub result: DecisionResult,
    /// Why, in a sentence.
    pub reason: String,
    /// Free-form JSON (the policy input, the guardrails flow…). Secret-looking keys are redacted.
    pub context: Value,
    /// Who asked (the HTTP caller or the CLI user), if known.
    pub user_id: Option<String>,
    /// The agent that decided, if one did.
    pub agent_id: Option<String>,
    /// The tool judged, for tool calls.
    pub tool_name: Option<String>,
    /// The policy or prompt version that decided.
    pub policy_version: Option<String>,
    /// How long deciding took, in milliseconds.
    pub latency_ms: f64,
    /// The request the decision belongs to.
    pub request_id: Option<String>,
    /// The trace of that request in `TRACES_FILE`.
    pub trace_id: Option<String>,
}

impl Decision {
    /// A decision made now with a fresh id; fill in the optional fields as needed.
    pub fn new(
        decision_type: DecisionType,
        result: DecisionResult,
        reason: impl Into<String>,
    ) -> Decision {
        let id: u128 = rand::random();
        Decision {
            decision_id: format!("dec_{id:032x}"),
            timestamp: Utc::now(),
            decision_type,
            result,
            reason: reason.into(),
            context: Value::Object(serde_json::Map::new()),
            user_id: None,
            agent_id: None,
            tool_name: None,
            policy_version: None,
            latency_ms: 0.0,
            request_id: None,
            trace_id: None,
        }
    }
}

type Ack = mpsc::SyncSender<Result<(), String>>;
type AsyncAck = tokio::sync::oneshot::Sender<Result<(), String>>;

enum Reply {
    Sync(Ack),
    Async(AsyncAck),
}

impl Reply {
    fn send(self, result: Result<(), String>) {
        match self {
            Reply::Sync(tx) => {
                let _ = tx.send(result);
            }
            Reply::Async(tx) => {
                let _ = tx.send(result);
            }
        }
    }
}

struct Job {
    line: Vec<u8>,
    reply: Reply,
}

/// A handle to the decision log writer. Cheap to clone; the writer thread stops (after writing
/// everything queued) when the last handle is dropped.
#[derive(Clone, Debug)]
pub struct DecisionLog {
    inner: Arc<LogInner>,
}

#[derive(Debug)]
struct LogInner {
    path: PathBuf,
    tx: Mutex<Option<Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job")
    }
}

impl DecisionLog {
    /// Opens (creating it and its directory if needed) `DECISION_LOGS_FILE` for appending and
    /// starts the writer thread. A torn last line left by a crash is terminated first, so the
    /// next decision starts on its own line.
    pub fn open(path: impl Into<PathBuf>) -> Result<DecisionLog, ObserveError> {
        let path = path.into();
        ensure_parent(&path)?;
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)
            .map_err(|e| ObserveError::io("cannot open DECISION_LOGS_FILE", &path, e))?;
        terminate_torn_line(&mut file)
            .map_err(|e| ObserveError::io("cannot repair the last line of", &path, e))?;
        let (tx, rx) = mpsc::channel::<Job>();
        let thread_path = path.clone();
        let thread = std::thread::Builder::new()
            .name("taskpilot-decisions".into())
            .spawn(move || writer(file, rx, &thread_path))
            .map_err(|e| ObserveError::io("cannot start the writer thread for", &path, e))?;
        Ok(DecisionLog {
            inner: Arc::new(LogInner {
                path,
                tx: Mutex::new(Some(tx)),
                thread: Mutex::new(Some(thread)),
            }),
        })
    }

    /// The file this log appends to.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    fn enqueue(&self, decision: &Decision, reply: Reply) -> Result<(), ObserveError> {
        let mut decision = decision.clone();
        redact_value(&mut decision.context);
        let mut line = serde_json::to_vec(&decision).map_err(|e| ObserveError::Parse {
            path: self.inner.path.clone(),
            message: e.to_string(),
        })?;
        line.push(b'\n');
        let guard = self
            .inner
            .tx
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let sent = guard
            .as_ref()
            .is_some_and(|tx| tx.send(Job { line, reply }).is_ok());
        if sent {
            Ok(())
        } else {
            Err(self.stopped("the writer thread is gone"))
        }
    }

    fn stopped(&self, message: &str) -> ObserveError {
        ObserveError::WriterStopped {
            path: self.inner.path.clone(),
            message: message.to_owned(),
        }
    }

    /// Appends `decision` and returns once it is on disk. Blocking: from async code use
    /// [`DecisionLog::record_async`].
    pub fn record(&self, decision: &Decision) -> Result<(), ObserveError> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.enqueue(decision, Reply::Sync(tx))?;
        match rx.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(self.stopped(&message)),
            Err(_) => Err(self.stopped("the writer thread stopped before acknowledging")),
        }
    }

    /// Appends `decision` and resolves once it is on disk, without blocking the runtime.
    pub async fn record_async(&self, decision: &Decision) -> Result<(), ObserveError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.enqueue(decision, Reply::Async(tx))?;
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(self.stopped(&message)),
            Err(_) => Err(self.stopped("the writer thread stopped before acknowledging")),
        }
    }
}

impl Drop for LogInner {
    fn drop(&mut self) {
        // Closing the channel lets the writer drain what is queued and stop.
        self.tx.get_mut().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(handle) = self
            .thread
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            let _ = handle.join();
        }
    }
}

fn terminate_torn_line(file: &mut File) -> std::io::Result<()> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    file.seek(SeekFrom::Start(len - 1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    if last[0] != b'\n' {
        file.write_all(b"\n")?;
        file.sync_data()?;
    }
    Ok(())
}

/// The group-commit loop: wait for one job, take every job already queued, write them all,
/// `fdatasync` once, acknowledge them all.
fn writer(mut file: File, rx: Receiver<Job>, path: &Path) {
    while let Next::Batch(batch) = next_batch(&rx, usize::MAX, None) {
        let mut buf = Vec::with_capacity(batch.iter().map(|j| j.line.len()).sum());
        for job in &batch {
            buf.extend_from_slice(&job.line);
        }
        let result = file
            .write_all(&buf)
            .and_then(|()| file.sync_data())
            .map_err(|e| format!("cannot append to {}: {e}", path.display()));
        for job in batch {
            job.reply.send(result.clone());
        }
    }
}

/// Reads `DECISION_LOGS_FILE` in file order (oldest first): the decisions, and the lines that
/// could not be parsed (a torn last line included). A missing file is empty.
pub fn read_decisions(path: &Path) -> Result<(Vec<Decision>, Vec<BadLine>), ObserveError> {
    jsonl::read(path, "cannot read DECISION_LOGS_FILE")
}

/// Where decisions are recorded. `record` returns once every decision of the batch is
/// durable, so a decision is on record before it takes effect.
#[async_trait]
pub trait DecisionSink: Send + Sync {
    /// Stores `batch`; returns once it is durable.
    async fn record(&self, batch: &[Decision]) -> Result<(), ObserveError>;
}

/// Where decisions are read from.
#[async_trait]
pub trait DecisionSource: Send + Sync {
    /// Every decision, oldest first, and the records that could not be read.
    async fn all(&self) -> Result<(Vec<Decision>, Vec<BadLine>), ObserveError>;

    /// The decisions about one task (see [`decisions_about_task`]), oldest first.
    async fn for_task(&self, task_id: &str) -> Result<Vec<Decision>, ObserveError> {
        let (all, _bad) = self.all().await?;
        Ok(decisions_about_task(all, task_id))
    }
}

/// The decisions about `task_id`: those naming it in their context, and every decision of a
/// request (run) that did — the policy's and the reviewer's reasons for the review queue.
pub fn decisions_about_task(all: Vec<Decision>, task_id: &str) -> Vec<Decision> {
    let names_task =
        |d: &Decision| d.context.get("task_id").and_then(|v| v.as_str()) == Some(task_id);
    let requests: std::collections::HashSet<String> = all
        .iter()
        .filter(|d| names_task(d))
        .filter_map(|d| d.request_id.clone())
        .collect();
    all.into_iter()
        .filter(|d| names_task(d) || d.request_id.as_ref().is_some_and(|r| requests.contains(r)))
        .collect()
}

#[async_trait]
impl DecisionSink for DecisionLog {
    async fn record(&self, batch: &[Decision]) -> Result<(), ObserveError> {
        // Concurrently, so the group commit syncs the batch once.
        let mut waits = Vec::with_capacity(batch.len());
        for d in batch {
            let (tx, rx) = tokio::sync::oneshot::channel();
            self.enqueue(d, Reply::Async(tx))?;
            waits.push(rx);
        }
        for rx in waits {
            match rx.await {
                Ok(Ok(())) => {}
                Ok(Err(message)) => return Err(self.stopped(&message)),
                Err(_) => {
                    return Err(self.stopped("the writer thread stopped before acknowledging"));
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl DecisionSource for DecisionLog {
    async fn all(&self) -> Result<(Vec<Decision>, Vec<BadLine>), ObserveError> {
        let path = self.inner.path.clone();
        tokio::task::spawn_blocking(move || read_decisions(&path))
            .await
            .map_err(|e| self.stopped(&format!("the reader stopped: {e}")))?
    }
}

/// The decision log of a process: where decisions go and where they are read from. Cheap to
/// clone.
#[derive(Clone)]
pub struct Decisions {
    sink: Arc<dyn DecisionSink>,
    source: Arc<dyn DecisionSource>,
    location: String,
}

impl std::fmt::Debug for Decisions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decisions")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl Decisions {
    /// `DECISION_LOGS_FILE` only.
    pub fn file(log: DecisionLog) -> Decisions {
        Decisions {
            location: log.path().display().to_string(),
            sink: Arc::new(log.clone()),
            source: Arc::new(log),
        }
    }

    /// Any sink and source; `location` names them in messages.
    pub fn new(
        sink: Arc<dyn DecisionSink>,
        source: Arc<dyn DecisionSource>,
        location: impl Into<String>,
    ) -> Decisions {
        Decisions {
            sink,
            source,
            location: location.into(),
        }
    }

    /// Where the decisions are read from (a file path or a store URL without password).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Records a batch; returns once it is durable.
    pub async fn record_batch(&self, batch: &[Decision]) -> Result<(), ObserveError> {
        self.sink.record(batch).await
    }

    /// Records one decision; returns once it is durable.
    pub async fn record_async(&self, decision: &Decision) -> Result<(), ObserveError> {
        self.sink.record(std::slice::from_ref(decision)).await
    }

    /// Every decision, oldest first, and the lines that could not be read.
    pub async fn all(&self) -> Result<(Vec<Decision>, Vec<BadLine>), ObserveError> {
        self.source.all().await
    }

    /// The decisions about `task_id`, oldest first.
    pub async fn for_task(&self, task_id: &str) -> Result<Vec<Decision>, ObserveError> {
        self.source.for_task(task_id).await
    }
}

/// Counts and latency statistics over a set of decisions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionSummary {
    /// How many decisions.
    pub total: usize,
    /// result → (count, percent of total, 2 decimals).
    pub by_result: BTreeMap<String, CountShare>,
    /// `decision_type` → (count, percent of total).
    pub by_type: BTreeMap<String, CountShare>,
    /// How long deciding took.
    pub latency_ms: LatencyStats,
}

/// A count and its share of the total, in percent (2 decimals).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CountShare {
    /// How many.
    pub count: usize,
    /// Their share of the total, in percent.
    pub percent: f64,
}

/// Latency statistics in milliseconds (0 when there are no decisions).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencyStats {
    /// The mean.
    pub mean: f64,
    /// The median.
    pub p50: f64,
    /// The 95th percentile.
    pub p95: f64,
    /// The longest.
    pub max: f64,
}

impl DecisionSummary {
    /// Counts and latencies of `decisions`.
    pub fn from_decisions(decisions: &[Decision]) -> DecisionSummary {
        let total = decisions.len();
        let share = |count: usize| CountShare {
            count,
            percent: if total == 0 {
                0.0
            } else {
                round2(count as f64 * 100.0 / total as f64)
            },
        };
        let mut by_result: BTreeMap<String, usize> = BTreeMap::new();
        let mut by_type: BTreeMap<String, usize> = BTreeMap::new();
        for d in decisions {
            *by_result.entry(d.result.as_str().to_owned()).or_default() += 1;
            *by_type
                .entry(d.decision_type.as_str().to_owned())
                .or_default() += 1;
        }
        let latencies: Vec<f64> = decisions.iter().map(|d| d.latency_ms).collect();
        let mean = if total == 0 {
            0.0
        } else {
            latencies.iter().sum::<f64>() / total as f64
        };
        DecisionSummary {
            total,
            by_result: by_result.into_iter().map(|(k, c)| (k, share(c))).collect(),
            by_type: by_type.into_iter().map(|(k, c)| (k, share(c))).collect(),
            latency_ms: LatencyStats {
                mean: round2(mean),
                p50: round2(percentile(&latencies, 0.5)),
                p95: round2(percentile(&latencies, 0.95)),
                max: round2(latencies.iter().copied().fold(0.0, f64::max)),
            },
        }
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_decision() -> Decision {
        let mut d = Decision::new(
            DecisionType::ToolCall,
            DecisionResult::Deny,
            "delete_task is not allowed",
        );
        d.context = serde_json::json!({"tool": "delete_task", "api_key": "secret-value"});
        d.user_id = Some("alice".into());
        d.agent_id = Some("ExecutorAgent".into());
        d.tool_name = Some("delete_task".into());
        d.policy_version = Some("sha256:abc".into());
        d.latency_ms = 0.42;
        d.request_id = Some("req-1".into());
        d.trace_id = Some("0af7651916cd43dd8448eb211c80319c".into());
        d
    }

    #[test]
    fn decision_log_lines_carry_every_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/decision_logs.jsonl");
        let log = DecisionLog::open(&path).unwrap();
        log.record(&full_decision()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let v: Value = serde_json::from_str(text.trim_end()).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        for field in [
            "decision_id",
            "timestamp",
            "decision_type",
            "result",
            "reason",
            "context",
            "user_id",
            "agent_id",
            "tool_name",
            "policy_version",
            "latency_ms",
            "request_id",
            "trace_id",
        ] {
            assert!(keys.contains(&field), "missing {field} in {text}");
        }
        assert_eq!(keys.len(), 13);
        assert_eq!(v["decision_type"], "tool_call");
        assert_eq!(v["result"], "deny");
        assert!(v["timestamp"].as_str().unwrap().ends_with('Z'));
        assert_eq!(v["context"]["api_key"], crate::redact::REDACTED);
    }

    #[test]
    fn a_torn_last_line_is_reported_and_the_next_record_starts_a_new_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("decision_logs.jsonl");
        let good = serde_json::to_string(&full_decision()).unwrap();
        std::fs::write(&path, format!("{good}\n{}", &good[..good.len() / 2])).unwrap();
        let (ok, bad) = read_decisions(&path).unwrap();
        assert_eq!(ok.len(), 1);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].line, 2);
        let log = DecisionLog::open(&path).unwrap();
        log.record(&full_decision()).unwrap();
        drop(log);
        let (ok, bad) = read_decisions(&path).unwrap();
        assert_eq!((ok.len(), bad.len()), (2, 1));
    }

    #[test]
    fn group_commit_under_concurrent_writers_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("decision_logs.jsonl");
        let log = DecisionLog::open(&path).unwrap();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let log = log.clone();
                std::thread::spawn(move || {
                    for i in 0..50 {
                        let mut d =
                            Decision::new(DecisionType::Review, DecisionResult::Allow, "ok");
                        d.request_id = Some(format!("{t}-{i}"));
                        log.record(&d).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(log);
        let (ok, bad) = read_decisions(&path).unwrap();
        assert!(bad.is_empty());
        let ids: std::collections::HashSet<_> = ok.iter().map(|d| d.request_id.clone()).collect();
        assert_eq!(ids.len(), 400);
    }

    #[tokio::test]
    async fn record_async_is_durable_when_it_resolves() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.jsonl");
        let log = DecisionLog::open(&path).unwrap();
        log.record_async(&full_decision()).await.unwrap();
        assert_eq!(read_decisions(&path).unwrap().0.len(), 1);
    }

    #[test]
    fn summary_counts_with_percentages_and_latency() {
        let mut ds = Vec::new();
        for (i, r) in [
            DecisionResult::Allow,
            DecisionResult::Allow,
            DecisionResult::Deny,
        ]
        .into_iter()
        .enumerate()
        {
            let mut d = Decision::new(DecisionType::ToolCall, r, "");
            d.latency_ms = (i + 1) as f64;
            ds.push(d);
        }
        let s = DecisionSummary::from_decisions(&ds);
        assert_eq!(s.by_result["allow"].count, 2);
        assert_eq!(s.by_result["allow"].percent, 66.67);
        assert_eq!(s.by_result["deny"].percent, 33.33);
        assert_eq!(s.latency_ms.mean, 2.0);
        assert_eq!(s.latency_ms.p50, 2.0);
        assert_eq!(s.latency_ms.max, 3.0);
    }
}
