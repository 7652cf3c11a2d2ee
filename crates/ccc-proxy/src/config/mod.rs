//! Command-line flags (with environment fallbacks) and the validated
//! [`Config`] the proxy runs with. Secrets never appear in `Debug` output.
//!
//! Here: [`Config`] and the small types it holds, built from the flags by
//! [`Config::from_args`]. Beside it: `flags` (the clap [`Args`]), `secret`
//! ([`Secret`], secret and key files), `peers` ([`TrustedPeers`], CIDR
//! lists), `auth` ([`AuthConfig`], JWT key loading) and `dial`
//! ([`DialPolicy`]).

use std::{
    fmt,
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    time::Duration,
};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use ccc_model::{
    api::{BreakReason, PresencePolicy},
    dial::DialNumber,
    signing::AccessKey,
    WorkMode,
};
use clap::{builder::TypedValueParser as _, Parser, ValueEnum};

mod auth;
mod dial;
mod flags;
mod peers;
mod secret;
pub mod sip;
pub mod transfer;

pub use auth::{AuthConfig, JwtConfig, JwtKey};
pub use dial::{DialPolicy, DialRefusal, DEFAULT_DIAL_DENY};
pub use flags::{
    Args, AuthKind, LogFormat, DEFAULT_ENDPOINT, ENV_KEY_ID, ENV_KEY_SECRET, ENV_SECURITY_TOKEN,
};
pub use peers::TrustedPeers;
pub use secret::Secret;

use auth::jwt_config;
use secret::{load_or_create_key, read_trimmed};

/// Where CCC is and how to sign for it.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// Base URL, e.g. `https://ccc.cn-shanghai.aliyuncs.com`.
    pub endpoint: String,
    /// The key pair requests are signed with.
    pub access_key: AccessKey,
    /// Per-call timeout.
    pub timeout: Duration,
}

/// Replicas coordinated through Redis.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `redis://` URL (may hold a password).
    pub url: Secret,
    /// Key and channel prefix.
    pub prefix: String,
    /// Agent lease lifetime.
    pub lease_ttl: Duration,
}

/// What the proxy does when an agent's last toolbar went away (presence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceConfig {
    /// The action.
    pub policy: PresencePolicy,
    /// How long no long-poll may be in flight before it acts.
    pub grace: Duration,
    /// The break code of [`PresencePolicy::Break`].
    pub break_code: String,
}

impl PresenceConfig {
    /// Validates the presence flags; `demo` picks the default policy.
    fn from_args(args: &Args) -> Result<Self, ConfigError> {
        let policy = args.presence_policy.unwrap_or(if args.demo {
            PresencePolicy::Break
        } else {
            PresencePolicy::None
        });
        if args.presence_grace_secs == 0 {
            return Err(ConfigError::Invalid(
                "--presence-grace-secs must be at least 1".into(),
            ));
        }
        let break_code = args.presence_break_code.trim().to_owned();
        if break_code.is_empty() || break_code.len() > 64 || break_code.contains(',') {
            return Err(ConfigError::Invalid(format!(
                "--presence-break-code {:?} must be 1 to 64 bytes without a comma",
                args.presence_break_code
            )));
        }
        Ok(PresenceConfig {
            policy,
            grace: Duration::from_secs(args.presence_grace_secs),
            break_code,
        })
    }
}

