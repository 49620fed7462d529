//! A scratch base directory for in-process benchmarks: removed when dropped, with settings that
//! keep every file inside it and use the offline provider; and a "replica" (a runtime of its
//! own on a shared store) built from one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use taskpilot_agents::Runtime;
use taskpilot_config::Settings;

/// A directory removed when dropped.
pub(super) struct ScratchDir(PathBuf);

impl ScratchDir {
    pub(super) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh `taskpilot-bench-<name>-…` directory under the system temp dir and the settings of a
/// base directory there (offline provider, logs inside it).
pub(super) fn offline_scratch(name: &str) -> anyhow::Result<(ScratchDir, Settings)> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = ScratchDir(std::env::temp_dir().join(format!(
        "taskpilot-bench-{name}-{}-{nanos}",
        std::process::id()
    )));
    std::fs::create_dir_all(dir.path())?;
    let env: HashMap<String, String> = [
        ("BASE_DIR", dir.path().display().to_string()),
        ("LLM_PROVIDER", "offline".to_owned()),
        ("LOGS_DIR", dir.path().join("logs").display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let settings = Settings::resolve(&env, dir.path())?;
    Ok((dir, settings))
}

/// A replica on the store at `url`: a runtime of its own (its own pool or handle on the store)
/// with its own scratch base directory for local files, the offline provider and `extra`
/// settings (e.g. `NOTIFY_WEBHOOK_URL`).
pub(super) async fn replica(
    url: &str,
    name: &str,
    extra: &[(&str, &str)],
) -> anyhow::Result<(ScratchDir, Runtime)> {
    let (scratch, _) = offline_scratch(name)?;
    let mut env: HashMap<String, String> = [
        ("BASE_DIR", scratch.path().display().to_string()),
        ("LLM_PROVIDER", "offline".to_owned()),
        (
            "LOGS_DIR",
            scratch.path().join("logs").display().to_string(),
        ),
        ("TASK_STORE_URL", url.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let settings = Settings::resolve(&env, scratch.path())?;
    let runtime = Runtime::from_settings(&settings).await?;
    Ok((scratch, runtime))
}
