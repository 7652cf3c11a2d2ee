//! [`SimState`]: the shared, cheaply cloned handle every handler and timer
//! holds — configuration, the signature verifier, the [`World`] behind a
//! mutex, faults, the job counter, the quota and the event publisher — and
//! its core: build, change an agent and push the events, reset, and look
//! up the caller's agent and instance.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use ccc_model::{CccError, ErrorCode, EventMessage as Event, EventType};

use crate::state_machine::Agent;
use crate::webhook::{self, Subscription};
use crate::{auth, faults, now_ms, quota, stats, DialTimings, SimConfig, World};

pub(crate) struct Inner {
    pub(crate) config: SimConfig,
    pub(crate) verifier: auth::Verifier,
    pub(crate) world: Mutex<World>,
    pub(crate) faults: Mutex<faults::Faults>,
    pub(crate) job_seq: AtomicU64,
    pub(crate) quota: Mutex<Option<quota::TokenBucket>>,
    pub(crate) publisher: webhook::Publisher,
    pub(crate) dial: Mutex<DialTimings>,
    /// Issue 20: registrations, SIP calls, media peers.
    pub(crate) softphone: crate::softphone::Softphone,
}

/// Shared simulator state: configuration, agents, faults, nonces. Cheap to clone.
#[derive(Clone)]
pub struct SimState {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for SimState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimState")
            .field("verifier", &self.inner.verifier)
            .finish_non_exhaustive()
    }
}

impl SimState {
    /// A fresh simulator state; every agent OFFLINE.
    pub fn new(config: SimConfig) -> Self {
        let verifier = auth::Verifier::new(config.access_keys(), config.timings.clock_window_secs);
        let world = World::from_config(&config, now_ms());
        let base = rand::random_range(1_000_000_000_000_000u64..9_000_000_000_000_000u64);
        let subscription = Subscription {
            targets: config.events.targets().unwrap_or_default(),
            faults: config.events.faults(),
            ..Subscription::default()
        };
        let publisher = webhook::Publisher::new(subscription, config.events.queue_capacity);
        let quota = config
            .qps_limit
            .filter(|n| *n > 0)
            .map(|n| quota::TokenBucket::new(n, Instant::now()));
        let dial = config.timings.dial();
        let softphone = crate::softphone::Softphone::new(&config.softphone);
        SimState {
            inner: Arc::new(Inner {
                config,
                verifier,
                world: Mutex::new(world),
                faults: Mutex::new(faults::Faults::default()),
                job_seq: AtomicU64::new(base),
                dial: Mutex::new(dial),
                quota: Mutex::new(quota),
                publisher,
                softphone,
            }),
        }
    }

    /// The SIP server (issue 20).
    pub fn softphone(&self) -> &crate::softphone::Softphone {
        &self.inner.softphone
    }

    /// Issue 20: whether `user_id`'s calls go to its registered softphone
    /// (ON_SITE with a live registration). Locks the world: never call it
    /// with the world locked.
    pub(crate) fn softphone_takes_calls(&self, user_id: &str) -> bool {
        self.inner.softphone.has_device(user_id, now_ms())
            && self
                .agent(user_id)
                .is_some_and(|a| a.work_mode == ccc_model::WorkMode::OnSite)
    }

    /// Runs `f` on agent `user_id` and pushes the events of the change
    /// (queued while the world is locked, so per agent they keep their
    /// order). `None` when there is no such agent.
    pub fn apply<R>(&self, user_id: &str, f: impl FnOnce(&mut Agent) -> R) -> Option<R> {
        let mut world = self.world();
        let (result, events) = world.change(user_id, f)?;
        self.publish(events);
        let due = world.take_due_after_call();
        drop(world);
        for (user, job) in due {
            self.schedule_after_call(&user, &job);
        }
        Some(result)
    }

    /// Queues events for the webhook (never waits; see [`webhook`]).
    /// Counts a state change when `events` has an agent event.
    pub(crate) fn publish(&self, events: Vec<Event>) {
        // Issue 20: SIP calls follow every change of the world.
        self.inner.softphone.changed();
        if events
            .iter()
            .any(|e| e.event_type().is_some_and(EventType::is_agent_event))
        {
            stats::add(&self.inner.publisher.hub.counters.state_changes, 1);
        }
        self.inner.publisher.publish(events);
    }

    /// The configuration.
    pub fn config(&self) -> &SimConfig {
        &self.inner.config
    }

    /// The signature verifier.
    pub fn verifier(&self) -> &auth::Verifier {
        &self.inner.verifier
    }

    /// Locks the world (never held across an `.await`).
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.inner.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current faults.
    pub fn faults(&self) -> faults::Faults {
        self.inner
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces the faults.
    pub fn set_faults(&self, faults: faults::Faults) {
        *self.inner.faults.lock().unwrap_or_else(|e| e.into_inner()) = faults;
    }

    /// A snapshot of one agent.
    pub fn agent(&self, user_id: &str) -> Option<Agent> {
        self.world().agents.get(user_id).cloned()
    }

    /// Every agent back to OFFLINE (ContextId keeps growing; online agents
    /// push `AgentCheckOut`), calls dropped, faults cleared. The quota, the
    /// webhook and the counters are kept.
    pub fn reset(&self) {
        let now = now_ms();
        let fresh = World::from_config(&self.inner.config, now);
        let mut world = self.world();
        for (id, agent) in fresh.agents {
            let changed = world.change(&id, |old| {
                let context_id = old.context_id + 1;
                *old = agent;
                old.context_id = context_id;
            });
            if let Some(((), events)) = changed {
                self.publish(events);
            }
        }
        world.records.clear();
        world.take_due_after_call();
        drop(world);
        self.set_faults(faults::Faults::default());
    }

    pub(crate) fn next_job_id(&self) -> String {
        format!("job-{}", self.inner.job_seq.fetch_add(1, Ordering::Relaxed))
    }

    /// The agent a request acts for: `UserId`, else the calling key's
    /// `default_user`, else `MissingParameter UserId`.
    pub(crate) fn resolve_user(
        &self,
        user_id: Option<&str>,
        access_key_id: &str,
    ) -> Result<String, CccError> {
        if let Some(u) = user_id.map(str::trim).filter(|u| !u.is_empty()) {
            return Ok(u.to_owned());
        }
        self.inner
            .config
            .access_keys
            .iter()
            .find(|k| k.id == access_key_id)
            .and_then(|k| k.default_user.clone())
            .ok_or_else(|| ErrorCode::MissingParameter.with_params(["UserId"]))
    }

    /// The configured default user of a key.
    pub(crate) fn default_user_of(&self, access_key_id: &str) -> Option<String> {
        self.inner
            .config
            .access_keys
            .iter()
            .find(|k| k.id == access_key_id)
            .and_then(|k| k.default_user.clone())
    }

    /// True when the instance exists.
    pub(crate) fn has_instance(&self, instance_id: &str) -> bool {
        self.inner
            .config
            .instances
            .iter()
            .any(|i| i.id == instance_id)
    }
}
