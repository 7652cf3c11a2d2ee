//! Commands from the host page (`handle.command(...)`, iframe `postMessage`).

use ccc_model::{
    api::{DtmfRequest, TargetType, TransferKind, TransferTarget},
    dial::DialNumber,
    WorkMode,
};
use serde::Deserialize;

use super::command::{Command, CommandKind};

/// The version of the event and command schema.
pub const SCHEMA_VERSION: u32 = 1;

/// `{version: 1, command: "ready" | "break" | "dial" | "transfer" | ..., code?,
/// outboundOnly?, mode?, mobile?, number?, callerId?, kind?, target?, digits?}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostCommand {
    /// Schema version (must be 1 in iframe messages).
    #[serde(default)]
    pub version: Option<u32>,
    /// `sign-in`, `sign-out`, `ready`, `break`, `work-mode`, `reset`, `mute`,
    /// `unmute`, `toggle-mute`, `answer`, `hangup`, `dial`, `hold`, `retrieve`,
    /// `resync`, `transfer`, `transfer/complete`, `transfer/cancel`,
    /// `conference`, `conference/leave`, `dtmf`. Absent in `handle.command(name, args)` arguments, where
    /// `name` supplies it.
    #[serde(default)]
    pub command: String,
    /// Break reason.
    #[serde(default)]
    pub code: Option<String>,
    /// Ready outbound-only.
    #[serde(default)]
    pub outbound_only: bool,
    /// Work mode.
    #[serde(default)]
    pub mode: Option<WorkMode>,
    /// Mobile for OFF_SITE.
    #[serde(default)]
    pub mobile: Option<String>,
    /// The number to dial.
    #[serde(default)]
    pub number: Option<String>,
    /// The caller id to present when dialling or transferring to a number
    /// (default: CCC's).
    #[serde(default)]
    pub caller_id: Option<String>,
    /// `transfer`: `blind` or `consult`.
    #[serde(default)]
    pub kind: Option<TransferKind>,
    /// `transfer`: `{type: "agent" | "skill-group" | "number", id}`.
    #[serde(default)]
    pub target: Option<TransferTarget>,
    /// `dtmf`: keypad keys `0-9*#`, at most 32.
    #[serde(default)]
    pub digits: Option<String>,
}

/// What a host command asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostRequest {
    /// Send a command.
    Command(Command),
    /// Dial now, or keep the number in the dial box when dialling is not
    /// possible now.
    Dial {
        /// The number.
        number: DialNumber,
        /// The caller id.
        caller_id: Option<String>,
    },
    /// Sync now.
    Resync,
}

impl HostCommand {
    /// The request, given whether the call is muted now (for `toggle-mute`).
    /// Command names are [`CommandKind::name`]'s (the API's path segments),
    /// plus `toggle-mute` and `resync`.
    pub fn request(&self, muted: bool) -> Result<HostRequest, &'static str> {
        let kind = match self.command.as_str() {
            "toggle-mute" if muted => CommandKind::Unmute,
            "toggle-mute" => CommandKind::Mute,
            "resync" => return Ok(HostRequest::Resync),
            name => CommandKind::parse(name).ok_or("unknown command")?,
        };
        let c = match kind {
            CommandKind::Ready => Command::Ready {
                outbound_only: self.outbound_only,
            },
            CommandKind::Break => Command::Break {
                code: self
                    .code
                    .clone()
                    .filter(|c| !c.is_empty())
                    .ok_or("break needs a code")?,
            },
            CommandKind::WorkMode => Command::WorkMode {
                mode: self.mode.clone().ok_or("work-mode needs a mode")?,
                mobile: self.mobile.clone(),
            },
            CommandKind::Dial => {
                let number = self.number.as_deref().unwrap_or_default();
                return Ok(HostRequest::Dial {
                    number: DialNumber::parse(number)
                        .map_err(|_| "dial needs a number: digits, *, # and a leading +")?,
                    caller_id: self.caller_id.clone().filter(|c| !c.is_empty()),
                });
            }
            CommandKind::Transfer => Command::Transfer(self.transfer()?),
            CommandKind::Dtmf => {
                let d = DtmfRequest {
                    digits: self.digits.clone().unwrap_or_default(),
                };
                if !d.is_valid() {
                    return Err("dtmf needs digits: 1 to 32 of 0-9, * and #");
                }
                Command::Dtmf(d)
            }
            kind => Command::without_arguments(kind).ok_or("unknown command")?,
        };
        Ok(HostRequest::Command(c))
    }
}

impl HostCommand {
    /// The transfer asked for: `kind` and `target` are required; an agent
    /// or skill group needs an id, a number must be dialable (it is sent
    /// without separators).
    pub fn transfer(&self) -> Result<ccc_model::api::TransferRequest, &'static str> {
        let kind = self
            .kind
            .ok_or("transfer needs a kind: \"blind\" or \"consult\"")?;
        let mut target = self.target.clone().ok_or(
            "transfer needs a target: {type: \"agent\" | \"skill-group\" | \"number\", id}",
        )?;
        target.id = target.id.trim().to_owned();
        if target.id.is_empty() {
            return Err("transfer needs a target id");
        }
        if target.kind == TargetType::Number {
            target.id = DialNumber::parse(&target.id)
                .map_err(|_| "transfer to a number needs digits, *, # and a leading +")?
                .as_str()
                .to_owned();
        }
        Ok(super::transfer::request(
            kind,
            target,
            self.caller_id.clone(),
        ))
    }
}

