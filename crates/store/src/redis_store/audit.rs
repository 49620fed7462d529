//! The decision log and runs on Redis, under the store's key prefix beside the tasks:
//! - `<prefix>:decision:ids` — a set of every decision id (a decision already there is not
//!   written again, so restoring twice keeps one copy);
//! - `<prefix>:decisions` — a list of every decision, in the order written;
//! - `<prefix>:decisions:request:<request id>` — a list of the decisions of one request;
//! - `<prefix>:decisions:task:<task id>` — a set of the request ids that touched the task;
//! - `<prefix>:run:<run id>` — a run as JSON; `<prefix>:runs` and `<prefix>:runs:open` —
//!   sorted sets (lexical, all scored 0) of every run id and of the queued/running ones;
//!   `<prefix>:runs:task:<task id>` — the same for the runs of one task (a hint: a run read
//!   through it counts only if it still names the task).
//!
//! Each write is one Lua script, so the indexes never disagree with the data; a run is
//! replaced only if its stored `version` is the expected one.
//!
//! Not here: the rules of a run's life (`crate::shared::RunBook`).

use async_trait::async_trait;
use redis::{AsyncCommands, Script};

use super::RedisStore;
use crate::StoreError;
use crate::shared::{DecisionEntry, DecisionRecords, RunRecord, RunRecords};

/// KEYS: ids set, all list, request list, task set. ARGV: decision id, entry JSON, request
/// id, "1" when the entry names a task.
const APPEND_LUA: &str = r"
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('RPUSH', KEYS[3], ARGV[2])
if ARGV[4] == '1' then redis.call('SADD', KEYS[4], ARGV[3]) end
return 1
";

/// KEYS: run, every run, open runs, the task's runs. ARGV: id, JSON, "1" when open, "1" when
/// the run names a task, "1" to replace a stored run (else 0 is answered when one exists).
/// 1 = stored, 0 = taken.
const PUT_RUN_LUA: &str = r"
if ARGV[5] == '1' then
  redis.call('SET', KEYS[1], ARGV[2])
elseif not redis.call('SET', KEYS[1], ARGV[2], 'NX') then
  return 0
end
redis.call('ZADD', KEYS[2], 0, ARGV[1])
if ARGV[3] == '1' then redis.call('ZADD', KEYS[3], 0, ARGV[1]) else redis.call('ZREM', KEYS[3], ARGV[1]) end
if ARGV[4] == '1' then redis.call('ZADD', KEYS[4], 0, ARGV[1]) end
return 1
";

/// KEYS: run, open runs, the task's runs. ARGV: id, JSON, "1" when open, expected version,
/// "1" when the run names a task. 1 = written, 0 = another version is stored, -1 = no such run.
const REPLACE_RUN_LUA: &str = r"
local cur = redis.call('GET', KEYS[1])
if not cur then return -1 end
local ok, run = pcall(cjson.decode, cur)
if not ok or type(run) ~= 'table' or tonumber(run['version']) ~= tonumber(ARGV[4]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
if ARGV[3] == '1' then redis.call('ZADD', KEYS[2], 0, ARGV[1]) else redis.call('ZREM', KEYS[2], ARGV[1]) end
if ARGV[5] == '1' then redis.call('ZADD', KEYS[3], 0, ARGV[1]) end
return 1
";

impl RedisStore {
    fn key(&self, rest: &str) -> String {
        format!("{}:{rest}", self.prefix)
    }

    fn entries(&self, lines: Vec<String>) -> Result<Vec<DecisionEntry>, StoreError> {
        lines
            .iter()
            .map(|line| {
                serde_json::from_str(line)
                    .map_err(|e| self.corrupt(format!("a stored decision is not valid: {e}")))
            })
            .collect()
    }

    /// `<prefix>:runs:task:<task id>`, or a key no run is indexed under for a run without one.
    fn run_task_key(&self, task_id: Option<&str>) -> String {
        self.key(&format!("runs:task:{}", task_id.unwrap_or("-")))
    }

    /// Stores `run` with its indexes; `replace` overwrites a stored run, else `false` is
    /// answered when one exists.
    async fn put_run_script(&self, run: &RunRecord, replace: bool) -> Result<bool, StoreError> {
        let script = Script::new(PUT_RUN_LUA);
        let json = run.to_json()?;
        let keys = [
            self.key(&format!("run:{}", run.run_id)),
            self.key("runs"),
            self.key("runs:open"),
            self.run_task_key(run.task_id.as_deref()),
        ];
        let open = if run.status.is_done() { "0" } else { "1" };
        let has_task = if run.task_id.is_some() { "1" } else { "0" };
        let replace = if replace { "1" } else { "0" };
        let stored: i64 = self
            .run("record a run", |mut c| {
                let mut call = script.prepare_invoke();
                for key in &keys {
                    call.key(key);
                }
                call.arg(&run.run_id)
                    .arg(&json)
                    .arg(open)
                    .arg(has_task)
                    .arg(replace);
                async move { call.invoke_async(&mut c).await }
            })
            .await?;
        Ok(stored == 1)
    }

    async fn runs_by_id(&self, ids: Vec<String>) -> Result<Vec<RunRecord>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids
            .iter()
            .map(|id| self.key(&format!("run:{id}")))
            .collect();
        let values: Vec<Option<String>> = self
            .run("read runs", |mut c| {
                let keys = keys.clone();
                async move { c.mget(keys).await }
            })
            .await?;
        values
            .into_iter()
            .flatten()
            .map(|json| RunRecord::from_json(&json))
            .collect()
    }
}

