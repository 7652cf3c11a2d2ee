//! The shared application state: configuration, the one pooled CCC client,
//! the per-agent hubs, metrics, the authenticator and the rate limiter.

use std::{ops::Deref, sync::Arc};

use axum::http::HeaderValue;
use tokio::sync::watch;

use crate::{
    config::Config, demo::DemoAgent, identity::Authenticator, metrics::Metrics, poller::Hub,
    ratelimit::RateLimiter, security, upstream::CccClient,
};

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
    pub hub: Hub,
    /// Counters and gauges.
    pub metrics: Arc<Metrics>,
    /// Maps requests to agents.
    pub auth: Authenticator,
    /// Per-agent rate limit of state changes.
    pub limiter: RateLimiter,
    /// The simulator's agents (`--auth demo` only).
    pub demo_agents: Option<Vec<DemoAgent>>,
    /// CSP for every response that sets none itself.
    pub base_csp: HeaderValue,
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
        let client = CccClient::new(&config.upstream, &config.instance_id, metrics.clone())?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let hub = Hub::new(
            client.clone(),
            metrics.clone(),
            config.poll_interval,
            config.poll_idle,
            shutdown_rx,
        );
        let auth = Authenticator::new(&config.auth, &config.cookie_key)?;
        let demo_agents = match (&config.auth, demo_agents) {
            (crate::config::AuthConfig::Demo, Some(a)) => Some(a),
            (crate::config::AuthConfig::Demo, None) => {
                return Err("--auth demo needs the simulator's agents".into())
            }
            _ => None,
        };
        let base_csp = HeaderValue::from_str(&security::csp(&config.frame_ancestors, &[], &[]))
            .map_err(|_| {
                format!(
                    "--frame-ancestors {:?} is not a valid header value",
                    config.frame_ancestors
                )
            })?;
        Ok(AppState(Arc::new(Inner {
            limiter: RateLimiter::new(config.rate_limit_per_minute, config.rate_limit_burst),
            config,
            client,
            hub,
            metrics,
            auth,
            demo_agents,
            base_csp,
            shutdown,
        })))
    }

    /// Stops every poll loop and answers waiting long-polls now.
    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }
}
