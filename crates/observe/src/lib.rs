//! Observability for TaskPilot: persisted metrics with Prometheus exposition, spans written to
//! a JSON-lines file and exported over OTLP, the durable decision log, JSON application logs,
//! health-check building blocks, golden signals and LLM cost.
//!
//! What it is not for: deciding anything. Policy and guardrails live in `taskpilot-govern`, the
//! workflow in the agents crate; they call into this crate to record what happened.
//!
//! Every file this crate writes, every metric name and every field is described in
//! `docs/OBSERVABILITY.md`.

mod error;
mod fsutil;
mod jsonl;

pub mod cost;
pub mod decisions;
pub mod golden;
pub mod health;
pub mod logging;
pub mod metrics;
pub mod redact;
pub mod trace;

pub use cost::{CostEntry, CostReport, CostTracker, ModelPrice, Prices};
pub use decisions::{
    BadLine, Decision, DecisionLog, DecisionResult, DecisionSink, DecisionSource, DecisionSummary,
    DecisionType, Decisions, decisions_about_task, read_decisions,
};
pub use error::ObserveError;
pub use golden::{Band, GoldenSignal, GoldenSignals};
pub use health::{Check, HealthReport, HealthStatus, check_otlp_endpoint, check_path_writable};
pub use logging::{LogGuard, LogOptions, init_console_logging, init_logging, init_logging_with};
pub use metrics::{
    HistogramSnapshot, Metrics, MetricsSnapshot, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE,
    names,
};
pub use trace::{
    FileSink, OtlpConfig, Span, SpanContext, SpanRecord, SpanSink, SpanStatus, TraceTree, Tracer,
    read_spans,
};
