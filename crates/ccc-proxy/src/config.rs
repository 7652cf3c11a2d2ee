//! Command-line flags (with environment fallbacks) and the validated
//! [`Config`] the proxy runs with. Secrets never appear in `Debug` output.

use std::{
    fmt,
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    time::Duration,
};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use ccc_model::{api::PresencePolicy, dial::DialNumber, signing::AccessKey, WorkMode};
use clap::{builder::TypedValueParser as _, Parser, ValueEnum};

/// Default CCC endpoint (East China 2, Shanghai).
pub const DEFAULT_ENDPOINT: &str = "https://ccc.cn-shanghai.aliyuncs.com";

/// Environment variable holding the AccessKeyId.
pub const ENV_KEY_ID: &str = "ALIBABA_CLOUD_ACCESS_KEY_ID";
/// Environment variable holding the AccessKeySecret.
pub const ENV_KEY_SECRET: &str = "ALIBABA_CLOUD_ACCESS_KEY_SECRET";
/// Environment variable holding an optional STS security token.
pub const ENV_SECURITY_TOKEN: &str = "ALIBABA_CLOUD_SECURITY_TOKEN";

const AFTER_HELP: &str = "\
Credentials (environment only, never flags, never logged):
  ALIBABA_CLOUD_ACCESS_KEY_ID       AccessKeyId of a RAM user allowed to call CCC
  ALIBABA_CLOUD_ACCESS_KEY_SECRET   its AccessKeySecret
  ALIBABA_CLOUD_SECURITY_TOKEN      optional STS token
  (not needed with --demo, which uses the simulator's demo key pair)

Examples:
  ccc-proxy --demo --static-dir dist
  ccc-proxy --instance-id my-instance --auth header --trusted-proxies 10.0.0.5
  ccc-proxy --instance-id my-instance --auth jwt --jwt-hs256-secret-file /run/secrets/jwt
";

/// How the proxy learns which CCC agent a browser session belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthKind {
    /// Trusted header set by a single-sign-on reverse proxy.
    Header,
    /// Bearer JWT handed to the widget by the CRM page (`sub` = UserId).
    Jwt,
    /// Sign-in page listing the simulator's agents (implied by `--demo`).
    Demo,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable compact lines.
    Compact,
}

