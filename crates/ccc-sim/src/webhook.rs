//! Event push in webhook mode: a bounded queue filled by the state machine
//! without ever waiting, and one delivery task that POSTs JSON arrays of
//! events through one pooled HTTP client, with retries (at-least-once) and
//! the optional loss / duplicate / reorder faults of tests.
//!
//! - The queue holds at most `queue_capacity` events; when it is full an
//!   event is dropped and counted (`events.dropped`), never buffered
//!   without bound.
//! - The task takes whatever is queued (up to [`MAX_BATCH`] events) and
//!   sends it as one POST: one change is one POST when the receiver keeps
//!   up, a burst shares POSTs when it does not.
//! - A POST that fails (transport error or non-2xx) is retried
//!   [`MAX_ATTEMPTS`] times in all, 50 ms · 2ⁿ apart; then its events count
//!   as `failed`.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::mpsc;

use crate::config::{DeliveryFaults, WebhookTarget};
use crate::stats::{add, Counters};
use ccc_model::{EventMessage as Event, EventType};

/// Events per POST at most.
pub const MAX_BATCH: usize = 200;
/// Attempts per POST, the first included.
pub const MAX_ATTEMPTS: u32 = 4;
/// How long events held back by `reorderRate` wait for later events
/// before they are sent anyway.
pub const HOLD: Duration = Duration::from_millis(30);
/// Timeout of one POST.
const POST_TIMEOUT: Duration = Duration::from_secs(5);

/// The event subscription: where events go, which are switched off, and
/// the delivery faults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Subscription {
    /// The receivers (none: events are not pushed). With several, POSTs
    /// go to each in turn and a failed attempt is retried at the next one,
    /// like a load balancer in front of proxy replicas.
    pub targets: Vec<WebhookTarget>,
    /// Event types switched off (`EventSubscriptionsJson`).
    pub disabled: BTreeSet<EventType>,
    /// Test faults.
    pub faults: DeliveryFaults,
}

/// What the RPC side and the delivery task share.
#[derive(Debug, Default)]
pub(crate) struct Hub {
    subscription: RwLock<Subscription>,
    /// Bumped whenever the faults change, so the task reseeds its draws.
    faults_generation: AtomicU64,
    pub(crate) counters: Counters,
}

