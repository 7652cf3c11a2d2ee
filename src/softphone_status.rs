//! What the softphone shows and decides, in plain Rust with plain tests:
//! its status (shared with follower tabs), whether it runs at all, where it
//! connects, and what a microphone error means.

use ccc_model::{
    api::{AgentSnapshot, Session, SoftphoneSession},
    WorkMode,
};
use ccc_sip::ua::{CallPhase, RegFailure, RegState};
use serde::{Deserialize, Serialize};

/// The registration as the agent sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Registration {
    /// The softphone does not run (not `ON_SITE`, no softphone in the session).
    #[default]
    Off,
    /// Connecting to the relay / REGISTER in flight.
    Connecting,
    /// Registered: calls reach this tab.
    Registered,
    /// Not registered, and why.
    Failed(NotRegistered),
}

/// Why the softphone is not registered (worded by [`crate::i18n::not_registered`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NotRegistered {
    /// The SIP server refused the credentials.
    Credentials,
    /// The SIP server does not let this extension register.
    Forbidden,
    /// The SIP server did not answer.
    Timeout,
    /// The SIP server answered with an error.
    Server,
    /// The connection to the proxy's relay is down (retrying).
    RelayDown,
    /// This browser cannot make calls (no WebRTC / WebSocket).
    Unsupported,
}

impl From<&RegState> for Registration {
    fn from(s: &RegState) -> Self {
        match s {
            RegState::Unregistered => Registration::Off,
            RegState::Registering => Registration::Connecting,
            RegState::Registered { .. } => Registration::Registered,
            RegState::Failed(f) => Registration::Failed(match f {
                RegFailure::Credentials => NotRegistered::Credentials,
                RegFailure::Forbidden => NotRegistered::Forbidden,
                RegFailure::Timeout => NotRegistered::Timeout,
                RegFailure::Status(_) => NotRegistered::Server,
                RegFailure::Disconnected => NotRegistered::RelayDown,
            }),
        }
    }
}

/// The softphone's call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PhoneCall {
    /// No call on the softphone.
    #[default]
    Idle,
    /// An INVITE rings here.
    Ringing,
    /// Answer pressed: microphone, media and 200 OK under way.
    Answering,
    /// Talking (our 200 OK was acknowledged).
    Talking,
}

impl From<Option<CallPhase>> for PhoneCall {
    fn from(p: Option<CallPhase>) -> Self {
        match p {
            None => PhoneCall::Idle,
            Some(CallPhase::Ringing) => PhoneCall::Ringing,
            Some(CallPhase::Answered) => PhoneCall::Answering,
            Some(CallPhase::Confirmed | CallPhase::Reoffered) => PhoneCall::Talking,
        }
    }
}

/// Why the microphone could not be opened (`getUserMedia`'s error name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MicProblem {
    /// The agent or the browser policy denied the microphone.
    Denied,
    /// No microphone (or not the one picked).
    Missing,
    /// The microphone is in use or failed.
    Busy,
    /// Anything else (no `mediaDevices` on an insecure page, …).
    Other,
}

impl MicProblem {
    /// From a `DOMException` name.
    pub fn from_error_name(name: &str) -> Self {
        match name {
            "NotAllowedError" | "SecurityError" | "PermissionDeniedError" => MicProblem::Denied,
            "NotFoundError" | "OverconstrainedError" | "DevicesNotFoundError" => {
                MicProblem::Missing
            }
            "NotReadableError" | "AbortError" | "TrackStartError" => MicProblem::Busy,
            _ => MicProblem::Other,
        }
    }
}

/// The softphone's state, as the leader tab shares it with followers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneStatus {
    /// The registration.
    pub registration: Registration,
    /// The call on the softphone.
    pub call: PhoneCall,
    /// The other side holds us (re-INVITE `sendonly`/`inactive`).
    pub held: bool,
    /// Audio from the other side has started arriving.
    pub remote_audio: bool,
    /// The last microphone problem (cleared when the microphone opens).
    pub mic: Option<MicProblem>,
}

impl PhoneStatus {
    /// A call is up on the softphone (leaving the tab would drop it).
    pub fn in_call(&self) -> bool {
        matches!(self.call, PhoneCall::Answering | PhoneCall::Talking)
    }

    /// The ring should sound for the softphone's INVITE: it rings and no
    /// audio has started yet.
    pub fn rings(&self) -> bool {
        self.call == PhoneCall::Ringing && !self.remote_audio
    }
}

