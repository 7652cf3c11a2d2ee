//! Next state: the state an agent picks during a call or after-call work,
//! applied by the proxy when that is over, whether or not a toolbar is open
//! (peers: Amazon Connect's `enqueueNextState`, Genesys' next status).
//!
//! This module is the rule, a leaf like [`crate::presence`]: [`Pending`] is
//! what is stored in the agent's shared [`crate::view::View`] (in Redis with
//! replicas), [`decide`] says what to do with it in a given state. The
//! handlers and the task that acts are in [`apply`].
//!
//! **When "the call is over"** (ccc-api.md §2.1/§2.2 and the simulator):
//! a call is DIALING, RINGING or TALKING. It ends in WORKING (after-call
//! work, for an answered call; `AgentRelease`), READY (the customer gave up
//! while ringing, or an outbound attempt ended), BREAK (`RejectCall`,
//! `RingingTimeout`) or back in the state the agent dialled from; CCC itself
//! ends after-call work (WORKING → READY after the skill group's wrap-up
//! time; the simulator's `after_call_ms`). So:
//!
//! - **chosen during a call** ([`Phase::Call`]): applied the moment CCC
//!   reports the agent out of the call, in WORKING, READY or BREAK. From
//!   WORKING this ends after-call work at once: waiting for CCC's own
//!   WORKING → READY would leave a READY moment in which CCC may route a new
//!   call to an agent who asked for lunch or to sign out.
//! - **chosen during after-call work** ([`Phase::AfterCall`]): applied when
//!   after-call work is over (the agent leaves WORKING for READY or BREAK,
//!   usually CCC's wrap-up timer). A call in between (the agent dials from
//!   WORKING) just delays it.
//! - already in the chosen state: nothing to do (no CCC call).
//! - OFFLINE (signed out, reset): dropped. An explicit state command of the
//!   agent (ready, break, sign-out, reset, work mode) cancels it too: the
//!   agent decided by hand.
//!
//! It is applied at most once: the replica that clears it from the shared
//! view (a compare-and-set) is the one that calls CCC.

use ccc_model::{api::Agent, api::NextState, UserState};
use serde::{Deserialize, Serialize};

/// What the agent was doing when they picked the next state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// DIALING, RINGING or TALKING.
    Call,
    /// WORKING (after-call work).
    AfterCall,
}

impl Phase {
    /// The phase of `state`, or `None` when a next state cannot be set in it.
    pub fn of(state: &UserState) -> Option<Phase> {
        match state {
            s if s.in_call() => Some(Phase::Call),
            UserState::Working => Some(Phase::AfterCall),
            _ => None,
        }
    }
}

/// A next state waiting for the call to be over (stored in the agent's view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pending {
    /// The state to go to.
    pub next: NextState,
    /// When it was picked.
    pub phase: Phase,
    /// The device of the request that set it (CCC's `DeviceId`).
    pub device_id: String,
    /// Proxy clock (epoch ms) when it was set.
    pub set_at: i64,
}

/// What to do with a pending next state now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The call (or its after-call work) goes on.
    Wait,
    /// Call CCC.
    Apply(Action),
    /// Clear it without a CCC call, for `reason` (`already`, `offline`).
    Drop(&'static str),
}

/// The CCC action that takes the agent to a next state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// `ReadyForService`, `TakeBreak` or `SignOutGroup`.
    pub ccc_action: &'static str,
    /// Parameters beyond `UserId` and `DeviceId`.
    pub params: Vec<(String, String)>,
}

impl Action {
    /// The action reaching `next`.
    pub fn to(next: &NextState) -> Action {
        let p = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
        let (ccc_action, params) = match next {
            NextState::Ready => ("ReadyForService", p("OutboundScenario", "false")),
            NextState::OutboundOnly => ("ReadyForService", p("OutboundScenario", "true")),
            NextState::Break { code } => ("TakeBreak", p("Code", code)),
            NextState::Offline => ("SignOutGroup", Vec::new()),
        };
        Action { ccc_action, params }
    }
}

/// The name of `next` in logs and metrics.
pub fn label(next: &NextState) -> &'static str {
    match next {
        NextState::Ready => "ready",
        NextState::OutboundOnly => "outbound-only",
        NextState::Break { .. } => "break",
        NextState::Offline => "offline",
    }
}

/// True when `agent` already is in `next`.
fn already(next: &NextState, agent: &Agent) -> bool {
    match next {
        NextState::Ready => agent.state == UserState::Ready && !agent.outbound_scenario,
        NextState::OutboundOnly => agent.state == UserState::Ready && agent.outbound_scenario,
        NextState::Break { code } => {
            agent.state == UserState::Break && agent.break_code.as_deref() == Some(code.as_str())
        }
        NextState::Offline => agent.state == UserState::Offline,
    }
}

