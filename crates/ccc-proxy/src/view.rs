//! What the proxy shows for one agent, and the rules that move it.
//!
//! Three sources change an agent's state: `PollUserStatus` answers (CCC's
//! truth, with its `ContextId`), webhook events (at-least-once, unordered,
//! stamped with CCC's `eventTime`) and commands (which end in a poll). The
//! rules keep the shown state from ever moving backwards:
//!
//! - an event applies only when its `(eventTime, ContextId)` is later than
//!   the state shown (a duplicate or an older event changes nothing); the
//!   `ContextId` is used when the sender adds it (the simulator does);
//! - a poll applies when its `ContextId` is not older than the last poll's
//!   and either it started after the last event was applied (so it already
//!   reflects it) or its `(Heartbeat, ContextId)` is not older than the
//!   shown state's `(eventTime | Heartbeat, ContextId)`.
//!
//! The `contextId` the widget long-polls with is the proxy's own version:
//! it grows on every change of what the toolbar shows, events included
//! (CCC's `ContextId` does not move on an event the proxy applied itself).
//! A poll sets it to at least `ContextId × VERSION_STRIDE`, so versions stay
//! ahead of CCC's marker and survive a restart of a single proxy.

use ccc_model::{
    api::{AgentSnapshot, PresenceNotice},
    PollUserStatusData, UserState,
};
use serde::{Deserialize, Serialize};

use crate::next_state::Pending;

/// Room for event-applied versions between two CCC `ContextId`s.
pub const VERSION_STRIDE: i64 = 1000;

/// Where the shown state stands in CCC's history: CCC's clock (event time or
/// the poll's `Heartbeat`, epoch ms), then CCC's `ContextId`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// CCC's time of the change (epoch ms).
    pub time_ms: i64,
    /// CCC's `ContextId` of the last poll.
    pub context: i64,
}

/// One agent's shown state, with what the ordering rules need.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct View {
    /// What the toolbar shows; its `contextId` is the proxy's version.
    pub snapshot: Option<AgentSnapshot>,
    /// Position in CCC's history.
    pub order: Order,
    /// Proxy clock (epoch ms) when the last event was applied.
    pub event_applied_at: i64,
    /// Proxy clock (epoch ms) when CCC last confirmed this state (poll or event).
    pub fetched_at: i64,
    /// What presence did while no toolbar was open; shown on every snapshot
    /// until the agent's next command ([`View::set_presence`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence: Option<PresenceNotice>,
    /// The state to go to when the call is over ([`crate::next_state`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_state: Option<Pending>,
}

/// What an update did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// What the toolbar shows changed (waiters must wake).
    Changed,
    /// Same content, newer confirmation (freshness moved).
    Confirmed,
    /// Older than what is shown: ignored.
    Stale,
    /// Nothing shown yet to apply an event to: fetch first.
    NoBase,
}

/// A state carried by an event, to apply without asking CCC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    /// The new state.
    pub state: UserState,
    /// Break reason (BREAK only).
    pub break_code: Option<String>,
    /// Outbound-only mode, when the event says.
    pub outbound_scenario: Option<bool>,
    /// The call id when a call starts or goes on (`contactId`).
    pub job_id: Option<String>,
    /// The call is over: forget it (and the mute flag).
    pub ends_call: bool,
}

impl StateChange {
    /// Just `state`, nothing else said.
    pub fn to(state: UserState) -> Self {
        StateChange {
            state,
            break_code: None,
            outbound_scenario: None,
            job_id: None,
            ends_call: false,
        }
    }
}

impl View {
    /// The version the widget long-polls with (0 before anything is known).
    pub fn version(&self) -> i64 {
        self.snapshot.as_ref().map_or(0, |s| s.context_id)
    }

    /// Applies a `PollUserStatus` answer of a call started at `started_at`
    /// and answered at `now` (proxy clock, epoch ms).
    pub fn apply_poll(&mut self, data: &PollUserStatusData, started_at: i64, now: i64) -> Applied {
        let heartbeat = data.user_context.heartbeat.unwrap_or(now);
        let order = Order {
            time_ms: heartbeat,
            context: data.context_id,
        };
        if self.snapshot.is_some() {
            let older_poll = data.context_id < self.order.context;
            let covers_events = started_at >= self.event_applied_at;
            if older_poll || (!covers_events && order < self.order) {
                return Applied::Stale;
            }
        }
        let fresh = AgentSnapshot::from_poll(data, now);
        let floor = data.context_id.saturating_mul(VERSION_STRIDE);
        self.order = self.order.max(order);
        self.order.context = data.context_id;
        self.fetched_at = self.fetched_at.max(now);
        self.replace(fresh, floor)
    }

