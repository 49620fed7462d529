//! Spans: a small tracing API with W3C trace and span ids. Every finished span is appended as
//! one JSON line to `TRACES_FILE` and, when an OTLP endpoint is configured, exported over
//! OTLP/HTTP in the background (never blocking or failing the caller).
//!
//! Span names follow SPEC 4: `taskpilot.workflow.run` → `taskpilot.agent.<Agent>.run` →
//! `taskpilot.llm.<model>.call`, `taskpilot.tool.<tool>.call`, `taskpilot.policy.<type>.evaluate`,
//! `taskpilot.guardrails.<type>.check`.
//!
//! Not for: application logs (see `logging`) or metrics (see `metrics`).

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ObserveError;
use crate::decisions::BadLine;
use crate::fsutil::ensure_parent;
use crate::metrics::Metrics;
use crate::redact::{REDACTED, is_secret_key, redact_value};

/// What a child span needs from its parent: the ids, and the request the trace belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpanContext {
    /// 32 lower-case hex digits (W3C trace-id).
    pub trace_id: String,
    /// 16 lower-case hex digits (W3C parent-id).
    pub span_id: String,
    pub request_id: Option<String>,
}

impl SpanContext {
    /// The W3C `traceparent` header value (`00-<trace>-<span>-01`).
    pub fn traceparent(&self) -> String {
        format!("00-{}-{}-01", self.trace_id, self.span_id)
    }
}

/// How a span ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpanStatus {
    Unset,
    Ok,
    Error,
}

/// Something that happened during a span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanEvent {
    pub name: String,
    pub timestamp: DateTime<Utc>,
    #[serde(default)]
    pub attributes: Map<String, Value>,
}

/// One finished span: one line of `TRACES_FILE`, with the fields of SPEC 4.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanRecord {
    pub span_id: String,
    pub trace_id: String,
    pub parent_span_id: Option<String>,
    pub name: String,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    pub duration_ms: f64,
    pub request_id: Option<String>,
    #[serde(default)]
    pub attributes: Map<String, Value>,
    #[serde(default)]
    pub events: Vec<SpanEvent>,
    pub status: SpanStatus,
    pub error: Option<String>,
}

/// Where to send spans over OTLP/HTTP (protobuf).
#[derive(Debug, Clone)]
pub struct OtlpConfig {
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`, e.g. `http://otel-collector:4318`; `/v1/traces` is added
    /// unless the URL already ends with it.
    pub endpoint: String,
    /// `OTEL_SERVICE_NAME`, sent as the `service.name` resource attribute.
    pub service_name: String,
    /// Timeout of one export request.
    pub timeout: Duration,
}

impl OtlpConfig {
    pub fn new(endpoint: impl Into<String>, service_name: impl Into<String>) -> OtlpConfig {
        OtlpConfig {
            endpoint: endpoint.into(),
            service_name: service_name.into(),
            timeout: Duration::from_secs(3),
        }
    }

    /// The full URL spans are posted to.
    pub fn traces_url(&self) -> String {
        let base = self.endpoint.trim_end_matches('/');
        if base.ends_with("/v1/traces") {
            base.to_owned()
        } else {
            format!("{base}/v1/traces")
        }
    }
}

/// Creates spans and sends finished ones to `TRACES_FILE` and OTLP. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Tracer {
    inner: Arc<TracerInner>,
}

#[derive(Debug)]
struct TracerInner {
    file: Option<FileSink>,
    #[cfg(feature = "otlp")]
    otlp: Option<crate::otlp::Exporter>,
}

#[derive(Debug)]
struct FileSink {
    path: PathBuf,
    file: Mutex<Option<File>>,
}

impl Tracer {
    /// A tracer writing to `traces_file` (`TRACES_FILE`), or nowhere when `None`.
    pub fn new(traces_file: Option<PathBuf>) -> Tracer {
        Tracer {
            inner: Arc::new(TracerInner {
                file: traces_file.map(|path| FileSink {
                    path,
                    file: Mutex::new(None),
                }),
                #[cfg(feature = "otlp")]
                otlp: None,
            }),
        }
    }

    /// The usual set-up from the settings: the file, plus OTLP when `otel_enabled` and an
    /// endpoint is set. Export failures are counted in `metrics` (`otel.export.failures`).
    pub fn from_settings(
        traces_file: &Path,
        otel_enabled: bool,
        otlp_endpoint: Option<&str>,
        service_name: &str,
        metrics: &Metrics,
    ) -> Tracer {
        let tracer = Tracer::new(Some(traces_file.to_owned()));
        match otlp_endpoint
            .map(str::trim)
            .filter(|e| otel_enabled && !e.is_empty())
        {
            Some(endpoint) => tracer.with_otlp(OtlpConfig::new(endpoint, service_name), metrics),
            None => tracer,
        }
    }

