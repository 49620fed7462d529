//! The reference fixture for tests and benchmarks: the 3,689 tasks the Python TaskPilot wrote
//! (`../shared/fixtures/reference-tasks.json`, beside the checkout), or — on a fresh clone
//! without it — a generated file of the same shape and status counts. With `CI=true` the real
//! file must be present.
//!
//! The checkout is found when the program runs (from `CARGO_MANIFEST_DIR`, which cargo sets
//! for tests and `cargo run`, else the working directory), so no build machine's path is
//! compiled into a binary.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// Status counts of the reference fixture.
pub const REFERENCE_COUNTS: [(&str, usize); 4] = [
    ("rejected", 2060),
    ("executed", 1006),
    ("review", 436),
    ("pending", 187),
];

/// The real fixture if it is beside the checkout, else a generated one in the temp directory.
///
/// # Panics
/// When `CI=true` and the real fixture is missing, or the generated one cannot be written.
pub fn reference_fixture() -> PathBuf {
    let candidates = real_fixture_candidates();
    if let Some(real) = candidates.iter().find(|p| p.exists()) {
        return real.clone();
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but the reference fixture is missing (looked at {})",
        candidates
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let path = std::env::temp_dir().join(format!(
        "taskpilot-generated-fixture-{}.json",
        std::process::id()
    ));
    if !path.exists() {
        let bytes = serde_json::to_vec_pretty(&generated()).unwrap_or_default();
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, bytes)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
    path
}

/// Where the real fixture may be: beside the checkout of the crate being tested or run, or
/// beside the working directory's checkout.
fn real_fixture_candidates() -> Vec<PathBuf> {
    let beside = Path::new("../shared/fixtures/reference-tasks.json");
    let mut candidates = Vec::new();
    if let Some(manifest) = std::env::var_os("CARGO_MANIFEST_DIR") {
        // <checkout>/crates/<crate> → <checkout>/../shared/…
        candidates.push(Path::new(&manifest).join("../..").join(beside));
    }
    if let Ok(cwd) = std::env::current_dir() {
        candidates.push(cwd.join(beside));
    }
    candidates
}

/// A seed-format object with the fixture's size, status counts and null fields.
fn generated() -> Value {
    let mut map = serde_json::Map::new();
    let mut n = 0u64;
    for (status, count) in REFERENCE_COUNTS {
        for _ in 0..count {
            let id = format!(
                "task_20251220_{:06}_{:06}",
                100_000 + n / 1_000_000,
                n % 1_000_000
            );
            let reviewed = if status == "pending" {
                Value::Null
            } else {
                json!("2025-12-20T10:29:14.791006")
            };
            let executed = if status == "executed" {
                json!("2025-12-20T10:56:14.474349")
            } else {
                Value::Null
            };
            map.insert(
                id.clone(),
                json!({
                    "id": id,
                    "title": format!("Generated task {n}"),
                    "priority": if n.is_multiple_of(2) { "high" } else { "medium" },
                    "description": "",
                    "status": status,
                    "created_at": "2025-12-20T10:04:04.305998",
                    "reviewed_at": reviewed,
                    "executed_at": executed,
                    "reviewer_response": null,
                    "error": null
                }),
            );
            n += 1;
        }
    }
    Value::Object(map)
}
