//! `taskpilot serve` as a real process: it says loudly when it is open, refuses bad token
//! configuration, and on SIGTERM in the middle of concurrent creations it finishes what it
//! acknowledged — every task that got a 2xx answer is in the store afterwards.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{http_client as client, json, serve as start, sigterm};

#[test]
fn open_server_warns_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, lines) = start(dir.path(), &[]);
    let text = lines.join("\n");
    assert!(text.contains("WARNING") && text.contains("OPEN"), "{text}");
    // The log line reached the redirected stderr as plain text, without colour escapes.
    assert!(text.contains("the API is open"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "colour escapes in a redirected stderr: {text:?}"
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        client()
            .get(format!("http://{addr}/health"))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);
    sigterm(&child);
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
}

#[test]
fn bad_token_configuration_is_refused_without_showing_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = common::taskpilot(dir.path());
    cmd.env("TASKPILOT_API_TOKENS", "very-secret-value:superuser");
    common::run_cmd(&mut cmd, &["serve", "--port", "0"])
        .failure()
        .stderr_has("superuser")
        .stderr_lacks("very-secret-value");
}

#[test]
fn tokens_from_a_file_protect_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens.txt");
    std::fs::write(&file, "# people\nfile-token-abc:viewer\n").unwrap();
    let (mut child, addr, lines) = start(
        dir.path(),
        &[("TASKPILOT_API_TOKENS_FILE", file.to_str().unwrap())],
    );
    assert!(!lines.join("\n").contains("OPEN"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (anon, viewer, create) = rt.block_on(async {
        let c = client();
        let url = format!("http://{addr}/api/v1/tasks");
        let anon = c.get(&url).send().await.unwrap().status().as_u16();
        let viewer = c
            .get(&url)
            .bearer_auth("file-token-abc")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        let create = c
            .post(&url)
            .bearer_auth("file-token-abc")
            .json(&serde_json::json!({"title": "x"}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        (anon, viewer, create)
    });
    assert_eq!((anon, viewer, create), (401, 200, 403));
    sigterm(&child);
    assert!(child.wait().unwrap().success());
    // The token is not in the log files.
    let logs = dir.path().join("logs");
    if let Ok(rd) = std::fs::read_dir(&logs) {
        for e in rd.flatten() {
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            assert!(!text.contains("file-token-abc"));
        }
    }
}

#[test]
fn sigterm_under_load_loses_no_acknowledged_task() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, _) = start(dir.path(), &[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = rt.block_on(async {
        let client = client();
        let mut handles = Vec::new();
        for c in 0..16 {
            let (client, addr, stop) = (client.clone(), addr.clone(), stop.clone());
            handles.push(tokio::spawn(async move {
                let mut ids = Vec::new();
                for n in 0..100_000 {
                    let sent = client
                        .post(format!("http://{addr}/api/v1/tasks"))
                        .json(&serde_json::json!({"title": format!("load {c}-{n}")}))
                        .timeout(Duration::from_secs(10))
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status().is_success() => {
                            let v: serde_json::Value = match r.json().await {
                                Ok(v) => v,
                                Err(_) => break,
                            };
                            ids.push(v["id"].as_str().unwrap_or_default().to_owned());
                        }
                        // Refused or reset: the server is going away.
                        _ => break,
                    }
                    if stop.load(Ordering::Relaxed) && n % 50 == 0 {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
                ids
            }));
        }
        tokio::time::sleep(Duration::from_millis(800)).await;
        sigterm(&child);
        stop.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.await.unwrap());
        }
        all
    });
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
    assert!(
        acknowledged.len() > 50,
        "only {} creations acknowledged",
        acknowledged.len()
    );
    let listed = json(
        dir.path(),
        &["tasks", "list", "--json", "--limit", "1000000"],
    );
    let stored: std::collections::HashSet<String> = listed
        .as_array()
        .or_else(|| listed["tasks"].as_array())
        .expect("a list")
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !stored.contains(*id))
        .collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged tasks lost: {lost:?}",
        lost.len()
    );
}
