//! Which control is enabled, and the sentence that says why not. The CCC
//! table is `AgentAction::check`; this adds only what the toolbar itself
//! knows (no state yet, a command in flight, already online/offline).

use ccc_model::{AgentAction, UserState};

use super::command::CommandKind;
use crate::i18n::{state_label, tr, Lang};

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

/// `None` when `kind` may be sent now; otherwise why not, in words.
pub fn why_not(kind: CommandKind, ctx: ControlContext<'_>, lang: Lang) -> Option<String> {
    let t = |en, zh| Some(tr(lang, en, zh).to_owned());
    let Some(state) = ctx.state else {
        return t(
            "Waiting for your state from Contact Center…",
            "正在获取您的状态…",
        );
    };
    if ctx.pending.is_some() {
        return t(
            "Waiting for the answer to the last command…",
            "正在等待上一操作的结果…",
        );
    }
    match (kind, state) {
        (CommandKind::SignIn, s)
            if *s != UserState::Offline && !ctx.other_device && !s.in_call() =>
        {
            return t("You're already online.", "您已在线。");
        }
        (CommandKind::SignOut, UserState::Offline) => {
            return t("You're already offline.", "您已离线。");
        }
        _ => {}
    }
    let refusal = kind.action().check(state).err()?;
    Some(refusal_reason(refusal.action, &refusal.state, lang))
}

/// Why CCC does not allow `action` in `state`.
pub fn refusal_reason(action: AgentAction, state: &UserState, lang: Lang) -> String {
    let t = |en, zh| tr(lang, en, zh).to_owned();
    match (action, state) {
        (AgentAction::Mute | AgentAction::Unmute | AgentAction::Hangup, _) => {
            t("Only during a call.", "仅在通话中可用。")
        }
        (AgentAction::Answer, _) => t("Only while a call is ringing.", "仅在来电振铃时可用。"),
        (_, UserState::Offline) => t("Sign in first.", "请先上线。"),
        (_, s) if s.in_call() => t("Not during a call.", "通话中不可用。"),
        (_, s) => match lang {
            Lang::En => format!("Not possible while {}.", state_label(s, lang)),
            Lang::Zh => format!("{}状态下不可用。", state_label(s, lang)),
        },
    }
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
            why_not(CommandKind::Answer, ctx(&ready), Lang::En).as_deref(),
            Some("Only while a call is ringing.")
        );
        assert_eq!(
            why_not(CommandKind::Hangup, ctx(&ready), Lang::En).as_deref(),
            Some("Only during a call.")
        );
        let ringing = UserState::Ringing;
        assert_eq!(why_not(CommandKind::Answer, ctx(&ringing), Lang::En), None);
        assert_eq!(why_not(CommandKind::Hangup, ctx(&ringing), Lang::En), None);
        let talking = UserState::Talking;
        assert!(why_not(CommandKind::Answer, ctx(&talking), Lang::En).is_some());
        assert_eq!(why_not(CommandKind::Hangup, ctx(&talking), Lang::En), None);
    }

    #[test]
    fn ready_from_offline_says_sign_in_first() {
        let s = UserState::Offline;
        assert_eq!(
            why_not(CommandKind::Ready, ctx(&s), Lang::En).as_deref(),
            Some("Sign in first.")
        );
        assert_eq!(why_not(CommandKind::SignIn, ctx(&s), Lang::En), None);
        assert_eq!(
            why_not(CommandKind::SignOut, ctx(&s), Lang::En).as_deref(),
            Some("You're already offline.")
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
                    why_not(k, ctx(s), Lang::En).is_none(),
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
            why_not(CommandKind::Break, ctx(&s), Lang::En).as_deref(),
            Some("Not during a call.")
        );
        assert_eq!(why_not(CommandKind::Mute, ctx(&s), Lang::En), None);
        let s = UserState::Ready;
        assert_eq!(
            why_not(CommandKind::Mute, ctx(&s), Lang::Zh).as_deref(),
            Some("仅在通话中可用。")
        );
    }

    #[test]
    fn sign_in_only_when_offline_or_taking_over() {
        let s = UserState::Ready;
        assert!(why_not(CommandKind::SignIn, ctx(&s), Lang::En).is_some());
        let other = ControlContext {
            other_device: true,
            ..ctx(&s)
        };
        assert_eq!(why_not(CommandKind::SignIn, other, Lang::En), None);
    }

    #[test]
    fn nothing_before_the_state_or_while_pending() {
        let none = ControlContext {
            state: None,
            pending: None,
            other_device: false,
        };
        assert!(why_not(CommandKind::Reset, none, Lang::En).is_some());
        let s = UserState::Ready;
        let busy = ControlContext {
            pending: Some(CommandKind::Break),
            ..ctx(&s)
        };
        assert!(why_not(CommandKind::Reset, busy, Lang::En)
            .unwrap()
            .contains("Waiting"));
    }
}
