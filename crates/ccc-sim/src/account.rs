//! The simulated account: its quota (`Throttling.User` above the limit),
//! the counters tests and benches read, and the event subscription
//! (webhooks, switched-off event types, delivery faults).

use std::sync::MutexGuard;
use std::time::Instant;

use ccc_model::EventType;

use crate::{quota, DeliveryFaults, SimError, SimState, Stats, Subscription, WebhookTarget};

impl SimState {
    /// The account's quota in calls per second (`None`: no limit).
    pub fn qps_limit(&self) -> Option<u32> {
        self.lock_quota().as_ref().map(quota::Quota::rate)
    }

    /// Sets the account's quota (`None` or 0: no limit), with a full bucket.
    pub fn set_qps_limit(&self, limit: Option<u32>) {
        let bucket = limit
            .filter(|n| *n > 0)
            .map(|n| quota::Quota::new(n, Instant::now()));
        tracing::info!(qps_limit = ?limit, "quota set");
        *self.lock_quota() = bucket;
    }

    fn lock_quota(&self) -> MutexGuard<'_, Option<quota::Quota>> {
        self.inner.quota.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts an authenticated call of `action` and takes a token from the
    /// quota; false means "answer `Throttling.User`".
    pub(crate) fn admit(&self, action: ccc_model::Action) -> bool {
        let counters = &self.inner.publisher.hub.counters;
        counters.call(action);
        let admitted = self
            .lock_quota()
            .as_mut()
            .is_none_or(|b| b.try_take(Instant::now()));
        if !admitted {
            counters.throttle(action);
        }
        admitted
    }

    /// Every counter: calls per action, throttled calls, event deliveries.
    pub fn stats(&self) -> Stats {
        self.inner.publisher.hub.counters.snapshot()
    }

    /// Sets every counter back to zero.
    pub fn reset_stats(&self) {
        self.inner.publisher.hub.counters.reset();
    }

    /// The event subscription (webhook, switched-off events, faults).
    pub fn subscription(&self) -> Subscription {
        self.inner.publisher.hub.subscription()
    }

    /// Pushes events to `target` from now on (`None`: stop pushing). This
    /// is the in-process equivalent of `--webhook-url` / `--webhook-token`.
    pub fn set_webhook(&self, target: Option<WebhookTarget>) {
        self.set_webhooks(target.into_iter().collect());
    }

    /// Pushes events to several receivers in turn, a failed attempt going
    /// to the next (a load balancer in front of proxy replicas); an empty
    /// list stops pushing.
    pub fn set_webhooks(&self, targets: Vec<WebhookTarget>) {
        tracing::info!(webhooks = ?targets, "webhooks set");
        self.inner.publisher.hub.update(|s| s.targets = targets);
    }

    /// Switches event types on or off (`UpdateSubscription`'s
    /// `EventSubscriptionsJson`).
    pub fn set_events_enabled(&self, switches: &[(EventType, bool)]) {
        self.inner.publisher.hub.update(|s| {
            for (ty, on) in switches {
                if *on {
                    s.disabled.remove(ty);
                } else {
                    s.disabled.insert(*ty);
                }
            }
        });
    }

    /// Sets the delivery faults (loss, duplicate, reorder rates, seed).
    pub fn set_delivery_faults(&self, faults: DeliveryFaults) -> Result<(), SimError> {
        faults.validate()?;
        tracing::info!(?faults, "delivery faults set");
        self.inner.publisher.hub.update(|s| s.faults = faults);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use ccc_model::Action;

    use crate::{SimConfig, SimState};

    #[test]
    fn the_quota_throttles_and_every_call_is_counted() {
        let sim = SimState::new(SimConfig::demo());
        assert_eq!(sim.qps_limit(), None);
        sim.set_qps_limit(Some(1));
        assert_eq!(sim.qps_limit(), Some(1));
        let admitted = (0..5).filter(|_| sim.admit(Action::PollUserStatus)).count();
        assert_eq!(admitted, 1, "one call in any second");
        let s = sim.stats();
        assert_eq!(s.calls_of("PollUserStatus"), 5);
        assert_eq!(s.throttled, 4);
        sim.reset_stats();
        assert_eq!(sim.stats().total_calls, 0);
        sim.set_qps_limit(None);
        assert!(sim.admit(Action::PollUserStatus));
    }

    #[test]
    fn event_switches_and_webhooks() {
        let sim = SimState::new(SimConfig::demo());
        sim.set_events_enabled(&[(ccc_model::EventType::AgentReady, false)]);
        assert!(sim
            .subscription()
            .disabled
            .contains(&ccc_model::EventType::AgentReady));
        sim.set_events_enabled(&[(ccc_model::EventType::AgentReady, true)]);
        assert!(sim.subscription().disabled.is_empty());
        let target = crate::WebhookTarget::new("http://127.0.0.1:9/hook", None).unwrap();
        sim.set_webhook(Some(target));
        assert_eq!(sim.subscription().targets.len(), 1);
        sim.set_webhook(None);
        assert!(sim.subscription().targets.is_empty());
    }
}
