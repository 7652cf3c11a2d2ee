//! ICE servers for the softphone: CCC's TURN relays (`GetTurnServerList`)
//! with the agent's TURN credentials (`GetTurnCredentials`), cached for the
//! fleet — in this process, and in Redis when the fleet has one — so a
//! session refresh does not cost two CCC calls.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use ccc_model::api::IceServer;
use serde::{Deserialize, Serialize};

use crate::{
    budget::Priority,
    fleet::Fleet,
    upstream::{now_ms, CallKind, CccClient},
};

/// How long the TURN server list is reused.
const SERVERS_TTL: Duration = Duration::from_secs(600);
/// How long a failed lookup is not retried (the session answers without TURN).
const FAILURE_TTL: Duration = Duration::from_secs(60);
/// TURN credentials are not handed out closer than this to their expiry.
const CREDENTIAL_MARGIN_MS: i64 = 5 * 60 * 1000;
/// Longest a credential is cached when CCC gives no expiry.
const CREDENTIAL_TTL_MAX: Duration = Duration::from_secs(3600);
/// Most TURN servers offered to a browser (each is tried by ICE).
pub const MAX_TURN_SERVERS: usize = 3;
/// Agents whose credentials are cached at once.
const MAX_CREDENTIALS: usize = 20_000;

/// One entry of `GetTurnServerList`'s `Data`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TurnServer {
    /// `cn-shanghai`, ...
    #[serde(default)]
    pub region: String,
    /// A name for people.
    #[serde(default)]
    pub name: String,
    /// `turn-sh-ecs.ccc.aliyuncs.com`.
    #[serde(default)]
    pub domain: String,
}

/// `GetTurnCredentials`' `Data`.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TurnCredentials {
    /// `<expiry-seconds>:<user>` (TURN REST).
    #[serde(default)]
    pub user_name: String,
    /// base64 HMAC of the user name. A secret.
    #[serde(default)]
    pub password: String,
}

impl std::fmt::Debug for TurnCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnCredentials")
            .field("user_name", &self.user_name)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl TurnCredentials {
    /// The expiry in the user name (`<expiry-seconds>:<user>`), epoch ms.
    pub fn expires_at(&self) -> Option<i64> {
        let secs: i64 = self.user_name.split(':').next()?.trim().parse().ok()?;
        secs.checked_mul(1000)
    }
}

/// **Inference** (CCC documents no TURN port or transport, ccc-api.md
/// §10.5): the standard TURN port 3478, over UDP and TCP.
pub fn turn_urls(domain: &str) -> Vec<String> {
    vec![
        format!("turn:{domain}:3478?transport=udp"),
        format!("turn:{domain}:3478?transport=tcp"),
    ]
}

/// The servers of a `GetTurnServerList` `Data`: a JSON string of an array
/// as documented, or the array itself.
pub fn parse_servers(data: &serde_json::Value) -> Result<Vec<TurnServer>, String> {
    let parsed: Vec<TurnServer> = match data {
        serde_json::Value::String(s) => serde_json::from_str(s),
        other => serde_json::from_value(other.clone()),
    }
    .map_err(|e| format!("GetTurnServerList Data is not a server list: {e}"))?;
    Ok(parsed
        .into_iter()
        .filter(|s| valid_domain(&s.domain))
        .collect())
}

