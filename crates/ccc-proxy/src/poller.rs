//! Per-agent hubs behind the long-poll. One entry per agent somebody
//! watches, shared by every tab and browser of that agent, stopped after a
//! while without readers. The shown [`View`] lives in a
//! `tokio::sync::watch`; commands, events and polls move it by the rules of
//! [`crate::view`] and wake the long-pollers.
//!
//! Where the state comes from:
//! - **Events on** (`--events-token`): webhook events apply directly; an
//!   agent's loop calls `PollUserStatus` only on a refresh request (coalesced:
//!   a burst is one call) and a reconciliation sweep catches lost events.
//! - **Events off**: the loop polls, at `--poll-interval-ms` stretched so that
//!   every watched agent of the fleet fits in `--upstream-qps`.
//! - **Replicas** (`--redis-url`): only the lease owner of an agent calls CCC
//!   for it (commands aside); views are stored and published through Redis.
//!   When Redis is unreachable every replica acts alone.
//! - **Presence** (`--presence-policy`): the waiter bookkeeping feeds a
//!   [`presence::Tracker`]; one sweep task moves agents whose last toolbar
//!   went away by the rule of [`presence::decide`] (see
//!   [`Hub::presence_once`]). Unlike the rest, it does not act alone while
//!   Redis is unreachable: the agent may be long-polling another replica.

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, MutexGuard, PoisonError,
    },
    time::Duration,
};

use ccc_model::{
    api::{AgentSnapshot, PresencePolicy},
    PollUserStatusData,
};
use futures_util::{FutureExt, StreamExt};
use serde::Serialize;
use tokio::{
    sync::{mpsc, watch, Notify},
    time::Instant,
};

use crate::{
    budget::{stretched_interval, Priority},
    config::PresenceConfig,
    errors::AppError,
    events::{self, CccEvent, Effect, RefreshNeed},
    fleet::{Cas, Fleet, FleetMessage, Lease},
    metrics::Metrics,
    presence::{self, Decision},
    reconcile,
    upstream::{now_ms, CccClient},
    view::{Applied, View, ORDER_RULE},
};

/// Device id used for polling before any browser of the agent named one.
pub const DEFAULT_DEVICE_ID: &str = "ccc-proxy";

/// What the hub knows about one agent.
#[derive(Debug, Clone, Default)]
pub struct Latest {
    /// The shown state (no snapshot until the first poll).
    pub view: View,
    /// The error of the latest poll, when it failed.
    pub error: Option<AppError>,
}

impl Latest {
    /// The shown snapshot, if any.
    pub fn snapshot(&self) -> Option<&AgentSnapshot> {
        self.view.snapshot.as_ref()
    }
}

/// The answer of `GET /api/v1/agent`: the snapshot plus how fresh it is
/// (additive fields; the widget may ignore them).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FreshSnapshot {
    /// The snapshot.
    #[serde(flatten)]
    pub snapshot: AgentSnapshot,
    /// When CCC last confirmed this state (proxy clock, epoch ms): a poll
    /// answer or an event.
    pub fetched_at: i64,
    /// How often the proxy polls this agent (ms); 0 when CCC's events keep
    /// it current.
    pub refresh_ms: u64,
}

#[derive(Debug)]
struct Interest {
    running: bool,
    waiters: usize,
    last_interest: Instant,
    device_id: String,
    /// Some when this replica holds the agent's lease (or runs alone).
    lease: Option<Lease>,
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
    refresh: Notify,
    /// Proxy clock (epoch ms) when the latest poll of this agent started.
    poll_started: std::sync::atomic::AtomicI64,
}

