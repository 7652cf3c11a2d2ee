//! The batched look-ups of [`crate::seed`]: first looks and ringing
//! details wait a moment in one queue; a runner sends every due batch of up
//! to 20 agents as one `ListRealtimeAgentStates` (at [`Priority::Seed`],
//! after commands) and hands each agent's row back.

use super::*;
use crate::{
    budget::Grant,
    reconcile::RealtimeAgent,
    seed::{self, BatchQueue},
};
use tokio::sync::oneshot;

/// What a waiter of a look-up needs back.
#[derive(Debug)]
pub(super) enum Waiter {
    /// A first look: the agent's row (`None`: ask `PollUserStatus`).
    First(oneshot::Sender<Option<RealtimeAgent>>),
    /// A ringing agent whose view lacks the caller of call `job`.
    Ringing {
        /// The agent's hub (held here, or transient).
        agent: Arc<AgentHub>,
        /// The call.
        job: String,
    },
}

/// The queue of look-ups, the runner's wake-up, and who waits for the
/// batches to be over.
#[derive(Debug, Default)]
pub(super) struct Lookups {
    queue: Mutex<BatchQueue<Waiter>>,
    wake: Notify,
    in_flight: std::sync::atomic::AtomicUsize,
    idle: Notify,
}

impl Lookups {
    fn idle_now(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0 && lock(&self.queue).is_empty()
    }
}

/// What seeding an agent's first look did.
pub(super) enum Seeded {
    /// The row is all the toolbar shows: no `PollUserStatus`.
    Done,
    /// Shown; `PollUserStatus` still fills in the details, at this priority.
    Details(Priority),
    /// No usable row: poll as before.
    NoRow,
}

impl Hub {
    /// Queues a look-up of `user_id` (starting the runner when idle).
    pub(super) fn lookup(self: &Arc<Self>, user_id: &str, waiter: Waiter) {
        let window = match waiter {
            Waiter::First(_) => seed::BATCH_WINDOW,
            Waiter::Ringing { .. } => seed::RINGING_WINDOW,
        };
        let start = lock(&self.lookups.queue).push(user_id, waiter, Instant::now(), window);
        if start {
            tokio::spawn(lookup_runner(self.clone()));
        } else {
            self.lookups.wake.notify_one();
        }
    }

    /// Seeds `agent`'s first view from a batched row.
    pub(super) async fn seed(self: &Arc<Self>, agent: &AgentHub, lease: Option<Lease>) -> Seeded {
        let (tx, rx) = oneshot::channel();
        self.lookup(&agent.user_id, Waiter::First(tx));
        let Some(row) = rx.await.ok().flatten() else {
            return Seeded::NoRow;
        };
        let Some(seeded) = seed::first_view(&row, now_ms()) else {
            return Seeded::NoRow;
        };
        self.update(agent, lease, |v| seed::apply_seed(v, &seeded))
            .await;
        if !seed::needs_details(&row) {
            return Seeded::Done;
        }
        // A call's legs matter at once (the call card); the rest can wait.
        let in_call = seeded.snapshot.as_ref().is_some_and(|s| {
            s.agent.state.in_call() || s.agent.state == ccc_model::UserState::Working
        });
        if in_call {
            return Seeded::Details(Priority::Seed);
        }
        // The device of an idle agent can wait for the herd to pass: the
        // budget goes to the first looks still waiting.
        self.lookups_idle().await;
        Seeded::Details(Priority::Background)
    }

    /// Returns when no look-up waits or runs.
    async fn lookups_idle(&self) {
        loop {
            let notified = self.lookups.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.lookups.idle_now() {
                return;
            }
            notified.await;
        }
    }
}

/// Sends every due batch. The batch is taken from the queue only once the
/// budget lets its call out: while the budget is busy more agents join, so
/// a herd costs as few calls as the budget forces.
async fn lookup_runner(hub: Arc<Hub>) {
    loop {
        let Some(due) = lock(&hub.lookups.queue).due() else {
            return;
        };
        if due > Instant::now() {
            tokio::select! {
                () = tokio::time::sleep_until(due) => {}
                () = hub.lookups.wake.notified() => {}
            }
            continue;
        }
        hub.lookups.in_flight.fetch_add(1, Ordering::AcqRel);
        let grant = hub.client.budget().acquire(Priority::Seed).await;
        let batch = lock(&hub.lookups.queue).take();
        tokio::spawn(run_batch(hub.clone(), batch, grant));
    }
}

async fn run_batch(hub: Arc<Hub>, batch: Vec<(String, Vec<Waiter>)>, grant: Grant) {
    if !batch.is_empty() {
        answer_batch(&hub, batch, grant).await;
    }
    hub.lookups.in_flight.fetch_sub(1, Ordering::AcqRel);
    if hub.lookups.idle_now() {
        hub.lookups.idle.notify_waiters();
    }
}

async fn answer_batch(hub: &Arc<Hub>, batch: Vec<(String, Vec<Waiter>)>, grant: Grant) {
    let ids: Vec<String> = batch.iter().map(|(a, _)| a.clone()).collect();
    let rows: HashMap<String, RealtimeAgent> = match hub
        .client
        .realtime_states_of(&ids, Priority::Seed, Some(grant))
        .await
    {
        Ok(page) => {
            let instance = hub.client.instance_id();
            page.list
                .into_iter()
                .map(|r| (seed::row_id(&r, instance), r))
                .collect()
        }
        Err(e) => {
            tracing::warn!(agents = ids.len(), error = %e, "batched look-up failed");
            HashMap::new()
        }
    };
    for (user_id, waiters) in batch {
        let row = rows.get(&user_id);
        for waiter in waiters {
            match waiter {
                Waiter::First(tx) => {
                    let _ = tx.send(row.cloned());
                }
                Waiter::Ringing { agent, job } => {
                    if let Some(row) = row {
                        let (_, applied) = hub
                            .update(&agent, None, |v| seed::add_caller(v, row, &job))
                            .await;
                        if applied == Applied::Changed {
                            hub.metrics.ccc_event("caller_batched");
                        }
                    }
                    // Still the call, still without its caller: ask CCC.
                    let view = agent.tx.borrow().view.clone();
                    let same_call = view
                        .snapshot
                        .as_ref()
                        .is_some_and(|s| s.agent.job_id.as_deref() == Some(job.as_str()));
                    if same_call && !view.knows_call(&job) {
                        hub.refresh_somewhere(&user_id).await;
                    }
                }
            }
        }
    }
}
