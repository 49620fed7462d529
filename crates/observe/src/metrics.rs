//! Metrics: counters, gauges and histograms keyed by the reference's dotted names
//! (`workflow.runs`, `agent.PlannerAgent.latency_ms`, …), persisted to `METRICS_FILE` and merged
//! across processes, with Prometheus/OpenMetrics exposition.
//!
//! A [`Metrics`] handle accumulates *deltas* in memory. [`Metrics::flush`] takes an exclusive
//! lock on `<METRICS_FILE>.lock`, reads the file, adds the deltas, writes `<file>.tmp`, fsyncs
//! and renames it over the file, then unlocks. So a CLI run adds to what the server (or an
//! earlier run) recorded, and two processes flushing at once lose no increment. The last handle
//! to be dropped flushes what is left.
//!
//! Not for: deciding metric *values* (the workflow does that) or serving HTTP (the server does).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use serde::{Deserialize, Serialize};

use crate::ObserveError;
use crate::fsutil::{FileLock, read_optional, sibling, write_atomic};

/// The dotted metric names of the reference, and helpers that build the per-agent, per-tool and
/// per-model ones.
pub mod names {
    /// Workflow runs started.
    pub const WORKFLOW_RUNS: &str = "workflow.runs";
    /// Workflow runs that did not end `failed` (a denied or blocked run counts).
    pub const WORKFLOW_SUCCESS: &str = "workflow.success";
    /// Workflow runs that ended `failed` or could not run.
    pub const WORKFLOW_ERRORS: &str = "workflow.errors";
    /// Histogram: how long a run took.
    pub const WORKFLOW_LATENCY_MS: &str = "workflow.latency_ms";
    /// LLM cost in USD.
    pub const LLM_COST_TOTAL: &str = "llm.cost.total";
    /// Prompt tokens.
    pub const LLM_TOKENS_INPUT: &str = "llm.tokens.input";
    /// Completion tokens.
    pub const LLM_TOKENS_OUTPUT: &str = "llm.tokens.output";
    /// Prompt and completion tokens.
    pub const LLM_TOKENS_TOTAL: &str = "llm.tokens.total";
    /// Tool calls the policy denied.
    pub const POLICY_VIOLATIONS_TOTAL: &str = "policy.violations.total";
    /// Tasks created.
    pub const TASKS_CREATED: &str = "tasks.created";
    /// Tasks approved, by the reviewer or a person.
    pub const TASKS_APPROVED: &str = "tasks.approved";
    /// Tasks rejected.
    pub const TASKS_REJECTED: &str = "tasks.rejected";
    /// Tasks sent to a person.
    pub const TASKS_REVIEW: &str = "tasks.review";
    /// Tasks executed.
    pub const TASKS_EXECUTED: &str = "tasks.executed";
    /// A person approved a task in review (for user-confirmed correctness).
    pub const HUMAN_APPROVALS: &str = "human.approvals";
    /// A person rejected a task in review (for user-confirmed correctness).
    pub const HUMAN_REJECTIONS: &str = "human.rejections";
    /// Gauge: 2 healthy, 1 degraded, 0 unhealthy.
    pub const HEALTH_STATUS: &str = "health.status";
    /// Spans (batches of spans) the OTLP exporter failed to send.
    pub const OTEL_EXPORT_FAILURES: &str = "otel.export.failures";
    /// Spans dropped because the OTLP export queue was full.
    pub const OTEL_EXPORT_DROPPED: &str = "otel.export.dropped";

    /// `agent.<Agent>.<what>`; `what` is `invocations`, `success`, `errors` or `latency_ms`.
    pub fn agent(agent: &str, what: &str) -> String {
        format!("agent.{agent}.{what}")
    }

    /// `tool.<tool>.<what>`; `what` is `calls`, `success`, `errors` or `latency_ms`.
    pub fn tool(tool: &str, what: &str) -> String {
        format!("tool.{tool}.{what}")
    }

    /// `llm.agent.<Agent>.model.<model>.<what>`; `what` is `calls`, `cost`, `input_tokens` or
    /// `output_tokens`. Model names may contain dots; agent names may not.
    pub fn llm(agent: &str, model: &str, what: &str) -> String {
        format!("llm.agent.{agent}.model.{model}.{what}")
    }
}

/// Histogram bucket upper bounds, in milliseconds (the last bucket, `+Inf`, is implicit).
pub const LATENCY_BUCKETS_MS: [f64; 14] = [
    5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1_000.0, 2_000.0, 5_000.0, 10_000.0, 30_000.0,
    60_000.0, 120_000.0,
];

