//! CCC's agent and channel events (ccc-api.md §8.2), derived from what a
//! change did to an agent: every transition of the state machine, whoever
//! caused it (an RPC, a timer, the admin API), becomes the events the
//! cloud pushes, in the documented message format.
//!
//! [`events_of`] is a pure function of the agent before and after the
//! change ([`Snapshot`]), so the mapping is tested without HTTP. Every
//! agent event implies exactly one `UserState` ([`EventType::implied_state`]);
//! channel events never change the state.

use ccc_model::{break_codes, CallType, UserState};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::state_machine::Agent;

macro_rules! event_types {
    ( $( $(#[$m:meta])* $variant:ident ),+ $(,)? ) => {
        /// An event type of ccc-api.md §8.2 that the simulator produces.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventType {
            $( $(#[$m])* $variant, )+
        }

        impl EventType {
            /// Every event type the simulator produces.
            pub const ALL: &'static [EventType] = &[ $( EventType::$variant ),+ ];

            /// The wire name (`eventType`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $( EventType::$variant => stringify!($variant), )+
                }
            }

            /// Parses a wire name.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $( stringify!($variant) => Some(EventType::$variant), )+
                    _ => None,
                }
            }
        }
    };
}

event_types! {
    /// Signed in (new device or from OFFLINE): BREAK / `Warm-up`.
    AgentCheckIn,
    /// READY (carries `outboundScenario`).
    AgentReady,
    /// An outbound call is dialing: DIALING.
    AgentDialing,
    /// A call rings the agent: RINGING.
    AgentRinging,
    /// The call is answered: TALKING.
    AgentTalk,
    /// The answered call ended: WORKING (after-call work).
    AgentRelease,
    /// BREAK with `breakCode`.
    AgentBreak,
    /// Signed out or reset: OFFLINE.
    AgentCheckOut,
    /// Unanswered ringing: BREAK / `RingingTimeout`.
    RingingTimeout,
    /// Channel: an outbound call starts dialing the customer.
    Dialing,
    /// Channel: the agent's leg rings.
    Ringing,
    /// Channel: the agent's leg is answered.
    Established,
    /// Channel: the agent's leg is released.
    Released,
    /// Channel: the agent muted itself.
    Muted,
    /// Channel: the agent unmuted itself.
    Unmuted,
    /// Channel: the customer's leg is put on hold.
    Held,
    /// Channel: the customer's leg is taken off hold.
    Retrieved,
}

impl EventType {
    /// The `UserState` an agent event puts the agent in; `None` for
    /// channel events, which never change the agent's state.
    pub fn implied_state(self) -> Option<UserState> {
        Some(match self {
            EventType::AgentCheckIn | EventType::AgentBreak | EventType::RingingTimeout => {
                UserState::Break
            }
            EventType::AgentReady => UserState::Ready,
            EventType::AgentDialing => UserState::Dialing,
            EventType::AgentRinging => UserState::Ringing,
            EventType::AgentTalk => UserState::Talking,
            EventType::AgentRelease => UserState::Working,
            EventType::AgentCheckOut => UserState::Offline,
            EventType::Dialing
            | EventType::Ringing
            | EventType::Established
            | EventType::Released
            | EventType::Muted
            | EventType::Unmuted
            | EventType::Held
            | EventType::Retrieved => return None,
        })
    }

    /// True for agent events (they carry `agentId` and `skillGroupIds`).
    pub fn is_agent_event(self) -> bool {
        self.implied_state().is_some()
    }
}

impl Serialize for EventType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One pushed event: the documented common fields plus the type's own
/// (camelCase, as CCC's message format). Extra fields are flattened in.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// UTC ISO-8601 with milliseconds, e.g. `2026-12-05T18:02:48.123Z`.
    pub event_time: String,
    /// The event type.
    pub event_type: EventType,
    /// The instance.
    pub instance_id: String,
    /// The agent (`name@instance`, the UserId).
    pub agent_id: String,
    /// Simulator extension: the agent's `ContextId` after the change (as
    /// PollUserStatus would show it). The real cloud does not send it.
    pub context_id: i64,
    /// The type's own fields (`skillGroupIds`, `breakCode`, `contactId`, ...).
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

impl Event {
    /// The epoch milliseconds of `eventTime`.
    pub fn time_ms(&self) -> Option<i64> {
        parse_event_time(&self.event_time)
    }
}

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

