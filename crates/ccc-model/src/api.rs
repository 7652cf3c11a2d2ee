//! The widget's API (`/api/v1/...`), served by the proxy and decoded by the
//! widget: plain camelCase JSON, canonical values only. These types are the
//! contract between the two.

use serde::{Deserialize, Serialize};

use crate::{
    dial::{DialNumber, NumberError},
    enums::{CallType, ChannelFlag, ChannelState, UserState, WorkMode},
    error::{CccError, ErrorSource},
    rules::AgentAction,
    text,
    wire::{CallContext, ChannelContext, PollUserStatusData, UserContext},
};

/// `GET /api/v1/session`: who the agent is and what the widget may offer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// The CCC `UserId` (`name@instance`).
    pub user_id: String,
    /// Name to greet the agent with.
    pub display_name: String,
    /// The agent's extension.
    #[serde(default)]
    pub extension: Option<String>,
    /// The CCC instance.
    pub instance_id: String,
    /// Break reasons the agent may pick, in configured order.
    #[serde(default)]
    pub break_codes: Vec<String>,
    /// Work modes the agent may switch between.
    #[serde(default)]
    pub work_modes: Vec<WorkMode>,
    /// Caller ids the agent may present when dialling (empty: CCC's default).
    #[serde(default)]
    pub caller_ids: Vec<String>,
    /// Display names of the break reasons, in the order of `break_codes`
    /// (a code without a configured name has no entry: show the code).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub break_reasons: Vec<BreakReason>,
    /// The browser softphone, for an `ON_SITE` agent whose proxy relays SIP;
    /// sent to the agent alone, never cached in browser storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub softphone: Option<SoftphoneSession>,
}

/// A break reason's display names (`--break-codes "lunch=Lunch|午餐"`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BreakReason {
    /// The CCC break code (`TakeBreak`'s `Code`).
    pub code: String,
    /// English name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub en: Option<String>,
    /// Simplified Chinese name.
    #[serde(default, rename = "zh-CN", skip_serializing_if = "Option::is_none")]
    pub zh_cn: Option<String>,
}

impl BreakReason {
    /// The name in `lang` (`"en"` or `"zh-CN"`), else the other name, else the code.
    pub fn label(&self, lang: &str) -> &str {
        let (first, second) = if lang.starts_with("zh") {
            (&self.zh_cn, &self.en)
        } else {
            (&self.en, &self.zh_cn)
        };
        first.as_deref().or(second.as_deref()).unwrap_or(&self.code)
    }
}

/// What the softphone tab needs to register with CCC's SIP server through
/// the proxy's relay (`GET {ws_path}`, WebSocket subprotocol `sip`).
/// The credentials follow inference H1 (docs/softphone.md).
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SoftphoneSession {
    /// The relay's path below the base path, e.g. `/api/v1/sip`.
    pub ws_path: String,
    /// The address of record, `sip:<Extension>@<domain>`.
    pub aor: String,
    /// Display name for `From`.
    pub display_name: String,
    /// Digest username (H1: `UserKey2`).
    pub auth_username: String,
    /// Digest password (H1: `Signature2`). A secret: redacted in `Debug`.
    pub auth_password: String,
    /// When the credentials expire (epoch ms); the widget refreshes the
    /// session before then.
    pub expires_at: i64,
    /// STUN/TURN servers for `RTCPeerConnection` (TURN from CCC).
    #[serde(default)]
    pub ice_servers: Vec<IceServer>,
}

impl std::fmt::Debug for SoftphoneSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftphoneSession")
            .field("ws_path", &self.ws_path)
            .field("aor", &self.aor)
            .field("display_name", &self.display_name)
            .field("auth_username", &self.auth_username)
            .field("auth_password", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("ice_servers", &self.ice_servers)
            .finish()
    }
}

/// `POST /api/v1/sip/ticket`: a single-use ticket that authenticates the
/// softphone's WebSocket (`GET {ws_path}?ticket=…`), since a browser cannot
/// put `Authorization` on a WebSocket. A secret: redacted in `Debug`.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SipTicket {
    /// Opaque, 43 characters of base64url.
    pub ticket: String,
    /// How long it can be redeemed (ms from the answer).
    pub expires_in_ms: u64,
}

impl std::fmt::Debug for SipTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipTicket")
            .field("ticket", &"<redacted>")
            .field("expires_in_ms", &self.expires_in_ms)
            .finish()
    }
}

