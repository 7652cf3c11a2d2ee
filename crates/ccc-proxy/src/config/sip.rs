//! The relay's flags ([`SipArgs`], flattened into [`crate::config::Args`])
//! and its validated [`SipConfig`].

use std::time::Duration;

use clap::Args as ClapArgs;

/// Flags of the SIP-over-WebSocket relay (`GET /api/v1/sip`).
#[derive(Debug, Clone, ClapArgs)]
pub struct SipArgs {
    /// Offer the browser softphone to ON_SITE agents: the `softphone` block
    /// of `GET /api/v1/session` and the relay at `/api/v1/sip`. On by
    /// default with --demo; --sip-upstream turns it on too.
    #[arg(long = "sip-relay", env = "CCC_SIP_RELAY")]
    pub sip_relay: bool,
    /// The SIP server the relay connects to, instead of the one CCC names
    /// (`wss://<SipServerUrl>/`, an inference). `ws://` only on loopback.
    #[arg(long = "sip-upstream", env = "CCC_SIP_UPSTREAM")]
    pub sip_upstream: Option<String>,
    /// Largest SIP message (WebSocket message) relayed either way, bytes.
    #[arg(
        long = "sip-max-message-bytes",
        env = "CCC_SIP_MAX_MESSAGE_BYTES",
        default_value_t = 65536
    )]
    pub sip_max_message_bytes: usize,
    /// A relay with no SIP message either way for this long is closed.
    #[arg(
        long = "sip-idle-secs",
        env = "CCC_SIP_IDLE_SECS",
        default_value_t = 120
    )]
    pub sip_idle_secs: u64,
    /// SIP requests a browser may send per minute (token bucket refill).
    #[arg(
        long = "sip-rate-per-minute",
        env = "CCC_SIP_RATE_PER_MINUTE",
        default_value_t = 120
    )]
    pub sip_rate_per_minute: u32,
    /// SIP requests a browser may send at once (token bucket size).
    #[arg(
        long = "sip-rate-burst",
        env = "CCC_SIP_RATE_BURST",
        default_value_t = 30
    )]
    pub sip_rate_burst: u32,
    /// Relay sockets one agent may hold at once (over all its devices).
    #[arg(
        long = "sip-sockets-per-agent",
        env = "CCC_SIP_SOCKETS_PER_AGENT",
        default_value_t = 3
    )]
    pub sip_sockets_per_agent: usize,
}

/// The validated relay configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipConfig {
    /// Whether the softphone is offered at all.
    pub enabled: bool,
    /// The fixed upstream (`--sip-upstream`), else CCC's `SipServerUrl`.
    pub upstream: Option<url::Url>,
    /// Largest relayed message, bytes.
    pub max_message_bytes: usize,
    /// Idle time after which a relay closes.
    pub idle: Duration,
    /// Browser SIP requests per minute.
    pub rate_per_minute: u32,
    /// Browser SIP requests at once.
    pub rate_burst: u32,
    /// Relay sockets per agent.
    pub sockets_per_agent: usize,
}

impl Default for SipConfig {
    fn default() -> Self {
        SipConfig {
            enabled: false,
            upstream: None,
            max_message_bytes: 65536,
            idle: Duration::from_secs(120),
            rate_per_minute: 120,
            rate_burst: 30,
            sockets_per_agent: 3,
        }
    }
}

impl SipConfig {
    /// Validates the relay flags (`demo`: the relay is on by default).
    pub fn from_args(args: &SipArgs, demo: bool) -> Result<Self, String> {
        let upstream = args
            .sip_upstream
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(parse_upstream)
            .transpose()?;
        if !(512..=1 << 20).contains(&args.sip_max_message_bytes) {
            return Err("--sip-max-message-bytes must be 512 to 1048576".into());
        }
        if args.sip_rate_per_minute == 0 || args.sip_rate_burst == 0 {
            return Err("--sip-rate-per-minute and --sip-rate-burst must be at least 1".into());
        }
        Ok(SipConfig {
            enabled: args.sip_relay || demo || upstream.is_some(),
            upstream,
            max_message_bytes: args.sip_max_message_bytes,
            idle: Duration::from_secs(args.sip_idle_secs.max(1)),
            rate_per_minute: args.sip_rate_per_minute,
            rate_burst: args.sip_rate_burst,
            sockets_per_agent: args.sip_sockets_per_agent.max(1),
        })
    }
}

/// Whether `url` names this machine (127.0.0.0/8, ::1, `localhost`).
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// `wss://` anywhere; `ws://` only to a loopback address (tests, a local
/// Kamailio), so SIP credentials never cross a network in clear text.
pub fn parse_upstream(text: &str) -> Result<url::Url, String> {
    let url =
        url::Url::parse(text).map_err(|e| format!("--sip-upstream {text:?} is not a URL: {e}"))?;
    if url.host().is_none() {
        return Err(format!("--sip-upstream {text:?} has no host"));
    }
    let loopback = is_loopback(&url);
    match url.scheme() {
        "wss" => Ok(url),
        "ws" if loopback => Ok(url),
        "ws" => Err(format!(
            "--sip-upstream {text:?}: ws:// is only allowed to a loopback address; use wss://"
        )),
        other => Err(format!(
            "--sip-upstream {text:?}: the scheme must be wss (or ws on loopback), not {other}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_schemes() {
        assert!(parse_upstream("wss://sip.example.com/").is_ok());
        assert!(parse_upstream("ws://127.0.0.1:5066/").is_ok());
        assert!(parse_upstream("ws://[::1]:5066").is_ok());
        assert!(parse_upstream("ws://localhost:5066").is_ok());
        for bad in [
            "ws://10.0.0.1:5066/",
            "http://127.0.0.1/",
            "sip.example.com",
            "wss://",
        ] {
            assert!(parse_upstream(bad).is_err(), "{bad}");
        }
    }
}
