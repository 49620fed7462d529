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
use taskpilot_core::{NewTask, Status, TaskId};
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

/// `GET /api/v1/tasks?status=S&limit=N`: newest first.
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
    let limit = match params.get("limit").map(|s| s.trim()) {
        None | Some("") => None,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if n <= MAX_LIMIT => Some(n),
            _ => {
                return Err(ApiError::invalid(format!(
                    "invalid limit '{s}'; use a whole number from 0 to {MAX_LIMIT}"
                )));
            }
        },
    };
    let tasks = state
        .runtime
        .store
        .list(&ListQuery { status, limit })
        .await?;
    Ok(Json(json!({"count": tasks.len(), "tasks": tasks})))
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

#[derive(Debug, Deserialize)]
pub struct CreateBody {
    pub title: String,
    #[serde(default = "medium")]
    pub priority: String,
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

#[derive(Debug, Default, Deserialize)]
pub struct DecisionBody {
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
