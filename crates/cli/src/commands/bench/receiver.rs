//! A notification receiver for benchmarks: an HTTP server on a loopback port that records
//! every POST (its `Idempotency-Key` header, and the body's `task_id` and `idempotency_key`)
//! when it arrives, then answers `200` after a fixed delay — a webhook whose latency dominates.
//!
//! Not here: what is counted as a duplicate (the benchmark's).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// One notification as the receiver got it.
#[derive(Debug, Clone)]
pub(super) struct Received {
    /// The `Idempotency-Key` header.
    pub header_key: Option<String>,
    /// The body's `task_id`.
    pub task_id: String,
    /// The body's `idempotency_key`.
    pub body_key: String,
}

struct Shared {
    seen: Mutex<Vec<Received>>,
    delay: Duration,
}

/// A running receiver; stopped when dropped.
pub(super) struct Receiver {
    url: String,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl Receiver {
    /// Listens on `127.0.0.1` on a free port; every answer waits `delay`.
    pub(super) async fn start(delay: Duration) -> anyhow::Result<Receiver> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(|e| {
                anyhow::anyhow!("cannot listen on a loopback port for the receiver: {e}")
            })?;
        let url = format!("http://{}/notify", listener.local_addr()?);
        let shared = Arc::new(Shared {
            seen: Mutex::default(),
            delay,
        });
        let app = axum::Router::new()
            .route("/notify", post(notify))
            .with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                eprintln!("the notification receiver stopped: {e}");
            }
        });
        Ok(Receiver {
            url,
            shared,
            stop: Some(stop),
            server: Some(server),
        })
    }

    /// Where to send notifications (`NOTIFY_WEBHOOK_URL`).
    pub(super) fn url(&self) -> &str {
        &self.url
    }

    /// How long each answer waits.
    pub(super) fn delay(&self) -> Duration {
        self.shared.delay
    }

    /// Takes what was received so far, leaving the receiver empty.
    pub(super) fn take(&self) -> Vec<Received> {
        std::mem::take(
            &mut *self
                .shared
                .seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Stops the server and waits for it.
    pub(super) async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

async fn notify(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> &'static str {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let received = Received {
        header_key: headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        task_id: text(&body["task_id"]),
        body_key: text(&body["idempotency_key"]),
    };
    shared
        .seen
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(received);
    tokio::time::sleep(shared.delay).await;
    "ok"
}