    /// Applies an event's state at CCC time `event_time` (with CCC's
    /// `ContextId` after the change, when known), received at `now`.
    pub fn apply_event(
        &mut self,
        change: &StateChange,
        event_time: i64,
        context: Option<i64>,
        now: i64,
    ) -> Applied {
        let Some(old) = &self.snapshot else {
            return Applied::NoBase;
        };
        let order = Order {
            time_ms: event_time,
            context: context.unwrap_or(self.order.context),
        };
        let older = match context {
            Some(c) => c < self.order.context || order <= self.order,
            None => event_time <= self.order.time_ms,
        };
        if older {
            return Applied::Stale;
        }
        let mut next = old.clone();
        let agent = &mut next.agent;
        agent.state = change.state.clone();
        agent.break_code = (change.state == UserState::Break)
            .then(|| change.break_code.clone())
            .flatten();
        if let Some(o) = change.outbound_scenario {
            agent.outbound_scenario = o;
        }
        agent.heartbeat = Some(event_time);
        // The call's flags (MUTED, HOLD) go with it.
        let forget_call = |s: &mut AgentSnapshot| {
            s.call = None;
            s.muted = false;
            s.held = false;
        };
        if change.ends_call {
            agent.job_id = None;
            forget_call(&mut next);
        }
        if let Some(job) = &change.job_id {
            if next.call.as_ref().is_some_and(|c| &c.job_id != job) {
                forget_call(&mut next);
            }
            next.agent.job_id = Some(job.clone());
        }
        next.server_time = now;
        self.order = order;
        self.event_applied_at = now;
        self.fetched_at = self.fetched_at.max(now);
        self.replace(next, context.unwrap_or(0).saturating_mul(VERSION_STRIDE))
    }

    /// Sets (or clears, with `None`) the presence notice. A change is a new
    /// version, so long-pollers and replicas see it.
    pub fn set_presence(&mut self, notice: Option<PresenceNotice>) -> Applied {
        if self.presence == notice {
            return Applied::Stale;
        }
        self.presence = notice;
        if let Some(s) = self.snapshot.as_mut() {
            s.context_id = s.context_id.saturating_add(1);
        }
        Applied::Changed
    }

    /// Sets (or clears) the pending next state; a change is a new version.
    pub fn set_next_state(&mut self, pending: Option<Pending>) -> Applied {
        if self.next_state == pending {
            return Applied::Stale;
        }
        self.next_state = pending;
        if let Some(s) = self.snapshot.as_mut() {
            s.context_id = s.context_id.saturating_add(1);
        }
        Applied::Changed
    }

    /// The snapshot as served: with the presence notice and the next state.
    pub fn served(&self) -> Option<AgentSnapshot> {
        self.snapshot.clone().map(|mut s| {
            s.presence.clone_from(&self.presence);
            s.next_state = self.next_state.as_ref().map(|p| p.next.clone());
            s
        })
    }

    /// True when an event at `event_time` (CCC clock) may carry news the
    /// last poll did not see (so a refresh is worth a call).
    pub fn stale_for(&self, event_time: i64) -> bool {
        self.snapshot.is_none() || self.fetched_at < event_time
    }

    /// True when the call `job_id` is the one shown, with its legs.
    pub fn knows_call(&self, job_id: &str) -> bool {
        self.snapshot
            .as_ref()
            .and_then(|s| s.call.as_ref())
            .is_some_and(|c| c.job_id == job_id && !c.channels.is_empty())
    }

    fn replace(&mut self, mut next: AgentSnapshot, floor: i64) -> Applied {
        match &self.snapshot {
            Some(old) if same_content(old, &next) => {
                next.context_id = old.context_id;
                self.snapshot = Some(next);
                Applied::Confirmed
            }
            old => {
                let prev = old.as_ref().map_or(0, |s| s.context_id);
                next.context_id = prev.saturating_add(1).max(floor);
                self.snapshot = Some(next);
                Applied::Changed
            }
        }
    }
}

/// Heartbeats this close are the same change seen by the event and the poll.
const HEARTBEAT_SLACK_MS: i64 = 2000;

