//! Connection health of the state sync: connected / reconnecting / offline,
//! and when the shown data counts as stale.

/// What the connection indicator says (`data-connection`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConnectionState {
    /// The last sync succeeded.
    Connected,
    /// Not synced yet, or retrying after a failure.
    #[default]
    Reconnecting,
    /// The browser is offline, or syncing failed repeatedly.
    Offline,
}

impl ConnectionState {
    /// The `data-connection` / event spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Connected => "connected",
            ConnectionState::Reconnecting => "reconnecting",
            ConnectionState::Offline => "offline",
        }
    }
}

/// Consecutive failures after which the indicator says offline.
pub const OFFLINE_AFTER_FAILURES: u32 = 4;
/// A long-poll waits 25 s; data older than this (wait + margin) is stale.
pub const STALE_AFTER_MS: f64 = 40_000.0;

/// What the sync loop knows about its own health.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SyncHealth {
    /// `navigator.onLine`.
    pub browser_offline: bool,
    /// Failures since the last success.
    pub failures: u32,
    /// Local time (ms) of the last successful sync.
    pub last_success_ms: Option<f64>,
}

impl SyncHealth {
    /// Records a successful sync at `now_ms`.
    pub fn success(&mut self, now_ms: f64) {
        self.failures = 0;
        self.last_success_ms = Some(now_ms);
        self.browser_offline = false;
    }

    /// Records a failed sync.
    pub fn failure(&mut self) {
        self.failures = self.failures.saturating_add(1);
    }

    /// The indicator's state.
    pub fn state(&self) -> ConnectionState {
        if self.browser_offline || self.failures >= OFFLINE_AFTER_FAILURES {
            ConnectionState::Offline
        } else if self.failures > 0 || self.last_success_ms.is_none() {
            ConnectionState::Reconnecting
        } else {
            ConnectionState::Connected
        }
    }

    /// The time of the last good data when it is older than [`STALE_AFTER_MS`]
    /// at `now_ms`, or when the connection is not healthy and there was data.
    pub fn stale_since(&self, now_ms: f64) -> Option<f64> {
        let last = self.last_success_ms?;
        let old = now_ms - last > STALE_AFTER_MS;
        (old || self.state() != ConnectionState::Connected).then_some(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_reconnecting_then_connects() {
        let mut h = SyncHealth::default();
        assert_eq!(h.state(), ConnectionState::Reconnecting);
        h.success(1.0);
        assert_eq!(h.state(), ConnectionState::Connected);
        assert_eq!(h.state().as_str(), "connected");
    }

    #[test]
    fn failures_reconnect_then_offline() {
        let mut h = SyncHealth::default();
        h.success(0.0);
        h.failure();
        assert_eq!(h.state(), ConnectionState::Reconnecting);
        for _ in 1..OFFLINE_AFTER_FAILURES {
            h.failure();
        }
        assert_eq!(h.state(), ConnectionState::Offline);
        h.success(5.0);
        assert_eq!(h.state(), ConnectionState::Connected);
    }

    #[test]
    fn browser_offline_wins() {
        let h = SyncHealth {
            browser_offline: true,
            ..Default::default()
        };
        assert_eq!(h.state(), ConnectionState::Offline);
    }

    #[test]
    fn stale_after_forty_seconds_or_when_unhealthy() {
        let mut h = SyncHealth::default();
        assert_eq!(h.stale_since(1e9), None, "no data, nothing stale");
        h.success(1_000.0);
        assert_eq!(h.stale_since(30_000.0), None);
        assert_eq!(h.stale_since(41_001.0), Some(1_000.0));
        h.failure();
        assert_eq!(h.stale_since(2_000.0), Some(1_000.0));
    }
}
