//! The softphone's SIP user agent as a sans-IO state machine: one
//! registration and at most one call, which is all an agent's device needs.
//!
//! The owner feeds it what happened — [`UserAgent::connected`],
//! [`UserAgent::disconnected`], [`UserAgent::receive`] (a WebSocket text
//! frame), [`UserAgent::tick`] (a timer fired) and the agent's commands
//! ([`UserAgent::answer`], [`UserAgent::hangup`], …) — each with the current
//! time in milliseconds, and drains [`UserAgent::poll_output`]: frames to
//! send and [`UaEvent`]s to show. [`UserAgent::next_deadline`] says when to
//! call `tick` next. No clock, no sockets, no randomness of its own (ids come
//! from a seed the owner draws from `crypto.getRandomValues`).
//!
//! What it does:
//! - REGISTER with digest (MD5/SHA-256, `qop=auth`, `stale=true` retried
//!   silently), refreshed at 90 % of the granted expiry; `Expires: 0` on
//!   [`UserAgent::unregister`];
//! - incoming INVITE → `100 Trying`, `180 Ringing` → (answer) `200 OK` with
//!   the SDP answer, retransmitted until the ACK (RFC 3261 §13.3.1.4);
//!   an INVITE carrying [`AUTO_ANSWER`] (`Call-Info: <…>;answer-after=0`) is
//!   reported with `auto_answer: true` — the simulator rings the agent's own
//!   device that way for `MakeCall`;
//! - CANCEL → `200` + `487`; BYE both ways; re-INVITE (hold/unhold) reported
//!   as [`UaEvent::Reoffer`] and answered with the owner's SDP; OPTIONS
//!   answered `200`; a second call gets `486 Busy Here`;
//! - while registered, an OPTIONS to the server every [`KEEPALIVE_MS`]
//!   keeps the relay's idle timer from closing the socket.

use std::collections::VecDeque;

use crate::{
    digest::Challenge,
    header::{NameAddr, Via},
    message::{Message, Method},
    sdp,
};

/// The `Call-Info` parameter that marks an INVITE to answer at once
/// (`Call-Info: <sip:ccc>;answer-after=0`, the convention of Polycom/Yealink
/// phones and SIP.js). The simulator's `MakeCall` leg to the agent's own
/// device carries it.
pub const AUTO_ANSWER: &str = "answer-after";

/// Requested registration lifetime, seconds.
pub const DEFAULT_EXPIRES: u32 = 300;
/// T1 of RFC 3261 (ms): first 2xx retransmission interval.
const T1: u64 = 500;
/// T2 (ms): the retransmission interval cap.
const T2: u64 = 4_000;
/// How long a REGISTER or BYE may wait for its final response (64·T1).
const TRANSACTION_TIMEOUT: u64 = 64 * T1;
/// How long to wait before retrying a registration that failed for a
/// reason other than the credentials.
const REGISTER_RETRY: u64 = 15_000;
/// While registered, an OPTIONS to the server this often keeps the relay's
/// idle timer (and NATs) from closing the socket between REGISTER refreshes.
pub const KEEPALIVE_MS: u64 = 30_000;
const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE";

/// Who the agent is and how it authenticates.
#[derive(Clone, PartialEq, Eq)]
pub struct UaConfig {
    /// The address of record, `sip:<extension>@<domain>` (H1: [`crate::h1::aor`]).
    pub aor: String,
    /// Display name for `From`.
    pub display_name: String,
    /// Digest username (H1: `UserKey2`).
    pub username: String,
    /// Digest password (H1: `Signature2`).
    pub password: String,
    /// Registration lifetime to ask for, seconds.
    pub expires: u32,
    /// Via transport token: `WSS` (default) or `WS`.
    pub transport: String,
    /// `User-Agent` header value.
    pub user_agent: String,
}

impl std::fmt::Debug for UaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UaConfig")
            .field("aor", &self.aor)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("expires", &self.expires)
            .finish()
    }
}

