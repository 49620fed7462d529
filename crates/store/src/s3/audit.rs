//! The decision log and runs in the bucket, under the store's prefix beside `tasks/`:
//! - `decisions/request/<request id>/<sort key>_<decision id>.json` — one object per
//!   decision (written again unchanged if restored twice);
//! - `decisions/task/<task id>/<request id>` — an empty marker: this request touched the task;
//! - `runs/<run id>.json` — a run; replaced with `If-Match` on the ETag of the version read,
//!   and only if that version is the expected one;
//! - `runs-open/<run id>` — an empty marker while the run is queued or running (a hint for
//!   workers; a stale marker costs one read, the run itself decides);
//! - `runs-task/<task id>/<run id>` — an empty marker once a run names its task (a hint too:
//!   a run read through it counts only if it still names the task).
//!
//! Not here: the rules of a run's life (`crate::shared::RunBook`).

use async_trait::async_trait;
use futures_util::{StreamExt, TryStreamExt, stream};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};

use super::{CONCURRENCY, S3Store};
use crate::StoreError;
use crate::shared::{DecisionEntry, DecisionRecords, RunRecord, RunRecords};

impl S3Store {
    /// `<prefix>/<rest>`: beside `<prefix>/tasks`.
    fn beside(&self, rest: &str) -> Path {
        let tasks = self.tasks_dir.as_ref();
        let base = tasks
            .strip_suffix("tasks")
            .unwrap_or(tasks)
            .trim_end_matches('/');
        if base.is_empty() {
            Path::from(rest)
        } else {
            Path::from(format!("{base}/{rest}"))
        }
    }

    fn run_path(&self, run_id: &str) -> Path {
        self.beside(&format!("runs/{run_id}.json"))
    }

    /// Puts or removes the run's open marker and puts its task marker, as the run says.
    async fn mark_run(&self, run: &RunRecord, action: &str) -> Result<(), StoreError> {
        let open = self.beside(&format!("runs-open/{}", run.run_id));
        if run.status.is_done() {
            match self.store.delete(&open).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.err(action, &e)),
            }
        } else {
            self.put_marker(open, action).await?;
        }
        if let Some(task_id) = &run.task_id {
            let marker = self.beside(&format!("runs-task/{task_id}/{}", run.run_id));
            self.put_marker(marker, action).await?;
        }
        Ok(())
    }

    /// The runs stored at `keys`, in that order (a key gone meanwhile is skipped).
    async fn read_runs(&self, keys: Vec<Path>) -> Result<Vec<RunRecord>, StoreError> {
        let loaded: Vec<Option<RunRecord>> = stream::iter(keys)
            .map(|key| async move {
                match self.get_bytes(&key, "read a run").await? {
                    None => Ok(None),
                    Some((bytes, _)) => {
                        RunRecord::from_json(&String::from_utf8_lossy(&bytes)).map(Some)
                    }
                }
            })
            .buffered(CONCURRENCY)
            .try_collect()
            .await?;
        Ok(loaded.into_iter().flatten().collect())
    }

    async fn keys_under(&self, dir: &Path, action: &str) -> Result<Vec<Path>, StoreError> {
        let metas: Vec<_> = self
            .store
            .list(Some(dir))
            .try_collect()
            .await
            .map_err(|e| self.err(action, &e))?;
        let mut keys: Vec<Path> = metas.into_iter().map(|m| m.location).collect();
        keys.sort();
        Ok(keys)
    }

    async fn get_bytes(
        &self,
        path: &Path,
        action: &str,
    ) -> Result<Option<(Vec<u8>, Option<String>)>, StoreError> {
        let result = match self.store.get(path).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.err(action, &e)),
        };
        let e_tag = result.meta.e_tag.clone();
        let bytes = result.bytes().await.map_err(|e| self.err(action, &e))?;
        Ok(Some((bytes.to_vec(), e_tag)))
    }

    async fn read_entries(&self, keys: Vec<Path>) -> Result<Vec<DecisionEntry>, StoreError> {
        let loaded: Vec<Option<DecisionEntry>> = stream::iter(keys)
            .map(|key| async move {
                let Some((bytes, _)) = self.get_bytes(&key, "read a decision").await? else {
                    return Ok(None);
                };
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| self.corrupt(format!("object {key} is not a valid decision: {e}")))
            })
            .buffered(CONCURRENCY)
            .try_collect()
            .await?;
        let mut entries: Vec<DecisionEntry> = loaded.into_iter().flatten().collect();
        entries.sort_by(|a, b| (&a.sort_key, &a.decision_id).cmp(&(&b.sort_key, &b.decision_id)));
        Ok(entries)
    }

    async fn put_marker(&self, path: Path, action: &str) -> Result<(), StoreError> {
        self.store
            .put(&path, PutPayload::from_static(b""))
            .await
            .map_err(|e| self.err(action, &e))?;
        Ok(())
    }
}

#[async_trait]
impl DecisionRecords for S3Store {
    async fn append_decisions(&self, entries: &[DecisionEntry]) -> Result<(), StoreError> {
        // One after the other: a batch is a handful of decisions.
        for entry in entries {
            let group = entry
                .request_id
                .clone()
                .unwrap_or_else(|| entry.decision_id.clone());
            let json = serde_json::to_vec(entry)
                .map_err(|e| self.corrupt(format!("a decision cannot be written: {e}")))?;
            let path = self.beside(&format!(
                "decisions/request/{group}/{}_{}.json",
                entry.sort_key, entry.decision_id
            ));
            self.store
                .put(&path, PutPayload::from(json))
                .await
                .map_err(|e| self.err("record a decision", &e))?;
            if let Some(task_id) = &entry.task_id {
                let marker = self.beside(&format!("decisions/task/{task_id}/{group}"));
                self.put_marker(marker, "record a decision").await?;
            }
        }
        Ok(())
    }

