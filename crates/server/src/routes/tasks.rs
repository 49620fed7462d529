//! The task routes: list, show, create (a manual `pending` task), the decisions about a task,
//! stats, a person's approve/reject (approval runs the executor) and delete.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};
use taskpilot_agents::RunResult;
use taskpilot_core::{NewTask, Priority, Status, TaskId};
use taskpilot_observe::names;
use taskpilot_store::ListQuery;

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, OptionalJson};
use crate::state::SharedState;

/// The largest `limit` a list accepts.
pub const MAX_LIMIT: usize = 10_000;

/// A task id from the path; one that cannot exist is 404.
fn task_id(raw: &str) -> Result<TaskId, ApiError> {
    TaskId::parse(raw).map_err(|_| {
        ApiError::not_found(format!(
            "task {raw} not found: ids look like task_YYYYMMDD_HHMMSS_ffffff"
        ))
    })
}

/// A whole number from a query parameter, at most `max`; absent or empty is `None`.
fn number_param(
    params: &HashMap<String, String>,
    name: &str,
    max: usize,
) -> Result<Option<usize>, ApiError> {
    match params.get(name).map(|s| s.trim()) {
        None | Some("") => Ok(None),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if n <= max => Ok(Some(n)),
            _ => Err(ApiError::invalid(format!(
                "invalid {name} '{s}'; use a whole number from 0 to {max}"
            ))),
        },
    }
}

/// Whether `task` matches the text search `q` (already lower case): id, title or description.
fn matches_text(task: &taskpilot_core::Task, q: &str) -> bool {
    task.id.as_str().to_lowercase().contains(q)
        || task.title.to_lowercase().contains(q)
        || task.description.to_lowercase().contains(q)
}

