//! Batched look-ups: first snapshots and ringing details from
//! `ListRealtimeAgentStates` (ccc-api.md §8.3), one call for up to
//! [`IDS_PER_CALL`] agents, instead of one `PollUserStatus` each.
//!
//! - **First looks.** Toolbars that open within [`BATCH_WINDOW`] of each
//!   other (a shift start) share one call; each agent's row becomes its
//!   first snapshot ([`first_view`]). `PollUserStatus` follows only when
//!   the row lacks what the toolbar shows ([`needs_details`]: the device
//!   holding an online agent, a call's legs, the personal number of
//!   `OFF_SITE`), and then after the first state is shown.
//! - **Ringing details.** `AgentRinging` carries the state and the call id
//!   but not the caller; the row's `CounterParty` is the caller's number
//!   ([`add_caller`]), so up to 20 ringing agents cost one call.
//!
//! The queue ([`BatchQueue`]) is a plain type: who waits, when a batch is
//! due, which agents it takes. [`crate::poller`] runs it.

use std::{
    collections::{HashMap, VecDeque},
    time::Duration,
};

use ccc_model::{
    api::{Agent, AgentSnapshot, Call, Channel},
    text, ChannelState, UserState, WorkMode,
};
use tokio::time::Instant;

use crate::{
    reconcile::{user_state, RealtimeAgent},
    view::{Applied, Order, View},
};

pub use crate::reconcile::IDS_PER_CALL;

/// How long a first look waits for others to join its batch (a full
/// batch goes at once): a toolbar opening alone is 50 ms slower, a herd
/// costs one call per 20 agents.
pub const BATCH_WINDOW: Duration = Duration::from_millis(50);

/// How long a ringing agent waits for others to join its batch: rings are
/// spread out (at 10,000 agents about 17 a second), so a longer window
/// gathers several per call while the caller's number still shows well
/// within two seconds.
pub const RINGING_WINDOW: Duration = Duration::from_millis(500);

/// Agents waiting for a batched look-up, oldest first, each with the time
/// its batch must go at the latest; `T` is what each waiter needs back
/// (merged when an agent is asked for twice).
#[derive(Debug)]
pub struct BatchQueue<T> {
    order: VecDeque<(String, Instant)>,
    waiting: HashMap<String, (Instant, Vec<T>)>,
}

impl<T> Default for BatchQueue<T> {
    fn default() -> Self {
        BatchQueue {
            order: VecDeque::new(),
            waiting: HashMap::new(),
        }
    }
}

impl<T> BatchQueue<T> {
    /// Adds a waiter for `agent` at `now` that may wait `window` for
    /// company; true when the queue was empty (whoever runs it should start).
    pub fn push(&mut self, agent: &str, waiter: T, now: Instant, window: Duration) -> bool {
        let was_empty = self.order.is_empty();
        let deadline = now + window;
        match self.waiting.get_mut(agent) {
            Some((d, w)) => {
                *d = (*d).min(deadline);
                w.push(waiter);
            }
            None => {
                self.waiting
                    .insert(agent.to_owned(), (deadline, vec![waiter]));
                self.order.push_back((agent.to_owned(), now));
            }
        }
        was_empty
    }

    /// Agents waiting.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// True when nobody waits.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// When the next batch is due: at once when a full one waits, else
    /// at the earliest deadline of a waiter; `None` when empty.
    pub fn due(&self) -> Option<Instant> {
        let (_, oldest) = self.order.front()?;
        if self.order.len() >= IDS_PER_CALL {
            return Some(*oldest);
        }
        self.waiting.values().map(|(d, _)| *d).min()
    }

    /// Takes the next batch (the oldest [`IDS_PER_CALL`] agents, each with
    /// its waiters) if it is due at `now`.
    pub fn take_due(&mut self, now: Instant) -> Option<Vec<(String, Vec<T>)>> {
        if self.due()? > now {
            return None;
        }
        Some(self.take())
    }

