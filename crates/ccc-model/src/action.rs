//! The CCC actions (RPC `Action=`) the toolbar, the proxy and the simulator
//! use, with the parameters each takes (ccc-api.md §1.4). One list: the
//! simulator answers exactly these, the proxy calls only these, and
//! `docs/contracts.md` prints them from here.

use std::fmt;

/// One parameter of an action (beyond `InstanceId`, which every action takes
/// and requires).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    /// The wire name, e.g. `JobId`.
    pub name: &'static str,
    /// Required per the current help page (ccc-api.md §1.4).
    pub required: bool,
}

const fn req(name: &'static str) -> Param {
    Param {
        name,
        required: true,
    }
}

const fn opt(name: &'static str) -> Param {
    Param {
        name,
        required: false,
    }
}

macro_rules! actions {
    ( $( $(#[$m:meta])* $variant:ident => [ $( $p:expr ),* $(,)? ] ),+ $(,)? ) => {
        /// A CCC action this project calls or simulates.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action {
            $( $(#[$m])* $variant, )+
        }

        impl Action {
            /// Every action, in documentation order.
            pub const ALL: &'static [Action] = &[ $( Action::$variant ),+ ];

            /// The CCC name (`Action=` on the wire).
            pub fn name(self) -> &'static str {
                match self {
                    $( Action::$variant => stringify!($variant), )+
                }
            }

            /// Parses a CCC name (exact); `None` for actions not modelled.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $( stringify!($variant) => Some(Action::$variant), )+
                    _ => None,
                }
            }

            /// The parameters it takes beyond `InstanceId`.
            pub fn params(self) -> &'static [Param] {
                match self {
                    $( Action::$variant => {
                        const PARAMS: &[Param] = &[ $( $p ),* ];
                        PARAMS
                    } )+
                }
            }
        }
    };
}