/// `ccc-proxy`: the only server the CCC toolbar widget talks to.
#[derive(Debug, Clone, Parser)]
#[command(name = "ccc-proxy", version, about, after_help = AFTER_HELP)]
pub struct Args {
    /// Start the CCC simulator in-process and use it (implies --auth demo).
    #[arg(long, env = "CCC_DEMO")]
    pub demo: bool,
    /// CCC OpenAPI endpoint.
    #[arg(long, env = "CCC_ENDPOINT", default_value = DEFAULT_ENDPOINT)]
    pub endpoint: String,
    /// CCC instance id (required unless --demo).
    #[arg(long, env = "CCC_INSTANCE_ID")]
    pub instance_id: Option<String>,
    /// Address to listen on.
    #[arg(long, env = "CCC_PROXY_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Agent identification: header, jwt or demo (default: demo with --demo, else header).
    #[arg(long, env = "CCC_PROXY_AUTH", value_enum)]
    pub auth: Option<AuthKind>,
    /// Trusted header carrying the CCC UserId (--auth header).
    #[arg(
        long,
        env = "CCC_PROXY_AUTH_HEADER",
        default_value = "X-Forwarded-User"
    )]
    pub auth_header: String,
    /// Peers whose auth header is believed: comma-separated IPs or CIDRs.
    #[arg(
        long,
        env = "CCC_PROXY_TRUSTED_PROXIES",
        default_value = "127.0.0.1/8,::1"
    )]
    pub trusted_proxies: String,
    /// HS256 shared secret (--auth jwt); prefer the env variable or the file.
    #[arg(long, env = "CCC_PROXY_JWT_HS256_SECRET", hide_env_values = true)]
    pub jwt_hs256_secret: Option<Secret>,
    /// File holding the HS256 shared secret (--auth jwt).
    #[arg(long, env = "CCC_PROXY_JWT_HS256_SECRET_FILE")]
    pub jwt_hs256_secret_file: Option<PathBuf>,
    /// PEM file with the RS256 public key (--auth jwt).
    #[arg(long, env = "CCC_PROXY_JWT_RS256_PUBLIC_KEY_FILE")]
    pub jwt_rs256_public_key_file: Option<PathBuf>,
    /// Required `iss` claim (--auth jwt, optional).
    #[arg(long, env = "CCC_PROXY_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// Required `aud` claim (--auth jwt, optional).
    #[arg(long, env = "CCC_PROXY_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
    /// File holding the key that signs the demo cookie; created (mode 0600)
    /// when missing (default with --demo: $XDG_STATE_HOME or
    /// ~/.local/state, then ccc-proxy/demo-cookie.key).
    #[arg(long, env = "CCC_PROXY_COOKIE_KEY_FILE")]
    pub cookie_key_file: Option<PathBuf>,
    /// Break codes the agent may pick, comma-separated, in display order.
    #[arg(
        long,
        env = "CCC_BREAK_CODES",
        default_value = "default,lunch,meeting,training"
    )]
    pub break_codes: String,
    /// Work modes the agent may pick, comma-separated.
    #[arg(
        long,
        env = "CCC_WORK_MODES",
        default_value = "ON_SITE,OFF_SITE,OFFICE_PHONE"
    )]
    pub work_modes: String,
    /// Caller ids (numbers) an agent may pick when dialling, repeatable or
    /// comma-separated, offered in this order; a dial without one presents
    /// CCC's own default number (the widget's "Default caller ID").
    #[arg(long = "caller-ids", env = "CCC_CALLER_IDS", value_delimiter = ',')]
    pub caller_ids: Vec<String>,
    /// Only numbers matching this regular expression in full may be dialled,
    /// e.g. `(\+86)?1\d{10}` (none: any valid number not denied).
    #[arg(long, env = "CCC_DIAL_PATTERN")]
    pub dial_pattern: Option<String>,
    /// Numbers matching this regular expression in full are never dialled;
    /// replaces the default list of premium/satellite ranges and feature
    /// codes (see docs/proxy.md); an empty value denies nothing.
    #[arg(long, env = "CCC_DIAL_DENY_PATTERN")]
    pub dial_deny_pattern: Option<String>,
    /// Calls one agent may place in any minute (separate from other commands).
    #[arg(long, env = "CCC_PROXY_DIAL_LIMIT_PER_MINUTE", default_value_t = 5)]
    pub dial_limit_per_minute: u32,
    /// Calls one agent may place in any hour.
    #[arg(long, env = "CCC_PROXY_DIAL_LIMIT_PER_HOUR", default_value_t = 60)]
    pub dial_limit_per_hour: u32,
    /// Directory of the built widget (Trunk's `dist/`).
    #[arg(long, env = "CCC_STATIC_DIR", default_value = "dist")]
    pub static_dir: PathBuf,
    /// CSP `frame-ancestors` sources allowed to embed the toolbar in an iframe.
    #[arg(long, env = "CCC_PROXY_FRAME_ANCESTORS", default_value = "'self'")]
    pub frame_ancestors: String,
    /// Timeout of each upstream CCC call, in milliseconds.
    #[arg(long, env = "CCC_UPSTREAM_TIMEOUT_MS", default_value_t = 5000)]
    pub upstream_timeout_ms: u64,
    /// Interval of the per-agent PollUserStatus loop, in milliseconds.
    #[arg(long, env = "CCC_POLL_INTERVAL_MS", default_value_t = 1000)]
    pub poll_interval_ms: u64,
    /// Stop an agent's poll loop after this many seconds without any reader.
    #[arg(long, env = "CCC_POLL_IDLE_SECS", default_value_t = 30)]
    pub poll_idle_secs: u64,
    /// State changes allowed per agent per minute (sustained rate).
    #[arg(long, env = "CCC_PROXY_RATE_LIMIT_PER_MINUTE", default_value_t = 60)]
    pub rate_limit_per_minute: u32,
    /// State changes an agent may make in a burst.
    #[arg(long, env = "CCC_PROXY_RATE_LIMIT_BURST", default_value_t = 10)]
    pub rate_limit_burst: u32,
    /// Seconds between simulated inbound calls in --demo mode (0: none).
    #[arg(long, env = "CCC_DEMO_CALLS_SECS", default_value_t = 45)]
    pub demo_calls_secs: u64,
    /// Secret CCC's webhook deliveries carry (`Authorization: Bearer` or the
    /// last path segment of `/ccc/events/<token>`); turns the event path on.
    #[arg(long, env = "CCC_EVENTS_TOKEN", hide_env_values = true)]
    pub events_token: Option<Secret>,
    /// Seconds between reconciliation sweeps (ListRealtimeAgentStates) with events on.
    #[arg(long, env = "CCC_RECONCILE_SECS", default_value_t = 30)]
    pub reconcile_secs: u64,
    /// CCC calls per second for the whole fleet (commands first).
    #[arg(long, env = "CCC_UPSTREAM_QPS", default_value_t = 20.0)]
    pub upstream_qps: f64,
    /// Redis URL coordinating replicas (e.g. redis://10.0.0.9:6379/0); none: one process.
    #[arg(long, env = "CCC_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<Secret>,
    /// Prefix of every Redis key and channel (one per proxy fleet).
    #[arg(long, env = "CCC_REDIS_PREFIX", default_value = "ccc-proxy:")]
    pub redis_prefix: String,
    /// Lifetime of an agent's upstream lease, in milliseconds (renewed every third).
    #[arg(long, env = "CCC_LEASE_TTL_MS", default_value_t = 6000)]
    pub lease_ttl_ms: u64,
    // --- Presence (issue 11): what happens when no toolbar is open. ---
    /// What to do with a READY agent once no toolbar of theirs has been open
    /// for the grace: none, break or sign-out (default: break with --demo,
    /// else none).
    #[arg(
        long,
        env = "CCC_PRESENCE_POLICY",
        value_name = "POLICY",
        value_parser = clap::builder::PossibleValuesParser::new(PresencePolicy::ALL.map(PresencePolicy::as_str))
            .try_map(|s| PresencePolicy::parse(&s).ok_or("unknown presence policy"))
    )]
    pub presence_policy: Option<PresencePolicy>,
    /// Seconds without any long-poll from the agent's browsers before the
    /// presence policy acts.
    #[arg(long, env = "CCC_PRESENCE_GRACE_SECS", default_value_t = 90)]
    pub presence_grace_secs: u64,
    /// Break code of `--presence-policy break` (added to the offered codes).
    #[arg(long, env = "CCC_PRESENCE_BREAK_CODE", default_value = "away")]
    pub presence_break_code: String,
    // --- end of presence ---
    /// Origin(s) browsers use to reach the proxy, e.g. https://crm.example.com
    /// (repeatable or comma-separated; default: the listen address).
    /// Requests whose Host or Origin is not among them are refused.
    #[arg(
        long = "public-origin",
        env = "CCC_PUBLIC_ORIGINS",
        value_delimiter = ','
    )]
    pub public_origins: Vec<String>,
    /// Close a connection that has not sent complete request headers within
    /// this many seconds.
    #[arg(long, env = "CCC_PROXY_HEADER_READ_TIMEOUT_SECS", default_value_t = 10)]
    pub header_read_timeout_secs: u64,
    /// Close a keep-alive connection idle (no request in flight) this long.
    #[arg(long, env = "CCC_PROXY_IDLE_TIMEOUT_SECS", default_value_t = 60)]
    pub idle_timeout_secs: u64,
    /// Most client connections open at once; accepting pauses at the cap.
    #[arg(long, env = "CCC_PROXY_MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: usize,
    /// Most long-polls waiting per device (browser); a newer one answers the oldest at once.
    #[arg(long, env = "CCC_PROXY_LONGPOLLS_PER_DEVICE", default_value_t = 6)]
    pub longpolls_per_device: usize,
    /// Most long-polls waiting per agent over all devices.
    #[arg(long, env = "CCC_PROXY_LONGPOLLS_PER_AGENT", default_value_t = 18)]
    pub longpolls_per_agent: usize,
    /// Refuse JWTs whose lifetime (exp - iat, or exp - now) exceeds this.
    #[arg(
        long,
        env = "CCC_PROXY_JWT_MAX_LIFETIME_SECS",
        default_value_t = 43_200
    )]
    pub jwt_max_lifetime_secs: u64,
    /// Reads (session, agent snapshot) allowed per agent per minute.
    #[arg(
        long,
        env = "CCC_PROXY_READ_RATE_LIMIT_PER_MINUTE",
        default_value_t = 300
    )]
    pub read_rate_limit_per_minute: u32,
    /// Reads an agent may make in a burst.
    #[arg(long, env = "CCC_PROXY_READ_RATE_LIMIT_BURST", default_value_t = 60)]
    pub read_rate_limit_burst: u32,
    /// Seconds a GetLoginDetails answer is reused for GET /api/v1/session
    /// (dropped at once on a work-mode change; 0: never cached).
    #[arg(long, env = "CCC_PROXY_SESSION_CACHE_SECS", default_value_t = 60)]
    pub session_cache_secs: u64,
    /// Log format.
    #[arg(
        long,
        env = "CCC_PROXY_LOG_FORMAT",
        value_enum,
        default_value = "compact"
    )]
    pub log_format: LogFormat,
}

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

