//! A small W3C WebDriver client for the browser tests: Debian's `chromium` driven through
//! `chromedriver` over HTTP. `tools()` finds both or reports the skip (fails under `CI=true`).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub(crate) const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub(crate) fn find_tool(name: &str) -> Option<String> {
    let path = std::env::var("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
}

pub(crate) struct Driver {
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
    pub(crate) async fn start(chromium: &str, chromedriver: &str) -> Driver {
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
        v["sessionId"]
            .as_str()
            .expect("session id")
            .clone_into(&mut driver.session);
        driver
    }

    pub(crate) async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
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

    pub(crate) async fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(json!({"url": url}))).await;
    }

    pub(crate) async fn find(&self, css: &str) -> String {
        let v = self
            .call(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v[ELEMENT].as_str().expect("element id").to_owned()
    }

    pub(crate) async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.call(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    pub(crate) async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.call("POST", &format!("/element/{e}/click"), Some(json!({})))
            .await;
    }

    /// Evaluates a JavaScript expression in the page.
    pub(crate) async fn eval(&self, expr: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": format!("return ({expr});"), "args": []})),
        )
        .await
    }

    /// Waits until the expression is truthy (10 s).
    pub(crate) async fn wait_for(&self, expr: &str) -> Value {
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

    /// Makes the page's viewport `width` CSS pixels wide (Chrome's device metrics override,
    /// through chromedriver's `DevTools` endpoint: windows have a minimum width, this has none).
    pub(crate) async fn set_width(&self, width: u32) {
        self.call(
            "POST",
            "/goog/cdp/execute",
            Some(
                json!({"cmd": "Emulation.setDeviceMetricsOverride", "params": {
                    "width": width, "height": 900, "deviceScaleFactor": 1, "mobile": false
                }}),
            ),
        )
        .await;
    }

    /// Saves a PNG of the viewport under the screenshots directory and returns its path.
    pub(crate) async fn screenshot(&self, name: &str) -> std::path::PathBuf {
        use base64::Engine as _;
        let v = self.call("GET", "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().expect("screenshot base64"))
            .expect("screenshot decodes");
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, &png).expect("write screenshot");
        assert!(png.starts_with(b"\x89PNG"), "{name} is not a PNG");
        eprintln!("screenshot: {}", path.display());
        path
    }

    /// The visible text of the page must not say "null" or "undefined" anywhere.
    pub(crate) async fn assert_no_null(&self, when: &str) {
        let body = self.eval("document.body.innerText").await;
        let body = body.as_str().unwrap_or_default().to_owned();
        assert!(!body.is_empty(), "the page is empty {when}");
        for word in ["null", "undefined", "NaN"] {
            let found = body
                .split(|c: char| !c.is_alphanumeric())
                .any(|w| w.eq_ignore_ascii_case(word));
            assert!(!found, "the page shows '{word}' {when}: {body}");
        }
    }

    /// The page must not scroll sideways.
    pub(crate) async fn assert_no_sideways_scroll(&self, when: &str) {
        let v = self
            .eval("[document.documentElement.scrollWidth, document.documentElement.clientWidth, window.innerWidth]")
            .await;
        let scroll = v[0].as_u64().expect("scrollWidth");
        let client = v[1].as_u64().expect("clientWidth");
        assert!(
            scroll <= client,
            "the page scrolls sideways {when}: scrollWidth {scroll} > clientWidth {client} ({v})"
        );
    }

    pub(crate) async fn quit(&self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
    }
}

pub(crate) fn tools() -> Option<(String, String)> {
    let (Some(chromium), Some(chromedriver)) = (find_tool("chromium"), find_tool("chromedriver"))
    else {
        taskpilot_testkit::service_missing(
            "chromium and chromedriver",
            "not installed; run scripts/install-browser",
        );
        return None;
    };
    Some((chromium, chromedriver))
}
