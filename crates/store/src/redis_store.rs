//! The Redis backend (`redis://host:port/db`, `rediss://` for TLS): tasks shared by any number
//! of TaskPilot instances through one Redis server.
//!
//! Layout, under a key prefix (`?prefix=NAME` in the URL, else `TASK_STORE_PREFIX` from the
//! settings, else `taskpilot`), so several TaskPilots can share one server and database:
//! - `<prefix>:task:<id>` — the task as a JSON string (the seed's fields plus any extra ones);
//! - `<prefix>:ids` — a sorted set of every id, all scored 0, so `ZRANGEBYLEX` walks the ids in
//!   creation order (ids have a fixed width and sort by time as plain strings);
//! - `<prefix>:status:<status>` — the same kind of sorted set, one per status.
//!
//! Every change of a task and its index entries happens in one Lua script (or one MULTI/EXEC
//! for `put_many`), so readers never see a task without its index entries:
//! - insert: `SET NX` on the task key (with its index entries);
//! - conditional write: a compare-and-set script writes the new JSON only if the stored JSON
//!   is still the one that was read. Ids, transitions and `put_many` are built on these in
//!   `occ.rs`.
//!
//! The connection is a `ConnectionManager`, which reconnects in the background after the
//! server went away: a request made while the server is down fails with an error naming the
//! URL; the next one after it is back succeeds. Transient failures are retried a few times.
//!
//! Not here: server persistence (configure AOF on the server; docs/STORAGE.md "Redis").

mod audit;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, RedisError, Script};
use taskpilot_core::{NewTask, Status, Task, TaskId, Transition};

use crate::location::scrub;
use crate::occ::{self, Cas, Primitives};
use crate::{CheckReport, ListQuery, Stats, StoreError, TaskStore};

const BACKEND: &str = "redis";
/// The prefix when neither the URL nor the settings give one.
const DEFAULT_PREFIX: &str = "taskpilot";
/// Keys read or written per round trip.
const BATCH: usize = 500;
const RETRY_ATTEMPTS: u32 = 3;
const RETRY_FIRST_DELAY: Duration = Duration::from_millis(50);

/// KEYS: task, ids, status set. ARGV: id, json. 1 = stored (or already ours after a retried
/// request), 0 = the id is taken.
const CREATE_LUA: &str = r"
if redis.call('SET', KEYS[1], ARGV[2], 'NX') then
  redis.call('ZADD', KEYS[2], 0, ARGV[1])
  redis.call('ZADD', KEYS[3], 0, ARGV[1])
  return 1
end
if redis.call('GET', KEYS[1]) == ARGV[2] then return 1 end
return 0
";

/// KEYS: task, ids, old status set, new status set. ARGV: id, json read, json to write.
/// 1 = written, 2 = already written (a retried request), 0 = changed meanwhile, -1 = gone.
const UPDATE_LUA: &str = r"
local cur = redis.call('GET', KEYS[1])
if not cur then return -1 end
if cur == ARGV[3] then return 2 end
if cur ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[3])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], 0, ARGV[1])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1
";

/// KEYS: task, ids, the six status sets. ARGV: id, and a status the task must still have
/// (or ""). Returns the number of task keys deleted (0 or 1); index entries go either way.
const DELETE_LUA: &str = r"
if ARGV[2] ~= '' then
  local cur = redis.call('GET', KEYS[1])
  if not cur then return 0 end
  local ok, t = pcall(cjson.decode, cur)
  if not ok or type(t) ~= 'table' or t['status'] ~= ARGV[2] then return 0 end
end
local n = redis.call('DEL', KEYS[1])
for i = 2, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
return n
";

/// A task store on a Redis server.
pub struct RedisStore {
    conn: ConnectionManager,
    /// The URL with any password hidden and the `prefix` parameter removed.
    shown: String,
    prefix: String,
    create: Script,
    update: Script,
    delete: Script,
}

