//! Which agent actions CCC allows in which state: one table, used by the
//! simulator to refuse (with the documented `InvalidOperation.UserState`
//! error and its `Params`) and by the widget to enable controls and say why
//! one is disabled.
//!
//! Documented (ccc-api.md §2.2): ReadyForService only from BREAK, READY,
//! WORKING; Mute/Unmute only while TALKING; ResetAgentState from any state.
//! Inferred and documented here: TakeBreak from READY, BREAK, WORKING;
//! sign-in, sign-out and ChangeWorkMode whenever the agent is not in a call;
//! MakeCall from READY, BREAK and WORKING (CCC's workbench lets an agent on a
//! break or in after-call work call a customer back; the agent then leaves
//! that state for DIALING); HoldCall and RetrieveCall only while TALKING;
//! the transfer, conference and keypad actions (§9) only while TALKING (no
//! state-conflict code is documented for them: `InvalidOperation.UserState`).

use std::fmt;

use crate::{
    action::Action,
    enums::UserState,
    error::{CccError, ErrorCode},
};

/// An action the agent can take from the toolbar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgentAction {
    /// SignInGroup: go online (lands in BREAK / `Warm-up`).
    SignIn,
    /// SignOutGroup: go offline.
    SignOut,
    /// ReadyForService.
    Ready,
    /// TakeBreak with a reason code.
    Break,
    /// ChangeWorkMode.
    ChangeWorkMode,
    /// ResetAgentState: the escape hatch from a stuck state.
    Reset,
    /// MuteCall on the agent's own channel.
    Mute,
    /// UnmuteCall on the agent's own channel.
    Unmute,
    /// AnswerCall: pick up the ringing call.
    Answer,
    /// ReleaseCall: hang up (while ringing, this rejects the call).
    Hangup,
    /// MakeCall: dial a customer.
    Dial,
    /// HoldCall on the customer's channel.
    Hold,
    /// RetrieveCall: take the customer off hold.
    Retrieve,
    /// BlindTransfer or InitiateAttendedTransfer (issue 18).
    Transfer,
    /// CompleteAttendedTransfer: leave the customer with the consulted party.
    CompleteTransfer,
    /// CancelAttendedTransfer: back to the customer.
    CancelTransfer,
    /// SwitchToConference: all three talk.
    Conference,
    /// EndConference: leave; the call goes on for the others.
    LeaveConference,
    /// SendDtmfSignaling: keypad digits on the customer's channel.
    Dtmf,
}

impl AgentAction {
    /// Every action.
    pub const ALL: [AgentAction; 19] = [
        AgentAction::SignIn,
        AgentAction::SignOut,
        AgentAction::Ready,
        AgentAction::Break,
        AgentAction::ChangeWorkMode,
        AgentAction::Reset,
        AgentAction::Mute,
        AgentAction::Unmute,
        AgentAction::Answer,
        AgentAction::Hangup,
        AgentAction::Dial,
        AgentAction::Hold,
        AgentAction::Retrieve,
        AgentAction::Transfer,
        AgentAction::CompleteTransfer,
        AgentAction::CancelTransfer,
        AgentAction::Conference,
        AgentAction::LeaveConference,
        AgentAction::Dtmf,
    ];

    /// The CCC action behind it.
    pub fn ccc(self) -> Action {
        match self {
            AgentAction::SignIn => Action::SignInGroup,
            AgentAction::SignOut => Action::SignOutGroup,
            AgentAction::Ready => Action::ReadyForService,
            AgentAction::Break => Action::TakeBreak,
            AgentAction::ChangeWorkMode => Action::ChangeWorkMode,
            AgentAction::Reset => Action::ResetAgentState,
            AgentAction::Mute => Action::MuteCall,
            AgentAction::Unmute => Action::UnmuteCall,
            AgentAction::Answer => Action::AnswerCall,
            AgentAction::Hangup => Action::ReleaseCall,
            AgentAction::Dial => Action::MakeCall,
            AgentAction::Hold => Action::HoldCall,
            AgentAction::Retrieve => Action::RetrieveCall,
            // A consult transfer calls InitiateAttendedTransfer; the table
            // names the blind one (both are allowed from the same states).
            AgentAction::Transfer => Action::BlindTransfer,
            AgentAction::CompleteTransfer => Action::CompleteAttendedTransfer,
            AgentAction::CancelTransfer => Action::CancelAttendedTransfer,
            AgentAction::Conference => Action::SwitchToConference,
            AgentAction::LeaveConference => Action::EndConference,
            AgentAction::Dtmf => Action::SendDtmfSignaling,
        }
    }

