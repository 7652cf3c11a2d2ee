//! Who the agent is: never the browser's say. Three modes:
//! a trusted SSO header (believed only from trusted peers), a bearer JWT
//! (`sub` = CCC `UserId`, HS256 or RS256, `exp` enforced), or the demo
//! sign-in cookie (HMAC-signed, HttpOnly, SameSite=Strict).

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Mutex, PoisonError},
};

use axum::http::{header, HeaderMap, HeaderName};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use sha2::Sha256;

use crate::{
    config::{AuthConfig, JwtKey, Secret, TrustedPeers},
    errors::AppError,
    fleet::Fleet,
    upstream::now_ms,
};

/// Name of the demo sign-in cookie.
pub const DEMO_COOKIE: &str = "ccc_demo_agent";

/// An agent offered on the sign-in page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoAgent {
    /// CCC `UserId`.
    pub user_id: String,
    /// Name shown on the button.
    pub display_name: String,
    /// The agent's extension.
    pub extension: String,
}

/// How requests are mapped to a CCC `UserId`, ready to verify.
pub enum Authenticator {
    /// Trusted header.
    Header {
        /// The header.
        name: HeaderName,
        /// Peers allowed to set it.
        trusted: TrustedPeers,
    },
    /// Bearer JWT.
    Jwt {
        /// Verification key.
        key: Box<DecodingKey>,
        /// Algorithm, `exp`, `nbf`, `iss`, `aud` rules.
        validation: Validation,
        /// Longest accepted lifetime, seconds.
        max_lifetime: u64,
    },
    /// Demo cookie.
    Demo {
        /// HMAC key of the cookie.
        key: Secret,
        /// Per user: cookies issued at or before this (epoch ms) were
        /// signed out.
        revoked: Mutex<HashMap<String, i64>>,
        /// With Redis: the fleet's sign-outs too.
        fleet: Option<Fleet>,
    },
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Authenticator::Header { .. } => "Authenticator::Header",
            Authenticator::Jwt { .. } => "Authenticator::Jwt",
            Authenticator::Demo { .. } => "Authenticator::Demo",
        })
    }
}

impl Authenticator {
    /// Builds the verifier for `auth`.
    pub fn new(auth: &AuthConfig, cookie_key: &Secret) -> Result<Self, String> {
        Ok(match auth {
            AuthConfig::Header { name, trusted } => Authenticator::Header {
                name: HeaderName::try_from(name.as_str()).map_err(|e| e.to_string())?,
                trusted: trusted.clone(),
            },
            AuthConfig::Jwt(jwt) => {
                let (key, alg) = match &jwt.key {
                    JwtKey::Hs256(s) => (DecodingKey::from_secret(s.expose()), Algorithm::HS256),
                    JwtKey::Rs256Pem(pem) => (
                        DecodingKey::from_rsa_pem(pem).map_err(|e| e.to_string())?,
                        Algorithm::RS256,
                    ),
                };
                let mut validation = Validation::new(alg);
                validation.leeway = JWT_LEEWAY_SECS;
                validation.validate_nbf = true;
                let mut required = vec!["exp", "sub"];
                if let Some(iss) = &jwt.issuer {
                    validation.set_issuer(&[iss]);
                    required.push("iss");
                }
                match &jwt.audience {
                    Some(aud) => {
                        validation.set_audience(&[aud]);
                        required.push("aud");
                    }
                    None => validation.validate_aud = false,
                }
                validation.set_required_spec_claims(&required);
                Authenticator::Jwt {
                    key: Box::new(key),
                    validation,
                    max_lifetime: jwt.max_lifetime.as_secs(),
                }
            }
            AuthConfig::Demo => Authenticator::Demo {
                key: cookie_key.clone(),
                revoked: Mutex::new(HashMap::new()),
                fleet: None,
            },
        })
    }

    /// Shares demo sign-outs with every replica through `fleet`.
    pub fn shared_by(mut self, fleet: Option<Fleet>) -> Self {
        if let Authenticator::Demo { fleet: f, .. } = &mut self {
            *f = fleet;
        }
        self
    }

    /// When `user` last signed out: here, or (with Redis) anywhere.
    fn revoked_at(&self, user: &str) -> Option<i64> {
        let Authenticator::Demo { revoked, fleet, .. } = self else {
            return None;
        };
        let here = lock(revoked).get(user).copied();
        let fleet = fleet.as_ref().and_then(|f| f.revoked_at(user));
        here.max(fleet)
    }

