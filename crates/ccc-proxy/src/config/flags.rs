//! The command line: clap flags with their environment fallbacks and
//! `--help` text. [`Config::from_args`](super::Config::from_args) turns them
//! into the validated types the proxy runs with.

use super::*;

/// Default CCC endpoint (East China 2, Shanghai).
pub const DEFAULT_ENDPOINT: &str = "https://ccc.cn-shanghai.aliyuncs.com";

/// Environment variable holding the AccessKeyId.
pub const ENV_KEY_ID: &str = "ALIBABA_CLOUD_ACCESS_KEY_ID";

/// Environment variable holding the AccessKeySecret.
pub const ENV_KEY_SECRET: &str = "ALIBABA_CLOUD_ACCESS_KEY_SECRET";

/// Environment variable holding an optional STS security token.
pub const ENV_SECURITY_TOKEN: &str = "ALIBABA_CLOUD_SECURITY_TOKEN";

pub(super) const AFTER_HELP: &str = "\
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
    /// Break codes the agent may pick, comma-separated, in display order;
    /// each may carry display names: `code=English|中文` (`lunch=Lunch|午餐`).
    #[arg(
        long,
        env = "CCC_BREAK_CODES",
        default_value = "default=Break|小休,lunch=Lunch|午餐,meeting=Meeting|会议,training=Training|培训"
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
    /// The browser softphone's SIP relay.
    #[command(flatten)]
    pub sip: super::sip::SipArgs,
    /// Issue 18: transfers, the directory, the keypad.
    #[command(flatten)]
    pub transfer: super::transfer::TransferArgs,
}
