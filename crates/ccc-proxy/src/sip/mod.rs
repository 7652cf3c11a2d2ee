//! The browser softphone's side of the proxy (issue 20) that the rest of
//! the proxy holds: the relay's shared state ([`SipState`]), which the
//! handlers in [`crate::sip_relay`] use. Its flags are
//! [`crate::config::sip`], its counters [`crate::metrics::sip`].
//!
//! - [`message`]: the little SIP the relay reads;
//!   [`policy`]: which browser requests pass (the agent's own AOR only);
//!   [`sockets`]: one socket per device;
//!   [`ice`]: TURN servers and credentials, cached fleet-wide;
//!   [`ticket`]: single-use tickets that authenticate the relay's socket.
//!
//! docs/softphone.md describes the protocol and what is inferred.

pub mod ice;
pub mod message;
pub mod policy;
pub mod sockets;
pub mod ticket;

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
    /// Tickets of this process (Redis holds the fleet's).
    pub tickets: ticket::Tickets,
}

impl SipState {
    /// The state for `config`.
    pub fn new(config: &crate::config::sip::SipConfig) -> Self {
        SipState {
            sockets: sockets::Sockets::default(),
            limiter: RateLimiter::new(config.rate_per_minute, config.rate_burst),
            turn: ice::TurnCache::default(),
            tickets: ticket::Tickets::default(),
        }
    }
}
