//! The widget's API under `/api/v1`: session, agent snapshot (with
//! long-poll) and the state-changing commands. The proxy fills `InstanceId`,
//! `UserId`, `JobId` and (for hold) `ChannelId` itself from CCC's own
//! state; the browser's say is never used.

use std::time::Duration;

use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, HeaderValue},
    response::{IntoResponse, Response},
    Json,
};
use ccc_model::{
    api::{
        AgentSnapshot, Bootstrap, BreakRequest, Command, CommandKind, DialRequest, ReadyRequest,
        Session, WorkModeRequest,
    },
    text, CallActionData, ProxyCode, WorkMode,
};
use serde::Deserialize;

use crate::{
    budget::Priority,
    errors::AppError,
    extract::{device_id, dialable, fetch, CurrentAgent, JsonBody},
    poller::{FreshSnapshot, DEFAULT_DEVICE_ID, MAX_WAIT},
    state::AppState,
    upstream::now_ms,
    view::View,
};

pub use crate::extract::{DEVICE_HEADER, MAX_BODY};

/// How long a first look waits for the agent's loop before fetching itself.
const FIRST_WAIT: Duration = Duration::from_secs(5);

/// Takes one token of `user_id`'s read bucket (429 with `Retry-After`).
fn check_read_limit(state: &AppState, user_id: &str) -> Result<(), AppError> {
    state.read_limiter.check(user_id).map_err(|wait| {
        state.metrics.rate_limited("read");
        AppError::rate_limited("read", wait)
    })
}

