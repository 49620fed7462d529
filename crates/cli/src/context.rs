//! What every command starts from: the resolved settings, and the task store they point at.

use std::sync::Arc;

use anyhow::Context as _;
use taskpilot_config::Settings;
use taskpilot_store::TaskStore;

pub struct Context {
    pub settings: Settings,
}

impl Context {
    pub fn load() -> anyhow::Result<Context> {
        let settings = Settings::from_process().context("invalid configuration")?;
        Ok(Context { settings })
    }

    /// Opens the store the settings point at (`TASK_STORE_URL`, else `TASKS_FILE`).
    pub async fn open_store(&self) -> anyhow::Result<Arc<dyn TaskStore>> {
        taskpilot_store::open_configured(&self.settings)
            .await
            .map_err(|e| crate::exit::store_error(e, &self.settings))
    }
}
