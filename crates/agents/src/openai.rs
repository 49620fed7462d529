//! The OpenAI-compatible provider: Chat Completions at `{OPENAI_BASE_URL}/chat/completions`
//! (OpenAI, Azure, Ollama, vLLM, LM Studio), with the planner's strict `create_task` function,
//! a timeout per attempt, and retries with exponential backoff and jitter on 429, 5xx and
//! transport errors, honouring `Retry-After`.
//!
//! The API key is only ever put in the `Authorization` header; every error message that could
//! echo something from the wire is scrubbed of it.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use taskpilot_config::{Secret, Settings};

use crate::provider::{LlmProvider, LlmReply, TaskBrief, TaskProposal, Usage};
use crate::{AgentError, ProviderError};

/// The retry rule: `RETRY_MAX_ATTEMPTS` attempts in all, the n-th retry waiting
/// `RETRY_INITIAL_DELAY × RETRY_BACKOFF_FACTOR^(n-1)` seconds capped at `RETRY_MAX_DELAY`,
/// with jitter (a random 50–100 % of that), or the server's `Retry-After` (also capped).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    /// Seconds before the first retry.
    pub initial_delay: f64,
    /// Each retry waits this many times longer than the one before.
    pub backoff_factor: f64,
    /// The longest wait, in seconds.
    pub max_delay: f64,
}

impl RetryPolicy {
    /// The policy the `RETRY_*` settings give.
    pub fn from_settings(settings: &Settings) -> RetryPolicy {
        RetryPolicy {
            max_attempts: settings.retry_max_attempts.value.max(1),
            initial_delay: settings.retry_initial_delay.value,
            backoff_factor: settings.retry_backoff_factor.value,
            max_delay: settings.retry_max_delay.value,
        }
    }

    /// The wait before retry number `retry` (1 for the first retry).
    pub fn delay(&self, retry: u32, retry_after: Option<f64>) -> Duration {
        let seconds = if let Some(after) = retry_after {
            after.min(self.max_delay)
        } else {
            let exp = self.initial_delay
                * self
                    .backoff_factor
                    .powi(i32::try_from(retry.saturating_sub(1)).unwrap_or(i32::MAX));
            let capped = exp.min(self.max_delay);
            capped * rand::random_range(0.5..=1.0)
        };
        Duration::from_secs_f64(seconds.clamp(0.0, 86_400.0))
    }
}

/// The strict `create_task` function of SPEC section 7.
pub fn create_task_tool() -> Value {
    json!({
        "type": "function",
        "function": {
            "name": "create_task",
            "description": "Create exactly one task from the user's request.",
            "strict": true,
            "parameters": {
                "type": "object",
                "properties": {
                    "title": {"type": "string", "minLength": 1, "maxLength": 500},
                    "priority": {"type": "string", "enum": ["high", "medium", "low"]},
                    "description": {"type": "string", "maxLength": 10000}
                },
                "required": ["title", "priority", "description"],
                "additionalProperties": false
            }
        }
    })
}

/// A Chat Completions client.
pub struct OpenAiProvider {
    client: reqwest::Client,
    url: String,
    key: Secret,
    model: String,
    retry: RetryPolicy,
}

