//! The long-polls waiting on an agent: admitted within the per-device and
//! per-agent limits (the oldest answered early beyond them), counted for
//! presence while they wait, and answered when the agent's view changes.

use super::*;

#[derive(Debug)]
pub(super) struct Interest {
    pub(super) running: bool,
    pub(super) waiters: usize,
    pub(super) last_interest: Instant,
    pub(super) device_id: String,
    /// Some when this replica holds the agent's lease (or runs alone).
    pub(super) lease: Option<Lease>,
    /// Waiting long-polls, oldest first.
    pub(super) slots: VecDeque<Slot>,
}

/// One waiting long-poll: which device, and how to answer it early.
#[derive(Debug)]
pub(super) struct Slot {
    pub(super) id: u64,
    pub(super) device: String,
    pub(super) evict: Arc<Notify>,
}

impl Interest {
    /// Adds a waiter of `device`; returns the waiters to answer at once
    /// because `device` or the agent has more than `limits` allow.
    fn admit(&mut self, slot: Slot, limits: LongPollLimits) -> Vec<Arc<Notify>> {
        let mut evicted = Vec::new();
        let same_device = self
            .slots
            .iter()
            .filter(|s| s.device == slot.device)
            .count();
        if same_device >= limits.per_device {
            if let Some(i) = self.slots.iter().position(|s| s.device == slot.device) {
                evicted.extend(self.slots.remove(i).map(|s| s.evict));
            }
        }
        if self.slots.len() >= limits.per_agent {
            evicted.extend(self.slots.pop_front().map(|s| s.evict));
        }
        self.slots.push_back(slot);
        evicted
    }

    fn release(&mut self, id: u64) {
        self.slots.retain(|s| s.id != id);
    }
}

/// Most long-polls waiting per device and per agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongPollLimits {
    /// Per device (browser profile).
    pub per_device: usize,
    /// Per agent, over all devices.
    pub per_agent: usize,
}

/// Keeps an agent's loop alive while a long-poll waits.
pub(super) struct WaiterGuard<'a> {
    pub(super) hub: &'a AgentHub,
    pub(super) metrics: &'a Metrics,
    pub(super) presence: Option<&'a Mutex<presence::Tracker>>,
    pub(super) slot: u64,
}

impl Drop for WaiterGuard<'_> {
    fn drop(&mut self) {
        let mut i = self.hub.interest();
        i.release(self.slot);
        i.waiters -= 1;
        i.last_interest = Instant::now();
        drop(i);
        if let Some(p) = self.presence {
            lock(p).closed(&self.hub.user_id, Instant::now());
        }
        self.metrics.waiters_add(-1);
    }
}

impl Hub {
    /// The answer for a snapshot, with its freshness.
    pub fn fresh(&self, view: &View) -> Option<FreshSnapshot> {
        let refresh_ms = if self.opts.events {
            0
        } else {
            u64::try_from(self.poll_interval().as_millis()).unwrap_or(u64::MAX)
        };
        view.served().map(|mut snapshot| {
            // The widget corrects its clock by `serverTime`: it must be the
            // moment of this answer, not of the change (which, with events,
            // may be minutes old), or the time in state starts short.
            snapshot.server_time = now_ms();
            FreshSnapshot {
                snapshot,
                fetched_at: view.fetched_at,
                refresh_ms,
            }
        })
    }

    /// Marks interest in `user_id` (starting its loop when needed) and
    /// returns what the hub knows right now.
    pub fn touch(self: &Arc<Self>, user_id: &str, device_id: Option<&str>) -> Latest {
        let agent = self.agent(user_id);
        self.ensure_running(&agent, device_id);
        let latest = agent.tx.borrow().clone();
        latest
    }

