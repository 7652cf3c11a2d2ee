//! Issue 18: transfer, consult, conference and keypad commands, and the
//! directory (`GET /api/v1/directory?q=`).
//!
//! Every refusal is decided before any CCC call, from the body, the
//! configuration and what the proxy already knows: the body's shape and
//! the target ([`transfer_command`], [`dtmf_command`]: a number under the
//! dial rules and a caller id of the session, a configured skill group,
//! well-formed agent ids), then the agent's call as shown
//! ([`crate::consult::check`]: no call, no consult, a consult in progress,
//! not a conference) and the directory (an agent of this instance, never
//! the agent itself) in [`check`]. Only then [`execute`] asks CCC for the
//! current call (`JobId`, the customer's `ChannelId`: never the
//! browser's) and calls the action; keypad keys go one SendDtmfSignaling
//! a key, `--dtmf-gap-ms` apart.

use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, HeaderValue},
    response::{IntoResponse, Response},
    Json,
};
use ccc_model::{
    api::{AgentSnapshot, Command, DtmfRequest, TargetType, TransferKind, TransferRequest},
    text, Action, CallActionData, ProxyCode,
};
use serde::Deserialize;

use crate::{
    budget::Priority,
    errors::AppError,
    extract::{dialable, fetch, CurrentAgent, JsonBody},
    state::AppState,
};

/// Longest directory query.
pub const MAX_QUERY: usize = 64;

/// Validates a `transfer` body: its shape, and the target as far as the
/// configuration knows it (numbers: the dial rules and the session's
/// caller ids; skill groups: configured ones; agents: a well-formed id).
pub fn transfer_command(body: JsonBody, state: &AppState) -> Result<Command, AppError> {
    let mut req = body.parse::<TransferRequest>()?;
    let id = req.target.id.trim().to_owned();
    let bad_target = |m: String| AppError::invalid(ProxyCode::InvalidTarget, m);
    match req.target.kind {
        TargetType::Agent => {
            if id.is_empty() || id.len() > text::MAX_ID || id.contains(char::is_whitespace) {
                return Err(bad_target("The agent id is not valid.".into()));
            }
            req.caller_id = None;
        }
        TargetType::SkillGroup => {
            if state.config.transfer.skill_group(&id).is_none() {
                return Err(bad_target(format!(
                    "{:?} is not one of the skill groups offered.",
                    id.chars().take(64).collect::<String>()
                )));
            }
            req.caller_id = None;
        }
        TargetType::Number => {
            let (number, caller) = dialable(state, &id, req.caller_id.as_deref())?;
            req.target.id = number.as_str().to_owned();
            req.caller_id = caller;
            return Ok(Command::Transfer(req));
        }
    }
    req.target.id = id;
    Ok(Command::Transfer(req))
}

/// Validates a `dtmf` body: 1 to 32 keys of `0-9*#`.
pub fn dtmf_command(body: JsonBody) -> Result<Command, AppError> {
    let req = body.parse::<DtmfRequest>()?;
    if !req.is_valid() {
        return Err(AppError::invalid(
            ProxyCode::InvalidDtmf,
            format!(
                "Keys must be 1 to {} of 0-9, * and #.",
                DtmfRequest::MAX_DIGITS
            ),
        ));
    }
    Ok(Command::Dtmf(req))
}

/// The agent's snapshot as shown (no CCC call, no loop started), else a poll.
async fn shown(state: &AppState, user_id: &str, device: &str) -> Result<AgentSnapshot, AppError> {
    if let Some(s) = state.hub.view(user_id).and_then(|v| v.snapshot) {
        return Ok(s);
    }
    fetch(state, user_id, Some(device))
        .await?
        .snapshot
        .ok_or_else(AppError::no_call)
}

/// The checks that need the agent's call or the directory: refused with
/// 409 (the call does not allow it) or 400 (not an agent of this
/// instance, or the agent itself) before any CCC call of the command.
pub async fn check(
    state: &AppState,
    user_id: &str,
    device: &str,
    command: &Command,
) -> Result<(), AppError> {
    let kind = command.kind();
    let transfer_kind = matches!(
        command,
        Command::Transfer(_)
            | Command::CompleteTransfer
            | Command::CancelTransfer
            | Command::Conference
            | Command::LeaveConference
            | Command::Dtmf(_)
    );
    if !transfer_kind {
        return Ok(());
    }
    let snapshot = shown(state, user_id, device).await?;
    crate::consult::check(kind, &snapshot)
        .map_err(|r| AppError::conflict(r.code(), r.message()))?;
    if let Command::Transfer(req) = command {
        if req.target.kind == TargetType::Agent {
            let invalid = |m: &str| AppError::invalid(ProxyCode::InvalidTarget, m.to_owned());
            if req.target.id == user_id {
                return Err(invalid("An agent cannot transfer a call to itself."));
            }
            let agents = state
                .directory
                .agents(
                    &state.client,
                    state.fleet.as_ref(),
                    state.config.transfer.directory_refresh,
                )
                .await?;
            if !agents.iter().any(|a| a.id == req.target.id) {
                return Err(invalid("The target is not an agent of this instance."));
            }
        }
    }
    Ok(())
}

