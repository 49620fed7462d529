//! The router: every route, the auth middleware, the body limit, JSON answers for unknown
//! routes, wrong methods and panics. Handlers live in one file per area and stay thin: they
//! parse, call the runtime or the store, and answer; errors go through [`ApiError`].

pub mod info;
pub mod observability;
pub mod runs;
pub mod tasks;

use std::any::Any;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;

use crate::error::ApiError;
use crate::state::SharedState;
use crate::{MAX_BODY_BYTES, auth, ui};

/// The whole application.
pub fn router(state: SharedState) -> Router {
    Router::new()
        .route("/", get(info::index))
        .route("/openapi.json", get(info::openapi))
        .route("/health", get(observability::health))
        .route("/metrics", get(observability::metrics))
        .route("/golden-signals", get(observability::golden_signals))
        .route("/cost-report", get(observability::cost_report))
        .route("/api/v1/runs", get(runs::list).post(runs::submit))
        .route("/api/v1/runs/{id}", get(runs::show))
        .route("/api/v1/runs/{id}/events", get(runs::events))
        .route("/api/v1/stats", get(tasks::stats))
        .route("/api/v1/tasks", get(tasks::list).post(tasks::create))
        .route("/api/v1/tasks/{id}", get(tasks::show).delete(tasks::delete))
        .route("/api/v1/tasks/{id}/decisions", get(tasks::decisions))
        .route("/api/v1/tasks/{id}/history", get(runs::task_history))
        .route("/api/v1/tasks/{id}/approve", post(tasks::approve))
        .route("/api/v1/tasks/{id}/reject", post(tasks::reject))
        .merge(ui::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(panicked))
        .with_state(state)
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!(
        "no route {}; GET / lists the endpoints",
        uri.path()
    ))
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{method} is not allowed on {}; see /openapi.json",
            uri.path()
        ),
    )
}

fn panicked(_: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::internal("internal error; see the server log").into_response()
}