/// Splits `?prefix=…` off a Redis URL: (the URL for the client, the prefix if given).
fn split_prefix(url: &str) -> (String, Option<String>) {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return (url.to_owned(), None);
    };
    if parsed.query().is_none() {
        return (url.to_owned(), None);
    }
    let mut prefix = None;
    let mut rest = Vec::new();
    for (key, value) in parsed.query_pairs() {
        match key.as_ref() {
            "prefix" => prefix = Some(value.into_owned()),
            _ => rest.push((key.into_owned(), value.into_owned())),
        }
    }
    if rest.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(rest);
    }
    (parsed.into(), prefix)
}

impl RedisStore {
    /// Connects to the server at `url` (the `redis://` or `rediss://` URL) with the default
    /// key prefix unless the URL has `?prefix=`.
    pub async fn open(url: &str) -> Result<RedisStore, StoreError> {
        Self::open_with(url, None).await
    }

    /// As [`RedisStore::open`], with `prefix` (`TASK_STORE_PREFIX`) when the URL has none.
    pub async fn open_with(url: &str, prefix: Option<&str>) -> Result<RedisStore, StoreError> {
        // rediss:// uses rustls.
        taskpilot_plumbing::tls::install_crypto_provider();
        let (client_url, in_url) = split_prefix(url);
        let shown = taskpilot_config::redact_url(&client_url);
        let prefix = in_url
            .or_else(|| prefix.map(str::to_owned))
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| DEFAULT_PREFIX.to_owned());
        if prefix.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(StoreError::Unsupported {
                url: shown,
                reason: format!(
                    "the key prefix '{}' (TASK_STORE_PREFIX or ?prefix=) must not contain spaces",
                    prefix.escape_debug()
                ),
            });
        }
        let client =
            redis::Client::open(client_url.as_str()).map_err(|e| StoreError::Unsupported {
                url: shown.clone(),
                reason: format!(
                    "{}; expected redis://[:password@]host:port/db or rediss://…",
                    scrub(&e.to_string(), url)
                ),
            })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(Duration::from_secs(10)))
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| error(&shown, url, "connect", &e))?;
        Ok(RedisStore {
            conn,
            shown,
            prefix,
            create: Script::new(CREATE_LUA),
            update: Script::new(UPDATE_LUA),
            delete: Script::new(DELETE_LUA),
        })
    }

    /// The key prefix in use.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn task_key(&self, id: &str) -> String {
        format!("{}:task:{id}", self.prefix)
    }

    fn ids_key(&self) -> String {
        format!("{}:ids", self.prefix)
    }

    fn status_key(&self, status: Status) -> String {
        format!("{}:status:{}", self.prefix, status.as_str())
    }

    fn err(&self, action: &str, e: &RedisError) -> StoreError {
        error(&self.shown, &self.shown, action, e)
    }

    fn corrupt(&self, problem: String) -> StoreError {
        StoreError::Corrupt {
            message: format!(
                "redis store at {} (prefix {}): {problem}; `taskpilot store check` lists every bad key",
                self.shown, self.prefix
            ),
        }
    }

    /// Runs `op` on a fresh handle of the connection, again after transient failures.
    async fn run<T, F, Fut>(&self, action: &str, mut op: F) -> Result<T, StoreError>
    where
        F: FnMut(ConnectionManager) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        let mut delay = RETRY_FIRST_DELAY;
        let mut attempt = 1;
        loop {
            match op(self.conn.clone()).await {
                Err(e) if attempt < RETRY_ATTEMPTS && is_transient(&e) => {
                    tracing::warn!(backend = BACKEND, attempt, error = %e, "transient Redis error; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    attempt += 1;
                }
                other => return other.map_err(|e| self.err(action, &e)),
            }
        }
    }

    /// The stored JSON of a task, if any.
    async fn raw(&self, id: &TaskId) -> Result<Option<String>, StoreError> {
        let key = self.task_key(id.as_str());
        self.run("read a task", |mut c| {
            let key = key.clone();
            async move { c.get(key).await }
        })
        .await
    }

    fn parse(&self, id: &str, json: &str) -> Result<Task, StoreError> {
        serde_json::from_str(json).map_err(|e| {
            self.corrupt(format!(
                "key {} is not a valid task: {e}",
                self.task_key(id)
            ))
        })
    }

    /// The stored JSON of these tasks (at most [`BATCH`] ids), in the same order; `None` where
    /// the key does not exist.
    async fn read_raw(&self, ids: &[String]) -> Result<Vec<Option<String>>, StoreError> {
        let keys: Vec<String> = ids.iter().map(|id| self.task_key(id)).collect();
        self.run("read tasks", |mut c| {
            let keys = keys.clone();
            async move { c.mget(keys).await }
        })
        .await
    }

    /// The tasks with these ids, in the same order; ids whose key vanished meanwhile are
    /// skipped.
    async fn load_many(&self, ids: &[String]) -> Result<Vec<Task>, StoreError> {
        let mut tasks = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(BATCH) {
            let values = self.read_raw(chunk).await?;
            for (id, value) in chunk.iter().zip(values) {
                if let Some(json) = value {
                    tasks.push(self.parse(id, &json)?);
                }
            }
        }
        Ok(tasks)
    }

    /// Ids of a sorted-set index, newest first, at most `limit`.
    async fn ids_newest_first(
        &self,
        key: String,
        limit: Option<usize>,
    ) -> Result<Vec<String>, StoreError> {
        self.run("read the index", |mut c| {
            let key = key.clone();
            async move {
                match limit {
                    Some(n) => c.zrevrangebylex_limit(key, "+", "-", 0, n as isize).await,
                    None => c.zrevrangebylex(key, "+", "-").await,
                }
            }
        })
        .await
    }

    /// The keys of the delete script for one id.
    fn delete_keys(&self, id: &str) -> Vec<String> {
        let mut keys = vec![self.task_key(id), self.ids_key()];
        keys.extend(Status::ALL.iter().map(|s| self.status_key(*s)));
        keys
    }

    /// Deletes these ids (each only if still in `only_status`, when given); returns how many
    /// task keys were deleted. One pipeline of scripts per batch.
    async fn delete_ids(
        &self,
        ids: &[String],
        only_status: Option<Status>,
    ) -> Result<usize, StoreError> {
        let condition = only_status.map_or("", |s| s.as_str());
        let mut deleted = 0;
        for chunk in ids.chunks(BATCH) {
            let mut pipe = redis::pipe();
            for id in chunk {
                let keys = self.delete_keys(id);
                pipe.cmd("EVAL")
                    .arg(DELETE_LUA)
                    .arg(keys.len())
                    .arg(keys)
                    .arg(id)
                    .arg(condition);
            }
            let counts: Vec<i64> = self
                .run("delete tasks", |mut c| {
                    let pipe = pipe.clone();
                    async move { pipe.query_async(&mut c).await }
                })
                .await?;
            deleted += counts.iter().filter(|n| **n > 0).count();
        }
        Ok(deleted)
    }

    /// Every task key under the prefix (found with SCAN, not through the index).
    async fn scan_task_keys(&self) -> Result<Vec<String>, StoreError> {
        let pattern = format!("{}:task:*", escape_glob(&self.prefix));
        self.run("list the task keys", |mut c| {
            let pattern = pattern.clone();
            async move {
                let mut keys = Vec::new();
                let mut cursor: u64 = 0;
                loop {
                    let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(1000)
                        .query_async(&mut c)
                        .await?;
                    keys.extend(batch);
                    if next == 0 {
                        return Ok(keys);
                    }
                    cursor = next;
                }
            }
        })
        .await
    }

    fn id_of_key<'a>(&self, key: &'a str) -> &'a str {
        key.strip_prefix(&format!("{}:task:", self.prefix))
            .unwrap_or(key)
    }
}