    /// Takes the next batch now, due or not (empty when nobody waits).
    pub fn take(&mut self) -> Vec<(String, Vec<T>)> {
        let n = self.order.len().min(IDS_PER_CALL);
        self.order
            .drain(..n)
            .map(|(agent, _)| {
                let waiters = self.waiting.remove(&agent).map(|(_, w)| w);
                (agent, waiters.unwrap_or_default())
            })
            .collect()
    }
}

/// The row's agent as a full `UserId` (`name@instance`).
pub fn row_id(row: &RealtimeAgent, instance_id: &str) -> String {
    if row.agent_id.contains('@') {
        row.agent_id.clone()
    } else {
        format!("{}@{instance_id}", row.agent_id)
    }
}

fn work_mode(row: &RealtimeAgent) -> Option<WorkMode> {
    row.work_mode
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(WorkMode::parse)
}

/// True when the toolbar needs more than the row says. The row is all it
/// shows of a signed-out agent; once online it also shows which device
/// holds the agent (the takeover warning), in a call the call's legs, and
/// in `OFF_SITE` the personal number. A state this build does not know
/// needs `PollUserStatus` too.
pub fn needs_details(row: &RealtimeAgent) -> bool {
    user_state(&row.state) != Some(UserState::Offline) || work_mode(row) == Some(WorkMode::OffSite)
}

/// The first view of an agent from its row, received at `now` (proxy
/// clock, epoch ms); `None` when the row's state is not one this build
/// knows (ask `PollUserStatus`).
pub fn first_view(row: &RealtimeAgent, now: i64) -> Option<View> {
    let state = user_state(&row.state)?;
    let code = Some(row.state_code.trim()).filter(|c| !c.is_empty());
    let bound = |s: &Option<String>, max| s.as_deref().map(|v| text::clean(v, max));
    let agent = Agent {
        break_code: (state == UserState::Break)
            .then(|| code.map(|c| text::clean(c, text::MAX_CODE)))
            .flatten(),
        state,
        work_mode: work_mode(row),
        extension: bound(&row.extension, text::MAX_NUMBER),
        outbound_scenario: row.outbound_scenario.unwrap_or(false),
        heartbeat: row.state_time,
        ..Agent::default()
    };
    Some(View {
        snapshot: Some(AgentSnapshot {
            context_id: 1,
            agent,
            call: None,
            muted: false,
            held: false,
            presence: None,
            next_state: None,
            // No call in a row: an agent in a call is polled for it.
            consult: None,
            conference: false,
            server_time: now,
        }),
        // CCC's time of the state: an event dated after it applies.
        order: Order {
            time_ms: row.state_time.unwrap_or(0).min(now),
            context: 0,
        },
        polled: 0,
        event_applied_at: 0,
        fetched_at: now,
        presence: None,
        next_state: None,
    })
}

/// Shows `seeded` as the first view: only when nothing is shown yet (a
/// poll or an event that came first is newer). Keeps what presence and
/// the next state set.
pub fn apply_seed(view: &mut View, seeded: &View) -> Applied {
    if view.snapshot.is_some() {
        return Applied::Stale;
    }
    let presence = view.presence.take();
    let next_state = view.next_state.take();
    *view = seeded.clone();
    view.presence = presence;
    view.next_state = next_state;
    Applied::Changed
}

