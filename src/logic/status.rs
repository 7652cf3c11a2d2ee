//! The status menu's entries: the states an agent can go to (Available,
//! Outbound only, each break reason, Offline, and Go online while offline),
//! which one is the agent's state now, and the command each one sends. The
//! same entries, as [`NextState`]s, are what the call card offers for "after
//! this call".

use ccc_model::api::{Agent, NextState};
use ccc_model::UserState;

use super::command::{Command, CommandKind};

/// One entry of the status menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusChoice {
    /// `SignInGroup` (shown while offline, or taken over by another device).
    GoOnline,
    /// `ReadyForService`.
    Available,
    /// `ReadyForService` with `OutboundScenario`.
    OutboundOnly,
    /// `TakeBreak` with this code.
    Break(String),
    /// `SignOutGroup`.
    Offline,
}

impl StatusChoice {
    /// The command it sends.
    pub fn command(&self) -> Command {
        match self {
            StatusChoice::GoOnline => Command::SignIn,
            StatusChoice::Available => Command::Ready {
                outbound_only: false,
            },
            StatusChoice::OutboundOnly => Command::Ready {
                outbound_only: true,
            },
            StatusChoice::Break(code) => Command::Break { code: code.clone() },
            StatusChoice::Offline => Command::SignOut,
        }
    }

    /// The command's kind (for the enabled / why-not decision).
    pub fn kind(&self) -> CommandKind {
        self.command().kind()
    }

    /// True when the agent is in this state already (the menu marks it and
    /// does not offer it again).
    pub fn is_current(&self, agent: &Agent) -> bool {
        match (self, &agent.state) {
            (StatusChoice::Available, UserState::Ready) => !agent.outbound_scenario,
            (StatusChoice::OutboundOnly, UserState::Ready) => agent.outbound_scenario,
            (StatusChoice::Break(code), UserState::Break) => {
                agent.break_code.as_deref() == Some(code)
            }
            (StatusChoice::Offline, UserState::Offline) => true,
            _ => false,
        }
    }

    /// As a next state (everything but going online).
    pub fn next_state(&self) -> Option<NextState> {
        Some(match self {
            StatusChoice::GoOnline => return None,
            StatusChoice::Available => NextState::Ready,
            StatusChoice::OutboundOnly => NextState::OutboundOnly,
            StatusChoice::Break(code) => NextState::Break { code: code.clone() },
            StatusChoice::Offline => NextState::Offline,
        })
    }

    /// The `data-testid` of its menu entry. The old buttons' ids are kept
    /// (`sign-in`, `ready`, `sign-out`); `outbound-only` was a checkbox.
    pub fn testid(&self) -> &'static str {
        match self {
            StatusChoice::GoOnline => "sign-in",
            StatusChoice::Available => "ready",
            StatusChoice::OutboundOnly => "outbound-only",
            StatusChoice::Break(_) => "break-option",
            StatusChoice::Offline => "sign-out",
        }
    }
}

/// Whether "Go online" belongs in the menu: while offline, or when another
/// device took the agent over (signing in takes it back).
pub fn offers_go_online(state: Option<&UserState>, other_device: bool) -> bool {
    other_device || state.is_none_or(|s| *s == UserState::Offline)
}

/// The next-state picker's value for `next` (`""` for none): `ready`,
/// `outbound-only`, `offline`, `break:<code>`.
pub fn next_state_value(next: Option<&NextState>) -> String {
    match next {
        None => String::new(),
        Some(NextState::Ready) => "ready".into(),
        Some(NextState::OutboundOnly) => "outbound-only".into(),
        Some(NextState::Offline) => "offline".into(),
        Some(NextState::Break { code }) => format!("break:{code}"),
    }
}

/// Parses [`next_state_value`] (`""` and anything unknown: none).
pub fn parse_next_state(value: &str) -> Option<NextState> {
    match value {
        "ready" => Some(NextState::Ready),
        "outbound-only" => Some(NextState::OutboundOnly),
        "offline" => Some(NextState::Offline),
        v => v.strip_prefix("break:").map(|code| NextState::Break {
            code: code.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(state: UserState) -> Agent {
        Agent {
            state,
            ..Default::default()
        }
    }

    #[test]
    fn the_current_state_is_marked() {
        let mut a = agent(UserState::Ready);
        assert!(StatusChoice::Available.is_current(&a));
        assert!(!StatusChoice::OutboundOnly.is_current(&a));
        a.outbound_scenario = true;
        assert!(StatusChoice::OutboundOnly.is_current(&a));
        assert!(!StatusChoice::Available.is_current(&a));
        let mut b = agent(UserState::Break);
        b.break_code = Some("lunch".into());
        assert!(StatusChoice::Break("lunch".into()).is_current(&b));
        assert!(!StatusChoice::Break("default".into()).is_current(&b));
        assert!(StatusChoice::Offline.is_current(&agent(UserState::Offline)));
        assert!(!StatusChoice::Offline.is_current(&agent(UserState::Talking)));
    }

    #[test]
    fn each_entry_sends_its_command() {
        assert_eq!(
            StatusChoice::OutboundOnly.command(),
            Command::Ready {
                outbound_only: true
            }
        );
        assert_eq!(
            StatusChoice::Break("lunch".into()).command(),
            Command::Break {
                code: "lunch".into()
            }
        );
        assert_eq!(StatusChoice::GoOnline.kind(), CommandKind::SignIn);
        assert_eq!(StatusChoice::Offline.kind(), CommandKind::SignOut);
        assert_eq!(StatusChoice::GoOnline.next_state(), None);
    }

    #[test]
    fn go_online_only_while_offline_or_taken_over() {
        assert!(offers_go_online(Some(&UserState::Offline), false));
        assert!(offers_go_online(None, false));
        assert!(!offers_go_online(Some(&UserState::Ready), false));
        assert!(offers_go_online(Some(&UserState::Ready), true));
    }

    #[test]
    fn next_state_values_round_trip() {
        for n in [
            None,
            Some(NextState::Ready),
            Some(NextState::OutboundOnly),
            Some(NextState::Offline),
            Some(NextState::Break {
                code: "会议:2".into(),
            }),
        ] {
            assert_eq!(parse_next_state(&next_state_value(n.as_ref())), n);
        }
        assert_eq!(parse_next_state("nonsense"), None);
    }
}