/// Runs a transfer, conference or keypad command upstream, on the call
/// CCC reports now. `None` for other commands.
pub async fn execute(
    state: &AppState,
    user_id: &str,
    device: &str,
    command: &Command,
) -> Result<Option<CallActionData>, AppError> {
    let action = match command {
        Command::Transfer(t) if t.kind == TransferKind::Blind => Action::BlindTransfer,
        Command::Transfer(_) => Action::InitiateAttendedTransfer,
        Command::CompleteTransfer => Action::CompleteAttendedTransfer,
        Command::CancelTransfer => Action::CancelAttendedTransfer,
        Command::Conference => Action::SwitchToConference,
        Command::LeaveConference => Action::EndConference,
        Command::Dtmf(_) => Action::SendDtmfSignaling,
        _ => return Ok(None),
    };
    let c = &state.client;
    let current = c
        .poll_user_status(user_id, device, Priority::Command)
        .await?;
    let call = current
        .call_context
        .as_ref()
        .filter(|call| !call.job_id.is_empty())
        .ok_or_else(AppError::no_call)?;
    let s = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    let job = s("JobId", &call.job_id);
    let data = match command {
        Command::Transfer(t) => {
            let ty = match t.kind {
                TransferKind::Blind => t.target.kind.blind_transferee_type(),
                TransferKind::Consult => t.target.kind.consult_transferee_type(),
            };
            let mut extra = vec![job, s("Transferee", &t.target.id), s("TransfereeType", ty)];
            if let Some(caller) = &t.caller_id {
                extra.push(s("Transferor", caller));
            }
            c.call_action_with(action.name(), user_id, device, extra)
                .await?
        }
        Command::Dtmf(d) => {
            // One request per key on the customer's leg, paced.
            let channel = call
                .customer_channel()
                .map(|ch| ch.channel_id.clone())
                .filter(|ch| !ch.is_empty())
                .ok_or_else(AppError::no_call)?;
            let mut last = None;
            for (i, key) in d.digits.chars().enumerate() {
                if i > 0 {
                    tokio::time::sleep(state.config.transfer.dtmf_gap).await;
                }
                let extra = vec![
                    job.clone(),
                    s("ChannelId", &channel),
                    s("Dtmf", &key.to_string()),
                ];
                last = Some(
                    c.call_action_with(action.name(), user_id, device, extra)
                        .await?,
                );
            }
            last.ok_or_else(AppError::no_call)?
        }
        _ => {
            c.call_action(action.name(), user_id, device, &call.job_id)
                .await?
        }
    };
    Ok(Some(data))
}

/// Query of `GET /api/v1/directory`.
#[derive(Debug, Deserialize)]
pub struct DirectoryQuery {
    #[serde(default)]
    q: String,
}

/// The browser's first language (`Accept-Language`), for names.
fn language(headers: &HeaderMap) -> String {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split([',', ';']).next())
        .unwrap_or("en")
        .trim()
        .to_owned()
}

/// `GET /api/v1/directory?q=`: see [`crate::directory`].
pub async fn directory(
    State(state): State<AppState>,
    agent: CurrentAgent,
    headers: HeaderMap,
    query: Result<Query<DirectoryQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let Query(q) = query.map_err(|_| AppError::bad_request("Invalid query string."))?;
    if q.q.chars().count() > MAX_QUERY {
        return Err(AppError::bad_request(format!(
            "q must be at most {MAX_QUERY} characters."
        )));
    }
    state.read_limiter.check(&agent.user_id).map_err(|wait| {
        state.metrics.rate_limited("read");
        AppError::rate_limited("read", wait)
    })?;
    let agents = state
        .directory
        .agents(
            &state.client,
            state.fleet.as_ref(),
            state.config.transfer.directory_refresh,
        )
        .await?;
    let answer = crate::directory::search(
        &q.q,
        &agent.user_id,
        &language(&headers),
        &agents,
        &state.config.transfer,
        &state.config.dial,
    );
    let mut res = Json(answer).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}
