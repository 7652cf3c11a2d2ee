//! Issue 18: transfer, consult, conference and the keypad (ccc-api.md §9).
//!
//! Every agent holds its own view of a call ([`Call`]); a consult puts the
//! same `JobId` in two agents' views, tied by a [`Link`]. The seven actions
//! ([`dispatch`]) change both agents under one lock of the world and push
//! the documented events in order (§9.6). Whatever else ends one side of a
//! consult (a ringing timeout, a reset, ReleaseCall, the customer) is
//! followed by the other side through [`follow`], which
//! [`World::change`] calls.
//!
//! Choices where §9 says nothing (inference, listed in docs/simulator.md):
//! the consulted agent's view of the call has the call type `CONSULTANT`
//! and the customer on `HOLD`; the transferor hanging up mid-consult ends
//! the consulted leg too (the customer was on hold with it); a consulted
//! agent that hangs up leaves the customer on hold with the transferor;
//! leaving a conference of two agents leaves a plain call with the other;
//! a target agent that is not READY is `UserBusy`, as is a skill group
//! without a READY member.

use ccc_model::{
    Action, AgentAction, CallActionData, CallContext, CallType, CccError, ChannelContext,
    ChannelFlag, ChannelState, ErrorCode, Event, EventMessage, Transfer, UserState,
};
use serde_json::Value;

use crate::auth::SignedRequest;
use crate::links::{
    drop_leg, is_dtmf_key, pair, peer_name, set_customer_hold, DtmfKey, DtmfVia, JobRecord,
    TransferRecord, ATTENDED_TRANSFER, BLIND_TRANSFER, CONSULTED,
};
use crate::state_machine::{refuse, Agent, Call, DialOutcome, HangupBy, Link, Peer};
use crate::world::unlink;
use crate::{now_ms, SimState, World};

/// An event of the consult or transfer, named after `agent_id`.
fn message(world: &World, agent_id: &str, event: Event, now: i64) -> EventMessage {
    crate::links::message(world.agents.get(agent_id), agent_id, event, now)
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Timer {
    /// After-call work of `job` began for `user`.
    AfterCall { user: String, job: String },
    /// `user` rings with `job`: ringing timeout and auto-answer.
    Ring { user: String, job: String },
    /// The consulted number answers `user`'s consult of `job`.
    NumberAnswers { user: String, job: String },
}

/// What a transfer resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// An agent (directly, or picked from `skill_group`).
    Agent {
        user_id: String,
        skill_group: Option<String>,
    },
    /// An external number (or, for BlindTransfer, an IVR).
    Number(String),
}

/// The consult of an agent's call as [`World::change`] sees it before a
/// change, so [`follow`] can tell what the change did to the other side.
fn param<'a>(req: &'a SignedRequest, name: &str) -> Option<&'a str> {
    req.param(name).map(str::trim).filter(|v| !v.is_empty())
}

fn required<'a>(req: &'a SignedRequest, name: &str) -> Result<&'a str, CccError> {
    param(req, name).ok_or_else(|| ErrorCode::MissingParameter.with_params([name]))
}

/// The agent's current call `job` (`NotExists.JobId` otherwise), then the
/// state rule of `action`.
fn own_call<'a>(
    world: &'a World,
    user_id: &str,
    job: &str,
    action: AgentAction,
) -> Result<(&'a Agent, &'a Call), CccError> {
    let agent = world
        .agents
        .get(user_id)
        .ok_or_else(|| ErrorCode::NoUser.with_params([user_id]))?;
    let call = agent
        .call
        .as_ref()
        .filter(|c| c.job_id == job)
        .ok_or_else(|| ErrorCode::NoJob.with_params([job]))?;
    refuse(action, &agent.state)?;
    Ok((agent, call))
}

/// No consult in progress on `job`: there is no consult leg.
fn no_consult(job: &str) -> CccError {
    ErrorCode::NoChannel.with_params(["CONSULTANT", job])
}

/// A consult or conference is already in progress.
fn consult_in_progress() -> CccError {
    ErrorCode::ChannelState.with_params(["CONSULTANT", "ANSWERED"])
}

const BLIND_TYPES: &str = "AGENT,SKILL_GROUP,IVR,EXTERNAL_NUMBER";
const CONSULT_TYPES: &str = "AGENT,SKILL_GROUP,EXTERNAL";

