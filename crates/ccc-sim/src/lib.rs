//! A simulator of the Alibaba Cloud Contact Center (CCC) 2020-07-01 OpenAPI
//! endpoint, close enough that the proxy's upstream code path is the one
//! that talks to the real cloud.
//!
//! - RPC on `/` (GET or POST, parameters in the query or a form body),
//!   authenticated with V3 (`ACS3-HMAC-SHA256`) or V1 (`HMAC-SHA1`)
//!   signatures ([`auth`]), answered with CCC envelopes ([`protocol`]).
//! - The agent state machine of ccc-api.md §2 ([`state_machine`]), with
//!   inbound calls, ringing timeout and after-call work run by timers.
//! - An admin API under `/_sim/` ([`admin`]) to ring agents, answer, hang
//!   up, change an agent's state "from elsewhere", inject faults
//!   ([`faults`]), set the quota and the webhook, read counters ([`stats`])
//!   and reset.
//! - The account's quota ([`quota`]): `Throttling.User` above `qps_limit`.
//! - Event push in webhook mode ([`events`], [`webhook`]): every change of
//!   an agent becomes CCC's agent and channel events, POSTed as JSON arrays.
//! - `ListRealtimeAgentStates` ([`realtime`]) with paging, and generated
//!   agents ([`SimConfig::with_generated_agents`]) for benches.
//!
//! Start it in-process with [`spawn`], or serve [`app`] yourself. The
//! behaviours chosen where ccc-api.md says "(inference)" are listed in
//! `docs/simulator.md`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub mod actions;
pub mod admin;
pub mod auth;
pub mod config;
pub mod events;
pub mod faults;
pub mod protocol;
pub mod quota;
pub mod realtime;
mod server;
// Issue 20: the SIP server and media peer (SIP over WebSocket, WebRTC).
pub mod sip;
pub mod state_machine;
pub mod stats;
pub mod webhook;

pub use config::{DeliveryFaults, DialTimings, SimAgent, SimConfig, WebhookTarget};
pub use events::{Event, EventType};
pub use server::{app, spawn, DropConnection, RunningSim};
pub use stats::Stats;
pub use webhook::Subscription;

use ccc_model::{CccError, ErrorCode, UserState};
use events::Snapshot;
use state_machine::{Agent, DialOutcome, HangupBy, HangupOutcome};

/// The simulator's error type.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The configuration is invalid.
    #[error("invalid simulator configuration: {0}")]
    Config(String),
    /// A socket could not be bound or served.
    #[error("simulator I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The mutable world: every agent, by `UserId`, with the indexes that keep
/// lookups cheap at 10,000 agents.
#[derive(Debug, Default)]
pub struct World {
    /// Agents by `UserId` (`name@instance`).
    pub agents: BTreeMap<String, Agent>,
    /// Each instance's `UserId`s in order (paging).
    by_instance: BTreeMap<String, Vec<String>>,
    /// `JobId` → `UserId` of calls in progress.
    jobs: HashMap<String, String>,
}

impl World {
    fn from_config(config: &SimConfig, now: i64) -> Self {
        let mut world = World::default();
        for inst in &config.instances {
            let mut ids = Vec::with_capacity(inst.agents.len());
            for a in &inst.agents {
                let mut agent =
                    Agent::new(&a.user_id, &inst.id, &a.display_name, &a.extension, now);
                agent.mobile = a.mobile.clone();
                world.agents.insert(a.user_id.clone(), agent);
                ids.push(a.user_id.clone());
            }
            ids.sort();
            world.by_instance.insert(inst.id.clone(), ids);
        }
        world
    }

    /// The `UserId`s of an instance, in order.
    pub fn instance_agents(&self, instance_id: &str) -> &[String] {
        self.by_instance.get(instance_id).map_or(&[], Vec::as_slice)
    }

    /// The `UserId` of the agent in a call with `job_id`.
    pub fn job_owner(&self, job_id: &str) -> Option<String> {
        let has_job = |a: &Agent| a.call.as_ref().is_some_and(|c| c.job_id == job_id);
        match self.jobs.get(job_id) {
            Some(user) if self.agents.get(user).is_some_and(has_job) => Some(user.clone()),
            // Not indexed (an agent changed without `change`): search.
            _ => self
                .agents
                .values()
                .find(|a| has_job(a))
                .map(|a| a.user_id.clone()),
        }
    }