    /// Waits up to `wait` for a snapshot whose `contextId` differs from
    /// `since`. `Ok(None)` means "nothing known yet" (the caller fetches).
    /// When the device or agent already has as many waiters as the limits
    /// allow, the oldest of them answers at once with what it has.
    pub async fn wait_change(
        self: &Arc<Self>,
        user_id: &str,
        device_id: Option<&str>,
        since: i64,
        wait: Duration,
    ) -> Result<Option<View>, AppError> {
        let agent = self.agent(user_id);
        let slot = self.next_slot.fetch_add(1, Ordering::Relaxed);
        let evict = Arc::new(Notify::new());
        let presence = self.presence_on().then_some(&self.presence);
        if let Some(p) = presence {
            lock(p).opened(user_id, Instant::now());
        }
        let evicted = {
            let mut i = agent.interest();
            i.waiters += 1;
            i.admit(
                Slot {
                    id: slot,
                    device: device_id.unwrap_or(DEFAULT_DEVICE_ID).to_owned(),
                    evict: evict.clone(),
                },
                self.opts.limits,
            )
        };
        for e in evicted {
            self.metrics.longpoll_evicted();
            // notify_one stores a permit: it works even before the waiter waits.
            e.notify_one();
        }
        self.metrics.waiters_add(1);
        let _guard = WaiterGuard {
            hub: &agent,
            metrics: &self.metrics,
            presence,
            slot,
        };
        self.ensure_running(&agent, device_id);
        let mut rx = agent.tx.subscribe();
        let mut shutdown = self.shutdown.clone();
        let changed = rx
            .wait_for(|l| l.error.is_some() || l.snapshot().is_some_and(|s| s.context_id != since));
        tokio::select! {
            res = tokio::time::timeout(wait.min(MAX_WAIT), changed) => {
                if let Ok(Ok(latest)) = res {
                    let Latest { view, error } = latest.clone();
                    let version = view.snapshot.as_ref().map(|s| s.context_id);
                    return match (version, error) {
                        (Some(v), _) if v != since => Ok(Some(view)),
                        (_, Some(e)) => Err(e),
                        (v, None) => Ok(v.is_some().then_some(view)),
                    };
                }
            }
            _ = shutdown.wait_for(|s| *s) => {}
            () = evict.notified() => {}
        }
        let latest = agent.tx.borrow().clone();
        Ok(latest.snapshot().is_some().then_some(latest.view))
    }

    /// The shown view of `user_id`, if any.
    pub fn view(&self, user_id: &str) -> Option<View> {
        let agent = self.existing(user_id)?;
        let v = agent.tx.borrow().view.clone();
        v.snapshot.is_some().then_some(v)
    }

    /// Follows what the hub knows about `user_id` ([`crate::next_state_apply`]).
    pub fn subscribe(&self, user_id: &str) -> watch::Receiver<Latest> {
        self.agent(user_id).tx.subscribe()
    }

    /// Applies `f` to the view of `user_id` (a compare-and-set in Redis with
    /// replicas, as every change): the view afterwards and what `f` did.
    pub async fn update_view(
        &self,
        user_id: &str,
        f: impl Fn(&mut View) -> Applied,
    ) -> (View, Applied) {
        let agent = self.agent(user_id);
        self.update(&agent, None, f).await
    }

    /// The latest known `contextId` of `user_id`, if any.
    pub fn context_id(&self, user_id: &str) -> Option<i64> {
        self.view(user_id).map(|v| v.version())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_polls_beyond_the_limits_evict_the_oldest() {
        let limits = LongPollLimits {
            per_device: 2,
            per_agent: 3,
        };
        let mut i = Interest {
            running: false,
            waiters: 0,
            last_interest: Instant::now(),
            device_id: String::new(),
            lease: None,
            slots: VecDeque::new(),
        };
        let slot = |id: u64, device: &str| Slot {
            id,
            device: device.to_owned(),
            evict: Arc::new(Notify::new()),
        };
        assert!(i.admit(slot(1, "a"), limits).is_empty());
        assert!(i.admit(slot(2, "a"), limits).is_empty());
        assert_eq!(i.admit(slot(3, "a"), limits).len(), 1, "third of device a");
        let ids: Vec<u64> = i.slots.iter().map(|s| s.id).collect();
        assert_eq!(ids, [2, 3], "the oldest of the device went");
        assert!(i.admit(slot(4, "b"), limits).is_empty());
        assert_eq!(
            i.admit(slot(5, "c"), limits).len(),
            1,
            "fourth of the agent"
        );
        let ids: Vec<u64> = i.slots.iter().map(|s| s.id).collect();
        assert_eq!(ids, [3, 4, 5]);
        i.release(4);
        let ids: Vec<u64> = i.slots.iter().map(|s| s.id).collect();
        assert_eq!(ids, [3, 5]);
    }
}