/// True for `scheme://host[:port]` (what `MessageEvent.origin` looks like), never `*`.
pub fn is_origin(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !rest.is_empty()
        && !rest.contains(['/', '*', '?', '#', ' ', '@'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(name: &str) -> HostCommand {
        HostCommand {
            command: name.into(),
            ..Default::default()
        }
    }

    #[test]
    fn commands() {
        assert_eq!(
            cmd("reset").request(false),
            Ok(HostRequest::Command(Command::Reset))
        );
        assert_eq!(
            cmd("toggle-mute").request(true),
            Ok(HostRequest::Command(Command::Unmute))
        );
        assert_eq!(cmd("resync").request(false), Ok(HostRequest::Resync));
        assert_eq!(
            cmd("answer").request(false),
            Ok(HostRequest::Command(Command::Answer))
        );
        assert_eq!(
            cmd("hangup").request(false),
            Ok(HostRequest::Command(Command::Hangup))
        );
        assert!(cmd("break").request(false).is_err());
        assert!(cmd("dance").request(false).is_err());
        let b = HostCommand {
            code: Some("lunch".into()),
            ..cmd("break")
        };
        assert_eq!(
            b.request(false),
            Ok(HostRequest::Command(Command::Break {
                code: "lunch".into()
            }))
        );
    }

    #[test]
    fn dial_hold_and_retrieve() {
        let d = HostCommand {
            number: Some("138 0013 8000".into()),
            caller_id: Some(String::new()),
            ..cmd("dial")
        };
        assert_eq!(
            d.request(false),
            Ok(HostRequest::Dial {
                number: DialNumber::parse("13800138000").unwrap(),
                caller_id: None
            })
        );
        assert!(cmd("dial").request(false).is_err());
        let bad = HostCommand {
            number: Some("call me".into()),
            ..cmd("dial")
        };
        assert!(bad.request(false).is_err());
        assert_eq!(
            cmd("hold").request(false),
            Ok(HostRequest::Command(Command::Hold))
        );
        assert_eq!(
            cmd("retrieve").request(false),
            Ok(HostRequest::Command(Command::Retrieve))
        );
    }

    #[test]
    fn transfer_and_the_consult_commands() {
        let t = HostCommand {
            kind: Some(TransferKind::Blind),
            target: Some(TransferTarget {
                kind: TargetType::Number,
                id: " 138 0013 8000 ".into(),
            }),
            caller_id: Some("02150001234".into()),
            ..cmd("transfer")
        };
        let Ok(HostRequest::Command(Command::Transfer(r))) = t.request(false) else {
            panic!("a transfer")
        };
        assert_eq!(r.target.id, "13800138000");
        assert_eq!(r.caller_id.as_deref(), Some("02150001234"));
        assert!(
            cmd("transfer").request(false).is_err(),
            "no kind, no target"
        );
        let no_target = HostCommand {
            kind: Some(TransferKind::Consult),
            ..cmd("transfer")
        };
        assert!(no_target.request(false).is_err());
        let empty = HostCommand {
            target: Some(TransferTarget {
                kind: TargetType::Agent,
                id: " ".into(),
            }),
            ..no_target
        };
        assert!(empty.request(false).is_err());
        for (name, c) in [
            ("transfer/complete", Command::CompleteTransfer),
            ("transfer/cancel", Command::CancelTransfer),
            ("conference", Command::Conference),
            ("conference/leave", Command::LeaveConference),
        ] {
            assert_eq!(cmd(name).request(false), Ok(HostRequest::Command(c)));
        }
        let keys = HostCommand {
            digits: Some("12#".into()),
            ..cmd("dtmf")
        };
        assert!(matches!(
            keys.request(false),
            Ok(HostRequest::Command(Command::Dtmf(_)))
        ));
        assert!(cmd("dtmf").request(false).is_err());
        let bad = HostCommand {
            digits: Some("12a".into()),
            ..cmd("dtmf")
        };
        assert!(bad.request(false).is_err());
    }

    #[test]
    fn every_command_name_is_a_host_command() {
        for k in CommandKind::ALL {
            let c = HostCommand {
                code: Some("lunch".into()),
                mode: Some(WorkMode::OnSite),
                number: Some("13800138000".into()),
                digits: Some("1#".into()),
                kind: Some(TransferKind::Blind),
                target: Some(TransferTarget {
                    kind: TargetType::Agent,
                    id: "agent2@ccc-demo".into(),
                }),
                ..cmd(k.name())
            };
            let kind = match c.request(false) {
                Ok(HostRequest::Command(c)) => c.kind(),
                Ok(HostRequest::Dial { .. }) => CommandKind::Dial,
                other => panic!("{}: {other:?}", k.name()),
            };
            assert_eq!(kind, k);
        }
    }

    #[test]
    fn origins() {
        assert!(is_origin("https://crm.example.com"));
        assert!(is_origin("http://127.0.0.1:8080"));
        assert!(!is_origin("*"));
        assert!(!is_origin("https://crm.example.com/path"));
        assert!(!is_origin("crm.example.com"));
        assert!(!is_origin("https://*.example.com"));
    }
}