/// Reads `Transferee`/`TransfereeType` and finds the target: an agent of
/// the instance (READY, not the caller), a configured skill group with a
/// READY member, or a number. `TransfereeType` left out is guessed from
/// the transferee (`@`: an agent or skill group; digits: a number).
fn resolve(
    state: &SimState,
    world: &World,
    instance: &str,
    me: &str,
    req: &SignedRequest,
    blind: bool,
) -> Result<(Target, String), CccError> {
    let transferee = required(req, "Transferee")?;
    let allowed = if blind { BLIND_TYPES } else { CONSULT_TYPES };
    let groups = state
        .config()
        .instances
        .iter()
        .find(|i| i.id == instance)
        .map(|i| i.skill_groups.as_slice())
        .unwrap_or_default();
    let ty = match param(req, "TransfereeType") {
        Some(t) if allowed.split(',').any(|a| a == t) => t.to_owned(),
        Some(_) => {
            return Err(ErrorCode::ParameterEnumeration.with_params(["TransfereeType", allowed]))
        }
        None if groups.iter().any(|g| g.id == transferee) => "SKILL_GROUP".to_owned(),
        None if transferee.contains('@') => "AGENT".to_owned(),
        None if blind => "EXTERNAL_NUMBER".to_owned(),
        None => "EXTERNAL".to_owned(),
    };
    let target = match ty.as_str() {
        "AGENT" => {
            let agent = world
                .agents
                .get(transferee)
                .filter(|a| a.instance_id == instance)
                .ok_or_else(|| ErrorCode::NoUser.with_params([transferee, instance]))?;
            if agent.user_id == me {
                return Err(ErrorCode::InvalidParameter.with_params(["Transferee"]));
            }
            if agent.state != UserState::Ready {
                return Err(ErrorCode::UserBusy.with_params([transferee]));
            }
            Target::Agent {
                user_id: agent.user_id.clone(),
                skill_group: None,
            }
        }
        "SKILL_GROUP" => {
            let group = groups
                .iter()
                .find(|g| g.id == transferee)
                .ok_or_else(|| ErrorCode::InvalidParameter.with_params(["Transferee"]))?;
            let member = |a: &&Agent| {
                a.skill_groups.contains(&group.id) || group.members.contains(&a.user_id)
            };
            let pick = world
                .instance_agents(instance)
                .iter()
                .filter_map(|u| world.agents.get(u))
                .filter(|a| a.user_id != me && a.state == UserState::Ready)
                .filter(member)
                .min_by_key(|a| (a.state_time, a.user_id.clone()))
                .ok_or_else(|| ErrorCode::UserBusy.with_params([transferee]))?;
            Target::Agent {
                user_id: pick.user_id.clone(),
                skill_group: Some(group.id.clone()),
            }
        }
        // IVR and numbers: the call leaves the agents.
        _ => {
            let digits = transferee.strip_prefix('+').unwrap_or(transferee);
            if !(3..=20).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
                if ty != "IVR" {
                    return Err(ErrorCode::InvalidParameter.with_params(["Transferee"]));
                }
            } else if DialOutcome::of(transferee) == DialOutcome::Busy {
                return Err(ErrorCode::UserBusy.with_params([transferee]));
            }
            Target::Number(transferee.to_owned())
        }
    };
    Ok((target, ty))
}

/// The next channel index of `call`.
fn next_index(call: &Call) -> i64 {
    call.context
        .channel_contexts
        .iter()
        .map(|c| c.index)
        .max()
        .unwrap_or(0)
        + 1
}

/// A new leg to agent `to`.
fn agent_leg(
    index: i64,
    job: &str,
    from: &str,
    to: &Agent,
    call_type: CallType,
    skill_group: Option<&String>,
    now: i64,
) -> ChannelContext {
    ChannelContext {
        index,
        channel_id: format!("ch:user:{from}->{}:{now}:{job}", to.extension),
        channel_state: ChannelState::Ringing,
        call_type: Some(call_type),
        originator: Some(from.to_owned()),
        destination: Some(to.extension.clone()),
        user_id: Some(to.user_id.clone()),
        user_extension: Some(to.extension.clone()),
        skill_group_id: skill_group.cloned(),
        job_id: Some(job.to_owned()),
        timestamp: Some(now),
        ..ChannelContext::default()
    }
}

