//! Stopping: [`signal`] waits for SIGTERM or SIGINT; [`Stop`] tells the background work to
//! finish. The order (see [`crate::serve`]): stop accepting, finish in-flight requests, stop
//! the background loops, flush metrics and traces.

use std::time::Duration;

use tokio::sync::watch;

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
        _ = ctrl_c => tracing::info!("SIGINT received"),
        _ = term => tracing::info!("SIGTERM received"),
    }
}

/// A stop flag that background loops wait on.
#[derive(Clone)]
pub struct Stop {
    tx: watch::Sender<bool>,
}

impl Default for Stop {
    fn default() -> Self {
        Stop::new()
    }
}

impl Stop {
    pub fn new() -> Stop {
        Stop {
            tx: watch::channel(false).0,
        }
    }

    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    pub fn is_triggered(&self) -> bool {
        *self.tx.borrow()
    }

    /// Sleeps for `period`; `false` when the stop came first.
    pub async fn sleep(&self, period: Duration) -> bool {
        let mut rx = self.tx.subscribe();
        if *rx.borrow() {
            return false;
        }
        tokio::select! {
            _ = tokio::time::sleep(period) => !self.is_triggered(),
            _ = rx.wait_for(|stopped| *stopped) => false,
        }
    }
}