    /// The CCC action's name (`Action=` on the wire).
    pub fn ccc_action(self) -> &'static str {
        self.ccc().name()
    }

    /// The states this action is allowed from; `None` means every state.
    pub fn allowed_from(self) -> Option<&'static [UserState]> {
        use UserState::*;
        const NOT_IN_CALL: &[UserState] = &[Offline, Ready, Break, Working];
        match self {
            AgentAction::Ready => Some(&[Break, Ready, Working]),
            AgentAction::Break => Some(&[Ready, Break, Working]),
            AgentAction::SignIn | AgentAction::SignOut | AgentAction::ChangeWorkMode => {
                Some(NOT_IN_CALL)
            }
            AgentAction::Mute
            | AgentAction::Unmute
            | AgentAction::Hold
            | AgentAction::Retrieve
            | AgentAction::Transfer
            | AgentAction::CompleteTransfer
            | AgentAction::CancelTransfer
            | AgentAction::Conference
            | AgentAction::LeaveConference
            | AgentAction::Dtmf => Some(&[Talking]),
            AgentAction::Dial => Some(&[Ready, Break, Working]),
            AgentAction::Answer => Some(&[Ringing]),
            AgentAction::Hangup => Some(&[Dialing, Ringing, Talking]),
            AgentAction::Reset => None,
        }
    }

    /// The expected states as CCC writes them in `Params` (`BREAK,READY,WORKING`).
    pub fn expectation(self) -> String {
        match self.allowed_from() {
            Some(states) => states
                .iter()
                .map(UserState::as_str)
                .collect::<Vec<_>>()
                .join(","),
            None => "*".to_owned(),
        }
    }

    /// Checks the action against the current state.
    pub fn check(self, state: &UserState) -> Result<(), Refusal> {
        match self.allowed_from() {
            None => Ok(()),
            Some(states) if states.contains(state) => Ok(()),
            Some(_) => Err(Refusal {
                action: self,
                state: state.clone(),
            }),
        }
    }
}

impl fmt::Display for AgentAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.ccc_action())
    }
}

/// Why an action is not allowed right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The refused action.
    pub action: AgentAction,
    /// The state that refused it.
    pub state: UserState,
}

impl Refusal {
    /// Why not, as a decision the toolbar puts into words.
    pub fn why_not(&self) -> WhyNot {
        match (self.action, &self.state) {
            (
                AgentAction::Mute
                | AgentAction::Unmute
                | AgentAction::Hangup
                | AgentAction::Transfer
                | AgentAction::CompleteTransfer
                | AgentAction::CancelTransfer
                | AgentAction::Conference
                | AgentAction::LeaveConference
                | AgentAction::Dtmf,
                _,
            ) => WhyNot::OnlyDuringCall,
            (AgentAction::Answer, _) => WhyNot::OnlyWhileRinging,
            (_, UserState::Offline) => WhyNot::SignInFirst,
            (_, s) if s.in_call() => WhyNot::NotDuringCall,
            (_, s) => WhyNot::NotWhile(s.clone()),
        }
    }

    /// The error CCC answers with: `InvalidOperation.UserState`,
    /// Params `[<state>, <expected states>]`.
    pub fn to_ccc_error(&self) -> CccError {
        ErrorCode::UserState
            .with_params([self.state.as_str().to_owned(), self.action.expectation()])
    }
}

/// Why a control is disabled: a decision, put into words only by the
/// widget's i18n. The first four are the toolbar's own; the others explain
/// a [`Refusal`] of CCC's table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum WhyNot {
    /// The agent's state is not known yet.
    NoStateYet,
    /// The last command has not been answered yet.
    CommandPending,
    /// Sign-in while online on this device.
    AlreadyOnline,
    /// Sign-out while offline.
    AlreadyOffline,
    /// Mute, unmute, hang up: only during a call.
    OnlyDuringCall,
    /// Answer: only while a call rings.
    OnlyWhileRinging,
    /// The agent is offline: sign in first.
    SignInFirst,
    /// Not while DIALING, RINGING or TALKING.
    NotDuringCall,
    /// Not in this state.
    NotWhile(UserState),
}