/// One entry of `RTCConfiguration.iceServers`.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IceServer {
    /// `turn:host:port?transport=udp`, `stun:...`.
    pub urls: Vec<String>,
    /// TURN username (`<expiry>:<user>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// TURN password. A secret: redacted in `Debug`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

impl std::fmt::Debug for IceServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IceServer")
            .field("urls", &self.urls)
            .field("username", &self.username)
            .field(
                "credential",
                &self.credential.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// The state the agent asked to go to when the current call (and its
/// after-call work) is over; the proxy applies it the moment CCC reports the
/// call over, whether or not a toolbar is open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum NextState {
    /// `ReadyForService`.
    Ready,
    /// `ReadyForService` with `OutboundScenario`.
    OutboundOnly,
    /// `TakeBreak` with a reason.
    Break {
        /// The break code.
        code: String,
    },
    /// `SignOutGroup`.
    Offline,
}

/// `PUT /api/v1/agent/next-state`: `{"next":{"state":"break","code":"lunch"}}`;
/// `{"next":null}` (or `DELETE`) cancels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NextStateRequest {
    /// The state to go to, or `None` to cancel.
    pub next: Option<NextState>,
}

/// The first session and snapshot the proxy inlines into the page it serves
/// an authenticated agent, as `<script type="application/json"
/// id="ccc-bootstrap">` (`<`, `>` and `&` escaped as `\u003c` …): the widget
/// reads it before its first fetch. Never carries the softphone block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bootstrap {
    /// As `GET /api/v1/session` (without `softphone`).
    pub session: Session,
    /// As `GET /api/v1/agent` without `since`.
    pub snapshot: AgentSnapshot,
    /// True when the session has a softphone block that the page leaves out
    /// (its credentials stay in `GET /api/v1/session`): the widget then
    /// fetches the session itself.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub softphone_withheld: bool,
}

/// The id of the bootstrap element.
pub const BOOTSTRAP_ELEMENT_ID: &str = "ccc-bootstrap";

/// `GET /api/v1/agent`: everything the toolbar shows, as of `context_id`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentSnapshot {
    /// CCC's change marker; grows on every change.
    pub context_id: i64,
    /// The agent.
    pub agent: Agent,
    /// The current call, if any.
    #[serde(default)]
    pub call: Option<Call>,
    /// True when the agent's own channel carries `MUTED` (server truth).
    #[serde(default)]
    pub muted: bool,
    /// True when the customer's channel carries `HOLD` (server truth).
    #[serde(default)]
    pub held: bool,
    /// Set when the proxy changed the agent's state because no toolbar was
    /// open (presence); kept until the agent's next command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence: Option<PresenceNotice>,
    /// The state the agent picked for when the call is over (next state),
    /// until the proxy applies it or the agent cancels it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_state: Option<NextState>,
    /// The consult leg while the agent consults a third party (customer on
    /// hold) or talks to all in a conference: who and how far (issue 18).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consult: Option<ConsultLeg>,
    /// True when the call is a three-party conference.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub conference: bool,
    /// The proxy's clock when this answer was sent (epoch ms), for skew
    /// correction: the moment of the answer, not of the change it shows.
    pub server_time: i64,
}

/// The agent part of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Agent {
    /// The CCC state.
    pub state: UserState,
    /// Reason of a BREAK.
    #[serde(default)]
    pub break_code: Option<String>,
    /// How calls reach the agent.
    #[serde(default)]
    pub work_mode: Option<WorkMode>,
    /// The extension.
    #[serde(default)]
    pub extension: Option<String>,
    /// The device CCC considers active.
    #[serde(default)]
    pub device_id: Option<String>,
    /// The current call id.
    #[serde(default)]
    pub job_id: Option<String>,
    /// Personal phone for OFF_SITE.
    #[serde(default)]
    pub mobile: Option<String>,
    /// Outbound-only mode.
    #[serde(default)]
    pub outbound_scenario: bool,
    /// Last operation time (epoch ms): the start of the current state.
    #[serde(default)]
    pub heartbeat: Option<i64>,
    /// Skill groups the agent is signed into.
    #[serde(default)]
    pub signed_skill_groups: Vec<String>,
}

