//! The `softphone` block of `GET /api/v1/session` and the inferences it
//! rests on.
//!
//! CCC documents the fields (`SipServerUrl`, `Extension`, `UserKey2`,
//! `Signature2`) but not how a browser registers with them. Every guess is
//! one named function here — **inference H1** (docs/softphone.md,
//! ccc-api.md §10.3): [`ccc_sip_ws_url`], [`sip_domain`],
//! [`h1_credentials`], [`credentials_expire_at`]. To try another
//! hypothesis, change these functions (or point `--sip-upstream` elsewhere).

use ccc_model::{api::SoftphoneSession, LoginDetails, ProxyCode, WorkMode};

use crate::{errors::AppError, state::AppState, upstream::now_ms};

/// The relay's path, below the proxy's root.
pub const WS_PATH: &str = "/api/v1/sip";

/// How long the softphone block is good for when nothing says otherwise;
/// the widget fetches the session again before then.
pub const DEFAULT_LIFETIME_MS: i64 = 10 * 60 * 1000;
/// Never hand out a block that expires sooner than this.
const MIN_LIFETIME_MS: i64 = 60 * 1000;

/// **Inference H1** (`ccc_sip::h1::ws_url`): CCC's SIP server speaks SIP
/// over WebSocket (RFC 7118) at `wss://<SipServerUrl>/` (`SipServerUrl` is
/// `host:port`, no scheme or path, e.g. `sh-sip-ccc.aliyuncs.com:443`).
/// A `SipServerUrl` with its own `ws://`/`wss://` scheme is kept; a bare
/// loopback `host:port` (a simulator on this machine, never CCC) means
/// `ws://`. Clear-text `ws://` is accepted only to a loopback address.
pub fn ccc_sip_ws_url(sip_server_url: &str) -> Result<url::Url, String> {
    let hostport = sip_server_url.trim();
    if hostport.is_empty() || hostport.contains([' ', '@', '?', '#']) {
        return Err(format!("SipServerUrl {hostport:?} is not host:port"));
    }
    let h1 = ccc_sip::h1::ws_url(hostport);
    let url = crate::config::sip::parse_upstream(&h1)
        .map_err(|_| format!("SipServerUrl {hostport:?} is not host:port"))?;
    let bare = !hostport.contains("://");
    if bare && url.scheme() == "wss" && crate::config::sip::is_loopback(&url) {
        let plain = h1.replacen("wss://", "ws://", 1);
        return crate::config::sip::parse_upstream(&plain)
            .map_err(|_| format!("SipServerUrl {hostport:?} is not host:port"));
    }
    Ok(url)
}

/// **Inference H1** (`ccc_sip::h1::domain`): the domain of the agent's AOR
/// (`sip:<Extension>@<domain>`) is the SIP server's host name.
pub fn sip_domain(sip_server_url: &str) -> Option<String> {
    ccc_sip_ws_url(sip_server_url)
        .ok()
        .map(|_| ccc_sip::h1::domain(sip_server_url).to_owned())
        .filter(|d| !d.is_empty())
}

/// **Inference H1**: the digest credentials are `UserKey2` (username) and
/// `Signature2` (password) — the ephemeral-credential scheme of Kamailio's
/// `auth_ephemeral` (password = base64(HMAC-SHA1(secret, username))).
pub fn h1_credentials(details: &LoginDetails) -> Option<(String, String)> {
    let user = details
        .user_key2
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())?;
    let pass = details.signature2.as_deref().filter(|p| !p.is_empty())?;
    let login = ccc_sip::h1::digest_login(user, pass);
    Some((login.username, login.password))
}

/// **Inference H1**: `UserKey2` is `<extension>:<epoch-ms>` and, as in
/// TURN REST credentials, the time is when it expires (a seconds
/// timestamp is read as such: `ccc_sip::h1::timestamp_to_ms`). A time
/// already past (so more likely the issue time) or missing gives
/// [`DEFAULT_LIFETIME_MS`] from `now`.
pub fn credentials_expire_at(user_key2: &str, now: i64) -> i64 {
    let stamp = user_key2
        .rsplit(':')
        .next()
        .and_then(|t| t.trim().parse::<u64>().ok())
        .and_then(|t| i64::try_from(ccc_sip::h1::timestamp_to_ms(t)).ok());
    match stamp {
        Some(t) if t > now + MIN_LIFETIME_MS => t,
        _ => now + DEFAULT_LIFETIME_MS,
    }
}

/// The agent's AOR, `sip:<extension>@<domain>` (`ccc_sip::h1::aor`).
pub fn aor(extension: &str, domain: &str) -> String {
    ccc_sip::h1::aor(extension, domain)
}

