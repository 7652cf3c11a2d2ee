//! The relay's metrics (registered into the proxy's one registry by
//! [`crate::metrics::Metrics`]); every label from a closed set.

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct DirectionLabels {
    direction: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

/// Which way a relayed message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Browser → SIP server.
    ToServer,
    /// SIP server → browser.
    ToBrowser,
}

impl Direction {
    fn label(self) -> &'static str {
        match self {
            Direction::ToServer => "to_server",
            Direction::ToBrowser => "to_browser",
        }
    }
}

/// Why the relay refused a message or a socket.
pub const REFUSALS: [&str; 5] = ["aor", "rate", "malformed", "too_large", "replaced"];

/// Counters and gauges of the SIP relay.
#[derive(Debug, Clone, Default)]
pub struct SipMetrics {
    sockets: Gauge,
    registrations: Counter,
    calls: Counter,
    bytes: Family<DirectionLabels, Counter>,
    refused: Family<ReasonLabels, Counter>,
}

impl SipMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let m = SipMetrics::default();
        for direction in ["to_server", "to_browser"] {
            let _ = m.bytes.get_or_create(&DirectionLabels { direction });
        }
        for reason in REFUSALS {
            let _ = m.refused.get_or_create(&ReasonLabels { reason });
        }
        registry.register(
            "sip_sockets",
            "SIP relay WebSockets open",
            m.sockets.clone(),
        );
        registry.register(
            "sip_registrations",
            "REGISTER transactions the SIP server accepted (2xx) through the relay",
            m.registrations.clone(),
        );
        registry.register(
            "sip_calls",
            "New INVITEs (outside a dialog) relayed either way",
            m.calls.clone(),
        );
        registry.register(
            "sip_relay_bytes",
            "SIP bytes relayed, by direction (to_server, to_browser)",
            m.bytes.clone(),
        );
        registry.register(
            "sip_refused",
            "SIP messages or sockets the relay refused, by reason",
            m.refused.clone(),
        );
        m
    }

    /// A relay socket opened (+1) or closed (-1).
    pub fn sockets_add(&self, delta: i64) {
        self.sockets.inc_by(delta);
    }

    /// Relay sockets open now.
    pub fn sockets(&self) -> i64 {
        self.sockets.get()
    }

    /// The SIP server accepted a REGISTER.
    pub fn registered(&self) {
        self.registrations.inc();
    }

    /// Accepted REGISTERs since start.
    pub fn registrations(&self) -> u64 {
        self.registrations.get()
    }

    /// A new INVITE went through.
    pub fn call(&self) {
        self.calls.inc();
    }

    /// New INVITEs since start.
    pub fn calls(&self) -> u64 {
        self.calls.get()
    }

    /// `n` bytes relayed in `direction`.
    pub fn relayed(&self, direction: Direction, n: usize) {
        self.bytes
            .get_or_create(&DirectionLabels {
                direction: direction.label(),
            })
            .inc_by(u64::try_from(n).unwrap_or(u64::MAX));
    }

    /// Bytes relayed in `direction` since start.
    pub fn bytes(&self, direction: Direction) -> u64 {
        self.bytes
            .get_or_create(&DirectionLabels {
                direction: direction.label(),
            })
            .get()
    }

    /// The relay refused something for `reason` (one of [`REFUSALS`]).
    pub fn refused(&self, reason: &'static str) {
        self.refused.get_or_create(&ReasonLabels { reason }).inc();
    }

    /// Refusals for `reason` since start.
    pub fn refusals(&self, reason: &'static str) -> u64 {
        self.refused.get_or_create(&ReasonLabels { reason }).get()
    }
}
