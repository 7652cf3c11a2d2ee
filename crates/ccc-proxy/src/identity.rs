//! Who the agent is: never the browser's say. Three modes:
//! a trusted SSO header (believed only from trusted peers), a bearer JWT
//! (`sub` = CCC `UserId`, HS256 or RS256, `exp` enforced), or the demo
//! sign-in cookie (HMAC-signed, HttpOnly, SameSite=Strict).

use std::net::SocketAddr;

use axum::http::{header, HeaderMap, HeaderName};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use sha2::Sha256;

use crate::{
    config::{AuthConfig, JwtKey, Secret, TrustedPeers},
    errors::AppError,
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

impl From<ccc_sim::SimAgent> for DemoAgent {
    fn from(a: ccc_sim::SimAgent) -> Self {
        DemoAgent {
            user_id: a.user_id,
            display_name: a.display_name,
            extension: a.extension,
        }
    }
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
        /// Algorithm, `exp`, `iss`, `aud` rules.
        validation: Validation,
    },
    /// Demo cookie.
    Demo {
        /// HMAC key of the cookie.
        key: Secret,
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
                validation.leeway = 30;
                validation.set_required_spec_claims(&["exp", "sub"]);
                if let Some(iss) = &jwt.issuer {
                    validation.set_issuer(&[iss]);
                }
                match &jwt.audience {
                    Some(aud) => validation.set_audience(&[aud]),
                    None => validation.validate_aud = false,
                }
                Authenticator::Jwt {
                    key: Box::new(key),
                    validation,
                }
            }
            AuthConfig::Demo => Authenticator::Demo {
                key: cookie_key.clone(),
            },
        })
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
                let value = headers
                    .get(name)
                    .ok_or_else(|| AppError::unauthenticated("Sign in through your CRM first."))?;
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
            Authenticator::Jwt { key, validation } => {
                let token = bearer(headers)
                    .ok_or_else(|| AppError::unauthenticated("Missing bearer token."))?;
                let data = jsonwebtoken::decode::<Claims>(token, key, validation).map_err(|e| {
                    tracing::info!(reason = %e, "bearer token refused");
                    AppError::unauthenticated("Invalid or expired token.")
                })?;
                data.claims.sub
            }
            Authenticator::Demo { key } => demo_cookie(headers)
                .and_then(|c| verify_cookie(key, c))
                .ok_or_else(|| AppError::unauthenticated("Pick an agent on the sign-in page."))?,
        };
        normalize_user_id(&raw, instance_id)
            .ok_or_else(|| AppError::unauthenticated("The identity is not a valid CCC user id."))
    }
}

#[derive(serde::Deserialize)]
struct Claims {
    sub: String,
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

/// The demo cookie value for `user_id`: `v1.<b64 user>.<b64 hmac>`.
pub fn sign_cookie(key: &Secret, user_id: &str) -> String {
    let payload = URL_SAFE_NO_PAD.encode(user_id);
    let mut m = mac(key);
    m.update(payload.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(m.finalize().into_bytes());
    format!("v1.{payload}.{sig}")
}

/// The user id in a demo cookie, if its signature is valid.
pub fn verify_cookie(key: &Secret, value: &str) -> Option<String> {
    let mut parts = value.split('.');
    let (v, payload, sig) = (parts.next()?, parts.next()?, parts.next()?);
    if v != "v1" || parts.next().is_some() {
        return None;
    }
    let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
    let mut m = mac(key);
    m.update(payload.as_bytes());
    m.verify_slice(&sig).ok()?;
    String::from_utf8(URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_round_trip_and_refuse_tampering() {
        let key = Secret::new(b"0123456789abcdef0123456789abcdef".to_vec());
        let c = sign_cookie(&key, "agent1@ccc-demo");
        assert_eq!(verify_cookie(&key, &c).as_deref(), Some("agent1@ccc-demo"));
        let forged = c.replace(
            &URL_SAFE_NO_PAD.encode("agent1@ccc-demo"),
            &URL_SAFE_NO_PAD.encode("agent2@ccc-demo"),
        );
        assert_eq!(verify_cookie(&key, &forged), None);
        let other = Secret::new(b"another-key-another-key".to_vec());
        assert_eq!(verify_cookie(&other, &c), None);
        assert_eq!(verify_cookie(&key, "garbage"), None);
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