fn valid_domain(d: &str) -> bool {
    !d.is_empty()
        && d.len() <= 253
        && d.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

/// `RTCIceServer`s of `servers` with `credentials`.
pub fn ice_servers(servers: &[TurnServer], credentials: &TurnCredentials) -> Vec<IceServer> {
    servers
        .iter()
        .take(MAX_TURN_SERVERS)
        .map(|s| IceServer {
            urls: turn_urls(&s.domain),
            username: Some(credentials.user_name.clone()),
            credential: Some(credentials.password.clone()),
        })
        .collect()
}

#[derive(Debug, Default)]
struct Local {
    servers: Option<(Instant, Option<Vec<TurnServer>>)>,
    credentials: HashMap<String, (Instant, TurnCredentials)>,
}

/// The TURN cache of this process (backed by Redis with a fleet).
#[derive(Debug, Default)]
pub struct TurnCache {
    local: Mutex<Local>,
}

impl TurnCache {
    /// The ICE servers for `user_id` and when their credentials expire
    /// (epoch ms). Any failure is logged and answered with no servers:
    /// the softphone still works where host candidates reach.
    pub async fn for_agent(
        &self,
        client: &CccClient,
        fleet: Option<&Fleet>,
        user_id: &str,
    ) -> (Vec<IceServer>, Option<i64>) {
        let Some(servers) = self.servers(client, fleet).await else {
            return (Vec::new(), None);
        };
        if servers.is_empty() {
            return (Vec::new(), None);
        }
        match self.credentials(client, fleet, user_id).await {
            Some(c) => {
                let expires = c.expires_at();
                (ice_servers(&servers, &c), expires)
            }
            None => (Vec::new(), None),
        }
    }

    async fn servers(&self, client: &CccClient, fleet: Option<&Fleet>) -> Option<Vec<TurnServer>> {
        {
            let local = self.local.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((at, cached)) = &local.servers {
                let ttl = if cached.is_some() {
                    SERVERS_TTL
                } else {
                    FAILURE_TTL
                };
                if at.elapsed() < ttl {
                    return cached.clone();
                }
            }
        }
        let shared = match fleet {
            Some(f) => f
                .cache_get("turn-servers")
                .await
                .and_then(|s| serde_json::from_str::<Vec<TurnServer>>(&s).ok()),
            None => None,
        };
        let fetched = match shared {
            Some(s) => Some(s),
            None => {
                let answer: Result<serde_json::Value, _> = client
                    .call_as(
                        "GetTurnServerList",
                        Vec::new(),
                        CallKind::Read,
                        Priority::Command,
                    )
                    .await;
                let parsed = answer
                    .map_err(|e| e.to_string())
                    .and_then(|d| parse_servers(&d));
                match parsed {
                    Ok(s) => {
                        if let (Some(f), Ok(text)) = (fleet, serde_json::to_string(&s)) {
                            f.cache_put("turn-servers", &text, SERVERS_TTL).await;
                        }
                        Some(s)
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "no TURN servers for the softphone");
                        None
                    }
                }
            }
        };
        let mut local = self.local.lock().unwrap_or_else(PoisonError::into_inner);
        local.servers = Some((Instant::now(), fetched.clone()));
        fetched
    }

    async fn credentials(
        &self,
        client: &CccClient,
        fleet: Option<&Fleet>,
        user_id: &str,
    ) -> Option<TurnCredentials> {
        let now = now_ms();
        let usable = |c: &TurnCredentials| {
            c.expires_at()
                .is_none_or(|e| e - CREDENTIAL_MARGIN_MS > now)
        };
        {
            let local = self.local.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((until, c)) = local.credentials.get(user_id) {
                if Instant::now() < *until && usable(c) {
                    return Some(c.clone());
                }
            }
        }
        let key = format!("turn-credentials:{user_id}");
        let shared = match fleet {
            Some(f) => f
                .cache_get(&key)
                .await
                .and_then(|s| serde_json::from_str::<TurnCredentials>(&s).ok())
                .filter(usable),
            None => None,
        };
        let creds = match shared {
            Some(c) => c,
            None => {
                let params = vec![("UserId".to_owned(), user_id.to_owned())];
                let answer: Result<TurnCredentials, _> = client
                    .call_as(
                        "GetTurnCredentials",
                        params,
                        CallKind::Read,
                        Priority::Command,
                    )
                    .await;
                match answer {
                    Ok(c) if !c.user_name.is_empty() && !c.password.is_empty() && usable(&c) => c,
                    Ok(_) => {
                        tracing::warn!(%user_id, "GetTurnCredentials answered no usable credentials");
                        return None;
                    }
                    Err(e) => {
                        tracing::warn!(%user_id, error = %e, "no TURN credentials for the softphone");
                        return None;
                    }
                }
            }
        };
        let ttl = cache_ttl(&creds, now);
        if let (Some(f), Ok(text)) = (fleet, serde_json::to_string(&creds)) {
            f.cache_put(&key, &text, ttl).await;
        }
        let mut local = self.local.lock().unwrap_or_else(PoisonError::into_inner);
        if local.credentials.len() >= MAX_CREDENTIALS {
            let now = Instant::now();
            local.credentials.retain(|_, (until, _)| *until > now);
            if local.credentials.len() >= MAX_CREDENTIALS {
                local.credentials.clear();
            }
        }
        local
            .credentials
            .insert(user_id.to_owned(), (Instant::now() + ttl, creds.clone()));
        Some(creds)
    }
}

