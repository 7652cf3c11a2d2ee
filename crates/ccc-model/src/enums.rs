//! CCC's string enumerations. Each has an `Unknown(String)` variant so that a
//! value the cloud adds later never breaks decoding; it is kept verbatim and
//! encoded back unchanged.

use std::fmt;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $wire:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this build does not know, kept verbatim.
            Unknown(String),
        }

        impl $name {
            /// Every known value, in documentation order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant ),+ ];

            /// The wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )+
                    $name::Unknown(s) => s.as_str(),
                }
            }

            /// Parses the wire spelling (exact, as CCC sends it); anything
            /// else is kept as `Unknown`.
            pub fn parse(s: &str) -> Self {
                match s {
                    $( $wire => $name::$variant, )+
                    other => $name::Unknown(other.to_owned()),
                }
            }

            /// True for values this build knows.
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Unknown(_))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> de::Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str(concat!("a ", stringify!($name), " string"))
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$name, E> {
                        Ok($name::parse(v.trim()))
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

wire_enum! {
    /// The agent state (`UserState`): the seven documented values.
    #[derive(Default)]
    UserState {
        /// 离线: signed out.
        #[default]
        Offline => "OFFLINE",
        /// 空闲/就绪: available for calls.
        Ready => "READY",
        /// 小休: on break, with a `BreakCode`.
        Break => "BREAK",
        /// 拨号中: placing an outbound call.
        Dialing => "DIALING",
        /// 振铃中: a call is ringing.
        Ringing => "RINGING",
        /// 通话中: in a call.
        Talking => "TALKING",
        /// 话后处理: after-call work.
        Working => "WORKING",
    }
}

impl UserState {
    /// True while the agent is part of a call (a `JobId` is set).
    pub fn in_call(&self) -> bool {
        matches!(
            self,
            UserState::Dialing | UserState::Ringing | UserState::Talking
        )
    }
}

wire_enum! {
    /// How calls reach the agent (`WorkMode`).
    WorkMode {
        /// 场内: in-seat, browser WebRTC softphone.
        OnSite => "ON_SITE",
        /// 场外: calls go to the agent's personal `Mobile`.
        OffSite => "OFF_SITE",
        /// 办公电话: a SIP desk phone.
        OfficePhone => "OFFICE_PHONE",
    }
}

wire_enum! {
    /// The state of one leg of a call (`ChannelState`).
    #[derive(Default)]
    ChannelState {
        #[default]
        None => "NONE",
        Created => "CREATED",
        EarlyMedia => "EARLY_MEDIA",
        Ringing => "RINGING",
        Answered => "ANSWERED",
        Released => "RELEASED",
        Retired => "RETIRED",
    }
}

wire_enum! {
    /// The type of a call (`CallType`).
    CallType {
        Inbound => "INBOUND",
        Outbound => "OUTBOUND",
        Internal => "INTERNAL",
        Consultant => "CONSULTANT",
        Conference => "CONFERENCE",
        Monitor => "MONITOR",
        Barge => "BARGE",
        Intercept => "INTERCEPT",
        Back2Back => "BACK2BACK",
        Predictive => "PREDICTIVE",
        Coach => "COACH",
        Threeway => "THREEWAY",
    }
}

wire_enum! {
    /// A flag on a channel (`ChannelFlags` holds zero or more).
    ChannelFlag {
        Coaching => "COACHING",
        Monitoring => "MONITORING",
        Monitored => "MONITORED",
        Coached => "COACHED",
        Hold => "HOLD",
        Muted => "MUTED",
    }
}

/// The system break codes CCC sets by itself.
pub mod break_codes {
    /// Temporary break after going online, before the first ready.
    pub const WARM_UP: &str = "Warm-up";
    /// Forced break after an unanswered ringing call.
    pub const RINGING_TIMEOUT: &str = "RingingTimeout";
    /// Forced break after the agent rejected a call.
    pub const REJECT_CALL: &str = "RejectCall";
    /// Every system code.
    pub const SYSTEM: [&str; 3] = [WARM_UP, RINGING_TIMEOUT, REJECT_CALL];

    /// True when CCC set this code itself (not an agent's reason).
    pub fn is_system(code: &str) -> bool {
        SYSTEM.contains(&code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_round_trip() {
        for s in UserState::ALL {
            assert_eq!(&UserState::parse(s.as_str()), s);
            assert!(s.is_known());
        }
        for m in WorkMode::ALL {
            assert_eq!(&WorkMode::parse(m.as_str()), m);
        }
        assert_eq!(CallType::parse("BACK2BACK"), CallType::Back2Back);
        assert_eq!(ChannelFlag::parse("MUTED"), ChannelFlag::Muted);
    }

    #[test]
    fn unknown_values_are_kept() {
        let s = UserState::parse("RESERVED");
        assert_eq!(s, UserState::Unknown("RESERVED".into()));
        assert!(!s.is_known());
        assert_eq!(s.as_str(), "RESERVED");
        assert_eq!(s.to_string(), "RESERVED");
    }

    #[test]
    fn in_call_states() {
        assert!(UserState::Talking.in_call());
        assert!(UserState::Ringing.in_call());
        assert!(!UserState::Working.in_call());
        assert!(!UserState::Break.in_call());
    }

    #[test]
    fn system_break_codes() {
        assert!(break_codes::is_system("Warm-up"));
        assert!(!break_codes::is_system("lunch"));
    }
}
