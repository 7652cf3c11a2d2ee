//! The softphone's admin routes (merged into `/_sim`):
//!
//! | method, path | answer |
//! |---|---|
//! | `GET /_sim/sip/registrations` | `[Device]` (as `ListDevices` shows them, all agents) |
//! | `GET /_sim/calls/{jobId}/media` | the call's [`MediaReport`](super::media::MediaReport) plus `jobId` and `sipPhase`; 404 when the call has no media (no device) |

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::SimState;

/// The routes, relative to `/_sim`.
pub fn router() -> Router<SimState> {
    Router::new()
        .route("/sip/registrations", get(registrations))
        .route("/calls/{job_id}/media", get(media))
}

async fn registrations(State(state): State<SimState>) -> Response {
    Json(state.softphone().devices(&state, None)).into_response()
}

async fn media(State(state): State<SimState>, Path(job_id): Path<String>) -> Response {
    match state.softphone().media_report(&job_id) {
        Some((report, phase)) => {
            let mut v = serde_json::to_value(report).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.insert("jobId".into(), json!(job_id));
                o.insert("sipPhase".into(), json!(phase));
            }
            Json(v).into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({
                "error": format!("no media for {job_id}: not a call to a registered softphone")
            })),
        )
            .into_response(),
    }
}