    /// The agent in a call with `job_id`.
    pub fn agent_with_job(&mut self, job_id: &str) -> Option<&mut Agent> {
        let user = self.job_owner(job_id)?;
        self.agents.get_mut(&user)
    }

    /// Runs `f` on the agent, keeps the indexes in step, and returns `f`'s
    /// result with the events the change pushes (none if `f` changed
    /// nothing they report). `None` when there is no such agent.
    pub fn change<R>(
        &mut self,
        user_id: &str,
        f: impl FnOnce(&mut Agent) -> R,
    ) -> Option<(R, Vec<Event>)> {
        let agent = self.agents.get_mut(user_id)?;
        let before = Snapshot::of(agent);
        let result = f(agent);
        let after = Snapshot::of(agent);
        if before == after {
            return Some((result, Vec::new()));
        }
        let job = |s: &Snapshot| s.call.as_ref().map(|c| c.job_id.clone());
        if job(&before) != job(&after) {
            if let Some(old) = job(&before) {
                self.jobs.remove(&old);
            }
            if let Some(new) = job(&after) {
                self.jobs.insert(new, user_id.to_owned());
            }
        }
        Some((result, events::events_of(&before, &after)))
    }
}

struct Inner {
    config: SimConfig,
    verifier: auth::Verifier,
    world: Mutex<World>,
    faults: Mutex<faults::Faults>,
    job_seq: AtomicU64,
    quota: Mutex<Option<quota::TokenBucket>>,
    publisher: webhook::Publisher,
    dial: Mutex<DialTimings>,
    /// Issue 20: registrations, SIP calls, media peers.
    softphone: sip::Softphone,
}

/// Shared simulator state: configuration, agents, faults, nonces. Cheap to clone.
#[derive(Clone)]
pub struct SimState {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SimState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimState")
            .field("verifier", &self.inner.verifier)
            .finish_non_exhaustive()
    }
}

/// Why the admin API could not ring or change a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// No such agent.
    #[error("no agent {0}")]
    NoAgent(String),
    /// No such call.
    #[error("no call {0}")]
    NoCall(String),
    /// The agent's state does not allow it.
    #[error("{0}")]
    State(String),
}

/// The state to put an agent in "from elsewhere" (another device, the CCC
/// console): see [`SimState::set_agent_state`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    /// OFFLINE, READY, BREAK, RINGING, TALKING or WORKING.
    pub state: UserState,
    /// The break code for BREAK (default `default`, or `Warm-up` when the
    /// agent was OFFLINE).
    pub break_code: Option<String>,
}

impl StateChange {
    /// A change to `state` (no break code).
    pub fn new(state: UserState) -> Self {
        StateChange {
            state,
            break_code: None,
        }
    }

    /// A change to BREAK with `code`.
    pub fn on_break(code: impl Into<String>) -> Self {
        StateChange {
            state: UserState::Break,
            break_code: Some(code.into()),
        }
    }
}

/// The number an agent put in DIALING "from elsewhere" dials.
pub const DIALED_NUMBER: &str = "13912345678";

