//! The run routes (docs/API.md "Runs"):
//! - `POST /api/v1/runs`: the workflow on one request. By default it waits and answers the
//!   run's result (the JSON of `taskpilot run --json`, plus `run_id`) with 200 whatever the
//!   verdict. With `"wait": false` or the header `Prefer: respond-async` it records a queued
//!   run and answers 202 at once with its id; any replica's worker carries it out.
//! - `GET /api/v1/runs`: the newest runs; `GET /api/v1/runs/{id}`: one run with its steps.
//! - `GET /api/v1/runs/{id}/events`: server-sent events, `event: step` per step as it is
//!   appended, then `event: end` with the run, until the run ends.
//! - `GET /api/v1/tasks/{id}/history`: a task's whole history (its runs' steps, the
//!   decisions about it, who approved or rejected it and when).

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use futures_util::Stream;
use serde::Deserialize;
use serde_json::{Value, json};
use taskpilot_core::TaskId;
use taskpilot_observe::DecisionType;
use taskpilot_store::shared::{RunBook, RunError, RunRecord};

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson};
use crate::state::SharedState;

/// How often the events stream looks for new steps.
const EVENTS_POLL: Duration = Duration::from_millis(200);
/// How long one events stream lasts at most (a run nobody carries out must not pin a
/// connection, and shutdown waits for open streams).
const EVENTS_MAX: Duration = Duration::from_mins(15);
/// The largest `limit` of `GET /api/v1/runs`.
const MAX_RUNS: usize = 1000;

/// The body of `POST /api/v1/runs`.
#[derive(Debug, Deserialize)]
pub struct RunBody {
    /// The request in plain words.
    pub request: String,
    /// `false`: answer 202 with a queued run at once. Default `true`.
    #[serde(default)]
    pub wait: Option<bool>,
}

fn run_error(e: RunError) -> ApiError {
    match e {
        e @ RunError::NotFound { .. } => ApiError::not_found(e.to_string()),
        e @ RunError::Lost { .. } => ApiError::conflict(e.to_string()),
        RunError::Store(e) => e.into(),
    }
}

fn book(state: &SharedState) -> Result<RunBook, ApiError> {
    Ok(state.runtime.run_book()?.clone())
}

/// `Prefer: respond-async` (RFC 7240), among other preferences.
fn prefers_async(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case("respond-async"))
}

/// `POST /api/v1/runs`.
pub async fn submit(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RunBody>,
) -> Result<Response, ApiError> {
    if body.request.trim().is_empty() {
        return Err(ApiError::invalid(
            "invalid request: it is empty; say what the task is about",
        ));
    }
    let wait = body.wait.unwrap_or(true) && !prefers_async(&headers);
    if !wait {
        let run = state
            .runtime
            .submit_run(&body.request, Some(&caller.user_id))
            .await?;
        let location = format!("/api/v1/runs/{}", run.run_id);
        let answer = json!({
            "run_id": run.run_id,
            "status": run.status,
            "links": {"self": location, "events": format!("{location}/events")},
        });
        return Ok((
            StatusCode::ACCEPTED,
            [(header::LOCATION, location)],
            Json(answer),
        )
            .into_response());
    }
    let (result, run_id) = state
        .runtime
        .run_recorded(&body.request, Some(&caller.user_id))
        .await?;
    let mut answer = serde_json::to_value(&result)
        .map_err(|e| ApiError::internal(format!("cannot write the run's result: {e}")))?;
    if let Some(object) = answer.as_object_mut() {
        object.insert("run_id".into(), json!(run_id));
    }
    Ok(Json(answer).into_response())
}

/// `GET /api/v1/runs?limit=N`: the newest runs first (default 50).
pub async fn list(
    State(state): State<SharedState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let limit = match params.get("limit").map(|s| s.trim()) {
        None | Some("") => 50,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=MAX_RUNS).contains(&n) => n,
            _ => {
                return Err(ApiError::invalid(format!(
                    "invalid limit '{raw}': expected a whole number from 1 to {MAX_RUNS}"
                )));
            }
        },
    };
    let runs = book(&state)?.list(limit).await?;
    Ok(Json(json!({"count": runs.len(), "runs": runs})))
}

/// `GET /api/v1/runs/{id}`.
pub async fn show(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<Json<RunRecord>, ApiError> {
    let run = book(&state)?.get(&id).await.map_err(run_error)?;
    Ok(Json(run))
}

struct Follow {
    book: RunBook,
    run_id: String,
    first: Option<RunRecord>,
    sent: u32,
    queue: VecDeque<Event>,
    ended: bool,
    started: tokio::time::Instant,
}

fn json_event(name: &str, value: &impl serde::Serialize) -> Event {
    let data = serde_json::to_string(value)
        .unwrap_or_else(|e| json!({"error": e.to_string()}).to_string());
    Event::default().event(name).data(data)
}

impl Follow {
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Follow)> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Some((Ok(event), self));
            }
            if self.ended {
                return None;
            }
            let run = if let Some(run) = self.first.take() {
                run
            } else {
                if self.started.elapsed() > EVENTS_MAX {
                    self.ended = true;
                    let note = json!({"run_id": self.run_id, "message": "the stream ends after 15 minutes; open it again to follow the run"});
                    self.queue.push_back(json_event("timeout", &note));
                    continue;
                }
                tokio::time::sleep(EVENTS_POLL).await;
                match self.book.get(&self.run_id).await {
                    Ok(run) => run,
                    Err(e) => {
                        self.ended = true;
                        let note = json!({"run_id": self.run_id, "message": e.to_string()});
                        self.queue.push_back(json_event("error", &note));
                        continue;
                    }
                }
            };
            let sent = self.sent;
            for step in run.steps.iter().filter(|s| s.seq > sent) {
                self.queue.push_back(json_event("step", step));
                self.sent = step.seq;
            }
            if run.status.is_done() {
                self.queue.push_back(json_event("end", &run));
                self.ended = true;
            }
        }
    }
}

/// `GET /api/v1/runs/{id}/events`: `text/event-stream`.
pub async fn events(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let book = book(&state)?;
    let first = book.get(&id).await.map_err(run_error)?;
    let follow = Follow {
        book,
        run_id: id,
        first: Some(first),
        sent: 0,
        queue: VecDeque::new(),
        ended: false,
        started: tokio::time::Instant::now(),
    };
    let stream = futures_util::stream::unfold(follow, Follow::next);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// `GET /api/v1/tasks/{id}/history`.
pub async fn task_history(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let task_id = TaskId::parse(&id).map_err(|_| {
        ApiError::not_found(format!(
            "task {id} not found: ids look like task_YYYYMMDD_HHMMSS_ffffff"
        ))
    })?;
    let task = state.runtime.store.get(&task_id).await?;
    let decisions = state.runtime.decisions_for_task(task_id.as_str()).await?;
    // Every run of the task, oldest first, found by the store's index on the task id.
    let runs: Vec<RunRecord> = match &state.runtime.runs {
        Some(book) => book.for_task(task_id.as_str()).await?,
        None => Vec::new(),
    };
    let approvals: Vec<Value> = decisions
        .iter()
        .filter(|d| d.decision_type == DecisionType::HumanApproval)
        .map(|d| {
            json!({
                "decision": d.context.get("decision").cloned().unwrap_or(Value::Null),
                "user_id": d.user_id,
                "at": d.timestamp,
                "reason": d.reason,
            })
        })
        .collect();
    Ok(Json(json!({
        "task_id": task_id,
        "task": task,
        "runs": runs,
        "decisions": decisions,
        "approvals": approvals,
    })))
}
