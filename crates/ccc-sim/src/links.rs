//! Issue 18: what a consult leaves in each agent's view of a call — the
//! records of a call (keypad keys, transfers), the [`Linked`] state
//! [`crate::World::change`] compares, and small helpers shared by the
//! world and the transfer actions.

use ccc_model::{ChannelFlag, Counterparty, Event, EventMessage, UserState};
use serde::Serialize;

use crate::events::format_event_time;
use crate::state_machine::{Agent, Call, Link, Peer};

/// `scenario` of the target's agent events after a blind transfer.
pub const BLIND_TRANSFER: &str = "BLIND_TRANSFER";
/// `scenario` of the consulted agent's events.
pub const CONSULTED: &str = "CONSULTED";
/// `scenario` of the consulted agent's call once the transfer completed.
pub const ATTENDED_TRANSFER: &str = "ATTENDED_TRANSFER";

/// The keypad keys SendDtmfSignaling accepts.
pub fn is_dtmf_key(c: char) -> bool {
    c.is_ascii_digit() || c == '*' || c == '#'
}

/// How a keypad key reached the simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DtmfVia {
    /// `SendDtmfSignaling` (the proxy's `POST /api/v1/agent/dtmf`).
    Api,
    /// In-band from the agent's softphone: RFC 4733 telephone events.
    Rtp,
}

/// One keypad key of a call: by SendDtmfSignaling or in-band.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DtmfKey {
    /// The key (`0-9`, `*`, `#`).
    pub key: String,
    /// The channel it was sent on.
    pub channel_id: String,
    /// The agent that sent it.
    pub user_id: String,
    /// When (epoch ms).
    pub at: i64,
    /// `api` or `rtp`.
    pub via: DtmfVia,
}

/// One transfer action on a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferRecord {
    /// The CCC action.
    pub action: String,
    /// The agent that called it.
    pub user_id: String,
    /// `Transferee` as sent (for the transfer actions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transferee: Option<String>,
    /// `TransfereeType` as resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transferee_type: Option<String>,
    /// `Transferor` (caller id shown to a number), as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transferor: Option<String>,
    /// The agent the call went to (a skill group's pick included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_user: Option<String>,
    /// When (epoch ms).
    pub at: i64,
}

/// What a call recorded, for `GET /_sim/calls/{jobId}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobRecord {
    /// The keypad keys in order.
    pub dtmf: String,
    /// Each key with its channel.
    pub keys: Vec<DtmfKey>,
    /// Transfer, consult and conference actions, in order.
    pub transfers: Vec<TransferRecord>,
}

/// A timer an action starts once the world is unlocked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Linked {
    pub(crate) job: String,
    pub(crate) link: Link,
    pub(crate) state: UserState,
}

impl Linked {
    /// The consult `agent`'s call is part of, if any.
    pub(crate) fn of(agent: &Agent) -> Option<Self> {
        let call = agent.call.as_ref()?;
        Some(Linked {
            job: call.job_id.clone(),
            link: call.link.clone()?,
            state: agent.state.clone(),
        })
    }
}

/// An event of the consult or transfer, named after `agent_id`.
pub(crate) fn message(
    agent: Option<&Agent>,
    agent_id: &str,
    event: Event,
    now: i64,
) -> EventMessage {
    EventMessage {
        event_time: format_event_time(now),
        instance_id: agent.map(|a| a.instance_id.clone()).unwrap_or_default(),
        agent_id: Some(agent_id.to_owned()),
        skill_group_ids: None,
        context_id: agent.map(|a| a.context_id),
        event,
    }
}

pub(crate) fn pair(skill_group: Option<&String>, counterparty: &str) -> Counterparty {
    Counterparty {
        skill_group_id: skill_group.cloned(),
        counterparty: Some(counterparty.to_owned()),
    }
}

pub(crate) fn peer_name(peer: &Peer) -> &str {
    match peer {
        Peer::Agent(u) | Peer::Number(u) => u,
    }
}

/// Sets or clears `HOLD` on the customer's leg of `call`.
pub(crate) fn set_customer_hold(call: &mut Call, held: bool, now: i64) {
    let customer = call
        .context
        .channel_contexts
        .iter_mut()
        .find(|c| c.user_id.is_none());
    if let Some(ch) = customer {
        ch.channel_flags.retain(|f| *f != ChannelFlag::Hold);
        if held {
            ch.channel_flags.push(ChannelFlag::Hold);
        }
        ch.timestamp = Some(now);
    }
}

/// Removes the leg `channel_id` from `call`.
pub(crate) fn drop_leg(call: &mut Call, channel_id: &str) {
    call.context
        .channel_contexts
        .retain(|c| c.channel_id != channel_id);
}
