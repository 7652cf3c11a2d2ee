//! The CCC actions the simulator implements, on top of the state machine.

use ccc_model::{Action, CallActionData, CccError, ErrorCode, LoginDetails, PollUserStatusData};
use serde_json::Value;

use crate::auth::{Caller, SignedRequest};
use crate::config::WebhookTarget;
use crate::events;
use crate::state_machine::{Agent, HangupBy};
use crate::{now_ms, realtime, SimState};
use ccc_model::EventType;

// Every `ccc_model::Action` is answered; any other name gets
// `InvalidAction.NotFound` (see `server::handle`).

/// Parses `SignedSkillGroupIdList`: a JSON array of strings (a bare
/// comma-separated list is tolerated).
fn skill_groups(req: &SignedRequest) -> Result<Option<Vec<String>>, CccError> {
    let Some(raw) = req.param("SignedSkillGroupIdList").map(str::trim) else {
        return Ok(None);
    };
    if raw.is_empty() {
        return Ok(Some(Vec::new()));
    }
    if raw.starts_with('[') {
        return serde_json::from_str::<Vec<String>>(raw)
            .map(Some)
            .map_err(|_| ErrorCode::InvalidParameter.with_params(["SignedSkillGroupIdList"]));
    }
    Ok(Some(
        raw.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    ))
}

fn blank_param(v: Option<&str>) -> bool {
    v.is_none_or(|s| s.trim().is_empty())
}

fn boolean(req: &SignedRequest, name: &str) -> Result<bool, CccError> {
    match req.param(name).map(str::trim) {
        None | Some("") => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(_) => Err(ErrorCode::InvalidParameter.with_params([name])),
    }
}

fn call_data(agent: &Agent, call: Option<ccc_model::CallContext>) -> Value {
    let data = CallActionData {
        user_context: agent.user_context(),
        call_context: call,
    };
    serde_json::to_value(data).unwrap_or(Value::Null)
}

fn user_data(agent: &Agent) -> Value {
    serde_json::to_value(agent.user_context()).unwrap_or(Value::Null)
}

/// Runs `action` for an authenticated `caller`; returns the envelope's `Data`.
pub fn dispatch(
    state: &SimState,
    action: Action,
    req: &SignedRequest,
    caller: &Caller,
) -> Result<Value, CccError> {
    let instance = req
        .param("InstanceId")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ErrorCode::MissingParameter.with_params(["InstanceId"]))?;
    if !state.has_instance(instance) {
        return Err(ErrorCode::NoInstance.with_params([instance]));
    }
    match action {
        Action::ListRealtimeAgentStates => {
            let query = realtime::Query::parse(instance, |name| req.param(name))?;
            return Ok(realtime::list(&state.world(), instance, &query));
        }
        Action::UpdateSubscription => return update_subscription(state, instance, req),
        Action::GetTurnServerList => return Ok(crate::sip::actions::turn_server_list(state)),
        _ => {}
    }
    let user_id = state.resolve_user(req.param("UserId"), &caller.access_key_id)?;
    if matches!(
        action,
        Action::BlindTransfer
            | Action::InitiateAttendedTransfer
            | Action::CompleteAttendedTransfer
            | Action::CancelAttendedTransfer
            | Action::SwitchToConference
            | Action::EndConference
            | Action::SendDtmfSignaling
    ) {
        // Issue 18: they change two agents at once.
        return crate::transfer::dispatch(state, action, instance, &user_id, req);
    }
    if matches!(action, Action::GetTurnCredentials | Action::ListDevices) {
        // Issue 20; before the world is locked (they read the registrations).
        return crate::sip::actions::dispatch(state, action.name(), instance, &user_id);
    }
    if action == Action::GetLoginDetails {
        // "Only the agent itself may call it": a key mapped to an agent
        // cannot read another agent's details (inference).
        if let Some(own) = state.default_user_of(&caller.access_key_id) {
            if own != user_id {
                return Err(ErrorCode::Permission.with_params([format!(
                    "GetLoginDetails is only allowed for the user itself ({own})."
                )]));
            }
        }
    }
    let now = now_ms();
    let mut world = state.world();
    if world
        .agents
        .get(&user_id)
        .is_none_or(|a| a.instance_id != instance)
    {
        return Err(ErrorCode::NoUser.with_params([user_id.as_str(), instance]));
    }
    let (result, events) = world
        .change(&user_id, |agent| run(state, action, agent, req, now))
        .ok_or_else(|| ErrorCode::NoUser.with_params([user_id.as_str(), instance]))?;
    state.publish(events);
    let due = world.take_due_after_call();
    drop(world);
    for (user, job) in due {
        state.schedule_after_call(&user, &job);
    }
    let (data, timers) = result?;
    match timers {
        Some(Timers::AfterCall(job)) => state.schedule_after_call(&user_id, &job),
        Some(Timers::Dial {
            job_id,
            callee,
            timeout_ms,
        }) => state.schedule_dial(&user_id, &job_id, &callee, timeout_ms),
        None => {}
    }
    Ok(data)
}