#[async_trait]
impl Primitives for RedisStore {
    /// The JSON as read.
    type Version = String;

    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn shown(&self) -> String {
        self.shown.clone()
    }

    async fn insert_new(&self, task: &Task) -> Result<bool, StoreError> {
        let json = to_json(task)?;
        let keys = [
            self.task_key(task.id.as_str()),
            self.ids_key(),
            self.status_key(task.status),
        ];
        let id = task.id.to_string();
        let stored: i64 = self
            .run("create a task", |mut c| {
                let mut call = self.create.prepare_invoke();
                call.key(&keys[0]).key(&keys[1]).key(&keys[2]);
                call.arg(&id).arg(&json);
                async move { call.invoke_async(&mut c).await }
            })
            .await?;
        Ok(stored == 1)
    }

    async fn read_versioned(&self, id: &TaskId) -> Result<Option<(Task, String)>, StoreError> {
        match self.raw(id).await? {
            Some(json) => Ok(Some((self.parse(id.as_str(), &json)?, json))),
            None => Ok(None),
        }
    }

    async fn write_if(
        &self,
        task: &Task,
        read: &Task,
        version: &String,
    ) -> Result<Cas, StoreError> {
        let json = to_json(task)?;
        let id = task.id.as_str();
        let keys = [
            self.task_key(id),
            self.ids_key(),
            self.status_key(read.status),
            self.status_key(task.status),
        ];
        let outcome: i64 = self
            .run("update a task", |mut c| {
                let mut call = self.update.prepare_invoke();
                for key in &keys {
                    call.key(key);
                }
                call.arg(id).arg(version).arg(&json);
                async move { call.invoke_async(&mut c).await }
            })
            .await?;
        Ok(match outcome {
            1 | 2 => Cas::Written,
            -1 => Cas::Gone,
            _ => Cas::Lost,
        })
    }

