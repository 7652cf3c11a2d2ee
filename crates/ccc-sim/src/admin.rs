//! The admin API under `/_sim/` (no signature; JSON camelCase). The real
//! service has no such path. Never affected by fault injection.
//!
//! | method, path | body | answer |
//! |---|---|---|
//! | `GET /_sim/agents` | | `[{userId, instanceId, displayName, extension, userContext, callContext?}]` |
//! | `POST /_sim/calls` | `{userId, caller?, autoAnswerMs?}` | `{jobId}`; 404 unknown agent; 409 not READY |
//! | `GET /_sim/calls/{jobId}` | | `{jobId, dtmf, keys: [{key, channelId, userId, at}], transfers: [...], agents: [{userId, state, callContext}]}` (issue 18: keypad keys and transfers of the call, who is in it now); 404 for a call never seen |
//! | `POST /_sim/calls/{jobId}/answer` | | `{jobId, userContext}` (a ringing call: the agent answers; a dialled one: the customer); 404; 409 not RINGING |
//! | `POST /_sim/calls/{jobId}/hangup` | `{by: "customer"\|"agent"}` (default customer) | `{jobId, outcome, userContext}`; 404 |
//! | `GET /_sim/faults` | | the current faults |
//! | `PUT /_sim/faults` | [`Faults`] | the faults set; 400 when invalid |
//! | `DELETE /_sim/faults` | | `{}` |
//! | `POST /_sim/reset` | | `{}` |
//! | `POST /_sim/agents/{userId}/state` | `{state, breakCode?}` | `{userId, userContext}`; 404; 409; 400 |
//! | `POST /_sim/agents/states` | `[{userId, state, breakCode?}]` | `{applied, errors: [{userId, error}]}` |
//! | `GET /_sim/stats` | | [`Stats`] |
//! | `DELETE /_sim/stats` | | `{}` (counters back to zero) |
//! | `GET /_sim/quota` | | `{qpsLimit}` (`null`: no limit) |
//! | `GET /_sim/dial` | | `{answerMs, timeoutMs}` ([`DialTimings`]) |
//! | `PUT /_sim/dial` | `{answerMs?: n \| null, timeoutMs?: n}` | as GET; 400 for a 0 timeout |
//! | `PUT /_sim/quota` | `{qpsLimit}` | `{qpsLimit}`; 400 for 0 |
//! | `GET /_sim/webhook` | | `{origins, tokenSet, disabledEvents, faults}` (never a URL path or token) |
//! | `PUT /_sim/webhook` | `{url: "…" \| ["…", …], token?}` | as GET; 400 for a bad URL |
//! | `DELETE /_sim/webhook` | | as GET (events no longer pushed) |
//! | `PUT /_sim/webhook/faults` | [`DeliveryFaults`] | as GET; 400 for a rate outside 0..1 |
//! | `DELETE /_sim/webhook/faults` | | as GET |
//!
//! Errors answer `{"error": "<text>"}` with the status.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use ccc_model::UserState;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::config::{DeliveryFaults, DialTimings, WebhookTarget};
use crate::faults::Faults;
use crate::state_machine::{HangupBy, HangupOutcome};
use crate::stats::Stats;
use crate::{CallError, SimState, StateChange};