/// Timers an action starts once the world is unlocked.
enum Timers {
    /// After-call work of this call began.
    AfterCall(String),
    /// An outbound attempt began.
    Dial {
        job_id: String,
        callee: String,
        timeout_ms: Option<u64>,
    },
}

/// MakeCall's `TimeoutSeconds`: a positive whole number of seconds, in ms.
fn timeout_ms(req: &SignedRequest) -> Result<Option<u64>, CccError> {
    match req.param("TimeoutSeconds").map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|s| (1..=3_600).contains(s))
            .map(|s| Some(s * 1_000))
            .ok_or_else(|| ErrorCode::InvalidParameter.with_params(["TimeoutSeconds"])),
    }
}

/// Runs an agent action; returns `Data` and the timers it starts.
fn run(
    state: &SimState,
    action: Action,
    agent: &mut Agent,
    req: &SignedRequest,
    now: i64,
) -> Result<(Value, Option<Timers>), CccError> {
    let device = req.param("DeviceId");
    let job = req.param("JobId");
    let channel = req.param("ChannelId");
    let data = match action {
        Action::SignInGroup => {
            let previous = agent.sign_in(device, skill_groups(req)?, now)?;
            if let Some(previous) = previous {
                tracing::info!(
                    user_id = agent.user_id,
                    previous,
                    new = device,
                    "device takeover"
                );
            }
            user_data(agent)
        }
        Action::SignOutGroup => {
            agent.sign_out(now)?;
            user_data(agent)
        }
        Action::ReadyForService => {
            agent.ready(boolean(req, "OutboundScenario")?, now)?;
            user_data(agent)
        }
        Action::TakeBreak => {
            agent.take_break(req.param("Code"), now)?;
            user_data(agent)
        }
        Action::ChangeWorkMode => {
            agent.change_work_mode(
                req.param("WorkMode"),
                req.param("Mobile"),
                skill_groups(req)?,
                now,
            )?;
            user_data(agent)
        }
        Action::ResetAgentState => {
            agent.reset(now);
            user_data(agent)
        }
        Action::PollUserStatus => serde_json::to_value(PollUserStatusData {
            context_id: agent.context_id,
            user_context: agent.user_context(),
            call_context: agent.call_context(),
        })
        .unwrap_or(Value::Null),
        Action::MuteCall | Action::UnmuteCall => {
            agent.set_muted(action == Action::MuteCall, job, channel, now)?;
            call_data(agent, agent.call_context())
        }
        Action::AnswerCall => {
            agent.answer(job, channel, now)?;
            call_data(agent, agent.call_context())
        }
        Action::ReleaseCall => {
            let mut before = agent.call.clone();
            agent.release(job, channel, now)?;
            if let Some(call) = before.as_mut() {
                call.release_all(HangupBy::Agent, now);
            }
            let after_call = before
                .as_ref()
                .filter(|c| agent.in_after_call_of(&c.job_id))
                .map(|c| Timers::AfterCall(c.job_id.clone()));
            return Ok((call_data(agent, before.map(|c| c.context)), after_call));
        }
        Action::MakeCall => {
            if blank_param(device) {
                return Err(ErrorCode::MissingParameter.with_params(["DeviceId"]));
            }
            let timeout_ms = timeout_ms(req)?;
            let job_id = state.next_job_id();
            let callee = req.param("Callee").map(str::trim).unwrap_or_default();
            agent.dial(&job_id, Some(callee), req.param("Caller"), now)?;
            let timers = Timers::Dial {
                job_id,
                callee: callee.to_owned(),
                timeout_ms,
            };
            return Ok((call_data(agent, agent.call_context()), Some(timers)));
        }
        Action::HoldCall | Action::RetrieveCall => {
            agent.set_held(action == Action::HoldCall, job, channel, now)?;
            call_data(agent, agent.call_context())
        }
        Action::GetLoginDetails => {
            let details = serde_json::to_value(LoginDetails {
                user_id: agent.user_id.clone(),
                display_name: agent.display_name.clone(),
                extension: agent.extension.clone(),
                work_mode: Some(agent.work_mode.clone()),
                device_id: agent.device_id.clone(),
                sip_server_url: None,
                ..LoginDetails::default()
            })
            .unwrap_or(Value::Null);
            // Issue 20: SipServerUrl and the H1 credentials.
            crate::sip::actions::login_details(state, agent, req.header("host"), details, now)
        }
        // Answered by `dispatch` before an agent is looked up.
        Action::BlindTransfer
        | Action::InitiateAttendedTransfer
        | Action::CompleteAttendedTransfer
        | Action::CancelAttendedTransfer
        | Action::SwitchToConference
        | Action::EndConference
        | Action::SendDtmfSignaling
        | Action::ListRealtimeAgentStates
        | Action::UpdateSubscription
        | Action::GetTurnServerList
        | Action::GetTurnCredentials
        | Action::ListDevices => return Err(ErrorCode::ActionNotFound.with_params([action.name()])),
    };
    Ok((data, None))
}