impl AgentHub {
    fn interest(&self) -> MutexGuard<'_, Interest> {
        self.interest.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Timing and mode of the hubs.
#[derive(Debug, Clone)]
pub struct HubOptions {
    /// Shortest poll interval.
    pub interval: Duration,
    /// Stop a loop after this long without readers.
    pub idle: Duration,
    /// CCC's events keep the state current (no periodic polling).
    pub events: bool,
    /// Reconciliation sweep period (events on).
    pub reconcile: Duration,
    /// Most long-polls waiting per device and agent.
    pub limits: LongPollLimits,
    /// What happens to agents without an open toolbar.
    pub presence: PresenceConfig,
}

/// Every agent's hub, plus what the loops need.
#[derive(Debug)]
pub struct Hub {
    agents: Mutex<HashMap<String, Arc<AgentHub>>>,
    client: CccClient,
    metrics: Arc<Metrics>,
    opts: HubOptions,
    fleet: Option<Fleet>,
    shutdown: watch::Receiver<bool>,
    last_total: AtomicU64,
    next_slot: AtomicU64,
    owned_count: std::sync::atomic::AtomicUsize,
    /// Long-polls in flight per agent (presence on).
    presence: Mutex<presence::Tracker>,
    /// Presence sweeps completed.
    presence_sweeps: AtomicU64,
}

/// Keeps an agent's loop alive while a long-poll waits.
struct WaiterGuard<'a> {
    hub: &'a AgentHub,
    metrics: &'a Metrics,
    presence: Option<&'a Mutex<presence::Tracker>>,
    slot: u64,
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

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Longest long-poll wait.
pub const MAX_WAIT: Duration = Duration::from_secs(30);
/// A burst of refresh requests within this window is one call.
const COALESCE: Duration = Duration::from_millis(50);
/// Absent agents decided about at once in a presence sweep.
const PRESENCE_CONCURRENCY: usize = 16;
/// Attempts of one compare-and-set in Redis.
const CAS_ATTEMPTS: usize = 8;

impl Hub {
    /// A hub calling CCC through `client`, coordinated through `fleet`
    /// when given; every loop stops on `shutdown`.
    pub fn new(
        client: CccClient,
        metrics: Arc<Metrics>,
        opts: HubOptions,
        fleet: Option<Fleet>,
        shutdown: watch::Receiver<bool>,
    ) -> Arc<Self> {
        Arc::new(Hub {
            agents: Mutex::new(HashMap::new()),
            client,
            metrics,
            opts,
            fleet,
            shutdown,
            last_total: AtomicU64::new(0),
            next_slot: AtomicU64::new(0),
            owned_count: std::sync::atomic::AtomicUsize::new(0),
            presence: Mutex::new(presence::Tracker::default()),
            presence_sweeps: AtomicU64::new(0),
        })
    }

    /// Starts the background tasks: the fleet's lease ticker and subscriber
    /// (with Redis) and the reconciliation sweeps (with events).
    pub fn start(self: &Arc<Self>) {
        if let Some(fleet) = &self.fleet {
            let (tx, rx) = mpsc::channel(1024);
            fleet.spawn_subscriber(tx);
            tokio::spawn(fleet_messages(Arc::downgrade(self), rx));
            tokio::spawn(lease_ticker(Arc::downgrade(self), fleet.clone()));
        }
        if self.opts.events {
            tokio::spawn(reconcile_loop(Arc::downgrade(self)));
        }
        if self.presence_on() {
            tokio::spawn(presence_loop(Arc::downgrade(self)));
        }
    }

    /// True when a presence policy is set.
    pub fn presence_on(&self) -> bool {
        self.opts.presence.policy != PresencePolicy::None
    }

    fn lock_agents(&self) -> MutexGuard<'_, HashMap<String, Arc<AgentHub>>> {
        self.agents.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn agent(&self, user_id: &str) -> Arc<AgentHub> {
        self.lock_agents()
            .entry(user_id.to_owned())
            .or_insert_with(|| Arc::new(new_agent_hub(user_id)))
            .clone()
    }

    /// The agent's hub while its loop runs (somebody watches it here).
    fn existing(&self, user_id: &str) -> Option<Arc<AgentHub>> {
        let agent = self.lock_agents().get(user_id).cloned()?;
        let running = agent.interest().running;
        running.then_some(agent)
    }

    /// True when Redis coordinates this replica right now.
    fn in_fleet(&self) -> Option<&Fleet> {
        self.fleet.as_ref().filter(|f| f.healthy())
    }

    /// True when this replica calls CCC for `agent` (owner, or alone).
    fn owns(&self, agent: &AgentHub) -> bool {
        self.in_fleet().is_none() || agent.interest().lease.is_some()
    }

    /// The poll interval for agents without events.
    /// Alone: every running loop polls. In a fleet: each replica polls the
    /// agents it owns, assumed spread evenly over the replicas.
    pub fn poll_interval(&self) -> Duration {
        let polled = match self.in_fleet() {
            Some(f) => self.owned_count.load(Ordering::Relaxed) * f.replicas(),
            None => usize::try_from(self.metrics.poll_loops()).unwrap_or(0),
        };
        stretched_interval(self.opts.interval, polled, self.client.budget().qps())
    }

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