/// The `/_sim` routes (nest them under `/_sim`).
pub fn router() -> Router<SimState> {
    Router::new()
        .route("/agents", get(agents))
        .route("/calls", post(ring))
        .route("/calls/{job_id}", get(call_record))
        .route("/calls/{job_id}/answer", post(answer))
        .route("/calls/{job_id}/hangup", post(hangup))
        .route(
            "/faults",
            get(get_faults).put(put_faults).delete(clear_faults),
        )
        .route("/reset", post(reset))
        .route("/agents/{user_id}/state", post(set_state))
        .route("/agents/states", post(set_states))
        .route("/stats", get(stats).delete(reset_stats))
        .route("/quota", get(get_quota).put(put_quota))
        .route("/dial", get(get_dial).put(put_dial))
        .route(
            "/webhook",
            get(get_webhook).put(put_webhook).delete(delete_webhook),
        )
        .route(
            "/webhook/faults",
            axum::routing::put(put_delivery_faults).delete(clear_delivery_faults),
        )
        // Issue 20: registrations and call media.
        .merge(crate::sip::admin::router())
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

/// A JSON body where an empty body means `T::default()`; a bad one is
/// answered 400 `{"error"}`.
struct OptionalJson<T>(T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        serde_json::from_slice(&bytes)
            .map(OptionalJson)
            .map_err(|e| error(StatusCode::BAD_REQUEST, e.to_string()))
    }
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

async fn ring(
    State(state): State<SimState>,
    OptionalJson(req): OptionalJson<RingBody>,
) -> Response {
    if req.user_id.is_empty() {
        return error(StatusCode::BAD_REQUEST, "userId is required");
    }
    let caller = req.caller.unwrap_or_else(|| "13800000000".to_owned());
    match state.ring(&req.user_id, &caller, req.auto_answer_ms) {
        Ok(job_id) => Json(json!({ "jobId": job_id })).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Issue 18: what a call recorded and who is in it.
async fn call_record(State(state): State<SimState>, Path(job_id): Path<String>) -> Response {
    let Some((record, agents)) = state.job_record(&job_id) else {
        return CallError::NoCall(job_id).into_response();
    };
    let agents: Vec<Value> = agents
        .iter()
        .map(|a| {
            json!({
                "userId": a.user_id,
                "state": a.state,
                "callContext": a.call_context(),
            })
        })
        .collect();
    Json(json!({
        "jobId": job_id,
        "dtmf": record.dtmf,
        "keys": record.keys,
        "transfers": record.transfers,
        "agents": agents,
    }))
    .into_response()
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
    OptionalJson(req): OptionalJson<HangupBody>,
) -> Response {
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
                HangupOutcome::NotConnected => "notConnected",
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

async fn put_faults(
    State(state): State<SimState>,
    OptionalJson(faults): OptionalJson<Faults>,
) -> Response {
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

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StateBody {
    #[serde(default)]
    user_id: Option<String>,
    state: String,
    #[serde(default)]
    break_code: Option<String>,
}

impl StateBody {
    fn change(&self) -> Result<StateChange, String> {
        let state = UserState::parse(self.state.trim());
        if !state.is_known() {
            return Err(format!(
                "state must be one of OFFLINE, READY, BREAK, RINGING, TALKING, WORKING, DIALING (got {:?})",
                self.state
            ));
        }
        Ok(StateChange {
            state,
            break_code: self.break_code.clone(),
        })
    }
}

async fn set_state(
    State(state): State<SimState>,
    Path(user_id): Path<String>,
    OptionalJson(req): OptionalJson<StateBody>,
) -> Response {
    let change = match req.change() {
        Ok(c) => c,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    match state.set_agent_state(&user_id, &change) {
        Ok(agent) => {
            Json(json!({ "userId": user_id, "userContext": agent.user_context() })).into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn set_states(
    State(state): State<SimState>,
    OptionalJson(list): OptionalJson<Vec<StateBody>>,
) -> Response {
    let mut applied = 0;
    let mut errors = Vec::new();
    for item in &list {
        let user_id = item.user_id.clone().unwrap_or_default();
        let result = item.change().and_then(|c| {
            state
                .set_agent_state(&user_id, &c)
                .map_err(|e| e.to_string())
        });
        match result {
            Ok(_) => applied += 1,
            Err(e) => errors.push(json!({ "userId": user_id, "error": e })),
        }
    }
    Json(json!({ "applied": applied, "errors": errors })).into_response()
}

async fn stats(State(state): State<SimState>) -> Json<Stats> {
    Json(state.stats())
}

async fn reset_stats(State(state): State<SimState>) -> Json<Value> {
    state.reset_stats();
    Json(json!({}))
}

fn quota_json(state: &SimState) -> Json<Value> {
    Json(json!({ "qpsLimit": state.qps_limit() }))
}

async fn get_quota(State(state): State<SimState>) -> Json<Value> {
    quota_json(&state)
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct QuotaBody {
    qps_limit: Option<u32>,
}

async fn put_quota(
    State(state): State<SimState>,
    OptionalJson(req): OptionalJson<QuotaBody>,
) -> Response {
    if req.qps_limit == Some(0) {
        return error(
            StatusCode::BAD_REQUEST,
            "qpsLimit must be positive (null: no limit)",
        );
    }
    state.set_qps_limit(req.qps_limit);
    quota_json(&state).into_response()
}

async fn get_dial(State(state): State<SimState>) -> Json<DialTimings> {
    Json(state.dial_timings())
}

/// Replaces the dial timings; fields left out keep their value.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DialBody {
    #[serde(default, deserialize_with = "present")]
    answer_ms: Option<Option<u64>>,
    #[serde(default)]
    timeout_ms: Option<u64>,
}

/// Tells `"answerMs": null` (never) from a missing field (unchanged).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u64>>, D::Error> {
    Option::<u64>::deserialize(d).map(Some)
}

async fn put_dial(
    State(state): State<SimState>,
    OptionalJson(req): OptionalJson<DialBody>,
) -> Response {
    if req.timeout_ms == Some(0) {
        return error(StatusCode::BAD_REQUEST, "timeoutMs must be positive");
    }
    let mut timings = state.dial_timings();
    if let Some(answer) = req.answer_ms {
        timings.answer_ms = answer;
    }
    if let Some(timeout) = req.timeout_ms {
        timings.timeout_ms = timeout;
    }
    state.set_dial_timings(timings);
    Json(timings).into_response()
}

/// The subscription without secrets: the receiver's origin only (its path
/// may carry a token) and whether a token is set.
fn webhook_json(state: &SimState) -> Json<Value> {
    let sub = state.subscription();
    let disabled: Vec<&str> = sub.disabled.iter().map(|t| t.as_str()).collect();
    Json(json!({
        "origins": sub.targets.iter().map(WebhookTarget::origin).collect::<Vec<_>>(),
        "tokenSet": sub.targets.iter().any(|t| t.token().is_some()),
        "disabledEvents": disabled,
        "faults": sub.faults,
    }))
}

async fn get_webhook(State(state): State<SimState>) -> Json<Value> {
    webhook_json(&state)
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct WebhookBody {
    /// One URL, or several that take POSTs in turn.
    #[serde(deserialize_with = "crate::config::one_or_many")]
    url: Vec<String>,
    #[serde(default)]
    token: Option<String>,
}

async fn put_webhook(
    State(state): State<SimState>,
    OptionalJson(req): OptionalJson<WebhookBody>,
) -> Response {
    if req.url.is_empty() {
        return error(StatusCode::BAD_REQUEST, "url is required");
    }
    let targets: Result<Vec<WebhookTarget>, _> = req
        .url
        .iter()
        .map(|u| WebhookTarget::new(u, req.token.clone()))
        .collect();
    match targets {
        Ok(targets) => {
            state.set_webhooks(targets);
            webhook_json(&state).into_response()
        }
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

async fn delete_webhook(State(state): State<SimState>) -> Json<Value> {
    state.set_webhook(None);
    webhook_json(&state)
}

async fn put_delivery_faults(
    State(state): State<SimState>,
    OptionalJson(faults): OptionalJson<DeliveryFaults>,
) -> Response {
    match state.set_delivery_faults(faults) {
        Ok(()) => webhook_json(&state).into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

async fn clear_delivery_faults(State(state): State<SimState>) -> Json<Value> {
    let _ = state.set_delivery_faults(DeliveryFaults::default());
    webhook_json(&state)
}