#[async_trait]
impl DecisionRecords for RedisStore {
    async fn append_decisions(&self, entries: &[DecisionEntry]) -> Result<(), StoreError> {
        let script = Script::new(APPEND_LUA);
        for entry in entries {
            let group = entry
                .request_id
                .clone()
                .unwrap_or_else(|| entry.decision_id.clone());
            let json = serde_json::to_string(entry)
                .map_err(|e| self.corrupt(format!("a decision cannot be written: {e}")))?;
            let keys = [
                self.key("decision:ids"),
                self.key("decisions"),
                self.key(&format!("decisions:request:{group}")),
                self.key(&format!(
                    "decisions:task:{}",
                    entry.task_id.as_deref().unwrap_or("-")
                )),
            ];
            let has_task = if entry.task_id.is_some() { "1" } else { "0" };
            let _: i64 = self
                .run("record a decision", |mut c| {
                    let mut call = script.prepare_invoke();
                    for key in &keys {
                        call.key(key);
                    }
                    call.arg(&entry.decision_id)
                        .arg(&json)
                        .arg(&group)
                        .arg(has_task);
                    async move { call.invoke_async(&mut c).await }
                })
                .await?;
        }
        Ok(())
    }

    async fn decisions_for_task(&self, task_id: &str) -> Result<Vec<DecisionEntry>, StoreError> {
        let task_key = self.key(&format!("decisions:task:{task_id}"));
        let groups: Vec<String> = self
            .run("read decisions", |mut c| {
                let key = task_key.clone();
                async move { c.smembers(key).await }
            })
            .await?;
        let mut found = Vec::new();
        for group in groups {
            let key = self.key(&format!("decisions:request:{group}"));
            let lines: Vec<String> = self
                .run("read decisions", |mut c| {
                    let key = key.clone();
                    async move { c.lrange(key, 0, -1).await }
                })
                .await?;
            found.extend(self.entries(lines)?);
        }
        found.sort_by(|a, b| (&a.sort_key, &a.decision_id).cmp(&(&b.sort_key, &b.decision_id)));
        Ok(found)
    }

    async fn all_decisions(&self) -> Result<Vec<DecisionEntry>, StoreError> {
        let key = self.key("decisions");
        let lines: Vec<String> = self
            .run("read decisions", |mut c| {
                let key = key.clone();
                async move { c.lrange(key, 0, -1).await }
            })
            .await?;
        let mut all = self.entries(lines)?;
        all.sort_by(|a, b| (&a.sort_key, &a.decision_id).cmp(&(&b.sort_key, &b.decision_id)));
        Ok(all)
    }
}

#[async_trait]
impl RunRecords for RedisStore {
    async fn insert_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        if self.put_run_script(run, false).await? {
            Ok(())
        } else {
            Err(self.corrupt(format!("run {} already exists", run.run_id)))
        }
    }

    async fn put_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        self.put_run_script(run, true).await.map(|_| ())
    }

    async fn scan_runs(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RunRecord>, StoreError> {
        let key = self.key("runs");
        let from = after.map_or_else(|| "-".to_owned(), |id| format!("({id}"));
        let count = isize::try_from(limit).unwrap_or(isize::MAX);
        let ids: Vec<String> = self
            .run("read runs", |mut c| {
                let (key, from) = (key.clone(), from.clone());
                async move { c.zrangebylex_limit(key, from, "+", 0, count).await }
            })
            .await?;
        self.runs_by_id(ids).await
    }

    async fn runs_for_task(&self, task_id: &str) -> Result<Vec<RunRecord>, StoreError> {
        let key = self.run_task_key(Some(task_id));
        let ids: Vec<String> = self
            .run("read a task's runs", |mut c| {
                let key = key.clone();
                async move { c.zrangebylex(key, "-", "+").await }
            })
            .await?;
        let mut runs = self.runs_by_id(ids).await?;
        runs.retain(|r| r.task_id.as_deref() == Some(task_id));
        Ok(runs)
    }

    async fn load_run(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError> {
        let key = self.key(&format!("run:{run_id}"));
        let json: Option<String> = self
            .run("read a run", |mut c| {
                let key = key.clone();
                async move { c.get(key).await }
            })
            .await?;
        json.map(|j| RunRecord::from_json(&j)).transpose()
    }

    async fn replace_run(&self, run: &RunRecord, expected: u64) -> Result<bool, StoreError> {
        let script = Script::new(REPLACE_RUN_LUA);
        let json = run.to_json()?;
        let keys = [
            self.key(&format!("run:{}", run.run_id)),
            self.key("runs:open"),
            self.run_task_key(run.task_id.as_deref()),
        ];
        let open = if run.status.is_done() { "0" } else { "1" };
        let has_task = if run.task_id.is_some() { "1" } else { "0" };
        let written: i64 = self
            .run("update a run", |mut c| {
                let mut call = script.prepare_invoke();
                call.key(&keys[0]).key(&keys[1]).key(&keys[2]);
                call.arg(&run.run_id)
                    .arg(&json)
                    .arg(open)
                    .arg(expected)
                    .arg(has_task);
                async move { call.invoke_async(&mut c).await }
            })
            .await?;
        Ok(written == 1)
    }

    async fn list_runs(&self, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        let ids = self.ids_newest_first(self.key("runs"), Some(limit)).await?;
        self.runs_by_id(ids).await
    }

    async fn open_run_ids(&self) -> Result<Vec<String>, StoreError> {
        let key = self.key("runs:open");
        self.run("list open runs", |mut c| {
            let key = key.clone();
            async move { c.zrangebylex(key, "-", "+").await }
        })
        .await
    }
}
