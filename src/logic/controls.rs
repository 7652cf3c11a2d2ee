//! Which control is enabled, and why not, as a decision ([`WhyNot`]) that
//! `crate::i18n::why_not_text` puts into words. The CCC table is
//! `AgentAction::check`; this adds only what the toolbar itself knows (no
//! state yet, a command in flight, already online/offline).

use ccc_model::{UserState, WhyNot};

use super::command::CommandKind;

/// What the control decision depends on.
#[derive(Debug, Clone, Copy)]
pub struct ControlContext<'a> {
    /// The agent's state, when known.
    pub state: Option<&'a UserState>,
    /// The command in flight.
    pub pending: Option<CommandKind>,
    /// True when the active device is another one (signing in takes over).
    pub other_device: bool,
}

/// `None` when `kind` may be sent now; otherwise why not.
pub fn why_not(kind: CommandKind, ctx: ControlContext<'_>) -> Option<WhyNot> {
    let Some(state) = ctx.state else {
        return Some(WhyNot::NoStateYet);
    };
    if ctx.pending.is_some() {
        return Some(WhyNot::CommandPending);
    }
    match (kind, state) {
        (CommandKind::SignIn, s)
            if *s != UserState::Offline && !ctx.other_device && !s.in_call() =>
        {
            return Some(WhyNot::AlreadyOnline);
        }
        (CommandKind::SignOut, UserState::Offline) => return Some(WhyNot::AlreadyOffline),
        _ => {}
    }
    kind.action().check(state).err().map(|r| r.why_not())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(state: &UserState) -> ControlContext<'_> {
        ControlContext {
            state: Some(state),
            pending: None,
            other_device: false,
        }
    }

    #[test]
    fn answer_and_hang_up_say_when_they_work() {
        let ready = UserState::Ready;
        assert_eq!(
            why_not(CommandKind::Answer, ctx(&ready)),
            Some(WhyNot::OnlyWhileRinging)
        );
        assert_eq!(
            why_not(CommandKind::Hangup, ctx(&ready)),
            Some(WhyNot::OnlyDuringCall)
        );
        let ringing = UserState::Ringing;
        assert_eq!(why_not(CommandKind::Answer, ctx(&ringing)), None);
        assert_eq!(why_not(CommandKind::Hangup, ctx(&ringing)), None);
        let talking = UserState::Talking;
        assert!(why_not(CommandKind::Answer, ctx(&talking)).is_some());
        assert_eq!(why_not(CommandKind::Hangup, ctx(&talking)), None);
    }

    #[test]
    fn ready_from_offline_says_sign_in_first() {
        let s = UserState::Offline;
        assert_eq!(
            why_not(CommandKind::Ready, ctx(&s)),
            Some(WhyNot::SignInFirst)
        );
        assert_eq!(why_not(CommandKind::SignIn, ctx(&s)), None);
        assert_eq!(
            why_not(CommandKind::SignOut, ctx(&s)),
            Some(WhyNot::AlreadyOffline)
        );
    }

    #[test]
    fn follows_the_ccc_table_for_every_state() {
        for s in UserState::ALL {
            for k in [
                CommandKind::Ready,
                CommandKind::Break,
                CommandKind::Mute,
                CommandKind::Reset,
            ] {
                assert_eq!(
                    why_not(k, ctx(s)).is_none(),
                    k.action().check(s).is_ok(),
                    "{k:?} from {s}"
                );
            }
        }
    }

    #[test]
    fn in_a_call_and_mute_reasons() {
        let s = UserState::Talking;
        assert_eq!(
            why_not(CommandKind::Break, ctx(&s)),
            Some(WhyNot::NotDuringCall)
        );
        assert_eq!(why_not(CommandKind::Mute, ctx(&s)), None);
        let s = UserState::Ready;
        assert_eq!(
            why_not(CommandKind::Mute, ctx(&s)),
            Some(WhyNot::OnlyDuringCall)
        );
    }

    #[test]
    fn sign_in_only_when_offline_or_taking_over() {
        let s = UserState::Ready;
        assert_eq!(
            why_not(CommandKind::SignIn, ctx(&s)),
            Some(WhyNot::AlreadyOnline)
        );
        let other = ControlContext {
            other_device: true,
            ..ctx(&s)
        };
        assert_eq!(why_not(CommandKind::SignIn, other), None);
    }

    #[test]
    fn nothing_before_the_state_or_while_pending() {
        let none = ControlContext {
            state: None,
            pending: None,
            other_device: false,
        };
        assert_eq!(why_not(CommandKind::Reset, none), Some(WhyNot::NoStateYet));
        let s = UserState::Ready;
        let busy = ControlContext {
            pending: Some(CommandKind::Break),
            ..ctx(&s)
        };
        assert_eq!(
            why_not(CommandKind::Reset, busy),
            Some(WhyNot::CommandPending)
        );
    }
}