/// Everything the proxy needs to run. `Debug` is safe to log.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address.
    pub listen: SocketAddr,
    /// Start the simulator in-process.
    pub demo: bool,
    /// Seconds between simulated calls in demo mode (`None`: none).
    pub demo_calls_secs: Option<u64>,
    /// CCC endpoint and credentials (replaced by the simulator's in demo mode).
    pub upstream: UpstreamConfig,
    /// CCC instance id.
    pub instance_id: String,
    /// Agent identification.
    pub auth: AuthConfig,
    /// Key signing the demo cookie.
    pub cookie_key: Secret,
    /// Allowed break codes.
    pub break_codes: Vec<String>,
    /// Display names of the break codes that have them (`Session.break_reasons`).
    pub break_reasons: Vec<BreakReason>,
    /// Allowed work modes.
    pub work_modes: Vec<WorkMode>,
    /// What agents may dial and present.
    pub dial: DialPolicy,
    /// How many calls an agent may place.
    pub dial_limits: crate::ratelimit::DialLimits,
    /// Built widget directory.
    pub static_dir: PathBuf,
    /// CSP `frame-ancestors` value.
    pub frame_ancestors: String,
    /// Poll loop interval.
    pub poll_interval: Duration,
    /// Poll loop idle shutdown.
    pub poll_idle: Duration,
    /// Sustained state changes per agent per minute.
    pub rate_limit_per_minute: u32,
    /// Burst of state changes per agent.
    pub rate_limit_burst: u32,
    /// Webhook delivery secret (events on).
    pub events_token: Option<Secret>,
    /// Reconciliation sweep period.
    pub reconcile: Duration,
    /// Fleet-wide CCC calls per second.
    pub upstream_qps: f64,
    /// Replicas through Redis.
    pub redis: Option<RedisConfig>,
    /// Presence: the policy for agents without an open toolbar.
    pub presence: PresenceConfig,
    /// Origins browsers reach the proxy at (`scheme://host[:port]`), as
    /// given; empty means "the listen address" (see [`Config::public_origins`]).
    pub public_origins: Vec<String>,
    /// Connection limits and timeouts.
    pub limits: Limits,
    /// Sustained reads per agent per minute.
    pub read_rate_limit_per_minute: u32,
    /// Burst of reads per agent.
    pub read_rate_limit_burst: u32,
    /// How long a session answer is reused.
    pub session_cache: Duration,
    /// Log format.
    pub log_format: LogFormat,
    /// The browser softphone's SIP relay.
    pub sip: sip::SipConfig,
    /// Issue 18: skill groups, quick connects, directory, keypad.
    pub transfer: transfer::TransferConfig,
}

/// Connection and long-poll limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Complete request headers must arrive within this.
    pub header_read_timeout: Duration,
    /// Idle keep-alive connections close after this.
    pub idle_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
    /// Most long-polls waiting per device.
    pub longpolls_per_device: usize,
    /// Most long-polls waiting per agent.
    pub longpolls_per_agent: usize,
}