impl Hub {
    pub(crate) fn subscription(&self) -> Subscription {
        self.subscription
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn update(&self, f: impl FnOnce(&mut Subscription)) {
        let mut sub = self.subscription.write().unwrap_or_else(|e| e.into_inner());
        let faults = sub.faults.clone();
        f(&mut sub);
        if sub.faults != faults {
            self.faults_generation.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The queue side: owned by the simulator state; the delivery task starts
/// with the first event and ends when the state is dropped.
#[derive(Debug)]
pub(crate) struct Publisher {
    pub(crate) hub: Arc<Hub>,
    queue: Mutex<Option<mpsc::Sender<Event>>>,
    capacity: usize,
}

impl Publisher {
    pub(crate) fn new(subscription: Subscription, capacity: usize) -> Self {
        let hub = Hub::default();
        hub.update(|s| *s = subscription);
        Publisher {
            hub: Arc::new(hub),
            queue: Mutex::new(None),
            capacity: capacity.max(1),
        }
    }

    fn sender(&self) -> Option<mpsc::Sender<Event>> {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = queue.as_ref().filter(|tx| !tx.is_closed()) {
            return Some(tx.clone());
        }
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let (tx, rx) = mpsc::channel(self.capacity);
        runtime.spawn(deliver(self.hub.clone(), rx));
        *queue = Some(tx.clone());
        Some(tx)
    }

    /// Queues the subscribed ones of `events`; never waits.
    pub(crate) fn publish(&self, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let disabled = {
            let sub = self
                .hub
                .subscription
                .read()
                .unwrap_or_else(|e| e.into_inner());
            if sub.targets.is_empty() {
                return;
            }
            sub.disabled.clone()
        };
        let Some(tx) = self.sender() else {
            return;
        };
        let counters = &self.hub.counters;
        for e in events
            .into_iter()
            .filter(|e| e.event_type().is_none_or(|ty| !disabled.contains(&ty)))
        {
            match tx.try_send(e) {
                Ok(()) => add(&counters.queued, 1),
                Err(_) => add(&counters.dropped, 1),
            }
        }
    }
}

/// What the faults did to one batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Plan {
    /// Events lost.
    pub lost: usize,
    /// Events copied for a later POST.
    pub duplicated: usize,
    /// Events held back behind later ones.
    pub reordered: usize,
}

/// Applies the faults to `incoming`: returns the events to POST now (the
/// kept incoming ones, then those held back earlier) and leaves in `held`
/// the events for a later POST (held back, or second copies). Three draws
/// per event whatever they decide, so a seed gives the same decisions for
/// the same events.
pub fn plan(
    incoming: Vec<Event>,
    held: &mut Vec<Event>,
    faults: &DeliveryFaults,
    rng: &mut impl Rng,
) -> (Vec<Event>, Plan) {
    let earlier = std::mem::take(held);
    let mut now = Vec::with_capacity(incoming.len() + earlier.len());
    let mut p = Plan::default();
    for e in incoming {
        let (lose, late, twice) = (
            rng.random::<f64>() < faults.loss_rate,
            rng.random::<f64>() < faults.reorder_rate,
            rng.random::<f64>() < faults.duplicate_rate,
        );
        if lose {
            p.lost += 1;
            continue;
        }
        if twice {
            p.duplicated += 1;
            held.push(e.clone());
        }
        if late {
            p.reordered += 1;
            held.push(e);
        } else {
            now.push(e);
        }
    }
    now.extend(earlier);
    (now, p)
}

fn rng_for(faults: &DeliveryFaults) -> StdRng {
    match faults.seed {
        Some(seed) => StdRng::seed_from_u64(seed),
        None => StdRng::from_os_rng(),
    }
}

/// The delivery task.
async fn deliver(hub: Arc<Hub>, mut rx: mpsc::Receiver<Event>) {
    let client = reqwest::Client::builder()
        .timeout(POST_TIMEOUT)
        .build()
        .unwrap_or_default();
    let mut generation = u64::MAX;
    let mut rng = StdRng::seed_from_u64(0);
    let mut held: Vec<Event> = Vec::new();
    let mut turn = 0usize;
    loop {
        let mut batch = Vec::new();
        let open = if held.is_empty() {
            rx.recv_many(&mut batch, MAX_BATCH).await > 0
        } else {
            // Held-back events wait a little for later ones to overtake.
            match tokio::time::timeout(HOLD, rx.recv_many(&mut batch, MAX_BATCH)).await {
                Err(_elapsed) => true,
                Ok(n) => n > 0,
            }
        };
        let sub = hub.subscription();
        let current = hub.faults_generation.load(Ordering::Relaxed);
        if current != generation {
            generation = current;
            rng = rng_for(&sub.faults);
        }
        let (mut now, p) = plan(batch, &mut held, &sub.faults, &mut rng);
        let c = &hub.counters;
        add(&c.lost, p.lost);
        add(&c.duplicated, p.duplicated);
        add(&c.reordered, p.reordered);
        if !open {
            now.append(&mut held);
        }
        for chunk in now.chunks(MAX_BATCH) {
            post(&client, &sub.targets, turn, chunk, c).await;
            turn = turn.wrapping_add(1);
        }
        if !open {
            return;
        }
    }
}

/// POSTs `events` as one JSON array to `targets[turn]`, retrying failures
/// at the next target (the same one when there is only one).
async fn post(
    client: &reqwest::Client,
    targets: &[WebhookTarget],
    turn: usize,
    events: &[Event],
    c: &Counters,
) {
    let n = events.len();
    if targets.is_empty() {
        // The webhook was removed while these waited.
        add(&c.failed, n);
        return;
    }
    let body = serde_json::to_vec(events).unwrap_or_default();
    for attempt in 0..MAX_ATTEMPTS {
        let target = &targets[turn.wrapping_add(attempt as usize) % targets.len()];
        let mut req = client
            .post(target.url().clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone());
        if let Some(token) = target.token() {
            req = req.bearer_auth(token);
        }
        let outcome = match req.send().await {
            Ok(resp) if resp.status().is_success() => {
                add(&c.delivered, n);
                add(&c.posts, 1);
                return;
            }
            Ok(resp) => resp.status().to_string(),
            Err(e) => e.without_url().to_string(),
        };
        // The URL may carry a secret in its path: log the origin only.
        tracing::warn!(
            origin = target.origin(),
            attempt,
            outcome,
            events = n,
            "webhook delivery failed"
        );
        if attempt + 1 < MAX_ATTEMPTS {
            add(&c.retries, 1);
            tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
        }
    }
    add(&c.failed, n);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::format_event_time;

    fn events(n: i64) -> Vec<Event> {
        (0..n)
            .map(|i| Event {
                event_time: format_event_time(i),
                instance_id: "i".into(),
                agent_id: Some(format!("a{i}")),
                skill_group_ids: None,
                context_id: Some(i),
                event: ccc_model::Event::AgentReady {
                    outbound_scenario: None,
                },
            })
            .collect()
    }

    fn ids(events: &[Event]) -> Vec<i64> {
        events.iter().filter_map(|e| e.context_id).collect()
    }

    #[test]
    fn no_faults_passes_everything_in_order() {
        let mut held = Vec::new();
        let mut rng = StdRng::seed_from_u64(1);
        let (now, p) = plan(events(5), &mut held, &DeliveryFaults::default(), &mut rng);
        assert_eq!(ids(&now), [0, 1, 2, 3, 4]);
        assert!(held.is_empty());
        assert_eq!(p, Plan::default());
    }

    #[test]
    fn full_rates_do_what_they_say() {
        let mut rng = StdRng::seed_from_u64(1);
        let lose = DeliveryFaults {
            loss_rate: 1.0,
            ..DeliveryFaults::default()
        };
        let mut held = Vec::new();
        let (now, p) = plan(events(3), &mut held, &lose, &mut rng);
        assert!(now.is_empty() && held.is_empty());
        assert_eq!(p.lost, 3);

        let late = DeliveryFaults {
            reorder_rate: 1.0,
            ..DeliveryFaults::default()
        };
        let (now, p) = plan(events(2), &mut held, &late, &mut rng);
        assert!(now.is_empty());
        assert_eq!((p.reordered, ids(&held)), (2, vec![0, 1]));
        // Held events go after the next batch.
        let (now, _) = plan(events(1), &mut held, &DeliveryFaults::default(), &mut rng);
        assert_eq!(ids(&now), [0, 0, 1]);

        let twice = DeliveryFaults {
            duplicate_rate: 1.0,
            ..DeliveryFaults::default()
        };
        let mut held = Vec::new();
        let (now, p) = plan(events(2), &mut held, &twice, &mut rng);
        assert_eq!(
            (ids(&now), ids(&held), p.duplicated),
            (vec![0, 1], vec![0, 1], 2)
        );
    }

    #[test]
    fn a_seed_repeats_the_decisions() {
        let faults = DeliveryFaults {
            loss_rate: 0.3,
            duplicate_rate: 0.3,
            reorder_rate: 0.3,
            seed: Some(7),
        };
        let run = || {
            let mut rng = rng_for(&faults);
            let mut held = Vec::new();
            let (now, p) = plan(events(50), &mut held, &faults, &mut rng);
            (ids(&now), ids(&held), p)
        };
        let first = run();
        assert_eq!(first, run());
        let p = first.2;
        assert!(p.lost > 0 && p.duplicated > 0 && p.reordered > 0, "{p:?}");
        assert!(p.lost < 50);
    }
}
