//! Counters for tests and benches: RPC calls per action, throttled calls,
//! and what happened to pushed events. Lock-free (atomics), so counting
//! never slows the RPC path.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use ccc_model::Action;

/// What happened to events, as counts of events (not of POSTs unless named).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventStats {
    /// Accepted into the delivery queue.
    pub queued: u64,
    /// Refused because the queue was full (never queued).
    pub dropped: u64,
    /// Delivered with a 2xx answer (duplicates count twice).
    pub delivered: u64,
    /// Given up: every attempt failed, or the webhook was removed meanwhile.
    pub failed: u64,
    /// Lost on purpose (`lossRate`).
    pub lost: u64,
    /// Sent twice on purpose (`duplicateRate`); the copy comes later.
    pub duplicated: u64,
    /// Held back behind later events on purpose (`reorderRate`).
    pub reordered: u64,
    /// Successful POSTs.
    pub posts: u64,
    /// Failed attempts that were retried.
    pub retries: u64,
}

impl EventStats {
    /// True when every queued event (and every copy) was delivered, lost or
    /// given up: nothing is waiting or being retried.
    pub fn is_settled(&self) -> bool {
        self.delivered + self.lost + self.failed == self.queued + self.duplicated
    }
}

/// A snapshot of every counter (`GET /_sim/stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Authenticated RPC calls per action (throttled ones included).
    pub calls: BTreeMap<String, u64>,
    /// The sum of `calls`.
    pub total_calls: u64,
    /// Calls answered `Throttling.User` by the quota.
    pub throttled: u64,
    /// `throttled` per action.
    pub throttled_by_action: BTreeMap<String, u64>,
    /// Changes of an agent's state (or break code), whoever made them and
    /// whether or not events are pushed: the denominator of "upstream
    /// calls per state change".
    pub state_changes: u64,
    /// Event deliveries.
    pub events: EventStats,
}

impl Stats {
    /// The calls of one action.
    pub fn calls_of(&self, action: &str) -> u64 {
        self.calls.get(action).copied().unwrap_or(0)
    }
}

fn zeros(n: usize) -> Vec<AtomicU64> {
    (0..n).map(|_| AtomicU64::new(0)).collect()
}

/// The live counters.
#[derive(Debug)]
pub(crate) struct Counters {
    calls: Vec<AtomicU64>,
    throttled: Vec<AtomicU64>,
    pub(crate) state_changes: AtomicU64,
    pub(crate) queued: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) delivered: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) lost: AtomicU64,
    pub(crate) duplicated: AtomicU64,
    pub(crate) reordered: AtomicU64,
    pub(crate) posts: AtomicU64,
    pub(crate) retries: AtomicU64,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            calls: zeros(Action::ALL.len()),
            throttled: zeros(Action::ALL.len()),
            state_changes: AtomicU64::new(0),
            queued: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            lost: AtomicU64::new(0),
            duplicated: AtomicU64::new(0),
            reordered: AtomicU64::new(0),
            posts: AtomicU64::new(0),
            retries: AtomicU64::new(0),
        }
    }
}

/// Adds `n` to a counter.
pub(crate) fn add(c: &AtomicU64, n: usize) {
    c.fetch_add(n as u64, Ordering::Relaxed);
}

fn per_action(v: &[AtomicU64]) -> BTreeMap<String, u64> {
    Action::ALL
        .iter()
        .zip(v)
        .map(|(a, c)| (a.name().to_owned(), c.load(Ordering::Relaxed)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

impl Counters {
    /// Counts one authenticated call of `action`.
    pub(crate) fn call(&self, action: Action) {
        add(&self.calls[action.index()], 1);
    }

    /// Counts one throttled call of `action`.
    pub(crate) fn throttle(&self, action: Action) {
        add(&self.throttled[action.index()], 1);
    }

    fn event_counters(&self) -> [&AtomicU64; 9] {
        [
            &self.queued,
            &self.dropped,
            &self.delivered,
            &self.failed,
            &self.lost,
            &self.duplicated,
            &self.reordered,
            &self.posts,
            &self.retries,
        ]
    }

    /// Every counter back to zero.
    pub(crate) fn reset(&self) {
        let all = self.calls.iter().chain(&self.throttled);
        for c in all
            .chain(self.event_counters())
            .chain([&self.state_changes])
        {
            c.store(0, Ordering::Relaxed);
        }
    }

    /// A snapshot.
    pub(crate) fn snapshot(&self) -> Stats {
        let calls = per_action(&self.calls);
        let throttled_by_action = per_action(&self.throttled);
        let [queued, dropped, delivered, failed, lost, duplicated, reordered, posts, retries] =
            self.event_counters().map(|c| c.load(Ordering::Relaxed));
        Stats {
            total_calls: calls.values().sum(),
            throttled: throttled_by_action.values().sum(),
            calls,
            throttled_by_action,
            state_changes: self.state_changes.load(Ordering::Relaxed),
            events: EventStats {
                queued,
                dropped,
                delivered,
                failed,
                lost,
                duplicated,
                reordered,
                posts,
                retries,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_action_and_resets() {
        let c = Counters::default();
        c.call(Action::PollUserStatus);
        c.call(Action::PollUserStatus);
        c.call(Action::TakeBreak);
        c.throttle(Action::PollUserStatus);
        add(&c.delivered, 3);
        add(&c.state_changes, 2);
        let s = c.snapshot();
        assert_eq!(s.calls_of("PollUserStatus"), 2);
        assert_eq!(s.calls_of("TakeBreak"), 1);
        assert_eq!(s.total_calls, 3);
        assert_eq!(s.throttled, 1);
        assert_eq!(s.throttled_by_action["PollUserStatus"], 1);
        assert_eq!(s.events.delivered, 3);
        assert_eq!(s.state_changes, 2);
        assert!(!s.events.is_settled(), "3 delivered, none queued");
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["totalCalls"], 3);
        assert_eq!(json["events"]["delivered"], 3);
        c.reset();
        assert_eq!(c.snapshot(), Stats::default());
    }
}
