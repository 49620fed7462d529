//! Shared helpers for the agents tests: settings in a temporary base directory, what a runtime
//! leaves (its metrics, its store's size), a scripted stub provider, and a tiny
//! OpenAI-compatible HTTP server on a loopback port.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use taskpilot_agents::{LlmProvider, LlmReply, ProviderError, Runtime, TaskBrief, TaskProposal};
use taskpilot_config::Settings;
use taskpilot_observe::MetricsSnapshot;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Settings for a base directory, offline unless `extra` says otherwise.
pub(crate) fn settings(base: &Path, extra: &[(&str, &str)]) -> Settings {
    let mut env: HashMap<String, String> = HashMap::new();
    env.insert("BASE_DIR".into(), base.display().to_string());
    env.insert(
        "DOCKER_LOGS_DIR".into(),
        base.join("no-docker-logs").display().to_string(),
    );
    env.insert("LLM_PROVIDER".into(), "offline".into());
    for (k, v) in extra {
        env.insert((*k).into(), (*v).into());
    }
    Settings::resolve(&env, base).expect("the test settings resolve")
}

/// Shuts `rt` down (its files flushed) and reads the metrics it left in `base`.
pub(crate) async fn metrics_after_shutdown(rt: &Runtime, base: &Path) -> MetricsSnapshot {
    rt.shutdown().await.expect("the runtime shuts down");
    MetricsSnapshot::load(&base.join("metrics.json")).expect("metrics.json is readable")
}

/// How many tasks `rt`'s store holds.
pub(crate) async fn stored(rt: &Runtime) -> usize {
    rt.store.stats().await.expect("the store's stats").total()
}

/// A provider with fixed answers.
pub(crate) struct Stub {
    pub plan: Result<TaskProposal, ProviderError>,
    pub review: String,
    pub message: String,
}

#[async_trait]
impl LlmProvider for Stub {
    fn name(&self) -> &'static str {
        "stub"
    }
    fn model(&self) -> &'static str {
        "stub-model"
    }
    async fn plan(&self, _: &str, _: &str) -> Result<LlmReply<TaskProposal>, ProviderError> {
        self.plan
            .clone()
            .map(|value| LlmReply { value, usage: None })
    }
    async fn review(&self, _: &str, _: &TaskBrief) -> Result<LlmReply<String>, ProviderError> {
        Ok(LlmReply {
            value: self.review.clone(),
            usage: None,
        })
    }
    async fn execute(&self, _: &str, _: &TaskBrief) -> Result<LlmReply<String>, ProviderError> {
        Ok(LlmReply {
            value: self.message.clone(),
            usage: None,
        })
    }
}

/// One scripted HTTP answer.
#[derive(Clone)]
pub(crate) struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    /// A 200 answer with a JSON body, at once.
    pub(crate) fn json(body: Value) -> Reply {
        Reply::status(200, &body.to_string())
    }

    /// An answer with this status and body and no extra headers, at once.
    pub(crate) fn status(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: vec![],
            body: body.into(),
            delay: Duration::ZERO,
        }
    }
}

/// A request the server received: lower-case headers and the JSON body.
#[derive(Clone, Debug)]
pub(crate) struct Received {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Value,
}

/// An OpenAI-compatible server answering from a script, recording every request.
pub(crate) struct MockServer {
    pub base_url: String,
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl MockServer {
    pub(crate) async fn start(script: Vec<Reply>) -> MockServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port for the mock server");
        let addr = listener.local_addr().expect("the mock server's address");
        let received = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let log = received.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let log = log.clone();
                let script = script.clone();
                tokio::spawn(async move {
                    let Some(request) = read_request(&mut socket).await else {
                        return;
                    };
                    log.lock().unwrap().push(request);
                    let exhausted = Reply::status(500, "{\"error\":\"script exhausted\"}");
                    let reply = script.lock().unwrap().pop_front().unwrap_or(exhausted);
                    tokio::time::sleep(reply.delay).await;
                    let mut head = format!(
                        "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                        reply.status,
                        reply.body.len()
                    );
                    for (k, v) in &reply.headers {
                        head.push_str(&format!("{k}: {v}\r\n"));
                    }
                    head.push_str("\r\n");
                    let _ = socket.write_all(head.as_bytes()).await;
                    let _ = socket.write_all(reply.body.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        MockServer {
            base_url: format!("http://{addr}/v1"),
            received,
        }
    }

    pub(crate) fn requests(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<Received> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    let mut lines = head.lines();
    let path = lines.next()?.split_whitespace().nth(1)?.to_owned();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers.get("content-length")?.parse().ok()?;
    while buf.len() < header_end + length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = serde_json::from_slice(&buf[header_end..]).unwrap_or(Value::Null);
    Some(Received {
        path,
        headers,
        body,
    })
}

/// A Chat Completions answer with a `create_task` tool call whose arguments are `arguments`.
pub(crate) fn tool_call(arguments: &str) -> Value {
    serde_json::json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "test-model",
        "choices": [{
            "index": 0,
            "finish_reason": "tool_calls",
            "message": {
                "role": "assistant",
                "content": null,
                "tool_calls": [{
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "create_task", "arguments": arguments}
                }]
            }
        }],
        "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150}
    })
}

/// A Chat Completions answer with text content.
pub(crate) fn text(content: &str) -> Value {
    serde_json::json!({
        "id": "chatcmpl-2",
        "object": "chat.completion",
        "model": "test-model",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 80, "completion_tokens": 10, "total_tokens": 90}
    })
}