fn json_no_store<T: serde::Serialize>(value: T) -> Response {
    let mut res = Json(value).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `GET /api/v1/session`.
pub async fn session(
    State(state): State<AppState>,
    agent: CurrentAgent,
) -> Result<Response, AppError> {
    check_read_limit(&state, &agent.user_id)?;
    Ok(json_no_store(session_of(&state, agent.user_id).await?))
}

/// The session of `user_id`: `GetLoginDetails` (cached) plus the configured offer.
async fn session_of(state: &AppState, user_id: String) -> Result<Session, AppError> {
    let agent = CurrentAgent { user_id };
    let details = match state.sessions.get(&agent.user_id) {
        Some(d) => {
            state.metrics.session_cache("hit");
            d
        }
        None => {
            state.metrics.session_cache("miss");
            let d = state.client.get_login_details(&agent.user_id).await?;
            state.sessions.insert(&agent.user_id, d.clone());
            d
        }
    };
    let demo = state
        .demo_agents
        .as_deref()
        .and_then(|a| a.iter().find(|a| a.user_id == agent.user_id));
    // CCC's text is bounded before it is served (ccc_model::text).
    let display_name = match (
        text::clean(&details.display_name, text::MAX_NAME).as_str(),
        demo,
    ) {
        ("", Some(d)) => d.display_name.clone(),
        ("", None) => agent.user_id.clone(),
        (name, _) => name.to_owned(),
    };
    // The agent's own SIP credentials: only in this no-store answer.
    let softphone =
        crate::sip_relay::softphone(state, &agent.user_id, &details, &display_name).await;
    let extension = text::clean_opt(Some(&details.extension), text::MAX_NUMBER)
        .or_else(|| demo.map(|d| d.extension.clone()));
    Ok(Session {
        caller_ids: state.config.dial.caller_ids().to_vec(),
        user_id: agent.user_id,
        display_name,
        extension,
        instance_id: state.client.instance_id().to_owned(),
        break_codes: state.config.break_codes.clone(),
        break_reasons: state.config.break_reasons.clone(),
        work_modes: state.config.work_modes.clone(),
        softphone,
    })
}

/// The first session and snapshot of `user_id`, inlined into the page the
/// proxy serves that agent ([`crate::static_files::index`]), so the toolbar
/// shows the truth without a round trip. Costs what the widget's own first
/// two requests cost (one read token; CCC only when nothing is known).
/// Never the softphone block: its credentials stay in the session API.
pub async fn bootstrap(state: &AppState, user_id: &str) -> Result<Bootstrap, AppError> {
    check_read_limit(state, user_id)?;
    let snapshot = async {
        let view = match first_look(state, user_id, None).await? {
            Some(v) => v,
            None => fetch(state, user_id, None).await?,
        };
        Ok::<_, AppError>(answer(state, &view)?.snapshot)
    };
    let (session, snapshot) = tokio::join!(session_of(state, user_id.to_owned()), snapshot);
    let mut session = session?;
    let softphone_withheld = session.softphone.take().is_some();
    Ok(Bootstrap {
        session,
        snapshot: snapshot?,
        softphone_withheld,
    })
}

/// What a look without `since` answers: the view held here, another
/// replica's, or the agent's loop's first poll (`None`: fetch it).
async fn first_look(
    state: &AppState,
    user_id: &str,
    device: Option<&str>,
) -> Result<Option<View>, AppError> {
    let latest = state.hub.touch(user_id, device);
    Ok(match latest.error {
        None if latest.view.snapshot.is_some() => Some(latest.view),
        // Nothing known here: another replica's view, else the
        // agent's loop (or its owner) fetches it for every tab at once.
        None => match state.hub.load_shared(user_id).await {
            Some(v) => Some(v),
            None => {
                state
                    .hub
                    .wait_change(user_id, device, i64::MIN, FIRST_WAIT)
                    .await?
            }
        },
        Some(_) => None,
    })
}

/// Query of `GET /api/v1/agent`.
#[derive(Debug, Deserialize)]
pub struct AgentQuery {
    since: Option<String>,
    wait: Option<String>,
}

/// `GET /api/v1/agent[?since=<contextId>&wait=<seconds>]`.
pub async fn get_agent(
    State(state): State<AppState>,
    agent: CurrentAgent,
    headers: HeaderMap,
    query: Result<Query<AgentQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let Query(q) = query.map_err(|_| AppError::bad_request("Invalid query string."))?;
    let device = device_id(&headers)?;
    check_read_limit(&state, &agent.user_id)?;
    let since = q
        .since
        .map(|s| s.trim().parse::<i64>())
        .transpose()
        .map_err(|_| AppError::bad_request("since must be a contextId (integer)."))?;
    let wait = q
        .wait
        .map(|w| w.trim().parse::<u64>())
        .transpose()
        .map_err(|_| AppError::bad_request("wait must be a number of seconds."))?
        .map_or(MAX_WAIT, |w| Duration::from_secs(w).min(MAX_WAIT));
    let view = match since {
        Some(since) => {
            state
                .hub
                .wait_change(&agent.user_id, device.as_deref(), since, wait)
                .await?
        }
        None => first_look(&state, &agent.user_id, device.as_deref()).await?,
    };
    let view = match view {
        Some(v) => v,
        None => fetch(&state, &agent.user_id, device.as_deref()).await?,
    };
    Ok(json_no_store(answer(&state, &view)?))
}

fn answer(state: &AppState, view: &View) -> Result<FreshSnapshot, AppError> {
    let mut fresh = state.hub.fresh(view).ok_or_else(|| {
        AppError::Upstream(crate::upstream::UpstreamError::Malformed {
            status: 200,
            detail: "no snapshot after a successful poll".into(),
        })
    })?;
    // Issue 18: the consulted agent's name, when the directory knows it.
    if let Some(leg) = fresh.snapshot.consult.as_mut() {
        if leg.target.kind == ccc_model::api::TargetType::Agent {
            leg.name = state.directory.get(&leg.target.id).map(|a| a.name);
        }
    }
    Ok(fresh)
}

/// Validates `body` for the command named by the URL segment `name`
/// (the names and bodies are the API contract in [`ccc_model::api::Command`]).
pub fn parse_command(name: &str, body: JsonBody, state: &AppState) -> Result<Command, AppError> {
    let kind = CommandKind::parse(name).ok_or_else(AppError::not_found)?;
    Ok(match kind {
        CommandKind::SignIn => body.expect_empty().map(|()| Command::SignIn)?,
        CommandKind::SignOut => body.expect_empty().map(|()| Command::SignOut)?,
        CommandKind::Reset => body.expect_empty().map(|()| Command::Reset)?,
        CommandKind::Mute => body.expect_empty().map(|()| Command::Mute)?,
        CommandKind::Unmute => body.expect_empty().map(|()| Command::Unmute)?,
        CommandKind::Answer => body.expect_empty().map(|()| Command::Answer)?,
        CommandKind::Hangup => body.expect_empty().map(|()| Command::Hangup)?,
        CommandKind::Hold => body.expect_empty().map(|()| Command::Hold)?,
        CommandKind::Retrieve => body.expect_empty().map(|()| Command::Retrieve)?,
        // Issue 18 (crate::transfer_api).
        CommandKind::Transfer => crate::transfer_api::transfer_command(body, state)?,
        CommandKind::CompleteTransfer => body.expect_empty().map(|()| Command::CompleteTransfer)?,
        CommandKind::CancelTransfer => body.expect_empty().map(|()| Command::CancelTransfer)?,
        CommandKind::Conference => body.expect_empty().map(|()| Command::Conference)?,
        CommandKind::LeaveConference => body.expect_empty().map(|()| Command::LeaveConference)?,
        CommandKind::Dtmf => crate::transfer_api::dtmf_command(body)?,
        CommandKind::Dial => dial_command(body, state)?,
        CommandKind::Ready => Command::Ready {
            outbound_only: body.parse::<ReadyRequest>()?.outbound_only,
        },
        CommandKind::Break => {
            let code = body.parse::<BreakRequest>()?.code;
            if !state.config.break_codes.contains(&code) {
                return Err(AppError::invalid(
                    ProxyCode::InvalidBreakCode,
                    format!("Break code {code:?} is not one of the configured break codes."),
                ));
            }
            Command::Break { code }
        }
        CommandKind::WorkMode => {
            let req = body.parse::<WorkModeRequest>()?;
            if !req.mode.is_known() || !state.config.work_modes.contains(&req.mode) {
                return Err(AppError::invalid(
                    ProxyCode::InvalidWorkMode,
                    format!("Work mode {} is not offered.", req.mode),
                ));
            }
            let mobile = req
                .mobile
                .map(|m| m.trim().to_owned())
                .filter(|m| !m.is_empty());
            if let Some(m) = &mobile {
                let digits = m.strip_prefix('+').unwrap_or(m);
                if !(3..=20).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(AppError::invalid(
                        ProxyCode::InvalidMobile,
                        "The mobile number must be 3 to 20 digits, optionally after a +.",
                    ));
                }
            }
            if req.mode == WorkMode::OffSite && mobile.is_none() {
                return Err(AppError::invalid(
                    ProxyCode::MobileRequired,
                    "OFF_SITE needs the mobile number calls are sent to.",
                ));
            }
            Command::WorkMode {
                mode: req.mode,
                mobile,
            }
        }
    })
}

