//! CCC's agent and channel events (ccc-api.md §8.2), derived from what a
//! change did to an agent: every transition of the state machine, whoever
//! caused it (an RPC, a timer, the admin API), becomes the events the
//! cloud pushes, in the documented message format.
//!
//! [`events_of`] is a pure function of the agent before and after the
//! change ([`Snapshot`]), so the mapping is tested without HTTP. The
//! events are ccc-model's typed [`EventMessage`]s (the proxy decodes the
//! same type); every agent event implies exactly one `UserState`
//! ([`EventType::implied_state`]); channel events never change the state.

use std::collections::BTreeMap;

use ccc_model::{break_codes, CallLeg, CallType, Event, EventMessage, EventType, UserState};

use crate::state_machine::Agent;

/// The event types the simulator produces (the agent and channel events of
/// ccc-api.md §8.2, and the transfer ones of §9.6); the supervisor ones
/// are not simulated yet.
pub const PRODUCED: &[EventType] = &[
    EventType::AgentCheckIn,
    EventType::AgentReady,
    EventType::AgentDialing,
    EventType::AgentRinging,
    EventType::AgentTalk,
    EventType::AgentRelease,
    EventType::AgentBreak,
    EventType::AgentCheckOut,
    EventType::RingingTimeout,
    EventType::Dialing,
    EventType::Ringing,
    EventType::Established,
    EventType::Released,
    EventType::Muted,
    EventType::Unmuted,
    EventType::Held,
    EventType::Retrieved,
    // Issue 18: transfers, consults and conferences.
    EventType::BlindTransfer,
    EventType::InitiateConsultant,
    EventType::StartConsultant,
    EventType::StopConsultant,
    EventType::AttendedTransfer,
    EventType::StartConference,
    EventType::StopConference,
];

/// Formats epoch ms as `yyyy-MM-ddTHH:mm:ss.SSSZ` (UTC).
pub fn format_event_time(ms: i64) -> String {
    let secs = ccc_model::signing::format_timestamp(ms.div_euclid(1000));
    format!("{}.{:03}Z", &secs[..19], ms.rem_euclid(1000))
}

/// Parses [`format_event_time`]'s output back into epoch ms.
pub fn parse_event_time(s: &str) -> Option<i64> {
    let (secs, millis) = s.strip_suffix('Z')?.split_once('.')?;
    let secs = ccc_model::signing::parse_timestamp(&format!("{secs}Z"))?;
    let millis: i64 = millis.parse().ok().filter(|m| (0..1000).contains(m))?;
    Some(secs * 1000 + millis)
}

/// The call as events describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallFacts {
    /// `JobId` (events call it `contactId`).
    pub job_id: String,
    /// The agent's own channel.
    pub channel_id: String,
    /// The call type.
    pub call_type: CallType,
    /// The customer's number.
    pub counter_party: String,
    /// The agent's channel is answered.
    pub answered: bool,
    /// The agent's channel carries `MUTED`.
    pub muted: bool,
    /// The customer's channel.
    pub customer_channel_id: String,
    /// The customer's channel carries `HOLD`.
    pub held: bool,
    /// Issue 18: the `scenario` of agent events (`BLIND_TRANSFER`,
    /// `CONSULTED`, ...); `None`: the call type.
    pub scenario: Option<String>,
}

/// What events need to know of an agent at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// `name@instance`.
    pub user_id: String,
    /// The instance.
    pub instance_id: String,
    /// The state.
    pub state: UserState,
    /// The break code.
    pub break_code: Option<String>,
    /// The active device.
    pub device_id: Option<String>,
    /// Outbound-only mode.
    pub outbound_scenario: bool,
    /// Signed-in skill groups.
    pub skill_groups: Vec<String>,
    /// The current call.
    pub call: Option<CallFacts>,
    /// `ContextId`.
    pub context_id: i64,
    /// Time of the last operation (epoch ms).
    pub heartbeat: i64,
}