    fn ensure_running(self: &Arc<Self>, agent: &Arc<AgentHub>, device_id: Option<&str>) {
        let mut i = agent.interest();
        i.last_interest = Instant::now();
        if let Some(d) = device_id {
            d.clone_into(&mut i.device_id);
        }
        drop(i);
        self.start_loop(agent);
    }

    /// Starts the agent's loop unless it runs (without marking interest).
    fn start_loop(self: &Arc<Self>, agent: &Arc<AgentHub>) {
        let mut i = agent.interest();
        if i.running || *self.shutdown.borrow() {
            return;
        }
        i.running = true;
        drop(i);
        self.metrics.poll_loop_started();
        tokio::spawn(agent_loop(self.clone(), agent.clone()));
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

    /// Applies a `PollUserStatus` answer (of a call started at
    /// `started_at`) and returns the view shown afterwards.
    pub async fn apply_poll(
        &self,
        user_id: &str,
        data: &PollUserStatusData,
        started_at: i64,
    ) -> View {
        let agent = self.agent(user_id);
        self.update(&agent, None, |v| v.apply_poll(data, started_at, now_ms()))
            .await
            .0
    }

    /// The shown view of `user_id`, if any.
    pub fn view(&self, user_id: &str) -> Option<View> {
        let agent = self.existing(user_id)?;
        let v = agent.tx.borrow().view.clone();
        v.snapshot.is_some().then_some(v)
    }

    /// The stored view of `user_id` in Redis, taken into the local hub.
    pub async fn load_shared(&self, user_id: &str) -> Option<View> {
        let fleet = self.in_fleet()?;
        let (_, view) = fleet.load(user_id).await.ok()?;
        let view = view.filter(|v| v.snapshot.is_some())?;
        let agent = self.agent(user_id);
        merge_remote(&agent, view);
        self.view(user_id)
    }

    /// The latest known `contextId` of `user_id`, if any.
    pub fn context_id(&self, user_id: &str) -> Option<i64> {
        self.view(user_id).map(|v| v.version())
    }

    /// Applies `f` to the agent's view: locally, or as a compare-and-set of
    /// the stored view in Redis (published to every replica). `fence`: the
    /// owner's lease, for its polls. Returns the view shown afterwards and
    /// what `f` did.
    async fn update(
        &self,
        agent: &AgentHub,
        fence: Option<Lease>,
        f: impl Fn(&mut View) -> Applied,
    ) -> (View, Applied) {
        if let Some(fleet) = self.in_fleet() {
            for _ in 0..CAS_ATTEMPTS {
                let Ok((rev, remote)) = fleet.load(&agent.user_id).await else {
                    break;
                };
                let local = agent.tx.borrow().view.clone();
                let mut next = match remote {
                    Some(r) if r.version() >= local.version() => r,
                    _ => local.clone(),
                };
                let applied = f(&mut next);
                if matches!(applied, Applied::Stale | Applied::NoBase) {
                    merge_remote(agent, next);
                    return (agent.tx.borrow().view.clone(), applied);
                }
                if applied == Applied::Changed && next.version() <= local.version() {
                    if let Some(s) = next.snapshot.as_mut() {
                        s.context_id = local.version() + 1;
                    }
                }
                match fleet
                    .store(
                        &agent.user_id,
                        rev,
                        &next,
                        applied == Applied::Changed,
                        fence,
                    )
                    .await
                {
                    Ok(Cas::Stored) => {
                        merge_remote(agent, next);
                        agent.tx.send_if_modified(|l| l.error.take().is_some());
                        return (agent.tx.borrow().view.clone(), applied);
                    }
                    Ok(Cas::Conflict) => continue,
                    Ok(Cas::Fenced) => {
                        tracing::debug!(user_id = %agent.user_id, "lease moved on; poll dropped");
                        agent.interest().lease = None;
                        return (agent.tx.borrow().view.clone(), Applied::Stale);
                    }
                    Err(_) => break,
                }
            }
        }
        let mut applied = Applied::Stale;
        agent.tx.send_if_modified(|l| {
            let had_error = l.error.take().is_some();
            applied = f(&mut l.view);
            applied == Applied::Changed || had_error
        });
        let v = agent.tx.borrow().view.clone();
        (v, applied)
    }

    fn request_refresh(&self, agent: &AgentHub) {
        self.metrics.ccc_event("refresh");
        agent.refresh.notify_one();
    }

    /// Asks the agent's owner for a `PollUserStatus` (here, or forwarded).
    async fn refresh_somewhere(&self, user_id: &str) {
        let local = self.existing(user_id);
        if let Some(agent) = &local {
            if self.owns(agent) {
                self.request_refresh(agent);
                return;
            }
        }
        if let Some(fleet) = self.in_fleet() {
            if let Ok(true) = fleet.forward_refresh(user_id).await {
                self.metrics.ccc_event("forwarded");
                return;
            }
        }
        // Nobody owns it: whoever watches it here refreshes it.
        if let Some(agent) = local {
            self.request_refresh(&agent);
        }
    }

    /// Applies one webhook event (already authenticated and parsed).
    pub async fn apply_event(&self, ev: &CccEvent) {
        let Some(user_id) = events::user_id(ev) else {
            self.metrics.ccc_event("ignored");
            return;
        };
        let Some(time) = events::event_time_ms(&ev.event_time) else {
            return;
        };
        if let Err(e) = ORDER_RULE.check_time(time, now_ms()) {
            // A clock this far ahead would hide every later event.
            self.metrics.ccc_event("too_far_ahead");
            tracing::warn!(user_id = %user_id, ahead_ms = e.ahead_ms, "CCC event dated too far ahead: refused");
            return;
        }
        // Only agents somebody watches: here, or (with Redis) anywhere; an
        // agent watched elsewhere is updated in Redis through a transient
        // hub that this replica does not keep.
        let agent = match (self.existing(&user_id), self.in_fleet()) {
            (Some(a), _) => a,
            (None, Some(fleet)) => match fleet.load(&user_id).await {
                Ok((_, Some(view))) => {
                    let transient = new_agent_hub(&user_id);
                    transient.tx.send_replace(Latest { view, error: None });
                    Arc::new(transient)
                }
                _ => {
                    self.metrics.ccc_event("ignored");
                    return;
                }
            },
            (None, None) => {
                self.metrics.ccc_event("ignored");
                return;
            }
        };
        match events::effect(ev) {
            Effect::Ignore => {
                self.metrics.ccc_event("ignored");
            }
            Effect::Refresh => {
                let stale = agent.tx.borrow().view.stale_for(time);
                if stale {
                    self.refresh_somewhere(&user_id).await;
                } else {
                    self.metrics.ccc_event("ignored");
                }
            }
            Effect::Apply {
                change,
                then_refresh,
            } => {
                let (view, outcome) = self
                    .update(&agent, None, |v| {
                        v.apply_event(&change, time, ev.context_id, now_ms())
                    })
                    .await;
                let applied = matches!(outcome, Applied::Changed | Applied::Confirmed);
                self.metrics
                    .ccc_event(if applied { "applied" } else { "ignored" });
                let needs_call = then_refresh == RefreshNeed::UnlessCallKnown
                    && applied
                    && !change.job_id.as_deref().is_some_and(|j| view.knows_call(j));
                // Nothing shown yet: the first poll covers the event when it
                // started after it.
                let first_poll_covers = agent.poll_started.load(Ordering::Relaxed) >= time;
                let no_base = outcome == Applied::NoBase && !first_poll_covers;
                // Lost against a view dated ahead of our clock (a skewed or
                // forged event): a poll started now always wins.
                let pinned = outcome == Applied::Stale && view.ahead_of(now_ms());
                if no_base || needs_call || pinned {
                    self.refresh_somewhere(&user_id).await;
                }
            }
        }
    }

    /// One reconciliation sweep over the agents this replica calls CCC for.
    pub async fn reconcile_once(&self) {
        let shown: HashMap<String, reconcile::Shown> = {
            let agents: Vec<Arc<AgentHub>> = self.lock_agents().values().cloned().collect();
            agents
                .into_iter()
                .filter(|a| self.owns(a))
                .filter_map(|a| {
                    let shown = a.tx.borrow().snapshot().map(|s| reconcile::Shown {
                        state: s.agent.state.clone(),
                        break_code: s.agent.break_code.clone(),
                    });
                    shown.map(|s| (a.user_id.clone(), s))
                })
                .collect()
        };
        if shown.is_empty() {
            return;
        }
        let mut ids: Vec<String> = shown.keys().cloned().collect();
        ids.sort();
        let last_total = usize::try_from(self.last_total.load(Ordering::Relaxed)).unwrap_or(0);
        let mut seen = Vec::new();
        let by_ids = match reconcile::plan(&ids, last_total) {
            reconcile::Sweep::ByIds(chunks) => {
                for chunk in chunks {
                    let list = serde_json::to_string(&chunk).unwrap_or_default();
                    match self.client.list_realtime_states(1, Some(&list)).await {
                        Ok(page) => seen.extend(page.list),
                        Err(e) => {
                            tracing::warn!(error = %e, "reconciliation sweep failed");
                            return;
                        }
                    }
                }
                true
            }
            reconcile::Sweep::Pages(_) => {
                let mut page_no = 1;
                loop {
                    match self.client.list_realtime_states(page_no, None).await {
                        Ok(page) => {
                            let done = page.list.is_empty()
                                || page_no * reconcile::PAGE_SIZE >= page.total_count;
                            self.last_total
                                .store(page.total_count as u64, Ordering::Relaxed);
                            seen.extend(page.list);
                            if done {
                                break;
                            }
                            page_no += 1;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "reconciliation sweep failed");
                            return;
                        }
                    }
                }
                false
            }
        };
        let differing = reconcile::differing(&shown, &seen, self.client.instance_id(), by_ids);
        if !differing.is_empty() {
            tracing::info!(
                agents = differing.len(),
                "reconciliation found stale agents"
            );
        }
        for (id, repair) in differing {
            let Some(agent) = self.existing(&id) else {
                continue;
            };
            match repair {
                reconcile::Repair::Apply { change, at } => {
                    let (_, outcome) = self
                        .update(&agent, None, |v| v.apply_event(&change, at, None, now_ms()))
                        .await;
                    if matches!(outcome, Applied::Stale | Applied::NoBase) {
                        // The sweep's time did not beat the shown one: ask CCC.
                        self.request_refresh(&agent);
                    }
                }
                reconcile::Repair::Refresh => self.request_refresh(&agent),
            }
        }
    }

