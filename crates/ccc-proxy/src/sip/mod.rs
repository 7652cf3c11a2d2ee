//! The browser softphone's side of the proxy (issue 20): the
//! SIP-over-WebSocket relay at `GET /api/v1/sip` and the `softphone` block
//! of `GET /api/v1/session`.
//!
//! - [`config`]: flags; [`message`]: the little SIP the relay reads;
//!   [`policy`]: which browser requests pass (the agent's own AOR only);
//!   [`sockets`]: one socket per device; [`metrics`]: counters;
//!   [`ice`]: TURN servers and credentials, cached fleet-wide;
//!   [`session`]: the softphone block and the H1 inferences;
//!   [`relay`]: the WebSocket handler.
//!
//! docs/softphone.md describes the protocol and what is inferred.

pub mod config;
pub mod ice;
pub mod message;
pub mod metrics;
pub mod policy;
pub mod relay;
pub mod session;
pub mod sockets;

use crate::ratelimit::RateLimiter;

/// The relay's shared state (one per process, in [`crate::AppState`]).
#[derive(Debug)]
pub struct SipState {
    /// Live relay sockets, one per device.
    pub sockets: sockets::Sockets,
    /// SIP requests per socket (`user|device`).
    pub limiter: RateLimiter,
    /// TURN servers and credentials.
    pub turn: ice::TurnCache,
}

impl SipState {
    /// The state for `config`.
    pub fn new(config: &config::SipConfig) -> Self {
        SipState {
            sockets: sockets::Sockets::default(),
            limiter: RateLimiter::new(config.rate_per_minute, config.rate_burst),
            turn: ice::TurnCache::default(),
        }
    }
}