/// A new leg to an external number.
fn number_leg(index: i64, job: &str, from: &str, number: &str, now: i64) -> ChannelContext {
    ChannelContext {
        index,
        channel_id: format!("ch:customer:{from}->{number}:{now}:{job}"),
        channel_state: ChannelState::Ringing,
        call_type: Some(CallType::Consultant),
        originator: Some(from.to_owned()),
        destination: Some(number.to_owned()),
        job_id: Some(job.to_owned()),
        timestamp: Some(now),
        ..ChannelContext::default()
    }
}

fn call_data(user: &Agent, call: Option<CallContext>) -> Value {
    serde_json::to_value(CallActionData {
        user_context: user.user_context(),
        call_context: call,
    })
    .unwrap_or(Value::Null)
}

/// The result of one action: its events in order and its timers.
#[derive(Default)]
struct Outcome {
    events: Vec<EventMessage>,
    timers: Vec<Timer>,
}

impl Outcome {
    fn change<R>(
        &mut self,
        world: &mut World,
        user_id: &str,
        f: impl FnOnce(&mut Agent) -> R,
    ) -> Option<R> {
        let (r, e) = world.change(user_id, f)?;
        self.events.extend(e);
        Some(r)
    }

    /// `user_id` hangs up `job` and starts its after-call work.
    fn leave(&mut self, world: &mut World, user_id: &str, job: &str, by: HangupBy, now: i64) {
        let _ = self.change(world, user_id, |a| a.hang_up(job, by, now));
        if world
            .agents
            .get(user_id)
            .is_some_and(|a| a.in_after_call_of(job))
        {
            self.timers.push(Timer::AfterCall {
                user: user_id.to_owned(),
                job: job.to_owned(),
            });
        }
    }
}

fn record(world: &mut World, job: &str, r: TransferRecord) {
    world
        .records
        .entry(job.to_owned())
        .or_default()
        .transfers
        .push(r);
}

/// Runs one of the seven actions for `user_id` (an agent of `instance`).
pub(crate) fn dispatch(
    state: &SimState,
    action: Action,
    instance: &str,
    user_id: &str,
    req: &SignedRequest,
) -> Result<Value, CccError> {
    let now = now_ms();
    let mut world = state.world();
    if world
        .agents
        .get(user_id)
        .is_none_or(|a| a.instance_id != instance)
    {
        return Err(ErrorCode::NoUser.with_params([user_id, instance]));
    }
    let mut out = Outcome::default();
    let result = run(
        state, &mut world, action, instance, user_id, req, now, &mut out,
    );
    state.publish(std::mem::take(&mut out.events));
    let due = world.take_due_after_call();
    drop(world);
    for (user, job) in due {
        state.schedule_after_call(&user, &job);
    }
    for timer in out.timers {
        state.start(timer);
    }
    result
}