/// Webhook mode of the event subscription.
pub const WEBHOOK_PRODUCER_ID: &str = "PID_Webhook";
/// Webhook mode's topic.
pub const WEBHOOK_TOPIC: &str = "Topic_Webhook";

/// One entry of `EventSubscriptionsJson` (inference: the shape is not
/// documented).
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EventSwitch {
    event_type: String,
    enabled: bool,
}

/// `UpdateSubscription` in webhook mode: `ProducerId=PID_Webhook`,
/// `DefaultTopic=Topic_Webhook`, `AccessPoint` the receiver's URL (kept
/// when omitted), `EventSubscriptionsJson` switches events on or off. The
/// token set by flag, config or admin API is kept.
fn update_subscription(
    state: &SimState,
    instance: &str,
    req: &SignedRequest,
) -> Result<Value, CccError> {
    let given = |name: &str| req.param(name).map(str::trim).filter(|v| !v.is_empty());
    for (name, expected) in [
        ("ProducerId", WEBHOOK_PRODUCER_ID),
        ("DefaultTopic", WEBHOOK_TOPIC),
    ] {
        if given(name).is_some_and(|v| v != expected) {
            // RocketMQ mode is not simulated.
            return Err(ErrorCode::InvalidParameter.with_params([name]));
        }
    }
    let current = state.subscription();
    let target = match given("AccessPoint") {
        Some(url) => Some(
            WebhookTarget::new(
                url,
                current
                    .targets
                    .first()
                    .and_then(|t| t.token().map(str::to_owned)),
            )
            .map_err(|_| ErrorCode::InvalidParameter.with_params(["AccessPoint"]))?,
        ),
        None if !current.targets.is_empty() => None,
        None => return Err(ErrorCode::ParameterBlank.with_params(["AccessPoint"])),
    };
    let switches = match given("EventSubscriptionsJson") {
        None => Vec::new(),
        Some(json) => {
            let bad = || ErrorCode::InvalidParameter.with_params(["EventSubscriptionsJson"]);
            let list: Vec<EventSwitch> = serde_json::from_str(json).map_err(|_| bad())?;
            let mut switches = Vec::new();
            for s in list {
                // Documented types the simulator never produces (consultation,
                // transfer, supervisor) are accepted and change nothing.
                match EventType::parse(&s.event_type) {
                    Some(ty) if events::PRODUCED.contains(&ty) => switches.push((ty, s.enabled)),
                    Some(_) => {}
                    None => return Err(bad()),
                }
            }
            switches
        }
    };
    if let Some(target) = target {
        // The API has one access point: it replaces every receiver.
        state.set_webhook(Some(target));
    }
    state.set_events_enabled(&switches);
    let disabled = state.subscription().disabled;
    let events: Vec<Value> = events::PRODUCED
        .iter()
        .map(
            |ty| serde_json::json!({ "EventType": ty.as_str(), "Enabled": !disabled.contains(ty) }),
        )
        .collect();
    Ok(serde_json::json!({
        "InstanceId": instance,
        "ProducerId": WEBHOOK_PRODUCER_ID,
        "DefaultTopic": WEBHOOK_TOPIC,
        "EventSubscriptions": events,
    }))
}