/// The device an agent signed in "from elsewhere" uses.
pub const CONSOLE_DEVICE: &str = "ccc-console";

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
        let softphone = sip::Softphone::new(&config.softphone);
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
    pub fn softphone(&self) -> &sip::Softphone {
        &self.inner.softphone
    }

    /// Runs `f` on agent `user_id` and pushes the events of the change
    /// (queued while the world is locked, so per agent they keep their
    /// order). `None` when there is no such agent.
    pub fn apply<R>(&self, user_id: &str, f: impl FnOnce(&mut Agent) -> R) -> Option<R> {
        let mut world = self.world();
        let (result, events) = world.change(user_id, f)?;
        self.publish(events);
        Some(result)
    }

    /// Queues events for the webhook (never waits; see [`webhook`]).
    /// Counts a state change when `events` has an agent event.
    pub(crate) fn publish(&self, events: Vec<Event>) {
        // Issue 20: SIP calls follow every change of the world.
        self.inner.softphone.changed();
        if events.iter().any(|e| e.event_type.is_agent_event()) {
            stats::add(&self.inner.publisher.hub.counters.state_changes, 1);
        }
        self.inner.publisher.publish(events);
    }

    /// The account's quota in calls per second (`None`: no limit).
    pub fn qps_limit(&self) -> Option<u32> {
        self.lock_quota().as_ref().map(quota::TokenBucket::rate)
    }

    /// Sets the account's quota (`None` or 0: no limit), with a full bucket.
    pub fn set_qps_limit(&self, limit: Option<u32>) {
        let bucket = limit
            .filter(|n| *n > 0)
            .map(|n| quota::TokenBucket::new(n, Instant::now()));
        tracing::info!(qps_limit = ?limit, "quota set");
        *self.lock_quota() = bucket;
    }

    fn lock_quota(&self) -> MutexGuard<'_, Option<quota::TokenBucket>> {
        self.inner.quota.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts an authenticated call of `action` and takes a token from the
    /// quota; false means "answer `Throttling.User`".
    pub(crate) fn admit(&self, action: &str) -> bool {
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
        drop(world);
        self.set_faults(faults::Faults::default());
    }

    pub(crate) fn next_job_id(&self) -> String {
        format!("job-{}", self.inner.job_seq.fetch_add(1, Ordering::Relaxed))
    }

    /// Rings `user_id` with an inbound call from `caller`; answers
    /// automatically after `auto_answer_ms` (or the configured default).
    /// Must run inside a Tokio runtime (timers).
    pub fn ring(
        &self,
        user_id: &str,
        caller: &str,
        auto_answer_ms: Option<u64>,
    ) -> Result<String, CallError> {
        let job_id = self.next_job_id();
        self.apply(user_id, |agent| agent.ring(&job_id, caller, now_ms()))
            .ok_or_else(|| CallError::NoAgent(user_id.to_owned()))?
            .map_err(|e| CallError::State(e.message))?;
        tracing::info!(user_id, job_id, caller, "inbound call ringing");
        let timings = &self.inner.config.timings;
        self.after(
            timings.ringing_timeout_ms,
            user_id,
            &job_id,
            |a, job, now| {
                if a.ringing_timeout(job, now) {
                    tracing::info!(user_id = %a.user_id, job, "ringing timeout");
                }
            },
        );
        // Issue 20: a registered softphone answers on the device instead.
        let auto_answer = auto_answer_ms
            .or(timings.auto_answer_ms)
            .filter(|_| !self.inner.softphone.takes_calls(self, user_id));
        if let Some(ms) = auto_answer {
            self.after(ms, user_id, &job_id, |a, job, now| {
                if a.state == UserState::Ringing {
                    let _ = a.answer(Some(job), None, now);
                }
            });
        }
        Ok(job_id)
    }

    /// The call `job_id` is answered: by the agent's phone when it rings
    /// (RINGING → TALKING), by the customer when the agent dials it
    /// (DIALING → TALKING).
    pub fn answer(&self, job_id: &str) -> Result<Agent, CallError> {
        self.on_call(job_id, |agent| {
            if !agent.customer_answers(job_id, now_ms()) {
                agent.answer(Some(job_id), None, now_ms())?;
            }
            Ok(agent.clone())
        })
    }

    /// How dialled customers behave now.
    pub fn dial_timings(&self) -> DialTimings {
        *self.inner.dial.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes how dialled customers behave, for the next MakeCall.
    pub fn set_dial_timings(&self, timings: DialTimings) {
        tracing::info!(?timings, "dial timings set");
        *self.inner.dial.lock().unwrap_or_else(|e| e.into_inner()) = timings;
    }

    /// `user_id` dials `callee` as MakeCall does ([`Agent::dial`]) and the
    /// attempt's timers start. Returns the new `JobId`.
    pub fn make_call(
        &self,
        user_id: &str,
        callee: &str,
        caller: Option<&str>,
        timeout_ms: Option<u64>,
    ) -> Result<String, CallError> {
        let job_id = self.next_job_id();
        self.apply(user_id, |a| a.dial(&job_id, Some(callee), caller, now_ms()))
            .ok_or_else(|| CallError::NoAgent(user_id.to_owned()))?
            .map_err(|e| CallError::State(e.message))?;
        self.schedule_dial(user_id, &job_id, callee, timeout_ms);
        Ok(job_id)
    }

    /// Starts the timers of the outbound attempt `job_id`: the customer
    /// answers after the dial-answer delay (never for a no-answer number),
    /// and an attempt still DIALING after `timeout_ms` (default: the dial
    /// timeout) is released. Each timer re-checks the job.
    pub(crate) fn schedule_dial(
        &self,
        user_id: &str,
        job_id: &str,
        callee: &str,
        timeout_ms: Option<u64>,
    ) {
        let timings = self.dial_timings();
        tracing::info!(user_id, job_id, callee, "outbound call dialing");
        let answers = DialOutcome::of(callee) == DialOutcome::Answers;
        // Issue 20: a softphone agent's own leg is called first; the
        // customer's answer timer starts when the device answers.
        let softphone = self.inner.softphone.takes_calls(self, user_id);
        if let Some(ms) = timings.answer_ms.filter(|_| answers && !softphone) {
            self.after(ms, user_id, job_id, |a, job, now| {
                a.customer_answers(job, now);
            });
        }
        let state = self.clone();
        let user_id = user_id.to_owned();
        let job_id = job_id.to_owned();
        let ms = timeout_ms.unwrap_or(timings.timeout_ms);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            let back_to_work = state
                .apply(&user_id, |a| {
                    a.dial_timeout(&job_id, now_ms())
                        .map(|_| a.in_after_call_of(&job_id))
                })
                .flatten();
            if back_to_work == Some(true) {
                state.schedule_after_call(&user_id, &job_id);
            }
            if back_to_work.is_some() {
                tracing::info!(user_id, job_id, "outbound call not answered in time");
            }
        });
    }

    /// Runs `f` on the agent in call `job_id` (pushing the change's events).
    fn on_call<R>(
        &self,
        job_id: &str,
        f: impl FnOnce(&mut Agent) -> Result<R, CccError>,
    ) -> Result<R, CallError> {
        let mut world = self.world();
        let user = world
            .job_owner(job_id)
            .ok_or_else(|| CallError::NoCall(job_id.to_owned()))?;
        let (result, events) = world
            .change(&user, f)
            .ok_or_else(|| CallError::NoCall(job_id.to_owned()))?;
        self.publish(events);
        result.map_err(|e| CallError::State(e.message))
    }

    /// Ends `job_id`; schedules READY after the after-call time when the
    /// call had been answered.
    pub fn hang_up(&self, job_id: &str, by: HangupBy) -> Result<(Agent, HangupOutcome), CallError> {
        let (agent, outcome) = self.on_call(job_id, |agent| {
            let outcome = agent.hang_up(job_id, by, now_ms())?;
            Ok((agent.clone(), outcome))
        })?;
        if agent.in_after_call_of(job_id) {
            self.schedule_after_call(&agent.user_id, job_id);
        }
        Ok((agent, outcome))
    }

    /// READY after the after-call time, unless the agent moved on.
    pub(crate) fn schedule_after_call(&self, user_id: &str, job_id: &str) {
        self.after(
            self.inner.config.timings.after_call_ms,
            user_id,
            job_id,
            |a, job, now| {
                a.after_call_done(job, now);
            },
        );
    }

    /// Runs `f` on the agent after `ms`, in a Tokio task. `f` must re-check
    /// the state: the call may have ended meanwhile.
    fn after(
        &self,
        ms: u64,
        user_id: &str,
        job_id: &str,
        f: impl FnOnce(&mut Agent, &str, i64) + Send + 'static,
    ) {
        let state = self.clone();
        let user_id = user_id.to_owned();
        let job_id = job_id.to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            state.apply(&user_id, |agent| f(agent, &job_id, now_ms()));
        });
    }

    /// Demo mode: ring one READY agent (chosen at random) with a random
    /// caller; it answers after the auto-answer delay (default 3 s) and the
    /// customer hangs up after `demo_talk_ms`. Returns the job, if any agent
    /// was READY.
    pub fn demo_call(&self) -> Option<String> {
        let ready: Vec<String> = self
            .world()
            .agents
            .values()
            .filter(|a| a.state == UserState::Ready)
            .map(|a| a.user_id.clone())
            .collect();
        if ready.is_empty() {
            return None;
        }
        let user_id = &ready[rand::random_range(0..ready.len())];
        let caller = format!("138{:08}", rand::random_range(0..100_000_000u32));
        let timings = &self.inner.config.timings;
        let answer_ms = timings.auto_answer_ms.unwrap_or(3_000);
        let job = self.ring(user_id, &caller, Some(answer_ms)).ok()?;
        let state = self.clone();
        let talk = Duration::from_millis(answer_ms + timings.demo_talk_ms);
        let hang_job = job.clone();
        tokio::spawn(async move {
            tokio::time::sleep(talk).await;
            let talking = {
                let world = state.world();
                world
                    .job_owner(&hang_job)
                    .and_then(|u| world.agents.get(&u))
                    .is_some_and(|a| a.state == UserState::Talking)
            };
            if talking {
                let _ = state.hang_up(&hang_job, HangupBy::Customer);
            }
        });
        Some(job)
    }

    /// Puts an agent in `change.state` "from elsewhere" (another device or
    /// the CCC console), through the same transitions as the API, so the
    /// events are the ones those would push. OFFLINE is a reset; BREAK and
    /// READY sign an OFFLINE agent in first (device [`CONSOLE_DEVICE`]);
    /// RINGING rings a READY agent; TALKING answers (ringing it first when
    /// READY); WORKING hangs up a TALKING agent's call; DIALING dials
    /// [`DIALED_NUMBER`] from READY, BREAK or WORKING (signing an OFFLINE
    /// agent in first). Must run inside a Tokio runtime (call timers).
    pub fn set_agent_state(&self, user_id: &str, change: &StateChange) -> Result<Agent, CallError> {
        let no_agent = || CallError::NoAgent(user_id.to_owned());
        let state_err = |e: CccError| CallError::State(e.message);
        let current = self.agent(user_id).ok_or_else(no_agent)?;
        let sign_in_first = |state: &SimState| -> Result<(), CallError> {
            if current.state == UserState::Offline {
                state
                    .apply(user_id, |a| a.sign_in(Some(CONSOLE_DEVICE), None, now_ms()))
                    .ok_or_else(no_agent)?
                    .map_err(state_err)?;
            }
            Ok(())
        };
        let code = change
            .break_code
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty());
        match &change.state {
            UserState::Offline => {
                self.apply(user_id, |a| a.reset(now_ms()));
            }
            UserState::Break => {
                sign_in_first(self)?;
                // Signed in just now: already BREAK / Warm-up.
                let online = current.state != UserState::Offline;
                if let Some(code) = code.or(online.then_some("default")) {
                    self.apply(user_id, |a| a.take_break(Some(code), now_ms()))
                        .ok_or_else(no_agent)?
                        .map_err(state_err)?;
                }
            }
            UserState::Ready => {
                sign_in_first(self)?;
                self.apply(user_id, |a| a.ready(false, now_ms()))
                    .ok_or_else(no_agent)?
                    .map_err(state_err)?;
            }
            UserState::Ringing => {
                self.ring(user_id, "13800000000", None)?;
            }
            UserState::Talking => {
                let job = match (&current.state, &current.call) {
                    (UserState::Ringing, Some(call)) => call.job_id.clone(),
                    _ => self.ring(user_id, "13800000000", None)?,
                };
                self.answer(&job)?;
            }
            UserState::Dialing => {
                sign_in_first(self)?;
                self.make_call(user_id, DIALED_NUMBER, None, None)?;
            }
            UserState::Working => {
                let job = current
                    .call
                    .as_ref()
                    .filter(|_| current.state == UserState::Talking)
                    .map(|c| c.job_id.clone())
                    .ok_or_else(|| {
                        CallError::State(format!(
                            "WORKING follows a call: {} is {}, not TALKING",
                            user_id, current.state
                        ))
                    })?;
                self.hang_up(&job, HangupBy::Customer)?;
            }
            other => {
                return Err(CallError::State(format!("{other} is not simulated")));
            }
        }
        self.agent(user_id).ok_or_else(no_agent)
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
