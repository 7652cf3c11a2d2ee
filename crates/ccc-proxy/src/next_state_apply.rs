//! `PUT` / `DELETE /api/v1/agent/next-state`, and the task that applies a
//! pending next state by the rule of [`crate::next_state::decide`].
//!
//! The pending next state lives in the agent's view (shared through Redis
//! with replicas, like presence's notice), so every snapshot shows it as
//! `nextState`. While one is pending the agent stays watched with no toolbar
//! open: its loop does not idle out and, with Redis, this replica keeps
//! wanting its lease. One task per agent and replica follows the view; when
//! [`crate::next_state::decide`] says act, the task first clears the next state from the
//! shared view (a compare-and-set: one replica wins), then calls CCC through
//! the pooled client and the fleet's budget, then polls so every toolbar
//! sees the result.

use axum::{
    extract::State,
    http::{header, HeaderMap, HeaderValue},
    response::{IntoResponse, Response},
    Json,
};
use ccc_model::{
    api::{CommandKind, NextState, NextStateRequest},
    ProxyCode,
};

use crate::next_state::{decide, label, Decision, Pending, Phase};
use crate::{
    errors::AppError,
    extract::{device_id, fetch, CurrentAgent, JsonBody},
    poller::DEFAULT_DEVICE_ID,
    state::AppState,
    upstream::now_ms,
    view::{Applied, View},
};