impl std::fmt::Debug for OpenAiProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiProvider")
            .field("url", &self.url)
            .field("model", &self.model)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl OpenAiProvider {
    /// A provider from the settings (`OPENAI_*`, `RETRY_*`, `TOOL_TIMEOUT_SECONDS` as the
    /// timeout of one attempt). Fails without `OPENAI_API_KEY`.
    pub fn from_settings(settings: &Settings) -> Result<OpenAiProvider, AgentError> {
        let key = settings
            .openai_api_key
            .value
            .clone()
            .filter(|k| !k.expose().trim().is_empty())
            .ok_or(AgentError::MissingApiKey)?;
        OpenAiProvider::new(
            &settings.openai_base_url.value,
            key,
            &settings.openai_model_id.value,
            RetryPolicy::from_settings(settings),
            Duration::from_secs_f64(settings.tool_timeout_seconds.value),
        )
    }

    /// A provider for the OpenAI-compatible endpoint at `base_url`, asking `model`.
    pub fn new(
        base_url: &str,
        key: Secret,
        model: &str,
        retry: RetryPolicy,
        timeout: Duration,
    ) -> Result<OpenAiProvider, AgentError> {
        taskpilot_plumbing::tls::install_crypto_provider();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| AgentError::HttpClient {
                what: "the OpenAI-compatible provider",
                message: e.to_string(),
            })?;
        Ok(OpenAiProvider {
            client,
            url: format!("{}/chat/completions", base_url.trim_end_matches('/')),
            key,
            model: model.to_owned(),
            retry,
        })
    }

    /// Removes the key, and the secrets of the base URL (user info, `?key=`), from a message
    /// that may echo the request.
    fn scrub(&self, message: String) -> String {
        let key = self.key.expose();
        let message = if key.len() >= 4 && message.contains(key) {
            message.replace(key, "[REDACTED]")
        } else {
            message
        };
        taskpilot_config::redact::scrub(&message, &self.url)
    }

    /// POSTs one Chat Completions request with retries; the parsed JSON answer.
    async fn complete(&self, body: &Value) -> Result<(Value, Option<Usage>), ProviderError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= self.retry.max_attempts;
            let sent = self
                .client
                .post(&self.url)
                .bearer_auth(self.key.expose())
                .json(body)
                .send()
                .await;
            let response = match sent {
                Ok(response) => response,
                Err(e) => {
                    let message = self.scrub(error_chain(&e));
                    if last {
                        return Err(ProviderError::Transport {
                            url: self.url.clone(),
                            attempts: attempt,
                            message,
                        });
                    }
                    tracing::warn!(attempt, error = %message, "LLM request failed; retrying");
                    tokio::time::sleep(self.retry.delay(attempt, None)).await;
                    continue;
                }
            };
            let status = response.status();
            if status.is_success() {
                let value: Value = response.json().await.map_err(|e| {
                    ProviderError::BadResponse(self.scrub(format!("not JSON: {e}")))
                })?;
                let usage = value.get("usage").map(|u| Usage {
                    input_tokens: u["prompt_tokens"].as_u64().unwrap_or(0),
                    output_tokens: u["completion_tokens"].as_u64().unwrap_or(0),
                });
                return Ok((value, usage));
            }
            let retryable = status.as_u16() == 429 || status.is_server_error();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s >= 0.0);
            let text = response.text().await.unwrap_or_default();
            let body: String = self.scrub(text).chars().take(500).collect();
            if !retryable || last {
                return Err(ProviderError::Status {
                    url: self.url.clone(),
                    status: status.as_u16(),
                    attempts: attempt,
                    body,
                });
            }
            let wait = self.retry.delay(attempt, retry_after);
            tracing::warn!(
                attempt,
                status = status.as_u16(),
                wait_s = wait.as_secs_f64(),
                "LLM endpoint asked to retry"
            );
            tokio::time::sleep(wait).await;
        }
    }

    fn messages(system_prompt: &str, user: &str) -> Value {
        json!([
            {"role": "system", "content": system_prompt},
            {"role": "user", "content": user}
        ])
    }

    async fn text(
        &self,
        system_prompt: &str,
        user: &str,
    ) -> Result<LlmReply<String>, ProviderError> {
        let body = json!({
            "model": self.model,
            "messages": OpenAiProvider::messages(system_prompt, user),
        });
        let (value, usage) = self.complete(&body).await?;
        let content = value["choices"][0]["message"]["content"]
            .as_str()
            .ok_or_else(|| {
                ProviderError::BadResponse("no choices[0].message.content in the answer".into())
            })?;
        Ok(LlmReply {
            value: content.to_owned(),
            usage,
        })
    }
}

fn error_chain(e: &reqwest::Error) -> String {
    let mut message = if e.is_timeout() {
        "timed out".to_owned()
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

#[async_trait]
impl LlmProvider for OpenAiProvider {
    fn name(&self) -> &'static str {
        "openai"
    }

    fn model(&self) -> &str {
        &self.model
    }

    async fn plan(
        &self,
        system_prompt: &str,
        request: &str,
    ) -> Result<LlmReply<TaskProposal>, ProviderError> {
        let body = json!({
            "model": self.model,
            "messages": OpenAiProvider::messages(system_prompt, request),
            "tools": [create_task_tool()],
            "tool_choice": {"type": "function", "function": {"name": "create_task"}},
        });
        let (value, usage) = self.complete(&body).await?;
        let call = &value["choices"][0]["message"]["tool_calls"][0]["function"];
        if call.is_null() {
            return Err(ProviderError::MalformedArguments(
                "the answer has no create_task tool call".into(),
            ));
        }
        if call["name"].as_str() != Some("create_task") {
            return Err(ProviderError::MalformedArguments(format!(
                "the answer called {} instead of create_task",
                call["name"]
            )));
        }
        let arguments = call["arguments"].as_str().ok_or_else(|| {
            ProviderError::MalformedArguments("the tool call has no string `arguments`".into())
        })?;
        Ok(LlmReply {
            value: TaskProposal::from_arguments(arguments)?,
            usage,
        })
    }

    async fn review(
        &self,
        system_prompt: &str,
        task: &TaskBrief,
    ) -> Result<LlmReply<String>, ProviderError> {
        self.text(system_prompt, &task.to_message()).await
    }

    async fn execute(
        &self,
        system_prompt: &str,
        task: &TaskBrief,
    ) -> Result<LlmReply<String>, ProviderError> {
        self.text(system_prompt, &task.to_message()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_are_capped() {
        let p = RetryPolicy {
            max_attempts: 5,
            initial_delay: 1.0,
            backoff_factor: 2.0,
            max_delay: 3.0,
        };
        let d1 = p.delay(1, None).as_secs_f64();
        let d3 = p.delay(3, None).as_secs_f64();
        assert!((0.5..=1.0).contains(&d1), "{d1}");
        assert!((1.5..=3.0).contains(&d3), "{d3}");
        assert_eq!(p.delay(1, Some(2.0)), Duration::from_secs(2));
        assert_eq!(p.delay(1, Some(100.0)), Duration::from_secs(3));
    }

    #[test]
    fn debug_never_shows_the_key() {
        let p = OpenAiProvider::new(
            "http://127.0.0.1:9",
            Secret::new("sk-very-secret-key-123456"),
            "m",
            RetryPolicy {
                max_attempts: 1,
                initial_delay: 0.0,
                backoff_factor: 1.0,
                max_delay: 0.0,
            },
            Duration::from_secs(1),
        )
        .unwrap();
        assert!(!format!("{p:?}").contains("sk-very-secret"));
    }
}
