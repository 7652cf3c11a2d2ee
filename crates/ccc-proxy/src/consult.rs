//! Issue 18: what the call's legs say about a consult and a conference,
//! and which transfer commands the agent's call allows — plain functions
//! of CCC's `CallContext` and of the snapshot, tested without HTTP.
//!
//! The consult leg of agent `U` is a live leg (not RELEASED/RETIRED) of
//! another party, typed `CONSULTANT` or `CONFERENCE`, created after `U`'s
//! own leg (a higher `Index`): the agent that consults sees it, the
//! consulted agent (whose own leg came later) does not. A leg with a
//! `UserId` is an agent; without one (and not the customer's, the first
//! such leg) a number. The call is a conference when its `CallType` is
//! `CONFERENCE`.

use ccc_model::{
    api::{AgentSnapshot, CommandKind, ConsultLeg, ConsultPhase, TargetType, TransferTarget},
    CallContext, CallType, ChannelState, ProxyCode,
};

/// The consult leg of `user_id`'s call, and whether the call is a conference.
pub fn derive(call: Option<&CallContext>, user_id: &str) -> (Option<ConsultLeg>, bool) {
    let Some(call) = call else {
        return (None, false);
    };
    let conference = call.call_type == Some(CallType::Conference);
    let Some(own) = call.channel_of(user_id) else {
        return (None, conference);
    };
    let customer = call.customer_channel().map(|c| c.channel_id.as_str());
    let leg = call
        .channel_contexts
        .iter()
        .filter(|c| c.index > own.index)
        .filter(|c| Some(c.channel_id.as_str()) != customer)
        .filter(|c| {
            matches!(
                c.call_type,
                Some(CallType::Consultant) | Some(CallType::Conference)
            )
        })
        .find(|c| {
            !matches!(
                c.channel_state,
                ChannelState::Released | ChannelState::Retired
            )
        });
    let consult = leg.map(|c| {
        let target = match (&c.user_id, &c.destination) {
            (Some(user), _) => TransferTarget {
                kind: TargetType::Agent,
                id: user.clone(),
            },
            (None, number) => TransferTarget {
                kind: TargetType::Number,
                id: number.clone().unwrap_or_default(),
            },
        };
        ConsultLeg {
            target,
            name: None,
            phase: if c.channel_state == ChannelState::Answered {
                ConsultPhase::Talking
            } else {
                ConsultPhase::Ringing
            },
        }
    });
    (consult, conference)
}

/// Sets the snapshot's consult leg and conference flag from `user_id`'s
/// `call`.
pub fn annotate(snapshot: &mut AgentSnapshot, call: Option<&CallContext>, user_id: &str) {
    let (consult, conference) = derive(call, user_id);
    snapshot.consult = consult;
    snapshot.conference = conference;
}

/// Why the agent's call does not allow a transfer command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No call at all.
    NoCall,
    /// Complete, cancel or conference without a consult.
    NoConsult,
    /// A new transfer while a consult (or conference) lasts.
    ConsultInProgress,
    /// Leaving a conference that is not one.
    NoConference,
}

impl Refusal {
    /// The proxy code the widget puts into words.
    pub fn code(self) -> ProxyCode {
        match self {
            Refusal::NoCall => ProxyCode::NoCall,
            Refusal::NoConsult => ProxyCode::NoConsult,
            Refusal::ConsultInProgress => ProxyCode::ConsultInProgress,
            Refusal::NoConference => ProxyCode::NoConference,
        }
    }

    /// The message of the refusal.
    pub fn message(self) -> &'static str {
        match self {
            Refusal::NoCall => "There is no call to transfer.",
            Refusal::NoConsult => "There is no consult in progress.",
            Refusal::ConsultInProgress => "A consult is in progress: complete or cancel it first.",
            Refusal::NoConference => "The call is not a conference.",
        }
    }
}