    /// The CCC `UserId` of this request, or 401.
    pub fn user_id(
        &self,
        headers: &HeaderMap,
        peer: Option<SocketAddr>,
        instance_id: &str,
    ) -> Result<String, AppError> {
        let raw = match self {
            Authenticator::Header { name, trusted } => {
                let mut values = headers.get_all(name).iter();
                let value = values
                    .next()
                    .ok_or_else(|| AppError::unauthenticated("Sign in through your CRM first."))?;
                if values.next().is_some() {
                    // Which copy is true depends on the chain of proxies:
                    // refuse instead of guessing.
                    tracing::warn!(?peer, header = %name, "identity header sent twice; refused");
                    return Err(AppError::unauthenticated("Invalid identity header."));
                }
                if !peer.is_some_and(|p| trusted.contains(p.ip())) {
                    tracing::warn!(?peer, header = %name, "identity header from an untrusted peer ignored");
                    return Err(AppError::unauthenticated("Sign in through your CRM first."));
                }
                value
                    .to_str()
                    .map_err(|_| AppError::unauthenticated("Invalid identity header."))?
                    .trim()
                    .to_owned()
            }
            Authenticator::Jwt {
                key,
                validation,
                max_lifetime,
            } => {
                let token = bearer(headers)
                    .ok_or_else(|| AppError::unauthenticated("Missing bearer token."))?;
                let data = jsonwebtoken::decode::<Claims>(token, key, validation).map_err(|e| {
                    tracing::info!(reason = %e, "bearer token refused");
                    AppError::unauthenticated("Invalid or expired token.")
                })?;
                let now = u64::try_from(now_ms() / 1000).unwrap_or_default();
                check_lifetime(&data.claims, now, *max_lifetime)?;
                data.claims.sub
            }
            Authenticator::Demo { .. } => self
                .demo_session(headers)
                .map(|(user, _)| user)
                .ok_or_else(|| AppError::unauthenticated("Pick an agent on the sign-in page."))?,
        };
        normalize_user_id(&raw, instance_id)
            .ok_or_else(|| AppError::unauthenticated("The identity is not a valid CCC user id."))
    }

    /// The user and issue time (epoch ms) of a valid, unexpired,
    /// not signed-out demo cookie in `headers` (demo mode only).
    pub fn demo_session(&self, headers: &HeaderMap) -> Option<(String, i64)> {
        let Authenticator::Demo { key, .. } = self else {
            return None;
        };
        let (user, issued) = verify_cookie(key, demo_cookie(headers)?, now_ms())?;
        self.revoked_at(&user)
            .is_none_or(|r| r < issued)
            .then_some((user, issued))
    }

    /// A fresh demo cookie value for `user_id`, issued after any sign-out
    /// of that user.
    pub fn issue_cookie(&self, user_id: &str) -> Option<String> {
        let Authenticator::Demo { key, .. } = self else {
            return None;
        };
        let after_revocation = self.revoked_at(user_id).map_or(i64::MIN, |r| r + 1);
        Some(sign_cookie(key, user_id, now_ms().max(after_revocation)))
    }

    /// Signs `user_id` out: every demo cookie issued so far stops working,
    /// on every replica when Redis is shared (best effort: without Redis,
    /// on this one).
    pub async fn revoke(&self, user_id: &str) {
        if let Authenticator::Demo { revoked, fleet, .. } = self {
            let at = now_ms();
            // Bounded: only the simulator's agents can hold a cookie.
            lock(revoked).insert(user_id.to_owned(), at);
            if let Some(f) = fleet {
                let keep = std::time::Duration::from_millis(
                    u64::try_from(COOKIE_LIFETIME_MS).unwrap_or(u64::MAX),
                );
                if let Err(e) = f.revoke(user_id, at, keep).await {
                    tracing::warn!(error = %e, "demo sign-out not shared: other replicas accept the cookie until Redis answers");
                }
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Leeway for `exp`, `nbf` and `iat`, seconds.
const JWT_LEEWAY_SECS: u64 = 30;
/// A demo cookie lasts this long after it was issued (renewed while used).
pub const COOKIE_LIFETIME_MS: i64 = 12 * 3600 * 1000;
/// A demo cookie older than this is renewed on the next request.
pub const COOKIE_RENEW_AFTER_MS: i64 = 10 * 60 * 1000;

#[derive(Debug, serde::Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
    iat: Option<u64>,
}

/// Refuses tokens living longer than `max` seconds (`exp - iat`, or
/// `exp - now` without `iat`) and tokens issued in the future.
fn check_lifetime(claims: &Claims, now: u64, max: u64) -> Result<(), AppError> {
    if claims.iat.is_some_and(|iat| iat > now + JWT_LEEWAY_SECS) {
        tracing::info!("bearer token refused: issued in the future");
        return Err(AppError::unauthenticated("Invalid or expired token."));
    }
    let from = claims.iat.unwrap_or(now);
    if claims.exp.saturating_sub(from) > max {
        tracing::info!(
            lifetime = claims.exp.saturating_sub(from),
            max,
            "bearer token refused: lifetime too long"
        );
        return Err(AppError::unauthenticated(
            "The token lives longer than this proxy allows.",
        ));
    }
    Ok(())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// `name` → `name@instance`; refuses anything that does not look like a CCC
/// user id (1..=128 of `[A-Za-z0-9._@+-]`, at most one `@`).
pub fn normalize_user_id(raw: &str, instance_id: &str) -> Option<String> {
    let ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 128
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+' | b'@'))
            && s.bytes().filter(|b| *b == b'@').count() <= 1
    };
    if !ok(raw) {
        return None;
    }
    let id = if raw.contains('@') {
        raw.to_owned()
    } else {
        format!("{raw}@{instance_id}")
    };
    ok(&id).then_some(id)
}

fn demo_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == DEMO_COOKIE)
        .map(|(_, v)| v)
}

fn mac(key: &Secret) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(key.expose()).expect("HMAC accepts any key length")
}

