//! `GET /metrics` (Prometheus text), `/health` (each check; 200 healthy or degraded, 503
//! unhealthy), `/golden-signals` and `/cost-report?format=text|json|csv`. Metrics are the
//! persisted `METRICS_FILE` plus what this process has not flushed yet.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use taskpilot_observe::{CostReport, GoldenSignals, MetricsSnapshot, PROMETHEUS_CONTENT_TYPE};

use crate::error::ApiError;
use crate::health::health_report_with_store;
use crate::state::SharedState;

/// The metrics of every process sharing `METRICS_FILE`, read off the async threads.
async fn snapshot(state: &SharedState) -> Result<MetricsSnapshot, ApiError> {
    let metrics = state.runtime.metrics.clone();
    tokio::task::spawn_blocking(move || metrics.snapshot())
        .await
        .map_err(|e| ApiError::internal(format!("reading the metrics failed: {e}")))?
        .map_err(|e| ApiError::internal(e.to_string()))
}

/// `GET /metrics`: the OpenMetrics exposition.
pub async fn metrics(State(state): State<SharedState>) -> Result<Response, ApiError> {
    let text = snapshot(&state).await?.to_prometheus();
    Ok(([(header::CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE)], text).into_response())
}

/// `/health` needs no token, so it names the store backend but shows no URL (not even a
/// redacted one) and no path: check messages have their URLs replaced by `[url]`.
pub async fn health(State(state): State<SharedState>) -> Response {
    let rt = &state.runtime;
    let mut report = health_report_with_store(&rt.settings, rt.store.as_ref()).await;
    for check in &mut report.checks {
        check.message = taskpilot_config::redact::strip_urls(&check.message);
    }
    let status = StatusCode::from_u16(report.http_status()).unwrap_or(StatusCode::OK);
    let body = json!({
        "status": report.status,
        "checks": report.checks,
        "store": rt.settings.store_backend(),
        "backend": rt.settings.store_backend(),
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": state.started.elapsed().as_secs(),
    });
    (status, Json(body)).into_response()
}

/// `GET /golden-signals`: success rate, latency, cost and violations.
pub async fn golden_signals(State(state): State<SharedState>) -> Result<Response, ApiError> {
    let signals = GoldenSignals::from_snapshot(&snapshot(&state).await?);
    Ok(Json(signals).into_response())
}

/// `GET /cost-report`: LLM cost per model and per run.
pub async fn cost_report(
    State(state): State<SharedState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let format = params
        .get("format")
        .map_or_else(|| "json".to_owned(), |f| f.trim().to_ascii_lowercase());
    if !matches!(format.as_str(), "text" | "json" | "csv") {
        return Err(ApiError::invalid(format!(
            "invalid format '{format}'; use text, json or csv"
        )));
    }
    let report = CostReport::from_snapshot(&snapshot(&state).await?, state.runtime.cost.prices());
    Ok(match format.as_str() {
        "text" => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            report.to_text(),
        )
            .into_response(),
        "csv" => (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            report.to_csv(),
        )
            .into_response(),
        _ => Json(report).into_response(),
    })
}