#[allow(clippy::too_many_arguments)]
fn run(
    state: &SimState,
    world: &mut World,
    action: Action,
    instance: &str,
    me: &str,
    req: &SignedRequest,
    now: i64,
    out: &mut Outcome,
) -> Result<Value, CccError> {
    let job = required(req, "JobId")?.to_owned();
    let job = job.as_str();
    let released = world
        .agents
        .get(me)
        .and_then(|a| a.call.clone())
        .filter(|c| c.job_id == job)
        .map(|mut c| {
            c.release_all(HangupBy::Agent, now);
            c.context
        });
    let rec = |transferee: Option<&str>, ty: Option<&str>, to_user: Option<&str>| TransferRecord {
        action: action.name().to_owned(),
        user_id: me.to_owned(),
        transferee: transferee.map(str::to_owned),
        transferee_type: ty.map(str::to_owned),
        transferor: param(req, "Transferor").map(str::to_owned),
        to_user: to_user.map(str::to_owned),
        at: now,
    };
    match action {
        Action::BlindTransfer | Action::InitiateAttendedTransfer => {
            let blind = action == Action::BlindTransfer;
            required(req, "Transferee")?;
            let (agent, call) = own_call(world, me, job, AgentAction::Transfer)?;
            if call.link.is_some() {
                return Err(consult_in_progress());
            }
            let (target, ty) = resolve(state, world, instance, me, req, blind)?;
            let call = call.clone();
            let from = agent.extension.clone();
            let to_user = match &target {
                Target::Agent { user_id, .. } => Some(user_id.as_str()),
                Target::Number(_) => None,
            };
            let r = rec(param(req, "Transferee"), Some(&ty), to_user);
            record(world, job, r);
            if blind {
                blind_transfer(world, me, &call, &from, target, now, out);
            } else {
                consult(world, me, &call, &from, target, now, out);
            }
        }
        Action::CompleteAttendedTransfer | Action::CancelAttendedTransfer => {
            let complete = action == Action::CompleteAttendedTransfer;
            let rule = if complete {
                AgentAction::CompleteTransfer
            } else {
                AgentAction::CancelTransfer
            };
            let (agent, call) = own_call(world, me, job, rule)?;
            let link = call
                .link
                .clone()
                .filter(|l| l.initiator && !l.conference)
                .ok_or_else(|| no_consult(job))?;
            let from = agent.extension.clone();
            record(world, job, rec(None, None, None));
            if complete {
                complete_transfer(world, me, job, &from, &link, now, out);
            } else {
                cancel(world, me, job, &link, now, out);
            }
        }
        Action::SwitchToConference => {
            let (_, call) = own_call(world, me, job, AgentAction::Conference)?;
            let link = call
                .link
                .clone()
                .filter(|l| l.initiator && !l.conference)
                .ok_or_else(|| no_consult(job))?;
            let leg = call
                .context
                .channel_contexts
                .iter()
                .find(|c| c.channel_id == link.peer_channel)
                .map(|c| c.channel_state.clone())
                .unwrap_or(ChannelState::Released);
            if leg != ChannelState::Answered {
                return Err(ErrorCode::ChannelState.with_params([leg.as_str(), "ANSWERED"]));
            }
            record(world, job, rec(None, None, None));
            conference(world, me, job, &link, now, out);
        }
        Action::EndConference => {
            let (_, call) = own_call(world, me, job, AgentAction::LeaveConference)?;
            let Some(link) = call.link.clone().filter(|l| l.conference) else {
                let ty = call.context.call_type.clone().unwrap_or(CallType::Inbound);
                return Err(ErrorCode::ChannelState.with_params([ty.as_str(), "CONFERENCE"]));
            };
            record(world, job, rec(None, None, None));
            leave_conference(world, me, job, &link, now, out);
        }
        Action::SendDtmfSignaling => {
            let channel = required(req, "ChannelId")?;
            let dtmf = required(req, "Dtmf")?;
            if dtmf.chars().count() > ccc_model::api::DtmfRequest::MAX_DIGITS
                || !dtmf.chars().all(is_dtmf_key)
            {
                return Err(ErrorCode::InvalidParameter.with_params(["Dtmf"]));
            }
            let agent = world
                .agents
                .get(me)
                .ok_or_else(|| ErrorCode::NoUser.with_params([me, instance]))?;
            let call = agent
                .call
                .as_ref()
                .filter(|c| c.job_id == job)
                .ok_or_else(|| ErrorCode::NoJob.with_params([job]))?;
            let live = call.context.channel_contexts.iter().any(|c| {
                c.channel_id == channel
                    && !matches!(
                        c.channel_state,
                        ChannelState::Released | ChannelState::Retired
                    )
            });
            if !live {
                return Err(ErrorCode::NoChannel.with_params([channel, job]));
            }
            refuse(AgentAction::Dtmf, &agent.state)?;
            let entry = world.records.entry(job.to_owned()).or_default();
            for key in dtmf.chars() {
                entry.dtmf.push(key);
                entry.keys.push(DtmfKey {
                    key: key.to_string(),
                    channel_id: channel.to_owned(),
                    user_id: me.to_owned(),
                    at: now,
                    via: DtmfVia::Api,
                });
            }
            tracing::info!(user_id = me, job, keys = dtmf.len(), "dtmf");
        }
        _ => return Err(ErrorCode::ActionNotFound.with_params([action.name()])),
    }
    let agent = world
        .agents
        .get(me)
        .ok_or_else(|| ErrorCode::NoUser.with_params([me, instance]))?;
    // The agent left the call: the call as it was, released (as
    // ReleaseCall answers).
    Ok(call_data(agent, agent.call_context().or(released)))
}