    async fn decisions_for_task(&self, task_id: &str) -> Result<Vec<DecisionEntry>, StoreError> {
        let markers = self
            .keys_under(
                &self.beside(&format!("decisions/task/{task_id}")),
                "list decisions",
            )
            .await?;
        let mut keys = Vec::new();
        for marker in markers {
            let Some(group) = marker.filename() else {
                continue;
            };
            let dir = self.beside(&format!("decisions/request/{group}"));
            keys.extend(self.keys_under(&dir, "list decisions").await?);
        }
        self.read_entries(keys).await
    }

    async fn all_decisions(&self) -> Result<Vec<DecisionEntry>, StoreError> {
        let keys = self
            .keys_under(&self.beside("decisions/request"), "list decisions")
            .await?;
        self.read_entries(keys).await
    }
}

#[async_trait]
impl RunRecords for S3Store {
    async fn insert_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        if !run.status.is_done() {
            let marker = self.beside(&format!("runs-open/{}", run.run_id));
            self.put_marker(marker, "record a run").await?;
        }
        if let Some(task_id) = &run.task_id {
            let marker = self.beside(&format!("runs-task/{task_id}/{}", run.run_id));
            self.put_marker(marker, "record a run").await?;
        }
        self.store
            .put_opts(
                &self.run_path(&run.run_id),
                PutPayload::from(run.to_json()?),
                PutOptions::from(PutMode::Create),
            )
            .await
            .map_err(|e| self.err("record a run", &e))?;
        Ok(())
    }

    async fn load_run(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError> {
        match self.get_bytes(&self.run_path(run_id), "read a run").await? {
            None => Ok(None),
            Some((bytes, _)) => RunRecord::from_json(&String::from_utf8_lossy(&bytes)).map(Some),
        }
    }

    async fn replace_run(&self, run: &RunRecord, expected: u64) -> Result<bool, StoreError> {
        let path = self.run_path(&run.run_id);
        let Some((bytes, e_tag)) = self.get_bytes(&path, "read a run").await? else {
            return Ok(false);
        };
        let stored = RunRecord::from_json(&String::from_utf8_lossy(&bytes))?;
        if stored.version != expected {
            return Ok(false);
        }
        let mode = PutMode::Update(UpdateVersion {
            e_tag,
            version: None,
        });
        match self
            .store
            .put_opts(
                &path,
                PutPayload::from(run.to_json()?),
                PutOptions::from(mode),
            )
            .await
        {
            Ok(_) => {}
            Err(object_store::Error::Precondition { .. }) => return Ok(false),
            Err(e) => return Err(self.err("update a run", &e)),
        }
        if run.status.is_done() {
            let marker = self.beside(&format!("runs-open/{}", run.run_id));
            match self.store.delete(&marker).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.err("update a run", &e)),
            }
        }
        if let Some(task_id) = &run.task_id {
            let marker = self.beside(&format!("runs-task/{task_id}/{}", run.run_id));
            self.put_marker(marker, "update a run").await?;
        }
        Ok(true)
    }

    async fn put_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        // Markers first: a marker without its run costs a reader one read; a run without its
        // open marker would never be taken by a worker.
        self.mark_run(run, "copy a run").await?;
        self.store
            .put(
                &self.run_path(&run.run_id),
                PutPayload::from(run.to_json()?),
            )
            .await
            .map_err(|e| self.err("copy a run", &e))?;
        Ok(())
    }

    async fn scan_runs(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RunRecord>, StoreError> {
        let dir = self.beside("runs");
        let listed: Vec<Path> = match after {
            // S3 starts the listing after the offset (`start-after`): `runs/<after>` without
            // `.json`, below every key of a later id whatever its characters (the id filter
            // below drops `after` itself). The order is not promised, so it is sorted here.
            Some(after) => {
                let offset = self.beside(&format!("runs/{after}"));
                let metas: Vec<_> = self
                    .store
                    .list_with_offset(Some(&dir), &offset)
                    .try_collect()
                    .await
                    .map_err(|e| self.err("list runs", &e))?;
                let mut keys: Vec<Path> = metas.into_iter().map(|m| m.location).collect();
                keys.sort();
                keys
            }
            None => self.keys_under(&dir, "list runs").await?,
        };
        let keys: Vec<Path> = listed
            .into_iter()
            .filter(|key| {
                let id = key
                    .filename()
                    .map(|name| name.strip_suffix(".json").unwrap_or(name));
                after.is_none_or(|after| id.is_some_and(|id| id > after))
            })
            .take(limit)
            .collect();
        self.read_runs(keys).await
    }

    async fn runs_for_task(&self, task_id: &str) -> Result<Vec<RunRecord>, StoreError> {
        let markers = self
            .keys_under(
                &self.beside(&format!("runs-task/{task_id}")),
                "list a task's runs",
            )
            .await?;
        let keys: Vec<Path> = markers
            .iter()
            .filter_map(|m| m.filename().map(|run_id| self.run_path(run_id)))
            .collect();
        let mut runs = self.read_runs(keys).await?;
        runs.retain(|r| r.task_id.as_deref() == Some(task_id));
        Ok(runs)
    }

    async fn list_runs(&self, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        let mut keys = self.keys_under(&self.beside("runs"), "list runs").await?;
        keys.reverse();
        keys.truncate(limit);
        self.read_runs(keys).await
    }

    async fn open_run_ids(&self) -> Result<Vec<String>, StoreError> {
        let markers = self
            .keys_under(&self.beside("runs-open"), "list open runs")
            .await?;
        Ok(markers
            .iter()
            .filter_map(|m| m.filename().map(str::to_owned))
            .collect())
    }
}