/// A configuration that cannot run.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Required environment variables are missing.
    #[error("missing environment variable(s): {0} (set them, or run with --demo)")]
    MissingEnv(String),
    /// A flag has a bad value.
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// Validates `args`, reading credentials through `env` (a lookup such as
    /// `|k| std::env::var(k).ok()`).
    pub fn from_args(
        args: Args,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let invalid = |m: String| ConfigError::Invalid(m);
        let auth_kind = match (args.demo, args.auth) {
            (true, None) | (true, Some(AuthKind::Demo)) => AuthKind::Demo,
            (true, Some(k)) => k,
            // `--auth demo` against an external simulator is fine for a
            // caller that supplies the agents (`AppState::new`); `run` needs `--demo`.
            (false, Some(k)) => k,
            (false, None) => AuthKind::Header,
        };
        let access_key = if args.demo {
            // Replaced by the simulator's key pair once it has started.
            AccessKey::new("", "")
        } else {
            let id = env(ENV_KEY_ID).filter(|v| !v.is_empty());
            let secret = env(ENV_KEY_SECRET).filter(|v| !v.is_empty());
            match (id, secret) {
                (Some(id), Some(secret)) => {
                    let key = AccessKey::new(id, secret);
                    match env(ENV_SECURITY_TOKEN).filter(|v| !v.is_empty()) {
                        Some(t) => key.with_security_token(t),
                        None => key,
                    }
                }
                (id, secret) => {
                    let missing: Vec<&str> = [
                        (ENV_KEY_ID, id.is_none()),
                        (ENV_KEY_SECRET, secret.is_none()),
                    ]
                    .into_iter()
                    .filter_map(|(n, m)| m.then_some(n))
                    .collect();
                    return Err(ConfigError::MissingEnv(missing.join(", ")));
                }
            }
        };
        let instance_id = match (&args.instance_id, args.demo) {
            (Some(i), _) if !i.trim().is_empty() => i.trim().to_owned(),
            (_, true) => "ccc-demo".to_owned(),
            _ => {
                return Err(ConfigError::MissingEnv(
                    "CCC_INSTANCE_ID (or --instance-id)".into(),
                ))
            }
        };
        url::Url::parse(&args.endpoint)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| {
                invalid(format!(
                    "--endpoint {:?} is not an http(s) URL",
                    args.endpoint
                ))
            })?;
        let auth = match auth_kind {
            AuthKind::Demo => AuthConfig::Demo,
            AuthKind::Header => {
                axum::http::HeaderName::try_from(args.auth_header.as_str()).map_err(|_| {
                    invalid(format!(
                        "--auth-header {:?} is not a header name",
                        args.auth_header
                    ))
                })?;
                AuthConfig::Header {
                    name: args.auth_header.to_ascii_lowercase(),
                    trusted: TrustedPeers::parse(&args.trusted_proxies).map_err(invalid)?,
                }
            }
            AuthKind::Jwt => AuthConfig::Jwt(jwt_config(&args)?),
        };
        let random_key = || Secret::new(rand::random::<[u8; 32]>().to_vec());
        let default_key_file = || {
            let state_dir = env("XDG_STATE_HOME")
                .filter(|d| !d.is_empty())
                .map(PathBuf::from)
                .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
            (auth_kind == AuthKind::Demo).then(|| state_dir.join("ccc-proxy/demo-cookie.key"))
        };
        let cookie_key = match (&args.cookie_key_file, default_key_file()) {
            // A file the operator named must work.
            (Some(p), _) => load_or_create_key(p)?,
            // The default place is a convenience: a read-only home must not
            // stop `make run`, it only costs sign-ins across restarts.
            (None, Some(p)) => load_or_create_key(&p).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "demo cookie key not kept: sign-ins end at restart");
                random_key()
            }),
            (None, None) => random_key(),
        };
        let limits = Limits {
            header_read_timeout: Duration::from_secs(args.header_read_timeout_secs.max(1)),
            idle_timeout: Duration::from_secs(args.idle_timeout_secs.max(1)),
            max_connections: args.max_connections.max(1),
            longpolls_per_device: args.longpolls_per_device.max(1),
            longpolls_per_agent: args.longpolls_per_agent.max(1),
        };
        if args.read_rate_limit_per_minute == 0 || args.read_rate_limit_burst == 0 {
            return Err(invalid("read rate limits must be at least 1".into()));
        }
        let public_origins = public_origins(&args.public_origins).map_err(invalid)?;
        let dial = DialPolicy::new(&args.caller_ids, args.dial_pattern.as_deref())
            .and_then(|d| {
                d.with_deny(Some(
                    args.dial_deny_pattern
                        .as_deref()
                        .unwrap_or(DEFAULT_DIAL_DENY),
                ))
            })
            .map_err(invalid)?;
        // A favourite number obeys the dial rules like a typed one.
        let transfer = transfer::TransferConfig::from_args(&args.transfer, |n| {
            let number = DialNumber::parse(n).map_err(|e| format!("{n:?}: {e}"))?;
            dial.check(&number, None).map(|_| ()).map_err(|_| {
                format!("{n} may not be dialled (--dial-pattern, --dial-deny-pattern)")
            })
        })
        .map_err(invalid)?;
        let (break_codes, mut break_reasons) = parse_break_codes(&args.break_codes)
            .map_err(|e| invalid(format!("--break-codes: {e}")))?;
        if break_codes.iter().any(|c| c.len() > 64) {
            return Err(invalid(
                "--break-codes: each code must be at most 64 bytes".into(),
            ));
        }
        let work_modes: Vec<WorkMode> = split_list(&args.work_modes)
            .iter()
            .map(|m| WorkMode::parse(m))
            .collect();
        if let Some(bad) = work_modes.iter().find(|m| !m.is_known()) {
            return Err(invalid(format!("--work-modes: unknown work mode {bad}")));
        }
        if args.dial_limit_per_minute == 0 || args.dial_limit_per_hour == 0 {
            return Err(invalid("dial limits must be at least 1".into()));
        }
        if args.rate_limit_per_minute == 0 || args.rate_limit_burst == 0 {
            return Err(invalid("rate limits must be at least 1".into()));
        }
        if args
            .events_token
            .as_ref()
            .is_some_and(|t| t.expose().len() < 16)
        {
            return Err(invalid("--events-token needs at least 16 bytes".into()));
        }
        if !(args.upstream_qps.is_finite() && args.upstream_qps >= 0.1) {
            return Err(invalid("--upstream-qps must be at least 0.1".into()));
        }
        let redis = match &args.redis_url {
            Some(url) => {
                let text = std::str::from_utf8(url.expose()).unwrap_or_default();
                if !(text.starts_with("redis://") || text.starts_with("rediss://")) {
                    return Err(invalid(
                        "--redis-url must be a redis:// or rediss:// URL".into(),
                    ));
                }
                Some(RedisConfig {
                    url: url.clone(),
                    prefix: args.redis_prefix.clone(),
                    lease_ttl: Duration::from_millis(args.lease_ttl_ms.max(300)),
                })
            }
            None => None,
        };
        let presence = PresenceConfig::from_args(&args)?;
        let mut break_codes = break_codes;
        if presence.policy == PresencePolicy::Break && !break_codes.contains(&presence.break_code) {
            // Offered, so the toolbar can show it and the agent may pick it.
            break_codes.push(presence.break_code.clone());
            if presence.break_code == DEFAULT_PRESENCE_BREAK_CODE {
                break_reasons.push(BreakReason {
                    code: presence.break_code.clone(),
                    en: Some("Away".into()),
                    zh_cn: Some("离开".into()),
                });
            }
        }
        Ok(Config {
            listen: args.listen,
            demo: args.demo,
            demo_calls_secs: (args.demo_calls_secs > 0).then_some(args.demo_calls_secs),
            upstream: UpstreamConfig {
                endpoint: args.endpoint.trim_end_matches('/').to_owned(),
                access_key,
                timeout: Duration::from_millis(args.upstream_timeout_ms.max(1)),
            },
            instance_id,
            auth,
            cookie_key,
            break_codes,
            break_reasons,
            work_modes,
            dial,
            dial_limits: crate::ratelimit::DialLimits {
                per_minute: args.dial_limit_per_minute,
                per_hour: args.dial_limit_per_hour,
            },
            static_dir: args.static_dir,
            frame_ancestors: args.frame_ancestors,
            poll_interval: Duration::from_millis(args.poll_interval_ms.max(50)),
            poll_idle: Duration::from_secs(args.poll_idle_secs),
            rate_limit_per_minute: args.rate_limit_per_minute,
            rate_limit_burst: args.rate_limit_burst,
            events_token: args.events_token,
            reconcile: Duration::from_secs(args.reconcile_secs.max(1)),
            upstream_qps: args.upstream_qps,
            redis,
            presence,
            public_origins,
            limits,
            read_rate_limit_per_minute: args.read_rate_limit_per_minute,
            read_rate_limit_burst: args.read_rate_limit_burst,
            session_cache: Duration::from_secs(args.session_cache_secs),
            log_format: args.log_format,
            sip: sip::SipConfig::from_args(&args.sip, args.demo).map_err(invalid)?,
            transfer,
        })
    }
}