/// BlindTransfer: the transferor leaves first (after-call work at once),
/// then the target rings with the same job (DEV: Released(A) →
/// AgentRelease(A) → BlindTransfer → AgentRinging(B)).
fn blind_transfer(
    world: &mut World,
    me: &str,
    call: &Call,
    from: &str,
    target: Target,
    now: i64,
    out: &mut Outcome,
) {
    let job = call.job_id.as_str();
    let base = call.context.call_type.clone().unwrap_or(CallType::Inbound);
    out.leave(world, me, job, HangupBy::Agent, now);
    let (skill_group, destination) = match &target {
        Target::Agent {
            user_id,
            skill_group,
        } => (
            skill_group.clone(),
            world
                .agents
                .get(user_id)
                .map(|a| a.extension.clone())
                .unwrap_or_default(),
        ),
        Target::Number(n) => (None, n.clone()),
    };
    let e = Event::BlindTransfer(Transfer {
        skill_group_id: skill_group.clone(),
        originator: Some(from.to_owned()),
        destination: Some(destination),
    });
    out.events.push(message(world, me, e, now));
    let Target::Agent { user_id: to, .. } = target else {
        return;
    };
    let Some(to_agent) = world.agents.get(&to) else {
        return;
    };
    let mut customer: Vec<ChannelContext> = call
        .context
        .customer_channel()
        .cloned()
        .into_iter()
        .collect();
    for c in &mut customer {
        c.channel_flags.retain(|f| *f != ChannelFlag::Hold);
    }
    customer.push(agent_leg(
        next_index(call),
        job,
        from,
        to_agent,
        base.clone(),
        skill_group.as_ref(),
        now,
    ));
    let view = Call {
        job_id: job.to_owned(),
        context: CallContext {
            instance_id: call.context.instance_id.clone(),
            job_id: job.to_owned(),
            call_type: Some(base),
            channel_contexts: customer,
            call_variables: call.context.call_variables.clone(),
        },
        dialled_from: None,
        owner: to.clone(),
        scenario: Some(BLIND_TRANSFER.to_owned()),
        link: None,
    };
    if let Some(Ok(())) = out.change(world, &to, |a| a.ring_with(view, now)) {
        out.timers.push(Timer::Ring {
            user: to,
            job: job.to_owned(),
        });
    }
}

/// InitiateAttendedTransfer: InitiateConsultant(A), the customer on hold,
/// then the target rings (Ringing/AgentRinging(B), scenario `CONSULTED`).
fn consult(
    world: &mut World,
    me: &str,
    call: &Call,
    from: &str,
    target: Target,
    now: i64,
    out: &mut Outcome,
) {
    let job = call.job_id.as_str();
    let base = call.context.call_type.clone().unwrap_or(CallType::Inbound);
    let index = next_index(call);
    let (leg, peer, skill_group) = match &target {
        Target::Agent {
            user_id,
            skill_group,
        } => {
            let Some(to) = world.agents.get(user_id) else {
                return;
            };
            (
                agent_leg(
                    index,
                    job,
                    from,
                    to,
                    CallType::Consultant,
                    skill_group.as_ref(),
                    now,
                ),
                Peer::Agent(user_id.clone()),
                skill_group.clone(),
            )
        }
        Target::Number(n) => (
            number_leg(index, job, from, n, now),
            Peer::Number(n.clone()),
            None,
        ),
    };
    let e = Event::InitiateConsultant(pair(skill_group.as_ref(), peer_name(&peer)));
    out.events.push(message(world, me, e, now));
    let link = Link {
        initiator: true,
        peer: peer.clone(),
        peer_channel: leg.channel_id.clone(),
        skill_group: skill_group.clone(),
        conference: false,
        base_type: base.clone(),
    };
    let own_channel = call
        .agent_channel()
        .map(|c| c.channel_id.clone())
        .unwrap_or_default();
    out.change(world, me, |a| {
        if let Some(c) = a.call.as_mut() {
            set_customer_hold(c, true, now);
            c.context.channel_contexts.push(leg);
            c.link = Some(link);
        }
        a.touch(now);
    });
    match peer {
        Peer::Agent(to) => {
            let Some(view) = world.agents.get(me).and_then(|a| a.call.clone()) else {
                return;
            };
            let view = Call {
                context: CallContext {
                    call_type: Some(CallType::Consultant),
                    ..view.context
                },
                owner: to.clone(),
                scenario: Some(CONSULTED.to_owned()),
                link: Some(Link {
                    initiator: false,
                    peer: Peer::Agent(me.to_owned()),
                    peer_channel: own_channel,
                    skill_group,
                    conference: false,
                    base_type: base,
                }),
                dialled_from: None,
                job_id: view.job_id,
            };
            if let Some(Ok(())) = out.change(world, &to, |a| a.ring_with(view, now)) {
                out.timers.push(Timer::Ring {
                    user: to,
                    job: job.to_owned(),
                });
            }
        }
        Peer::Number(n) => {
            if DialOutcome::of(&n) == DialOutcome::Answers {
                out.timers.push(Timer::NumberAnswers {
                    user: me.to_owned(),
                    job: job.to_owned(),
                });
            }
        }
    }
}