fn event(ty: EventType, after: &Snapshot) -> Event {
    let mut fields = Map::new();
    if ty.is_agent_event() {
        fields.insert(
            "skillGroupIds".into(),
            Value::from(after.skill_groups.clone()),
        );
    }
    Event {
        event_time: format_event_time(after.heartbeat),
        event_type: ty,
        instance_id: after.instance_id.clone(),
        agent_id: after.user_id.clone(),
        context_id: after.context_id,
        fields,
    }
}

fn with_call(mut e: Event, call: &CallFacts, after: &Snapshot) -> Event {
    let f = &mut e.fields;
    f.insert("contactId".into(), call.job_id.clone().into());
    f.insert("channelId".into(), call.channel_id.clone().into());
    f.insert("callType".into(), call.call_type.as_str().into());
    if e.event_type.is_agent_event() {
        let group = after.skill_groups.first().cloned().unwrap_or_default();
        f.insert("skillGroupId".into(), group.into());
        f.insert("scenario".into(), call.call_type.as_str().into());
    }
    e
}

/// The events a change from `before` to `after` pushes, in order. Nothing
/// when nothing an event reports changed (a poll, a failed operation, a
/// work-mode change, a repeated sign-in from the same device).
pub fn events_of(before: &Snapshot, after: &Snapshot) -> Vec<Event> {
    let mut out = Vec::new();
    let same_call =
        before.call.as_ref().map(|c| &c.job_id) == after.call.as_ref().map(|c| &c.job_id);
    // Channel events of the call that goes on.
    if let (true, Some(b), Some(a)) = (same_call, &before.call, &after.call) {
        if !b.answered && a.answered {
            out.push(with_call(event(EventType::Established, after), a, after));
        }
        if b.muted != a.muted {
            let ty = if a.muted {
                EventType::Muted
            } else {
                EventType::Unmuted
            };
            out.push(with_call(event(ty, after), a, after));
        }
        if b.held != a.held {
            let ty = if a.held {
                EventType::Held
            } else {
                EventType::Retrieved
            };
            // The event names the held leg: the customer's.
            let mut e = with_call(event(ty, after), a, after);
            e.fields
                .insert("channelId".into(), a.customer_channel_id.clone().into());
            out.push(e);
        }
    }
    // A call that ended or was replaced.
    if let (false, Some(b)) = (same_call, &before.call) {
        out.push(with_call(event(EventType::Released, after), b, after));
    }
    if let (false, Some(a)) = (same_call, &after.call) {
        let ty = match a.call_type {
            CallType::Outbound => EventType::Dialing,
            _ => EventType::Ringing,
        };
        out.push(with_call(event(ty, after), a, after));
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
    let agent_event = |ty: EventType| event(ty, after);
    match &after.state {
        UserState::Offline => out.push(agent_event(EventType::AgentCheckOut)),
        UserState::Break => {
            let code = after.break_code.clone().unwrap_or_default();
            if code == break_codes::WARM_UP
                && (before.state == UserState::Offline || device_changed)
            {
                let mut e = agent_event(EventType::AgentCheckIn);
                let levels: Map<String, Value> = after
                    .skill_groups
                    .iter()
                    .map(|g| (g.clone(), Value::from(1)))
                    .collect();
                e.fields.insert("skillLevels".into(), Value::Object(levels));
                out.push(e);
            }
            let ty = if before.state == UserState::Ringing && code == break_codes::RINGING_TIMEOUT {
                EventType::RingingTimeout
            } else {
                EventType::AgentBreak
            };
            let mut e = agent_event(ty);
            e.fields.insert("breakCode".into(), code.into());
            out.push(e);
        }
        UserState::Ready => {
            let mut e = agent_event(EventType::AgentReady);
            e.fields
                .insert("outboundScenario".into(), after.outbound_scenario.into());
            out.push(e);
        }
        UserState::Working => {
            let mut e = agent_event(EventType::AgentRelease);
            if let Some(b) = &before.call {
                e = with_call(e, b, after);
            }
            out.push(e);
        }
        UserState::Ringing | UserState::Talking | UserState::Dialing => {
            let ty = match after.state {
                UserState::Ringing => EventType::AgentRinging,
                UserState::Talking => EventType::AgentTalk,
                _ => EventType::AgentDialing,
            };
            let mut e = agent_event(ty);
            if let Some(a) = &after.call {
                e = with_call(e, a, after);
            }
            out.push(e);
        }
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
    fn step(a: &mut Agent, f: impl FnOnce(&mut Agent)) -> Vec<Event> {
        let before = Snapshot::of(a);
        f(a);
        events_of(&before, &Snapshot::of(a))
    }

    fn types(events: &[Event]) -> Vec<&'static str> {
        events.iter().map(|e| e.event_type.as_str()).collect()
    }

    #[test]
    fn event_time_has_milliseconds_and_round_trips() {
        assert_eq!(format_event_time(T0), "2025-12-05T18:02:48.123Z");
        assert_eq!(format_event_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(parse_event_time("2025-12-05T18:02:48.123Z"), Some(T0));
        assert_eq!(parse_event_time("2025-12-05T18:02:48Z"), None);
    }

    #[test]
    fn names_parse_and_every_agent_event_implies_one_state() {
        for ty in EventType::ALL {
            assert_eq!(EventType::parse(ty.as_str()), Some(*ty));
        }
        assert_eq!(EventType::parse("Nope"), None);
        assert_eq!(
            EventType::AgentRelease.implied_state(),
            Some(UserState::Working)
        );
        assert_eq!(EventType::Muted.implied_state(), None);
    }

    #[test]
    fn a_working_day_in_events() {
        let mut a = agent();
        let e = step(&mut a, |a| {
            a.sign_in(Some("dev"), Some(vec!["sg1".into()]), T0 + 1)
                .unwrap();
        });
        assert_eq!(types(&e), ["AgentCheckIn", "AgentBreak"]);
        assert_eq!(e[0].fields["skillLevels"], serde_json::json!({"sg1": 1}));
        assert_eq!(e[1].fields["breakCode"], "Warm-up");
        assert!(e.iter().all(|e| e.context_id == a.context_id));

        let e = step(&mut a, |a| a.ready(true, T0 + 2).unwrap());
        assert_eq!(types(&e), ["AgentReady"]);
        assert_eq!(e[0].fields["outboundScenario"], true);
        assert_eq!(e[0].fields["skillGroupIds"], serde_json::json!(["sg1"]));

        let e = step(&mut a, |a| a.ring("job-1", "13800000000", T0 + 3).unwrap());
        assert_eq!(types(&e), ["Ringing", "AgentRinging"]);
        assert_eq!(e[1].fields["contactId"], "job-1");
        assert_eq!(e[1].fields["callType"], "INBOUND");
        assert!(e[1].fields["channelId"]
            .as_str()
            .unwrap()
            .starts_with("ch:user:"));

        let e = step(&mut a, |a| a.answer(Some("job-1"), None, T0 + 4).unwrap());
        assert_eq!(types(&e), ["Established", "AgentTalk"]);
        let e = step(&mut a, |a| {
            a.set_muted(true, Some("job-1"), None, T0 + 5).unwrap()
        });
        assert_eq!(types(&e), ["Muted"]);
        assert!(!e[0].fields.contains_key("skillGroupIds"));
        let e = step(&mut a, |a| {
            a.set_muted(false, Some("job-1"), None, T0 + 6).unwrap()
        });
        assert_eq!(types(&e), ["Unmuted"]);

        let e = step(&mut a, |a| {
            a.hang_up("job-1", HangupBy::Customer, T0 + 7).unwrap();
        });
        assert_eq!(types(&e), ["Released", "AgentRelease"]);
        assert_eq!(e[1].fields["contactId"], "job-1");
        let e = step(&mut a, |a| {
            a.after_call_done("job-1", T0 + 8);
        });
        assert_eq!(types(&e), ["AgentReady"]);
        let e = step(&mut a, |a| a.take_break(Some("lunch"), T0 + 9).unwrap());
        assert_eq!(types(&e), ["AgentBreak"]);
        assert_eq!(e[0].fields["breakCode"], "lunch");
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
        assert_eq!(e[1].fields["breakCode"], "RingingTimeout");
        let mut a = ringing();
        let e = step(&mut a, |a| {
            a.release(Some("job-1"), None, T0 + 1).unwrap();
        });
        assert_eq!(types(&e), ["Released", "AgentBreak"]);
        assert_eq!(e[1].fields["breakCode"], "RejectCall");
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
        assert_eq!(e[1].fields["contactId"], "job-2");
        assert_eq!(e[1].fields["callType"], "OUTBOUND");
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
        assert_eq!(e[0].fields["channelId"], customer.as_str());
        assert_eq!(e[0].fields["contactId"], "job-2");
        assert_eq!(e[0].event_type.implied_state(), None);
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
        assert_eq!(e[1].fields["breakCode"], "lunch");
    }
}
