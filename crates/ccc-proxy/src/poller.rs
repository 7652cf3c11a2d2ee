//! Per-agent hubs behind the long-poll: one upstream `PollUserStatus` loop
//! per agent that somebody is watching (about once a second), shared by
//! every tab and browser of that agent, stopped after a while without
//! readers. The latest snapshot lives in a `tokio::sync::watch`; commands
//! publish their fresh snapshot into it to wake the long-pollers at once.

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, MutexGuard, PoisonError,
    },
    time::Duration,
};

use ccc_model::api::AgentSnapshot;
use tokio::{
    sync::{watch, Notify},
    time::Instant,
};

use crate::{
    errors::AppError,
    metrics::Metrics,
    upstream::{now_ms, CccClient},
};

/// Device id used for polling before any browser of the agent named one.
pub const DEFAULT_DEVICE_ID: &str = "ccc-proxy";

/// What the hub knows about one agent.
#[derive(Debug, Clone, Default)]
pub struct Latest {
    /// The latest snapshot (none until the first poll of a loop).
    pub snapshot: Option<AgentSnapshot>,
    /// The error of the latest poll, when it failed.
    pub error: Option<AppError>,
}

#[derive(Debug)]
struct Interest {
    running: bool,
    waiters: usize,
    last_interest: Instant,
    device_id: String,
    /// Waiting long-polls, oldest first.
    slots: VecDeque<Slot>,
}

/// One waiting long-poll: which device, and how to answer it early.
#[derive(Debug)]
struct Slot {
    id: u64,
    device: String,
    evict: Arc<Notify>,
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

#[derive(Debug)]
struct AgentHub {
    user_id: String,
    tx: watch::Sender<Latest>,
    interest: Mutex<Interest>,
}

impl AgentHub {
    fn interest(&self) -> MutexGuard<'_, Interest> {
        self.interest.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Every agent's hub, plus what the loops need.
#[derive(Debug)]
pub struct Hub {
    agents: Mutex<HashMap<String, Arc<AgentHub>>>,
    client: CccClient,
    metrics: Arc<Metrics>,
    interval: Duration,
    idle: Duration,
    limits: LongPollLimits,
    next_slot: AtomicU64,
    shutdown: watch::Receiver<bool>,
}

/// Keeps an agent's loop alive while a long-poll waits.
struct WaiterGuard<'a> {
    hub: &'a AgentHub,
    metrics: &'a Metrics,
    slot: u64,
}

impl Drop for WaiterGuard<'_> {
    fn drop(&mut self) {
        let mut i = self.hub.interest();
        i.release(self.slot);
        i.waiters -= 1;
        i.last_interest = Instant::now();
        self.metrics.waiters_add(-1);
    }
}

/// Longest long-poll wait.
pub const MAX_WAIT: Duration = Duration::from_secs(30);

impl Hub {
    /// A hub polling through `client` every `interval`, stopping an agent's
    /// loop after `idle` without readers, and every loop on `shutdown`;
    /// at most `limits` long-polls wait per device and agent.
    pub fn new(
        client: CccClient,
        metrics: Arc<Metrics>,
        interval: Duration,
        idle: Duration,
        limits: LongPollLimits,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Hub {
            agents: Mutex::new(HashMap::new()),
            client,
            metrics,
            interval,
            idle,
            limits,
            next_slot: AtomicU64::new(0),
            shutdown,
        }
    }

    fn agent(&self, user_id: &str) -> Arc<AgentHub> {
        let mut agents = self.agents.lock().unwrap_or_else(PoisonError::into_inner);
        agents
            .entry(user_id.to_owned())
            .or_insert_with(|| {
                Arc::new(AgentHub {
                    user_id: user_id.to_owned(),
                    tx: watch::Sender::new(Latest::default()),
                    interest: Mutex::new(Interest {
                        running: false,
                        waiters: 0,
                        last_interest: Instant::now(),
                        device_id: DEFAULT_DEVICE_ID.to_owned(),
                        slots: VecDeque::new(),
                    }),
                })
            })
            .clone()
    }

    /// Marks interest in `user_id` (starting its loop when needed) and
    /// returns what the hub knows right now.
    pub fn touch(&self, user_id: &str, device_id: Option<&str>) -> Latest {
        let agent = self.agent(user_id);
        self.ensure_running(&agent, device_id);
        let latest = agent.tx.borrow().clone();
        latest
    }

    fn ensure_running(&self, agent: &Arc<AgentHub>, device_id: Option<&str>) {
        let mut i = agent.interest();
        i.last_interest = Instant::now();
        if let Some(d) = device_id {
            d.clone_into(&mut i.device_id);
        }
        if i.running || *self.shutdown.borrow() {
            return;
        }
        i.running = true;
        drop(i);
        self.metrics.poll_loop_started();
        tokio::spawn(poll_loop(
            agent.clone(),
            self.client.clone(),
            self.metrics.clone(),
            self.interval,
            self.idle,
            self.shutdown.clone(),
        ));
    }

