//! The S3-compatible object storage backend (`s3://bucket/prefix`) on the `object_store` crate:
//! AWS S3, MinIO, Cloudflare R2 and any other service with conditional writes.
//!
//! Layout: one JSON object per task, `<prefix>/tasks/<id>.json`, holding the task exactly as
//! the seed file would (extra fields kept). There is no index: ids sort by creation time, so
//! listing the keys (S3 returns them in key order, 1,000 per request) gives the order.
//!
//! Concurrency rests on the service's conditional writes (docs/STORAGE.md "S3-compatible
//! object storage"):
//! - insert: `PUT` with `If-None-Match: *`;
//! - conditional write: `PUT` with `If-Match: <etag>` of the `GET` it follows; `412
//!   Precondition Failed` means someone else wrote first. Ids, transitions and `put_many` are
//!   built on these in `occ.rs`.
//!
//! Configuration comes from the standard variables (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`/`AWS_DEFAULT_REGION`,
//! `AWS_ENDPOINT_URL` for other services, `AWS_ALLOW_HTTP=true` for a plain-HTTP local server,
//! `AWS_VIRTUAL_HOSTED_STYLE_REQUEST`; path-style requests are the default), which the
//! settings collect from the environment and `.env` and hand over
//! ([`S3Store::open_with_variables`]); this module reads no environment. Errors name the bucket
//! and endpoint, never a secret.
//!
//! Not here: creating buckets or lifecycle rules (the operator's job).

mod audit;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::{StreamExt, TryStreamExt, stream};
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path;
use object_store::{
    BackoffConfig, ClientConfigKey, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload,
    RetryConfig, UpdateVersion,
};
use taskpilot_core::{NewTask, Status, Task, TaskId, Transition};

use crate::occ::{self, Cas, Primitives};
use crate::{CheckReport, ListQuery, Stats, StoreError, TaskStore};

const BACKEND: &str = "s3";
/// Requests in flight at once when reading or writing many objects.
const CONCURRENCY: usize = 32;

/// A task store in an S3 bucket.
pub struct S3Store {
    store: Arc<AmazonS3>,
    /// `s3://bucket/prefix (endpoint …)`, for messages.
    shown: String,
    /// `<prefix>/tasks`.
    tasks_dir: Path,
    /// Secrets given to the builder, removed from any error text.
    secrets: Vec<String>,
}