/// How many recent observations a histogram keeps for percentiles.
pub const RECENT_WINDOW: usize = 1000;

/// The `Content-Type` of [`MetricsSnapshot::to_prometheus`].
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The `Content-Type` of [`MetricsSnapshot::to_openmetrics`].
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// One histogram as persisted: bucket bounds, per-bucket (not cumulative) counts with the
/// overflow bucket last, sum, count, and a bounded window of recent values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistogramSnapshot {
    /// Upper bounds of the buckets, ascending.
    pub bounds: Vec<f64>,
    /// Values per bucket, the overflow bucket last.
    pub counts: Vec<u64>,
    /// The sum of every value.
    pub sum: f64,
    /// How many values.
    pub count: u64,
    /// The latest values, for percentiles.
    #[serde(default)]
    pub recent: Vec<f64>,
}

impl Default for HistogramSnapshot {
    fn default() -> Self {
        HistogramSnapshot {
            bounds: LATENCY_BUCKETS_MS.to_vec(),
            counts: vec![0; LATENCY_BUCKETS_MS.len() + 1],
            sum: 0.0,
            count: 0,
            recent: Vec::new(),
        }
    }
}

impl HistogramSnapshot {
    fn observe(&mut self, value: f64) {
        let i = self
            .bounds
            .iter()
            .position(|b| value <= *b)
            .unwrap_or(self.bounds.len());
        if let Some(c) = self.counts.get_mut(i) {
            *c += 1;
        }
        self.sum += value;
        self.count += 1;
        self.recent.push(value);
        trim_recent(&mut self.recent);
    }

    fn merge(&mut self, other: &HistogramSnapshot) {
        if self.bounds == other.bounds && self.counts.len() == other.counts.len() {
            for (a, b) in self.counts.iter_mut().zip(&other.counts) {
                *a += b;
            }
        } else {
            // Different bucket layouts (an older file): re-bucket what we know of `other`.
            for v in &other.recent {
                let i = self
                    .bounds
                    .iter()
                    .position(|b| v <= b)
                    .unwrap_or(self.bounds.len());
                if let Some(c) = self.counts.get_mut(i) {
                    *c += 1;
                }
            }
        }
        self.sum += other.sum;
        self.count += other.count;
        self.recent.extend_from_slice(&other.recent);
        trim_recent(&mut self.recent);
    }

    /// The reference percentile: the recent values sorted, at index ⌊q·n⌋ clamped to n−1;
    /// 0 when there are none.
    pub fn percentile(&self, q: f64) -> f64 {
        percentile(&self.recent, q)
    }

    /// The mean of all observations (0 when none).
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }
}

fn trim_recent(recent: &mut Vec<f64>) {
    if recent.len() > RECENT_WINDOW {
        let excess = recent.len() - RECENT_WINDOW;
        recent.drain(..excess);
    }
}

/// The one percentile of TaskPilot (golden signals, reports, `taskpilot bench`): the sorted
/// `values` at index ⌊q·n⌋, clamped to the last one — a nearest-rank definition, never an
/// interpolation between two values. 0 when empty.
pub fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let i = ((q * sorted.len() as f64).floor() as usize).min(sorted.len() - 1);
    sorted[i]
}

/// The content of `METRICS_FILE`: `{"counters":{},"gauges":{},"histograms":{},"timestamp":…}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsSnapshot {
    /// Counters by name.
    #[serde(default)]
    pub counters: BTreeMap<String, f64>,
    /// Gauges by name.
    #[serde(default)]
    pub gauges: BTreeMap<String, f64>,
    /// Histograms by name.
    #[serde(default)]
    pub histograms: BTreeMap<String, HistogramSnapshot>,
    /// RFC 3339 time of the last flush.
    #[serde(default)]
    pub timestamp: Option<String>,
}

impl MetricsSnapshot {
    /// Reads `path`; a missing file is an empty snapshot.
    pub fn load(path: &Path) -> Result<MetricsSnapshot, ObserveError> {
        match read_optional(path)? {
            None => Ok(MetricsSnapshot::default()),
            Some(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => {
                Ok(MetricsSnapshot::default())
            }
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| ObserveError::Parse {
                path: path.to_owned(),
                message: format!("{e} (METRICS_FILE)"),
            }),
        }
    }

    /// A counter's value (0 when never incremented).
    pub fn counter(&self, name: &str) -> f64 {
        self.counters.get(name).copied().unwrap_or(0.0)
    }