impl UaConfig {
    /// A config with the defaults (300 s, WSS).
    pub fn new(aor: &str, display_name: &str, username: &str, password: &str) -> Self {
        UaConfig {
            aor: aor.to_owned(),
            display_name: display_name.to_owned(),
            username: username.to_owned(),
            password: password.to_owned(),
            expires: DEFAULT_EXPIRES,
            transport: "WSS".to_owned(),
            user_agent: "ccc-toolbar".to_owned(),
        }
    }

    fn domain_uri(&self) -> String {
        match crate::header::SipUri::parse(&self.aor) {
            Some(u) => match u.port {
                Some(p) => format!("{}:{}:{p}", u.scheme, u.host),
                None => format!("{}:{}", u.scheme, u.host),
            },
            None => self.aor.clone(),
        }
    }
}

/// Why the softphone is not registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegFailure {
    /// The server refused the credentials (a second 401/407 that is not
    /// `stale`): the session's SIP credentials are wrong or expired.
    Credentials,
    /// `403 Forbidden`: this extension may not register here.
    Forbidden,
    /// No final response in time.
    Timeout,
    /// Another final response (5xx, 4xx) or an unreadable challenge.
    Status(u16),
    /// The WebSocket to the relay closed.
    Disconnected,
}

/// The state of the registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegState {
    /// Not registered (never tried, unregistered, or the socket is down).
    Unregistered,
    /// A REGISTER is in flight.
    Registering,
    /// Registered until the given time (epoch ms).
    Registered {
        /// Expiry granted by the server (epoch ms).
        until: u64,
    },
    /// The last attempt failed.
    Failed(RegFailure),
}

/// An incoming call, as shown to the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingCall {
    /// The SIP Call-ID.
    pub call_id: String,
    /// Caller's display name, if any.
    pub display: Option<String>,
    /// Caller's user part (number).
    pub user: Option<String>,
    /// The SDP offer to give `setRemoteDescription`.
    pub offer: String,
    /// Answer without asking (the `MakeCall` leg, [`AUTO_ANSWER`]).
    pub auto_answer: bool,
}

/// Why a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The caller cancelled before it was answered.
    Cancelled,
    /// The other side sent BYE.
    RemoteBye,
    /// The agent hung up.
    LocalBye,
    /// The agent declined the ringing call.
    Declined,
    /// Our 200 OK was never acknowledged.
    AckTimeout,
}

/// What the owner must show or do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UaEvent {
    /// The registration changed.
    Registration(RegState),
    /// An INVITE arrived and is ringing (`180` sent).
    Incoming(IncomingCall),
    /// The ACK for our 200 arrived: the call is up.
    Confirmed,
    /// A re-INVITE with a new offer: answer it with [`UserAgent::accept_reoffer`].
    Reoffer {
        /// The new SDP offer.
        offer: String,
        /// Whether the offer holds us (`sendonly`/`inactive`).
        held: bool,
    },
    /// The call is over; release the microphone.
    Ended(EndReason),
}

/// What the owner must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send this text frame on the WebSocket.
    Send(String),
    /// Show / act on this.
    Event(UaEvent),
}

/// The phase of the one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallPhase {
    /// `180` sent, waiting for the agent.
    Ringing,
    /// `200` sent, waiting for the ACK.
    Answered,
    /// ACK received: talking.
    Confirmed,
    /// A re-INVITE is waiting for our answer.
    Reoffered,
}

#[derive(Debug, Clone)]
struct Call {
    phase: CallPhase,
    invite: Message,
    /// The pending re-INVITE, if any.
    reinvite: Option<Message>,
    call_id: String,
    local_tag: String,
    /// Our side: the INVITE's To with our tag.
    local: NameAddr,
    /// Their side: the INVITE's From (with their tag).
    remote: NameAddr,
    remote_target: String,
    route: Vec<String>,
    remote_cseq: u32,
    local_cseq: u32,
    /// The last 2xx we sent for an INVITE, retransmitted until its ACK.
    ok: Option<Message>,
    ok_cseq: u32,
    retransmit_at: u64,
    retransmit_every: u64,
    give_up_at: u64,
    hangup_after_ack: bool,
    local_sdp: String,
    held: bool,
}