/// A secret value whose `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps raw secret bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Secret(bytes.into())
    }

    /// The raw bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret::new(s.as_bytes()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// JWT verification key.
#[derive(Debug, Clone)]
pub enum JwtKey {
    /// HS256 shared secret.
    Hs256(Secret),
    /// RS256 public key, PEM.
    Rs256Pem(Vec<u8>),
}

/// JWT settings for `--auth jwt`.
#[derive(Debug, Clone)]
pub struct JwtConfig {
    /// The verification key.
    pub key: JwtKey,
    /// Required issuer.
    pub issuer: Option<String>,
    /// Required audience.
    pub audience: Option<String>,
    /// Longest accepted token lifetime.
    pub max_lifetime: Duration,
}

/// Agent identification, fully configured.
#[derive(Debug, Clone)]
pub enum AuthConfig {
    /// Trusted header from trusted peers.
    Header {
        /// Header name.
        name: String,
        /// Peers allowed to set it.
        trusted: TrustedPeers,
    },
    /// Bearer JWT.
    Jwt(JwtConfig),
    /// Demo sign-in page and signed cookie.
    Demo,
}

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
        let break_codes = split_list(&args.break_codes);
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
        })
    }
}

fn jwt_config(args: &Args) -> Result<JwtConfig, ConfigError> {
    let sources = (
        &args.jwt_hs256_secret,
        &args.jwt_hs256_secret_file,
        &args.jwt_rs256_public_key_file,
    );
    let key = match sources {
        (Some(s), None, None) if s.expose().len() >= 16 => JwtKey::Hs256(s.clone()),
        (Some(_), None, None) => {
            return Err(ConfigError::Invalid(
                "the HS256 secret needs at least 16 bytes".into(),
            ))
        }
        (None, Some(p), None) => JwtKey::Hs256(Secret::new(read_trimmed(p)?)),
        (None, None, Some(p)) => {
            let pem = std::fs::read(p).map_err(|e| {
                ConfigError::Invalid(format!("cannot read {}: {e}", p.display()))
            })?;
            jsonwebtoken::DecodingKey::from_rsa_pem(&pem).map_err(|_| {
                ConfigError::Invalid(format!("{} is not an RSA public key (PEM)", p.display()))
            })?;
            JwtKey::Rs256Pem(pem)
        }
        _ => {
            return Err(ConfigError::Invalid(
                "--auth jwt needs exactly one of --jwt-hs256-secret, --jwt-hs256-secret-file or --jwt-rs256-public-key-file"
                    .into(),
            ))
        }
    };
    Ok(JwtConfig {
        key,
        issuer: args.jwt_issuer.clone(),
        audience: args.jwt_audience.clone(),
        max_lifetime: Duration::from_secs(args.jwt_max_lifetime_secs.max(1)),
    })
}

