//! Cross-origin attacks in a real headless browser (issue 18): a page served from another
//! loopback origin tries to create tasks on an open local server with `no-cors` fetches and a
//! form post, which the browser sends without a preflight. None of them may create a task,
//! and the server's own web page still works.
//!
//! Debian's `chromium` and `chromedriver` (scripts/install-browser); without them the test
//! says so and passes, unless `CI=true`. The WebDriver client is the shared one in
//! common/webdriver.rs.

mod common;

use std::io::{BufRead, BufReader, Write};

use common::webdriver::{Driver, tools};
use common::*;
use serde_json::json;

/// The attacker's page: three cross-origin attempts to create a task on `target`, then a
/// title saying they were sent.
fn attack_page(target: &str) -> String {
    format!(
        r#"<!doctype html><html><body>
<form id="f" method="post" action="{target}/api/v1/tasks" enctype="text/plain" target="sink">
<input name='{{"title":"csrf form","priority":"high","x":"' value='"}}'></form>
<iframe name="sink"></iframe>
<script>
const body = JSON.stringify({{title: "csrf fetch", priority: "high"}});
Promise.allSettled([
  fetch("{target}/api/v1/tasks", {{method: "POST", mode: "no-cors", body}}),
  fetch("{target}/api/v1/tasks", {{method: "POST", mode: "no-cors",
    headers: {{"Content-Type": "text/plain"}}, body}}),
  fetch("{target}/api/v1/runs", {{method: "POST", mode: "no-cors",
    body: JSON.stringify({{request: "Create a high priority task to prepare the board deck"}})}}),
]).then(() => {{
  document.getElementById("f").submit();
  setTimeout(() => {{ document.title = "sent"; }}, 1500);
}});
</script></body></html>"#
    )
}

/// Serves `page` to every request on a new loopback port; the page's origin.
fn serve_page(page: String) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
            }
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{page}",
                page.len()
            );
        }
    });
    origin
}

#[tokio::test]
async fn a_page_from_another_origin_cannot_create_tasks_and_the_web_page_still_works() {
    let Some((chromium, chromedriver)) = tools() else {
        return;
    };
    // An open server: no token stands between the page and the API.
    let server = TestServer::start(None).await;
    let attacker = serve_page(attack_page(&server.base));
    let driver = Driver::start(&chromium, &chromedriver).await;
    driver.goto(&format!("{attacker}/")).await;
    driver.wait_for("document.title === 'sent'").await;

    let v = server.get_json("/api/v1/tasks", None).await;
    assert_eq!(v["count"], 0, "a cross-origin page created tasks: {v}");

    // The server's own page, same browser: a request submitted from it is run.
    driver.goto(&server.url("/ui")).await;
    driver.wait_for("document.getElementById('request')").await;
    driver
        .eval(
            "(() => { document.getElementById('request').value = \
             'Create a high priority task to prepare the board deck'; \
             document.getElementById('submit').click(); return true; })()",
        )
        .await;
    let status = driver
        .wait_for(
            "document.getElementById('outcome-status') && \
             document.getElementById('outcome-status').textContent",
        )
        .await;
    assert_eq!(status, json!("executed"));
    let v = server.get_json("/api/v1/tasks", None).await;
    assert_eq!(v["count"], 1, "{v}");
    assert_eq!(v["tasks"][0]["title"], "Prepare the board deck");
    driver.quit().await;
    server.stop().await;
}