#[derive(Debug, Clone)]
struct Registration {
    state: RegState,
    call_id: String,
    local_tag: String,
    cseq: u32,
    branch: Option<String>,
    challenge: Option<Challenge>,
    nc: u32,
    /// Challenges answered in a row without success.
    challenged: u32,
    /// When the in-flight REGISTER times out.
    timeout_at: Option<u64>,
    /// When to send the next REGISTER (refresh or retry).
    next_at: Option<u64>,
    /// Whether the in-flight REGISTER removes the binding.
    removing: bool,
}

/// The user agent.
#[derive(Debug)]
pub struct UserAgent {
    config: UaConfig,
    rng: u64,
    connected: bool,
    host: String,
    contact: String,
    reg: Registration,
    call: Option<Call>,
    /// An in-flight BYE of ours: (branch, timeout).
    bye: Option<(String, u64)>,
    /// When to send the next keep-alive OPTIONS.
    keepalive_at: Option<u64>,
    keepalive_cseq: u32,
    out: VecDeque<Output>,
}

impl UserAgent {
    /// A user agent for `config`; `seed` (≥ 64 random bits from
    /// `crypto.getRandomValues`) makes its tags, branches, Call-IDs and
    /// cnonces.
    pub fn new(config: UaConfig, seed: u64) -> Self {
        let mut ua = UserAgent {
            config,
            rng: seed,
            connected: false,
            host: String::new(),
            contact: String::new(),
            reg: Registration {
                state: RegState::Unregistered,
                call_id: String::new(),
                local_tag: String::new(),
                cseq: 0,
                branch: None,
                challenge: None,
                nc: 0,
                challenged: 0,
                timeout_at: None,
                next_at: None,
                removing: false,
            },
            call: None,
            bye: None,
            keepalive_at: None,
            keepalive_cseq: 0,
            out: VecDeque::new(),
        };
        // RFC 7118 §5.2: a WebSocket client has no reachable address; it
        // uses a random `.invalid` host in Via and Contact.
        ua.host = format!("{}.invalid", ua.token(12));
        ua.contact = format!("<sip:{}@{};transport=ws>", ua.token(8), ua.host);
        ua.reg.call_id = ua.token(22);
        ua.reg.local_tag = ua.token(10);
        ua.reg.cseq = (ua.next_u64() % 10_000) as u32 + 1;
        ua
    }

    /// The registration state.
    pub fn registration(&self) -> &RegState {
        &self.reg.state
    }

    /// The call's phase, if a call exists.
    pub fn call_phase(&self) -> Option<CallPhase> {
        self.call.as_ref().map(|c| c.phase)
    }

    /// Whether the last offer on the call held us.
    pub fn held(&self) -> bool {
        self.call.as_ref().is_some_and(|c| c.held)
    }

    /// Replaces the credentials (the session refreshed them); the next
    /// REGISTER uses them.
    pub fn set_credentials(&mut self, username: &str, password: &str) {
        self.config.username = username.to_owned();
        self.config.password = password.to_owned();
        self.reg.challenge = None;
    }