/// CompleteAttendedTransfer: the transferor leaves (Released, AgentRelease),
/// AttendedTransfer, StopConsultant; the consulted party has the customer.
fn complete_transfer(
    world: &mut World,
    me: &str,
    job: &str,
    from: &str,
    link: &Link,
    now: i64,
    out: &mut Outcome,
) {
    let own = world
        .agents
        .get(me)
        .and_then(|a| a.call.as_ref())
        .and_then(Call::agent_channel)
        .map(|c| c.channel_id.clone())
        .unwrap_or_default();
    unlink(world, me);
    let mut later = Outcome::default();
    let destination = match &link.peer {
        Peer::Agent(to) => {
            unlink(world, to);
            later.change(world, to, |a| {
                if let Some(c) = a.call.as_mut() {
                    drop_leg(c, &own);
                    set_customer_hold(c, false, now);
                    c.context.call_type = Some(link.base_type.clone());
                    c.scenario = Some(ATTENDED_TRANSFER.to_owned());
                }
                a.touch(now);
            });
            world
                .agents
                .get(to)
                .map(|a| a.extension.clone())
                .unwrap_or_default()
        }
        Peer::Number(n) => n.clone(),
    };
    out.leave(world, me, job, HangupBy::Agent, now);
    let e = Event::AttendedTransfer(Transfer {
        skill_group_id: link.skill_group.clone(),
        originator: Some(from.to_owned()),
        destination: Some(destination),
    });
    out.events.push(message(world, me, e, now));
    let e = Event::StopConsultant(pair(link.skill_group.as_ref(), peer_name(&link.peer)));
    out.events.push(message(world, me, e, now));
    out.events.extend(later.events);
}

/// CancelAttendedTransfer: StopConsultant, the consulted leg ends (a
/// ringing agent is READY again, one that answered goes to after-call
/// work), and the customer is back (Retrieved).
fn cancel(world: &mut World, me: &str, job: &str, link: &Link, now: i64, out: &mut Outcome) {
    unlink(world, me);
    let e = Event::StopConsultant(pair(link.skill_group.as_ref(), peer_name(&link.peer)));
    out.events.push(message(world, me, e, now));
    if let Peer::Agent(to) = &link.peer {
        unlink(world, to);
        out.leave(world, to, job, HangupBy::Customer, now);
    }
    out.change(world, me, |a| {
        if let Some(c) = a.call.as_mut() {
            drop_leg(c, &link.peer_channel);
            set_customer_hold(c, false, now);
        }
        a.touch(now);
    });
}

/// SwitchToConference: the customer is taken off hold and the call is a
/// `CONFERENCE` in both views; StartConference.
fn conference(world: &mut World, me: &str, job: &str, link: &Link, now: i64, out: &mut Outcome) {
    let to_conference = |a: &mut Agent| {
        if let Some(c) = a.call.as_mut().filter(|c| c.job_id == job) {
            set_customer_hold(c, false, now);
            c.context.call_type = Some(CallType::Conference);
            if let Some(l) = c.link.as_mut() {
                l.conference = true;
            }
        }
        a.touch(now);
    };
    out.change(world, me, to_conference);
    let e = Event::StartConference(pair(link.skill_group.as_ref(), peer_name(&link.peer)));
    out.events.push(message(world, me, e, now));
    if let Peer::Agent(to) = &link.peer {
        out.change(world, to, to_conference);
    }
}