fn read_trimmed(p: &std::path::Path) -> Result<Vec<u8>, ConfigError> {
    let bytes = std::fs::read(p)
        .map_err(|e| ConfigError::Invalid(format!("cannot read {}: {e}", p.display())))?;
    let trimmed = bytes.trim_ascii().to_vec();
    if trimmed.len() < 16 {
        return Err(ConfigError::Invalid(format!(
            "{}: a key needs at least 16 bytes",
            p.display()
        )));
    }
    Ok(trimmed)
}

/// The cookie key in `path`, or a new random one written there (mode 0600,
/// parent directories 0700) so a restart keeps every sign-in.
fn load_or_create_key(path: &std::path::Path) -> Result<Secret, ConfigError> {
    if path.exists() {
        return Ok(Secret::new(read_trimmed(path)?));
    }
    let cannot = |e: std::io::Error| {
        ConfigError::Invalid(format!(
            "cannot create the key file {}: {e}",
            path.display()
        ))
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(cannot)?;
    }
    let key = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            std::io::Write::write_all(&mut file, key.as_bytes()).map_err(cannot)?;
            tracing::info!(path = %path.display(), "created the demo cookie key");
            Ok(Secret::new(key.into_bytes()))
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(Secret::new(read_trimmed(path)?))
        }
        Err(e) => Err(cannot(e)),
    }
}

