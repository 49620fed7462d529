//! The span model: one finished span as written to `TRACES_FILE` (the fields of SPEC 4), the
//! context a child span needs from its parent, and the W3C ids.
//!
//! Not here: creating spans (`tracer`), where they go (`sink`, `otlp`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What a child span needs from its parent: the ids, and the request the trace belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpanContext {
    /// 32 lower-case hex digits (W3C trace-id).
    pub trace_id: String,
    /// 16 lower-case hex digits (W3C parent-id).
    pub span_id: String,
    /// The request the trace belongs to.
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
    /// Ended without saying.
    Unset,
    /// Succeeded.
    Ok,
    /// Failed; the span's `error` says why.
    Error,
}

/// Something that happened during a span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanEvent {
    /// What happened, as a short name.
    pub name: String,
    /// When.
    pub timestamp: DateTime<Utc>,
    /// Details.
    #[serde(default)]
    pub attributes: Map<String, Value>,
}

/// One finished span: one line of `TRACES_FILE`, with the fields of SPEC 4.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanRecord {
    /// 16 lower-case hex digits.
    pub span_id: String,
    /// 32 lower-case hex digits, shared by the whole trace.
    pub trace_id: String,
    /// The parent span, `None` for a root.
    pub parent_span_id: Option<String>,
    /// What the span covers (`taskpilot.workflow.run`).
    pub name: String,
    /// When it started.
    pub start_time: DateTime<Utc>,
    /// When it ended.
    pub end_time: DateTime<Utc>,
    /// How long it took, in milliseconds.
    pub duration_ms: f64,
    /// The request the trace belongs to.
    pub request_id: Option<String>,
    /// Details (agent, tool, policy version…).
    #[serde(default)]
    pub attributes: Map<String, Value>,
    /// What happened during the span.
    #[serde(default)]
    pub events: Vec<SpanEvent>,
    /// How it ended.
    pub status: SpanStatus,
    /// Why it failed.
    pub error: Option<String>,
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