impl S3Store {
    /// Opens `s3://bucket/prefix` with the `AWS_*` variables of the settings (unknown ones
    /// are ignored, as `object_store` does), and checks that the bucket can be listed.
    pub async fn open_with_variables(
        url: &str,
        variables: &[(String, taskpilot_config::Secret)],
    ) -> Result<S3Store, StoreError> {
        let options: Vec<(String, &str)> = variables
            .iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value.expose()))
            .filter(|(name, _)| name.parse::<AmazonS3ConfigKey>().is_ok())
            .collect();
        let options: Vec<(&str, &str)> = options.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        Self::open_with(url, &options).await
    }

    /// Opens `s3://bucket/prefix` with builder options (`aws_endpoint`, `aws_access_key_id`,
    /// `aws_allow_http`, …, the names `object_store` knows), and checks that the bucket can be
    /// listed.
    pub async fn open_with(url: &str, options: &[(&str, &str)]) -> Result<S3Store, StoreError> {
        // reqwest is built without a default TLS provider.
        taskpilot_plumbing::tls::install_crypto_provider();

        let redacted = taskpilot_config::redact_url(url);
        let unsupported = |reason: String| StoreError::Unsupported {
            url: redacted.clone(),
            reason,
        };
        let parsed = crate::location::parse(url, "s3://bucket/prefix")?;
        if parsed.scheme() != "s3" {
            return Err(unsupported("expected s3://bucket/prefix".into()));
        }
        let bucket = parsed.host_str().unwrap_or_default();
        let prefix = parsed.path();
        if bucket.is_empty() {
            return Err(unsupported(
                "the bucket name is missing: s3://bucket/prefix".into(),
            ));
        }

        let mut builder = AmazonS3Builder::new().with_bucket_name(bucket);
        let mut secrets: Vec<String> = Vec::new();
        for (key, value) in options {
            let key: AmazonS3ConfigKey = key
                .parse()
                .map_err(|e| unsupported(format!("unknown S3 option {key}: {e}")))?;
            if matches!(
                key,
                AmazonS3ConfigKey::SecretAccessKey | AmazonS3ConfigKey::Token
            ) {
                secrets.push((*value).to_owned());
            }
            builder = builder.with_config(key, *value);
        }
        secrets.retain(|s| s.len() >= 4);
        if builder
            .get_config_value(&AmazonS3ConfigKey::Region)
            .is_none()
        {
            let region = builder
                .get_config_value(&AmazonS3ConfigKey::DefaultRegion)
                .unwrap_or_else(|| "us-east-1".to_owned());
            builder = builder.with_config(AmazonS3ConfigKey::Region, region);
        }
        let endpoint = builder
            .get_config_value(&AmazonS3ConfigKey::Endpoint)
            .unwrap_or_else(|| {
                let region = builder
                    .get_config_value(&AmazonS3ConfigKey::Region)
                    .unwrap_or_default();
                format!("https://s3.{region}.amazonaws.com")
            });
        let shown = format!("{redacted} (endpoint {endpoint})");
        let builder = builder
            .with_config(
                AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout),
                "5s",
            )
            .with_config(AmazonS3ConfigKey::Client(ClientConfigKey::Timeout), "30s")
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(50),
                    max_backoff: Duration::from_secs(2),
                    base: 2.0,
                },
                max_retries: 4,
                retry_timeout: Duration::from_secs(20),
            });
        let store = builder.build().map_err(|e| StoreError::Backend {
            backend: BACKEND,
            url: shown.clone(),
            message: format!(
                "cannot configure the S3 client: {}",
                scrub(&e.to_string(), &secrets)
            ),
        })?;
        let mut dir: Vec<String> = prefix
            .split('/')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        dir.push("tasks".into());
        let s3 = S3Store {
            store: Arc::new(store),
            shown,
            tasks_dir: Path::from_iter(dir),
            secrets,
        };
        // One LIST request: a missing bucket or bad credentials show up now, not later.
        s3.store
            .list_with_delimiter(Some(&s3.tasks_dir))
            .await
            .map_err(|e| s3.err("list the bucket", &e))?;
        Ok(s3)
    }

    fn err(&self, action: &str, e: &object_store::Error) -> StoreError {
        let text = scrub(&e.to_string(), &self.secrets);
        let hint = if text.contains("NoSuchBucket") || text.contains("bucket does not exist") {
            Some(
                "the bucket does not exist at this endpoint: create it, or fix the bucket name in TASK_STORE_URL or AWS_ENDPOINT_URL",
            )
        } else if matches!(
            e,
            object_store::Error::PermissionDenied { .. }
                | object_store::Error::Unauthenticated { .. }
        ) || text.contains("InvalidAccessKeyId")
            || text.contains("SignatureDoesNotMatch")
            || text.contains("AccessDenied")
            || text.contains("403")
        {
            Some(
                "access denied: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY and the bucket's policy",
            )
        } else if text.contains("error sending request")
            || text.contains("Connection refused")
            || text.contains("connect")
        {
            Some(
                "the endpoint cannot be reached; check AWS_ENDPOINT_URL (and AWS_ALLOW_HTTP=true for http://)",
            )
        } else {
            None
        };
        let mut message = format!("cannot {action}: {text}");
        if let Some(hint) = hint {
            message.push_str(&format!(" ({hint})"));
        }
        StoreError::Backend {
            backend: BACKEND,
            url: self.shown.clone(),
            message,
        }
    }

    fn corrupt(&self, problem: String) -> StoreError {
        StoreError::Corrupt {
            message: format!(
                "s3 store at {}: {problem}; `taskpilot store check` lists every bad object",
                self.shown
            ),
        }
    }

    fn path(&self, id: &str) -> Path {
        self.tasks_dir.clone().join(format!("{id}.json"))
    }

    /// The task's body and ETag, or None when there is no such object.
    async fn read(&self, id: &TaskId) -> Result<Option<(Task, Option<String>)>, StoreError> {
        let path = self.path(id.as_str());
        let result = match self.store.get(&path).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.err("read a task", &e)),
        };
        let e_tag = result.meta.e_tag.clone();
        let bytes = result
            .bytes()
            .await
            .map_err(|e| self.err("read a task", &e))?;
        let task: Task = serde_json::from_slice(&bytes)
            .map_err(|e| self.corrupt(format!("object {path} is not a valid task: {e}")))?;
        Ok(Some((task, e_tag)))
    }

    /// Every task id, oldest first (objects not named `<id>.json` are skipped).
    async fn ids(&self) -> Result<Vec<TaskId>, StoreError> {
        let (mut ids, _) = self.listing().await?;
        ids.sort();
        Ok(ids)
    }

    /// Ids of the objects under the tasks prefix, and the keys that are not task objects.
    async fn listing(&self) -> Result<(Vec<TaskId>, Vec<String>), StoreError> {
        let metas: Vec<_> = self
            .store
            .list(Some(&self.tasks_dir))
            .try_collect()
            .await
            .map_err(|e| self.err("list the tasks", &e))?;
        let mut ids = Vec::with_capacity(metas.len());
        let mut strays = Vec::new();
        for meta in metas {
            let id = meta
                .location
                .filename()
                .and_then(|f| f.strip_suffix(".json"))
                .and_then(|f| TaskId::parse(f).ok());
            match id {
                Some(id) if meta.location == self.path(id.as_str()) => ids.push(id),
                _ => strays.push(meta.location.to_string()),
            }
        }
        Ok((ids, strays))
    }

    /// The tasks with these ids, in the same order; objects deleted meanwhile are skipped.
    async fn load_many(&self, ids: &[TaskId]) -> Result<Vec<Task>, StoreError> {
        let loaded: Vec<Option<Task>> = stream::iter(ids.to_vec())
            .map(|id| async move { self.read(&id).await.map(|o| o.map(|(t, _)| t)) })
            .buffered(CONCURRENCY)
            .try_collect()
            .await?;
        Ok(loaded.into_iter().flatten().collect())
    }

    /// Deletes these objects; returns how many.
    async fn delete_ids(&self, ids: &[TaskId]) -> Result<usize, StoreError> {
        let paths: Vec<object_store::Result<Path>> =
            ids.iter().map(|id| Ok(self.path(id.as_str()))).collect();
        let deleted: Vec<Path> = self
            .store
            .delete_stream(stream::iter(paths).boxed())
            .try_collect()
            .await
            .map_err(|e| self.err("delete tasks", &e))?;
        Ok(deleted.len())
    }

    /// Writes a task unconditionally.
    async fn put(&self, task: &Task) -> Result<(), StoreError> {
        let json = to_json(task)?;
        self.store
            .put(&self.path(task.id.as_str()), PutPayload::from(json))
            .await
            .map_err(|e| self.err("write a task", &e))?;
        Ok(())
    }
}