    /// Tries to take `agent`'s lease at once (fleet mode, nobody holds it).
    async fn claim_lease(&self, agent: &AgentHub) {
        let Some(fleet) = self.in_fleet() else { return };
        if agent.interest().lease.is_some() {
            return;
        }
        if let Ok(leases) = fleet.leases(&[(agent.user_id.clone(), true)]).await {
            if let Some(lease) = leases.into_iter().next().flatten() {
                agent.interest().lease = Some(lease);
            }
        }
    }

    /// Drops this replica's leases (graceful shutdown).
    pub async fn release_leases(&self) {
        if let Some(fleet) = self.in_fleet() {
            let ids: Vec<String> = self.lock_agents().keys().cloned().collect();
            let _ = fleet.release(&ids).await;
        }
    }

    /// Agents whose lease this replica holds (for tests and metrics).
    pub fn owned(&self) -> Vec<String> {
        let agents: Vec<Arc<AgentHub>> = self.lock_agents().values().cloned().collect();
        agents
            .into_iter()
            .filter(|a| a.interest().lease.is_some())
            .map(|a| a.user_id.clone())
            .collect()
    }
}

/// Presence: what the hub does for agents without an open toolbar.
impl Hub {
    /// Presence sweeps completed since the hub started.
    pub fn presence_sweeps(&self) -> u64 {
        self.presence_sweeps.load(Ordering::Relaxed)
    }

