//! The admin API under `/_sim/` (no signature; JSON camelCase). The real
//! service has no such path. Never affected by fault injection.
//!
//! | method, path | body | answer |
//! |---|---|---|
//! | `GET /_sim/agents` | | `[{userId, instanceId, displayName, extension, userContext, callContext?}]` |
//! | `POST /_sim/calls` | `{userId, caller?, autoAnswerMs?}` | `{jobId}`; 404 unknown agent; 409 not READY |
//! | `POST /_sim/calls/{jobId}/answer` | | `{jobId, userContext}`; 404; 409 not RINGING |
//! | `POST /_sim/calls/{jobId}/hangup` | `{by: "customer"\|"agent"}` (default customer) | `{jobId, outcome, userContext}`; 404 |
//! | `GET /_sim/faults` | | the current faults |
//! | `PUT /_sim/faults` | [`Faults`] | the faults set; 400 when invalid |
//! | `DELETE /_sim/faults` | | `{}` |
//! | `POST /_sim/reset` | | `{}` |
//!
//! Errors answer `{"error": "<text>"}` with the status.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::faults::Faults;
use crate::state_machine::{HangupBy, HangupOutcome};
use crate::{CallError, SimState};

/// The `/_sim` routes (nest them under `/_sim`).
pub fn router() -> Router<SimState> {
    Router::new()
        .route("/agents", get(agents))
        .route("/calls", post(ring))
        .route("/calls/{job_id}/answer", post(answer))
        .route("/calls/{job_id}/hangup", post(hangup))
        .route(
            "/faults",
            get(get_faults).put(put_faults).delete(clear_faults),
        )
        .route("/reset", post(reset))
}

fn error(status: StatusCode, text: impl Into<String>) -> Response {
    (status, Json(json!({ "error": text.into() }))).into_response()
}

impl IntoResponse for CallError {
    fn into_response(self) -> Response {
        let status = match self {
            CallError::NoAgent(_) | CallError::NoCall(_) => StatusCode::NOT_FOUND,
            CallError::State(_) => StatusCode::CONFLICT,
        };
        error(status, self.to_string())
    }
}

/// Parses an optional JSON body (empty means all defaults).
fn body<T: DeserializeOwned + Default>(bytes: &Bytes) -> Result<T, Box<Response>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes)
        .map_err(|e| Box::new(error(StatusCode::BAD_REQUEST, e.to_string())))
}

async fn agents(State(state): State<SimState>) -> Json<Value> {
    let world = state.world();
    let list: Vec<Value> = world
        .agents
        .values()
        .map(|a| {
            json!({
                "userId": a.user_id,
                "instanceId": a.instance_id,
                "displayName": a.display_name,
                "extension": a.extension,
                "contextId": a.context_id,
                "userContext": a.user_context(),
                "callContext": a.call_context(),
            })
        })
        .collect();
    Json(Value::Array(list))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RingBody {
    user_id: String,
    caller: Option<String>,
    auto_answer_ms: Option<u64>,
}

async fn ring(State(state): State<SimState>, bytes: Bytes) -> Response {
    let req: RingBody = match body(&bytes) {
        Ok(b) => b,
        Err(resp) => return *resp,
    };
    if req.user_id.is_empty() {
        return error(StatusCode::BAD_REQUEST, "userId is required");
    }
    let caller = req.caller.unwrap_or_else(|| "13800000000".to_owned());
    match state.ring(&req.user_id, &caller, req.auto_answer_ms) {
        Ok(job_id) => Json(json!({ "jobId": job_id })).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn answer(State(state): State<SimState>, Path(job_id): Path<String>) -> Response {
    match state.answer(&job_id) {
        Ok(agent) => {
            Json(json!({ "jobId": job_id, "userContext": agent.user_context() })).into_response()
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum By {
    #[default]
    Customer,
    Agent,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HangupBody {
    #[serde(default)]
    by: By,
}

async fn hangup(
    State(state): State<SimState>,
    Path(job_id): Path<String>,
    bytes: Bytes,
) -> Response {
    let req: HangupBody = match body(&bytes) {
        Ok(b) => b,
        Err(resp) => return *resp,
    };
    let by = match req.by {
        By::Customer => HangupBy::Customer,
        By::Agent => HangupBy::Agent,
    };
    match state.hang_up(&job_id, by) {
        Ok((agent, outcome)) => {
            let outcome = match outcome {
                HangupOutcome::AfterCall => "afterCall",
                HangupOutcome::Abandoned => "abandoned",
                HangupOutcome::Rejected => "rejected",
            };
            Json(json!({
                "jobId": job_id,
                "outcome": outcome,
                "userContext": agent.user_context(),
            }))
            .into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn get_faults(State(state): State<SimState>) -> Json<Faults> {
    Json(state.faults())
}

async fn put_faults(State(state): State<SimState>, bytes: Bytes) -> Response {
    let faults: Faults = match body(&bytes) {
        Ok(f) => f,
        Err(resp) => return *resp,
    };
    if let Err(e) = faults.validate() {
        return error(StatusCode::BAD_REQUEST, e);
    }
    tracing::info!(?faults, "faults set");
    state.set_faults(faults.clone());
    Json(faults).into_response()
}

async fn clear_faults(State(state): State<SimState>) -> Json<Value> {
    state.set_faults(Faults::default());
    Json(json!({}))
}

async fn reset(State(state): State<SimState>) -> Json<Value> {
    state.reset();
    tracing::info!("simulator reset");
    Json(json!({}))
}