/// EndConference: the agent leaves (after-call work); the others go on
/// as a plain call.
fn leave_conference(
    world: &mut World,
    me: &str,
    job: &str,
    link: &Link,
    now: i64,
    out: &mut Outcome,
) {
    let own = world
        .agents
        .get(me)
        .and_then(|a| a.call.as_ref())
        .and_then(Call::agent_channel)
        .map(|c| c.channel_id.clone())
        .unwrap_or_default();
    unlink(world, me);
    let mut later = Outcome::default();
    if let Peer::Agent(other) = &link.peer {
        unlink(world, other);
        later.change(world, other, |a| {
            if let Some(c) = a.call.as_mut() {
                drop_leg(c, &own);
                c.context.call_type = Some(link.base_type.clone());
            }
            a.touch(now);
        });
    }
    out.leave(world, me, job, HangupBy::Agent, now);
    let e = Event::StopConference(pair(link.skill_group.as_ref(), peer_name(&link.peer)));
    out.events.push(message(world, me, e, now));
    out.events.extend(later.events);
}

impl SimState {
    /// Starts a timer of a transfer action.
    pub(crate) fn start(&self, timer: Timer) {
        match timer {
            Timer::AfterCall { user, job } => self.schedule_after_call(&user, &job),
            Timer::Ring { user, job } => self.ring_timers(&user, &job, None),
            Timer::NumberAnswers { user, job } => {
                let Some(ms) = self.dial_timings().answer_ms else {
                    return;
                };
                let state = self.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                    state.number_answers(&user, &job);
                });
            }
        }
    }

    /// The consulted number answers `user_id`'s consult of `job`:
    /// StartConsultant.
    pub(crate) fn number_answers(&self, user_id: &str, job: &str) {
        let now = now_ms();
        let mut world = self.world();
        let answered = world.change(user_id, |a| {
            let c = a.call.as_mut().filter(|c| c.job_id == job)?;
            let link = c
                .link
                .clone()
                .filter(|l| matches!(l.peer, Peer::Number(_)))?;
            let ch = c
                .context
                .channel_contexts
                .iter_mut()
                .find(|ch| ch.channel_id == link.peer_channel)
                .filter(|ch| ch.channel_state == ChannelState::Ringing)?;
            ch.channel_state = ChannelState::Answered;
            ch.timestamp = Some(now);
            a.touch(now);
            Some(link)
        });
        if let Some((Some(link), mut events)) = answered {
            let e = Event::StartConsultant(pair(link.skill_group.as_ref(), peer_name(&link.peer)));
            events.push(message(&world, user_id, e, now));
            self.publish(events);
        }
    }

    /// A keypad key `user_id`'s softphone sent in-band (RFC 4733) on call
    /// `job_id`: recorded with the keys of SendDtmfSignaling, on the
    /// customer's channel, `via: rtp`. Ignored once the agent has left
    /// the call.
    pub fn record_rtp_dtmf(&self, job_id: &str, user_id: &str, key: char) {
        let mut world = self.world();
        let Some(call) = world
            .agents
            .get(user_id)
            .and_then(|a| a.call.as_ref())
            .filter(|c| c.job_id == job_id)
        else {
            tracing::debug!(job_id, user_id, %key, "in-band DTMF after the call: ignored");
            return;
        };
        let channel_id = call
            .context
            .customer_channel()
            .map(|c| c.channel_id.clone())
            .unwrap_or_default();
        let entry = world.records.entry(job_id.to_owned()).or_default();
        entry.dtmf.push(key);
        entry.keys.push(DtmfKey {
            key: key.to_string(),
            channel_id,
            user_id: user_id.to_owned(),
            at: now_ms(),
            via: DtmfVia::Rtp,
        });
        tracing::info!(user_id, job_id, "dtmf in-band");
    }

    /// What call `job_id` recorded (keypad keys, transfers), and who is in
    /// it now; `None` when the simulator never saw it.
    pub fn job_record(&self, job_id: &str) -> Option<(JobRecord, Vec<Agent>)> {
        let world = self.world();
        let members: Vec<Agent> = world
            .job_members(job_id)
            .iter()
            .filter_map(|u| world.agents.get(u).cloned())
            .collect();
        let record = world.records.get(job_id).cloned();
        if record.is_none() && members.is_empty() {
            return None;
        }
        Some((record.unwrap_or_default(), members))
    }
}