actions! {
    /// Go online: lands in BREAK / `Warm-up` (answers a `UserContext`).
    SignInGroup => [req("DeviceId"), opt("UserId"), opt("SignedSkillGroupIdList")],
    /// Go offline.
    SignOutGroup => [opt("DeviceId"), opt("UserId")],
    /// READY (from BREAK, READY, WORKING).
    ReadyForService => [opt("UserId"), req("DeviceId"), opt("OutboundScenario")],
    /// BREAK with a reason code.
    TakeBreak => [req("Code"), opt("UserId"), req("DeviceId")],
    /// How calls reach the agent.
    ChangeWorkMode => [
        req("WorkMode"), opt("UserId"), opt("DeviceId"),
        opt("SignedSkillGroupIdList"), opt("Mobile"),
    ],
    /// The escape hatch from a stuck state.
    ResetAgentState => [opt("UserId"), opt("DeviceId")],
    /// The agent's state and call (`ContextId`, `UserContext`, `CallContext`).
    PollUserStatus => [req("UserId"), req("DeviceId")],
    /// Mute the agent's own channel.
    MuteCall => [req("JobId"), opt("UserId"), opt("DeviceId"), opt("ChannelId")],
    /// Unmute the agent's own channel.
    UnmuteCall => [req("JobId"), opt("UserId"), opt("DeviceId"), opt("ChannelId")],
    /// Pick up the ringing call.
    AnswerCall => [opt("DeviceId"), opt("JobId"), opt("UserId"), opt("ChannelId")],
    /// Hang up (while ringing: reject).
    ReleaseCall => [req("JobId"), opt("UserId"), req("DeviceId"), opt("ChannelId")],
    /// Dial a customer.
    MakeCall => [
        req("Callee"), req("DeviceId"), opt("UserId"), opt("Caller"), opt("TimeoutSeconds"),
    ],
    /// Put the customer's channel on hold.
    HoldCall => [opt("JobId"), opt("ChannelId"), opt("DeviceId"), opt("UserId"), opt("Music")],
    /// Take the customer's channel off hold (same shape as HoldCall, inference).
    RetrieveCall => [opt("JobId"), opt("ChannelId"), opt("DeviceId"), opt("UserId")],
    /// The agent's display name, extension, work mode (self only).
    GetLoginDetails => [opt("UserId"), opt("ChatDeviceId")],
    /// A page of the fleet's states (reconciliation).
    ListRealtimeAgentStates => [
        opt("PageNumber"), opt("PageSize"), opt("AgentIdList"), opt("SkillGroupId"),
        opt("StateList"), opt("WorkModeList"), opt("OutboundScenario"), opt("Query"),
        opt("CallTypeList"), opt("AgentName"), opt("MediaType"),
    ],
    /// The event subscription (webhook mode: `ProducerId=PID_Webhook`).
    UpdateSubscription => [
        opt("ProducerId"), opt("DefaultTopic"), opt("AccessPoint"),
        opt("EventSubscriptionsJson"),
    ],
    /// Pass the call on in one step (ccc-api.md §9.2); `TransfereeType` is
    /// `AGENT`, `SKILL_GROUP`, `IVR` or `EXTERNAL_NUMBER`. The transferor goes
    /// to after-call work at once.
    BlindTransfer => [
        req("JobId"), req("Transferee"), opt("TransfereeType"), opt("Transferor"),
        opt("UserId"), opt("DeviceId"), opt("TimeoutSeconds"),
    ],
    /// Consult the target while the customer waits; `TransfereeType` is
    /// `AGENT`, `SKILL_GROUP` or `EXTERNAL` (not `EXTERNAL_NUMBER`).
    InitiateAttendedTransfer => [
        req("JobId"), req("Transferee"), opt("TransfereeType"), opt("Transferor"),
        opt("UserId"), opt("DeviceId"), opt("TimeoutSeconds"),
    ],
    /// Leave the customer with the consulted party.
    CompleteAttendedTransfer => [req("JobId"), opt("UserId"), opt("DeviceId")],
    /// Back to the customer (allowed even after the target answered).
    CancelAttendedTransfer => [req("JobId"), opt("UserId"), opt("DeviceId")],
    /// Turn the consult into a three-party conference.
    SwitchToConference => [req("JobId"), opt("UserId"), opt("DeviceId")],
    /// Leave a conference; the call goes on for the others.
    EndConference => [req("JobId"), opt("UserId")],
    /// One key on the customer's channel (one request per key, inference §9.3).
    SendDtmfSignaling => [
        req("JobId"), req("ChannelId"), req("Dtmf"), opt("UserId"), opt("DeviceId"),
    ],
    /// The TURN access points (`Data` is a JSON string; issue 20).
    GetTurnServerList => [],
    /// TURN REST credentials of the agent (issue 20).
    GetTurnCredentials => [opt("UserId")],
    /// The agent's SIP registrations (issue 20).
    ListDevices => [opt("UserId")],
}

impl Action {
    /// True for actions that only read (safe to retry).
    pub fn is_read(self) -> bool {
        matches!(
            self,
            Action::PollUserStatus | Action::GetLoginDetails | Action::ListRealtimeAgentStates
        )
    }

    /// Its position in [`Action::ALL`] (for per-action counters).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The parameter names it requires (beyond `InstanceId`).
    pub fn required(self) -> impl Iterator<Item = &'static str> {
        self.params().iter().filter(|p| p.required).map(|p| p.name)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for (i, a) in Action::ALL.iter().enumerate() {
            assert_eq!(Action::parse(a.name()), Some(*a));
            assert_eq!(a.index(), i);
        }
        let mut names: Vec<_> = Action::ALL.iter().map(|a| a.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Action::ALL.len());
        assert_eq!(Action::parse("ThreeWay"), None);
    }

    #[test]
    fn params_say_what_is_required() {
        assert_eq!(
            Action::MakeCall.required().collect::<Vec<_>>(),
            ["Callee", "DeviceId"]
        );
        assert_eq!(Action::TakeBreak.required().next(), Some("Code"));
        for a in Action::ALL {
            assert!(
                a.params().iter().all(|p| p.name != "InstanceId"),
                "{a}: InstanceId is implied"
            );
        }
        assert!(Action::PollUserStatus.is_read());
        assert!(!Action::MakeCall.is_read());
    }
}