    /// A gauge's value, if it was ever set.
    pub fn gauge(&self, name: &str) -> Option<f64> {
        self.gauges.get(name).copied()
    }

    /// A histogram, if anything was observed.
    pub fn histogram(&self, name: &str) -> Option<&HistogramSnapshot> {
        self.histograms.get(name)
    }

    /// Adds `delta` to this snapshot: counters and histograms add up, gauges take the delta's value.
    pub fn merge(&mut self, delta: &MetricsSnapshot) {
        for (k, v) in &delta.counters {
            *self.counters.entry(k.clone()).or_insert(0.0) += v;
        }
        for (k, v) in &delta.gauges {
            self.gauges.insert(k.clone(), *v);
        }
        for (k, h) in &delta.histograms {
            self.histograms.entry(k.clone()).or_default().merge(h);
        }
    }

    fn is_empty(&self) -> bool {
        self.counters.is_empty() && self.gauges.is_empty() && self.histograms.is_empty()
    }

    /// The snapshot in the Prometheus text format 0.0.4 (what `promtool check metrics` reads
    /// and Prometheus scrapes by default): `taskpilot_` prefix, counters ending in `_total`,
    /// latencies in seconds (`_duration_seconds`, base unit), agent/tool/model as labels,
    /// cumulative histogram buckets. Serve it with [`PROMETHEUS_CONTENT_TYPE`].
    pub fn to_prometheus(&self) -> String {
        let mut out = String::new();
        for ((name, kind), family) in group_families(self) {
            let sample = match kind {
                Kind::Counter => format!("{name}_total"),
                _ => name.clone(),
            };
            let kind_str = match kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
                Kind::Histogram => "histogram",
            };
            out.push_str(&format!(
                "# HELP {sample} {}\n# TYPE {sample} {kind_str}\n",
                family.help
            ));
            for (labels, v) in family.counters.iter().chain(&family.gauges) {
                out.push_str(&format!(
                    "{sample}{} {}\n",
                    render_labels(labels, None),
                    fmt_value(*v)
                ));
            }
            for (labels, h) in &family.histograms {
                let mut cumulative = 0u64;
                for (i, count) in h.counts.iter().enumerate() {
                    cumulative += count;
                    let le = h
                        .bounds
                        .get(i)
                        .map_or_else(|| "+Inf".into(), |b| fmt_value(b / 1000.0));
                    out.push_str(&format!(
                        "{name}_bucket{} {cumulative}\n",
                        render_labels(labels, Some(&le))
                    ));
                }
                out.push_str(&format!(
                    "{name}_sum{} {}\n",
                    render_labels(labels, None),
                    fmt_value(h.sum / 1000.0)
                ));
                out.push_str(&format!(
                    "{name}_count{} {}\n",
                    render_labels(labels, None),
                    h.count
                ));
            }
        }
        out
    }

    /// The snapshot in the OpenMetrics 1.0 text format, encoded by `prometheus-client`
    /// (for scrapers that ask for `application/openmetrics-text`; see [`OPENMETRICS_CONTENT_TYPE`]).
    pub fn to_openmetrics(&self) -> String {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(SnapshotCollector(group_families(self))));
        let mut out = String::new();
        // Writing to a String cannot fail; an error here would be a bug in the encoder.
        if prometheus_client::encoding::text::encode(&mut out, &registry).is_err() {
            out.clear();
        }
        out
    }
}

fn render_labels(labels: &Labels, le: Option<&str>) -> String {
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| {
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{k}=\"{v}\"")
        })
        .collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

fn fmt_value(v: f64) -> String {
    if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else if v.is_nan() {
        "NaN".into()
    } else {
        format!("{v}")
    }
}

/// A thread-safe, cheap-to-clone handle that records metrics and flushes them to `METRICS_FILE`.
#[derive(Clone, Debug)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: Option<PathBuf>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Recorded since the last flush.
    pending: MetricsSnapshot,
    /// For in-memory handles only: what was flushed.
    memory: MetricsSnapshot,
}

impl Metrics {
    /// A handle persisting to `path` (`METRICS_FILE`). Does no I/O until [`Metrics::flush`].
    pub fn open(path: impl Into<PathBuf>) -> Metrics {
        Metrics {
            inner: Arc::new(Inner {
                path: Some(path.into()),
                state: Mutex::default(),
            }),
        }
    }

