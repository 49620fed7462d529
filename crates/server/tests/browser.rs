//! The web page in a real headless browser: Debian's `chromium` driven through
//! `chromedriver` (W3C WebDriver over HTTP, spoken here with a small client). A person enters
//! the API token, submits a request that lands in the review queue, sees the reasons, approves
//! it from the queue, and sees it executed on the board.
//!
//! Without chromium the test reports the skip (`taskpilot_testkit::service_missing`) and
//! returns, unless `CI=true` (then it fails); `scripts/install-browser` installs it from
//! Debian's packages.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn find_tool(name: &str) -> Option<String> {
    let path = std::env::var("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
}

struct Driver {
    child: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    async fn start(chromium: &str, chromedriver: &str) -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args}
        }}});
        let mut driver = Driver {
            child,
            base,
            session: String::new(),
            http,
            _profile: profile,
        };
        let v = driver.call("POST", "/session", Some(caps)).await;
        driver.session = v["sessionId"].as_str().expect("session id").to_owned();
        driver
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = if path == "/session" {
            format!("{}{path}", self.base)
        } else {
            format!("{}/session/{}{path}", self.base, self.session)
        };
        let method: reqwest::Method = method.parse().unwrap();
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("webdriver call");
        let v: Value = r.json().await.expect("webdriver json");
        if let Some(err) = v["value"]["error"].as_str() {
            panic!("webdriver {path}: {err}: {}", v["value"]["message"]);
        }
        v.get("value").cloned().unwrap_or(Value::Null)
    }

    async fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(json!({"url": url}))).await;
    }

    async fn find(&self, css: &str) -> String {
        let v = self
            .call(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v[ELEMENT].as_str().expect("element id").to_owned()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.call(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.call("POST", &format!("/element/{e}/click"), Some(json!({})))
            .await;
    }

    /// Evaluates a JavaScript expression in the page.
    async fn eval(&self, expr: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": format!("return ({expr});"), "args": []})),
        )
        .await
    }

    /// Waits until the expression is truthy (10 s).
    async fn wait_for(&self, expr: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let v = self.eval(expr).await;
            if !(v.is_null() || v == json!(false) || v == json!("")) {
                return v;
            }
            if Instant::now() > deadline {
                let body = self.eval("document.body.innerText").await;
                panic!("timed out waiting for {expr}; page: {body}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn quit(&self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
    }
}

#[tokio::test]
async fn a_person_submits_a_request_and_approves_it_from_the_review_queue() {
    let (Some(chromium), Some(chromedriver)) = (find_tool("chromium"), find_tool("chromedriver"))
    else {
        taskpilot_testkit::service_missing(
            "chromium and chromedriver",
            "not installed; run scripts/install-browser",
        );
        return;
    };
    let server = TestServer::start(Some(TOKENS)).await;
    let driver = Driver::start(&chromium, &chromedriver).await;
    driver.goto(&server.url("/ui")).await;
    // Without a token the page asks for one.
    driver
        .wait_for("document.getElementById('auth-state').textContent === 'token needed'")
        .await;
    // An operator token cannot approve, so use the admin's for the whole journey.
    driver.type_into("#token", token_for("admin")).await;
    driver.click("#token-save").await;
    driver
        .wait_for("document.getElementById('auth-state').textContent === 'token in use'")
        .await;
    assert_eq!(
        driver
            .eval("sessionStorage.getItem('taskpilot.token')")
            .await,
        json!(token_for("admin"))
    );

    // Submit a request that needs a person.
    driver.type_into("#request", REVIEW_REQUEST).await;
    driver.click("#submit").await;
    let status = driver
        .wait_for("document.getElementById('outcome-status') && document.getElementById('outcome-status').textContent")
        .await;
    assert_eq!(status, json!("review"));
    let id = driver
        .eval("document.getElementById('outcome-task').dataset.id")
        .await;
    let id = id.as_str().expect("task id on the page").to_owned();

    // It shows up in the review queue with the reasons.
    let item = format!("#review-queue .review-item[data-id='{id}']");
    driver
        .wait_for(&format!("document.querySelector(\"{item}\")"))
        .await;
    let reasons = driver
        .eval(&format!(
            "document.querySelector(\"{item} .reasons\").innerText"
        ))
        .await;
    assert!(
        reasons.as_str().unwrap_or_default().contains("Reviewer"),
        "{reasons}"
    );

    // Approve it from the queue: it is executed and leaves the queue.
    driver
        .type_into(&format!("{item} input.reason"), "checked with HR")
        .await;
    driver.click(&format!("{item} button.approve")).await;
    driver
        .wait_for(&format!(
            "document.querySelector(\"#column-executed .task[data-id='{id}']\")"
        ))
        .await;
    driver
        .wait_for(&format!("!document.querySelector(\"{item}\")"))
        .await;
    let outcome = driver
        .eval("document.getElementById('outcome-status').textContent")
        .await;
    assert_eq!(outcome, json!("executed"));
    driver.quit().await;

    // And the API agrees.
    let v: Value = server
        .request(
            reqwest::Method::GET,
            &format!("/api/v1/tasks/{id}"),
            Some(token_for("viewer")),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "executed");
    assert!(
        v["reviewer_response"]
            .as_str()
            .unwrap_or_default()
            .contains("checked with HR")
    );
    server.stop().await;
}