impl From<&UserContext> for Agent {
    fn from(u: &UserContext) -> Self {
        // CCC's text is bounded here, where it becomes what is stored and served.
        let bound = |s: &Option<String>, max| s.as_deref().map(|v| text::clean(v, max));
        Agent {
            state: u.user_state.clone(),
            break_code: bound(&u.break_code, text::MAX_CODE),
            work_mode: u.work_mode.clone(),
            extension: bound(&u.extension, text::MAX_NUMBER),
            device_id: bound(&u.device_id, text::MAX_ID),
            job_id: bound(&u.job_id, text::MAX_ID),
            mobile: bound(&u.mobile, text::MAX_NUMBER),
            outbound_scenario: u.outbound_scenario,
            heartbeat: u.heartbeat,
            signed_skill_groups: u
                .signed_skill_group_id_list
                .iter()
                .take(256)
                .map(|g| text::clean(g, text::MAX_ID))
                .collect(),
        }
    }
}

/// The call part of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Call {
    /// The call id.
    pub job_id: String,
    /// Direction / kind of call.
    #[serde(default)]
    pub call_type: Option<CallType>,
    /// The legs.
    #[serde(default)]
    pub channels: Vec<Channel>,
}

impl From<&CallContext> for Call {
    fn from(c: &CallContext) -> Self {
        Call {
            job_id: text::clean(&c.job_id, text::MAX_ID),
            call_type: c.call_type.clone(),
            channels: c.channel_contexts.iter().map(Channel::from).collect(),
        }
    }
}

impl Call {
    /// The customer's leg (the one without a user id).
    pub fn customer_channel(&self) -> Option<&Channel> {
        self.channels.iter().find(|c| c.user_id.is_none())
    }

    /// `user_id`'s own leg.
    pub fn channel_of(&self, user_id: &str) -> Option<&Channel> {
        self.channels
            .iter()
            .find(|c| c.user_id.as_deref() == Some(user_id))
    }
}

/// One leg of a call.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Channel {
    /// The channel id.
    pub channel_id: String,
    /// The leg's state.
    pub state: ChannelState,
    /// Flags such as `MUTED`.
    #[serde(default)]
    pub flags: Vec<ChannelFlag>,
    /// Who placed it.
    #[serde(default)]
    pub originator: Option<String>,
    /// Who receives it.
    #[serde(default)]
    pub destination: Option<String>,
    /// The agent on this leg (none for the customer).
    #[serde(default)]
    pub user_id: Option<String>,
    /// Last change (epoch ms).
    #[serde(default)]
    pub timestamp: Option<i64>,
}

impl From<&ChannelContext> for Channel {
    fn from(c: &ChannelContext) -> Self {
        let bound = |s: &Option<String>, max| s.as_deref().map(|v| text::clean(v, max));
        Channel {
            channel_id: text::clean(&c.channel_id, text::MAX_ID),
            state: c.channel_state.clone(),
            flags: c.channel_flags.clone(),
            originator: bound(&c.originator, text::MAX_NUMBER),
            destination: bound(&c.destination, text::MAX_NUMBER),
            user_id: bound(&c.user_id, text::MAX_ID),
            timestamp: c.timestamp,
        }
    }
}

impl AgentSnapshot {
    /// Builds the snapshot from a PollUserStatus answer, taken at `server_time` (epoch ms).
    pub fn from_poll(data: &PollUserStatusData, server_time: i64) -> Self {
        Self::from_contexts(
            data.context_id,
            &data.user_context,
            data.call_context.as_ref(),
            server_time,
        )
    }

    /// Builds the snapshot from CCC's contexts (as PollUserStatus and the call
    /// actions return them); `muted` is the MUTED flag of the agent's own leg.
    pub fn from_contexts(
        context_id: i64,
        user: &UserContext,
        call: Option<&CallContext>,
        server_time: i64,
    ) -> Self {
        AgentSnapshot {
            context_id,
            agent: Agent::from(user),
            call: call.map(Call::from),
            muted: call.is_some_and(|c| c.is_muted(&user.user_id)),
            held: call.is_some_and(CallContext::is_held),
            presence: None,
            next_state: None,
            // Derived from the channels by the transfer work (issue 18).
            consult: None,
            conference: false,
            server_time,
        }
    }
}

/// What the proxy does when an agent's last toolbar has been gone for the
/// presence grace (`--presence-policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PresencePolicy {
    /// Nothing.
    #[default]
    None,
    /// TakeBreak with the presence break code.
    Break,
    /// SignOutGroup.
    SignOut,
}