/// Where the relay connects for an agent with these login details:
/// `--sip-upstream`, else [`ccc_sip_ws_url`] of `SipServerUrl`.
pub fn upstream_url(state: &AppState, details: &LoginDetails) -> Result<url::Url, AppError> {
    if let Some(u) = &state.config.sip.upstream {
        return Ok(u.clone());
    }
    let server = details.sip_server_url.as_deref().unwrap_or_default();
    ccc_sip_ws_url(server).map_err(|e| {
        tracing::warn!(error = %e, "no SIP server for the relay");
        AppError::invalid(
            ProxyCode::NoSipServer,
            "CCC named no SIP server for this agent.",
        )
    })
}

/// `GetLoginDetails` for `user_id`, through the session cache.
pub async fn login_details(state: &AppState, user_id: &str) -> Result<LoginDetails, AppError> {
    if let Some(d) = state.sessions.get(user_id) {
        state.metrics.session_cache("hit");
        return Ok(d);
    }
    state.metrics.session_cache("miss");
    let d = state.client.get_login_details(user_id).await?;
    state.sessions.insert(user_id, d.clone());
    Ok(d)
}

/// Whether the relay serves this agent: on, ON_SITE, with an extension.
pub fn serves(state: &AppState, details: &LoginDetails) -> bool {
    state.config.sip.enabled
        && details.work_mode == Some(WorkMode::OnSite)
        && !details.extension.trim().is_empty()
}

/// The `softphone` block for the agent (`None` unless [`serves`], or when
/// CCC gave no SIP credentials).
pub async fn softphone(
    state: &AppState,
    user_id: &str,
    details: &LoginDetails,
    display_name: &str,
) -> Option<SoftphoneSession> {
    if !serves(state, details) {
        return None;
    }
    let Some((username, password)) = h1_credentials(details) else {
        tracing::warn!(%user_id, "GetLoginDetails has no UserKey2/Signature2: no softphone");
        return None;
    };
    let server = details.sip_server_url.as_deref().unwrap_or_default();
    let domain = sip_domain(server).or_else(|| {
        state
            .config
            .sip
            .upstream
            .as_ref()
            .and_then(|u| u.host_str().map(str::to_owned))
    })?;
    let now = now_ms();
    let (ice_servers, turn_expiry) = state
        .sip
        .turn
        .for_agent(&state.client, state.fleet.as_ref(), user_id)
        .await;
    let mut expires_at = credentials_expire_at(&username, now);
    if let Some(t) = turn_expiry.filter(|t| *t > now + MIN_LIFETIME_MS) {
        expires_at = expires_at.min(t);
    }
    Some(SoftphoneSession {
        ws_path: WS_PATH.to_owned(),
        aor: aor(details.extension.trim(), &domain),
        display_name: display_name.to_owned(),
        auth_username: username,
        auth_password: password,
        expires_at,
        ice_servers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h1_url_and_domain() {
        assert_eq!(
            ccc_sip_ws_url("sh-sip-ccc.aliyuncs.com:443")
                .unwrap()
                .as_str(),
            "wss://sh-sip-ccc.aliyuncs.com/"
        );
        assert_eq!(
            ccc_sip_ws_url("sip.example:9443").unwrap().as_str(),
            "wss://sip.example:9443/"
        );
        assert_eq!(
            sip_domain("sh-sip-ccc.aliyuncs.com:443").as_deref(),
            Some("sh-sip-ccc.aliyuncs.com")
        );
        assert_eq!(
            ccc_sip_ws_url("ws://127.0.0.1:5066/").unwrap().as_str(),
            "ws://127.0.0.1:5066/"
        );
        for bad in ["", "a b", "user@host", "ws://10.1.2.3:80/"] {
            assert!(ccc_sip_ws_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn h1_credentials_are_userkey2_and_signature2() {
        let mut d = LoginDetails {
            user_key2: Some("802001:1656406628862".into()),
            signature2: Some("c2lnbmF0dXJl".into()),
            ..LoginDetails::default()
        };
        assert_eq!(
            h1_credentials(&d),
            Some(("802001:1656406628862".into(), "c2lnbmF0dXJl".into()))
        );
        assert!(
            !format!("{d:?}").contains("c2lnbmF0dXJl"),
            "Debug redacts Signature2"
        );
        d.signature2 = None;
        assert_eq!(h1_credentials(&d), None);
    }

    #[test]
    fn expiry_from_userkey2() {
        let now = 1_700_000_000_000;
        assert_eq!(
            credentials_expire_at("8001:1700000900000", now),
            1_700_000_900_000
        );
        // In the past or too close: the default lifetime.
        assert_eq!(
            credentials_expire_at("8001:1656406628862", now),
            now + DEFAULT_LIFETIME_MS
        );
        assert_eq!(
            credentials_expire_at("8001:1700000010000", now),
            now + DEFAULT_LIFETIME_MS
        );
        // Seconds, as stock Kamailio auth_ephemeral needs.
        assert_eq!(
            credentials_expire_at("8001:1700000900", now),
            1_700_000_900_000
        );
        assert_eq!(
            credentials_expire_at("garbage", now),
            now + DEFAULT_LIFETIME_MS
        );
        assert_eq!(aor("8001", "ccc.example"), "sip:8001@ccc.example");
    }
}