/// `GET /api/v1/tasks?status=S&priority=P&q=TEXT&order=newest|oldest&limit=N&offset=M`:
/// one page of the tasks that match, newest first unless `order=oldest` (the review queue's
/// order). `total` counts every match, so a client can page over any number of tasks.
pub async fn list(
    State(state): State<SharedState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let status = match params.get("status").map(|s| s.trim()) {
        None | Some("") => None,
        Some(s) => Some(s.parse::<Status>().map_err(|_| {
            ApiError::invalid(format!(
                "invalid status '{s}'; use one of {}",
                Status::ALL
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?),
    };
    let priority = match params.get("priority").map(|s| s.trim()) {
        None | Some("") => None,
        Some(p) => Some(p.parse::<Priority>().map_err(|_| {
            ApiError::invalid(format!(
                "invalid priority '{p}'; use one of high, medium, low"
            ))
        })?),
    };
    let oldest_first = match params.get("order").map(|s| s.trim()) {
        None | Some("" | "newest") => false,
        Some("oldest") => true,
        Some(o) => {
            return Err(ApiError::invalid(format!(
                "invalid order '{o}'; use newest or oldest"
            )));
        }
    };
    let q = params
        .get("q")
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty());
    let limit = number_param(&params, "limit", MAX_LIMIT)?;
    let offset = number_param(&params, "offset", usize::MAX)?.unwrap_or(0);
    let store = &state.runtime.store;
    let filtered = priority.is_some() || q.is_some();
    let (total, tasks) = if !filtered && !oldest_first {
        // The common case reads only the page it needs; the stats give the total.
        let stats = store.stats().await?;
        let total = status.map_or_else(|| stats.total(), |s| stats.get(s));
        let wanted = limit.map(|n| n.saturating_add(offset));
        let mut tasks = store
            .list(&ListQuery {
                status,
                limit: wanted,
            })
            .await?;
        tasks.drain(..offset.min(tasks.len()));
        (total, tasks)
    } else {
        let mut tasks = store
            .list(&ListQuery {
                status,
                limit: None,
            })
            .await?;
        tasks.retain(|t| {
            priority.is_none_or(|p| t.priority == p)
                && q.as_deref().is_none_or(|q| matches_text(t, q))
        });
        if oldest_first {
            tasks.reverse();
        }
        let total = tasks.len();
        let page: Vec<_> = tasks
            .into_iter()
            .skip(offset)
            .take(limit.unwrap_or(usize::MAX))
            .collect();
        (total, page)
    };
    Ok(Json(json!({
        "count": tasks.len(),
        "total": total,
        "offset": offset,
        "tasks": tasks,
    })))
}

/// `GET /api/v1/tasks/{id}`.
pub async fn show(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let task = state.runtime.store.get(&task_id(&id)?).await?;
    Ok(Json(task))
}

/// `GET /api/v1/tasks/{id}/decisions`: every logged decision about the task (the policy's and
/// the reviewer's reasons), oldest first.
pub async fn decisions(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = task_id(&id)?;
    let task = state.runtime.store.get(&id).await?;
    let decisions = state.runtime.decisions_for_task(id.as_str()).await?;
    Ok(Json(json!({
        "task_id": id,
        "status": task.status,
        "reviewer_response": task.reviewer_response,
        "decisions": decisions,
    })))
}

/// `GET /api/v1/stats`: tasks per status.
pub async fn stats(State(state): State<SharedState>) -> Result<Json<Value>, ApiError> {
    let stats = state.runtime.store.stats().await?;
    Ok(Json(json!({"total": stats.total(), "by_status": stats})))
}

/// The body of `POST /api/v1/tasks`.
#[derive(Debug, Deserialize)]
pub struct CreateBody {
    /// The task's title.
    pub title: String,
    /// `high`, `medium` (the default) or `low`.
    #[serde(default = "medium")]
    pub priority: String,
    /// Optional free text.
    #[serde(default)]
    pub description: String,
}

fn medium() -> String {
    "medium".to_owned()
}

/// `POST /api/v1/tasks`: a manual task, `pending`. 201 with the task.
pub async fn create(
    State(state): State<SharedState>,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<impl IntoResponse, ApiError> {
    let new = NewTask::new(body.title, body.priority).with_description(body.description);
    let task = state.runtime.store.create(new).await?;
    state.runtime.metrics.incr(names::TASKS_CREATED, 1.0);
    let location = format!("/api/v1/tasks/{}", task.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(task),
    ))
}

/// The body of the approve and reject routes.
#[derive(Debug, Default, Deserialize)]
pub struct DecisionBody {
    /// Why; recorded in the task's `reviewer_response` and in the decision log.
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /api/v1/tasks/{id}/approve`: a person approves; the executor runs. 409 when the task
/// is not waiting for a decision or another decision won.
pub async fn approve(
    state: State<SharedState>,
    caller: Extension<Caller>,
    id: Path<String>,
    body: OptionalJson<DecisionBody>,
) -> Result<Json<RunResult>, ApiError> {
    decide(state, caller, id, body, true).await
}

/// `POST /api/v1/tasks/{id}/reject`.
pub async fn reject(
    state: State<SharedState>,
    caller: Extension<Caller>,
    id: Path<String>,
    body: OptionalJson<DecisionBody>,
) -> Result<Json<RunResult>, ApiError> {
    decide(state, caller, id, body, false).await
}

async fn decide(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: OptionalJson<DecisionBody>,
    approve: bool,
) -> Result<Json<RunResult>, ApiError> {
    let id = task_id(&id)?;
    let Some(_claim) = state.claim(id.as_str()) else {
        return Err(ApiError::conflict(format!(
            "task {id} is being decided or executed by another request; reload it and try again"
        )));
    };
    let reason = body.0.reason.as_deref();
    let result = if approve {
        state
            .runtime
            .approve(&id, reason, Some(&caller.user_id))
            .await?
    } else {
        state
            .runtime
            .reject(&id, reason, Some(&caller.user_id))
            .await?
    };
    Ok(Json(result))
}

/// `DELETE /api/v1/tasks/{id}` (admin).
pub async fn delete(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = task_id(&id)?;
    state.runtime.store.delete(&id).await?;
    Ok(Json(json!({"deleted": id})))
}
