//! The tools agents call: `create_task` (the store) and `notify_external_system` (a webhook,
//! or a local JSON-lines file when no webhook is configured). The workflow checks each call
//! with the policy first and bounds it by `TOOL_TIMEOUT_SECONDS`; this module only performs it.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::AgentError;

/// Where `notify_external_system` sends its message.
#[derive(Debug, Clone)]
pub enum NotifyTarget {
    /// `NOTIFY_WEBHOOK_URL`: a POST of a JSON object; any non-2xx answer is a failure.
    Webhook(String),
    /// No webhook: one JSON line appended to this file (`notifications.jsonl` next to the
    /// decision log).
    File(PathBuf),
}

/// The `notify_external_system` tool.
#[derive(Debug, Clone)]
pub struct Notifier {
    target: NotifyTarget,
    client: reqwest::Client,
}

/// One notification.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Notification<'a> {
    /// The task executed.
    pub task_id: &'a str,
    /// Its title.
    pub title: &'a str,
    /// Its priority.
    pub priority: &'a str,
    /// The executor's message.
    pub message: &'a str,
    /// The request that led to the execution.
    pub request_id: &'a str,
    /// The task id and the approval being executed (the claim's key): the same for a
    /// repeated delivery of one execution, so a receiver can drop the duplicate. Also sent
    /// as the `Idempotency-Key` header.
    pub idempotency_key: &'a str,
}

impl Notifier {
    /// A notifier delivering to `target`, each delivery within `timeout`.
    pub fn new(target: NotifyTarget, timeout: Duration) -> Result<Notifier, AgentError> {
        taskpilot_plumbing::tls::install_crypto_provider();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| AgentError::HttpClient {
                what: "notify_external_system",
                message: e.to_string(),
            })?;
        Ok(Notifier { target, client })
    }

    /// Where notifications go.
    pub fn target(&self) -> &NotifyTarget {
        &self.target
    }

    /// Sends the notification. The error is the reason stored in the task's `error`.
    pub async fn notify(&self, notification: &Notification<'_>) -> Result<String, String> {
        match &self.target {
            NotifyTarget::Webhook(url) => {
                let shown = taskpilot_config::redact_url(url);
                let response = self
                    .client
                    .post(url)
                    .header("Idempotency-Key", notification.idempotency_key)
                    .json(notification)
                    .send()
                    .await
                    .map_err(|e| {
                        let kind = if e.is_timeout() {
                            "timed out".to_owned()
                        } else if e.is_connect() {
                            "cannot connect".to_owned()
                        } else {
                            taskpilot_config::redact::scrub(&e.to_string(), url)
                        };
                        format!("notify_external_system: POST {shown} failed: {kind}")
                    })?;
                let status = response.status();
                if status.is_success() {
                    Ok(format!("POST {shown}: HTTP {}", status.as_u16()))
                } else {
                    let body: String = response
                        .text()
                        .await
                        .unwrap_or_default()
                        .chars()
                        .take(300)
                        .collect();
                    // The receiver may echo the URL (and the secret in its path) back.
                    let body = taskpilot_config::redact::scrub(&body, url);
                    Err(format!(
                        "notify_external_system: POST {shown} answered HTTP {}: {body}",
                        status.as_u16()
                    ))
                }
            }
            NotifyTarget::File(path) => {
                let mut line = json!({
                    "timestamp": chrono::Utc::now().to_rfc3339(),
                    "task_id": notification.task_id,
                    "title": notification.title,
                    "priority": notification.priority,
                    "message": notification.message,
                    "request_id": notification.request_id,
                    "idempotency_key": notification.idempotency_key,
                })
                .to_string();
                line.push('\n');
                let fail = |e: std::io::Error| {
                    format!(
                        "notify_external_system: cannot append to {}: {e}",
                        path.display()
                    )
                };
                if let Some(parent) = path.parent() {
                    tokio::fs::create_dir_all(parent).await.map_err(fail)?;
                }
                let mut file = tokio::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .await
                    .map_err(fail)?;
                file.write_all(line.as_bytes()).await.map_err(fail)?;
                file.sync_data().await.map_err(fail)?;
                Ok(format!("appended to {}", path.display()))
            }
        }
    }
}
