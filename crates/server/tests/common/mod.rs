//! A real server on a loopback port for the black-box tests: a temporary base directory,
//! the file store, the offline provider, optional tokens. Dropped: shut down and cleaned up.

#![allow(dead_code)]

pub(crate) mod webdriver;

use std::collections::HashMap;
use std::net::SocketAddr;

use reqwest::{Method, Response};
use serde_json::{Value, json};
use taskpilot_agents::Runtime;
use taskpilot_config::Settings;
use taskpilot_server::{Limits, Tokens, bind, serve_with, state};
use tokio::sync::oneshot;

pub(crate) struct TestServer {
    pub addr: SocketAddr,
    pub base: String,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

/// The tokens the role tests use.
pub(crate) const TOKENS: &str =
    "view-token-123:viewer,op-token-456:operator,rev-token-789:reviewer,admin-token-000:admin";

pub(crate) fn token_for(role: &str) -> &'static str {
    match role {
        "viewer" => "view-token-123",
        "operator" => "op-token-456",
        "reviewer" => "rev-token-789",
        _ => "admin-token-000",
    }
}

pub(crate) fn settings_for(dir: &std::path::Path, extra: &[(&str, &str)]) -> Settings {
    let mut env: HashMap<String, String> = [
        ("BASE_DIR", dir.display().to_string()),
        ("LLM_PROVIDER", "offline".to_owned()),
        ("LOGS_DIR", dir.join("logs").display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (k, v) in extra {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    Settings::resolve(&env, dir).expect("settings")
}

impl TestServer {
    pub(crate) async fn start(tokens: Option<&str>) -> TestServer {
        Self::start_with(tokens, &[]).await
    }

    pub(crate) async fn start_with(tokens: Option<&str>, extra: &[(&str, &str)]) -> TestServer {
        Self::start_full(tokens, extra, Limits::default()).await
    }

    /// An open server with these connection limits and timeouts.
    pub(crate) async fn start_limited(limits: Limits) -> TestServer {
        Self::start_full(None, &[], limits).await
    }

    async fn start_full(
        tokens: Option<&str>,
        extra: &[(&str, &str)],
        limits: Limits,
    ) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = settings_for(dir.path(), extra);
        let runtime = Runtime::from_settings(&settings).await.expect("runtime");
        let tokens = match tokens {
            Some(t) => Tokens::parse(t).expect("tokens"),
            None => Tokens::open(),
        };
        let listener = bind("127.0.0.1", 0).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            serve_with(listener, state(runtime, tokens), limits, async move {
                let _ = rx.await;
            })
            .await
            .expect("serve");
        });
        TestServer {
            addr,
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            dir,
            stop: Some(tx),
            handle: Some(handle),
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Stops the server gracefully and waits for it.
    pub(crate) async fn stop(mut self) {
        self.shutdown().await;
    }

    /// Stops the server gracefully, keeping the directory for inspection.
    pub(crate) async fn shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
    }

    /// A request with an optional bearer token.
    pub(crate) fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let r = self.client.request(method, self.url(path));
        match token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    /// Sends a request without a body and returns the answer, whatever its status.
    pub(crate) async fn send(&self, method: Method, path: &str, token: Option<&str>) -> Response {
        let what = format!("{method} {path}");
        self.request(method, path, token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"))
    }

    /// `GET path`: asserts 200 and returns the JSON body.
    pub(crate) async fn get_json(&self, path: &str, token: Option<&str>) -> Value {
        let r = self.send(Method::GET, path, token).await;
        json_of(r, 200, &format!("GET {path}")).await
    }

    /// `POST path` with `body` as JSON; the answer, whatever its status.
    pub(crate) async fn post_json(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> Response {
        let r = self
            .request(Method::POST, path, token)
            .json(body)
            .send()
            .await;
        r.unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// `POST path` with `body` sent as it is, labelled `application/json` (no token).
    pub(crate) async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> Response {
        let r = self.request(Method::POST, path, None);
        r.header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// Creates a manual task (admin token when tokens are on) and returns its id.
    pub(crate) async fn create_task(&self, title: &str, token: Option<&str>) -> String {
        let body = json!({"title": title, "priority": "high", "description": "d"});
        let r = self.post_json("/api/v1/tasks", token, &body).await;
        let v = json_of(r, 201, "POST /api/v1/tasks").await;
        v["id"].as_str().expect("id").to_owned()
    }

    /// Runs a request through the workflow and returns the result.
    pub(crate) async fn run(&self, request: &str, token: Option<&str>) -> Value {
        let r = self
            .post_json("/api/v1/runs", token, &json!({"request": request}))
            .await;
        json_of(r, 200, "POST /api/v1/runs").await
    }
}

/// Asserts the answer's status (naming `what`) and returns its JSON body.
pub(crate) async fn json_of(r: Response, status: u16, what: &str) -> Value {
    assert_eq!(r.status().as_u16(), status, "{what}");
    r.json()
        .await
        .unwrap_or_else(|e| panic!("{what}: the body is not JSON: {e}"))
}

/// Asserts an error answer: its status, the JSON error shape with a message, and its code;
/// `case` names the request in every message.
pub(crate) async fn assert_error(r: Response, status: u16, code: &str, case: &str) {
    assert_eq!(r.status().as_u16(), status, "{case}");
    let v: Value = r
        .json()
        .await
        .unwrap_or_else(|e| panic!("{case}: the error body is not JSON: {e}"));
    assert_eq!(v["error"]["code"], code, "{case}: {v}");
    let message = v["error"]["message"].as_str();
    assert!(message.is_some_and(|m| !m.is_empty()), "{case}: {v}");
}

pub(crate) const REVIEW_REQUEST: &str = "Create a task to review the confidential salary report";
pub(crate) const EXECUTED_REQUEST: &str = "Create a high priority task to prepare the board deck";

/// Every step of a run, in order.
pub(crate) const ALL_STEPS: [&str; 6] = [
    "guardrails",
    "planner",
    "policy",
    "task_created",
    "reviewer",
    "executor",
];
