//! Stopping: [`signal`] waits for SIGTERM or SIGINT; a [`CancellationToken`] tells the
//! background work to finish, and [`sleep`] is how its loops wait for the next round. The order (see [`crate::serve`]): stop accepting, finish in-flight requests, stop
//! the background loops, flush metrics and traces.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Completes on SIGTERM or SIGINT (Ctrl-C).
pub async fn signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received"),
        () = term => tracing::info!("SIGTERM received"),
    }
}

/// Sleeps for `period`; `false` when `stop` was cancelled first (or already).
pub async fn sleep(stop: &CancellationToken, period: Duration) -> bool {
    tokio::select! {
        () = tokio::time::sleep(period) => !stop.is_cancelled(),
        () = stop.cancelled() => false,
    }
}
