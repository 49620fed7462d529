//! Every role against every protected route, table-driven: allowed means the route's own
//! answer (never 401/403), refused means 403; no or a wrong token is 401 everywhere except
//! the open routes. Tokens never show up in the server's answers.

mod common;

use common::*;
use reqwest::{Method, Response};
use serde_json::json;

const ROLES: [&str; 4] = ["viewer", "operator", "reviewer", "admin"];

/// (method, path template, which roles may call it). `{id}` is replaced by a fresh task.
const ROUTES: &[(&str, &str, &[&str])] = &[
    ("GET", "/api/v1/tasks", &ROLES),
    ("GET", "/api/v1/tasks/{id}", &ROLES),
    ("GET", "/api/v1/tasks/{id}/decisions", &ROLES),
    ("GET", "/api/v1/tasks/{id}/history", &ROLES),
    ("GET", "/api/v1/runs", &ROLES),
    ("GET", "/api/v1/stats", &ROLES),
    ("GET", "/golden-signals", &ROLES),
    ("GET", "/cost-report", &ROLES),
    ("POST", "/api/v1/runs", &["operator", "admin"]),
    ("POST", "/api/v1/tasks", &["operator", "admin"]),
    ("POST", "/api/v1/tasks/{id}/approve", &["reviewer", "admin"]),
    ("POST", "/api/v1/tasks/{id}/reject", &["reviewer", "admin"]),
    ("DELETE", "/api/v1/tasks/{id}", &["admin"]),
];

const OPEN: &[&str] = &[
    "/",
    "/health",
    "/metrics",
    "/openapi.json",
    "/ui",
    "/ui/app.js",
    "/ui/app.css",
    "/ui/icon.svg",
    "/favicon.ico",
];

/// `method path` with `token`; a POST carries the body its route takes.
async fn call(s: &TestServer, method: &Method, path: &str, token: Option<&str>) -> Response {
    if *method != Method::POST {
        return s.send(method.clone(), path, token).await;
    }
    let body = if path.ends_with("/runs") {
        json!({"request": "Create a low priority task to water the plants"})
    } else if path.ends_with("/tasks") {
        json!({"title": "role test", "priority": "low"})
    } else {
        json!({"reason": "role test"})
    };
    s.post_json(path, token, &body).await
}

#[tokio::test]
async fn every_role_against_every_protected_route() {
    let s = TestServer::start(Some(TOKENS)).await;
    for (method, template, allowed) in ROUTES {
        for role in ROLES {
            let id = s.create_task("subject", Some(token_for("admin"))).await;
            let path = template.replace("{id}", &id);
            let method: Method = method.parse().unwrap();
            let r = call(&s, &method, &path, Some(token_for(role))).await;
            let status = r.status().as_u16();
            if allowed.contains(&role) {
                assert!(
                    (200..300).contains(&status),
                    "{role} {method} {path}: expected success, got {status}"
                );
            } else {
                assert_error(r, 403, "forbidden", &format!("{role} {method} {path}")).await;
            }
        }
    }
    s.stop().await;
}

#[tokio::test]
async fn missing_or_wrong_tokens_are_401() {
    let s = TestServer::start(Some(TOKENS)).await;
    let id = s.create_task("subject", Some(token_for("admin"))).await;
    for (method, template, _) in ROUTES {
        let path = template.replace("{id}", &id);
        let method: Method = method.parse().unwrap();
        for token in [None, Some("wrong-token"), Some("view-token-12"), Some("")] {
            let r = call(&s, &method, &path, token).await;
            assert!(r.headers().contains_key("www-authenticate"));
            let text = r.text().await.unwrap();
            assert!(
                text.contains("unauthorized"),
                "{method} {path} {token:?}: {text}"
            );
            for (_, t) in [("v", "view-token-123"), ("a", "admin-token-000")] {
                assert!(!text.contains(t));
            }
        }
        // Basic auth is not a bearer token.
        let r = s
            .client
            .request(method.clone(), s.url(&path))
            .basic_auth("admin", Some("admin-token-000"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    for path in OPEN {
        let r = s.send(Method::GET, path, None).await;
        assert_eq!(r.status(), 200, "{path} is open");
    }
    s.stop().await;
}

#[tokio::test]
async fn open_server_allows_everything_and_says_so() {
    let s = TestServer::start(None).await;
    let v = s.get_json("/", None).await;
    assert!(v["auth"].as_str().unwrap().starts_with("open"));
    let id = s.create_task("open", None).await;
    let r = s
        .send(Method::DELETE, &format!("/api/v1/tasks/{id}"), None)
        .await;
    assert_eq!(r.status(), 200);
    s.stop().await;
}

#[tokio::test]
async fn decisions_name_the_caller_not_the_token() {
    let mut s = TestServer::start(Some(TOKENS)).await;
    let v = s.run(EXECUTED_REQUEST, Some(token_for("operator"))).await;
    let users: Vec<&str> = v["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["user_id"].as_str())
        .collect();
    // Every decision of the run names the caller (and only the offline run's decisions).
    assert_eq!(users, vec!["operator#1"; 20]);
    let _ = s
        .send(Method::GET, "/api/v1/tasks", Some("not-a-real-token-xyz"))
        .await;
    s.shutdown().await;
    // No token anywhere on disk (logs, decisions, traces, metrics).
    let files = walk(s.dir.path().to_path_buf());
    assert!(!files.is_empty());
    for file in files {
        let bytes = std::fs::read(&file).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        for token in ["op-token-456", "admin-token-000", "not-a-real-token-xyz"] {
            assert!(!text.contains(token), "{} contains a token", file.display());
        }
    }
}

fn walk(dir: std::path::PathBuf) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
