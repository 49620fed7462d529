//! What every command starts from: the resolved settings, and the task store they point at.
//! Commands that only read open the store with [`Context::open_existing_store`], which creates
//! nothing when there is no store and says which one it looked for.

use std::sync::Arc;

use anyhow::Context as _;
use taskpilot_config::{Settings, StoreLocation};
use taskpilot_store::TaskStore;

pub(crate) struct Context {
    pub settings: Settings,
}

impl Context {
    pub(crate) fn load() -> anyhow::Result<Context> {
        let settings = Settings::from_process().context("invalid configuration")?;
        for warning in &settings.warnings {
            eprintln!("warning: {warning}");
        }
        Ok(Context { settings })
    }

    /// Opens the store the settings point at (`TASK_STORE_URL`, else `TASKS_FILE`), creating
    /// the file store on first use.
    pub(crate) async fn open_store(&self) -> anyhow::Result<Arc<dyn TaskStore>> {
        taskpilot_store::open_configured(&self.settings)
            .await
            .map_err(|e| crate::exit::store_error(e, &self.settings))
    }

    /// For commands that only read: `None` when the file store does not exist yet (nothing is
    /// created; a note on stderr names the file and why it was looked for there).
    pub(crate) async fn open_existing_store(&self) -> anyhow::Result<Option<Arc<dyn TaskStore>>> {
        if let StoreLocation::File(path) = self.settings.store_location()
            && !file_store_exists(&path)
        {
            eprintln!("{}", self.no_store_note(&path));
            return Ok(None);
        }
        self.open_store().await.map(Some)
    }

    /// "No task store at …", naming the setting and the base directory's reason.
    pub(crate) fn no_store_note(&self, path: &std::path::Path) -> String {
        let s = &self.settings;
        format!(
            "No task store at {} (TASKS_FILE, {}; base directory {}: {}); nothing was created. \
             `taskpilot tasks add` or `taskpilot run` creates it; set BASE_DIR or TASKS_FILE to \
             use another one.",
            path.display(),
            s.tasks_file.source,
            s.base_dir.value.display(),
            s.base_dir_reason
        )
    }
}

/// Whether any file of the store at `path` exists (a missing snapshot with a `.bak` or a
/// journal is a store to open and report on, not an absent one).
fn file_store_exists(path: &std::path::Path) -> bool {
    let sibling = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        std::path::PathBuf::from(name)
    };
    std::fs::symlink_metadata(path).is_ok()
        || sibling(".bak").exists()
        || sibling(".journal").exists()
}
