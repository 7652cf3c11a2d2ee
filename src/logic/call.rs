//! Facts about the current call, read from a snapshot: who the other party
//! is, when the call began, its direction for host events, and since when
//! the customer has been on hold.

use ccc_model::{
    api::{AgentSnapshot, Call},
    CallType, UserState,
};

/// What the call card shows: one phase at a time, nothing between calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallPhase {
    /// A call rings: caller, Answer, Decline.
    Ringing,
    /// The agent dials out: callee, Cancel.
    Dialing,
    /// In the call: party, duration, Mute, Hold, End (and hold time).
    Talking,
    /// After-call work: the wrap-up timer and the next state.
    WrapUp,
}

impl CallPhase {
    /// The phase of `state` (`None`: no call, no card).
    pub fn of(state: &UserState) -> Option<Self> {
        Some(match state {
            UserState::Ringing => CallPhase::Ringing,
            UserState::Dialing => CallPhase::Dialing,
            UserState::Talking => CallPhase::Talking,
            UserState::Working => CallPhase::WrapUp,
            _ => return None,
        })
    }

    /// `data-phase` of the card.
    pub fn as_str(self) -> &'static str {
        match self {
            CallPhase::Ringing => "ringing",
            CallPhase::Dialing => "dialing",
            CallPhase::Talking => "talking",
            CallPhase::WrapUp => "wrap-up",
        }
    }
}

/// The other party's number: the customer leg's originator on inbound calls,
/// its destination otherwise.
pub fn other_party(call: &Call) -> Option<String> {
    let ch = call.customer_channel().or_else(|| call.channels.first())?;
    if is_outbound(call.call_type.as_ref()) {
        ch.destination.clone()
    } else {
        ch.originator.clone()
    }
}

fn is_outbound(t: Option<&CallType>) -> bool {
    matches!(t, Some(CallType::Outbound | CallType::Predictive))
}

/// When the call began: the earliest leg timestamp (server clock).
pub fn call_start(call: &Call) -> Option<i64> {
    call.channels.iter().filter_map(|c| c.timestamp).min()
}

/// `INBOUND` or `OUTBOUND` for the `ccc:call` event: from CCC's call type,
/// or `OUTBOUND` for a call CCC has not typed yet while the agent is DIALING
/// (MakeCall's first answer).
pub fn direction(call: &Call, state: &UserState) -> Option<&'static str> {
    match call.call_type.as_ref() {
        t if is_outbound(t) => Some("OUTBOUND"),
        Some(CallType::Inbound) => Some("INBOUND"),
        None if *state == UserState::Dialing => Some("OUTBOUND"),
        _ => None,
    }
}

/// Since when the customer has been on hold (server clock): the customer
/// leg's last change, which HoldCall is; `None` when not held.
pub fn held_since(snap: &AgentSnapshot) -> Option<i64> {
    if !snap.held {
        return None;
    }
    snap.call.as_ref()?.customer_channel()?.timestamp
}

#[cfg(test)]
mod tests {
    use super::*;
    use ccc_model::api::Channel;

    fn call(t: Option<CallType>) -> Call {
        Call {
            job_id: "j".into(),
            call_type: t,
            channels: vec![
                Channel {
                    user_id: Some("agent@i".into()),
                    timestamp: Some(900),
                    ..Default::default()
                },
                Channel {
                    originator: Some("80010001".into()),
                    destination: Some("13800000000".into()),
                    timestamp: Some(1_000),
                    ..Default::default()
                },
            ],
        }
    }

    #[test]
    fn other_party_and_direction() {
        let out = call(Some(CallType::Outbound));
        assert_eq!(other_party(&out).as_deref(), Some("13800000000"));
        assert_eq!(direction(&out, &UserState::Talking), Some("OUTBOUND"));
        let inb = call(Some(CallType::Inbound));
        assert_eq!(other_party(&inb).as_deref(), Some("80010001"));
        assert_eq!(direction(&inb, &UserState::Talking), Some("INBOUND"));
        let untyped = call(None);
        assert_eq!(direction(&untyped, &UserState::Dialing), Some("OUTBOUND"));
        assert_eq!(direction(&untyped, &UserState::Ringing), None);
        assert_eq!(call_start(&out), Some(900));
    }

    #[test]
    fn one_phase_per_call_state_and_none_between_calls() {
        assert_eq!(CallPhase::of(&UserState::Ringing), Some(CallPhase::Ringing));
        assert_eq!(CallPhase::of(&UserState::Dialing), Some(CallPhase::Dialing));
        assert_eq!(CallPhase::of(&UserState::Talking), Some(CallPhase::Talking));
        assert_eq!(CallPhase::of(&UserState::Working), Some(CallPhase::WrapUp));
        for s in [UserState::Offline, UserState::Ready, UserState::Break] {
            assert_eq!(CallPhase::of(&s), None, "{s}");
        }
        assert_eq!(CallPhase::WrapUp.as_str(), "wrap-up");
    }

    #[test]
    fn hold_time_starts_at_the_customer_legs_change() {
        let mut s = AgentSnapshot {
            call: Some(call(Some(CallType::Outbound))),
            ..Default::default()
        };
        assert_eq!(held_since(&s), None);
        s.held = true;
        assert_eq!(held_since(&s), Some(1_000));
        s.call = None;
        assert_eq!(held_since(&s), None);
    }
}