/// Same toolbar content (the version and the clock aside; an event's
/// `eventTime` and CCC's `Heartbeat` of the same change may differ a little).
pub fn same_content(a: &AgentSnapshot, b: &AgentSnapshot) -> bool {
    let close = match (a.agent.heartbeat, b.agent.heartbeat) {
        (Some(x), Some(y)) => (x - y).abs() <= HEARTBEAT_SLACK_MS,
        (x, y) => x == y,
    };
    let mut b_agent = b.agent.clone();
    b_agent.heartbeat = a.agent.heartbeat;
    close && a.agent == b_agent && a.call == b.call && a.muted == b.muted && a.held == b.held
}

#[cfg(test)]
mod tests {
    use super::*;
    use ccc_model::UserContext;

    fn poll(ctx: i64, state: &str, heartbeat: i64) -> PollUserStatusData {
        PollUserStatusData {
            context_id: ctx,
            user_context: UserContext {
                user_id: "a@i".into(),
                user_state: UserState::parse(state),
                heartbeat: Some(heartbeat),
                ..UserContext::default()
            },
            call_context: None,
        }
    }

    fn change(state: UserState) -> StateChange {
        StateChange::to(state)
    }

    fn state(v: &View) -> UserState {
        v.snapshot.as_ref().unwrap().agent.state.clone()
    }

    #[test]
    fn events_apply_once_and_never_backwards() {
        let mut v = View::default();
        assert_eq!(
            v.apply_event(&change(UserState::Ready), 10, None, 10),
            Applied::NoBase
        );
        assert_eq!(
            v.apply_poll(&poll(3, "BREAK", 100), 0, 150),
            Applied::Changed
        );
        assert_eq!(v.version(), 3 * VERSION_STRIDE);
        // Ready at 200, then Break at 300 delivered first: Ready is older.
        let mut brk = change(UserState::Break);
        brk.break_code = Some("lunch".into());
        assert_eq!(v.apply_event(&brk, 300, None, 310), Applied::Changed);
        let after_break = v.version();
        assert!(after_break > 3 * VERSION_STRIDE);
        assert_eq!(
            v.apply_event(&change(UserState::Ready), 200, None, 320),
            Applied::Stale
        );
        assert_eq!(
            v.apply_event(&brk, 300, None, 330),
            Applied::Stale,
            "duplicate"
        );
        assert_eq!(state(&v), UserState::Break);
        assert_eq!(v.version(), after_break);
        // An event older than the polled heartbeat changes nothing either.
        assert_eq!(
            v.apply_event(&change(UserState::Offline), 50, None, 340),
            Applied::Stale
        );
    }

    #[test]
    fn polls_follow_context_and_events() {
        let mut v = View::default();
        v.apply_poll(&poll(5, "READY", 100), 0, 100);
        v.apply_event(&change(UserState::Break), 200, None, 210);
        // A poll started before the event, answering the old state: stale.
        assert_eq!(
            v.apply_poll(&poll(5, "READY", 100), 205, 215),
            Applied::Stale
        );
        assert_eq!(state(&v), UserState::Break);
        // A poll started after the event is CCC's truth.
        let before = v.version();
        assert_eq!(
            v.apply_poll(&poll(6, "BREAK", 199), 220, 230),
            Applied::Confirmed
        );
        assert_eq!(v.version(), before, "same content keeps the version");
        assert_eq!(v.fetched_at, 230);
        // An answer with an older ContextId never wins.
        assert_eq!(
            v.apply_poll(&poll(4, "OFFLINE", 500), 400, 410),
            Applied::Stale
        );
        assert_eq!(
            v.apply_poll(&poll(7, "READY", 300), 400, 410),
            Applied::Changed
        );
        assert_eq!(v.version(), 7 * VERSION_STRIDE);
    }

    #[test]
    fn versions_only_grow() {
        let mut v = View::default();
        v.apply_poll(&poll(2, "READY", 1), 0, 1);
        let mut seen = vec![v.version()];
        for (i, s) in [UserState::Break, UserState::Ready, UserState::Break]
            .into_iter()
            .enumerate()
        {
            let t = 10 + i64::try_from(i).unwrap();
            v.apply_event(&change(s), t, None, t);
            seen.push(v.version());
        }
        v.apply_poll(&poll(2, "READY", 20), 30, 30);
        seen.push(v.version());
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    }