impl Snapshot {
    /// The snapshot of `agent` now.
    pub fn of(agent: &Agent) -> Self {
        let call = agent.call.as_ref().map(|c| {
            let own = c.agent_channel();
            CallFacts {
                job_id: c.job_id.clone(),
                channel_id: own.map(|ch| ch.channel_id.clone()).unwrap_or_default(),
                call_type: c.context.call_type.clone().unwrap_or(CallType::Inbound),
                counter_party: c.counter_party().unwrap_or_default().to_owned(),
                answered: own
                    .is_some_and(|ch| ch.channel_state == ccc_model::ChannelState::Answered),
                muted: own
                    .is_some_and(|ch| ch.channel_flags.contains(&ccc_model::ChannelFlag::Muted)),
                customer_channel_id: c
                    .context
                    .customer_channel()
                    .map(|ch| ch.channel_id.clone())
                    .unwrap_or_default(),
                held: c.context.is_held(),
                scenario: c.scenario.clone(),
            }
        });
        Snapshot {
            user_id: agent.user_id.clone(),
            instance_id: agent.instance_id.clone(),
            state: agent.state.clone(),
            break_code: agent.break_code.clone(),
            device_id: agent.device_id.clone(),
            outbound_scenario: agent.outbound_scenario,
            skill_groups: agent.skill_groups.clone(),
            call,
            context_id: agent.context_id,
            heartbeat: agent.heartbeat,
        }
    }
}

fn event(event: Event, after: &Snapshot) -> EventMessage {
    let agent_event = event.event_type().is_some_and(EventType::is_agent_event);
    EventMessage {
        event_time: format_event_time(after.heartbeat),
        instance_id: after.instance_id.clone(),
        agent_id: Some(after.user_id.clone()),
        skill_group_ids: agent_event.then(|| after.skill_groups.clone()),
        context_id: Some(after.context_id),
        event,
    }
}

/// The call fields of `call` as events carry them: agent events add the
/// skill group and the scenario (how the agent came to the call after a
/// transfer or consult, else the call type).
fn leg(call: &CallFacts, after: &Snapshot, agent_event: bool) -> CallLeg {
    CallLeg {
        contact_id: Some(call.job_id.clone()),
        channel_id: Some(call.channel_id.clone()),
        call_type: Some(call.call_type.clone()),
        skill_group_id: agent_event
            .then(|| after.skill_groups.first().cloned().unwrap_or_default()),
        scenario: agent_event.then(|| {
            call.scenario
                .clone()
                .unwrap_or_else(|| call.call_type.as_str().to_owned())
        }),
    }
}

/// A channel event of `call`.
fn channel(make: fn(CallLeg) -> Event, call: &CallFacts, after: &Snapshot) -> EventMessage {
    event(make(leg(call, after, false)), after)
}

