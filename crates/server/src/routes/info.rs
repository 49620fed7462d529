//! `GET /`: the service, its version, the endpoints (from the route table) and the
//! observability links (Grafana, Prometheus, Jaeger, Kibana; user info and secret query
//! parameters redacted, as this route needs no token); `GET /openapi.json`: the API
//! description.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use taskpilot_config::redact_url;

use crate::state::SharedState;

/// `endpoints` is `METHOD path` for every API route (the router passes the route table's).
pub async fn index(State(state): State<SharedState>, endpoints: Vec<String>) -> Json<Value> {
    let s = &state.runtime.settings;
    Json(json!({
        "service": "taskpilot",
        "version": env!("CARGO_PKG_VERSION"),
        "auth": if state.tokens.is_open() { "open (no TASKPILOT_API_TOKENS configured)" } else { "bearer" },
        "endpoints": endpoints,
        "ui": "/ui",
        "openapi": "/openapi.json",
        "observability": {
            "grafana": redact_url(&s.grafana_url.value),
            "prometheus": redact_url(&s.prometheus_url.value),
            "jaeger": redact_url(&s.jaeger_url.value),
            "kibana": redact_url(&s.kibana_url.value),
        },
    }))
}

/// `GET /openapi.json`: the OpenAPI document of this API.
pub async fn openapi() -> Json<Value> {
    Json(crate::openapi::document())
}