/// The demo cookie value for `user_id` issued at `issued_ms`:
/// `v2.<b64 user>.<issued ms>.<b64 HMAC of everything before>`.
pub fn sign_cookie(key: &Secret, user_id: &str, issued_ms: i64) -> String {
    let payload = format!("v2.{}.{issued_ms}", URL_SAFE_NO_PAD.encode(user_id));
    let mut m = mac(key);
    m.update(payload.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(m.finalize().into_bytes());
    format!("{payload}.{sig}")
}

/// The user id and issue time of a demo cookie whose signature is valid
/// and which has not expired at `now_ms`.
pub fn verify_cookie(key: &Secret, value: &str, now_ms: i64) -> Option<(String, i64)> {
    let (payload, sig) = value.rsplit_once('.')?;
    let mut parts = payload.split('.');
    let (v, user, issued) = (parts.next()?, parts.next()?, parts.next()?);
    if v != "v2" || parts.next().is_some() {
        return None;
    }
    let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
    let mut m = mac(key);
    m.update(payload.as_bytes());
    m.verify_slice(&sig).ok()?;
    let issued: i64 = issued.parse().ok()?;
    // A minute of clock skew between replicas, then 12 hours.
    if issued > now_ms + 60_000 || now_ms - issued >= COOKIE_LIFETIME_MS {
        return None;
    }
    let user = String::from_utf8(URL_SAFE_NO_PAD.decode(user).ok()?).ok()?;
    Some((user, issued))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_round_trip_and_refuse_tampering() {
        let key = Secret::new(b"0123456789abcdef0123456789abcdef".to_vec());
        let now = 1_700_000_000_000;
        let c = sign_cookie(&key, "agent1@ccc-demo", now);
        assert_eq!(
            verify_cookie(&key, &c, now),
            Some(("agent1@ccc-demo".to_owned(), now))
        );
        let forged = c.replace(
            &URL_SAFE_NO_PAD.encode("agent1@ccc-demo"),
            &URL_SAFE_NO_PAD.encode("agent2@ccc-demo"),
        );
        assert_eq!(verify_cookie(&key, &forged, now), None);
        let later = c.replace(&now.to_string(), &(now + 1000).to_string());
        assert_eq!(
            verify_cookie(&key, &later, now),
            None,
            "issue time is signed"
        );
        let other = Secret::new(b"another-key-another-key".to_vec());
        assert_eq!(verify_cookie(&other, &c, now), None);
        assert_eq!(verify_cookie(&key, "garbage", now), None);
    }

    #[test]
    fn cookies_expire() {
        let key = Secret::new(b"0123456789abcdef0123456789abcdef".to_vec());
        let now = 1_700_000_000_000;
        let c = sign_cookie(&key, "agent1@ccc-demo", now);
        assert!(verify_cookie(&key, &c, now + COOKIE_LIFETIME_MS - 1).is_some());
        assert_eq!(verify_cookie(&key, &c, now + COOKIE_LIFETIME_MS), None);
        assert_eq!(
            verify_cookie(&key, &c, now - 120_000),
            None,
            "from the future"
        );
    }

    #[test]
    fn jwt_lifetime_is_bounded() {
        let claims = |iat, exp| Claims {
            sub: "a".into(),
            exp,
            iat,
        };
        assert!(check_lifetime(&claims(Some(1000), 1000 + 3600), 1000, 43_200).is_ok());
        assert!(check_lifetime(&claims(Some(1000), 1000 + 43_201), 1000, 43_200).is_err());
        assert!(check_lifetime(&claims(None, 1000 + 43_201), 1000, 43_200).is_err());
        assert!(check_lifetime(&claims(None, 1000 + 600), 1000, 43_200).is_ok());
        assert!(
            check_lifetime(&claims(Some(5000), 5600), 1000, 43_200).is_err(),
            "issued in the future"
        );
    }

    #[test]
    fn user_ids_are_normalized() {
        assert_eq!(
            normalize_user_id("ada", "inst").as_deref(),
            Some("ada@inst")
        );
        assert_eq!(normalize_user_id("ada@x", "inst").as_deref(), Some("ada@x"));
        assert_eq!(normalize_user_id("a b", "inst"), None);
        assert_eq!(normalize_user_id("", "inst"), None);
        assert_eq!(normalize_user_id("a@b@c", "inst"), None);
    }
}