    /// Waits up to `wait` for a snapshot whose `contextId` differs from
    /// `since`. `Ok(None)` means "nothing known yet" (the caller fetches).
    /// When the device or agent already has as many waiters as the limits
    /// allow, the oldest of them answers at once with what it has.
    pub async fn wait_change(
        &self,
        user_id: &str,
        device_id: Option<&str>,
        since: i64,
        wait: Duration,
    ) -> Result<Option<AgentSnapshot>, AppError> {
        let agent = self.agent(user_id);
        let slot = self.next_slot.fetch_add(1, Ordering::Relaxed);
        let evict = Arc::new(Notify::new());
        let evicted = {
            let mut i = agent.interest();
            i.waiters += 1;
            i.admit(
                Slot {
                    id: slot,
                    device: device_id.unwrap_or(DEFAULT_DEVICE_ID).to_owned(),
                    evict: evict.clone(),
                },
                self.limits,
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
            slot,
        };
        self.ensure_running(&agent, device_id);
        let mut rx = agent.tx.subscribe();
        let mut shutdown = self.shutdown.clone();
        let changed = rx.wait_for(|l| {
            l.error.is_some() || l.snapshot.as_ref().is_some_and(|s| s.context_id != since)
        });
        tokio::select! {
            res = tokio::time::timeout(wait.min(MAX_WAIT), changed) => {
                if let Ok(Ok(latest)) = res {
                    let latest = latest.clone();
                    return match (latest.snapshot, latest.error) {
                        (Some(s), _) if s.context_id != since => Ok(Some(s)),
                        (_, Some(e)) => Err(e),
                        (s, None) => Ok(s),
                    };
                }
            }
            _ = shutdown.wait_for(|s| *s) => {}
            () = evict.notified() => {}
        }
        let latest = agent.tx.borrow().clone();
        Ok(latest.snapshot)
    }

    /// Publishes a snapshot fetched by a command, waking long-pollers, when
    /// the agent's loop runs and the snapshot is not older than the hub's.
    pub fn publish(&self, user_id: &str, snapshot: &AgentSnapshot) {
        let agent = self.agent(user_id);
        if !agent.interest().running {
            return;
        }
        agent.tx.send_if_modified(|l| store(l, snapshot.clone()));
    }

    /// The latest known `contextId` of `user_id`, if any.
    pub fn context_id(&self, user_id: &str) -> Option<i64> {
        let agent = self.agent(user_id);
        let id = agent.tx.borrow().snapshot.as_ref().map(|s| s.context_id);
        id
    }
}

/// Stores `new` unless older; true (notify) when anything but the clock changed.
fn store(latest: &mut Latest, new: AgentSnapshot) -> bool {
    let had_error = latest.error.take().is_some();
    match &latest.snapshot {
        Some(old) if old.context_id > new.context_id => had_error,
        Some(old) if same_content(old, &new) => {
            latest.snapshot = Some(new);
            had_error
        }
        _ => {
            latest.snapshot = Some(new);
            true
        }
    }
}

fn same_content(a: &AgentSnapshot, b: &AgentSnapshot) -> bool {
    a.context_id == b.context_id && a.agent == b.agent && a.call == b.call && a.muted == b.muted
}

async fn poll_loop(
    agent: Arc<AgentHub>,
    client: CccClient,
    metrics: Arc<Metrics>,
    interval: Duration,
    idle: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    tracing::debug!(user_id = %agent.user_id, "poll loop started");
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut first = true;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.wait_for(|s| *s) => {}
        }
        let device_id = {
            let mut i = agent.interest();
            // Every loop polls at least once: whoever started it wants a snapshot.
            let idle_out = !first && i.waiters == 0 && i.last_interest.elapsed() >= idle;
            first = false;
            if idle_out || *shutdown.borrow() {
                i.running = false;
                agent.tx.send_replace(Latest::default());
                break;
            }
            i.device_id.clone()
        };
        match client.poll_user_status(&agent.user_id, &device_id).await {
            Ok(data) => {
                let snap = AgentSnapshot::from_poll(&data, now_ms());
                agent.tx.send_if_modified(|l| store(l, snap));
            }
            Err(e) => {
                tracing::warn!(user_id = %agent.user_id, error = %e, "poll failed");
                let err = AppError::from(e);
                agent.tx.send_modify(|l| l.error = Some(err));
            }
        }
    }
    metrics.poll_loop_stopped();
    tracing::debug!(user_id = %agent.user_id, "poll loop stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(ctx: i64, time: i64) -> AgentSnapshot {
        AgentSnapshot {
            context_id: ctx,
            server_time: time,
            ..AgentSnapshot::default()
        }
    }

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

    #[test]
    fn store_ignores_older_and_clock_only_changes() {
        let mut l = Latest::default();
        assert!(store(&mut l, snap(5, 1)));
        assert!(!store(&mut l, snap(5, 2)));
        assert_eq!(l.snapshot.as_ref().unwrap().server_time, 2);
        assert!(!store(&mut l, snap(4, 3)));
        assert_eq!(l.snapshot.as_ref().unwrap().context_id, 5);
        assert!(store(&mut l, snap(6, 4)));
        l.error = Some(AppError::no_call());
        assert!(store(&mut l, snap(6, 5)), "clearing an error wakes waiters");
    }
}
