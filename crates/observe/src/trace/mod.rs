//! Spans: a small tracing API with W3C trace and span ids. Every finished span goes to each
//! [`SpanSink`] of the [`Tracer`]: one JSON line appended to `TRACES_FILE` ([`FileSink`]) and,
//! when an OTLP endpoint is configured, an export over OTLP/HTTP in the background that never
//! blocks or fails the caller (`otlp`).
//!
//! Span names follow SPEC 4: `taskpilot.workflow.run` → `taskpilot.agent.<Agent>.run` →
//! `taskpilot.llm.<model>.call`, `taskpilot.tool.<tool>.call`, `taskpilot.policy.<type>.evaluate`,
//! `taskpilot.guardrails.<type>.check`.
//!
//! - `span`: the span model (one finished span, its context, ids).
//! - `tracer`: [`Tracer`] and the in-progress [`Span`].
//! - `sink`: the [`SpanSink`] trait and the file sink.
//! - `otlp`: the OTLP sink (the only place that knows the `otlp` cargo feature).
//! - `reader`: reading `TRACES_FILE` back.
//! - `tree`: spans as trees, and their text rendering.
//!
//! Not for: application logs (see `logging`) or metrics (see `metrics`).

mod otlp;
mod reader;
mod sink;
mod span;
mod tracer;
mod tree;

pub use otlp::OtlpConfig;
pub use reader::read_spans;
pub use sink::{FileSink, SpanSink};
pub use span::{SpanContext, SpanEvent, SpanRecord, SpanStatus, new_span_id, new_trace_id};
pub use tracer::{Span, Tracer};
pub use tree::{TraceNode, TraceTree};