    /// Adds OTLP export. Without the `otlp` cargo feature this logs a warning and does nothing.
    pub fn with_otlp(self, config: OtlpConfig, metrics: &Metrics) -> Tracer {
        #[cfg(feature = "otlp")]
        {
            let file = Arc::try_unwrap(self.inner)
                .map(|inner| inner.file)
                .unwrap_or_else(|shared| {
                    shared.file.as_ref().map(|f| FileSink {
                        path: f.path.clone(),
                        file: Mutex::new(None),
                    })
                });
            Tracer {
                inner: Arc::new(TracerInner {
                    file,
                    otlp: Some(crate::otlp::Exporter::start(config, metrics.clone())),
                }),
            }
        }
        #[cfg(not(feature = "otlp"))]
        {
            let _ = metrics;
            tracing::warn!(endpoint = %config.endpoint,
                "OTLP export requested but this build has no `otlp` feature; spans go to the file only");
            self
        }
    }

    /// Starts a span. With a parent it joins the parent's trace (and request); without one it
    /// starts a new trace.
    pub fn start_span(
        &self,
        name: impl Into<String>,
        parent: Option<&SpanContext>,
        request_id: Option<&str>,
    ) -> Span {
        let trace_id = parent
            .map(|p| p.trace_id.clone())
            .unwrap_or_else(new_trace_id);
        let request_id = request_id
            .map(str::to_owned)
            .or_else(|| parent.and_then(|p| p.request_id.clone()));
        let now = Utc::now();
        Span {
            tracer: self.clone(),
            started: Instant::now(),
            record: Some(SpanRecord {
                span_id: new_span_id(),
                trace_id,
                parent_span_id: parent.map(|p| p.span_id.clone()),
                name: name.into(),
                start_time: now,
                end_time: now,
                duration_ms: 0.0,
                request_id,
                attributes: Map::new(),
                events: Vec::new(),
                status: SpanStatus::Unset,
                error: None,
            }),
        }
    }

    /// Waits (at most `timeout`) until spans queued for OTLP have been sent. Call before exit.
    pub fn shutdown(&self, timeout: Duration) {
        #[cfg(feature = "otlp")]
        if let Some(otlp) = &self.inner.otlp {
            otlp.flush(timeout);
        }
        #[cfg(not(feature = "otlp"))]
        let _ = timeout;
    }

    fn finish(&self, record: SpanRecord) {
        if let Some(sink) = &self.inner.file
            && let Err(e) = sink.append(&record)
        {
            tracing::warn!(error = %e, "span not written to TRACES_FILE");
        }
        #[cfg(feature = "otlp")]
        if let Some(otlp) = &self.inner.otlp {
            otlp.send(record);
        }
    }
}

impl FileSink {
    fn append(&self, record: &SpanRecord) -> Result<(), ObserveError> {
        let mut line = serde_json::to_vec(record).map_err(|e| ObserveError::Parse {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        line.push(b'\n');
        let mut guard = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            ensure_parent(&self.path)?;
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .map_err(|e| ObserveError::io("cannot open TRACES_FILE", &self.path, e))?;
            *guard = Some(file);
        }
        if let Some(file) = guard.as_mut() {
            // One write per line: with O_APPEND, lines from several processes do not interleave.
            file.write_all(&line)
                .map_err(|e| ObserveError::io("cannot append to TRACES_FILE", &self.path, e))?;
        }
        Ok(())
    }
}

/// A span in progress. Ends (and is recorded) on [`Span::end`] or when dropped.
#[derive(Debug)]
pub struct Span {
    tracer: Tracer,
    started: Instant,
    record: Option<SpanRecord>,
}

impl Span {
    /// The context to pass as `parent` to child spans.
    pub fn context(&self) -> SpanContext {
        match &self.record {
            Some(r) => SpanContext {
                trace_id: r.trace_id.clone(),
                span_id: r.span_id.clone(),
                request_id: r.request_id.clone(),
            },
            None => SpanContext {
                trace_id: String::new(),
                span_id: String::new(),
                request_id: None,
            },
        }
    }

    /// Starts a child span of this one.
    pub fn child(&self, name: impl Into<String>) -> Span {
        self.tracer.start_span(name, Some(&self.context()), None)
    }