impl Config {
    /// The origins browsers reach the proxy at: `--public-origin`, or else
    /// the listen address (plus `localhost` for a loopback or unspecified
    /// one). Set `listen` to the bound address first when it had port 0.
    pub fn public_origins(&self) -> Vec<String> {
        if self.public_origins.is_empty() {
            default_origins(self.listen)
        } else {
            self.public_origins.clone()
        }
    }
}

/// `--public-origin` values normalised to `scheme://host[:port]`.
fn public_origins(given: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for raw in given.iter().map(|o| o.trim()).filter(|o| !o.is_empty()) {
        let url = url::Url::parse(raw)
            .ok()
            .filter(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host_str().is_some()
                    && matches!(u.path(), "" | "/")
                    && u.query().is_none()
                    && u.username().is_empty()
            })
            .ok_or_else(|| {
                format!("--public-origin {raw:?} must look like https://crm.example.com[:port]")
            })?;
        let origin = url.origin().ascii_serialization();
        if !out.contains(&origin) {
            out.push(origin);
        }
    }
    Ok(out)
}

fn default_origins(listen: SocketAddr) -> Vec<String> {
    let port = listen.port();
    let ip = listen.ip();
    let mut out = vec![if ip.is_unspecified() {
        format!("http://127.0.0.1:{port}")
    } else if ip.is_ipv6() {
        format!("http://[{ip}]:{port}")
    } else {
        format!("http://{ip}:{port}")
    }];
    if ip.is_loopback() || ip.is_unspecified() {
        out.push(format!("http://localhost:{port}"));
    }
    out
}