fn no_store(state: &AppState, view: &View) -> Result<Response, AppError> {
    let fresh = state.hub.fresh(view).ok_or_else(|| {
        AppError::Upstream(crate::upstream::UpstreamError::Malformed {
            status: 200,
            detail: "no snapshot after a successful poll".into(),
        })
    })?;
    let mut res = Json(fresh).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// The agent's shown view, fetched from CCC when nothing is known yet.
async fn current(state: &AppState, user_id: &str, device: &str) -> Result<View, AppError> {
    let latest = state.hub.touch(user_id, Some(device));
    if latest.error.is_none() && latest.view.snapshot.is_some() {
        return Ok(latest.view);
    }
    if let Some(v) = state.hub.load_shared(user_id).await {
        return Ok(v);
    }
    fetch(state, user_id, Some(device)).await
}

/// `PUT /api/v1/agent/next-state` with [`NextStateRequest`].
pub async fn put(
    State(state): State<AppState>,
    agent: CurrentAgent,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Response, AppError> {
    let device = device_id(&headers)?.unwrap_or_else(|| DEFAULT_DEVICE_ID.to_owned());
    let req: NextStateRequest = serde_json::from_value(serde_json::Value::Object(body.0))
        .map_err(|e| AppError::bad_request(format!("Invalid body: {e}.")))?;
    let Some(next) = req.next else {
        return cancel(&state, &agent.user_id, &device).await;
    };
    if let NextState::Break { code } = &next {
        if !state.config.break_codes.contains(code) {
            return Err(AppError::invalid(
                ProxyCode::InvalidBreakCode,
                format!("Break code {code:?} is not one of the configured break codes."),
            ));
        }
    }
    if let Err(wait) = state.allow_command(&agent.user_id).await {
        state.metrics.rate_limited("command");
        return Err(AppError::rate_limited("command", wait));
    }
    let shown = current(&state, &agent.user_id, &device).await?;
    let in_phase = |v: &View| {
        v.snapshot
            .as_ref()
            .and_then(|s| Phase::of(&s.agent.state))
            .is_some()
    };
    if !in_phase(&shown) {
        // The shown state may lag a call that just started: ask CCC before refusing.
        fetch(&state, &agent.user_id, Some(&device)).await?;
    }
    let set_at = now_ms();
    // The phase is read inside the compare-and-set: the call may just have ended.
    let (view, applied) = state
        .hub
        .update_view(&agent.user_id, |v| {
            let phase = v.snapshot.as_ref().and_then(|s| Phase::of(&s.agent.state));
            match phase {
                Some(phase) => v.set_next_state(Some(Pending {
                    next: next.clone(),
                    phase,
                    device_id: device.clone(),
                    set_at,
                })),
                None => Applied::NoBase,
            }
        })
        .await;
    if applied == Applied::NoBase {
        return Err(AppError::conflict(
            ProxyCode::NotInCall,
            "A next state can be chosen only during a call or after-call work.",
        ));
    }
    let phase = view.next_state.as_ref().map(|p| p.phase);
    tracing::info!(user_id = %agent.user_id, next = label(&next), ?phase, "next state: set");
    state.metrics.next_state("set");
    follow(&state, &agent.user_id);
    no_store(&state, &view)
}

/// `DELETE /api/v1/agent/next-state` (also `PUT` with `{"next":null}`).
pub async fn delete(
    State(state): State<AppState>,
    agent: CurrentAgent,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let device = device_id(&headers)?.unwrap_or_else(|| DEFAULT_DEVICE_ID.to_owned());
    cancel(&state, &agent.user_id, &device).await
}

async fn cancel(state: &AppState, user_id: &str, device: &str) -> Result<Response, AppError> {
    current(state, user_id, device).await?;
    let (view, applied) = state
        .hub
        .update_view(user_id, |v| v.set_next_state(None))
        .await;
    if applied == Applied::Changed {
        tracing::info!(user_id, "next state: cancelled");
        state.metrics.next_state("cancelled");
    }
    no_store(state, &view)
}

/// An explicit state command (ready, break, sign-out, reset, work mode)
/// replaces the next state: the agent decided by hand. Call commands
/// (answer, hang up, mute, hold, dial) leave it.
pub async fn cancel_by_command(state: &AppState, user_id: &str, kind: CommandKind) {
    use CommandKind as K;
    if !matches!(
        kind,
        K::SignIn | K::SignOut | K::Ready | K::Break | K::WorkMode | K::Reset
    ) {
        return;
    }
    if state.fleet.is_none()
        && state
            .hub
            .view(user_id)
            .is_none_or(|v| v.next_state.is_none())
    {
        return;
    }
    let (_, applied) = state
        .hub
        .update_view(user_id, |v| v.set_next_state(None))
        .await;
    if applied == Applied::Changed {
        tracing::info!(
            user_id,
            command = kind.name(),
            "next state: replaced by a command"
        );
        state.metrics.next_state("cancelled");
    }
}

/// Makes sure a task of this replica follows `user_id`'s next state.
pub fn follow(state: &AppState, user_id: &str) {
    if state.next_states.lock().insert(user_id.to_owned()) {
        tokio::spawn(run(state.clone(), user_id.to_owned()));
    }
}

async fn run(state: AppState, user_id: String) {
    let mut rx = state.hub.subscribe(&user_id);
    loop {
        let (pending, decision) = {
            let latest = rx.borrow_and_update();
            let pending = latest.view.next_state.clone();
            let decision = pending
                .as_ref()
                .zip(latest.snapshot())
                .map(|(p, s)| decide(p, &s.agent));
            (pending, decision)
        };
        let Some(pending) = pending else {
            // Gone (applied, cancelled): stop, unless it was set again
            // meanwhile (checked under the lock `follow` takes).
            let mut followed = state.next_states.lock();
            if rx.borrow().view.next_state.is_none() {
                followed.remove(&user_id);
                return;
            }
            continue;
        };
        match decision {
            None | Some(Decision::Wait) => {
                if rx.changed().await.is_err() {
                    state.next_states.lock().remove(&user_id);
                    return;
                }
            }
            Some(d) => {
                // Not ours to act on (another replica or the agent came
                // first): wait for the view that says so.
                if !act(&state, &user_id, &pending, d).await && rx.changed().await.is_err() {
                    state.next_states.lock().remove(&user_id);
                    return;
                }
            }
        }
    }
}

/// Clears `pending` from the shared view (unless another replica or the
/// agent did first) and, when that succeeded, does what `decision` says.
/// False when it was not this task's to clear.
async fn act(state: &AppState, user_id: &str, pending: &Pending, decision: Decision) -> bool {
    let (_, claimed) = state
        .hub
        .update_view(user_id, |v| {
            if v.next_state.as_ref() == Some(pending) {
                v.set_next_state(None)
            } else {
                Applied::Stale
            }
        })
        .await;
    if claimed != Applied::Changed {
        return false;
    }
    let next = label(&pending.next);
    let action = match decision {
        Decision::Apply(action) => action,
        Decision::Drop(reason) => {
            tracing::info!(user_id, next, reason, "next state: nothing to do");
            state.metrics.next_state("skipped");
            return true;
        }
        Decision::Wait => return true,
    };
    let result = state
        .client
        .user_action(
            action.ccc_action,
            user_id,
            &pending.device_id,
            action.params,
        )
        .await;
    match result {
        Ok(_) => {
            state.metrics.next_state("applied");
            tracing::info!(
                user_id,
                next,
                action = action.ccc_action,
                waited_ms = now_ms() - pending.set_at,
                "next state: the call is over, agent moved"
            );
            // Every toolbar (and the answer of a reload) sees CCC's truth now.
            if let Err(e) = fetch(state, user_id, Some(&pending.device_id)).await {
                tracing::warn!(user_id, error = %e, "next state: poll after the action failed");
            }
        }
        Err(e) => {
            state.metrics.next_state("failed");
            tracing::warn!(user_id, next, action = action.ccc_action, error = %e, "next state: CCC refused it");
        }
    }
    true
}
