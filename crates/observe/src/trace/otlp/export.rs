//! OTLP/HTTP (protobuf) export of finished spans, on a background thread: the
//! [`SpanSink`] behind `OTEL_EXPORTER_OTLP_ENDPOINT`.
//!
//! Spans are queued with `try_send` into a bounded channel (a full queue drops the span and
//! counts it in `otel.export.dropped`), batched, converted to the OpenTelemetry SDK's
//! `SpanData` with *our* ids (so the ids in `TRACES_FILE` and in the collector are the same),
//! and sent by `opentelemetry-otlp`'s exporter. A failed export is counted in
//! `otel.export.failures` and never reaches the caller.

use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use opentelemetry::trace::{
    Event, SpanContext as OtelSpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId,
    TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue, Value as OtelValue};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanExporter as _, SpanLinks};
use serde_json::{Map, Value};

use crate::error::ObserveError;
use crate::metrics::{Metrics, names};
use crate::trace::sink::SpanSink;
use crate::trace::span::{SpanRecord, SpanStatus};

const QUEUE: usize = 2048;
const BATCH: usize = 256;
const BATCH_DELAY: Duration = Duration::from_millis(500);

/// Where the export thread sends spans: the full `/v1/traces` URL, the `service.name`, and
/// the timeout of one request.
pub(super) struct Target {
    pub(super) url: String,
    pub(super) service_name: String,
    pub(super) timeout: Duration,
}

enum Msg {
    Span(Box<SpanRecord>),
    Flush(mpsc::Sender<()>),
}

/// Handle to the export thread. Dropping it flushes (bounded by the export timeout).
#[derive(Debug)]
pub(super) struct Exporter {
    tx: Mutex<Option<SyncSender<Msg>>>,
    metrics: Metrics,
    timeout: Duration,
}

impl Exporter {
    pub(super) fn start(config: Target, metrics: Metrics) -> Exporter {
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let timeout = config.timeout;
        let thread_metrics = metrics.clone();
        let spawned = thread::Builder::new()
            .name("taskpilot-otlp".into())
            .spawn(move || run(config, rx, thread_metrics));
        let tx = match spawned {
            Ok(_) => Some(tx),
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the OTLP export thread; spans go to the file only");
                None
            }
        };
        Exporter {
            tx: Mutex::new(tx),
            metrics,
            timeout,
        }
    }
}

impl SpanSink for Exporter {
    fn record(&self, span: &SpanRecord) -> Result<(), ObserveError> {
        let guard = self
            .tx
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(tx) = guard.as_ref() else {
            return Ok(());
        };
        match tx.try_send(Msg::Span(Box::new(span.clone()))) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.metrics.incr(names::OTEL_EXPORT_DROPPED, 1.0);
            }
        }
        Ok(())
    }

    fn flush(&self, timeout: Duration) {
        let guard = self
            .tx
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(tx) = guard.as_ref() else { return };
        let (ack_tx, ack_rx) = mpsc::channel();
        if tx.try_send(Msg::Flush(ack_tx)).is_ok() {
            let _ = ack_rx.recv_timeout(timeout);
        }
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        self.flush(self.timeout + Duration::from_millis(500));
        // Closing the channel ends the thread.
        self.tx
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
    }
}

fn run(config: Target, rx: Receiver<Msg>, metrics: Metrics) {
    let url = config.url;
    // The HTTP client needs a TLS crypto provider.
    taskpilot_plumbing::tls::install_crypto_provider();
    let built = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(url.clone())
        .with_timeout(config.timeout)
        .build();
    let mut exporter = match built {
        Ok(e) => Some(e),
        Err(e) => {
            tracing::warn!(endpoint = %url, error = %e, "cannot build the OTLP exporter; spans go to the file only");
            None
        }
    };
    if let Some(e) = exporter.as_mut() {
        e.set_resource(
            &Resource::builder_empty()
                .with_service_name(config.service_name.clone())
                .build(),
        );
    }
    let scope = InstrumentationScope::builder("taskpilot")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build();
    let mut batch: Vec<SpanData> = Vec::new();
    let mut deadline = Instant::now() + BATCH_DELAY;
    loop {
        let wait = deadline.saturating_duration_since(Instant::now());
        let (flush_ack, closed) = match rx.recv_timeout(wait) {
            Ok(Msg::Span(span)) => {
                if let Some(data) = to_span_data(&span, &scope) {
                    batch.push(data);
                }
                if batch.len() < BATCH {
                    continue;
                }
                (None, false)
            }
            Ok(Msg::Flush(ack)) => (Some(ack), false),
            Err(RecvTimeoutError::Timeout) => (None, false),
            Err(RecvTimeoutError::Disconnected) => (None, true),
        };
        if !batch.is_empty() {
            let spans = std::mem::take(&mut batch);
            let n = spans.len() as f64;
            match exporter.as_ref() {
                Some(e) => {
                    if let Err(err) = futures_executor::block_on(e.export(spans)) {
                        metrics.incr(names::OTEL_EXPORT_FAILURES, n);
                        tracing::debug!(endpoint = %url, error = %err, "OTLP export failed");
                    }
                }
                None => metrics.incr(names::OTEL_EXPORT_FAILURES, n),
            }
        }
        if let Some(ack) = flush_ack {
            let _ = ack.send(());
        }
        if closed {
            if let Some(e) = exporter.as_mut() {
                let _ = e.shutdown();
            }
            return;
        }
        deadline = Instant::now() + BATCH_DELAY;
    }
}

fn to_span_data(r: &SpanRecord, scope: &InstrumentationScope) -> Option<SpanData> {
    let trace_id = TraceId::from_hex(&r.trace_id).ok()?;
    let span_id = SpanId::from_hex(&r.span_id).ok()?;
    let parent = r
        .parent_span_id
        .as_deref()
        .and_then(|p| SpanId::from_hex(p).ok())
        .unwrap_or(SpanId::INVALID);
    let mut attributes = to_key_values(&r.attributes);
    if let Some(request_id) = &r.request_id {
        attributes.push(KeyValue::new("taskpilot.request_id", request_id.clone()));
    }
    let mut events = SpanEvents::default();
    events.events = r
        .events
        .iter()
        .map(|e| {
            Event::new(
                e.name.clone(),
                SystemTime::from(e.timestamp),
                to_key_values(&e.attributes),
                0,
            )
        })
        .collect();
    let status = match r.status {
        SpanStatus::Error => Status::error(r.error.clone().unwrap_or_default()),
        SpanStatus::Ok => Status::Ok,
        SpanStatus::Unset => Status::Unset,
    };
    Some(SpanData {
        span_context: OtelSpanContext::new(
            trace_id,
            span_id,
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: parent,
        parent_span_is_remote: false,
        span_kind: SpanKind::Internal,
        name: r.name.clone().into(),
        start_time: SystemTime::from(r.start_time),
        end_time: SystemTime::from(r.end_time),
        attributes,
        dropped_attributes_count: 0,
        events,
        links: SpanLinks::default(),
        status,
        instrumentation_scope: scope.clone(),
    })
}

fn to_key_values(map: &Map<String, Value>) -> Vec<KeyValue> {
    map.iter()
        .map(|(k, v)| {
            let value: OtelValue = match v {
                Value::Bool(b) => (*b).into(),
                Value::Number(n) => match n.as_i64() {
                    Some(i) => i.into(),
                    None => n.as_f64().unwrap_or_default().into(),
                },
                Value::String(s) => s.clone().into(),
                other => other.to_string().into(),
            };
            KeyValue::new(k.clone(), value)
        })
        .collect()
}