/// Parses `--break-codes`: `code[=English[|中文]]`, comma-separated, in
/// display order (today's plain `lunch,meeting` still works). Returns the
/// codes and the display names of those that have some; a repeated code
/// keeps its first entry.
pub fn parse_break_codes(s: &str) -> Result<(Vec<String>, Vec<BreakReason>), String> {
    let mut codes: Vec<String> = Vec::new();
    let mut reasons = Vec::new();
    for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (code, names) = match item.split_once('=') {
            Some((c, n)) => (c.trim(), Some(n)),
            None => (item, None),
        };
        if code.is_empty() {
            return Err(format!("{item:?} has no code before `=`"));
        }
        if code.len() > 64 || code.contains('|') {
            return Err(format!(
                "code {code:?} must be at most 64 bytes, without `|`"
            ));
        }
        if codes.iter().any(|c| c == code) {
            continue;
        }
        codes.push(code.to_owned());
        let Some(names) = names else { continue };
        let (en, zh) = match names.split_once('|') {
            Some((en, zh)) => (en, Some(zh)),
            None => (names, None),
        };
        let name = |n: &str| -> Result<Option<String>, String> {
            let n = n.trim();
            if n.contains(['|', '=']) || n.chars().count() > 64 {
                return Err(format!(
                    "the names of {code:?} must be `English|中文`, each at most 64 characters"
                ));
            }
            Ok((!n.is_empty()).then(|| n.to_owned()))
        };
        let (en, zh_cn) = (name(en)?, zh.map(name).transpose()?.flatten());
        if en.is_some() || zh_cn.is_some() {
            reasons.push(BreakReason {
                code: code.to_owned(),
                en,
                zh_cn,
            });
        }
    }
    Ok((codes, reasons))
}

/// `--presence-break-code`'s default, offered as "Away" / "离开".
pub const DEFAULT_PRESENCE_BREAK_CODE: &str = "away";