    /// Clears the agent's presence notice (any command does). With Redis the
    /// stored view is read: another replica may have set it.
    pub async fn clear_presence(&self, user_id: &str) {
        let fleet = self.in_fleet().is_some();
        if !(fleet || self.presence_on()) {
            return;
        }
        let agent = self.agent(user_id);
        if !fleet && agent.tx.borrow().view.presence.is_none() {
            return;
        }
        self.update(&agent, None, |v| v.set_presence(None)).await;
    }

    /// One presence sweep: with Redis, vouch for the agents seen here
    /// lately; then decide about every agent absent for the grace.
    pub async fn presence_once(&self) {
        let grace = self.opts.presence.grace;
        let now = Instant::now();
        let (due, to_vouch) = {
            let t = lock(&self.presence);
            (t.absent(now, grace), t.to_vouch(now, grace))
        };
        if let Some(fleet) = &self.fleet {
            if !to_vouch.is_empty() {
                match fleet.presence_vouch(&to_vouch).await {
                    Ok(()) => lock(&self.presence).vouched(&to_vouch, now),
                    Err(e) => tracing::debug!(error = %e, "presence keep-alive not stored"),
                }
            }
        }
        // At the end of a shift many agents leave at once: a few at a time,
        // the upstream budget paces them.
        futures_util::stream::iter(due)
            .for_each_concurrent(PRESENCE_CONCURRENCY, |(user_id, absent_for)| async move {
                self.presence_for(&user_id, absent_for).await;
            })
            .await;
        self.presence_sweeps.fetch_add(1, Ordering::Relaxed);
    }

