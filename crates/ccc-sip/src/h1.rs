//! **H1 — an inference, not documented by Alibaba** (docs/softphone.md,
//! ccc-api.md §10.3): how a CCC agent's browser registers with CCC's SIP
//! server. Everything the softphone assumes about CCC's undocumented
//! registration lives here, so a capture of the official workbench that
//! contradicts it changes this module only.
//!
//! What H1 says:
//! - transport: SIP over WebSocket (RFC 7118, subprotocol `sip`) to
//!   `wss://<SipServerUrl>/` ([`ws_url`]);
//! - address of record: `sip:<Extension>@<host of SipServerUrl>` ([`aor`]);
//! - digest username = `UserKey2`, password = `Signature2`
//!   ([`digest_login`]), realm whatever the server's challenge names;
//! - the credentials are ephemeral in the style of
//!   draft-uberti-rtcweb-turn-rest / Kamailio `auth_ephemeral`
//!   `username_format 0`: username `<extension>:<timestamp>` (CCC's
//!   `UserKey2` looks like `802001:1656406628862`, epoch **milliseconds**),
//!   password = base64(HMAC-SHA1(secret, username)) ([`ephemeral_password`],
//!   feature `ephemeral`, used by the simulator which plays CCC with its own
//!   secret). We read the timestamp as the expiry, as Kamailio does; a
//!   timestamp too small to be milliseconds is seconds
//!   ([`timestamp_to_ms`]), the unit stock `auth_ephemeral` and TURN REST use.

/// The WebSocket subprotocol (RFC 7118 §4).
pub const WS_SUBPROTOCOL: &str = "sip";

/// The digest username and password H1 uses for REGISTER.
#[derive(Clone, PartialEq, Eq)]
pub struct DigestLogin {
    /// Digest username.
    pub username: String,
    /// Digest password (a secret).
    pub password: String,
}

impl std::fmt::Debug for DigestLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestLogin")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// H1: `GetLoginDetails`' `UserKey2`/`Signature2` are the digest username
/// and password. (`UserKey`/`Signature` carry the agent's name, which may be
/// Chinese; CCC added the `2` pair because of that, so we use it.)
pub fn digest_login(user_key2: &str, signature2: &str) -> DigestLogin {
    DigestLogin {
        username: user_key2.to_owned(),
        password: signature2.to_owned(),
    }
}

/// The SIP domain of `SipServerUrl` (`sh-sip-ccc.aliyuncs.com:443` →
/// `sh-sip-ccc.aliyuncs.com`): scheme, port and path dropped.
pub fn domain(sip_server_url: &str) -> &str {
    let s = sip_server_url.trim();
    let s = s.split_once("://").map_or(s, |(_, rest)| rest);
    let s = s.split('/').next().unwrap_or(s);
    if s.starts_with('[') {
        return s.split_inclusive(']').next().unwrap_or(s);
    }
    s.split(':').next().unwrap_or(s)
}

/// H1: the WebSocket URL of `SipServerUrl` (`host:port` → `wss://host:port/`;
/// a value that already has a `ws://`/`wss://` scheme is kept).
pub fn ws_url(sip_server_url: &str) -> String {
    let s = sip_server_url.trim();
    if s.starts_with("wss://") || s.starts_with("ws://") {
        s.to_owned()
    } else {
        format!("wss://{}/", s.trim_end_matches('/'))
    }
}

/// H1: the agent's address of record, `sip:<extension>@<domain>`.
pub fn aor(extension: &str, domain: &str) -> String {
    format!("sip:{extension}@{domain}")
}

/// The ephemeral username for an extension valid until `expires_ms` (epoch ms).
pub fn ephemeral_username(extension: &str, expires_ms: u64) -> String {
    format!("{extension}:{expires_ms}")
}

/// Splits an ephemeral username into (extension, expiry epoch ms); the
/// timestamp may be in seconds or milliseconds ([`timestamp_to_ms`]).
pub fn parse_ephemeral_username(username: &str) -> Option<(&str, u64)> {
    let (ext, ts) = username.rsplit_once(':')?;
    if ext.is_empty() {
        return None;
    }
    Some((ext, timestamp_to_ms(ts.parse().ok()?)))
}

/// The ephemeral timestamp in epoch ms. CCC's `UserKey2` carries
/// milliseconds (`802001:1656406628862`); stock Kamailio `auth_ephemeral`
/// and TURN REST carry seconds (and Kamailio 5.6 refuses 13 digits). Below
/// 10^11 a value is read as seconds: as milliseconds it would be 1973, as
/// seconds it reaches the year 5138, so the two never meet.
pub fn timestamp_to_ms(ts: u64) -> u64 {
    const SECONDS_BELOW: u64 = 100_000_000_000;
    if ts < SECONDS_BELOW {
        ts.saturating_mul(1000)
    } else {
        ts
    }
}

/// The ephemeral password: base64(HMAC-SHA1(secret, username)), exactly
/// Kamailio `auth_ephemeral`'s `autheph_*` check (and TURN REST's).
#[cfg(feature = "ephemeral")]
pub fn ephemeral_password(secret: &[u8], username: &str) -> String {
    use base64::Engine as _;
    use hmac::{Hmac, Mac as _};
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_details_map_to_digest_and_addresses() {
        let l = digest_login("802001:1656406628862", "zi31STIMtIfa/UN2l+6lww==");
        assert_eq!(l.username, "802001:1656406628862");
        assert_eq!(l.password, "zi31STIMtIfa/UN2l+6lww==");
        assert!(!format!("{l:?}").contains("zi31"));
        assert_eq!(
            domain("sh-sip-ccc.aliyuncs.com:443"),
            "sh-sip-ccc.aliyuncs.com"
        );
        assert_eq!(domain("wss://127.0.0.1:9443/ws"), "127.0.0.1");
        assert_eq!(domain("[::1]:5060"), "[::1]");
        assert_eq!(
            ws_url("sh-sip-ccc.aliyuncs.com:443"),
            "wss://sh-sip-ccc.aliyuncs.com:443/"
        );
        assert_eq!(ws_url("ws://127.0.0.1:7/sip"), "ws://127.0.0.1:7/sip");
        assert_eq!(aor("8001", "ccc.example"), "sip:8001@ccc.example");
        assert_eq!(
            parse_ephemeral_username(&ephemeral_username("802001", 1656406628862)),
            Some(("802001", 1656406628862))
        );
        // Seconds (stock auth_ephemeral, TURN REST) read as milliseconds.
        assert_eq!(
            parse_ephemeral_username("802001:1656406628"),
            Some(("802001", 1656406628000))
        );
        assert_eq!(timestamp_to_ms(1_656_406_628_862), 1_656_406_628_862);
        assert_eq!(timestamp_to_ms(99_999_999_999), 99_999_999_999_000);
        assert_eq!(timestamp_to_ms(100_000_000_000), 100_000_000_000);
        assert_eq!(parse_ephemeral_username("802001"), None);
        assert_eq!(parse_ephemeral_username(":12"), None);
    }

    /// The MAC is HMAC-SHA1, printed in standard base64 (checked against
    /// RFC 2202 test case 2).
    #[cfg(feature = "ephemeral")]
    #[test]
    fn ephemeral_password_matches_hmac_sha1_base64() {
        // RFC 2202 test case 2: HMAC-SHA1("Jefe", "what do ya want for nothing?")
        // = effcdf6ae5eb2fa2d27416d5f184df9c259a7c79.
        assert_eq!(
            ephemeral_password(b"Jefe", "what do ya want for nothing?"),
            "7/zfauXrL6LSdBbV8YTfnCWafHk="
        );
    }
}
