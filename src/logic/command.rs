//! The commands the toolbar sends (`POST /api/v1/agent/{name}`) and the
//! one-at-a-time bookkeeping that makes a double click send one command.

use ccc_model::{
    api::{BreakRequest, ReadyRequest, WorkModeRequest},
    AgentAction, WorkMode,
};

/// Which control a command belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandKind {
    /// Go online.
    SignIn,
    /// Go offline.
    SignOut,
    /// Ready for calls.
    Ready,
    /// Take a break.
    Break,
    /// Change the work mode.
    WorkMode,
    /// Reset the agent state.
    Reset,
    /// Mute the call.
    Mute,
    /// Unmute the call.
    Unmute,
}

impl CommandKind {
    /// Every kind.
    pub const ALL: [CommandKind; 8] = [
        CommandKind::SignIn,
        CommandKind::SignOut,
        CommandKind::Ready,
        CommandKind::Break,
        CommandKind::WorkMode,
        CommandKind::Reset,
        CommandKind::Mute,
        CommandKind::Unmute,
    ];

    /// The path segment and the name used in events and host commands.
    pub fn name(self) -> &'static str {
        match self {
            CommandKind::SignIn => "sign-in",
            CommandKind::SignOut => "sign-out",
            CommandKind::Ready => "ready",
            CommandKind::Break => "break",
            CommandKind::WorkMode => "work-mode",
            CommandKind::Reset => "reset",
            CommandKind::Mute => "mute",
            CommandKind::Unmute => "unmute",
        }
    }

    /// Parses [`CommandKind::name`].
    pub fn parse(name: &str) -> Option<Self> {
        CommandKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The CCC action it performs (for [`AgentAction::check`]).
    pub fn action(self) -> AgentAction {
        match self {
            CommandKind::SignIn => AgentAction::SignIn,
            CommandKind::SignOut => AgentAction::SignOut,
            CommandKind::Ready => AgentAction::Ready,
            CommandKind::Break => AgentAction::Break,
            CommandKind::WorkMode => AgentAction::ChangeWorkMode,
            CommandKind::Reset => AgentAction::Reset,
            CommandKind::Mute => AgentAction::Mute,
            CommandKind::Unmute => AgentAction::Unmute,
        }
    }
}

/// A command with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `sign-in`, `{}`.
    SignIn,
    /// `sign-out`, `{}`.
    SignOut,
    /// `ready`, `{"outboundOnly":bool}`.
    Ready {
        /// Outbound-only mode.
        outbound_only: bool,
    },
    /// `break`, `{"code":...}`.
    Break {
        /// The reason.
        code: String,
    },
    /// `work-mode`, `{"mode":...,"mobile":...}`.
    WorkMode {
        /// The new mode.
        mode: WorkMode,
        /// Personal phone for OFF_SITE.
        mobile: Option<String>,
    },
    /// `reset`, `{}`.
    Reset,
    /// `mute`, `{}`.
    Mute,
    /// `unmute`, `{}`.
    Unmute,
}

/// The JSON body of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandBody {
    /// `{}`.
    Empty,
    /// `ready`.
    Ready(ReadyRequest),
    /// `break`.
    Break(BreakRequest),
    /// `work-mode`.
    WorkMode(WorkModeRequest),
}

impl Command {
    /// Its kind.
    pub fn kind(&self) -> CommandKind {
        match self {
            Command::SignIn => CommandKind::SignIn,
            Command::SignOut => CommandKind::SignOut,
            Command::Ready { .. } => CommandKind::Ready,
            Command::Break { .. } => CommandKind::Break,
            Command::WorkMode { .. } => CommandKind::WorkMode,
            Command::Reset => CommandKind::Reset,
            Command::Mute => CommandKind::Mute,
            Command::Unmute => CommandKind::Unmute,
        }
    }

    /// The API path below the base path.
    pub fn path(&self) -> String {
        format!("/api/v1/agent/{}", self.kind().name())
    }

    /// The request body.
    pub fn body(&self) -> CommandBody {
        match self {
            Command::Ready { outbound_only } => CommandBody::Ready(ReadyRequest {
                outbound_only: *outbound_only,
            }),
            Command::Break { code } => CommandBody::Break(BreakRequest { code: code.clone() }),
            Command::WorkMode { mode, mobile } => CommandBody::WorkMode(WorkModeRequest {
                mode: mode.clone(),
                mobile: mobile.clone(),
            }),
            _ => CommandBody::Empty,
        }
    }
}

/// One command in flight at a time: a second one (a double click, a
/// shortcut during a click) is refused until the first is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pending {
    current: Option<CommandKind>,
}

impl Pending {
    /// The command in flight.
    pub fn current(&self) -> Option<CommandKind> {
        self.current
    }

    /// Starts `kind` unless another command is in flight; true when started.
    pub fn try_start(&mut self, kind: CommandKind) -> bool {
        if self.current.is_some() {
            return false;
        }
        self.current = Some(kind);
        true
    }

    /// The command was answered (either way).
    pub fn finish(&mut self) {
        self.current = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_paths() {
        for k in CommandKind::ALL {
            assert_eq!(CommandKind::parse(k.name()), Some(k));
        }
        assert_eq!(CommandKind::parse("dance"), None);
        assert_eq!(Command::Reset.path(), "/api/v1/agent/reset");
        assert_eq!(
            Command::Ready {
                outbound_only: true
            }
            .path(),
            "/api/v1/agent/ready"
        );
    }

    #[test]
    fn bodies() {
        assert_eq!(Command::SignIn.body(), CommandBody::Empty);
        assert_eq!(
            Command::Break {
                code: "lunch".into()
            }
            .body(),
            CommandBody::Break(BreakRequest {
                code: "lunch".into()
            })
        );
    }

    #[test]
    fn one_command_at_a_time() {
        let mut p = Pending::default();
        assert!(p.try_start(CommandKind::Ready));
        assert!(!p.try_start(CommandKind::Ready), "double click ignored");
        assert!(!p.try_start(CommandKind::Break));
        assert_eq!(p.current(), Some(CommandKind::Ready));
        p.finish();
        assert!(p.try_start(CommandKind::Break));
    }

    #[test]
    fn kinds_map_to_ccc_actions() {
        assert_eq!(CommandKind::WorkMode.action(), AgentAction::ChangeWorkMode);
        assert_eq!(CommandKind::Unmute.action(), AgentAction::Unmute);
    }
}
