//! Secure by default, through the real binary (issue 18): where `serve` listens without
//! tokens, token configurations that hold no token or give one token two roles, `$` in `.env`,
//! an `ENV_FILE_PATH` that does not exist, `run --file /dev/zero`, and reasons and titles with
//! invisible or control characters.

mod common;

use std::time::Duration;

use common::{add_args, json, run, run_cmd, serve_with, sigterm, taskpilot};

/// Starts `taskpilot serve --port 0 args…` with `envs`; the stderr lines up to "serving on",
/// and the address. The server is stopped before returning.
fn serve_lines(
    base: &std::path::Path,
    envs: &[(&str, &str)],
    args: &[&str],
) -> (Vec<String>, String) {
    let (mut child, addr, seen) = serve_with(base, envs, &[&["--port", "0"][..], args].concat());
    sigterm(&child);
    let _ = child.wait();
    (seen, addr)
}

#[test]
fn without_tokens_the_server_listens_on_loopback_only_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    // HOST defaults to 0.0.0.0; with no token the server moves to 127.0.0.1.
    let (lines, addr) = serve_lines(dir.path(), &[], &[]);
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    let text = lines.join("\n");
    assert!(text.contains("instead of HOST=0.0.0.0"), "{text}");
    // An explicit non-loopback --host without tokens is refused.
    run_cmd(
        taskpilot(dir.path()).timeout(Duration::from_mins(1)),
        &["serve", "--host", "0.0.0.0", "--port", "0"],
    )
    .code(2)
    .stderr_has("refusing to serve an API without tokens on 0.0.0.0")
    .stderr_has("--allow-open");
    // --allow-open serves where asked, and says it is open.
    let (lines, addr) = serve_lines(dir.path(), &[], &["--host", "0.0.0.0", "--allow-open"]);
    assert!(addr.starts_with("0.0.0.0:"), "{addr}");
    assert!(lines.join("\n").contains("OPEN"), "{lines:?}");
    // With tokens the network address is used.
    let (_, addr) = serve_lines(
        dir.path(),
        &[("TASKPILOT_API_TOKENS", "tok-abcdef:admin")],
        &[],
    );
    assert!(addr.starts_with("0.0.0.0:"), "{addr}");
}

#[test]
fn a_token_configuration_without_tokens_or_with_two_roles_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    let comments = dir.path().join("comments.txt");
    std::fs::write(&comments, "# nobody yet\n\n   # still nobody\n").unwrap();
    let cases: Vec<(&str, String, String)> = vec![
        ("TASKPILOT_API_TOKENS", " , ".to_owned(), "TASKPILOT_API_TOKENS is set but holds no token".to_owned()),
        (
            "TASKPILOT_API_TOKENS_FILE",
            empty.display().to_string(),
            format!("TASKPILOT_API_TOKENS_FILE {} is set but holds no token", empty.display()),
        ),
        (
            "TASKPILOT_API_TOKENS_FILE",
            comments.display().to_string(),
            format!("TASKPILOT_API_TOKENS_FILE {} is set but holds no token", comments.display()),
        ),
        (
            "TASKPILOT_API_TOKENS",
            "same-token-1:viewer,same-token-1:admin".to_owned(),
            "TASKPILOT_API_TOKENS entry 2 repeats the token of an earlier entry with the role 'viewer'".to_owned(),
        ),
    ];
    assert_eq!(cases.len(), 4);
    for (name, value, expected) in cases {
        let out = run_cmd(
            taskpilot(dir.path())
                .env(name, &value)
                .timeout(Duration::from_mins(1)),
            &["serve", "--host", "127.0.0.1", "--port", "0"],
        );
        assert_eq!(out.code, Some(2), "{name}={value:?}");
        let err = out.stderr;
        assert!(err.contains(&expected), "{name}={value:?}: {err}");
        assert!(!err.contains("same-token-1"), "{err}");
    }
}

#[test]
fn dotenv_expands_only_braced_names() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "OPENAI_MODEL_ID=gpt$ecret$$x\nOTEL_SERVICE_NAME=svc-${HOME}\nKIBANA_URL=http://${NO_SUCH_NAME_X}:5601\n",
    )
    .unwrap();
    let out = run_cmd(
        taskpilot(dir.path()).env("HOME", "/home/tp"),
        &["config", "--json"],
    )
    .success()
    .stderr_has("warning:")
    .stderr_has("${NO_SUCH_NAME_X}");
    let v = out.json();
    assert_eq!(v["openai_model_id"]["value"], "gpt$ecret$x");
    assert_eq!(v["otel_service_name"]["value"], "svc-/home/tp");
    assert_eq!(v["kibana_url"]["value"], "http://:5601");
}

#[test]
fn an_explicit_env_file_that_does_not_exist_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("prod.env");
    let expected = format!(
        "ENV_FILE_PATH={}: the file does not exist",
        missing.display()
    );
    run_cmd(
        taskpilot(dir.path()).env("ENV_FILE_PATH", &missing),
        &["config"],
    )
    .code(2)
    .stderr_has(&expected);
}

#[test]
fn run_file_refuses_endless_lines() {
    let dir = tempfile::tempdir().unwrap();
    run_cmd(
        taskpilot(dir.path()).timeout(Duration::from_mins(1)),
        &["run", "--file", "/dev/zero"],
    )
    .code(2)
    .stderr_has("--file /dev/zero line 1 is longer than 16384 bytes");
}

#[test]
fn reasons_and_titles_with_invisible_or_control_characters_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    for (title, cp) in [
        ("\u{200B}\u{200B}", "U+200B"),
        ("invoice \u{202E}fdp.exe", "U+202E"),
    ] {
        run(base, &add_args(title, "low"))
            .code(2)
            .stderr_has("title")
            .stderr_has(cp);
    }
    let id = common::add(base, "decide me", "low");
    for (reason, expected) in [
        ("ok \u{1b}[2J", "U+001B".to_owned()),
        ("ok \u{2066}hidden", "U+2066".to_owned()),
        (&*"r".repeat(2_001), "the limit is 2000".to_owned()),
    ] {
        run(base, &["tasks", "reject", &id, "--reason", reason])
            .code(2)
            .stderr_has("reason")
            .stderr_has(&expected);
    }
    let task = json(base, &["tasks", "show", &id, "--json"]);
    assert_eq!(task["status"], "pending");
    run(
        base,
        &["tasks", "reject", &id, "--reason", &"r".repeat(2_000)],
    )
    .success();
}
