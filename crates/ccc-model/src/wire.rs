//! The CCC 2020-07-01 response bodies, field for field, in CCC's own
//! PascalCase. Decoding is tolerant (see [`crate::de`]); encoding is
//! canonical: real numbers, booleans and arrays, absent optional fields.

use serde::{Deserialize, Serialize};

use crate::{
    de,
    enums::{CallType, ChannelFlag, ChannelState, UserState, WorkMode},
};

/// The envelope around every CCC answer, success or error.
///
/// `HttpStatusCode` mirrors the HTTP status; `Params` carries the `%s`
/// substitutions of an error message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Envelope<T> {
    /// `"OK"` on success, an error code such as `InvalidOperation.UserState`.
    #[serde(deserialize_with = "de::string")]
    pub code: String,
    /// The HTTP status, repeated in the body.
    #[serde(deserialize_with = "de::status", default = "default_status")]
    pub http_status_code: u16,
    /// Human-readable message (absent or `无` on success).
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub message: Option<String>,
    /// The request id, for support tickets.
    #[serde(default, deserialize_with = "de::string")]
    pub request_id: String,
    /// The `%s` substitutions of `message`.
    #[serde(
        default,
        deserialize_with = "de::string_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub params: Vec<String>,
    /// The action's result (absent on errors).
    #[serde(
        default = "Option::default",
        skip_serializing_if = "Option::is_none",
        bound(deserialize = "T: Deserialize<'de>")
    )]
    pub data: Option<T>,
}

fn default_status() -> u16 {
    200
}

impl<T> Envelope<T> {
    /// A success envelope around `data`.
    pub fn ok(request_id: impl Into<String>, data: T) -> Self {
        Envelope {
            code: "OK".into(),
            http_status_code: 200,
            message: None,
            request_id: request_id.into(),
            params: Vec::new(),
            data: Some(data),
        }
    }

    /// True when the service accepted the request. Older examples say
    /// `"Code": "200"` instead of `"OK"`; both count.
    pub fn is_ok(&self) -> bool {
        (self.code == "OK" || self.code == "200") && self.http_status_code < 400
    }
}

/// The agent's state (`UserContext`): `Data` of TakeBreak, ReadyForService,
/// ResetAgentState, ChangeWorkMode, SignInGroup and SignOutGroup, and
/// `Data.UserContext` of PollUserStatus and the call actions.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserContext {
    /// `name@instance`.
    #[serde(default, deserialize_with = "de::string")]
    pub user_id: String,
    /// The CCC instance id.
    #[serde(default, deserialize_with = "de::string")]
    pub instance_id: String,
    /// The agent state.
    #[serde(default)]
    pub user_state: UserState,
    /// Reason of a BREAK (system `Warm-up`, `RingingTimeout`, `RejectCall`, or custom).
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub break_code: Option<String>,
    /// How calls reach the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_mode: Option<WorkMode>,
    /// The device that is currently active for this agent.
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub device_id: Option<String>,
    /// The 8-digit extension (sent as a number by some examples).
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub extension: Option<String>,
    /// Last operation time, epoch milliseconds.
    #[serde(
        default,
        deserialize_with = "de::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub heartbeat: Option<i64>,
    /// When a reservation (a call about to be routed here) arrived, epoch ms.
    #[serde(
        default,
        deserialize_with = "de::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub reserved: Option<i64>,
    /// The current call, when the agent is in one.
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub job_id: Option<String>,
    /// Personal phone used in OFF_SITE mode.
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub mobile: Option<String>,
    /// Outbound-only mode.
    #[serde(default, deserialize_with = "de::bool_lenient")]
    pub outbound_scenario: bool,
    /// Skill groups the agent is signed into.
    #[serde(default, deserialize_with = "de::string_list")]
    pub signed_skill_group_id_list: Vec<String>,
}

/// One leg of a call (`ChannelContext`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChannelContext {
    /// Creation order within the call.
    #[serde(default, deserialize_with = "de::i64_or_zero")]
    pub index: i64,
    /// e.g. `ch:user:13188888888->80011474:1609253204816:job-…`.
    #[serde(default, deserialize_with = "de::string")]
    pub channel_id: String,
    /// The leg's state.
    #[serde(default = "channel_state_none")]
    pub channel_state: ChannelState,
    /// Flags such as `MUTED` or `HOLD` (sent as `"[]"`, a bare token or a list).
    #[serde(default, deserialize_with = "flags")]
    pub channel_flags: Vec<ChannelFlag>,
    /// Call type as first placed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_type: Option<CallType>,
    /// Who placed the leg.
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub originator: Option<String>,
    /// Who receives it.
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub destination: Option<String>,
    /// The agent on this leg; absent for the customer's leg.
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_id: Option<String>,
    /// The agent's extension on this leg.
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_extension: Option<String>,
    /// Skill group that routed the call.
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub skill_group_id: Option<String>,
    /// The call this leg belongs to.
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub job_id: Option<String>,
    /// Last change, epoch milliseconds.
    #[serde(
        default,
        deserialize_with = "de::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub timestamp: Option<i64>,
    /// Who hung up.
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub release_initiator: Option<String>,
    /// SIP reason text, e.g. `200 - Okay`.
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub release_reason: Option<String>,
}