    /// A handle that keeps everything in memory (tests, `--no-metrics`).
    pub fn in_memory() -> Metrics {
        Metrics {
            inner: Arc::new(Inner {
                path: None,
                state: Mutex::default(),
            }),
        }
    }

    /// The file this handle flushes to.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain numbers behind: still usable.
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds `by` to the counter `name` (a dotted name such as `workflow.runs`).
    pub fn incr(&self, name: &str, by: f64) {
        *self
            .state()
            .pending
            .counters
            .entry(name.to_owned())
            .or_insert(0.0) += by;
    }

    /// Sets the gauge `name`; the last value set (by any process) wins.
    pub fn set_gauge(&self, name: &str, value: f64) {
        self.state().pending.gauges.insert(name.to_owned(), value);
    }

    /// Records one observation (in milliseconds) in the histogram `name`.
    pub fn observe(&self, name: &str, value_ms: f64) {
        self.state()
            .pending
            .histograms
            .entry(name.to_owned())
            .or_default()
            .observe(value_ms);
    }

    /// Everything recorded so far: the file (or memory) plus what is not flushed yet.
    pub fn snapshot(&self) -> Result<MetricsSnapshot, ObserveError> {
        let mut base = match &self.inner.path {
            Some(path) => MetricsSnapshot::load(path)?,
            None => self.state().memory.clone(),
        };
        base.merge(&self.state().pending);
        Ok(base)
    }

    /// Adds the pending deltas to `METRICS_FILE` under its lock, atomically. Blocking: from
    /// async code use [`Metrics::flush_async`]. On error the deltas are kept for the next flush.
    pub fn flush(&self) -> Result<(), ObserveError> {
        let delta = std::mem::take(&mut self.state().pending);
        if delta.is_empty() {
            return Ok(());
        }
        let Some(path) = &self.inner.path else {
            self.state().memory.merge(&delta);
            return Ok(());
        };
        match flush_to(path, &delta) {
            Ok(()) => Ok(()),
            Err(e) => {
                // Put the deltas back in front of whatever arrived meanwhile.
                let mut state = self.state();
                let mut restored = delta;
                restored.merge(&state.pending);
                state.pending = restored;
                Err(e)
            }
        }
    }