impl PresencePolicy {
    /// Every policy.
    pub const ALL: [PresencePolicy; 3] = [
        PresencePolicy::None,
        PresencePolicy::Break,
        PresencePolicy::SignOut,
    ];

    /// The name used in flags and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            PresencePolicy::None => "none",
            PresencePolicy::Break => "break",
            PresencePolicy::SignOut => "sign-out",
        }
    }

    /// Parses [`PresencePolicy::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        PresencePolicy::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

/// What presence did to the agent, for the toolbar to explain on return
/// ("You were set to Break: away, because no toolbar was open for 90 s").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceNotice {
    /// `break` or `sign-out`.
    pub policy: PresencePolicy,
    /// The break code, for `break`.
    #[serde(default)]
    pub break_code: Option<String>,
    /// How long no toolbar had been open.
    pub grace_secs: u64,
    /// When the proxy acted (epoch ms).
    pub at: i64,
}

/// Body of `POST /api/v1/agent/dial`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DialRequest {
    /// The number, as typed ([`DialNumber::parse`] rules).
    pub number: String,
    /// One of the session's `callerIds`; CCC's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_id: Option<String>,
}

impl DialRequest {
    /// The validated number.
    pub fn dial_number(&self) -> Result<DialNumber, NumberError> {
        DialNumber::parse(&self.number)
    }
}

/// Body of `POST /api/v1/agent/break`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BreakRequest {
    /// The break reason; must be one of the session's `breakCodes`.
    pub code: String,
}

/// Body of `POST /api/v1/agent/work-mode`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkModeRequest {
    /// The new mode.
    pub mode: WorkMode,
    /// Personal phone; required for OFF_SITE.
    #[serde(default)]
    pub mobile: Option<String>,
}

/// Body of `POST /api/v1/agent/ready`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReadyRequest {
    /// Outbound-only mode.
    #[serde(default)]
    pub outbound_only: bool,
}

/// Every error answer of the widget's API: `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiErrorBody {
    /// The error.
    pub error: ApiError,
}

/// One error of the widget's API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiError {
    /// CCC's code (e.g. `InvalidOperation.UserState`) or the proxy's own
    /// (e.g. `Proxy.Unauthenticated`).
    pub code: String,
    /// Human-readable message (CCC's own for CCC errors).
    pub message: String,
    /// CCC's `Params`, for precise explanations.
    #[serde(default)]
    pub params: Vec<String>,
    /// CCC's request id, when there is one.
    #[serde(default)]
    pub request_id: Option<String>,
    /// Who produced the error.
    pub source: ErrorSource,
}

impl From<&CccError> for ApiError {
    fn from(e: &CccError) -> Self {
        ApiError {
            code: e.code.as_str().to_owned(),
            message: e.message.clone(),
            params: e.params.clone(),
            request_id: (!e.request_id.is_empty()).then(|| e.request_id.clone()),
            source: ErrorSource::Ccc,
        }
    }
}

// --- Transfer, conference, keypad, directory (issue 18) ---

/// Blind (one step) or consult (attended, two step).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransferKind {
    /// BlindTransfer: the call goes to the target; the agent to after-call work.
    Blind,
    /// InitiateAttendedTransfer: talk to the target first, customer on hold.
    Consult,
}

/// What a transfer (or a directory entry) points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetType {
    /// An agent of this instance, by CCC `UserId`.
    Agent,
    /// A skill group (queue), by id.
    SkillGroup,
    /// An external number (validated like a dial).
    Number,
}

impl TargetType {
    /// `TransfereeType` of BlindTransfer (`EXTERNAL_NUMBER` for numbers).
    pub fn blind_transferee_type(self) -> &'static str {
        match self {
            TargetType::Agent => "AGENT",
            TargetType::SkillGroup => "SKILL_GROUP",
            TargetType::Number => "EXTERNAL_NUMBER",
        }
    }

    /// `TransfereeType` of InitiateAttendedTransfer (`EXTERNAL` for numbers).
    pub fn consult_transferee_type(self) -> &'static str {
        match self {
            TargetType::Agent => "AGENT",
            TargetType::SkillGroup => "SKILL_GROUP",
            TargetType::Number => "EXTERNAL",
        }
    }
}