    /// Sets an attribute. Values under secret-looking keys (`api_key`, `token`, …) are redacted.
    pub fn set_attribute(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        if let Some(r) = &mut self.record {
            let key = key.into();
            let mut value = value.into();
            if is_secret_key(&key) {
                value = Value::String(REDACTED.to_owned());
            } else {
                redact_value(&mut value);
            }
            r.attributes.insert(key, value);
        }
    }

    /// Records an event with attributes (a JSON object; anything else is stored as `value`).
    pub fn add_event(&mut self, name: impl Into<String>, attributes: Value) {
        if let Some(r) = &mut self.record {
            let mut attributes = match attributes {
                Value::Object(map) => Value::Object(map),
                Value::Null => Value::Object(Map::new()),
                other => serde_json::json!({ "value": other }),
            };
            redact_value(&mut attributes);
            let attributes = match attributes {
                Value::Object(map) => map,
                _ => Map::new(),
            };
            r.events.push(SpanEvent {
                name: name.into(),
                timestamp: Utc::now(),
                attributes,
            });
        }
    }

    /// Marks the span as failed with `message`.
    pub fn set_error(&mut self, message: impl Into<String>) {
        if let Some(r) = &mut self.record {
            r.status = SpanStatus::Error;
            r.error = Some(message.into());
        }
    }

    /// Marks the span as successful (unless it already failed).
    pub fn set_ok(&mut self) {
        if let Some(r) = &mut self.record
            && r.status != SpanStatus::Error
        {
            r.status = SpanStatus::Ok;
        }
    }

    /// Ends the span now and records it.
    pub fn end(mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        if let Some(mut r) = self.record.take() {
            let elapsed = self.started.elapsed();
            r.duration_ms = (elapsed.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0;
            r.end_time = r.start_time
                + chrono::Duration::from_std(elapsed).unwrap_or_else(|_| chrono::Duration::zero());
            if r.status == SpanStatus::Unset && r.error.is_none() {
                r.status = SpanStatus::Ok;
            }
            self.tracer.finish(r);
        }
    }
}

impl Drop for Span {
    fn drop(&mut self) {
        self.finish();
    }
}

/// A new random W3C trace id (32 hex digits, never all zero).
pub fn new_trace_id() -> String {
    let id: u128 = rand::random::<u128>().max(1);
    format!("{id:032x}")
}

/// A new random W3C span id (16 hex digits, never all zero).
pub fn new_span_id() -> String {
    let id: u64 = rand::random::<u64>().max(1);
    format!("{id:016x}")
}

/// Reads `TRACES_FILE`: the spans, and the lines that could not be parsed (with line numbers).
/// A missing file is empty.
pub fn read_spans(path: &Path) -> Result<(Vec<SpanRecord>, Vec<BadLine>), ObserveError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(ObserveError::io("cannot read TRACES_FILE", path, e)),
    };
    let mut spans = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in BufReader::new(file).split(b'\n').enumerate() {
        let line = line.map_err(|e| ObserveError::io("cannot read TRACES_FILE", path, e))?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<SpanRecord>(&line) {
            Ok(span) => spans.push(span),
            Err(e) => bad.push(BadLine {
                line: i + 1,
                error: e.to_string(),
            }),
        }
    }
    Ok((spans, bad))
}

/// One trace as a tree: each node is a span with its children, ordered by start time.
#[derive(Debug, Clone, Serialize)]
pub struct TraceTree {
    pub trace_id: String,
    pub request_id: Option<String>,
    pub start_time: DateTime<Utc>,
    pub roots: Vec<TraceNode>,
}

/// A span and its children.
#[derive(Debug, Clone, Serialize)]
pub struct TraceNode {
    #[serde(flatten)]
    pub span: SpanRecord,
    pub children: Vec<TraceNode>,
}