    /// [`Metrics::flush`] on the blocking thread pool, so the runtime is never blocked by fsync.
    pub async fn flush_async(&self) -> Result<(), ObserveError> {
        let this = self.clone();
        match tokio::task::spawn_blocking(move || this.flush()).await {
            Ok(result) => result,
            Err(e) => Err(ObserveError::WriterStopped {
                path: self.inner.path.clone().unwrap_or_default(),
                message: e.to_string(),
            }),
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(path) = &self.path
            && !state.pending.is_empty()
            && let Err(e) = flush_to(path, &state.pending)
        {
            tracing::warn!(error = %e, "metrics not saved at exit");
        }
    }
}

fn flush_to(path: &Path, delta: &MetricsSnapshot) -> Result<(), ObserveError> {
    let _lock = FileLock::acquire(path)?;
    let mut current = match MetricsSnapshot::load(path) {
        Ok(s) => s,
        Err(ObserveError::Parse { message, .. }) => {
            // Keep the evidence aside rather than overwrite it, and start again.
            let aside = sibling(
                path,
                &format!(".corrupt-{}", chrono::Utc::now().timestamp()),
            );
            std::fs::rename(path, &aside)
                .map_err(|e| ObserveError::io("cannot move the corrupt file aside", path, e))?;
            tracing::warn!(file = %path.display(), moved_to = %aside.display(), %message,
                "METRICS_FILE was corrupt; kept aside and started again");
            MetricsSnapshot::default()
        }
        Err(e) => return Err(e),
    };
    current.merge(delta);
    current.timestamp =
        Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    let bytes = serde_json::to_vec_pretty(&current).map_err(|e| ObserveError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    Ok(write_atomic(path, &bytes)?)
}

// ---- Prometheus exposition -------------------------------------------------------------------

type Labels = Vec<(String, String)>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

#[derive(Debug, Default)]
struct Family {
    help: String,
    counters: Vec<(Labels, f64)>,
    gauges: Vec<(Labels, f64)>,
    histograms: Vec<(Labels, HistogramSnapshot)>,
}

#[derive(Debug)]
struct SnapshotCollector(BTreeMap<(String, Kind), Family>);

/// The Prometheus family name (without `_total`), its labels and help text for a dotted name.
pub fn prometheus_name(dotted: &str) -> (String, Vec<(String, String)>) {
    let metric = |what: &str| match what {
        "latency_ms" => "duration_seconds".to_owned(),
        other => sanitize(other),
    };
    if let Some(rest) = dotted.strip_prefix("agent.")
        && let Some((agent, what)) = rest.rsplit_once('.')
    {
        return (
            format!("taskpilot_agent_{}", metric(what)),
            vec![("agent".into(), agent.into())],
        );
    }
    if let Some(rest) = dotted.strip_prefix("tool.")
        && let Some((tool, what)) = rest.rsplit_once('.')
    {
        return (
            format!("taskpilot_tool_{}", metric(what)),
            vec![("tool".into(), tool.into())],
        );
    }
    if let Some(rest) = dotted.strip_prefix("llm.agent.")
        && let Some((pair, what)) = rest.rsplit_once('.')
        && let Some((agent, model)) = pair.split_once(".model.")
    {
        let family = match what {
            "cost" => "taskpilot_llm_model_cost_usd".to_owned(),
            other => format!("taskpilot_llm_model_{}", sanitize(other)),
        };
        return (
            family,
            vec![
                ("agent".into(), agent.into()),
                ("model".into(), model.into()),
            ],
        );
    }
    let fixed = match dotted {
        names::LLM_COST_TOTAL => Some("taskpilot_llm_cost_usd"),
        names::LLM_TOKENS_INPUT => Some("taskpilot_llm_input_tokens"),
        names::LLM_TOKENS_OUTPUT => Some("taskpilot_llm_output_tokens"),
        names::LLM_TOKENS_TOTAL => Some("taskpilot_llm_tokens"),
        names::POLICY_VIOLATIONS_TOTAL => Some("taskpilot_policy_violations"),
        names::WORKFLOW_LATENCY_MS => Some("taskpilot_workflow_duration_seconds"),
        _ => None,
    };
    if let Some(f) = fixed {
        return (f.to_owned(), Vec::new());
    }
    let mut name = sanitize(dotted);
    if let Some(stem) = name
        .strip_suffix("_latency_ms")
        .or_else(|| name.strip_suffix("_ms"))
    {
        name = format!("{stem}_duration_seconds");
    }
    if let Some(stem) = name.strip_suffix("_total") {
        name = stem.to_owned();
    }
    (format!("taskpilot_{name}"), Vec::new())
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

fn group_families(s: &MetricsSnapshot) -> BTreeMap<(String, Kind), Family> {
    let mut families: BTreeMap<(String, Kind), Family> = BTreeMap::new();
    for (k, v) in &s.counters {
        let (family, labels) = family_of(&mut families, k, Kind::Counter);
        family.counters.push((labels, *v));
    }
    for (k, v) in &s.gauges {
        let (family, labels) = family_of(&mut families, k, Kind::Gauge);
        family.gauges.push((labels, *v));
    }
    for (k, h) in &s.histograms {
        let (family, labels) = family_of(&mut families, k, Kind::Histogram);
        family.histograms.push((labels, h.clone()));
    }
    families
}

fn family_of<'a>(
    families: &'a mut BTreeMap<(String, Kind), Family>,
    dotted: &str,
    kind: Kind,
) -> (&'a mut Family, Labels) {
    let (name, labels) = prometheus_name(dotted);
    let family = families.entry((name, kind)).or_default();
    if family.help.is_empty() {
        family.help = help_for(dotted, &labels);
    }
    (family, labels)
}

fn help_for(dotted: &str, labels: &Labels) -> String {
    let mut generic = dotted.to_owned();
    for (key, value) in labels {
        generic = generic.replacen(&format!(".{value}."), &format!(".<{key}>."), 1);
    }
    format!("TaskPilot metric {generic}")
}

impl Collector for SnapshotCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for ((name, kind), family) in &self.0 {
            let metric_type = match kind {
                Kind::Counter => MetricType::Counter,
                Kind::Gauge => MetricType::Gauge,
                Kind::Histogram => MetricType::Histogram,
            };
            let mut metric = encoder.encode_descriptor(name, &family.help, None, metric_type)?;
            for (labels, v) in &family.counters {
                metric
                    .encode_family(labels)?
                    .encode_counter::<NoLabelSet, f64, f64>(v, None)?;
            }
            for (labels, v) in &family.gauges {
                metric.encode_family(labels)?.encode_gauge(v)?;
            }
            for (labels, h) in &family.histograms {
                let mut buckets: Vec<(f64, u64)> = h
                    .bounds
                    .iter()
                    .map(|b| b / 1000.0)
                    .zip(h.counts.iter().copied())
                    .collect();
                buckets.push((f64::INFINITY, h.counts.last().copied().unwrap_or(0)));
                metric
                    .encode_family(labels)?
                    .encode_histogram::<NoLabelSet>(h.sum / 1000.0, h.count, &buckets, None)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_is_nearest_rank_not_linear() {
        let v = [4.0, 1.0, 3.0, 2.0];
        // Linear interpolation would give 2.5 for the median.
        assert_eq!(percentile(&v, 0.5), 3.0);
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert_eq!(percentile(&v, 0.99), 4.0);
        assert_eq!(percentile(&v, 1.0), 4.0);
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&hundred, 0.95), 96.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }

    #[test]
    fn metrics_survive_a_restart_and_add_up_across_concurrent_handles() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/metrics.json");
        let writers: Vec<_> = (0..2)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || {
                    // A separate handle per thread behaves like a separate process: only the
                    // file and its lock are shared.
                    let m = Metrics::open(&path);
                    for i in 0..100 {
                        m.incr(names::WORKFLOW_RUNS, 1.0);
                        m.incr(&names::agent("PlannerAgent", "invocations"), 1.0);
                        m.observe(names::WORKFLOW_LATENCY_MS, f64::from(i));
                        m.flush().unwrap();
                    }
                    m.set_gauge(names::HEALTH_STATUS, 2.0);
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        // "Restart": a new handle sees everything.
        let restarted = Metrics::open(&path);
        let s = restarted.snapshot().unwrap();
        assert_eq!(s.counter(names::WORKFLOW_RUNS), 200.0);
        assert_eq!(s.counter("agent.PlannerAgent.invocations"), 200.0);
        let h = s.histogram(names::WORKFLOW_LATENCY_MS).unwrap();
        assert_eq!(h.count, 200);
        assert_eq!(h.counts.iter().sum::<u64>(), 200);
        assert_eq!(s.gauge(names::HEALTH_STATUS), Some(2.0));
        assert!(s.timestamp.is_some());
        restarted.incr(names::WORKFLOW_RUNS, 1.0);
        drop(restarted); // the last handle flushes on drop
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(v["counters"]["workflow.runs"], 201.0);
        for key in ["counters", "gauges", "histograms", "timestamp"] {
            assert!(v.get(key).is_some(), "{key} missing");
        }
    }

    #[test]
    fn a_corrupt_metrics_file_is_kept_aside_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.json");
        std::fs::write(&path, "{not json").unwrap();
        let m = Metrics::open(&path);
        assert!(m.snapshot().is_err());
        m.incr(names::WORKFLOW_RUNS, 1.0);
        m.flush().unwrap();
        assert_eq!(
            MetricsSnapshot::load(&path)
                .unwrap()
                .counter(names::WORKFLOW_RUNS),
            1.0
        );
        let aside = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .contains(".corrupt-")
            })
            .count();
        assert_eq!(aside, 1);
    }

    #[test]
    fn exposition_uses_labels_total_suffix_and_units() {
        let m = Metrics::in_memory();
        m.incr(names::WORKFLOW_RUNS, 3.0);
        m.incr(&names::agent("PlannerAgent", "invocations"), 2.0);
        m.incr(&names::tool("create_task", "calls"), 1.0);
        m.incr(&names::llm("PlannerAgent", "gpt-4.1-mini", "cost"), 0.5);
        m.observe(&names::agent("PlannerAgent", "latency_ms"), 12.0);
        let open = m.snapshot().unwrap().to_openmetrics();
        assert!(
            open.contains("taskpilot_workflow_runs_total 3.0") && open.ends_with("# EOF\n"),
            "{open}"
        );
        let text = m.snapshot().unwrap().to_prometheus();
        assert!(
            text.contains(
                "# TYPE taskpilot_workflow_runs_total counter\ntaskpilot_workflow_runs_total 3\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"taskpilot_agent_invocations_total{agent="PlannerAgent"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"taskpilot_tool_calls_total{tool="create_task"} 1"#),
            "{text}"
        );
        assert!(text.contains(r#"taskpilot_llm_model_cost_usd_total{agent="PlannerAgent",model="gpt-4.1-mini"} 0.5"#), "{text}");
        assert!(
            text.contains(
                r#"taskpilot_agent_duration_seconds_bucket{agent="PlannerAgent",le="0.025"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains("# TYPE taskpilot_agent_duration_seconds histogram"),
            "{text}"
        );
    }
}
