//! The OTLP sink: where to send spans ([`OtlpConfig`]) and the sink that exports them over
//! OTLP/HTTP (protobuf) on a background thread (`export`). This is the only module that knows
//! the `otlp` cargo feature: without it, [`sink`] logs a warning and spans go to the file only.

use std::sync::Arc;
use std::time::Duration;

use super::sink::SpanSink;
use crate::metrics::Metrics;

#[cfg(feature = "otlp")]
mod export;

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
    /// Export to `endpoint` as `service_name`, with the default timeout.
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

/// The OTLP sink for `config`; export failures are counted in `metrics`
/// (`otel.export.failures`). `None` in a build without the `otlp` feature.
#[cfg_attr(
    feature = "otlp",
    expect(clippy::unnecessary_wraps, reason = "None without the otlp feature")
)]
pub(super) fn sink(config: OtlpConfig, metrics: &Metrics) -> Option<Arc<dyn SpanSink>> {
    #[cfg(feature = "otlp")]
    {
        let target = export::Target {
            url: config.traces_url(),
            service_name: config.service_name,
            timeout: config.timeout,
        };
        Some(Arc::new(export::Exporter::start(target, metrics.clone())))
    }
    #[cfg(not(feature = "otlp"))]
    {
        let _ = metrics;
        tracing::warn!(endpoint = %config.endpoint,
            "OTLP export requested but this build has no `otlp` feature; spans go to the file only");
        None
    }
}