/// A transfer target as the browser names it; the proxy validates it (an
/// agent of this instance, a configured skill group, a number the dial
/// rules allow) before any CCC call.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransferTarget {
    /// Agent, skill group or number.
    #[serde(rename = "type")]
    pub kind: TargetType,
    /// The `UserId`, skill group id or number.
    pub id: String,
}

/// Body of `POST /api/v1/agent/transfer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransferRequest {
    /// Blind or consult.
    pub kind: TransferKind,
    /// Where to.
    pub target: TransferTarget,
    /// For a number: one of the session's `callerIds` (`Transferor`);
    /// CCC's default when absent. Ignored for agents and skill groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_id: Option<String>,
}

/// Body of `POST /api/v1/agent/dtmf`: keys `0-9*#`, at most
/// [`DtmfRequest::MAX_DIGITS`], sent one request per key, paced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DtmfRequest {
    /// The keys, in order.
    pub digits: String,
}

impl DtmfRequest {
    /// Most keys in one request.
    pub const MAX_DIGITS: usize = 32;

    /// True when `digits` is 1..=32 keys of `0-9*#`.
    pub fn is_valid(&self) -> bool {
        (1..=Self::MAX_DIGITS).contains(&self.digits.len())
            && self
                .digits
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
    }
}

/// How far the consult leg is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsultPhase {
    /// The target has not answered yet.
    Ringing,
    /// The agent talks to the target (customer on hold), or all three talk
    /// in a conference.
    Talking,
}

/// The consulted party of the current call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsultLeg {
    /// Who was consulted.
    pub target: TransferTarget,
    /// Their name when the directory knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Ringing or talking.
    pub phase: ConsultPhase,
}

/// An agent's live state as the directory shows it (ListRealtimeAgentStates'
/// vocabulary, ccc-api.md §1.4: `Ready, Talking, ACW, Break, Ringing,
/// Offline, Dialing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DirectoryState {
    /// Ready for calls.
    Ready,
    /// On a call (dialing, ringing or talking).
    OnCall,
    /// After-call work.
    Acw,
    /// On a break.
    Break,
    /// Signed out.
    Offline,
}

/// One entry of `GET /api/v1/directory?q=`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryEntry {
    /// What a transfer to it sends.
    pub target: TransferTarget,
    /// The display name.
    pub name: String,
    /// An agent's live state; `None` for skill groups and numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<DirectoryState>,
    /// An agent's extension, for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    /// Configured by the operator (`--quick-connects`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub favourite: bool,
}

/// `GET /api/v1/directory?q=`: favourites first, then ready agents, then
/// the rest; capped.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Directory {
    /// The matches.
    pub entries: Vec<DirectoryEntry>,
}

// --- Commands: `POST /api/v1/agent/{name}` with a small JSON body ---

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
    /// Answer the ringing call.
    Answer,
    /// Hang up the call.
    Hangup,
    /// Dial a number.
    Dial,
    /// Put the customer on hold.
    Hold,
    /// Take the customer off hold.
    Retrieve,
    /// Blind or consult transfer.
    Transfer,
    /// Complete a consult transfer.
    CompleteTransfer,
    /// Cancel a consult transfer.
    CancelTransfer,
    /// Turn a consult into a conference.
    Conference,
    /// Leave a conference.
    LeaveConference,
    /// Keypad digits.
    Dtmf,
}