    /// Next output to act on.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The earliest time [`UserAgent::tick`] has work to do.
    pub fn next_deadline(&self) -> Option<u64> {
        let call = self
            .call
            .as_ref()
            .and_then(|c| c.ok.as_ref().map(|_| c.retransmit_at.min(c.give_up_at)));
        [
            self.reg.timeout_at,
            self.reg.next_at,
            call,
            self.bye.as_ref().map(|b| b.1),
            self.keepalive_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The WebSocket to the relay is open: register.
    pub fn connected(&mut self, now: u64) {
        self.connected = true;
        self.reg.challenged = 0;
        self.send_register(now, false);
    }

    /// The WebSocket closed: the registration is gone (the owner reconnects
    /// and calls [`UserAgent::connected`] again). A call in progress keeps
    /// its media; its signalling resumes if the server still knows it.
    pub fn disconnected(&mut self, _now: u64) {
        self.connected = false;
        self.reg.timeout_at = None;
        self.reg.next_at = None;
        self.reg.branch = None;
        self.bye = None;
        self.keepalive_at = None;
        // Also when the socket never opened: the agent must see why.
        self.set_reg(RegState::Failed(RegFailure::Disconnected));
    }

    /// Removes the binding (`Expires: 0`), e.g. when the agent leaves
    /// `ON_SITE` or signs out. The owner may close the socket after the
    /// `Unregistered` event (or at once; the binding then expires).
    pub fn unregister(&mut self, now: u64) {
        self.reg.next_at = None;
        if self.connected {
            self.send_register(now, true);
        } else {
            self.set_reg(RegState::Unregistered);
        }
    }

    /// A timer fired (or any time: work not yet due is left alone).
    pub fn tick(&mut self, now: u64) {
        if self.reg.timeout_at.is_some_and(|t| now >= t) {
            self.reg.timeout_at = None;
            self.reg.branch = None;
            self.fail_registration(RegFailure::Timeout, now);
        }
        if self.reg.next_at.is_some_and(|t| now >= t) {
            self.reg.next_at = None;
            if self.connected {
                self.reg.challenged = 0;
                self.send_register(now, false);
            }
        }
        if self.bye.as_ref().is_some_and(|b| now >= b.1) {
            self.bye = None;
        }
        if self.keepalive_at.is_some_and(|t| now >= t) {
            self.send_keepalive(now);
        }
        let mut resend = None;
        let mut timed_out = false;
        if let Some(c) = self.call.as_mut() {
            if let Some(ok) = &c.ok {
                if now >= c.give_up_at {
                    timed_out = true;
                } else if now >= c.retransmit_at {
                    resend = Some(ok.to_string());
                    c.retransmit_every = (c.retransmit_every * 2).min(T2);
                    c.retransmit_at = now + c.retransmit_every;
                }
            }
        }
        if let Some(frame) = resend {
            self.send(frame);
        }
        if timed_out {
            // RFC 3261 §13.3.1.4: no ACK within 64·T1 — end the dialog.
            self.send_bye(now);
            self.end_call(EndReason::AckTimeout);
        }
    }

    /// A text frame arrived from the relay.
    pub fn receive(&mut self, frame: &str, now: u64) {
        let Ok(msg) = Message::parse(frame) else {
            // RFC 3261 §16.3: nothing useful to answer without the headers.
            return;
        };
        if msg.is_request() {
            self.on_request(msg, now);
        } else {
            self.on_response(msg, now);
        }
    }

    /// The agent answers the ringing call with this SDP answer.
    /// Returns `false` (and does nothing) when no call is ringing.
    pub fn answer(&mut self, sdp_answer: &str, now: u64) -> bool {
        let Some(c) = self.call.as_mut() else {
            return false;
        };
        if c.phase != CallPhase::Ringing {
            return false;
        }
        c.local_sdp = sdp_answer.to_owned();
        c.phase = CallPhase::Answered;
        let invite = c.invite.clone();
        self.send_ok(&invite, now);
        true
    }

    /// Answers the pending re-INVITE with this SDP.
    pub fn accept_reoffer(&mut self, sdp_answer: &str, now: u64) -> bool {
        let Some(c) = self.call.as_mut() else {
            return false;
        };
        let Some(reinvite) = c.reinvite.take() else {
            return false;
        };
        c.local_sdp = sdp_answer.to_owned();
        c.phase = CallPhase::Answered;
        self.send_ok(&reinvite, now);
        true
    }

    /// Refuses the pending re-INVITE (`488`), e.g. the browser could not
    /// apply the offer; the call goes on as before.
    pub fn reject_reoffer(&mut self) {
        if let Some(c) = self.call.as_mut() {
            if let Some(reinvite) = c.reinvite.take() {
                c.phase = CallPhase::Confirmed;
                let tag = c.local_tag.clone();
                let r = reinvite.reply(488, Some(&tag));
                self.send(r.to_string());
            }
        }
    }

    /// The agent ends the call: declines a ringing one (`603 Decline`),
    /// else sends BYE (after the ACK if our 200 is not yet acknowledged).
    pub fn hangup(&mut self, now: u64) {
        let Some(c) = self.call.as_mut() else {
            return;
        };
        match c.phase {
            CallPhase::Ringing => {
                let tag = c.local_tag.clone();
                let r = c.invite.reply(603, Some(&tag));
                self.send(r.to_string());
                self.end_call(EndReason::Declined);
            }
            CallPhase::Answered if c.ok_cseq == c.invite.cseq().map_or(0, |s| s.seq) => {
                c.hangup_after_ack = true;
            }
            _ => {
                self.send_bye(now);
                self.end_call(EndReason::LocalBye);
            }
        }
    }

    // ---- internals ----

    fn next_u64(&mut self) -> u64 {
        // splitmix64: ids need uniqueness, not secrecy beyond the seed's.
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn token(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let mut s = String::with_capacity(len);
        let mut bits = self.next_u64();
        for i in 0..len {
            if i % 10 == 9 {
                bits = self.next_u64();
            }
            s.push(ALPHABET[(bits % 36) as usize] as char);
            bits /= 36;
        }
        s
    }

    fn send(&mut self, frame: String) {
        self.out.push_back(Output::Send(frame));
    }

    fn emit(&mut self, e: UaEvent) {
        self.out.push_back(Output::Event(e));
    }

    fn set_reg(&mut self, state: RegState) {
        if self.reg.state != state {
            self.reg.state = state.clone();
            self.emit(UaEvent::Registration(state));
        }
    }

    fn via(&mut self) -> (Via, String) {
        let branch = format!("{}{}", crate::header::BRANCH_COOKIE, self.token(16));
        (
            Via::new(&self.config.transport.clone(), &self.host.clone(), &branch),
            branch,
        )
    }

    fn send_register(&mut self, now: u64, remove: bool) {
        let uri = self.config.domain_uri();
        let (via, branch) = self.via();
        self.reg.cseq += 1;
        self.reg.removing = remove;
        let from = NameAddr::new(self.config.aor.clone())
            .with_display(self.config.display_name.clone())
            .with_param("tag", Some(&self.reg.local_tag));
        let expires = if remove { 0 } else { self.config.expires };
        let mut m = Message::request(Method::Register, uri.clone())
            .with("Via", via.to_string())
            .with("Max-Forwards", "70")
            .with("From", from.to_string())
            .with("To", NameAddr::new(self.config.aor.clone()).to_string())
            .with("Call-ID", self.reg.call_id.clone())
            .with("CSeq", format!("{} REGISTER", self.reg.cseq))
            .with("Contact", format!("{};expires={expires}", self.contact))
            .with("Expires", expires.to_string())
            .with("Allow", ALLOW)
            .with("User-Agent", self.config.user_agent.clone());
        if let Some(ch) = self.reg.challenge.clone() {
            // Pre-authorize with the last nonce (RFC 7616 §3.4.5); a `stale`
            // 401 gives a fresh one without bothering the agent.
            self.reg.nc += 1;
            let cnonce = self.token(16);
            let cred = ch.respond(
                "REGISTER",
                &uri,
                &self.config.username,
                &self.config.password,
                &cnonce,
                self.reg.nc,
            );
            m.push("Authorization", cred.to_string());
        }
        self.reg.branch = Some(branch);
        self.reg.timeout_at = Some(now + TRANSACTION_TIMEOUT);
        if !remove && !matches!(self.reg.state, RegState::Registered { .. }) {
            self.set_reg(RegState::Registering);
        }
        self.send(m.to_string());
    }

    fn send_keepalive(&mut self, now: u64) {
        self.keepalive_at = Some(now + KEEPALIVE_MS);
        if !self.connected {
            return;
        }
        let (via, _) = self.via();
        let call_id = self.token(22);
        let tag = self.token(10);
        self.keepalive_cseq += 1;
        let from = NameAddr::new(self.config.aor.clone()).with_param("tag", Some(&tag));
        let uri = self.config.domain_uri();
        let m = Message::request(Method::Options, uri.clone())
            .with("Via", via.to_string())
            .with("Max-Forwards", "70")
            .with("From", from.to_string())
            .with("To", NameAddr::new(uri).to_string())
            .with("Call-ID", call_id)
            .with("CSeq", format!("{} OPTIONS", self.keepalive_cseq))
            .with("User-Agent", self.config.user_agent.clone());
        self.send(m.to_string());
    }

    fn fail_registration(&mut self, why: RegFailure, now: u64) {
        let retry = !matches!(why, RegFailure::Credentials | RegFailure::Forbidden);
        self.set_reg(RegState::Failed(why));
        self.reg.next_at = retry.then_some(now + REGISTER_RETRY);
    }

    fn on_response(&mut self, msg: Message, now: u64) {
        let Some(code) = msg.status() else { return };
        if code < 200 {
            return;
        }
        let branch = msg.via().ok().and_then(|v| v.branch().map(str::to_owned));
        if branch.is_some() && branch == self.reg.branch && msg.method() == Some(Method::Register) {
            self.reg.branch = None;
            self.reg.timeout_at = None;
            self.on_register_response(&msg, code, now);
        } else if branch.is_some() && self.bye.as_ref().map(|b| &b.0) == branch.as_ref() {
            self.bye = None;
        }
    }

    fn on_register_response(&mut self, msg: &Message, code: u16, now: u64) {
        match code {
            200..=299 => {
                self.reg.challenged = 0;
                if self.reg.removing {
                    self.keepalive_at = None;
                    self.set_reg(RegState::Unregistered);
                    return;
                }
                if self.keepalive_at.is_none() {
                    self.keepalive_at = Some(now + KEEPALIVE_MS);
                }
                let granted = granted_expires(msg, &self.contact).unwrap_or(self.config.expires);
                let until = now + u64::from(granted) * 1000;
                // Refresh at 90 % of the granted time.
                self.reg.next_at = Some(now + u64::from(granted) * 900);
                self.set_reg(RegState::Registered { until });
            }
            401 | 407 => {
                let name = if code == 401 {
                    "WWW-Authenticate"
                } else {
                    "Proxy-Authenticate"
                };
                let challenge = msg.header(name).and_then(|h| Challenge::parse(h).ok());
                let Some(challenge) = challenge else {
                    return self.fail_registration(RegFailure::Status(code), now);
                };
                // A second plain challenge means the credentials were refused.
                if self.reg.challenged >= 1 && !challenge.stale {
                    self.reg.challenge = None;
                    return self.fail_registration(RegFailure::Credentials, now);
                }
                self.reg.challenged += 1;
                self.reg.challenge = Some(challenge);
                self.reg.nc = 0;
                let removing = self.reg.removing;
                self.send_register(now, removing);
            }
            423 => {
                // Interval Too Brief: ask for Min-Expires.
                if let Some(min) = msg.header("Min-Expires").and_then(|v| v.parse().ok()) {
                    self.config.expires = min;
                    self.send_register(now, false);
                } else {
                    self.fail_registration(RegFailure::Status(code), now);
                }
            }
            403 => self.fail_registration(RegFailure::Forbidden, now),
            _ => self.fail_registration(RegFailure::Status(code), now),
        }
    }

    fn on_request(&mut self, msg: Message, now: u64) {
        let Some(method) = msg.method() else { return };
        // Requests without the headers every request needs get a 400.
        if msg.call_id().is_err() || msg.cseq().is_err() || msg.via().is_err() {
            if method != Method::Ack {
                self.send(msg.reply(400, None).to_string());
            }
            return;
        }
        let same_call = self
            .call
            .as_ref()
            .is_some_and(|c| Some(c.call_id.as_str()) == msg.call_id().ok());
        match method {
            Method::Invite if same_call => self.on_reinvite(msg, now),
            Method::Invite => self.on_invite(msg),
            Method::Ack if same_call => self.on_ack(&msg, now),
            Method::Ack => {}
            Method::Cancel => self.on_cancel(&msg),
            Method::Bye if same_call => {
                self.send(msg.reply(200, None).to_string());
                self.end_call(EndReason::RemoteBye);
            }
            Method::Options => {
                let r = msg
                    .reply(200, None)
                    .with("Allow", ALLOW)
                    .with("Accept", "application/sdp");
                self.send(r.to_string());
            }
            Method::Info | Method::Update if same_call => {
                self.send(msg.reply(200, None).to_string());
            }
            Method::Bye | Method::Info | Method::Update => {
                self.send(msg.reply(481, None).to_string());
            }
            _ => {
                let r = msg.reply(405, None).with("Allow", ALLOW);
                self.send(r.to_string());
            }
        }
    }

    fn on_invite(&mut self, msg: Message) {
        let from = msg.from().ok();
        let to = msg.to().ok();
        let (Some(from), Some(to)) = (from, to) else {
            return self.send(msg.reply(400, None).to_string());
        };
        if self.call.is_some() {
            let tag = self.token(10);
            return self.send(msg.reply(486, Some(&tag)).to_string());
        }
        if to.tag().is_some() {
            // A re-INVITE for a dialog we do not have.
            return self.send(msg.reply(481, None).to_string());
        }
        if msg.body.is_empty() {
            // Offerless INVITEs are not supported: the browser answers offers.
            let tag = self.token(10);
            return self.send(msg.reply(488, Some(&tag)).to_string());
        }
        let local_tag = self.token(10);
        let call_id = msg.call_id().unwrap_or_default().to_owned();
        let cseq = msg.cseq().map_or(0, |c| c.seq);
        let remote_target = msg.contact().map_or_else(|| from.uri.clone(), |c| c.uri);
        let route = msg
            .header_values("Record-Route")
            .map(str::to_owned)
            .collect();
        let auto_answer = msg.header_values("Call-Info").any(|v| {
            NameAddr::parse(v).is_some_and(|c| c.param(AUTO_ANSWER).is_some_and(|s| s == "0"))
        });
        let local_cseq = (self.next_u64() % 10_000) as u32 + 1;
        let incoming = IncomingCall {
            call_id: call_id.clone(),
            display: from.display.clone(),
            user: from.user(),
            offer: msg.body.clone(),
            auto_answer,
        };
        self.send(msg.reply(100, None).to_string());
        let ringing = msg
            .reply(180, Some(&local_tag))
            .with("Contact", self.contact.clone());
        self.send(ringing.to_string());
        self.call = Some(Call {
            phase: CallPhase::Ringing,
            local: to.with_param("tag", Some(&local_tag)),
            remote: from,
            held: sdp::is_hold(&msg.body),
            invite: msg,
            reinvite: None,
            call_id,
            local_tag,
            remote_target,
            route,
            remote_cseq: cseq,
            local_cseq,
            ok: None,
            ok_cseq: 0,
            retransmit_at: 0,
            retransmit_every: T1,
            give_up_at: 0,
            hangup_after_ack: false,
            local_sdp: String::new(),
        });
        self.emit(UaEvent::Incoming(incoming));
    }

    fn on_reinvite(&mut self, msg: Message, now: u64) {
        let Some(c) = self.call.as_mut() else { return };
        let cseq = msg.cseq().map_or(0, |s| s.seq);
        let tag = c.local_tag.clone();
        if cseq == c.invite.cseq().map_or(0, |s| s.seq)
            && msg
                .to()
                .ok()
                .and_then(|t| t.tag().map(str::to_owned))
                .is_none()
        {
            // A retransmission of the initial INVITE: repeat where we are.
            let again = match &c.ok {
                Some(ok) => ok.to_string(),
                None => msg.reply(180, Some(&tag)).to_string(),
            };
            return self.send(again);
        }
        if cseq <= c.remote_cseq {
            return self.send(msg.reply(500, Some(&tag)).to_string());
        }
        if c.phase != CallPhase::Confirmed {
            // RFC 3261 §14.2: an offer while ours is open.
            c.remote_cseq = cseq;
            return self.send(msg.reply(491, Some(&tag)).to_string());
        }
        c.remote_cseq = cseq;
        if let Some(t) = msg.contact() {
            c.remote_target = t.uri;
        }
        if msg.body.is_empty() {
            // Offerless re-INVITE: offer what we have (the ACK answers).
            c.phase = CallPhase::Answered;
            return self.send_ok(&msg, now);
        }
        let held = sdp::is_hold(&msg.body);
        c.held = held;
        c.phase = CallPhase::Reoffered;
        let offer = msg.body.clone();
        c.reinvite = Some(msg);
        self.emit(UaEvent::Reoffer { offer, held });
    }

    fn send_ok(&mut self, req: &Message, now: u64) {
        let Some(c) = self.call.as_mut() else { return };
        let ok = req
            .reply(200, Some(&c.local_tag))
            .with("Contact", self.contact.clone())
            .with("Allow", ALLOW)
            .with("Supported", "outbound")
            .with_body("application/sdp", c.local_sdp.clone());
        c.ok_cseq = req.cseq().map_or(0, |s| s.seq);
        c.retransmit_every = T1;
        c.retransmit_at = now + T1;
        c.give_up_at = now + TRANSACTION_TIMEOUT;
        let frame = ok.to_string();
        c.ok = Some(ok);
        self.send(frame);
    }

    fn on_ack(&mut self, msg: &Message, now: u64) {
        let Some(c) = self.call.as_mut() else { return };
        let cseq = msg.cseq().map_or(0, |s| s.seq);
        if c.ok.is_none() || cseq != c.ok_cseq {
            return;
        }
        c.ok = None;
        let first =
            c.phase == CallPhase::Answered && c.ok_cseq == c.invite.cseq().map_or(0, |s| s.seq);
        c.phase = CallPhase::Confirmed;
        if c.hangup_after_ack {
            self.send_bye(now);
            self.end_call(EndReason::LocalBye);
        } else if first {
            self.emit(UaEvent::Confirmed);
        }
    }

    fn on_cancel(&mut self, msg: &Message) {
        let branch = msg.via().ok().and_then(|v| v.branch().map(str::to_owned));
        let matches = self.call.as_ref().is_some_and(|c| {
            Some(c.call_id.as_str()) == msg.call_id().ok()
                && c.invite
                    .via()
                    .ok()
                    .and_then(|v| v.branch().map(str::to_owned))
                    == branch
        });
        if !matches {
            return self.send(msg.reply(481, None).to_string());
        }
        self.send(msg.reply(200, None).to_string());
        let Some(c) = self.call.as_ref() else { return };
        if c.phase == CallPhase::Ringing {
            let r = c.invite.reply(487, Some(&c.local_tag));
            self.send(r.to_string());
            self.end_call(EndReason::Cancelled);
        }
        // Once answered, CANCEL has no effect (RFC 3261 §9.2).
    }

    fn send_bye(&mut self, now: u64) {
        let (via, branch) = self.via();
        let Some(c) = self.call.as_mut() else { return };
        c.local_cseq += 1;
        let mut m = Message::request(Method::Bye, c.remote_target.clone())
            .with("Via", via.to_string())
            .with("Max-Forwards", "70");
        for r in &c.route {
            m.push("Route", r.clone());
        }
        m.push("From", c.local.to_string());
        m.push("To", c.remote.to_string());
        m.push("Call-ID", c.call_id.clone());
        m.push("CSeq", format!("{} BYE", c.local_cseq));
        m.push("User-Agent", self.config.user_agent.clone());
        self.bye = Some((branch, now + TRANSACTION_TIMEOUT));
        self.send(m.to_string());
    }

    fn end_call(&mut self, why: EndReason) {
        if self.call.take().is_some() {
            self.emit(UaEvent::Ended(why));
        }
    }
}

/// The expiry the registrar granted our contact: its `expires` parameter in
/// the 200's Contact list, else the `Expires` header.
fn granted_expires(msg: &Message, our_contact: &str) -> Option<u32> {
    let ours = NameAddr::parse(our_contact).map(|n| n.uri);
    msg.header_values("Contact")
        .filter_map(NameAddr::parse)
        .find(|c| Some(&c.uri) == ours.as_ref())
        .and_then(|c| c.param("expires").and_then(|e| e.parse().ok()))
        .or_else(|| msg.header("Expires").and_then(|e| e.parse().ok()))
}
