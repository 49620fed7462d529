//! The route listing a client sees: `GET /` names exactly the operations `/openapi.json`
//! documents (both come from the route table; the table's own tests hold openapi.rs to it).

mod common;

use std::collections::BTreeSet;

use common::*;
use reqwest::Method;
use serde_json::Value;

#[tokio::test]
async fn index_lists_what_openapi_documents() {
    let s = TestServer::start(Some(TOKENS)).await;
    let get = |path: &'static str| {
        let r = s.request(Method::GET, path, None).send();
        async move { r.await.unwrap().json::<Value>().await.unwrap() }
    };
    let index = get("/").await;
    let listed: BTreeSet<String> = index["endpoints"]
        .as_array()
        .expect("endpoints is a list")
        .iter()
        .map(|e| e.as_str().expect("METHOD path").to_owned())
        .collect();
    let doc = get("/openapi.json").await;
    let mut documented = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for method in ops.as_object().expect("operations").keys() {
            documented.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    assert_eq!(documented.len(), 19);
    assert_eq!(listed, documented);
    assert!(listed.contains("DELETE /api/v1/tasks/{id}"));
    s.stop().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_need_a_token() {
    let s = TestServer::start(Some(TOKENS)).await;
    for (method, path) in [
        (Method::GET, "/api/v1/nothing"),
        (Method::PUT, "/api/v1/tasks"),
    ] {
        let r = s.request(method.clone(), path, None).send().await.unwrap();
        assert_eq!(error_code(r, 401).await, "unauthorized", "{method} {path}");
    }
    let viewer = Some(token_for("viewer"));
    let r = s
        .request(Method::GET, "/api/v1/nothing", viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r, 404).await, "not_found");
    let r = s
        .request(Method::PUT, "/api/v1/tasks", viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r, 405).await, "method_not_allowed");
    s.stop().await;
}
