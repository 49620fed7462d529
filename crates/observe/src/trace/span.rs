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