impl WhyNot {
    /// One of each variant (`NotWhile` with a sample state), for tests that
    /// check every decision has words.
    pub const ALL: &'static [WhyNot] = &[
        WhyNot::NoStateYet,
        WhyNot::CommandPending,
        WhyNot::AlreadyOnline,
        WhyNot::AlreadyOffline,
        WhyNot::OnlyDuringCall,
        WhyNot::OnlyWhileRinging,
        WhyNot::SignInFirst,
        WhyNot::NotDuringCall,
        WhyNot::NotWhile(UserState::Working),
    ];

    /// A stable name (`NotWhile` without its state), for documentation.
    pub fn name(&self) -> &'static str {
        match self {
            WhyNot::NoStateYet => "NoStateYet",
            WhyNot::CommandPending => "CommandPending",
            WhyNot::AlreadyOnline => "AlreadyOnline",
            WhyNot::AlreadyOffline => "AlreadyOffline",
            WhyNot::OnlyDuringCall => "OnlyDuringCall",
            WhyNot::OnlyWhileRinging => "OnlyWhileRinging",
            WhyNot::SignInFirst => "SignInFirst",
            WhyNot::NotDuringCall => "NotDuringCall",
            WhyNot::NotWhile(_) => "NotWhile",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use UserState::*;

    #[test]
    fn ready_only_from_break_ready_working() {
        for s in UserState::ALL {
            let ok = AgentAction::Ready.check(s).is_ok();
            assert_eq!(ok, matches!(s, Break | Ready | Working), "{s}");
        }
    }

    #[test]
    fn ready_from_offline_is_the_documented_error() {
        let e = AgentAction::Ready
            .check(&Offline)
            .unwrap_err()
            .to_ccc_error();
        assert_eq!(e.code, ErrorCode::UserState);
        assert_eq!(e.params, vec!["OFFLINE", "BREAK,READY,WORKING"]);
        assert_eq!(
            e.message,
            "The operation is not allowed. User state (OFFLINE) does not meet expectations (BREAK,READY,WORKING)."
        );
    }

    #[test]
    fn mute_only_while_talking() {
        for s in UserState::ALL {
            assert_eq!(AgentAction::Mute.check(s).is_ok(), *s == Talking, "{s}");
            assert_eq!(AgentAction::Unmute.check(s).is_ok(), *s == Talking, "{s}");
        }
    }

    #[test]
    fn reset_from_anything_even_unknown() {
        for s in UserState::ALL {
            assert!(AgentAction::Reset.check(s).is_ok());
        }
        assert!(AgentAction::Reset.check(&Unknown("X".into())).is_ok());
    }

    #[test]
    fn nothing_but_reset_during_a_call_except_mute() {
        for s in [Dialing, Ringing, Talking] {
            for a in [
                AgentAction::SignIn,
                AgentAction::SignOut,
                AgentAction::Ready,
                AgentAction::Break,
                AgentAction::ChangeWorkMode,
            ] {
                assert!(a.check(&s).is_err(), "{a} from {s}");
            }
        }
    }

    #[test]
    fn answer_only_while_ringing_hang_up_during_any_call() {
        for s in UserState::ALL {
            assert_eq!(AgentAction::Answer.check(s).is_ok(), *s == Ringing, "{s}");
            assert_eq!(AgentAction::Hangup.check(s).is_ok(), s.in_call(), "{s}");
        }
        assert_eq!(AgentAction::Answer.expectation(), "RINGING");
    }

    #[test]
    fn dial_when_not_in_a_call_and_online_hold_only_while_talking() {
        for s in UserState::ALL {
            assert_eq!(
                AgentAction::Dial.check(s).is_ok(),
                matches!(s, Ready | Break | Working),
                "{s}"
            );
            assert_eq!(AgentAction::Hold.check(s).is_ok(), *s == Talking, "{s}");
            assert_eq!(AgentAction::Retrieve.check(s).is_ok(), *s == Talking, "{s}");
        }
        assert_eq!(AgentAction::Dial.ccc_action(), "MakeCall");
        assert_eq!(AgentAction::Dial.expectation(), "READY,BREAK,WORKING");
    }

    #[test]
    fn refusals_are_decisions() {
        let why = |a: AgentAction, s: UserState| a.check(&s).unwrap_err().why_not();
        assert_eq!(why(AgentAction::Mute, Ready), WhyNot::OnlyDuringCall);
        assert_eq!(why(AgentAction::Answer, Talking), WhyNot::OnlyWhileRinging);
        assert_eq!(why(AgentAction::Ready, Offline), WhyNot::SignInFirst);
        assert_eq!(why(AgentAction::Break, Talking), WhyNot::NotDuringCall);
        assert_eq!(why(AgentAction::Answer, Offline), WhyNot::OnlyWhileRinging);
        assert_eq!(
            why(AgentAction::SignIn, Ringing),
            WhyNot::NotDuringCall,
            "in a call before offline"
        );
        assert_eq!(
            AgentAction::Break
                .check(&Unknown("X".into()))
                .unwrap_err()
                .why_not(),
            WhyNot::NotWhile(Unknown("X".into()))
        );
        assert_eq!(AgentAction::Dial.ccc(), Action::MakeCall);
    }

    #[test]
    fn break_expectation_spelling() {
        assert_eq!(AgentAction::Break.expectation(), "READY,BREAK,WORKING");
        assert_eq!(AgentAction::Reset.expectation(), "*");
    }

    #[test]
    fn unknown_state_refuses_everything_but_reset() {
        let s = Unknown("NEW".into());
        for a in AgentAction::ALL {
            assert_eq!(a.check(&s).is_ok(), a == AgentAction::Reset, "{a}");
        }
    }
}
