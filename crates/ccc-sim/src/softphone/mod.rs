//! The softphone's parts that know nothing of the simulator's state (issue
//! 20): the SIP server's tables and sockets ([`Softphone`]), the
//! credentials ([`creds`]), the registrar ([`registrar`]), SIP dialogs to
//! the agent's device ([`dialog`]) and the customer's media peer
//! ([`media`], [`tone`], [`g711`], [`dtmf`]). [`crate::sip`] drives them from the
//! state machine; nothing here imports the rest of the crate, so modules
//! import one way.

pub mod creds;
pub mod dialog;
pub mod dtmf;
pub mod g711;
pub mod media;
pub mod registrar;
pub mod tone;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, Notify};

use creds::Secret;
use dialog::{Phase, SipCall};
use registrar::{Limits, Registrar};

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
    /// The unit of `UserKey2`'s timestamp (default `ms`, as CCC's example).
    pub user_key2_unit: TimestampUnit,
}

/// The unit of the timestamp in `UserKey2` (`<extension>:<timestamp>`).
///
/// **The one adaptation for Kamailio interop**: CCC's example carries epoch
/// milliseconds, but stock Kamailio 5.6 `auth_ephemeral` reads the
/// timestamp into a 32-bit integer and refuses 13 digits, so the test that
/// registers the widget with Kamailio sets `s` (docs/softphone.md). Every
/// reader accepts both (`ccc_sip::h1::timestamp_to_ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum TimestampUnit {
    /// Epoch milliseconds (`802001:1656406628862`).
    #[default]
    #[serde(rename = "ms")]
    Millis,
    /// Epoch seconds (`802001:1656406628`).
    #[serde(rename = "s")]
    Seconds,
}

impl TimestampUnit {
    /// `epoch_ms` in this unit.
    pub fn from_ms(self, epoch_ms: u64) -> u64 {
        match self {
            TimestampUnit::Millis => epoch_ms,
            TimestampUnit::Seconds => epoch_ms / 1000,
        }
    }
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
            user_key2_unit: TimestampUnit::Millis,
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
            .field("user_key2_unit", &self.user_key2_unit)
            .finish()
    }
}