    #[test]
    fn context_ids_order_events_of_the_same_millisecond() {
        let mut v = View::default();
        v.apply_poll(&poll(3, "READY", 100), 0, 100);
        let brk = change(UserState::Break);
        assert_eq!(v.apply_event(&brk, 200, Some(5), 201), Applied::Changed);
        assert_eq!(v.version(), 5 * VERSION_STRIDE);
        // Same millisecond, earlier change: older.
        assert_eq!(
            v.apply_event(&change(UserState::Ready), 200, Some(4), 202),
            Applied::Stale
        );
        // A later ContextId in the same millisecond applies.
        assert_eq!(
            v.apply_event(&change(UserState::Ready), 200, Some(6), 203),
            Applied::Changed
        );
        // Older than the last poll's ContextId: stale whatever its time.
        assert_eq!(v.apply_event(&brk, 900, Some(2), 204), Applied::Stale);
    }

    #[test]
    fn ending_a_held_call_forgets_the_hold() {
        let mut v = View::default();
        let mut p = poll(1, "TALKING", 1);
        p.user_context.job_id = Some("job-1".into());
        p.call_context = Some(ccc_model::CallContext {
            job_id: "job-1".into(),
            channel_contexts: vec![ccc_model::ChannelContext {
                channel_id: "ch:customer:1->2:0:job-1".into(),
                channel_flags: vec![ccc_model::ChannelFlag::Hold],
                ..ccc_model::ChannelContext::default()
            }],
            ..ccc_model::CallContext::default()
        });
        v.apply_poll(&p, 0, 1);
        assert!(v.snapshot.as_ref().unwrap().held);
        // Another call replaces it (events name the new job): not held.
        let mut next = change(UserState::Dialing);
        next.job_id = Some("job-2".into());
        v.apply_event(&next, 5, None, 5);
        assert!(!v.snapshot.as_ref().unwrap().held);
        let mut again = poll(2, "TALKING", 7);
        again.user_context.job_id = p.user_context.job_id.clone();
        again.call_context = p.call_context.clone();
        v.apply_poll(&again, 7, 7);
        assert!(v.snapshot.as_ref().unwrap().held);
        let mut release = change(UserState::Working);
        release.ends_call = true;
        v.apply_event(&release, 10, None, 10);
        assert!(!v.snapshot.as_ref().unwrap().held);
    }

    #[test]
    fn ending_a_call_forgets_it() {
        let mut v = View::default();
        let mut p = poll(1, "TALKING", 1);
        p.user_context.job_id = Some("job-1".into());
        p.call_context = Some(ccc_model::CallContext {
            job_id: "job-1".into(),
            ..ccc_model::CallContext::default()
        });
        v.apply_poll(&p, 0, 1);
        assert!(!v.knows_call("job-1"), "no legs yet");
        let mut release = change(UserState::Working);
        release.ends_call = true;
        v.apply_event(&release, 5, None, 5);
        let s = v.snapshot.as_ref().unwrap();
        assert!(s.call.is_none() && s.agent.job_id.is_none() && !s.muted);
        assert!(v.stale_for(6) && !v.stale_for(5));
    }

    #[test]
    fn the_presence_notice_outlives_polls_until_cleared() {
        let notice = PresenceNotice {
            policy: ccc_model::api::PresencePolicy::Break,
            break_code: Some("away".into()),
            grace_secs: 90,
            at: 5,
        };
        let mut v = View::default();
        assert_eq!(v.set_presence(Some(notice.clone())), Applied::Changed);
        assert!(v.served().is_none(), "nothing to serve before a poll");
        v.apply_poll(&poll(3, "BREAK", 100), 0, 100);
        let before = v.version();
        assert_eq!(v.served().unwrap().presence.as_ref(), Some(&notice));
        assert_eq!(v.set_presence(Some(notice)), Applied::Stale, "same notice");
        v.apply_poll(&poll(4, "BREAK", 200), 150, 200);
        assert!(v.served().unwrap().presence.is_some(), "kept across polls");
        let polled = v.version();
        assert!(polled >= before);
        assert_eq!(v.set_presence(None), Applied::Changed);
        assert!(v.version() > polled, "clearing is a new version");
        assert!(v.served().unwrap().presence.is_none());
        assert!(v.snapshot.as_ref().unwrap().presence.is_none());
        assert_eq!(v.set_presence(None), Applied::Stale);
    }
}