impl CommandKind {
    /// Every kind.
    pub const ALL: [CommandKind; 19] = [
        CommandKind::SignIn,
        CommandKind::SignOut,
        CommandKind::Ready,
        CommandKind::Break,
        CommandKind::WorkMode,
        CommandKind::Reset,
        CommandKind::Mute,
        CommandKind::Unmute,
        CommandKind::Answer,
        CommandKind::Hangup,
        CommandKind::Dial,
        CommandKind::Hold,
        CommandKind::Retrieve,
        CommandKind::Transfer,
        CommandKind::CompleteTransfer,
        CommandKind::CancelTransfer,
        CommandKind::Conference,
        CommandKind::LeaveConference,
        CommandKind::Dtmf,
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
            CommandKind::Answer => "answer",
            CommandKind::Hangup => "hangup",
            CommandKind::Dial => "dial",
            CommandKind::Hold => "hold",
            CommandKind::Retrieve => "retrieve",
            CommandKind::Transfer => "transfer",
            CommandKind::CompleteTransfer => "transfer/complete",
            CommandKind::CancelTransfer => "transfer/cancel",
            CommandKind::Conference => "conference",
            CommandKind::LeaveConference => "conference/leave",
            CommandKind::Dtmf => "dtmf",
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
            CommandKind::Answer => AgentAction::Answer,
            CommandKind::Hangup => AgentAction::Hangup,
            CommandKind::Dial => AgentAction::Dial,
            CommandKind::Hold => AgentAction::Hold,
            CommandKind::Retrieve => AgentAction::Retrieve,
            CommandKind::Transfer => AgentAction::Transfer,
            CommandKind::CompleteTransfer => AgentAction::CompleteTransfer,
            CommandKind::CancelTransfer => AgentAction::CancelTransfer,
            CommandKind::Conference => AgentAction::Conference,
            CommandKind::LeaveConference => AgentAction::LeaveConference,
            CommandKind::Dtmf => AgentAction::Dtmf,
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
    /// `answer`, `{}`: AnswerCall on the agent's current call.
    Answer,
    /// `hangup`, `{}`: ReleaseCall on the agent's current call.
    Hangup,
    /// `dial`, `{"number":...,"callerId":...}`: MakeCall.
    Dial {
        /// The validated number.
        number: DialNumber,
        /// The caller id to present; CCC's default when `None`.
        caller_id: Option<String>,
    },
    /// `hold`, `{}`: HoldCall on the customer's channel of the current call.
    Hold,
    /// `retrieve`, `{}`: RetrieveCall on the customer's channel.
    Retrieve,
    /// `transfer`, [`TransferRequest`]: BlindTransfer or
    /// InitiateAttendedTransfer of the current call.
    Transfer(TransferRequest),
    /// `transfer/complete`, `{}`: CompleteAttendedTransfer.
    CompleteTransfer,
    /// `transfer/cancel`, `{}`: CancelAttendedTransfer.
    CancelTransfer,
    /// `conference`, `{}`: SwitchToConference.
    Conference,
    /// `conference/leave`, `{}`: EndConference.
    LeaveConference,
    /// `dtmf`, [`DtmfRequest`]: SendDtmfSignaling, one request per key.
    Dtmf(DtmfRequest),
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
    /// `dial`.
    Dial(DialRequest),
    /// `transfer`.
    Transfer(TransferRequest),
    /// `dtmf`.
    Dtmf(DtmfRequest),
}

impl Command {
    /// The command of a kind that takes no arguments (`None` for `ready`,
    /// `break`, `work-mode` and `dial`, which do).
    pub fn without_arguments(kind: CommandKind) -> Option<Command> {
        Some(match kind {
            CommandKind::SignIn => Command::SignIn,
            CommandKind::SignOut => Command::SignOut,
            CommandKind::Reset => Command::Reset,
            CommandKind::Mute => Command::Mute,
            CommandKind::Unmute => Command::Unmute,
            CommandKind::Answer => Command::Answer,
            CommandKind::Hangup => Command::Hangup,
            CommandKind::Hold => Command::Hold,
            CommandKind::Retrieve => Command::Retrieve,
            CommandKind::CompleteTransfer => Command::CompleteTransfer,
            CommandKind::CancelTransfer => Command::CancelTransfer,
            CommandKind::Conference => Command::Conference,
            CommandKind::LeaveConference => Command::LeaveConference,
            CommandKind::Ready
            | CommandKind::Break
            | CommandKind::WorkMode
            | CommandKind::Dial
            | CommandKind::Transfer
            | CommandKind::Dtmf => return None,
        })
    }

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
            Command::Answer => CommandKind::Answer,
            Command::Hangup => CommandKind::Hangup,
            Command::Dial { .. } => CommandKind::Dial,
            Command::Hold => CommandKind::Hold,
            Command::Retrieve => CommandKind::Retrieve,
            Command::Transfer(_) => CommandKind::Transfer,
            Command::CompleteTransfer => CommandKind::CompleteTransfer,
            Command::CancelTransfer => CommandKind::CancelTransfer,
            Command::Conference => CommandKind::Conference,
            Command::LeaveConference => CommandKind::LeaveConference,
            Command::Dtmf(_) => CommandKind::Dtmf,
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
            Command::Dial { number, caller_id } => CommandBody::Dial(DialRequest {
                number: number.as_str().to_owned(),
                caller_id: caller_id.clone(),
            }),
            Command::Transfer(t) => CommandBody::Transfer(t.clone()),
            Command::Dtmf(d) => CommandBody::Dtmf(d.clone()),
            _ => CommandBody::Empty,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_names_round_trip_and_paths() {
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
    fn commands_without_arguments_are_of_their_kind() {
        for k in CommandKind::ALL {
            match Command::without_arguments(k) {
                Some(c) => {
                    assert_eq!(c.kind(), k);
                    assert_eq!(c.body(), CommandBody::Empty);
                }
                None => assert!(matches!(
                    k,
                    CommandKind::Ready
                        | CommandKind::Break
                        | CommandKind::WorkMode
                        | CommandKind::Dial
                        | CommandKind::Transfer
                        | CommandKind::Dtmf
                )),
            }
        }
    }

    #[test]
    fn command_bodies() {
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
    fn dial_body_and_presence_names() {
        let dial = Command::Dial {
            number: DialNumber::parse("138 0013 8000").unwrap(),
            caller_id: None,
        };
        assert_eq!(dial.path(), "/api/v1/agent/dial");
        assert_eq!(
            dial.body(),
            CommandBody::Dial(DialRequest {
                number: "13800138000".into(),
                caller_id: None
            })
        );
        for p in PresencePolicy::ALL {
            assert_eq!(PresencePolicy::parse(p.as_str()), Some(p));
        }
        assert_eq!(PresencePolicy::parse("Break"), None);
    }

    #[test]
    fn contract_additions_encode_as_documented() {
        let next = NextStateRequest {
            next: Some(NextState::Break {
                code: "lunch".into(),
            }),
        };
        let json = serde_json::to_string(&next).unwrap();
        assert_eq!(json, r#"{"next":{"state":"break","code":"lunch"}}"#);
        assert_eq!(
            serde_json::from_str::<NextStateRequest>(r#"{"next":null}"#).unwrap(),
            NextStateRequest { next: None }
        );
        let reason: BreakReason =
            serde_json::from_str(r#"{"code":"lunch","en":"Lunch","zh-CN":"午餐"}"#).unwrap();
        assert_eq!(reason.label("zh-CN"), "午餐");
        assert_eq!(reason.label("en"), "Lunch");
        let bare = BreakReason {
            code: "default".into(),
            ..BreakReason::default()
        };
        assert_eq!(bare.label("en"), "default");
        let phone = SoftphoneSession {
            auth_password: "s3cret-signature".into(),
            ice_servers: vec![IceServer {
                urls: vec!["turn:127.0.0.1:3478".into()],
                username: Some("1:u".into()),
                credential: Some("turn-secret".into()),
            }],
            ..SoftphoneSession::default()
        };
        let debug = format!("{phone:?}");
        assert!(
            !debug.contains("s3cret") && !debug.contains("turn-secret"),
            "{debug}"
        );
    }

    #[test]
    fn transfer_contract_encodes_as_documented() {
        let t = Command::Transfer(TransferRequest {
            kind: TransferKind::Consult,
            target: TransferTarget {
                kind: TargetType::SkillGroup,
                id: "sales@ccc-test".into(),
            },
            caller_id: None,
        });
        assert_eq!(t.path(), "/api/v1/agent/transfer");
        let CommandBody::Transfer(body) = t.body() else {
            panic!("transfer body")
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"kind":"consult","target":{"type":"skill-group","id":"sales@ccc-test"}}"#
        );
        assert_eq!(
            Command::CancelTransfer.path(),
            "/api/v1/agent/transfer/cancel"
        );
        assert_eq!(
            TargetType::Number.blind_transferee_type(),
            "EXTERNAL_NUMBER"
        );
        assert_eq!(TargetType::Number.consult_transferee_type(), "EXTERNAL");
        for (digits, ok) in [("5", true), ("12*#", true), ("", false), ("1a", false)] {
            let d = DtmfRequest {
                digits: digits.into(),
            };
            assert_eq!(d.is_valid(), ok, "{digits}");
        }
        let long = DtmfRequest {
            digits: "1".repeat(33),
        };
        assert!(!long.is_valid());
    }

    #[test]
    fn command_kinds_map_to_ccc_actions() {
        assert_eq!(CommandKind::WorkMode.action(), AgentAction::ChangeWorkMode);
        assert_eq!(CommandKind::Unmute.action(), AgentAction::Unmute);
    }
}
