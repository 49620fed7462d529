//! [`Tracer`] creates spans and hands finished ones to its sinks; [`Span`] is a span in
//! progress (attributes and events are redacted as they are set).
//!
//! Not here: the span model (`span`), the sinks (`sink`, `otlp`), reading spans back.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{Map, Value};

use super::otlp::{self, OtlpConfig};
use super::sink::{FileSink, SpanSink};
use super::span::{SpanContext, SpanEvent, SpanRecord, SpanStatus, new_span_id, new_trace_id};
use crate::metrics::Metrics;
use crate::redact::{REDACTED, is_secret_key, redact_value};

/// Creates spans and sends finished ones to its sinks (`TRACES_FILE`, OTLP). Cheap to clone.
#[derive(Clone, Debug)]
pub struct Tracer {
    sinks: Arc<[Arc<dyn SpanSink>]>,
}

impl Tracer {
    /// A tracer writing to `traces_file` (`TRACES_FILE`), or nowhere when `None`.
    pub fn new(traces_file: Option<PathBuf>) -> Tracer {
        let sinks: Vec<Arc<dyn SpanSink>> = match traces_file {
            Some(path) => vec![Arc::new(FileSink::new(path))],
            None => Vec::new(),
        };
        Tracer {
            sinks: sinks.into(),
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
        match otlp::sink(config, metrics) {
            Some(sink) => self.with_sink(sink),
            None => self,
        }
    }

    /// Adds a sink: every span finished from now on goes to it too.
    pub fn with_sink(self, sink: Arc<dyn SpanSink>) -> Tracer {
        let mut sinks = self.sinks.to_vec();
        sinks.push(sink);
        Tracer {
            sinks: sinks.into(),
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
        let trace_id = parent.map_or_else(new_trace_id, |p| p.trace_id.clone());
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
        for sink in self.sinks.iter() {
            sink.flush(timeout);
        }
    }

    fn finish(&self, record: SpanRecord) {
        for sink in self.sinks.iter() {
            if let Err(e) = sink.record(&record) {
                tracing::warn!(error = %e, "span not recorded");
            }
        }
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
