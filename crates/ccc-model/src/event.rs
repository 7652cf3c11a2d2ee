//! CCC's pushed events (ccc-api.md §8.2 and §9.6) as types: the simulator
//! serialises them, the proxy deserialises them.
//!
//! On the wire an event is one flat camelCase object (`eventTime`,
//! `eventType`, `instanceId`, the agent's fields, then the type's own).
//! [`EventMessage`] holds the common fields and [`Event`] the type with its
//! own fields. Decoding never fails on what it does not know: an unknown
//! `eventType` becomes [`Event::Unknown`] (its name kept), unknown fields
//! are ignored, and an optional field of an unexpected shape reads as
//! absent. Only `eventType`, `eventTime` and `instanceId` are required.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{de, enums::CallType, UserState};

macro_rules! event_types {
    ( $( $(#[$m:meta])* $variant:ident ),+ $(,)? ) => {
        /// A documented event type.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventType {
            $( $(#[$m])* $variant, )+
        }

        impl EventType {
            /// Every documented event type.
            pub const ALL: &'static [EventType] = &[ $( EventType::$variant ),+ ];

            /// The wire name (`eventType`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $( EventType::$variant => stringify!($variant), )+
                }
            }

            /// Parses a wire name; `None` for names not documented.
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
    /// Consultation: the agent starts consulting `counterparty`.
    InitiateConsultant,
    /// Consultation: the consulted agent answered.
    StartConsultant,
    /// Consultation: ended.
    StopConsultant,
    /// A blind transfer (`originator` → `destination`, extensions).
    BlindTransfer,
    /// An attended transfer completed.
    AttendedTransfer,
    /// Supervisor: monitoring starts (`agentId` monitored, `counterparty` supervisor).
    StartMonitor,
    /// Supervisor: monitoring ends.
    StopMonitor,
    /// Supervisor: coaching starts.
    StartCoach,
    /// Supervisor: coaching ends.
    StopCoach,
    /// Supervisor: barged in (a three-party call until hang-up).
    BargeIn,
    /// Supervisor: took the call over.
    Intercept,
    /// Conference started ("功能开发中" in 2021).
    StartConference,
    /// Conference ended ("功能开发中" in 2021).
    StopConference,
    /// Three-way call ("功能开发中" in 2021).
    Threeway,
}

impl EventType {
    /// The `UserState` an agent event puts the agent in; `None` for every
    /// other event, which never changes the agent's state by itself.
    pub fn implied_state(self) -> Option<UserState> {
        use EventType::*;
        Some(match self {
            AgentCheckIn | AgentBreak | RingingTimeout => UserState::Break,
            AgentReady => UserState::Ready,
            AgentDialing => UserState::Dialing,
            AgentRinging => UserState::Ringing,
            AgentTalk => UserState::Talking,
            AgentRelease => UserState::Working,
            AgentCheckOut => UserState::Offline,
            _ => return None,
        })
    }

    /// True for agent state events (they carry `agentId` and `skillGroupIds`).
    pub fn is_agent_event(self) -> bool {
        self.implied_state().is_some()
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The call fields of `AgentDialing/Ringing/Talk/Release` and of the channel
/// events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallLeg {
    /// The call (`JobId`).
    pub contact_id: Option<String>,
    /// The leg: the agent's own, or the customer's for `Held`/`Retrieved`.
    pub channel_id: Option<String>,
    /// The call type.
    pub call_type: Option<CallType>,
    /// The skill group (agent events).
    pub skill_group_id: Option<String>,
    /// `BLIND_TRANSFER`, `ATTENDED_TRANSFER`, `CONSULTED`, `MONITORING`, ...
    /// (agent events; §9.6). Kept as sent.
    pub scenario: Option<String>,
}

/// The fields of `BlindTransfer` and `AttendedTransfer` (§9.6).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transfer {
    /// The skill group.
    pub skill_group_id: Option<String>,
    /// The transferor's extension.
    pub originator: Option<String>,
    /// The transferee's extension.
    pub destination: Option<String>,
}

/// The fields of consultation and supervisor events (§9.6): the other
/// agent of the pair.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counterparty {
    /// The skill group.
    pub skill_group_id: Option<String>,
    /// The other agent (consulted agent, supervisor, ...).
    pub counterparty: Option<String>,
}

/// One event with its own fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Signed in: `skillLevels` (group → level).
    AgentCheckIn {
        /// Skill group → level.
        skill_levels: Option<BTreeMap<String, i64>>,
        /// Not documented for this event; `Warm-up` when absent.
        break_code: Option<String>,
    },
    /// READY.
    AgentReady {
        /// Outbound-only mode.
        outbound_scenario: Option<bool>,
    },
    /// DIALING.
    AgentDialing(CallLeg),
    /// RINGING.
    AgentRinging(CallLeg),
    /// TALKING.
    AgentTalk(CallLeg),
    /// WORKING after a call.
    AgentRelease(CallLeg),
    /// BREAK.
    AgentBreak {
        /// The reason ("功能开发中" in 2021: may be missing).
        break_code: Option<String>,
    },
    /// OFFLINE.
    AgentCheckOut,
    /// BREAK / `RingingTimeout` after an unanswered call.
    RingingTimeout {
        /// `RingingTimeout` when sent.
        break_code: Option<String>,
    },
    /// Channel: dialing the customer.
    Dialing(CallLeg),
    /// Channel: the agent's leg rings.
    Ringing(CallLeg),
    /// Channel: answered.
    Established(CallLeg),
    /// Channel: released.
    Released(CallLeg),
    /// Channel: `MUTED` set.
    Muted(CallLeg),
    /// Channel: `MUTED` cleared.
    Unmuted(CallLeg),
    /// Channel: the customer's leg on `HOLD`.
    Held(CallLeg),
    /// Channel: `HOLD` cleared.
    Retrieved(CallLeg),
    /// Consultation started.
    InitiateConsultant(Counterparty),
    /// Consulted agent answered.
    StartConsultant(Counterparty),
    /// Consultation ended.
    StopConsultant(Counterparty),
    /// Blind transfer.
    BlindTransfer(Transfer),
    /// Attended transfer completed.
    AttendedTransfer(Transfer),
    /// Monitoring starts.
    StartMonitor(Counterparty),
    /// Monitoring ends.
    StopMonitor(Counterparty),
    /// Coaching starts.
    StartCoach(Counterparty),
    /// Coaching ends.
    StopCoach(Counterparty),
    /// Barge-in.
    BargeIn(Counterparty),
    /// Intercept.
    Intercept(Counterparty),
    /// Conference started.
    StartConference(Counterparty),
    /// Conference ended.
    StopConference(Counterparty),
    /// Three-way call.
    Threeway(Counterparty),
    /// A type this build does not know, its name kept. Receivers count it
    /// and carry on; it is never an error.
    Unknown(String),
}

impl Event {
    /// The documented type, `None` for [`Event::Unknown`].
    pub fn event_type(&self) -> Option<EventType> {
        use Event as E;
        use EventType as T;
        Some(match self {
            E::AgentCheckIn { .. } => T::AgentCheckIn,
            E::AgentReady { .. } => T::AgentReady,
            E::AgentDialing(_) => T::AgentDialing,
            E::AgentRinging(_) => T::AgentRinging,
            E::AgentTalk(_) => T::AgentTalk,
            E::AgentRelease(_) => T::AgentRelease,
            E::AgentBreak { .. } => T::AgentBreak,
            E::AgentCheckOut => T::AgentCheckOut,
            E::RingingTimeout { .. } => T::RingingTimeout,
            E::Dialing(_) => T::Dialing,
            E::Ringing(_) => T::Ringing,
            E::Established(_) => T::Established,
            E::Released(_) => T::Released,
            E::Muted(_) => T::Muted,
            E::Unmuted(_) => T::Unmuted,
            E::Held(_) => T::Held,
            E::Retrieved(_) => T::Retrieved,
            E::InitiateConsultant(_) => T::InitiateConsultant,
            E::StartConsultant(_) => T::StartConsultant,
            E::StopConsultant(_) => T::StopConsultant,
            E::BlindTransfer(_) => T::BlindTransfer,
            E::AttendedTransfer(_) => T::AttendedTransfer,
            E::StartMonitor(_) => T::StartMonitor,
            E::StopMonitor(_) => T::StopMonitor,
            E::StartCoach(_) => T::StartCoach,
            E::StopCoach(_) => T::StopCoach,
            E::BargeIn(_) => T::BargeIn,
            E::Intercept(_) => T::Intercept,
            E::StartConference(_) => T::StartConference,
            E::StopConference(_) => T::StopConference,
            E::Threeway(_) => T::Threeway,
            E::Unknown(_) => return None,
        })
    }

    /// The wire name (`eventType`), known or not.
    pub fn name(&self) -> &str {
        match self {
            Event::Unknown(name) => name,
            known => known.event_type().map_or("", EventType::as_str),
        }
    }

    /// The call fields, for events that carry them.
    pub fn call(&self) -> Option<&CallLeg> {
        use Event as E;
        match self {
            E::AgentDialing(c)
            | E::AgentRinging(c)
            | E::AgentTalk(c)
            | E::AgentRelease(c)
            | E::Dialing(c)
            | E::Ringing(c)
            | E::Established(c)
            | E::Released(c)
            | E::Muted(c)
            | E::Unmuted(c)
            | E::Held(c)
            | E::Retrieved(c) => Some(c),
            _ => None,
        }
    }

    /// The call fields, mutable.
    pub fn call_mut(&mut self) -> Option<&mut CallLeg> {
        use Event as E;
        match self {
            E::AgentDialing(c)
            | E::AgentRinging(c)
            | E::AgentTalk(c)
            | E::AgentRelease(c)
            | E::Dialing(c)
            | E::Ringing(c)
            | E::Established(c)
            | E::Released(c)
            | E::Muted(c)
            | E::Unmuted(c)
            | E::Held(c)
            | E::Retrieved(c) => Some(c),
            _ => None,
        }
    }

    /// An event of type `ty` with no fields of its own set.
    pub fn empty(ty: EventType) -> Self {
        Event::from_raw(&RawEvent {
            event_type: ty.as_str().to_owned(),
            ..RawEvent::default()
        })
    }

    fn from_raw(r: &RawEvent) -> Self {
        let leg = || CallLeg {
            contact_id: r.contact_id.clone(),
            channel_id: r.channel_id.clone(),
            call_type: r.call_type.as_deref().map(CallType::parse),
            skill_group_id: r.skill_group_id.clone(),
            scenario: r.scenario.clone(),
        };
        let pair = || Counterparty {
            skill_group_id: r.skill_group_id.clone(),
            counterparty: r.counterparty.clone(),
        };
        let transfer = || Transfer {
            skill_group_id: r.skill_group_id.clone(),
            originator: r.originator.clone(),
            destination: r.destination.clone(),
        };
        use Event as E;
        use EventType as T;
        let Some(ty) = EventType::parse(r.event_type.trim()) else {
            return E::Unknown(r.event_type.clone());
        };
        match ty {
            T::AgentCheckIn => E::AgentCheckIn {
                skill_levels: r.skill_levels.clone(),
                break_code: r.break_code.clone(),
            },
            T::AgentReady => E::AgentReady {
                outbound_scenario: r.outbound_scenario,
            },
            T::AgentDialing => E::AgentDialing(leg()),
            T::AgentRinging => E::AgentRinging(leg()),
            T::AgentTalk => E::AgentTalk(leg()),
            T::AgentRelease => E::AgentRelease(leg()),
            T::AgentBreak => E::AgentBreak {
                break_code: r.break_code.clone(),
            },
            T::AgentCheckOut => E::AgentCheckOut,
            T::RingingTimeout => E::RingingTimeout {
                break_code: r.break_code.clone(),
            },
            T::Dialing => E::Dialing(leg()),
            T::Ringing => E::Ringing(leg()),
            T::Established => E::Established(leg()),
            T::Released => E::Released(leg()),
            T::Muted => E::Muted(leg()),
            T::Unmuted => E::Unmuted(leg()),
            T::Held => E::Held(leg()),
            T::Retrieved => E::Retrieved(leg()),
            T::InitiateConsultant => E::InitiateConsultant(pair()),
            T::StartConsultant => E::StartConsultant(pair()),
            T::StopConsultant => E::StopConsultant(pair()),
            T::BlindTransfer => E::BlindTransfer(transfer()),
            T::AttendedTransfer => E::AttendedTransfer(transfer()),
            T::StartMonitor => E::StartMonitor(pair()),
            T::StopMonitor => E::StopMonitor(pair()),
            T::StartCoach => E::StartCoach(pair()),
            T::StopCoach => E::StopCoach(pair()),
            T::BargeIn => E::BargeIn(pair()),
            T::Intercept => E::Intercept(pair()),
            T::StartConference => E::StartConference(pair()),
            T::StopConference => E::StopConference(pair()),
            T::Threeway => E::Threeway(pair()),
        }
    }

    /// Writes the type's own fields into `r`.
    fn fill(&self, r: &mut RawEvent) {
        r.event_type = self.name().to_owned();
        if let Some(c) = self.call() {
            r.contact_id.clone_from(&c.contact_id);
            r.channel_id.clone_from(&c.channel_id);
            r.call_type = c.call_type.as_ref().map(|t| t.as_str().to_owned());
            r.skill_group_id.clone_from(&c.skill_group_id);
            r.scenario.clone_from(&c.scenario);
        }
        use Event as E;
        match self {
            E::AgentCheckIn {
                skill_levels,
                break_code,
            } => {
                r.skill_levels.clone_from(skill_levels);
                r.break_code.clone_from(break_code);
            }
            E::AgentReady { outbound_scenario } => r.outbound_scenario = *outbound_scenario,
            E::AgentBreak { break_code } | E::RingingTimeout { break_code } => {
                r.break_code.clone_from(break_code);
            }
            E::BlindTransfer(t) | E::AttendedTransfer(t) => {
                r.skill_group_id.clone_from(&t.skill_group_id);
                r.originator.clone_from(&t.originator);
                r.destination.clone_from(&t.destination);
            }
            E::InitiateConsultant(p)
            | E::StartConsultant(p)
            | E::StopConsultant(p)
            | E::StartMonitor(p)
            | E::StopMonitor(p)
            | E::StartCoach(p)
            | E::StopCoach(p)
            | E::BargeIn(p)
            | E::Intercept(p)
            | E::StartConference(p)
            | E::StopConference(p)
            | E::Threeway(p) => {
                r.skill_group_id.clone_from(&p.skill_group_id);
                r.counterparty.clone_from(&p.counterparty);
            }
            _ => {}
        }
    }
}

/// One pushed event: the documented common fields and the typed event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "RawEvent", into = "RawEvent")]
pub struct EventMessage {
    /// UTC ISO-8601, e.g. `2026-12-05T18:02:48.123Z` (validated by receivers).
    pub event_time: String,
    /// The instance.
    pub instance_id: String,
    /// The agent (`name@instance`, or a bare name).
    pub agent_id: Option<String>,
    /// The agent's signed-in skill groups (agent events).
    pub skill_group_ids: Option<Vec<String>>,
    /// Simulator extension: the agent's `ContextId` after the change (as
    /// PollUserStatus would show it). CCC's documented format has no such
    /// field.
    pub context_id: Option<i64>,
    /// The event and its own fields.
    pub event: Event,
}

impl EventMessage {
    /// The documented type, `None` when unknown.
    pub fn event_type(&self) -> Option<EventType> {
        self.event.event_type()
    }
}

/// The flat wire shape: every field any event carries.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEvent {
    event_time: String,
    event_type: String,
    instance_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    agent_id: Option<String>,
    #[serde(
        default,
        deserialize_with = "de::tolerant_i64",
        skip_serializing_if = "Option::is_none"
    )]
    context_id: Option<i64>,
    #[serde(
        default,
        deserialize_with = "de::tolerant_strings",
        skip_serializing_if = "Option::is_none"
    )]
    skill_group_ids: Option<Vec<String>>,
    #[serde(
        default,
        deserialize_with = "de::tolerant_levels",
        skip_serializing_if = "Option::is_none"
    )]
    skill_levels: Option<BTreeMap<String, i64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    break_code: Option<String>,
    #[serde(
        default,
        deserialize_with = "de::tolerant_bool",
        skip_serializing_if = "Option::is_none"
    )]
    outbound_scenario: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    contact_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    channel_id: Option<String>,
    #[serde(
        default,
        deserialize_with = "de::tolerant_string",
        skip_serializing_if = "Option::is_none"
    )]
    call_type: Option<String>,
    #[serde(
        default,
        deserialize_with = "de::tolerant_string",
        skip_serializing_if = "Option::is_none"
    )]
    skill_group_id: Option<String>,
    #[serde(
        default,
        deserialize_with = "de::tolerant_string",
        skip_serializing_if = "Option::is_none"
    )]
    scenario: Option<String>,
    #[serde(
        default,
        deserialize_with = "de::tolerant_string",
        skip_serializing_if = "Option::is_none"
    )]
    originator: Option<String>,
    #[serde(
        default,
        deserialize_with = "de::tolerant_string",
        skip_serializing_if = "Option::is_none"
    )]
    destination: Option<String>,
    #[serde(
        default,
        deserialize_with = "de::tolerant_string",
        skip_serializing_if = "Option::is_none"
    )]
    counterparty: Option<String>,
}

