//! The shared application state: configuration, the one pooled CCC client,
//! the per-agent hubs, metrics, the authenticator and the rate limiter.

use std::{ops::Deref, sync::Arc};

use tokio::sync::watch;

use crate::{
    budget::Budget,
    config::Config,
    fleet::Fleet,
    identity::{Authenticator, DemoAgent},
    metrics::Metrics,
    poller::{Hub, HubOptions, LongPollLimits},
    ratelimit::{DialLimiter, RateLimiter},
    security,
    session_cache::SessionCache,
    upstream::CccClient,
};

/// Keypad requests one agent may send per minute (issue 18).
pub const KEYPAD_PER_MINUTE: u32 = 120;
/// Keypad requests one agent may send at once.
pub const KEYPAD_BURST: u32 = 40;

/// Cheaply clonable handle on [`Inner`].
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

/// Everything handlers share.
#[derive(Debug)]
pub struct Inner {
    /// The configuration.
    pub config: Config,
    /// The one pooled, signing CCC client.
    pub client: CccClient,
    /// Per-agent long-poll hubs.
    pub hub: Arc<Hub>,
    /// Replicas through Redis (`--redis-url`).
    pub fleet: Option<Fleet>,
    /// Counters and gauges.
    pub metrics: Arc<Metrics>,
    /// Maps requests to agents.
    pub auth: Authenticator,
    /// Per-agent rate limit of state changes.
    pub limiter: RateLimiter,
    /// Per-agent rate limit of reads.
    pub read_limiter: RateLimiter,
    /// Per-agent limit of calls placed (this process's share; see
    /// [`AppState::allow_dial`]).
    pub dial_limiter: DialLimiter,
    /// Recent `GetLoginDetails` answers.
    pub sessions: SessionCache,
    /// The simulator's agents (`--auth demo` only).
    pub demo_agents: Option<Vec<DemoAgent>>,
    /// Security headers and origin rules.
    pub security: Arc<security::Policy>,
    /// The softphone relay (sockets, limits, TURN cache).
    pub sip: crate::sip::SipState,
    /// Agents whose pending next state a task here follows.
    pub next_states: crate::next_state::Followers,
    /// Issue 18: the transfer directory's agents (one cache for all).
    pub directory: crate::directory::DirectoryCache,
    /// Issue 18: keypad requests per agent (their own limit: typing an
    /// IVR menu and an account number is not a burst of state changes).
    pub keypad_limiter: RateLimiter,
    /// Issue 18: an agent's keypad requests go to CCC one at a time, in order.
    pub keypad_locks: crate::ratelimit::KeyedLocks,
    shutdown: watch::Sender<bool>,
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Builds the state. `demo_agents` must be given for `--auth demo`.
    pub fn new(config: Config, demo_agents: Option<Vec<DemoAgent>>) -> Result<Self, String> {
        let metrics = Arc::new(Metrics::default());
        let fleet = match &config.redis {
            Some(r) => Some(Fleet::new(
                std::str::from_utf8(r.url.expose()).unwrap_or_default(),
                &r.prefix,
                r.lease_ttl,
            )?),
            None => None,
        };
        let budget = Budget::new(config.upstream_qps, fleet.clone());
        let client = CccClient::new(
            &config.upstream,
            &config.instance_id,
            metrics.clone(),
            budget,
        )?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let hub = Hub::new(
            client.clone(),
            metrics.clone(),
            HubOptions {
                interval: config.poll_interval,
                idle: config.poll_idle,
                events: config.events_token.is_some(),
                reconcile: config.reconcile,
                limits: LongPollLimits {
                    per_device: config.limits.longpolls_per_device,
                    per_agent: config.limits.longpolls_per_agent,
                },
                presence: config.presence.clone(),
            },
            fleet.clone(),
            shutdown_rx,
        );
        if fleet.is_some() || config.events_token.is_some() || hub.presence_on() {
            hub.start();
        }
        let auth = Authenticator::new(&config.auth, &config.cookie_key)?;
        let demo_agents = match (&config.auth, demo_agents) {
            (crate::config::AuthConfig::Demo, Some(a)) => Some(a),
            (crate::config::AuthConfig::Demo, None) => {
                return Err("--auth demo needs the simulator's agents".into())
            }
            _ => None,
        };
        let security = Arc::new(security::Policy::new(
            &config.frame_ancestors,
            &config.public_origins(),
        )?);
        Ok(AppState(Arc::new(Inner {
            limiter: RateLimiter::new(config.rate_limit_per_minute, config.rate_limit_burst),
            read_limiter: RateLimiter::new(
                config.read_rate_limit_per_minute,
                config.read_rate_limit_burst,
            ),
            sessions: SessionCache::new(config.session_cache),
            dial_limiter: DialLimiter::new(config.dial_limits),
            sip: crate::sip::SipState::new(&config.sip),
            config,
            client,
            hub,
            fleet,
            metrics,
            auth,
            demo_agents,
            security,
            next_states: Default::default(),
            directory: Default::default(),
            keypad_limiter: RateLimiter::new(KEYPAD_PER_MINUTE, KEYPAD_BURST),
            keypad_locks: Default::default(),
            shutdown,
        })))
    }

    /// Takes one of the agent's command tokens (shared by the fleet when
    /// Redis answers, else this process's own bucket).
    /// `Err(wait)`: refused, retry after `wait`.
    pub async fn allow_command(&self, user_id: &str) -> Result<(), std::time::Duration> {
        let shared = match &self.fleet {
            Some(f) => {
                let (per_minute, burst) = (
                    self.config.rate_limit_per_minute,
                    self.config.rate_limit_burst,
                );
                f.rate_limit(user_id, per_minute, burst).await
            }
            None => None,
        };
        shared.unwrap_or_else(|| self.limiter.check(user_id))
    }

    /// Records one dial of the agent against `--dial-limit-per-minute` and
    /// `--dial-limit-per-hour` (shared by the fleet when Redis answers, else
    /// this process's own log). `Err(wait)`: refused, retry after `wait`.
    pub async fn allow_dial(&self, user_id: &str) -> Result<(), std::time::Duration> {
        let limits = self.dial_limiter.limits();
        let shared = match &self.fleet {
            Some(f) => f.dial_limit(user_id, limits).await,
            None => None,
        };
        shared.unwrap_or_else(|| self.dial_limiter.check(user_id, crate::upstream::now_ms()))
    }

    /// Turns true when the proxy begins to stop (the SIP relays close).
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Stops every poll loop and answers waiting long-polls now.
    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }
}