fn split_list(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        if !out.iter().any(|o| o == item) {
            out.push(item.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn break_codes_carry_display_names_and_plain_lists_still_work() {
        let (codes, reasons) =
            parse_break_codes("lunch=Lunch|午餐, meeting=Meeting|会议 ,default,lunch=Again")
                .unwrap();
        assert_eq!(codes, ["lunch", "meeting", "default"]);
        assert_eq!(reasons.len(), 2, "a code without names has no entry");
        assert_eq!(reasons[0].label("zh-CN"), "午餐");
        assert_eq!(reasons[1].label("en"), "Meeting");
        let (codes, reasons) = parse_break_codes("default,lunch,meeting").unwrap();
        assert_eq!(codes, ["default", "lunch", "meeting"]);
        assert!(reasons.is_empty());
        // English only, Chinese only.
        let (_, reasons) = parse_break_codes("a=Away,b=|休息").unwrap();
        assert_eq!(reasons[0].label("zh-CN"), "Away", "falls back to English");
        assert_eq!(reasons[1].label("zh-CN"), "休息");
        assert_eq!(reasons[1].en, None);
        for bad in ["=Lunch", "lu|nch=Lunch", "lunch=A|B|C", "x=a=b"] {
            assert!(parse_break_codes(bad).is_err(), "{bad}");
        }
        assert!(parse_break_codes(&"x".repeat(65)).is_err());
    }

    #[test]
    fn public_origins_default_to_the_listen_address() {
        let listen: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        assert_eq!(
            default_origins(listen),
            ["http://127.0.0.1:8080", "http://localhost:8080"]
        );
        assert_eq!(
            default_origins("10.0.0.6:80".parse().unwrap()),
            ["http://10.0.0.6:80"]
        );
        let given = [
            "https://CRM.example.com/".to_owned(),
            "http://a.example:81".to_owned(),
        ];
        assert_eq!(
            public_origins(&given).unwrap(),
            ["https://crm.example.com", "http://a.example:81"]
        );
        for bad in [
            "crm.example.com",
            "ftp://x",
            "https://x/path",
            "https://u@x",
        ] {
            assert!(public_origins(&[bad.to_owned()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_unwritable_home_does_not_stop_the_demo() {
        let args = Args::try_parse_from(["ccc-proxy", "--demo"]).unwrap();
        let home = |k: &str| (k == "HOME").then(|| "/proc/ccc-proxy-no-home".to_owned());
        assert!(Config::from_args(args, home).is_ok());
        let named = Args::try_parse_from([
            "ccc-proxy",
            "--demo",
            "--cookie-key-file",
            "/proc/ccc-proxy-no-home/key",
        ])
        .unwrap();
        assert!(
            Config::from_args(named, |_| None).is_err(),
            "a file the operator named must work"
        );
    }

    #[test]
    fn cookie_key_file_is_created_once_with_mode_0600() {
        let dir = std::env::temp_dir().join(format!("ccc-proxy-key-{}", rand::random::<u64>()));
        let path = dir.join("nested/demo-cookie.key");
        let first = load_or_create_key(&path).unwrap();
        let second = load_or_create_key(&path).unwrap();
        assert_eq!(first, second, "a restart reuses the key");
        assert!(first.expose().len() >= 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn dial_policy_from_flags() {
        let args = Args::try_parse_from([
            "ccc-proxy",
            "--demo",
            "--caller-ids",
            "021 5000 1234,+8610100",
            "--caller-ids",
            "02150001234",
            "--dial-pattern",
            r"(\+86)?1\d{10}",
        ])
        .unwrap();
        let dial = Config::from_args(args, |_| None).unwrap().dial;
        assert_eq!(dial.caller_ids(), ["02150001234", "+8610100"]);
        let n = |s: &str| DialNumber::parse(s).unwrap();
        assert_eq!(dial.check(&n("13812345678"), None), Ok(None));
        assert_eq!(
            dial.check(&n("+86 138 1234 5678"), Some(" +8610100 ")),
            Ok(Some("+8610100".into()))
        );
        assert_eq!(
            dial.check(&n("138123456789"), None),
            Err(DialRefusal::NumberNotAllowed)
        );
        assert_eq!(dial.check(&n("13812345678"), Some(" ")), Ok(None));
        assert_eq!(
            dial.check(&n("13812345678"), Some("110")),
            Err(DialRefusal::InvalidCallerId)
        );
        // No caller ids configured: only CCC's default.
        let open = DialPolicy::new(&[], None).unwrap();
        assert_eq!(open.check(&n("*99#"), None), Ok(None));
        assert_eq!(
            open.check(&n("1"), Some("02150001234")),
            Err(DialRefusal::InvalidCallerId)
        );
        // Bad flags stop the start with a clear message.
        let err = DialPolicy::new(&[], Some("(1")).unwrap_err();
        assert!(
            err.starts_with("--dial-pattern \"(1\" is not a valid"),
            "{err}"
        );
        let err = DialPolicy::new(&["ops-line".into()], None).unwrap_err();
        assert!(err.contains("--caller-ids"), "{err}");
        let args = Args::try_parse_from(["ccc-proxy", "--demo", "--dial-pattern", "[0-9"]).unwrap();
        assert!(Config::from_args(args, |_| None).is_err());
    }

    #[test]
    fn the_default_deny_list_refuses_premium_ranges_and_feature_codes() {
        let dial = |extra: &[&str]| {
            let mut argv = vec!["ccc-proxy", "--demo"];
            argv.extend_from_slice(extra);
            Config::from_args(Args::try_parse_from(argv).unwrap(), |_| None)
                .unwrap()
                .dial
        };
        let n = |s: &str| DialNumber::parse(s).unwrap();
        let default = dial(&[]);
        for denied in [
            "+88212345678",
            "0088312345678",
            "+979123456",
            "+8707712345",
            "01188161234567",
            "+881612345678",
            "*72#13812345678",
            "*99#",
            "13812345678#",
        ] {
            assert_eq!(
                default.check(&n(denied), None),
                Err(DialRefusal::NumberNotAllowed),
                "{denied}"
            );
        }
        for allowed in [
            "13812345678",
            "+8613812345678",
            "+88612345678",
            "8001",
            "+4420",
        ] {
            assert_eq!(default.check(&n(allowed), None), Ok(None), "{allowed}");
        }
        // The operator replaces the list, or empties it.
        let own = dial(&["--dial-deny-pattern", r"\+44.*"]);
        assert_eq!(own.check(&n("*99#"), None), Ok(None));
        assert!(own.check(&n("+4420"), None).is_err());
        assert_eq!(
            dial(&["--dial-deny-pattern", ""]).check(&n("+88212"), None),
            Ok(None)
        );
        let bad =
            Args::try_parse_from(["ccc-proxy", "--demo", "--dial-deny-pattern", "(("]).unwrap();
        let e = Config::from_args(bad, |_| None).unwrap_err().to_string();
        assert!(e.contains("--dial-deny-pattern"), "{e}");
    }

    #[test]
    fn the_caller_id_help_says_what_is_sent_without_one() {
        use clap::CommandFactory;
        let cmd = Args::command();
        let help = cmd
            .get_arguments()
            .find(|a| a.get_id() == "caller_ids")
            .and_then(|a| a.get_help())
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(help.contains("CCC's own default number"), "{help}");
        assert!(!help.contains("first is the default"), "{help}");
    }

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

    fn presence_of(argv: &[&str]) -> Result<Config, String> {
        let mut all = vec!["ccc-proxy", "--instance-id", "i"];
        all.extend_from_slice(argv);
        let args = Args::try_parse_from(all).map_err(|e| e.to_string())?;
        let env = |k: &str| (k.starts_with("ALIBABA_CLOUD_ACCESS_KEY")).then(|| "k".to_owned());
        Config::from_args(args, env).map_err(|e| e.to_string())
    }

    #[test]
    fn presence_flags_default_by_mode_and_offer_the_break_code() {
        let header = presence_of(&[]).unwrap();
        assert_eq!(header.presence.policy, PresencePolicy::None);
        assert_eq!(header.presence.grace, Duration::from_secs(90));
        assert!(!header.break_codes.iter().any(|c| c == "away"));
        let demo = presence_of(&["--demo"]).unwrap();
        assert_eq!(demo.presence.policy, PresencePolicy::Break);
        assert_eq!(demo.break_codes.last().map(String::as_str), Some("away"));
        let set = presence_of(&[
            "--presence-policy",
            "sign-out",
            "--presence-grace-secs",
            "5",
            "--presence-break-code",
            "gone",
        ])
        .unwrap();
        assert_eq!(set.presence.policy, PresencePolicy::SignOut);
        assert_eq!(set.presence.grace, Duration::from_secs(5));
        assert!(
            !set.break_codes.iter().any(|c| c == "gone"),
            "only for break"
        );
        let twice =
            presence_of(&["--presence-policy", "break", "--break-codes", "away,lunch"]).unwrap();
        assert_eq!(twice.break_codes, ["away", "lunch"], "offered once");
    }

    #[test]
    fn bad_presence_flags_are_clear_errors() {
        let e = presence_of(&["--presence-policy", "Break"]).unwrap_err();
        assert!(e.contains("--presence-policy"), "{e}");
        assert!(
            e.contains("none") && e.contains("sign-out"),
            "lists the values: {e}"
        );
        let e = presence_of(&["--presence-grace-secs", "0"]).unwrap_err();
        assert!(e.contains("--presence-grace-secs"), "{e}");
        let e = presence_of(&["--presence-grace-secs", "soon"]).unwrap_err();
        assert!(e.contains("--presence-grace-secs"), "{e}");
        let e = presence_of(&["--presence-break-code", " "]).unwrap_err();
        assert!(e.contains("--presence-break-code"), "{e}");
    }
}
