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

mod agent_loop;
mod apply;
mod batch;
mod janitor;
mod leases;
mod presence_sweep;
mod reconciliation;
mod waiters;

pub use waiters::LongPollLimits;

use agent_loop::gives_up;
use apply::merge_remote;
use batch::Lookups;
use janitor::janitor_loop;
use leases::{fleet_messages, lease_ticker};
use presence_sweep::presence_loop;
use reconciliation::reconcile_loop;
use waiters::Interest;

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
    /// Batched first looks and ringing details ([`crate::seed`]).
    lookups: Lookups,
    /// The fleet's last known watchers were read (once per process).
    presence_rebuilt: std::sync::atomic::AtomicBool,
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
            lookups: Lookups::default(),
            presence_rebuilt: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Starts the background tasks: the fleet's lease ticker and subscriber
    /// (with Redis), the reconciliation sweeps (with events), the presence
    /// sweep (with a policy) and the sweep that forgets unwatched agents.
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
        tokio::spawn(janitor_loop(Arc::downgrade(self)));
    }

    /// True when a presence policy is set.
    pub fn presence_on(&self) -> bool {
        self.opts.presence.policy != PresencePolicy::None
    }

    fn lock_agents(&self) -> MutexGuard<'_, HashMap<String, Arc<AgentHub>>> {
        self.agents.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn agent(&self, user_id: &str) -> Arc<AgentHub> {
        let mut map = self.lock_agents();
        let agent = map
            .entry(user_id.to_owned())
            .or_insert_with(|| Arc::new(new_agent_hub(user_id)))
            .clone();
        self.metrics.set_agents_held(map.len());
        agent
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
