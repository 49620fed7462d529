//! `POST /api/v1/runs`: the workflow on one request; answers the run's result (the JSON of
//! `taskpilot run --json`) with 200 whatever the verdict (executed, review, rejected, failed,
//! denied, blocked).

use axum::extract::State;
use axum::{Extension, Json};
use serde::Deserialize;
use taskpilot_agents::RunResult;

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson};
use crate::state::SharedState;

#[derive(Debug, Deserialize)]
pub struct RunBody {
    pub request: String,
}

pub async fn submit(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<RunBody>,
) -> Result<Json<RunResult>, ApiError> {
    if body.request.trim().is_empty() {
        return Err(ApiError::invalid(
            "invalid request: it is empty; say what the task is about",
        ));
    }
    let result = state
        .runtime
        .run_as(&body.request, Some(&caller.user_id))
        .await?;
    Ok(Json(result))
}
