//! `taskpilot serve`: the HTTP face of TaskPilot (SPEC section 8, issue 8).
//!
//! - [`mod@state`]: [`AppState`], shared by every handler behind an `Arc`.
//! - [`auth`]: bearer tokens with roles (viewer, operator, reviewer, admin).
//! - [`error`]: [`ApiError`], the one place errors become `{"error": {"code", "message"}}`.
//! - [`routes`]: the handlers, one file per area (runs, tasks, observability, info).
//! - [`ui`]: the web page for people, compiled into the binary.
//! - [`openapi`]: the OpenAPI 3 document served at `/openapi.json`.
//! - [`background`]: executing tasks left `approved`, flushing metrics.
//! - [`shutdown`]: SIGTERM/SIGINT, and the order in which things stop.
//! - [`health`]: the health checks shared by `GET /health` and `taskpilot doctor`.
//! - [`exposure`]: which address to bind, given the tokens (an open API stays on loopback).
//! - [`origin`]: `Host`, `Origin` and `Content-Type` checks against CSRF and DNS rebinding.
//! - [`listen`]: the accept loop with connection limits and header/body read timeouts.
//!
//! Not here: the workflow itself (`taskpilot-agents`), storage (`taskpilot-store`), how
//! metrics and decisions are written (`taskpilot-observe`).

pub mod auth;
pub mod background;
pub mod error;
pub mod exposure;
pub mod health;
pub mod listen;
pub mod openapi;
pub mod origin;
pub mod routes;
pub mod run_worker;
pub mod shutdown;
pub mod state;
pub mod ui;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

pub use auth::{Role, Tokens};
pub use error::{ApiError, MAX_BODY_BYTES};
pub use listen::Limits;
pub use state::{AppState, SharedState};

/// Why the server could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}; choose another HOST/PORT or stop what uses it")]
    Bind {
        /// `HOST:PORT`.
        addr: String,
        /// What the system reported.
        source: std::io::Error,
    },
    /// The server stopped with an I/O error.
    #[error("the HTTP server failed: {0}")]
    Serve(std::io::Error),
    /// Closing the store or flushing metrics at shutdown failed.
    #[error("flushing at shutdown failed: {0}")]
    Flush(#[from] taskpilot_agents::AgentError),
}

/// Binds `host:port` (port 0 picks a free one).
pub async fn bind(host: &str, port: u16) -> Result<tokio::net::TcpListener, ServerError> {
    let addr = format!("{host}:{port}");
    tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })
}

/// Serves until `shutdown` completes, then stops in order: no new connections, in-flight
/// requests finish, background work stops, metrics and traces are flushed
/// ([`taskpilot_agents::Runtime::shutdown`]). Tasks and decisions are durable when
/// acknowledged, so nothing acknowledged is lost.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: SharedState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    serve_with(listener, state, Limits::default(), shutdown).await
}

/// [`serve`] with explicit connection limits and timeouts.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    state: SharedState,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let bound: SocketAddr = listener.local_addr().map_err(ServerError::Serve)?;
    let settings = &state.runtime.settings;
    let policy = Arc::new(origin::OriginPolicy::new(
        bound,
        state.tokens.is_open(),
        &settings.allowed_hosts.value,
        &settings.allowed_origins.value,
    ));
    let stop = tokio_util::sync::CancellationToken::new();
    let background = background::spawn(state.clone(), stop.clone());
    let run_workers = run_worker::spawn(state.clone(), stop.clone());
    let app = routes::router(state.clone())
        .layer(axum::middleware::from_fn_with_state(policy, origin::check));
    let trigger = stop.clone();
    let served = listen::serve_limited(listener, app, limits, async move {
        shutdown.await;
        tracing::info!("shutting down: no new connections, finishing in-flight requests");
        trigger.cancel();
    })
    .await;
    stop.cancel();
    background.wait().await;
    run_workers.wait().await;
    let flushed = state.runtime.shutdown().await;
    served.map_err(ServerError::Serve)?;
    flushed?;
    tracing::info!("server stopped; metrics and traces flushed");
    Ok(())
}

/// Builds the state from a runtime and tokens.
pub fn state(runtime: taskpilot_agents::Runtime, tokens: Tokens) -> SharedState {
    Arc::new(AppState::new(runtime, tokens))
}