impl From<RawEvent> for EventMessage {
    fn from(r: RawEvent) -> Self {
        EventMessage {
            event: Event::from_raw(&r),
            event_time: r.event_time,
            instance_id: r.instance_id,
            agent_id: r.agent_id,
            skill_group_ids: r.skill_group_ids,
            context_id: r.context_id,
        }
    }
}

impl From<EventMessage> for RawEvent {
    fn from(m: EventMessage) -> Self {
        let mut r = RawEvent {
            event_time: m.event_time,
            instance_id: m.instance_id,
            agent_id: m.agent_id,
            skill_group_ids: m.skill_group_ids,
            context_id: m.context_id,
            ..RawEvent::default()
        };
        m.event.fill(&mut r);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_by_name_and_through_the_enum() {
        for ty in EventType::ALL {
            assert_eq!(EventType::parse(ty.as_str()), Some(*ty));
            let e = Event::empty(*ty);
            assert_eq!(e.event_type(), Some(*ty));
            assert_eq!(e.name(), ty.as_str());
        }
        assert_eq!(EventType::parse("Nope"), None);
        assert_eq!(
            Event::empty(EventType::Held).call(),
            Some(&CallLeg::default())
        );
    }

    #[test]
    fn every_agent_event_implies_one_state() {
        assert_eq!(
            EventType::AgentRelease.implied_state(),
            Some(UserState::Working)
        );
        assert_eq!(EventType::Muted.implied_state(), None);
        assert!(!EventType::StartConsultant.is_agent_event());
        assert!(EventType::RingingTimeout.is_agent_event());
    }
}