    async fn read_many(&self, ids: &[TaskId]) -> Result<HashMap<TaskId, Task>, StoreError> {
        let keys: Vec<String> = ids.iter().map(|id| self.task_key(id.as_str())).collect();
        let values: Vec<Option<String>> = self
            .run("read tasks", |mut c| {
                let keys = keys.clone();
                async move { c.mget(keys).await }
            })
            .await?;
        Ok(values
            .into_iter()
            .flatten()
            .filter_map(|json| serde_json::from_str::<Task>(&json).ok())
            .map(|task| (task.id.clone(), task))
            .collect())
    }

    async fn write_many(&self, tasks: &[&Task]) -> Result<(), StoreError> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        for task in tasks {
            let id = task.id.as_str();
            pipe.set(self.task_key(id), to_json(task)?).ignore();
            pipe.zadd(self.ids_key(), id, 0).ignore();
            for status in Status::ALL {
                pipe.zrem(self.status_key(status), id).ignore();
            }
            pipe.zadd(self.status_key(task.status), id, 0).ignore();
        }
        self.run("write tasks", |mut c| {
            let pipe = pipe.clone();
            async move { pipe.query_async::<()>(&mut c).await }
        })
        .await
    }

    fn chunk(&self) -> usize {
        BATCH
    }
}

#[async_trait]
impl TaskStore for RedisStore {
    fn describe(&self) -> String {
        format!("{} (prefix {})", self.shown, self.prefix)
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
        match self.raw(id).await? {
            Some(json) => self.parse(id.as_str(), &json),
            None => Err(StoreError::NotFound { id: id.clone() }),
        }
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<Task>, StoreError> {
        let key = match query.status {
            Some(status) => self.status_key(status),
            None => self.ids_key(),
        };
        let ids = self.ids_newest_first(key, query.limit).await?;
        let mut tasks = self.load_many(&ids).await?;
        // A task may change status between the index read and the task read.
        if let Some(status) = query.status {
            tasks.retain(|t| t.status == status);
        }
        Ok(tasks)
    }

    async fn scan(&self, after: Option<&TaskId>, limit: usize) -> Result<Vec<Task>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let min = after.map_or_else(|| "-".to_owned(), |id| format!("({id}"));
        let key = self.ids_key();
        let ids: Vec<String> = self
            .run("scan the index", |mut c| {
                let (key, min) = (key.clone(), min.clone());
                async move { c.zrangebylex_limit(key, min, "+", 0, limit as isize).await }
            })
            .await?;
        self.load_many(&ids).await
    }