/// Numbers never dialled unless `--dial-deny-pattern` replaces this list
/// (matched in full against the number without separators):
///
/// - feature codes: any number with `*` or `#` (`*72#…` forwards the line,
///   others change the trunk's settings);
/// - the ITU-T E.164 ranges that are the usual targets of international
///   revenue-share (toll) fraud, written with `+`, `00` or `011`: +979
///   (International Premium Rate Service), +881 (Global Mobile Satellite
///   System: Iridium, Globalstar…), +882 and +883 (International Networks)
///   and +870 (Inmarsat). Source: the ITU's list of E.164 assigned country
///   codes; these ranges bill the caller far above a normal call and are
///   rarely a contact center's customers.
pub const DEFAULT_DIAL_DENY: &str = r"(?:\+|00|011)(?:979|88[123]|870)\d*|.*[*#].*";

/// What agents may dial (`--dial-pattern`, `--dial-deny-pattern`) and which
/// caller ids they may present (`--caller-ids`), checked before anything
/// reaches CCC.
#[derive(Debug, Clone, Default)]
pub struct DialPolicy {
    caller_ids: Vec<String>,
    pattern: Option<regex::Regex>,
    deny: Option<regex::Regex>,
}

/// Why the dial policy refuses a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialRefusal {
    /// The number does not match `--dial-pattern`, or matches the deny list.
    NumberNotAllowed,
    /// The caller id is not one of `--caller-ids`.
    InvalidCallerId,
}

impl DialPolicy {
    /// Validates the flags: each caller id must be a dialable number (kept
    /// without separators, duplicates dropped); the pattern must compile.
    pub fn new(caller_ids: &[String], pattern: Option<&str>) -> Result<Self, String> {
        let mut ids: Vec<String> = Vec::new();
        for raw in caller_ids
            .iter()
            .map(|c| c.trim())
            .filter(|c| !c.is_empty())
        {
            let id = DialNumber::parse(raw)
                .map_err(|e| format!("--caller-ids: {raw:?} is not a number: {e}"))?;
            if !ids.iter().any(|i| i == id.as_str()) {
                ids.push(id.as_str().to_owned());
            }
        }
        let pattern = match pattern.map(str::trim).filter(|p| !p.is_empty()) {
            Some(p) => Some(regex::Regex::new(&format!("^(?:{p})$")).map_err(|e| {
                format!("--dial-pattern {p:?} is not a valid regular expression: {e}")
            })?),
            None => None,
        };
        Ok(DialPolicy {
            caller_ids: ids,
            pattern,
            deny: None,
        })
    }

    /// Adds the deny list (`None` or blank: none), e.g. [`DEFAULT_DIAL_DENY`].
    pub fn with_deny(mut self, deny: Option<&str>) -> Result<Self, String> {
        self.deny = match deny.map(str::trim).filter(|p| !p.is_empty()) {
            Some(p) => Some(regex::Regex::new(&format!("^(?:{p})$")).map_err(|e| {
                format!("--dial-deny-pattern {p:?} is not a valid regular expression: {e}")
            })?),
            None => None,
        };
        Ok(self)
    }

    /// The caller ids offered to agents, in order.
    pub fn caller_ids(&self) -> &[String] {
        &self.caller_ids
    }

    /// Checks a dial request; returns the caller id to send (`None`: CCC's
    /// default). A blank caller id means the default.
    pub fn check(
        &self,
        number: &DialNumber,
        caller_id: Option<&str>,
    ) -> Result<Option<String>, DialRefusal> {
        let n = number.as_str();
        let denied = self.deny.as_ref().is_some_and(|d| d.is_match(n));
        if denied || self.pattern.as_ref().is_some_and(|p| !p.is_match(n)) {
            return Err(DialRefusal::NumberNotAllowed);
        }
        match caller_id.map(str::trim).filter(|c| !c.is_empty()) {
            None => Ok(None),
            Some(c) if self.caller_ids.iter().any(|i| i == c) => Ok(Some(c.to_owned())),
            Some(_) => Err(DialRefusal::InvalidCallerId),
        }
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