impl TraceTree {
    /// Groups spans by trace and links children to parents. A span whose parent is not in the
    /// file becomes a root. Trees come out oldest first.
    pub fn build(spans: Vec<SpanRecord>) -> Vec<TraceTree> {
        let mut by_trace: BTreeMap<String, Vec<SpanRecord>> = BTreeMap::new();
        for s in spans {
            by_trace.entry(s.trace_id.clone()).or_default().push(s);
        }
        let mut trees: Vec<TraceTree> = by_trace
            .into_iter()
            .map(|(trace_id, mut spans)| {
                spans.sort_by_key(|s| s.start_time);
                let ids: std::collections::HashSet<String> =
                    spans.iter().map(|s| s.span_id.clone()).collect();
                let mut children: HashMap<String, Vec<SpanRecord>> = HashMap::new();
                let mut roots = Vec::new();
                for s in spans {
                    match s
                        .parent_span_id
                        .clone()
                        .filter(|p| ids.contains(p) && *p != s.span_id)
                    {
                        Some(p) => children.entry(p).or_default().push(s),
                        None => roots.push(s),
                    }
                }
                let roots: Vec<TraceNode> = roots
                    .into_iter()
                    .map(|r| attach(r, &mut children, 0))
                    .collect();
                let start_time = roots.first().map(|r| r.span.start_time).unwrap_or_default();
                let request_id = roots.iter().find_map(|r| r.span.request_id.clone());
                TraceTree {
                    trace_id,
                    request_id,
                    start_time,
                    roots,
                }
            })
            .collect();
        trees.sort_by_key(|t| t.start_time);
        trees
    }

    /// The tree as indented text: `name  12.3 ms` per span, two spaces per level.
    pub fn render(&self) -> String {
        let mut out = format!(
            "trace {}  request {}  {}\n",
            self.trace_id,
            self.request_id.as_deref().unwrap_or("-"),
            self.start_time
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        );
        for root in &self.roots {
            render_node(root, 1, &mut out);
        }
        out
    }
}

fn attach(
    span: SpanRecord,
    children: &mut HashMap<String, Vec<SpanRecord>>,
    depth: usize,
) -> TraceNode {
    let kids = if depth > 64 {
        Vec::new()
    } else {
        children.remove(&span.span_id).unwrap_or_default()
    };
    TraceNode {
        children: kids
            .into_iter()
            .map(|k| attach(k, children, depth + 1))
            .collect(),
        span,
    }
}

fn render_node(node: &TraceNode, depth: usize, out: &mut String) {
    let status = match (&node.span.status, &node.span.error) {
        (SpanStatus::Error, Some(e)) => format!("  ERROR: {e}"),
        (SpanStatus::Error, None) => "  ERROR".to_owned(),
        _ => String::new(),
    };
    out.push_str(&format!(
        "{}{}  {:.1} ms{}\n",
        "  ".repeat(depth),
        node.span.name,
        node.span.duration_ms,
        status
    ));
    for child in &node.children {
        render_node(child, depth + 1, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_file_whose_parent_ids_form_the_expected_tree() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("traces.jsonl");
        let tracer = Tracer::new(Some(path.clone()));
        {
            let root = tracer.start_span("taskpilot.workflow.run", None, Some("req-1"));
            let mut agent = root.child("taskpilot.agent.PlannerAgent.run");
            agent.set_attribute("openai_api_key", "sk-should-not-appear-anywhere-123");
            let llm = agent.child("taskpilot.llm.gpt-4o-mini.call");
            llm.end();
            let mut policy = agent.child("taskpilot.policy.tool_call.evaluate");
            policy.set_error("denied");
            drop(policy);
            agent.end();
            let tool = root.child("taskpilot.tool.create_task.call");
            tool.end();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("sk-should-not-appear"));
        let (spans, bad) = read_spans(&path).unwrap();
        assert!(bad.is_empty());
        assert_eq!(spans.len(), 5);
        for s in &spans {
            assert_eq!(s.trace_id.len(), 32);
            assert_eq!(s.span_id.len(), 16);
            assert_eq!(s.request_id.as_deref(), Some("req-1"));
        }
        let trees = TraceTree::build(spans);
        assert_eq!(trees.len(), 1);
        let root = &trees[0].roots[0];
        assert_eq!(root.span.name, "taskpilot.workflow.run");
        assert!(root.span.parent_span_id.is_none());
        let names: Vec<&str> = root.children.iter().map(|c| c.span.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "taskpilot.agent.PlannerAgent.run",
                "taskpilot.tool.create_task.call"
            ]
        );
        let agent = &root.children[0];
        let grandchildren: Vec<&str> = agent
            .children
            .iter()
            .map(|c| c.span.name.as_str())
            .collect();
        assert_eq!(
            grandchildren,
            [
                "taskpilot.llm.gpt-4o-mini.call",
                "taskpilot.policy.tool_call.evaluate"
            ]
        );
        assert_eq!(agent.children[1].span.status, SpanStatus::Error);
        let rendered = trees[0].render();
        assert!(
            rendered.contains("\n      taskpilot.llm.gpt-4o-mini.call  "),
            "{rendered}"
        );
    }
}