/// Validates a dial body against the number rule, `--dial-pattern` and
/// `--caller-ids`: a refusal is a 400 and nothing reaches CCC.
fn dial_command(body: JsonBody, state: &AppState) -> Result<Command, AppError> {
    let req = body.parse::<DialRequest>()?;
    let (number, caller_id) = dialable(state, &req.number, req.caller_id.as_deref())?;
    Ok(Command::Dial { number, caller_id })
}

/// `number` with all but its last four characters replaced by `*`.
fn masked(number: &str) -> String {
    let keep = number.chars().count().saturating_sub(4);
    number
        .chars()
        .enumerate()
        .map(|(i, c)| if i < keep { '*' } else { c })
        .collect()
}

/// The current call and its customer leg as CCC reports them now (never
/// ids from the browser): `(JobId, ChannelId)`.
async fn customer_leg(
    state: &AppState,
    user_id: &str,
    device: &str,
) -> Result<(String, String), AppError> {
    let current = state
        .client
        .poll_user_status(user_id, device, Priority::Command)
        .await?;
    let call = current
        .call_context
        .as_ref()
        .ok_or_else(AppError::no_call)?;
    let channel = call
        .customer_channel()
        .map(|c| c.channel_id.clone())
        .filter(|c| !c.is_empty())
        .ok_or_else(AppError::no_call)?;
    Ok((call.job_id.clone(), channel))
}

