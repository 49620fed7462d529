//! The route listing a client sees: `GET /` names exactly the operations `/openapi.json`
//! documents (both come from the route table; the table's own tests hold openapi.rs to it).

mod common;

use std::collections::BTreeSet;

use common::*;
use reqwest::Method;

#[tokio::test]
async fn index_lists_what_openapi_documents() {
    let s = TestServer::start(Some(TOKENS)).await;
    let index = s.get_json("/", None).await;
    let listed: BTreeSet<String> = index["endpoints"]
        .as_array()
        .expect("endpoints is a list")
        .iter()
        .map(|e| e.as_str().expect("METHOD path").to_owned())
        .collect();
    let doc = s.get_json("/openapi.json", None).await;
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
    let viewer = Some(token_for("viewer"));
    for (method, path, token, status, code) in [
        (Method::GET, "/api/v1/nothing", None, 401, "unauthorized"),
        (Method::PUT, "/api/v1/tasks", None, 401, "unauthorized"),
        (Method::GET, "/api/v1/nothing", viewer, 404, "not_found"),
        (
            Method::PUT,
            "/api/v1/tasks",
            viewer,
            405,
            "method_not_allowed",
        ),
    ] {
        let case = format!("{method} {path} with {token:?}");
        assert_error(s.send(method, path, token).await, status, code, &case).await;
    }
    s.stop().await;
}