/// Whether `snapshot`'s call allows the transfer command `kind` (the
/// agent's state is checked by the rules table). Other kinds: `Ok`.
pub fn check(kind: CommandKind, snapshot: &AgentSnapshot) -> Result<(), Refusal> {
    let transfer_kind = matches!(
        kind,
        CommandKind::Transfer
            | CommandKind::CompleteTransfer
            | CommandKind::CancelTransfer
            | CommandKind::Conference
            | CommandKind::LeaveConference
            | CommandKind::Dtmf
    );
    if !transfer_kind {
        return Ok(());
    }
    if snapshot.call.is_none() {
        return Err(Refusal::NoCall);
    }
    let consulting = snapshot.consult.is_some() && !snapshot.conference;
    match kind {
        CommandKind::Transfer if snapshot.consult.is_some() || snapshot.conference => {
            Err(Refusal::ConsultInProgress)
        }
        CommandKind::CompleteTransfer | CommandKind::CancelTransfer if !consulting => {
            Err(Refusal::NoConsult)
        }
        CommandKind::Conference if !consulting => Err(Refusal::NoConsult),
        CommandKind::LeaveConference if !snapshot.conference => Err(Refusal::NoConference),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ccc_model::{ChannelContext, UserContext, UserState};

    const A: &str = "a@i";
    const B: &str = "b@i";

    fn leg(index: i64, user: Option<&str>, ty: CallType, state: ChannelState) -> ChannelContext {
        ChannelContext {
            index,
            channel_id: format!("ch:{index}"),
            channel_state: state,
            call_type: Some(ty),
            user_id: user.map(str::to_owned),
            destination: Some("02150001234".into()),
            ..ChannelContext::default()
        }
    }

    fn call(ty: CallType, legs: Vec<ChannelContext>) -> CallContext {
        CallContext {
            instance_id: "i".into(),
            job_id: "job-1".into(),
            call_type: Some(ty),
            channel_contexts: legs,
            call_variables: None,
        }
    }

    /// A consults B: customer (0), A (1), B (2, CONSULTANT).
    fn consult(state: ChannelState) -> CallContext {
        call(
            CallType::Inbound,
            vec![
                leg(0, None, CallType::Inbound, ChannelState::Answered),
                leg(1, Some(A), CallType::Inbound, ChannelState::Answered),
                leg(2, Some(B), CallType::Consultant, state),
            ],
        )
    }

    fn snapshot(call: Option<&CallContext>) -> AgentSnapshot {
        let user = UserContext {
            user_id: A.into(),
            user_state: UserState::Talking,
            ..UserContext::default()
        };
        let mut s = AgentSnapshot::from_contexts(1, &user, call, 0);
        annotate(&mut s, call, A);
        s
    }

    #[test]
    fn the_consulting_agent_sees_the_leg_and_its_phase() {
        let (c, conf) = derive(Some(&consult(ChannelState::Ringing)), A);
        let c = c.unwrap();
        assert_eq!(c.target.kind, TargetType::Agent);
        assert_eq!(c.target.id, B);
        assert_eq!(c.phase, ConsultPhase::Ringing);
        assert!(!conf);
        let (c, _) = derive(Some(&consult(ChannelState::Answered)), A);
        assert_eq!(c.unwrap().phase, ConsultPhase::Talking);
        // The consulted agent's own leg came later: no consult of its own.
        assert_eq!(derive(Some(&consult(ChannelState::Answered)), B).0, None);
        // A released leg is over.
        assert_eq!(derive(Some(&consult(ChannelState::Released)), A).0, None);
        assert_eq!(derive(None, A), (None, false));
    }

    #[test]
    fn numbers_and_conferences() {
        let mut c = consult(ChannelState::Answered);
        c.channel_contexts[2].user_id = None;
        let number = derive(Some(&c), A).0.unwrap();
        assert_eq!(number.target.kind, TargetType::Number);
        assert_eq!(number.target.id, "02150001234");
        c.call_type = Some(CallType::Conference);
        let (named, conference) = derive(Some(&c), A);
        assert!(conference);
        assert!(
            named.is_some(),
            "the consulted party stays named in a conference"
        );
        // A plain call: nothing.
        let plain = call(
            CallType::Outbound,
            vec![
                leg_of(0, Some(A)),
                leg(1, None, CallType::Outbound, ChannelState::Answered),
            ],
        );
        assert_eq!(derive(Some(&plain), A), (None, false));
    }

    fn leg_of(index: i64, user: Option<&str>) -> ChannelContext {
        leg(index, user, CallType::Outbound, ChannelState::Answered)
    }

    #[test]
    fn which_commands_the_call_allows() {
        use CommandKind as K;
        let none = snapshot(None);
        let plain = snapshot(Some(&call(
            CallType::Inbound,
            vec![
                leg(0, None, CallType::Inbound, ChannelState::Answered),
                leg(1, Some(A), CallType::Inbound, ChannelState::Answered),
            ],
        )));
        let consulting = snapshot(Some(&consult(ChannelState::Answered)));
        let mut conf_call = consult(ChannelState::Answered);
        conf_call.call_type = Some(CallType::Conference);
        let conference = snapshot(Some(&conf_call));
        for kind in [
            K::Transfer,
            K::CompleteTransfer,
            K::Dtmf,
            K::LeaveConference,
        ] {
            assert_eq!(check(kind, &none), Err(Refusal::NoCall), "{kind:?}");
        }
        assert_eq!(check(K::Transfer, &plain), Ok(()));
        assert_eq!(check(K::Dtmf, &plain), Ok(()));
        for kind in [K::CompleteTransfer, K::CancelTransfer, K::Conference] {
            assert_eq!(check(kind, &plain), Err(Refusal::NoConsult), "{kind:?}");
            assert_eq!(check(kind, &consulting), Ok(()), "{kind:?}");
            assert_eq!(
                check(kind, &conference),
                Err(Refusal::NoConsult),
                "{kind:?}"
            );
        }
        assert_eq!(
            check(K::Transfer, &consulting),
            Err(Refusal::ConsultInProgress)
        );
        assert_eq!(
            check(K::Transfer, &conference),
            Err(Refusal::ConsultInProgress)
        );
        assert_eq!(
            check(K::LeaveConference, &plain),
            Err(Refusal::NoConference)
        );
        assert_eq!(
            check(K::LeaveConference, &consulting),
            Err(Refusal::NoConference)
        );
        assert_eq!(check(K::LeaveConference, &conference), Ok(()));
        assert_eq!(check(K::Mute, &none), Ok(()), "not a transfer command");
        assert_eq!(Refusal::NoConsult.code(), ProxyCode::NoConsult);
    }
}