    /// Decides (and acts) about one absent agent.
    async fn presence_for(&self, user_id: &str, absent_for: Duration) {
        let config = &self.opts.presence;
        let forget = || lock(&self.presence).forget(user_id);
        if let Some(fleet) = &self.fleet {
            if !fleet.healthy() {
                // See below: without Redis, wait for it.
                return;
            }
            match fleet.presence_claim(user_id).await {
                Ok(true) => {}
                // A long-poll elsewhere, or another replica decided: not ours.
                Ok(false) => return forget(),
                // Without Redis this replica cannot know whether the agent's
                // browser long-polls another replica: moving a present agent
                // is worse than waiting for Redis.
                Err(_) => return,
            }
        }
        let agent = self.agent(user_id);
        let device = agent.interest().device_id.clone();
        // The loop's view while it runs; else ask CCC (behind commands).
        let shown = self
            .view(user_id)
            .and_then(|v| v.snapshot)
            .map(|s| s.agent.state);
        let state = match shown {
            Some(s) => s,
            None => match self
                .client
                .poll_user_status(user_id, &device, Priority::Background)
                .await
            {
                Ok(data) => data.user_context.user_state,
                Err(e) => {
                    tracing::warn!(user_id, error = %e, "presence: cannot read the agent's state");
                    if gives_up(&e) {
                        forget();
                    }
                    return;
                }
            },
        };
        let action = match presence::decide(&state, absent_for, config) {
            Decision::Act(action) => action,
            Decision::Wait => return,
            Decision::Done => return forget(),
        };
        let back = lock(&self.presence)
            .absent_for(user_id, Instant::now())
            .is_none_or(|d| d < config.grace);
        if back {
            // A long-poll started while the state was read: the agent is here.
            return;
        }
        if let Err(e) = self
            .client
            .user_action(action.ccc_action(), user_id, &device, action.params())
            .await
        {
            // A call may have started meanwhile: the next sweep looks again.
            tracing::warn!(user_id, action = action.ccc_action(), error = %e, "presence: action failed");
            if gives_up(&e) {
                forget();
            }
            return;
        }
        forget();
        // Every snapshot served from now on explains it, until a command.
        let notice = action.notice(config.grace, now_ms());
        let started = now_ms();
        let polled = self
            .client
            .poll_user_status(user_id, &device, Priority::Command)
            .await
            .ok();
        self.update(&agent, None, |v| {
            let polled = polled
                .as_ref()
                .map_or(Applied::Stale, |d| v.apply_poll(d, started, now_ms()));
            match v.set_presence(Some(notice.clone())) {
                Applied::Changed => Applied::Changed,
                _ => polled,
            }
        })
        .await;
        self.metrics.presence_acted(config.policy);
        tracing::info!(
            user_id,
            policy = config.policy.as_str(),
            action = action.ccc_action(),
            grace_secs = config.grace.as_secs(),
            absent_secs = absent_for.as_secs(),
            "presence: no toolbar open for the grace, agent moved"
        );
    }
}

/// True for an error that looking again will not fix (the agent is gone,
/// the action is refused for good); a state that moved is looked at again.
fn gives_up(e: &crate::upstream::UpstreamError) -> bool {
    matches!(e, crate::upstream::UpstreamError::Ccc(c)
        if !c.code.is_transient() && !c.code.as_str().starts_with("InvalidOperation"))
}

fn new_agent_hub(user_id: &str) -> AgentHub {
    AgentHub {
        user_id: user_id.to_owned(),
        tx: watch::Sender::new(Latest::default()),
        interest: Mutex::new(Interest {
            running: false,
            waiters: 0,
            last_interest: Instant::now(),
            device_id: DEFAULT_DEVICE_ID.to_owned(),
            lease: None,
            slots: VecDeque::new(),
        }),
        refresh: Notify::new(),
        poll_started: std::sync::atomic::AtomicI64::new(0),
    }
}

/// Takes a view from Redis (or a CAS result) when it is newer than the
/// local one; wakes waiters when the version moved.
fn merge_remote(agent: &AgentHub, remote: View) {
    agent.tx.send_if_modified(|l| {
        let (mine, theirs) = (l.view.version(), remote.version());
        if theirs > mine {
            l.view = remote;
            l.error = None;
            true
        } else {
            if theirs == mine && remote.fetched_at > l.view.fetched_at {
                l.view = remote;
            }
            false
        }
    });
}

/// Why an agent's loop woke up.
enum Wake {
    Timer,
    Refresh,
    Shutdown,
}

async fn agent_loop(hub: Arc<Hub>, agent: Arc<AgentHub>) {
    tracing::debug!(user_id = %agent.user_id, "agent loop started");
    let mut shutdown = hub.shutdown.clone();
    let mut first = true;
    let mut last_poll: Option<Instant> = None;
    loop {
        let wake = if first {
            Wake::Refresh
        } else {
            // Without events the timer polls; with events it only checks idleness.
            let idle_check = Instant::now() + hub.opts.idle.max(Duration::from_millis(200));
            let deadline = match (hub.opts.events, last_poll) {
                (false, Some(t)) => (t + hub.poll_interval()).min(idle_check),
                _ => idle_check,
            };
            let wake = tokio::select! {
                () = tokio::time::sleep_until(deadline) => Wake::Timer,
                () = agent.refresh.notified() => Wake::Refresh,
                _ = shutdown.wait_for(|s| *s) => Wake::Shutdown,
            };
            if matches!(wake, Wake::Refresh) {
                // Coalesce a burst of requests into one call: wait a moment
                // and take the permit the rest of the burst left.
                tokio::time::sleep(COALESCE).await;
                let _ = agent.refresh.notified().now_or_never();
            }
            wake
        };
        if first {
            // A browser waits for its first look: claim the lease now rather
            // than at the next renewal tick.
            hub.claim_lease(&agent).await;
        }
        let device_id = {
            let mut i = agent.interest();
            // Every loop polls at least once: whoever started it wants a snapshot.
            let idle_out = !first
                && i.waiters == 0
                && i.last_interest.elapsed() >= hub.opts.idle
                && i.lease.is_none();
            if idle_out || matches!(wake, Wake::Shutdown) || *shutdown.borrow() {
                i.running = false;
                drop(i);
                // Forget the state, not what presence did: the notice waits
                // for the agent's return.
                agent.tx.send_modify(|l| {
                    let presence = l.view.presence.take();
                    *l = Latest::default();
                    l.view.presence = presence;
                });
                break;
            }
            i.device_id.clone()
        };
        first = false;
        if !hub.owns(&agent) {
            // Another replica calls CCC for this agent: read what it stored.
            if agent.tx.borrow().snapshot().is_none() {
                hub.load_shared(&agent.user_id).await;
            }
            continue;
        }
        let unknown = agent.tx.borrow().snapshot().is_none();
        let timer_due = !hub.opts.events
            && last_poll.is_none_or(|t| t.elapsed() + COALESCE >= hub.poll_interval());
        if !(matches!(wake, Wake::Refresh) || unknown || timer_due) {
            continue;
        }
        let lease = agent.interest().lease;
        tracing::debug!(
            user_id = %agent.user_id,
            requested = matches!(wake, Wake::Refresh),
            unknown,
            timer_due,
            "polling CCC"
        );
        // A browser waits for the first look: it goes ahead of background work.
        let priority = if unknown {
            Priority::Command
        } else {
            Priority::Background
        };
        let started = now_ms();
        agent.poll_started.store(started, Ordering::Relaxed);
        match hub
            .client
            .poll_user_status(&agent.user_id, &device_id, priority)
            .await
        {
            Ok(data) => {
                hub.update(&agent, lease, |v| v.apply_poll(&data, started, now_ms()))
                    .await;
            }
            Err(e) => {
                tracing::warn!(user_id = %agent.user_id, error = %e, "poll failed");
                let err = AppError::from(e);
                agent.tx.send_modify(|l| l.error = Some(err));
            }
        }
        last_poll = Some(Instant::now());
    }
    hub.metrics.poll_loop_stopped();
    tracing::debug!(user_id = %agent.user_id, "agent loop stopped");
}

/// Hands the subscriber's messages to the hubs.
async fn fleet_messages(hub: std::sync::Weak<Hub>, mut rx: mpsc::Receiver<FleetMessage>) {
    while let Some(msg) = rx.recv().await {
        let Some(hub) = hub.upgrade() else { return };
        match msg {
            FleetMessage::View { agent, view } => {
                if let Some(a) = hub.existing(&agent) {
                    merge_remote(&a, *view);
                }
            }
            FleetMessage::Refresh { agent } => {
                if let Some(a) = hub.existing(&agent) {
                    hub.request_refresh(&a);
                }
            }
            FleetMessage::Resync => {
                let ids: Vec<String> = hub.lock_agents().keys().cloned().collect();
                for id in ids {
                    hub.load_shared(&id).await;
                }
            }
        }
    }
}

/// Acquires and renews leases for every agent held here, a few times per TTL.
async fn lease_ticker(hub: std::sync::Weak<Hub>, fleet: Fleet) {
    let period = fleet.lease_ttl() / 3;
    loop {
        let Some(hub) = hub.upgrade() else { return };
        if *hub.shutdown.borrow() {
            hub.release_leases().await;
            return;
        }
        let up = fleet.heartbeat().await.is_ok();
        hub.metrics.set_redis_up(up);
        let agents: Vec<Arc<AgentHub>> = hub.lock_agents().values().cloned().collect();
        let wanted: Vec<(String, bool)> = agents
            .iter()
            .map(|a| {
                let i = a.interest();
                let here = i.waiters > 0 || i.last_interest.elapsed() < hub.opts.idle;
                (a.user_id.clone(), here)
            })
            .collect();
        match fleet.leases(&wanted).await {
            Ok(leases) => {
                let owned = leases.iter().filter(|l| l.is_some()).count();
                hub.metrics.set_owned_agents(owned);
                hub.owned_count.store(owned, Ordering::Relaxed);
                for (a, lease) in agents.iter().zip(leases) {
                    let gained = {
                        let mut i = a.interest();
                        let gained = i.lease.is_none() && lease.is_some();
                        i.lease = lease;
                        gained
                    };
                    if gained {
                        // The new owner takes over; it asks CCC only when it
                        // knows nothing yet (views come through Redis).
                        tracing::debug!(user_id = %a.user_id, "lease acquired");
                        hub.start_loop(a);
                        if a.tx.borrow().snapshot().is_none() {
                            hub.request_refresh(a);
                        }
                    }
                }
            }
            Err(_) => {
                // Alone: every loop acts as owner until Redis answers again.
                hub.metrics.set_owned_agents(0);
                hub.owned_count.store(0, Ordering::Relaxed);
                for a in &agents {
                    a.interest().lease = None;
                }
            }
        }
        let mut shutdown = hub.shutdown.clone();
        drop(hub);
        tokio::select! {
            () = tokio::time::sleep(period) => {}
            _ = shutdown.wait_for(|s| *s) => {}
        }
    }
}

/// Runs [`Hub::presence_once`] every [`presence::sweep_interval`].
async fn presence_loop(hub: std::sync::Weak<Hub>) {
    loop {
        let (period, mut shutdown) = match hub.upgrade() {
            Some(h) => (
                presence::sweep_interval(h.opts.presence.grace),
                h.shutdown.clone(),
            ),
            None => return,
        };
        tokio::select! {
            () = tokio::time::sleep(period) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        let Some(h) = hub.upgrade() else { return };
        h.presence_once().await;
    }
}

async fn reconcile_loop(hub: std::sync::Weak<Hub>) {
    loop {
        let (period, mut shutdown) = match hub.upgrade() {
            Some(h) => (h.opts.reconcile, h.shutdown.clone()),
            None => return,
        };
        tokio::select! {
            () = tokio::time::sleep(period) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        let Some(h) = hub.upgrade() else { return };
        h.reconcile_once().await;
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