/// Adds the caller of the ringing call `job_id` from the agent's row: a
/// customer leg whose originator is the row's `CounterParty`. Only while
/// the view still shows that call without its legs and the row shows the
/// agent in a call (ringing, or already talking); else nothing changes.
pub fn add_caller(view: &mut View, row: &RealtimeAgent, job_id: &str) -> Applied {
    let number = row
        .counter_party
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let row_in_call = matches!(
        user_state(&row.state),
        Some(UserState::Ringing | UserState::Talking)
    );
    let Some(snap) = view.snapshot.as_mut() else {
        return Applied::Stale;
    };
    let same_call = snap.agent.job_id.as_deref() == Some(job_id)
        && matches!(snap.agent.state, UserState::Ringing | UserState::Talking);
    let has_legs = snap
        .call
        .as_ref()
        .is_some_and(|c| c.job_id == job_id && !c.channels.is_empty());
    let (Some(number), true, true, false) = (number, row_in_call, same_call, has_legs) else {
        return Applied::Stale;
    };
    snap.call = Some(Call {
        job_id: job_id.to_owned(),
        call_type: None,
        channels: vec![Channel {
            channel_id: String::new(),
            state: ChannelState::Ringing,
            flags: Vec::new(),
            originator: Some(text::clean(number, text::MAX_NUMBER)),
            destination: None,
            user_id: None,
            timestamp: row.state_time,
        }],
    });
    snap.context_id = snap.context_id.saturating_add(1);
    Applied::Changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, state: &str) -> RealtimeAgent {
        RealtimeAgent {
            agent_id: id.into(),
            state: state.into(),
            state_time: Some(1_000),
            ..RealtimeAgent::default()
        }
    }

    #[test]
    fn a_herd_becomes_batches_of_twenty_and_a_lone_agent_waits_the_window() {
        let t0 = Instant::now();
        let mut q = BatchQueue::default();
        assert!(
            q.push("a0@i", 0, t0, BATCH_WINDOW),
            "the first starts the runner"
        );
        assert_eq!(q.due(), Some(t0 + BATCH_WINDOW));
        assert!(q.take_due(t0).is_none(), "one agent waits for company");
        for i in 1..45 {
            assert!(!q.push(&format!("a{i}@i"), i, t0, BATCH_WINDOW));
        }
        // The same agent asked for again (a second tab) joins its entry.
        q.push("a3@i", 100, t0, BATCH_WINDOW);
        assert_eq!(q.len(), 45);
        assert_eq!(q.due(), Some(t0), "a full batch goes at once");
        let first = q.take_due(t0).unwrap();
        assert_eq!(first.len(), 20);
        assert_eq!(first[0].0, "a0@i");
        assert_eq!(first[3].1, vec![3, 100]);
        assert_eq!(q.take_due(t0).unwrap().len(), 20);
        // Five left: not due until the window has passed.
        assert!(q.take_due(t0).is_none());
        let rest = q.take_due(t0 + BATCH_WINDOW).unwrap();
        assert_eq!(rest.len(), 5);
        assert!(q.is_empty() && q.due().is_none());
    }

    #[test]
    fn ringing_agents_wait_longer_unless_a_first_look_or_a_full_batch_goes() {
        let t0 = Instant::now();
        let mut q = BatchQueue::default();
        q.push("r0@i", 0, t0, RINGING_WINDOW);
        q.push("r1@i", 1, t0 + Duration::from_millis(100), RINGING_WINDOW);
        assert_eq!(q.due(), Some(t0 + RINGING_WINDOW));
        assert!(q.take_due(t0 + BATCH_WINDOW).is_none());
        // A first look joins: the batch goes at its deadline, rings included.
        let t1 = t0 + Duration::from_millis(200);
        q.push("f0@i", 2, t1, BATCH_WINDOW);
        assert_eq!(q.due(), Some(t1 + BATCH_WINDOW));
        let batch = q.take_due(t1 + BATCH_WINDOW).unwrap();
        let ids: Vec<&str> = batch.iter().map(|(a, _)| a.as_str()).collect();
        assert_eq!(ids, ["r0@i", "r1@i", "f0@i"]);
        // Asked for again with a shorter window: the earlier deadline wins.
        q.push("r2@i", 3, t1, RINGING_WINDOW);
        q.push("r2@i", 4, t1, BATCH_WINDOW);
        assert_eq!((q.len(), q.due()), (1, Some(t1 + BATCH_WINDOW)));
    }

    #[test]
    fn a_row_seeds_the_first_view_and_says_when_it_is_not_enough() {
        let mut r = row("a", "Break");
        r.state_code = "lunch".into();
        r.extension = Some("80000001".into());
        r.work_mode = Some("ON_SITE".into());
        let v = first_view(&r, 5_000).unwrap();
        let s = v.snapshot.as_ref().unwrap();
        assert_eq!(s.agent.state, UserState::Break);
        assert_eq!(s.agent.break_code.as_deref(), Some("lunch"));
        assert_eq!(s.agent.extension.as_deref(), Some("80000001"));
        assert_eq!(s.agent.heartbeat, Some(1_000));
        assert_eq!(v.order.time_ms, 1_000);
        // Online: the device holding the agent comes from PollUserStatus.
        assert!(needs_details(&r));
        assert!(
            !needs_details(&row("a", "Offline")),
            "signed out: all there is"
        );
        // ACW is WORKING; calls and OFF_SITE need PollUserStatus.
        assert_eq!(
            first_view(&row("a", "ACW"), 5_000)
                .unwrap()
                .snapshot
                .unwrap()
                .agent
                .state,
            UserState::Working
        );
        for s in ["Ringing", "Talking", "Dialing", "ACW", "Ready", "Lunch"] {
            assert!(needs_details(&row("a", s)), "{s}");
        }
        let mut off = row("a", "Offline");
        off.work_mode = Some("OFF_SITE".into());
        assert!(needs_details(&off));
        assert!(first_view(&row("a", "Lunch"), 5_000).is_none());
        assert_eq!(row_id(&row("a", "Ready"), "i"), "a@i");
        assert_eq!(row_id(&row("a@j", "Ready"), "i"), "a@j");
    }

    #[test]
    fn a_seed_never_replaces_what_a_poll_or_event_showed() {
        let seeded = first_view(&row("a", "Ready"), 5_000).unwrap();
        let mut empty = View::default();
        assert_eq!(apply_seed(&mut empty, &seeded), Applied::Changed);
        assert_eq!(empty.version(), 1);
        let mut shown = first_view(&row("a", "Break"), 6_000).unwrap();
        assert_eq!(apply_seed(&mut shown, &seeded), Applied::Stale);
        assert_eq!(
            shown.snapshot.unwrap().agent.state,
            UserState::Break,
            "untouched"
        );
    }

    #[test]
    fn the_caller_comes_from_counter_party_for_the_call_still_ringing() {
        let mut view = first_view(&row("a", "Ready"), 5_000).unwrap();
        let s = view.snapshot.as_mut().unwrap();
        s.agent.state = UserState::Ringing;
        s.agent.job_id = Some("job-1".into());
        let mut r = row("a", "Ringing");
        r.counter_party = Some("13800000001".into());
        // Another call, or a row without a number: nothing.
        assert_eq!(add_caller(&mut view, &r, "job-2"), Applied::Stale);
        let mut no_number = r.clone();
        no_number.counter_party = Some(" ".into());
        assert_eq!(add_caller(&mut view, &no_number, "job-1"), Applied::Stale);
        // The agent is no longer in a call: nothing.
        assert_eq!(
            add_caller(&mut view, &row("a", "Ready"), "job-1"),
            Applied::Stale
        );
        let before = view.version();
        assert_eq!(add_caller(&mut view, &r, "job-1"), Applied::Changed);
        assert_eq!(view.version(), before + 1);
        assert!(view.knows_call("job-1"), "no PollUserStatus needed after");
        let call = view.snapshot.as_ref().unwrap().call.clone().unwrap();
        assert_eq!(
            call.customer_channel().unwrap().originator.as_deref(),
            Some("13800000001")
        );
        // Twice is once.
        assert_eq!(add_caller(&mut view, &r, "job-1"), Applied::Stale);
    }
}