#[async_trait]
impl Primitives for S3Store {
    /// The object's ETag.
    type Version = Option<String>;

    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn shown(&self) -> String {
        self.shown.clone()
    }

    async fn insert_new(&self, task: &Task) -> Result<bool, StoreError> {
        let json = to_json(task)?;
        let options = PutOptions::from(PutMode::Create);
        match self
            .store
            .put_opts(
                &self.path(task.id.as_str()),
                PutPayload::from(json),
                options,
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            ) => {
                // A retried request may have stored our own task already.
                Ok(matches!(self.read(&task.id).await?, Some((stored, _)) if &stored == task))
            }
            Err(e) => Err(self.err("create a task", &e)),
        }
    }

    async fn read_versioned(
        &self,
        id: &TaskId,
    ) -> Result<Option<(Task, Option<String>)>, StoreError> {
        self.read(id).await
    }

    async fn write_if(
        &self,
        task: &Task,
        _read: &Task,
        e_tag: &Option<String>,
    ) -> Result<Cas, StoreError> {
        let Some(e_tag) = e_tag.clone() else {
            return Err(StoreError::Backend {
                backend: BACKEND,
                url: self.shown.clone(),
                message: "the service returned no ETag, so tasks cannot be updated safely; \
                          it must support conditional writes (If-Match)"
                    .into(),
            });
        };
        let mode = PutMode::Update(UpdateVersion {
            e_tag: Some(e_tag),
            version: None,
        });
        match self
            .store
            .put_opts(
                &self.path(task.id.as_str()),
                PutPayload::from(to_json(task)?),
                PutOptions::from(mode),
            )
            .await
        {
            Ok(_) => Ok(Cas::Written),
            Err(object_store::Error::Precondition { .. }) => Ok(Cas::Lost),
            Err(object_store::Error::NotFound { .. }) => Ok(Cas::Gone),
            Err(e) => Err(self.err("update a task", &e)),
        }
    }

    async fn read_many(&self, ids: &[TaskId]) -> Result<HashMap<TaskId, Task>, StoreError> {
        let found: Vec<Option<Task>> = stream::iter(ids.to_vec())
            .map(|id| async move {
                match self.read(&id).await {
                    Ok(found) => Ok(found.map(|(task, _)| task)),
                    // An unreadable object is overwritten.
                    Err(StoreError::Corrupt { .. }) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .buffer_unordered(CONCURRENCY)
            .try_collect()
            .await?;
        Ok(found
            .into_iter()
            .flatten()
            .map(|task| (task.id.clone(), task))
            .collect())
    }

    async fn write_many(&self, tasks: &[&Task]) -> Result<(), StoreError> {
        let owned: Vec<Task> = tasks.iter().map(|t| (*t).clone()).collect();
        stream::iter(owned)
            .map(|task| async move { self.put(&task).await })
            .buffer_unordered(CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    fn chunk(&self) -> usize {
        CONCURRENCY * 8
    }
}

#[async_trait]
impl TaskStore for S3Store {
    fn describe(&self) -> String {
        self.shown.clone()
    }

    fn decision_records(&self) -> Option<&dyn crate::shared::DecisionRecords> {
        Some(self)
    }

    fn run_records(&self) -> Option<&dyn crate::shared::RunRecords> {
        Some(self)
    }

    async fn create(&self, new: NewTask) -> Result<Task, StoreError> {
        occ::create(self, new).await
    }

    async fn get(&self, id: &TaskId) -> Result<Task, StoreError> {
        match self.read(id).await? {
            Some((task, _)) => Ok(task),
            None => Err(StoreError::NotFound { id: id.clone() }),
        }
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<Task>, StoreError> {
        let mut ids = self.ids().await?;
        ids.reverse();
        let limit = query.limit.unwrap_or(usize::MAX);
        let Some(status) = query.status else {
            ids.truncate(limit);
            return self.load_many(&ids).await;
        };
        // Read newest first, a page at a time, until `limit` tasks of the status are found.
        let mut found = Vec::new();
        for page in ids.chunks(CONCURRENCY * 4) {
            for task in self.load_many(page).await? {
                if task.status == status {
                    found.push(task);
                    if found.len() == limit {
                        return Ok(found);
                    }
                }
            }
        }
        Ok(found)
    }

    async fn scan(&self, after: Option<&TaskId>, limit: usize) -> Result<Vec<Task>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let metas = match after {
            Some(after) => self
                .store
                .list_with_offset(Some(&self.tasks_dir), &self.path(after.as_str())),
            None => self.store.list(Some(&self.tasks_dir)),
        };
        let metas: Vec<_> = metas
            .try_collect()
            .await
            .map_err(|e| self.err("list the tasks", &e))?;
        let mut ids: Vec<TaskId> = metas
            .iter()
            .filter_map(|m| m.location.filename())
            .filter_map(|f| f.strip_suffix(".json"))
            .filter_map(|f| TaskId::parse(f).ok())
            .filter(|id| after.is_none_or(|a| id > a))
            .collect();
        ids.sort();
        ids.truncate(limit);
        self.load_many(&ids).await
    }

    async fn stats(&self) -> Result<Stats, StoreError> {
        let ids = self.ids().await?;
        let tasks = self.load_many(&ids).await?;
        Ok(Stats::count(tasks.iter().map(|t| t.status)))
    }

    async fn transition(&self, id: &TaskId, transition: &Transition) -> Result<Task, StoreError> {
        occ::transition(self, id, transition).await
    }

    async fn delete(&self, id: &TaskId) -> Result<(), StoreError> {
        let path = self.path(id.as_str());
        match self.store.head(&path).await {
            Ok(_) => {}
            Err(object_store::Error::NotFound { .. }) => {
                return Err(StoreError::NotFound { id: id.clone() });
            }
            Err(e) => return Err(self.err("read a task", &e)),
        }
        self.store
            .delete(&path)
            .await
            .map_err(|e| self.err("delete a task", &e))
    }

    async fn delete_status(&self, status: Status) -> Result<usize, StoreError> {
        let ids = self.ids().await?;
        let doomed: Vec<TaskId> = self
            .load_many(&ids)
            .await?
            .into_iter()
            .filter(|t| t.status == status)
            .map(|t| t.id)
            .collect();
        self.delete_ids(&doomed).await
    }

    async fn prune(&self, keep: usize) -> Result<usize, StoreError> {
        let ids = self.ids().await?;
        if ids.len() <= keep {
            return Ok(0);
        }
        self.delete_ids(&ids[..ids.len() - keep]).await
    }

    async fn clear(&self) -> Result<usize, StoreError> {
        let ids = self.ids().await?;
        self.delete_ids(&ids).await
    }

    async fn put_many(&self, tasks: Vec<Task>) -> Result<usize, StoreError> {
        occ::put_many(self, tasks).await
    }

    async fn check(&self) -> Result<CheckReport, StoreError> {
        let mut report = CheckReport::default();
        report.notes.push(format!("backend: s3 at {}", self.shown));
        let (mut ids, strays) = self.listing().await?;
        ids.sort();
        for stray in strays {
            report.problems.push(format!(
                "object {stray} is not named <task id>.json; it is ignored"
            ));
        }
        let results: Vec<(TaskId, Result<Option<(Task, Option<String>)>, StoreError>)> =
            stream::iter(ids)
                .map(|id| async move {
                    let result = self.read(&id).await;
                    (id, result)
                })
                .buffered(CONCURRENCY)
                .collect()
                .await;
        for (id, result) in results {
            match result {
                Ok(Some((task, _))) => {
                    report.tasks += 1;
                    if task.id != id {
                        report.problems.push(format!(
                            "object {} holds the task {}",
                            self.path(id.as_str()),
                            task.id
                        ));
                    }
                    if let Err(e) = task.validate() {
                        report.problems.push(format!("task {id}: {e}"));
                    }
                }
                Ok(None) => {}
                Err(StoreError::Corrupt { message }) => {
                    report.tasks += 1;
                    report.problems.push(message);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }
}

fn to_json(task: &Task) -> Result<String, StoreError> {
    serde_json::to_string(task).map_err(|e| StoreError::Corrupt {
        message: format!("task {} cannot be encoded as JSON: {e}", task.id),
    })
}

/// `text` with every secret replaced by `***`.
fn scrub(text: &str, secrets: &[String]) -> String {
    taskpilot_config::redact::redact_urls_in(&taskpilot_config::redact::scrub_values(text, secrets))
}