/// The rule (see the module documentation).
pub fn decide(pending: &Pending, agent: &Agent) -> Decision {
    let state = &agent.state;
    if *state == UserState::Offline {
        return Decision::Drop("offline");
    }
    let going_on = match pending.phase {
        Phase::Call => state.in_call(),
        Phase::AfterCall => state.in_call() || *state == UserState::Working,
    };
    if going_on {
        return Decision::Wait;
    }
    match state {
        UserState::Working | UserState::Ready | UserState::Break => {}
        // A state the proxy does not know: leave it to the agent.
        _ => return Decision::Wait,
    }
    if already(&pending.next, agent) {
        Decision::Drop("already")
    } else {
        Decision::Apply(Action::to(&pending.next))
    }
}

/// The agents whose next state a task of this replica follows.
#[derive(Debug, Default)]
pub struct Followers(std::sync::Mutex<std::collections::HashSet<String>>);

impl Followers {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<String>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(state: UserState) -> Agent {
        Agent {
            state,
            ..Agent::default()
        }
    }

    fn pending(next: NextState, phase: Phase) -> Pending {
        Pending {
            next,
            phase,
            device_id: "d".into(),
            set_at: 0,
        }
    }

    fn lunch() -> NextState {
        NextState::Break {
            code: "lunch".into(),
        }
    }

    #[test]
    fn phases_allow_calls_and_after_call_work_only() {
        assert_eq!(Phase::of(&UserState::Talking), Some(Phase::Call));
        assert_eq!(Phase::of(&UserState::Ringing), Some(Phase::Call));
        assert_eq!(Phase::of(&UserState::Dialing), Some(Phase::Call));
        assert_eq!(Phase::of(&UserState::Working), Some(Phase::AfterCall));
        for s in [UserState::Ready, UserState::Break, UserState::Offline] {
            assert_eq!(Phase::of(&s), None, "{s:?}");
        }
    }

    #[test]
    fn picked_during_a_call_it_applies_when_the_call_is_over() {
        let p = pending(lunch(), Phase::Call);
        for s in [UserState::Talking, UserState::Ringing, UserState::Dialing] {
            assert_eq!(decide(&p, &agent(s)), Decision::Wait);
        }
        let take_break = Decision::Apply(Action {
            ccc_action: "TakeBreak",
            params: vec![("Code".into(), "lunch".into())],
        });
        // Answered call over: after-call work is cut short.
        assert_eq!(decide(&p, &agent(UserState::Working)), take_break);
        // Abandoned or not connected: back to READY.
        assert_eq!(decide(&p, &agent(UserState::Ready)), take_break);
        // Rejected: CCC's own break.
        let mut rejected = agent(UserState::Break);
        rejected.break_code = Some("RejectCall".into());
        assert_eq!(decide(&p, &rejected), take_break);
    }

    #[test]
    fn picked_during_after_call_work_it_waits_for_its_end() {
        let p = pending(NextState::Offline, Phase::AfterCall);
        assert_eq!(decide(&p, &agent(UserState::Working)), Decision::Wait);
        assert_eq!(decide(&p, &agent(UserState::Dialing)), Decision::Wait);
        assert_eq!(
            decide(&p, &agent(UserState::Ready)),
            Decision::Apply(Action {
                ccc_action: "SignOutGroup",
                params: vec![]
            })
        );
    }

    #[test]
    fn nothing_is_called_when_already_there_or_offline() {
        let p = pending(NextState::Ready, Phase::AfterCall);
        assert_eq!(
            decide(&p, &agent(UserState::Ready)),
            Decision::Drop("already")
        );
        let mut outbound = agent(UserState::Ready);
        outbound.outbound_scenario = true;
        assert_eq!(
            decide(&p, &outbound),
            Decision::Apply(Action {
                ccc_action: "ReadyForService",
                params: vec![("OutboundScenario".into(), "false".into())]
            })
        );
        let o = pending(NextState::OutboundOnly, Phase::Call);
        assert_eq!(decide(&o, &outbound), Decision::Drop("already"));
        let mut on_lunch = agent(UserState::Break);
        on_lunch.break_code = Some("lunch".into());
        assert_eq!(
            decide(&pending(lunch(), Phase::Call), &on_lunch),
            Decision::Drop("already")
        );
        for phase in [Phase::Call, Phase::AfterCall] {
            assert_eq!(
                decide(&pending(lunch(), phase), &agent(UserState::Offline)),
                Decision::Drop("offline")
            );
        }
    }

    #[test]
    fn labels_and_pending_round_trip() {
        assert_eq!(label(&lunch()), "break");
        assert_eq!(label(&NextState::OutboundOnly), "outbound-only");
        let p = pending(lunch(), Phase::AfterCall);
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.contains(r#""phase":"after-call""#), "{json}");
        assert_eq!(serde_json::from_str::<Pending>(&json).unwrap(), p);
    }
}