/// The softphone runs in this tab when it leads, the agent works `ON_SITE`
/// and the proxy gave the session a softphone block; then this is it.
pub fn should_run<'a>(
    leader: bool,
    session: Option<&'a Session>,
    snapshot: Option<&AgentSnapshot>,
) -> Option<&'a SoftphoneSession> {
    // A snapshot without a work mode (some event-fed ones) keeps the
    // softphone running: only another work mode stops it (the proxy gives
    // the session its softphone block for ON_SITE agents only).
    let other_mode = snapshot
        .and_then(|s| s.agent.work_mode.as_ref())
        .is_some_and(|m| *m != WorkMode::OnSite);
    if !leader || other_mode || snapshot.is_none() {
        return None;
    }
    session?.softphone.as_ref()
}

/// The relay's WebSocket URL: same origin as the page (`http:` → `ws:`,
/// `https:` → `wss:`), under the proxy's base path.
pub fn relay_url(page_protocol: &str, page_host: &str, base_path: &str, ws_path: &str) -> String {
    let scheme = if page_protocol == "https:" {
        "wss://"
    } else {
        "ws://"
    };
    let base = base_path.trim_end_matches('/');
    let path = if ws_path.starts_with('/') {
        ws_path.to_owned()
    } else {
        ["/", ws_path].concat()
    };
    [scheme, page_host, base, &path].concat()
}

/// Which calls the softphone answers itself: the Answer press goes to the
/// ringing INVITE instead of `POST /api/v1/agent/answer` while one rings
/// here (answering the INVITE is what answers the call in CCC).
pub fn answers_here(status: &PhoneStatus) -> bool {
    status.call == PhoneCall::Ringing
}

#[cfg(test)]
mod tests {
    use ccc_model::api::Agent;

    use super::*;

    fn snapshot(mode: WorkMode) -> AgentSnapshot {
        AgentSnapshot {
            agent: Agent {
                work_mode: Some(mode),
                ..Agent::default()
            },
            ..AgentSnapshot::default()
        }
    }

    fn session(with_phone: bool) -> Session {
        Session {
            softphone: with_phone.then(|| SoftphoneSession {
                ws_path: "/api/v1/sip".into(),
                ..SoftphoneSession::default()
            }),
            ..Session::default()
        }
    }

    #[test]
    fn runs_only_on_site_in_the_leader_with_a_softphone_block() {
        let on = session(true);
        let off = session(false);
        let site = snapshot(WorkMode::OnSite);
        assert!(should_run(true, Some(&on), Some(&site)).is_some());
        assert!(
            should_run(false, Some(&on), Some(&site)).is_none(),
            "followers"
        );
        assert!(should_run(true, Some(&off), Some(&site)).is_none());
        for mode in [WorkMode::OffSite, WorkMode::OfficePhone] {
            assert!(should_run(true, Some(&on), Some(&snapshot(mode))).is_none());
        }
        assert!(
            should_run(true, Some(&on), None).is_none(),
            "before the first snapshot"
        );
    }

    #[test]
    fn relay_url_follows_the_page() {
        assert_eq!(
            relay_url("https:", "cc.example:8443", "/ccc/", "/api/v1/sip"),
            "wss://cc.example:8443/ccc/api/v1/sip"
        );
        assert_eq!(
            relay_url("http:", "127.0.0.1:8080", "", "api/v1/sip"),
            "ws://127.0.0.1:8080/api/v1/sip"
        );
    }

    #[test]
    fn microphone_errors_by_name() {
        assert_eq!(
            MicProblem::from_error_name("NotAllowedError"),
            MicProblem::Denied
        );
        assert_eq!(
            MicProblem::from_error_name("NotFoundError"),
            MicProblem::Missing
        );
        assert_eq!(
            MicProblem::from_error_name("NotReadableError"),
            MicProblem::Busy
        );
        assert_eq!(MicProblem::from_error_name("TypeError"), MicProblem::Other);
    }

    #[test]
    fn registration_and_call_views() {
        assert_eq!(
            Registration::from(&RegState::Failed(RegFailure::Status(503))),
            Registration::Failed(NotRegistered::Server)
        );
        assert_eq!(
            Registration::from(&RegState::Registered { until: 1 }),
            Registration::Registered
        );
        assert_eq!(
            PhoneCall::from(Some(CallPhase::Reoffered)),
            PhoneCall::Talking
        );
        let mut s = PhoneStatus {
            call: PhoneCall::Ringing,
            ..PhoneStatus::default()
        };
        assert!(s.rings() && answers_here(&s) && !s.in_call());
        s.remote_audio = true;
        assert!(!s.rings(), "the tone stops when the audio starts");
        s.call = PhoneCall::Talking;
        assert!(s.in_call() && !answers_here(&s));
    }
}
