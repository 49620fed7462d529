//! Property-based fuzzing (proptest, a fixed number of cases so CI time is bounded) of the
//! three readers of untrusted files (issue 18): the `.env` parser, the task-file loader and the
//! journal reader. Arbitrary bytes must give an error or a result, never a panic or a hang;
//! well-formed input must read back as written. The loader and journal reader are reached
//! through the store's public API (`taskpilot_store::open` on a `.tasks.json` with a
//! `.tasks.json.journal` beside it).
//!
//! `PROPTEST_CASES` raises the case count for a longer local run.

use std::collections::HashMap;
use std::path::Path;

use proptest::prelude::*;
use taskpilot_config::StoreLocation;
use taskpilot_config::dotenv;
use taskpilot_core::{NewTask, Task, TaskId, Timestamp};

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(128);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn no_env() -> HashMap<String, String> {
    HashMap::new()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn dotenv_never_panics(text in "(?s).{0,400}") {
        let _ = dotenv::parse(&text, Path::new("/fuzz/.env"), &no_env());
    }

    #[test]
    fn dotenv_lines_of_any_printable_text_never_panic(
        lines in proptest::collection::vec("[ -~]{0,60}", 0..12)
    ) {
        let _ = dotenv::parse(&lines.join("\n"), Path::new("/fuzz/.env"), &no_env());
    }

    #[test]
    fn dotenv_plain_values_read_back_with_double_dollars_halved(
        name in "[A-Z][A-Z0-9_]{0,12}",
        value in "[A-Za-z0-9_./:@$%+-]{0,40}",
    ) {
        let value = value.replace("${", "$");
        let parsed = dotenv::parse(&format!("{name}={value}\n"), Path::new("/fuzz/.env"), &no_env())
            .expect("a plain value parses");
        prop_assert_eq!(parsed.vars.get(&name), Some(&value.replace("$$", "$")));
        prop_assert!(parsed.warnings.is_empty());
    }

    #[test]
    fn dotenv_single_quoted_values_are_literal(
        name in "[A-Z][A-Z0-9_]{0,12}",
        value in "[A-Za-z0-9 _./:@${}#\"%+-]{0,40}",
    ) {
        let parsed = dotenv::parse(&format!("{name}='{value}'\n"), Path::new("/fuzz/.env"), &no_env())
            .expect("a single-quoted value parses");
        prop_assert_eq!(parsed.vars.get(&name), Some(&value));
    }

    #[test]
    fn the_task_file_loader_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".tasks.json");
        std::fs::write(&file, &bytes).unwrap();
        open_and_read(&file);
    }

    #[test]
    fn the_task_file_loader_never_panics_on_json_like_text(text in r#"[\[\]{}":,0-9a-z_ .-]{0,300}"#) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".tasks.json");
        std::fs::write(&file, text).unwrap();
        open_and_read(&file);
    }

    #[test]
    fn the_journal_reader_never_panics_and_keeps_valid_records(
        titles in proptest::collection::vec("[A-Za-z][A-Za-z ]{0,20}", 1..6),
        junk in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 0..4),
        torn in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".tasks.json");
        taskpilot_store::write_seed_file(&file, std::iter::empty::<&Task>()).unwrap();
        let tasks: Vec<Task> = titles
            .iter()
            .enumerate()
            .map(|(i, t)| task(i, t))
            .collect();
        let mut journal = Vec::new();
        for t in &tasks {
            journal.extend(serde_json::to_vec(&serde_json::json!({"put": t})).unwrap());
            journal.push(b'\n');
        }
        for line in &junk {
            journal.extend(line.iter().filter(|b| **b != b'\n'));
            journal.push(b'\n');
        }
        journal.extend(torn.iter().filter(|b| **b != b'\n'));
        std::fs::write(dir.path().join(".tasks.json.journal"), &journal).unwrap();
        if let Some(listed) = open_and_read(&file) {
            // Whatever else the junk did, every valid record before it is there.
            let ids: Vec<&str> = listed.iter().map(|t| t.id.as_str()).collect();
            for t in &tasks {
                prop_assert!(ids.contains(&t.id.as_str()), "{} missing from {:?}", t.id, ids);
            }
        }
    }
}

fn task(i: usize, title: &str) -> Task {
    let id = TaskId::parse(&format!("task_20260101_000000_{i:06}")).unwrap();
    let now = Timestamp::parse("2026-01-01T00:00:00.000000").unwrap();
    NewTask::new(title.to_owned(), "low")
        .into_task(id, now)
        .unwrap()
}

/// Opens the file store on `file` and reads every task; `None` when opening or reading fails
/// (a clean error is an acceptable answer to garbage). Listed tasks must be valid.
fn open_and_read(file: &Path) -> Option<Vec<Task>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = taskpilot_store::open(&StoreLocation::File(file.to_owned()))
            .await
            .ok()?;
        let _ = store.check().await;
        let tasks = store.scan(None, 10_000).await.ok()?;
        for t in &tasks {
            assert!(t.validate().is_ok(), "an invalid task was loaded: {t:?}");
        }
        Some(tasks)
    })
}