impl SoftphoneConfig {
    pub(crate) fn limits(&self) -> Limits {
        Limits {
            nonce_lifetime_ms: i64::try_from(self.nonce_lifetime_ms).unwrap_or(i64::MAX),
            min_expires_secs: self.min_expires_secs,
            max_expires_secs: self.max_expires_secs.max(self.min_expires_secs),
            default_expires_secs: self.default_expires_secs.clamp(
                self.min_expires_secs,
                self.max_expires_secs.max(self.min_expires_secs),
            ),
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

/// The tables, under one lock (never held while the world is locked).
#[derive(Debug, Default)]
pub(crate) struct Hub {
    pub(crate) registrar: Registrar,
    /// Open WebSockets: frames to send.
    pub(crate) conns: HashMap<u64, mpsc::UnboundedSender<String>>,
    /// SIP calls by JobId.
    pub(crate) calls: HashMap<String, SipCall>,
    /// The reconciler task runs.
    reconciling: bool,
}

/// The SIP server: registrations, sockets and calls. Held by
/// the simulator's state.
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

    pub(crate) fn hub(&self) -> MutexGuard<'_, Hub> {
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

    /// Waits for the next [`Softphone::changed`] (the reconciler).
    pub(crate) async fn next_change(&self) {
        self.wake.notified().await;
    }

    /// The reconciler asks whether to stop: yes when no socket is open and
    /// no call is left (the next socket starts a new one).
    pub(crate) fn reconciler_may_stop(&self) -> bool {
        let mut hub = self.hub();
        let stop = hub.conns.is_empty() && hub.calls.is_empty();
        if stop {
            hub.reconciling = false;
        }
        stop
    }

    /// Whether `user_id` has a live registration at `now`.
    pub fn has_device(&self, user_id: &str, now: i64) -> bool {
        self.hub()
            .registrar
            .bindings(now)
            .iter()
            .any(|b| b.user_id == user_id)
    }

    /// Live registrations at `now`, all agents (or one agent's).
    pub fn devices(&self, user_id: Option<&str>, now: i64) -> Vec<Device> {
        self.hub()
            .registrar
            .bindings(now)
            .iter()
            .filter(|b| user_id.is_none_or(|u| b.user_id == u))
            .map(|b| Device {
                call_id: b.call_id.clone(),
                contact: b.contact.clone(),
                device_id: b.device_id.clone(),
                expires: b.expires_at,
                extension: b.extension.clone(),
                instance_id: b.instance_id.clone(),
                user_id: b.user_id.clone(),
            })
            .collect()
    }

    /// A WebSocket opened: its id, the frames to send on it, and whether
    /// the caller must start the reconciler (none runs).
    pub(crate) fn open(&self) -> (u64, mpsc::UnboundedReceiver<String>, bool) {
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::unbounded_channel();
        let mut hub = self.hub();
        hub.conns.insert(id, tx);
        let start = !hub.reconciling;
        hub.reconciling = true;
        (id, rx, start)
    }

    /// A WebSocket closed: its registrations and calls go. Returns the
    /// answered calls (agent, job), which the agent's side releases (a ringing one keeps
    /// ringing without a device).
    pub(crate) fn close(&self, conn: u64) -> Vec<(String, String)> {
        let mut hub = self.hub();
        hub.conns.remove(&conn);
        let gone = hub.registrar.drop_conn(conn);
        if !gone.is_empty() {
            tracing::info!(conn, extensions = ?gone, "SIP registrations left with their socket");
        }
        let mut answered = Vec::new();
        hub.calls.retain(|_, call| {
            if call.conn != conn {
                return true;
            }
            if call.phase == Phase::Established {
                answered.push((call.user_id.clone(), call.job_id.clone()));
            }
            false
        });
        answered
    }

    /// Closes every socket (the simulator stops).
    pub fn close_all(&self) {
        {
            let mut hub = self.hub();
            hub.conns.clear();
            hub.calls.clear();
        }
        // The reconciler wakes, sees nothing left and ends.
        self.changed();
    }

    /// Sends a frame on a connection; false if it is gone.
    pub(crate) fn send(hub: &Hub, conn: u64, msg: &ccc_sip::Message) -> bool {
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

/// A media peer shared by the call and a report being read.
pub(crate) type SharedPeer = Arc<media::MediaPeer>;

#[cfg(test)]
mod tests {
    use crate::SimConfig;

    #[test]
    fn the_softphone_section_parses_and_hides_its_secret() {
        let c = SimConfig::from_toml_str(
            r#"
            [softphone]
            secret = "t0p-secret"
            sip_server_url = "sip.example:443"
            nonce_lifetime_ms = 1000
            min_expires_secs = 5
            [[instances]]
            id = "inst"
            "#,
        )
        .unwrap();
        assert_eq!(c.softphone.secret.as_deref(), Some("t0p-secret"));
        assert_eq!(c.softphone.nonce_lifetime_ms, 1_000);
        assert_eq!(c.softphone.min_expires_secs, 5);
        assert_eq!(c.softphone.max_expires_secs, 3_600);
        assert!(!format!("{c:?}").contains("t0p-secret"));
        let example = SimConfig::from_toml_str(include_str!("../../sim.example.toml")).unwrap();
        assert_eq!(example.softphone.turn_domain, "127.0.0.1");
        let unknown = SimConfig::from_toml_str("[softphone]\nsecrett = \"x\"\n");
        assert!(unknown.is_err());
    }

    #[test]
    fn limits_keep_the_default_within_min_and_max() {
        let c = super::SoftphoneConfig {
            min_expires_secs: 900,
            ..super::SoftphoneConfig::default()
        };
        let l = c.limits();
        assert_eq!(l.default_expires_secs, 900);
        assert!(l.max_expires_secs >= l.min_expires_secs);
        // A minimum above the maximum: the minimum wins (no panic).
        let odd = super::SoftphoneConfig {
            min_expires_secs: 5_000,
            ..super::SoftphoneConfig::default()
        };
        let l = odd.limits();
        assert_eq!((l.default_expires_secs, l.max_expires_secs), (5_000, 5_000));
    }
}
