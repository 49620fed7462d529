//! A real server on a loopback port for the black-box tests: a temporary base directory,
//! the file store, the offline provider, optional tokens. Dropped: shut down and cleaned up.

#![allow(dead_code)]

pub(crate) mod webdriver;

use std::collections::HashMap;
use std::net::SocketAddr;

use taskpilot_agents::Runtime;
use taskpilot_config::Settings;
use taskpilot_server::{Tokens, bind, serve, state};
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
            serve(listener, state(runtime, tokens), async move {
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
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let r = self.client.request(method, self.url(path));
        match token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    /// Creates a manual task (admin token when tokens are on) and returns its id.
    pub(crate) async fn create_task(&self, title: &str, token: Option<&str>) -> String {
        let r = self
            .request(reqwest::Method::POST, "/api/v1/tasks", token)
            .json(&serde_json::json!({"title": title, "priority": "high", "description": "d"}))
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 201);
        let v: serde_json::Value = r.json().await.expect("json");
        v["id"].as_str().expect("id").to_owned()
    }

    /// Runs a request through the workflow and returns the result.
    pub(crate) async fn run(&self, request: &str, token: Option<&str>) -> serde_json::Value {
        let r = self
            .request(reqwest::Method::POST, "/api/v1/runs", token)
            .json(&serde_json::json!({"request": request}))
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 200);
        r.json().await.expect("json")
    }
}

/// Checks the error shape and returns the code.
pub(crate) async fn error_code(r: reqwest::Response, status: u16) -> String {
    assert_eq!(r.status().as_u16(), status);
    let v: serde_json::Value = r.json().await.expect("error body is JSON");
    let code = v["error"]["code"].as_str().expect("error.code").to_owned();
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    code
}

pub(crate) const REVIEW_REQUEST: &str = "Create a task to review the confidential salary report";
pub(crate) const EXECUTED_REQUEST: &str = "Create a high priority task to prepare the board deck";