/// The events a change from `before` to `after` pushes, in order. Nothing
/// when nothing an event reports changed (a poll, a failed operation, a
/// work-mode change, a repeated sign-in from the same device).
pub fn events_of(before: &Snapshot, after: &Snapshot) -> Vec<EventMessage> {
    let mut out = Vec::new();
    let same_call =
        before.call.as_ref().map(|c| &c.job_id) == after.call.as_ref().map(|c| &c.job_id);
    // Channel events of the call that goes on.
    if let (true, Some(b), Some(a)) = (same_call, &before.call, &after.call) {
        if !b.answered && a.answered {
            out.push(channel(Event::Established, a, after));
        }
        if b.muted != a.muted {
            let make = if a.muted {
                Event::Muted
            } else {
                Event::Unmuted
            };
            out.push(channel(make, a, after));
        }
        if b.held != a.held {
            let make = if a.held {
                Event::Held
            } else {
                Event::Retrieved
            };
            // The event names the held leg: the customer's.
            let mut l = leg(a, after, false);
            l.channel_id = Some(a.customer_channel_id.clone());
            out.push(event(make(l), after));
        }
    }
    // A call that ended or was replaced.
    if let (false, Some(b)) = (same_call, &before.call) {
        out.push(channel(Event::Released, b, after));
    }
    if let (false, Some(a)) = (same_call, &after.call) {
        let make = match a.call_type {
            CallType::Outbound => Event::Dialing,
            _ => Event::Ringing,
        };
        out.push(channel(make, a, after));
    }
    let online = after.state != UserState::Offline;
    let device_changed = online && before.device_id != after.device_id;
    let changed = before.state != after.state
        || before.break_code != after.break_code
        || !same_call
        || device_changed
        || (after.state == UserState::Ready && before.outbound_scenario != after.outbound_scenario);
    if !changed {
        return out;
    }
    let agent_call = |make: fn(CallLeg) -> Event, call: Option<&CallFacts>| {
        let l = call.map_or_else(CallLeg::default, |c| leg(c, after, true));
        event(make(l), after)
    };
    match &after.state {
        UserState::Offline => out.push(event(Event::AgentCheckOut, after)),
        UserState::Break => {
            let code = after.break_code.clone().unwrap_or_default();
            if code == break_codes::WARM_UP
                && (before.state == UserState::Offline || device_changed)
            {
                let levels: BTreeMap<String, i64> =
                    after.skill_groups.iter().map(|g| (g.clone(), 1)).collect();
                out.push(event(
                    Event::AgentCheckIn {
                        skill_levels: Some(levels),
                        break_code: None,
                    },
                    after,
                ));
            }
            let break_code = Some(code.clone());
            let e = if before.state == UserState::Ringing && code == break_codes::RINGING_TIMEOUT {
                Event::RingingTimeout { break_code }
            } else {
                Event::AgentBreak { break_code }
            };
            out.push(event(e, after));
        }
        UserState::Ready => out.push(event(
            Event::AgentReady {
                outbound_scenario: Some(after.outbound_scenario),
            },
            after,
        )),
        UserState::Working => out.push(agent_call(Event::AgentRelease, before.call.as_ref())),
        UserState::Ringing => out.push(agent_call(Event::AgentRinging, after.call.as_ref())),
        UserState::Talking => out.push(agent_call(Event::AgentTalk, after.call.as_ref())),
        UserState::Dialing => out.push(agent_call(Event::AgentDialing, after.call.as_ref())),
        UserState::Unknown(_) => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state_machine::tests::agent;
    use crate::state_machine::HangupBy;

    const T0: i64 = 1_764_957_768_123;

    /// Runs `f` on `a` and returns the event types it pushed.
    fn step(a: &mut Agent, f: impl FnOnce(&mut Agent)) -> Vec<EventMessage> {
        let before = Snapshot::of(a);
        f(a);
        events_of(&before, &Snapshot::of(a))
    }

    fn types(events: &[EventMessage]) -> Vec<&str> {
        events.iter().map(|e| e.event.name()).collect()
    }

    /// The event as it goes on the wire.
    fn wire(e: &EventMessage) -> serde_json::Value {
        serde_json::to_value(e).unwrap()
    }

    #[test]
    fn event_time_has_milliseconds_and_round_trips() {
        assert_eq!(format_event_time(T0), "2025-12-05T18:02:48.123Z");
        assert_eq!(format_event_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(parse_event_time("2025-12-05T18:02:48.123Z"), Some(T0));
        assert_eq!(parse_event_time("2025-12-05T18:02:48Z"), None);
    }

    #[test]
    fn a_working_day_in_events() {
        let mut a = agent();
        let e = step(&mut a, |a| {
            a.sign_in(Some("dev"), Some(vec!["sg1".into()]), T0 + 1)
                .unwrap();
        });
        assert_eq!(types(&e), ["AgentCheckIn", "AgentBreak"]);
        assert_eq!(wire(&e[0])["skillLevels"], serde_json::json!({"sg1": 1}));
        assert_eq!(wire(&e[1])["breakCode"], "Warm-up");
        assert!(e.iter().all(|e| e.context_id == Some(a.context_id)));

        let e = step(&mut a, |a| a.ready(true, T0 + 2).unwrap());
        assert_eq!(types(&e), ["AgentReady"]);
        assert_eq!(wire(&e[0])["outboundScenario"], true);
        assert_eq!(wire(&e[0])["skillGroupIds"], serde_json::json!(["sg1"]));

        let e = step(&mut a, |a| a.ring("job-1", "13800000000", T0 + 3).unwrap());
        assert_eq!(types(&e), ["Ringing", "AgentRinging"]);
        assert_eq!(wire(&e[1])["contactId"], "job-1");
        assert_eq!(wire(&e[1])["callType"], "INBOUND");
        assert!(wire(&e[1])["channelId"]
            .as_str()
            .unwrap()
            .starts_with("ch:user:"));

        let e = step(&mut a, |a| a.answer(Some("job-1"), None, T0 + 4).unwrap());
        assert_eq!(types(&e), ["Established", "AgentTalk"]);
        let e = step(&mut a, |a| {
            a.set_muted(true, Some("job-1"), None, T0 + 5).unwrap()
        });
        assert_eq!(types(&e), ["Muted"]);
        assert!(wire(&e[0]).get("skillGroupIds").is_none());
        let e = step(&mut a, |a| {
            a.set_muted(false, Some("job-1"), None, T0 + 6).unwrap()
        });
        assert_eq!(types(&e), ["Unmuted"]);

        let e = step(&mut a, |a| {
            a.hang_up("job-1", HangupBy::Customer, T0 + 7).unwrap();
        });
        assert_eq!(types(&e), ["Released", "AgentRelease"]);
        assert_eq!(wire(&e[1])["contactId"], "job-1");
        let e = step(&mut a, |a| {
            a.after_call_done("job-1", T0 + 8);
        });
        assert_eq!(types(&e), ["AgentReady"]);
        let e = step(&mut a, |a| a.take_break(Some("lunch"), T0 + 9).unwrap());
        assert_eq!(types(&e), ["AgentBreak"]);
        assert_eq!(wire(&e[0])["breakCode"], "lunch");
        assert_eq!(e[0].event_time, format_event_time(T0 + 9));
        let e = step(&mut a, |a| a.sign_out(T0 + 10).unwrap());
        assert_eq!(types(&e), ["AgentCheckOut"]);
    }

    #[test]
    fn ringing_ends_three_ways() {
        let ringing = || {
            let mut a = agent();
            a.sign_in(Some("d"), None, T0).unwrap();
            a.ready(false, T0).unwrap();
            a.ring("job-1", "1", T0).unwrap();
            a
        };
        let mut a = ringing();
        let e = step(&mut a, |a| {
            a.ringing_timeout("job-1", T0 + 1);
        });
        assert_eq!(types(&e), ["Released", "RingingTimeout"]);
        assert_eq!(wire(&e[1])["breakCode"], "RingingTimeout");
        let mut a = ringing();
        let e = step(&mut a, |a| {
            a.release(Some("job-1"), None, T0 + 1).unwrap();
        });
        assert_eq!(types(&e), ["Released", "AgentBreak"]);
        assert_eq!(wire(&e[1])["breakCode"], "RejectCall");
        let mut a = ringing();
        let e = step(&mut a, |a| {
            a.hang_up("job-1", HangupBy::Customer, T0 + 1).unwrap();
        });
        assert_eq!(types(&e), ["Released", "AgentReady"]);
    }

    #[test]
    fn quiet_changes_push_nothing() {
        let mut a = agent();
        a.sign_in(Some("d"), None, T0).unwrap();
        a.ready(false, T0).unwrap();
        assert!(step(&mut a, |a| {
            a.sign_in(Some("d"), None, T0 + 1).unwrap();
        })
        .is_empty());
        assert!(step(&mut a, |a| {
            a.change_work_mode(Some("OFFICE_PHONE"), None, None, T0 + 2)
                .unwrap()
        })
        .is_empty());
        assert!(step(&mut a, |a| {
            let _ = a.answer(Some("job-x"), None, T0 + 3);
        })
        .is_empty());
    }

    #[test]
    fn takeover_and_reset_during_a_call() {
        let mut a = agent();
        a.sign_in(Some("d1"), None, T0).unwrap();
        a.ready(false, T0).unwrap();
        let e = step(&mut a, |a| {
            a.sign_in(Some("d2"), None, T0 + 1).unwrap();
        });
        assert_eq!(types(&e), ["AgentCheckIn", "AgentBreak"]);
        a.ready(false, T0 + 2).unwrap();
        a.ring("job-1", "1", T0 + 3).unwrap();
        a.answer(Some("job-1"), None, T0 + 4).unwrap();
        let e = step(&mut a, |a| a.reset(T0 + 5));
        assert_eq!(types(&e), ["Released", "AgentCheckOut"]);
    }

    #[test]
    fn serialized_shape() {
        let mut a = agent();
        let e = step(&mut a, |a| {
            a.sign_in(Some("d"), None, T0).unwrap();
        });
        let v = serde_json::to_value(&e[1]).unwrap();
        assert_eq!(v["eventType"], "AgentBreak");
        assert_eq!(v["eventTime"], "2025-12-05T18:02:48.123Z");
        assert_eq!(v["instanceId"], "ccc-demo");
        assert_eq!(v["agentId"], "agent1@ccc-demo");
        assert_eq!(v["skillGroupIds"], serde_json::json!([]));
        assert_eq!(v["breakCode"], "Warm-up");
        assert_eq!(v["contextId"], a.context_id);
    }

    #[test]
    fn an_outbound_call_in_events() {
        let mut a = agent();
        a.sign_in(Some("d"), None, T0).unwrap();
        a.take_break(Some("lunch"), T0).unwrap();
        let e = step(&mut a, |a| {
            a.dial("job-2", Some("13812345678"), None, T0 + 1).unwrap()
        });
        assert_eq!(types(&e), ["Dialing", "AgentDialing"]);
        assert_eq!(wire(&e[1])["contactId"], "job-2");
        assert_eq!(wire(&e[1])["callType"], "OUTBOUND");
        let e = step(&mut a, |a| {
            a.customer_answers("job-2", T0 + 2);
        });
        assert_eq!(types(&e), ["Established", "AgentTalk"]);
        let customer = a
            .call_context()
            .unwrap()
            .customer_channel()
            .unwrap()
            .channel_id
            .clone();
        let e = step(&mut a, |a| {
            a.set_held(true, Some("job-2"), Some(&customer), T0 + 3)
                .unwrap()
        });
        assert_eq!(types(&e), ["Held"]);
        assert_eq!(wire(&e[0])["channelId"], customer.as_str());
        assert_eq!(wire(&e[0])["contactId"], "job-2");
        assert_eq!(e[0].event_type().unwrap().implied_state(), None);
        let e = step(&mut a, |a| {
            a.set_held(false, Some("job-2"), Some(&customer), T0 + 4)
                .unwrap()
        });
        assert_eq!(types(&e), ["Retrieved"]);
        let e = step(&mut a, |a| {
            a.release(Some("job-2"), None, T0 + 5).unwrap();
        });
        assert_eq!(types(&e), ["Released", "AgentRelease"]);

        // Cancelled while dialing: back to the break it dialled from.
        a.after_call_done("job-2", T0 + 6);
        a.take_break(Some("lunch"), T0 + 7).unwrap();
        a.dial("job-3", Some("13812345678"), None, T0 + 8).unwrap();
        let e = step(&mut a, |a| {
            a.release(Some("job-3"), None, T0 + 9).unwrap();
        });
        assert_eq!(types(&e), ["Released", "AgentBreak"]);
        assert_eq!(wire(&e[1])["breakCode"], "lunch");
    }
}