    async fn stats(&self) -> Result<Stats, StoreError> {
        let mut pipe = redis::pipe();
        for status in Status::ALL {
            pipe.zcard(self.status_key(status));
        }
        let counts: Vec<usize> = self
            .run("count tasks", |mut c| {
                let pipe = pipe.clone();
                async move { pipe.query_async(&mut c).await }
            })
            .await?;
        let mut stats = Stats::count([]);
        for (status, count) in Status::ALL.iter().zip(counts) {
            stats.0.insert(status.as_str(), count);
        }
        Ok(stats)
    }

    async fn transition(&self, id: &TaskId, transition: &Transition) -> Result<Task, StoreError> {
        occ::transition(self, id, transition).await
    }

    async fn delete(&self, id: &TaskId) -> Result<(), StoreError> {
        let keys = self.delete_keys(id.as_str());
        let deleted: i64 = self
            .run("delete a task", |mut c| {
                let mut call = self.delete.prepare_invoke();
                for key in &keys {
                    call.key(key);
                }
                call.arg(id.as_str()).arg("");
                async move { call.invoke_async(&mut c).await }
            })
            .await?;
        if deleted == 0 {
            return Err(StoreError::NotFound { id: id.clone() });
        }
        Ok(())
    }

    async fn delete_status(&self, status: Status) -> Result<usize, StoreError> {
        let ids = self.ids_newest_first(self.status_key(status), None).await?;
        self.delete_ids(&ids, Some(status)).await
    }

    async fn prune(&self, keep: usize) -> Result<usize, StoreError> {
        let ids = self.ids_newest_first(self.ids_key(), None).await?;
        if ids.len() <= keep {
            return Ok(0);
        }
        self.delete_ids(&ids[keep..], None).await
    }

    async fn clear(&self) -> Result<usize, StoreError> {
        let keys = self.scan_task_keys().await?;
        let ids: Vec<String> = keys.iter().map(|k| self.id_of_key(k).to_owned()).collect();
        let deleted = self.delete_ids(&ids, None).await?;
        // Index entries without a task (left by a crash of an older writer) go too.
        let mut index_keys = vec![self.ids_key()];
        index_keys.extend(Status::ALL.iter().map(|s| self.status_key(*s)));
        self.run("delete the indexes", |mut c| {
            let index_keys = index_keys.clone();
            async move { c.del::<_, ()>(index_keys).await }
        })
        .await?;
        Ok(deleted)
    }

    async fn put_many(&self, tasks: Vec<Task>) -> Result<usize, StoreError> {
        occ::put_many(self, tasks).await
    }