/// How long `creds` may be cached: until the margin before its expiry,
/// at most [`CREDENTIAL_TTL_MAX`].
fn cache_ttl(creds: &TurnCredentials, now: i64) -> Duration {
    match creds.expires_at() {
        Some(e) => {
            let ms = (e - CREDENTIAL_MARGIN_MS - now).max(1000);
            Duration::from_millis(u64::try_from(ms).unwrap_or(1000)).min(CREDENTIAL_TTL_MAX)
        }
        None => CREDENTIAL_TTL_MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_lists_as_documented_or_plain() {
        let doc = serde_json::json!(
            "[{\"region\":\"cn-shanghai\",\"name\":\"sh\",\"domain\":\"turn-sh-ecs.ccc.aliyuncs.com\",\"cidr\":\"1.2.3.0/24\"},{\"domain\":\"bad domain\"}]"
        );
        let s = parse_servers(&doc).unwrap();
        assert_eq!(s.len(), 1, "a domain with a space is dropped");
        assert_eq!(s[0].domain, "turn-sh-ecs.ccc.aliyuncs.com");
        let plain = serde_json::json!([{"domain": "127.0.0.1"}]);
        assert_eq!(parse_servers(&plain).unwrap()[0].domain, "127.0.0.1");
        assert!(parse_servers(&serde_json::json!("nope")).is_err());
    }

    #[test]
    fn ice_servers_carry_the_credentials_and_redact_them() {
        let servers: Vec<TurnServer> = (0..5)
            .map(|i| TurnServer {
                domain: format!("turn{i}.example"),
                ..TurnServer::default()
            })
            .collect();
        let c = TurnCredentials {
            user_name: "1700000000:agent".into(),
            password: "turn-secret".into(),
        };
        let ice = ice_servers(&servers, &c);
        assert_eq!(ice.len(), MAX_TURN_SERVERS);
        assert_eq!(
            ice[0].urls,
            [
                "turn:turn0.example:3478?transport=udp",
                "turn:turn0.example:3478?transport=tcp"
            ]
        );
        assert_eq!(ice[0].credential.as_deref(), Some("turn-secret"));
        assert!(!format!("{c:?} {ice:?}").contains("turn-secret"));
        assert_eq!(c.expires_at(), Some(1_700_000_000_000));
    }

    #[test]
    fn credentials_are_cached_until_the_margin() {
        let c = TurnCredentials {
            user_name: "1000:u".into(),
            password: "p".into(),
        };
        let now = 1_000_000 - CREDENTIAL_MARGIN_MS - 30_000;
        assert_eq!(cache_ttl(&c, now), Duration::from_secs(30));
        assert_eq!(cache_ttl(&c, 2_000_000), Duration::from_secs(1));
        let far = TurnCredentials {
            user_name: "9999999999:u".into(),
            password: "p".into(),
        };
        assert_eq!(cache_ttl(&far, 0), CREDENTIAL_TTL_MAX);
    }
}
