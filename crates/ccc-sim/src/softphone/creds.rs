//! The credentials the simulator hands out and checks, all derived from one
//! secret (`--sip-secret`, or random per process):
//!
//! - `GetLoginDetails`: `UserKey2` = `<extension>:<expiry epoch ms>`,
//!   `Signature2` = base64(HMAC-SHA1(secret, UserKey2)) — the H1 inference
//!   ([`ccc_sip::h1`]); `UserKey`/`Signature` the same with the display
//!   name in front (`<name>:<extension>:<expiry ms>`).
//! - `GetTurnCredentials`: `UserName` = `<expiry epoch s>:<UserId>`,
//!   `Password` = base64(HMAC-SHA1(secret, UserName)) (TURN REST, as CCC's
//!   documented example shows).
//! - Digest nonces: `<issued ms>.<random>.<MAC>`, so any nonce can be checked
//!   without keeping state.

use ccc_sip::h1;

use super::TimestampUnit;

/// The secret. `Debug` never shows it.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The four SIP fields of `GetLoginDetails`. `Debug` hides the signatures.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginCredentials {
    /// `<display name>:<extension>:<expiry ms>`.
    pub user_key: String,
    /// base64(HMAC-SHA1(secret, UserKey)).
    pub signature: String,
    /// `<extension>:<expiry ms>`: the digest username (H1).
    pub user_key2: String,
    /// base64(HMAC-SHA1(secret, UserKey2)): the digest password (H1).
    pub signature2: String,
}

impl std::fmt::Debug for LoginCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginCredentials")
            .field("user_key", &self.user_key)
            .field("user_key2", &self.user_key2)
            .finish_non_exhaustive()
    }
}

impl Secret {
    /// A secret from configuration.
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        Secret(secret.into())
    }

    /// A random secret (the default: credentials die with the process).
    pub fn random() -> Self {
        Secret((0..32).map(|_| rand::random::<u8>()).collect())
    }

    fn mac(&self, data: &str) -> String {
        h1::ephemeral_password(&self.0, data)
    }

    /// The password H1 expects for a digest `username` (`UserKey2`).
    pub fn sip_password(&self, username: &str) -> String {
        self.mac(username)
    }

    /// The SIP credentials of an agent, valid until `expires_ms`, the
    /// timestamp written in `unit`.
    pub fn login(
        &self,
        extension: &str,
        display_name: &str,
        expires_ms: i64,
        unit: TimestampUnit,
    ) -> LoginCredentials {
        let expires = unit.from_ms(u64::try_from(expires_ms).unwrap_or(0));
        let user_key2 = h1::ephemeral_username(extension, expires);
        let user_key = format!("{display_name}:{user_key2}");
        LoginCredentials {
            signature: self.mac(&user_key),
            signature2: self.mac(&user_key2),
            user_key,
            user_key2,
        }
    }

    /// TURN REST credentials of `user_id`, valid until `expires_secs`:
    /// (`UserName`, `Password`).
    pub fn turn(&self, user_id: &str, expires_secs: i64) -> (String, String) {
        let user = format!("{expires_secs}:{user_id}");
        let password = self.mac(&user);
        (user, password)
    }

    /// A fresh nonce issued at `now` (epoch ms): `<ms>.<random>.<MAC>`,
    /// unique even within one millisecond.
    pub fn nonce(&self, now: i64) -> String {
        self.nonce_with(now, &format!("{:016x}", rand::random::<u64>()))
    }

    fn nonce_with(&self, at: i64, salt: &str) -> String {
        let mac = self.mac(&format!("nonce:{at}.{salt}"));
        // base64 without padding: no character that needs quoting.
        format!("{at}.{salt}.{}", mac.trim_end_matches('='))
    }

    /// When `nonce` was issued, if the simulator issued it.
    pub fn nonce_issued(&self, nonce: &str) -> Option<i64> {
        let mut parts = nonce.splitn(3, '.');
        let (issued, salt) = (parts.next()?, parts.next()?);
        let at: i64 = issued.parse().ok()?;
        (self.nonce_with(at, salt) == nonce).then_some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_credentials_follow_h1() {
        let s = Secret::new("s3cret");
        let c = s.login(
            "80010001",
            "Ada Li",
            1_656_406_628_862,
            TimestampUnit::Millis,
        );
        assert_eq!(c.user_key2, "80010001:1656406628862");
        assert_eq!(c.user_key, "Ada Li:80010001:1656406628862");
        assert_eq!(
            c.signature2,
            h1::ephemeral_password(b"s3cret", &c.user_key2)
        );
        assert_eq!(s.sip_password(&c.user_key2), c.signature2);
        assert_ne!(c.signature, c.signature2);
        assert!(!format!("{c:?}").contains(&c.signature2));
        assert!(!format!("{s:?}").contains("s3cret"));
        // Another secret gives other passwords.
        assert_ne!(
            Secret::new("other").sip_password(&c.user_key2),
            c.signature2
        );
    }

    #[test]
    fn a_seconds_timestamp_for_stock_kamailio() {
        let s = Secret::new("s3cret");
        let c = s.login(
            "80010001",
            "Ada Li",
            1_656_406_628_862,
            TimestampUnit::Seconds,
        );
        assert_eq!(c.user_key2, "80010001:1656406628");
        assert_eq!(s.sip_password("80010001:1656406628"), c.signature2);
        // Still read as the same expiry (to the second).
        assert_eq!(
            h1::parse_ephemeral_username(&c.user_key2),
            Some(("80010001", 1_656_406_628_000))
        );
    }

    #[test]
    fn nonces_are_checked_without_state() {
        let s = Secret::new("k");
        let n = s.nonce(1_000);
        assert_eq!(s.nonce_issued(&n), Some(1_000));
        assert_eq!(s.nonce_issued("1000.forged"), None);
        assert_eq!(s.nonce_issued("1000.a.forged"), None);
        assert_ne!(s.nonce(1_000), n, "two nonces of one millisecond differ");
        assert_eq!(Secret::new("k2").nonce_issued(&n), None);
        assert_eq!(s.nonce_issued(&n.replacen("1000", "2000", 1)), None);
        assert!(!n.contains('"'));
    }

    #[test]
    fn turn_credentials_are_turn_rest_shaped() {
        let s = Secret::new("k");
        let (user, password) = s.turn("agent1@ccc-demo", 1_602_585_817);
        assert_eq!(user, "1602585817:agent1@ccc-demo");
        assert_eq!(password, h1::ephemeral_password(b"k", &user));
    }
}