fn channel_state_none() -> ChannelState {
    ChannelState::None
}

fn flags<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ChannelFlag>, D::Error> {
    Ok(de::string_list(d)?
        .iter()
        .map(|s| ChannelFlag::parse(s))
        .collect())
}

impl ChannelContext {
    /// True when the channel carries `flag`.
    pub fn has_flag(&self, flag: &ChannelFlag) -> bool {
        self.channel_flags.contains(flag)
    }
}

/// The call the agent is part of (`CallContext`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CallContext {
    /// The CCC instance id.
    #[serde(default, deserialize_with = "de::string")]
    pub instance_id: String,
    /// The call id.
    #[serde(default, deserialize_with = "de::string")]
    pub job_id: String,
    /// The call type as first placed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_type: Option<CallType>,
    /// The legs of the call.
    #[serde(default, deserialize_with = "channels")]
    pub channel_contexts: Vec<ChannelContext>,
    /// Call variables (`a=b;c=d`).
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub call_variables: Option<String>,
}

fn channels<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ChannelContext>, D::Error> {
    // `null` or a missing list both mean "no channels".
    Ok(Option::<Vec<ChannelContext>>::deserialize(d)?.unwrap_or_default())
}

impl CallContext {
    /// The leg that belongs to `user_id`, if any.
    pub fn channel_of(&self, user_id: &str) -> Option<&ChannelContext> {
        self.channel_contexts
            .iter()
            .find(|c| c.user_id.as_deref() == Some(user_id))
    }

    /// True when `user_id`'s own leg carries the `MUTED` flag.
    pub fn is_muted(&self, user_id: &str) -> bool {
        self.channel_of(user_id)
            .is_some_and(|c| c.has_flag(&ChannelFlag::Muted))
    }

    /// The customer's leg: the first one without an agent.
    pub fn customer_channel(&self) -> Option<&ChannelContext> {
        self.channel_contexts.iter().find(|c| c.user_id.is_none())
    }

    /// True when the customer's leg carries the `HOLD` flag (HoldCall
    /// holds the customer's channel, ccc-api.md §1.4).
    pub fn is_held(&self) -> bool {
        self.customer_channel()
            .is_some_and(|c| c.has_flag(&ChannelFlag::Hold))
    }
}

/// `Data` of PollUserStatus.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PollUserStatusData {
    /// Auto-increment change marker.
    #[serde(default, deserialize_with = "de::i64_or_zero")]
    pub context_id: i64,
    /// The agent.
    pub user_context: UserContext,
    /// The call, when there is one.
    #[serde(
        default,
        deserialize_with = "opt_call",
        skip_serializing_if = "Option::is_none"
    )]
    pub call_context: Option<CallContext>,
}

/// `Data` of MuteCall, UnmuteCall, AnswerCall, ReleaseCall and MakeCall.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CallActionData {
    /// The agent after the action.
    pub user_context: UserContext,
    /// The call after the action.
    #[serde(
        default,
        deserialize_with = "opt_call",
        skip_serializing_if = "Option::is_none"
    )]
    pub call_context: Option<CallContext>,
}

/// An empty `CallContext` (no job, no channels) means "no call".
fn opt_call<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<CallContext>, D::Error> {
    let call = Option::<CallContext>::deserialize(d)?;
    Ok(call.filter(|c| !c.job_id.is_empty() || !c.channel_contexts.is_empty()))
}

/// `Data` of GetLoginDetails (the fields the toolbar uses). `Debug`
/// redacts `Signature2`.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoginDetails {
    /// `name@instance`.
    #[serde(default, deserialize_with = "de::string")]
    pub user_id: String,
    /// The agent's display name.
    #[serde(default, deserialize_with = "de::string")]
    pub display_name: String,
    /// The 8-digit extension.
    #[serde(default, deserialize_with = "de::string")]
    pub extension: String,
    /// The agent's work mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_mode: Option<WorkMode>,
    /// The registered device.
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub device_id: Option<String>,
    /// SIP registration server (media side, unused by the toolbar).
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub sip_server_url: Option<String>,
    /// SIP registration data, `<extension>:<epoch-ms>` (the browser
    /// softphone's digest username under inference H1).
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_key2: Option<String>,
    /// The signature of `UserKey2` (H1: the digest password). A secret.
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub signature2: Option<String>,
}

impl std::fmt::Debug for LoginDetails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginDetails")
            .field("user_id", &self.user_id)
            .field("display_name", &self.display_name)
            .field("extension", &self.extension)
            .field("work_mode", &self.work_mode)
            .field("device_id", &self.device_id)
            .field("sip_server_url", &self.sip_server_url)
            .field("user_key2", &self.user_key2)
            .field(
                "signature2",
                &self.signature2.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}