/// `POST /api/v1/agent/{command}/{sub}` (issue 18: `transfer/complete`,
/// `transfer/cancel`, `conference/leave`).
pub async fn sub_command(
    State(state): State<AppState>,
    axum::extract::Path((name, sub)): axum::extract::Path<(String, String)>,
    agent: CurrentAgent,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Response, AppError> {
    run_command(state, format!("{name}/{sub}"), agent, headers, body).await
}

/// `POST /api/v1/agent/{command}`.
pub async fn command(
    State(state): State<AppState>,
    axum::extract::Path(name): axum::extract::Path<String>,
    agent: CurrentAgent,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Response, AppError> {
    run_command(state, name, agent, headers, body).await
}

async fn run_command(
    state: AppState,
    name: String,
    agent: CurrentAgent,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Response, AppError> {
    let device = device_id(&headers)?.unwrap_or_else(|| DEFAULT_DEVICE_ID.to_owned());
    let command = parse_command(&name, body, &state)?;
    // Issue 18: keypad requests wait their turn (keys stay in order) and
    // have their own limit; everything else takes a command token.
    let keypad = matches!(command, Command::Dtmf(_));
    let _turn = if keypad {
        Some(state.keypad_locks.lock(&agent.user_id).await)
    } else {
        None
    };
    let allowed = if keypad {
        state.keypad_limiter.check(&agent.user_id)
    } else {
        state.allow_command(&agent.user_id).await
    };
    if let Err(wait) = allowed {
        state.metrics.rate_limited("command");
        return Err(AppError::rate_limited("command", wait));
    }
    // Issue 18: what needs the call as shown or the directory, before CCC.
    crate::transfer_api::check(&state, &agent.user_id, &device, &command).await?;
    let transfer_out = matches!(
        &command,
        Command::Transfer(t) if t.target.kind == ccc_model::api::TargetType::Number
    );
    if matches!(command, Command::Dial { .. }) || transfer_out {
        // Calls cost money: their own, lower limit (toll fraud).
        if let Err(wait) = state.allow_dial(&agent.user_id).await {
            state.metrics.rate_limited("dial");
            tracing::warn!(
                user_id = %agent.user_id,
                retry_after_ms = wait.as_millis() as u64,
                "dial limit reached: call refused"
            );
            return Err(AppError::rate_limited("dial", wait));
        }
    }
    if matches!(command, Command::WorkMode { .. }) {
        // The login details (extension, work mode) change with the mode.
        state.sessions.invalidate(&agent.user_id);
    }
    match &command {
        // A customer's number is personal data: the log keeps its end only.
        Command::Dial { number, caller_id } => tracing::info!(
            user_id = %agent.user_id,
            number = %masked(number.as_str()),
            ?caller_id,
            "state change: dial"
        ),
        // Issue 18: a transferred-to number is masked like a dialled one;
        // keypad keys (PINs, card numbers) are never logged.
        Command::Transfer(t) => tracing::info!(
            user_id = %agent.user_id,
            kind = ?t.kind,
            target_type = ?t.target.kind,
            target = %if t.target.kind == ccc_model::api::TargetType::Number {
                masked(&t.target.id)
            } else {
                t.target.id.clone()
            },
            "state change: transfer"
        ),
        Command::Dtmf(d) => tracing::info!(
            user_id = %agent.user_id,
            keys = d.digits.len(),
            "keypad"
        ),
        _ => tracing::info!(user_id = %agent.user_id, ?command, "state change"),
    }
    // The agent is back and acting: presence's notice has been read.
    state.hub.clear_presence(&agent.user_id).await;
    crate::next_state_apply::cancel_by_command(&state, &agent.user_id, command.kind()).await;
    let fallback = execute(&state, &agent.user_id, &device, &command).await?;
    // The answer and every long-poller see the server's truth after the change.
    match fetch(&state, &agent.user_id, Some(&device)).await {
        Ok(view) => Ok(json_no_store(answer(&state, &view)?)),
        Err(e) => {
            tracing::warn!(error = %e, "poll after a state change failed; answering with the action's result");
            Ok(json_no_store(fallback))
        }
    }
}

/// Runs `command` upstream; returns the snapshot implied by its answer.
async fn execute(
    state: &AppState,
    user_id: &str,
    device: &str,
    command: &Command,
) -> Result<AgentSnapshot, AppError> {
    if let Some(data) = crate::transfer_api::execute(state, user_id, device, command).await? {
        return Ok(call_snapshot(state, user_id, &data, None));
    }
    let c = &state.client;
    let action = command.kind().action().ccc_action();
    let s = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    let extra = match command {
        Command::SignIn | Command::SignOut | Command::Reset => vec![],
        Command::Ready { outbound_only } => {
            vec![s(
                "OutboundScenario",
                if *outbound_only { "true" } else { "false" },
            )]
        }
        Command::Break { code } => vec![s("Code", code)],
        Command::Dial { number, caller_id } => {
            let mut extra = vec![s("Callee", number.as_str())];
            if let Some(caller) = caller_id {
                extra.push(s("Caller", caller));
            }
            let data = c.call_action_with(action, user_id, device, extra).await?;
            return Ok(call_snapshot(state, user_id, &data, None));
        }
        // HoldCall holds the customer's leg of the current call.
        Command::Hold | Command::Retrieve => {
            let (job, channel) = customer_leg(state, user_id, device).await?;
            let extra = vec![s("JobId", &job), s("ChannelId", &channel)];
            let data = c.call_action_with(action, user_id, device, extra).await?;
            return Ok(call_snapshot(state, user_id, &data, None));
        }
        Command::WorkMode { mode, mobile } => {
            let mut extra = vec![s("WorkMode", mode.as_str())];
            if let Some(m) = mobile {
                extra.push(s("Mobile", m));
            }
            extra
        }
        // Issue 18: answered by `transfer_api::execute` above.
        Command::Transfer(_)
        | Command::CompleteTransfer
        | Command::CancelTransfer
        | Command::Conference
        | Command::LeaveConference
        | Command::Dtmf(_) => return Err(AppError::not_found()),
        // The call actions use the agent's current call as CCC reports it
        // (never a JobId from the browser).
        Command::Mute | Command::Unmute | Command::Answer | Command::Hangup => {
            let current = c
                .poll_user_status(user_id, device, Priority::Command)
                .await?;
            let job = current
                .call_context
                .as_ref()
                .map(|call| call.job_id.clone())
                .filter(|j| !j.is_empty())
                .or(current.user_context.job_id.clone())
                .ok_or_else(AppError::no_call)?;
            let data = c.call_action(action, user_id, device, &job).await?;
            return Ok(call_snapshot(
                state,
                user_id,
                &data,
                Some(current.context_id),
            ));
        }
    };
    let user = c.user_action(action, user_id, device, extra).await?;
    Ok(AgentSnapshot::from_contexts(
        state.hub.context_id(user_id).unwrap_or_default(),
        &user,
        None,
        now_ms(),
    ))
}

/// The snapshot implied by a call action's answer.
fn call_snapshot(
    state: &AppState,
    user_id: &str,
    data: &CallActionData,
    polled_context: Option<i64>,
) -> AgentSnapshot {
    let context = state.hub.context_id(user_id).or(polled_context);
    let mut snapshot = AgentSnapshot::from_contexts(
        context.unwrap_or_default(),
        &data.user_context,
        data.call_context.as_ref(),
        now_ms(),
    );
    crate::consult::annotate(&mut snapshot, data.call_context.as_ref(), user_id);
    snapshot
}

/// Any other `/api/...` path.
pub async fn not_found() -> AppError {
    AppError::not_found()
}

#[cfg(test)]
mod tests {
    use super::masked;

    #[test]
    fn logged_numbers_keep_only_their_end() {
        assert_eq!(masked("+8613812345678"), "**********5678");
        assert_eq!(masked("110"), "110");
    }
}
