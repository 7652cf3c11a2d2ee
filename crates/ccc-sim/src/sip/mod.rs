//! The simulator's SIP side (issue 20): CCC's SIP server as the H1
//! inference describes it ([`ccc_sip::h1`]), so the browser softphone can be
//! tested end to end against something real.
//!
//! - [`creds`]: the credentials `GetLoginDetails` and `GetTurnCredentials`
//!   hand out, all from one secret.
//! - [`registrar`]: REGISTER with digest (MD5 and SHA-256, `qop=auth`,
//!   stale nonces) and the bindings table (`ListDevices`).
//! - [`ws`]: SIP over WebSocket (RFC 7118, subprotocol `sip`) on the
//!   simulator's HTTP port at `/` (`ws://<SipServerUrl>/`).
//! - `calls`: the simulator calls the agent's registered device: an
//!   inbound call as an INVITE with an SDP offer, MakeCall as an
//!   auto-answer INVITE; CANCEL, BYE both ways, re-INVITE.
//! - [`media`], [`tone`], [`g711`]: the customer's media peer.
//!
//! The state machine stays the only source of truth: after every change of
//! the world ([`crate::SimState::publish`]) a reconciler task compares
//! each registered agent's call with its SIP dialog and sends what is
//! missing (INVITE, CANCEL, BYE, a new mix for the media). An agent with
//! no registered device is never touched.

pub mod actions;
pub mod admin;
mod calls;
pub mod creds;
pub mod g711;
pub mod media;
pub mod registrar;
pub mod tone;
pub mod ws;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, Notify};

use crate::{now_ms, SimState};
use creds::Secret;
use registrar::{Limits, Registrar};

pub use calls::SipCall;

/// `[softphone]` of the configuration file. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SoftphoneConfig {
    /// The secret behind `Signature2` and the TURN passwords (default:
    /// random per process).
    pub secret: Option<String>,
    /// `SipServerUrl` of GetLoginDetails (default: the `Host` the request
    /// was sent to, i.e. the simulator itself).
    pub sip_server_url: Option<String>,
    /// How long `UserKey2`/`Signature2` are valid (default 86 400 s).
    pub credential_validity_secs: u64,
    /// How long a digest nonce is fresh (default 300 000 ms).
    pub nonce_lifetime_ms: u64,
    /// Shortest registration accepted (default 60 s).
    pub min_expires_secs: u32,
    /// Longest registration granted (default 3 600 s).
    pub max_expires_secs: u32,
    /// Granted when a REGISTER names no expiry (default 600 s).
    pub default_expires_secs: u32,
    /// The `domain` of `GetTurnServerList` (default `127.0.0.1`: nothing
    /// listens there; media on loopback needs no relay).
    pub turn_domain: String,
}

impl Default for SoftphoneConfig {
    fn default() -> Self {
        SoftphoneConfig {
            secret: None,
            sip_server_url: None,
            credential_validity_secs: 86_400,
            nonce_lifetime_ms: 300_000,
            min_expires_secs: 60,
            max_expires_secs: 3_600,
            default_expires_secs: 600,
            turn_domain: "127.0.0.1".to_owned(),
        }
    }
}

impl std::fmt::Debug for SoftphoneConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftphoneConfig")
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("sip_server_url", &self.sip_server_url)
            .field("credential_validity_secs", &self.credential_validity_secs)
            .field("nonce_lifetime_ms", &self.nonce_lifetime_ms)
            .field("min_expires_secs", &self.min_expires_secs)
            .field("max_expires_secs", &self.max_expires_secs)
            .field("default_expires_secs", &self.default_expires_secs)
            .field("turn_domain", &self.turn_domain)
            .finish()
    }
}

impl SoftphoneConfig {
    fn limits(&self) -> Limits {
        Limits {
            nonce_lifetime_ms: i64::try_from(self.nonce_lifetime_ms).unwrap_or(i64::MAX),
            min_expires_secs: self.min_expires_secs,
            max_expires_secs: self.max_expires_secs.max(self.min_expires_secs),
            default_expires_secs: self
                .default_expires_secs
                .clamp(self.min_expires_secs, self.max_expires_secs.max(1)),
        }
    }
}

/// A registration as `GET /_sim/sip/registrations` and `ListDevices` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Device {
    /// The REGISTER's Call-ID.
    pub call_id: String,
    /// The Contact URI.
    pub contact: String,
    /// `+sip.instance` of the Contact, else `webrtc-<Call-ID>`.
    pub device_id: String,
    /// Expiry, epoch ms.
    pub expires: i64,
    /// The extension (AOR user part).
    pub extension: String,
    /// The agent's instance.
    pub instance_id: String,
    /// The agent.
    pub user_id: String,
}

/// A random token for tags, branches and Call-IDs.
pub(crate) fn new_tag() -> String {
    format!("{:016x}", rand::random::<u64>())
}

#[derive(Debug, Default)]
struct Hub {
    registrar: Registrar,
    /// Open WebSockets: frames to send.
    conns: HashMap<u64, mpsc::UnboundedSender<String>>,
    /// SIP calls by JobId.
    calls: HashMap<String, SipCall>,
    /// The reconciler task runs.
    reconciling: bool,
}