    async fn check(&self) -> Result<CheckReport, StoreError> {
        let mut report = CheckReport::default();
        report.notes.push(format!(
            "backend: redis at {}, key prefix '{}'",
            self.shown, self.prefix
        ));
        let keys = self.scan_task_keys().await?;
        let ids: Vec<String> = keys.iter().map(|k| self.id_of_key(k).to_owned()).collect();
        let mut by_status: std::collections::HashMap<Status, HashSet<String>> =
            std::collections::HashMap::new();
        for chunk in ids.chunks(BATCH) {
            let values = self.read_raw(chunk).await?;
            for (id, value) in chunk.iter().zip(values) {
                let Some(json) = value else { continue };
                report.tasks += 1;
                match serde_json::from_str::<Task>(&json) {
                    Ok(task) => {
                        if task.id.as_str() != id {
                            report.problems.push(format!(
                                "key {} holds the task {}",
                                self.task_key(id),
                                task.id
                            ));
                        }
                        if let Err(e) = task.validate() {
                            report.problems.push(format!("task {id}: {e}"));
                        }
                        by_status.entry(task.status).or_default().insert(id.clone());
                    }
                    Err(e) => report.problems.push(format!(
                        "key {} is not a valid task: {e}",
                        self.task_key(id)
                    )),
                }
            }
        }
        let all: HashSet<String> = by_status.values().flatten().cloned().collect();
        let indexed: HashSet<String> = self
            .ids_newest_first(self.ids_key(), None)
            .await?
            .into_iter()
            .collect();
        compare_index(&mut report, &self.ids_key(), &all, &indexed);
        for status in Status::ALL {
            let key = self.status_key(status);
            let indexed: HashSet<String> = self
                .ids_newest_first(key.clone(), None)
                .await?
                .into_iter()
                .collect();
            let actual = by_status.remove(&status).unwrap_or_default();
            compare_index(&mut report, &key, &actual, &indexed);
        }
        Ok(report)
    }
}

/// Adds a problem for every id missing from, or extra in, an index.
fn compare_index(
    report: &mut CheckReport,
    key: &str,
    actual: &HashSet<String>,
    indexed: &HashSet<String>,
) {
    let mut missing: Vec<_> = actual.difference(indexed).collect();
    let mut extra: Vec<_> = indexed.difference(actual).collect();
    missing.sort();
    extra.sort();
    for id in missing {
        report.problems.push(format!("index {key} lacks task {id}"));
    }
    for id in extra {
        report
            .problems
            .push(format!("index {key} lists {id}, which is not a task there"));
    }
}

fn to_json(task: &Task) -> Result<String, StoreError> {
    serde_json::to_string(task).map_err(|e| StoreError::Corrupt {
        message: format!("task {} cannot be encoded as JSON: {e}", task.id),
    })
}

/// `*`, `?`, `[`, `]` and `\` in a prefix taken literally by SCAN MATCH.
fn escape_glob(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Whether another attempt may succeed: the connection failed, not the request.
fn is_transient(e: &RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_timeout() || e.is_connection_refusal()
}

/// A Redis failure as a [`StoreError::Backend`] naming the URL, with a hint for the usual
/// causes and any password removed.
fn error(shown: &str, url: &str, action: &str, e: &RedisError) -> StoreError {
    let mut message = format!("cannot {action}: {}", scrub(&e.to_string(), url));
    let text = e.to_string();
    let hint = if e.is_connection_refusal() || e.is_connection_dropped() || e.is_io_error() {
        Some(
            "the Redis server cannot be reached or went away; is it running? TaskPilot reconnects by itself once it is back",
        )
    } else if e.is_timeout() {
        Some("the Redis server did not answer in time")
    } else if text.contains("NOAUTH")
        || text.contains("WRONGPASS")
        || text.contains("invalid password")
    {
        Some("check the user name and password in TASK_STORE_URL")
    } else if text.contains("DB index is out of range") {
        Some("the database number in the URL does not exist on this server")
    } else {
        None
    };
    if let Some(hint) = hint {
        message.push_str(&format!(" ({hint})"));
    }
    StoreError::Backend {
        backend: BACKEND,
        url: shown.to_owned(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_parameter_is_split_off() {
        assert_eq!(
            split_prefix("redis://h:1/2?prefix=abc"),
            ("redis://h:1/2".to_owned(), Some("abc".to_owned()))
        );
        assert_eq!(
            split_prefix("redis://h/0?protocol=resp3&prefix=x"),
            (
                "redis://h/0?protocol=resp3".to_owned(),
                Some("x".to_owned())
            )
        );
        assert_eq!(
            split_prefix("redis://h/0"),
            ("redis://h/0".to_owned(), None)
        );
    }

    #[test]
    fn glob_characters_are_escaped() {
        assert_eq!(escape_glob("a*b[c]"), "a\\*b\\[c\\]");
    }
}
