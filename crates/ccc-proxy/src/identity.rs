//! Who the agent is: never the browser's say. Three modes:
//! a trusted SSO header (believed only from trusted peers), a bearer JWT
//! (`sub` = CCC `UserId`, HS256 or RS256, `exp` enforced), or the demo
//! sign-in cookie (HMAC-signed, HttpOnly, SameSite=Strict).

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{header, request::Parts, HeaderMap, HeaderName},
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use sha2::Sha256;

use crate::{
    config::{AuthConfig, JwtKey, Secret},
    errors::AppError,
    state::AppState,
};

/// Name of the demo sign-in cookie.
pub const DEMO_COOKIE: &str = "ccc_demo_agent";

/// Peers (IP networks) whose identity header is believed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedPeers(Vec<(IpAddr, u8)>);

impl TrustedPeers {
    /// Parses `127.0.0.1/8,::1,10.0.0.5`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (ip, len) = match item.split_once('/') {
                Some((ip, len)) => (ip, Some(len)),
                None => (item, None),
            };
            let ip: IpAddr = ip
                .parse()
                .map_err(|_| format!("--trusted-proxies: {item:?} is not an IP or CIDR"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let len = match len {
                Some(l) => l
                    .parse::<u8>()
                    .ok()
                    .filter(|l| *l <= max)
                    .ok_or_else(|| format!("--trusted-proxies: bad prefix in {item:?}"))?,
                None => max,
            };
            nets.push((ip, len));
        }
        Ok(TrustedPeers(nets))
    }

    /// True when `peer` lies in one of the networks.
    pub fn contains(&self, peer: IpAddr) -> bool {
        let peer = match peer {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
            v4 => v4,
        };
        self.0.iter().any(|(net, len)| match (net, peer) {
            (IpAddr::V4(n), IpAddr::V4(p)) => prefix_eq(&n.octets(), &p.octets(), *len),
            (IpAddr::V6(n), IpAddr::V6(p)) => prefix_eq(&n.octets(), &p.octets(), *len),
            _ => false,
        })
    }
}

fn prefix_eq(a: &[u8], b: &[u8], len: u8) -> bool {
    let len = usize::from(len);
    let (full, rest) = (len / 8, len % 8);
    if a[..full] != b[..full] {
        return false;
    }
    rest == 0 || {
        let mask = 0xffu8 << (8 - rest);
        a[full] & mask == b[full] & mask
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

/// The authenticated agent of a request (extractor; 401 when unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentAgent {
    /// CCC `UserId`, `name@instance`.
    pub user_id: String,
}

impl FromRequestParts<AppState> for CurrentAgent {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        // Also honours `MockConnectInfo` in tests.
        let peer = ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
            .await
            .ok()
            .map(|c| c.0);
        let user_id = state
            .auth
            .user_id(&parts.headers, peer, state.client.instance_id())?;
        if let Some(agents) = &state.demo_agents {
            if !agents.iter().any(|a| a.user_id == user_id) {
                return Err(AppError::unauthenticated(
                    "Pick an agent on the sign-in page.",
                ));
            }
        }
        Ok(CurrentAgent { user_id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_peers_match_networks() {
        let t = TrustedPeers::parse("127.0.0.1/8, ::1, 10.1.2.0/23").unwrap();
        assert!(t.contains("127.9.9.9".parse().unwrap()));
        assert!(t.contains("::1".parse().unwrap()));
        assert!(t.contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(t.contains("10.1.3.200".parse().unwrap()));
        assert!(!t.contains("10.1.4.1".parse().unwrap()));
        assert!(!t.contains("192.168.1.1".parse().unwrap()));
        assert!(TrustedPeers::parse("nope").is_err());
        assert!(TrustedPeers::parse("10.0.0.0/33").is_err());
    }

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