/// The SIP server: registrations, sockets and calls. Held by
/// [`crate::SimState`].
#[derive(Debug)]
pub struct Softphone {
    config: SoftphoneConfig,
    secret: Secret,
    hub: Mutex<Hub>,
    wake: Notify,
    next_conn: AtomicU64,
}

impl Softphone {
    /// A SIP server with no registration.
    pub fn new(config: &SoftphoneConfig) -> Self {
        let secret = match &config.secret {
            Some(s) if !s.is_empty() => Secret::new(s.as_bytes()),
            _ => Secret::random(),
        };
        Softphone {
            config: config.clone(),
            secret,
            hub: Mutex::new(Hub::default()),
            wake: Notify::new(),
            next_conn: AtomicU64::new(1),
        }
    }

    fn hub(&self) -> MutexGuard<'_, Hub> {
        self.hub.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The configuration.
    pub fn config(&self) -> &SoftphoneConfig {
        &self.config
    }

    /// The credentials' secret.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// Something changed in the world: the reconciler (if running) looks.
    /// Never blocks; safe with the world locked.
    pub fn changed(&self) {
        self.wake.notify_one();
    }

    /// Whether `user_id` has a live registration (its calls go to the
    /// device).
    pub fn has_device(&self, user_id: &str) -> bool {
        let now = now_ms();
        self.hub()
            .registrar
            .bindings(now)
            .iter()
            .any(|b| b.user_id == user_id)
    }

    /// Whether calls of `user_id` go to its device: ON_SITE with a live
    /// registration. Locks the world: never call it with the world locked.
    pub fn takes_calls(&self, state: &SimState, user_id: &str) -> bool {
        self.has_device(user_id)
            && state
                .world()
                .agents
                .get(user_id)
                .is_some_and(|a| a.work_mode == ccc_model::WorkMode::OnSite)
    }

    /// Live registrations, all agents (or one agent's).
    pub fn devices(&self, state: &SimState, user_id: Option<&str>) -> Vec<Device> {
        let now = now_ms();
        let bindings: Vec<registrar::Binding> = self
            .hub()
            .registrar
            .bindings(now)
            .iter()
            .filter(|b| user_id.is_none_or(|u| b.user_id == u))
            .cloned()
            .collect();
        let world = state.world();
        bindings
            .into_iter()
            .map(|b| Device {
                instance_id: world
                    .agents
                    .get(&b.user_id)
                    .map(|a| a.instance_id.clone())
                    .unwrap_or_default(),
                call_id: b.call_id,
                contact: b.contact,
                device_id: b.device_id,
                expires: b.expires_at,
                extension: b.extension,
                user_id: b.user_id,
            })
            .collect()
    }

    /// A WebSocket opened: its id and the frames to send on it. Starts the
    /// reconciler if it is not running.
    pub(crate) fn open(&self, state: &SimState) -> (u64, mpsc::UnboundedReceiver<String>) {
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::unbounded_channel();
        let mut hub = self.hub();
        hub.conns.insert(id, tx);
        if !hub.reconciling {
            hub.reconciling = true;
            tokio::spawn(calls::reconciler(state.clone()));
        }
        (id, rx)
    }

    /// A WebSocket closed: its registrations go, its calls end (an answered
    /// call is hung up by the agent's side; a ringing one keeps ringing
    /// without a device).
    pub(crate) fn close(&self, state: &SimState, conn: u64) {
        let ended = {
            let mut hub = self.hub();
            hub.conns.remove(&conn);
            let gone = hub.registrar.drop_conn(conn);
            if !gone.is_empty() {
                tracing::info!(conn, extensions = ?gone, "SIP registrations left with their socket");
            }
            calls::forget_conn(&mut hub, conn)
        };
        for job in ended {
            let _ = state.hang_up(&job, crate::state_machine::HangupBy::Agent);
        }
        self.changed();
    }

    /// Closes every socket (the simulator stops).
    pub fn close_all(&self) {
        let mut hub = self.hub();
        hub.conns.clear();
        hub.calls.clear();
    }

    /// Sends a frame on a connection; false if it is gone.
    fn send(hub: &Hub, conn: u64, msg: &ccc_sip::Message) -> bool {
        hub.conns
            .get(&conn)
            .is_some_and(|tx| tx.send(msg.to_string()).is_ok())
    }

    /// The media report of call `job_id`, if it has a media peer.
    pub fn media_report(&self, job_id: &str) -> Option<(media::MediaReport, &'static str)> {
        let hub = self.hub();
        let call = hub.calls.get(job_id)?;
        let peer = call.media.clone()?;
        let phase = call.phase.as_str();
        drop(hub);
        Some((peer.report(), phase))
    }

    /// The SIP server URL GetLoginDetails reports: the configured one, else
    /// `host` (the `Host` header of the request, i.e. the simulator as the
    /// caller reached it).
    pub fn server_url(&self, host: Option<&str>) -> String {
        self.config
            .sip_server_url
            .clone()
            .or_else(|| host.map(str::to_owned))
            .unwrap_or_else(|| "127.0.0.1".to_owned())
    }
}

/// Keeps the peer alive while a report is read.
type SharedPeer = Arc<media::MediaPeer>;
