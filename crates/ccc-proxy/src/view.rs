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
//!   reflects it: it always wins) or its `(Heartbeat, ContextId)` is not
//!   older than the shown state's `(eventTime | Heartbeat, ContextId)`.
//!
//! Events come from whoever holds the events token, so [`OrderRule`] bounds
//! what one of them can claim: an `eventTime` too far ahead of the proxy's
//! clock is refused, a `contextId` is only a hint capped at the last polled
//! `ContextId` plus a margin, and a poll that started after an event caps
//! the shown time at the proxy's clock. The same bounds apply to a view read
//! from Redis ([`View::bounded`]), so a view stored by a forged event (or by
//! an older proxy) cannot stay pinned.
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

/// The bounds that keep one forged or skewed event from pinning a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderRule {
    /// An `eventTime` further ahead of the proxy's clock is refused.
    pub max_ahead_ms: i64,
    /// An event's `contextId` counts at most this far beyond the last
    /// `ContextId` a poll returned.
    pub context_margin: i64,
}

/// The rule the proxy runs with: five minutes of clock skew, a margin of
/// 1000 changes between two polls.
pub const ORDER_RULE: OrderRule = OrderRule {
    max_ahead_ms: 5 * 60 * 1000,
    context_margin: 1000,
};

/// An event dated too far ahead of the proxy's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooFarAhead {
    /// How far ahead it is (ms).
    pub ahead_ms: i64,
}

impl OrderRule {
    /// `Err` when `event_time` is more than [`OrderRule::max_ahead_ms`]
    /// ahead of `now` (both epoch ms).
    pub fn check_time(&self, event_time: i64, now: i64) -> Result<(), TooFarAhead> {
        let ahead_ms = event_time.saturating_sub(now);
        if ahead_ms > self.max_ahead_ms {
            Err(TooFarAhead { ahead_ms })
        } else {
            Ok(())
        }
    }

    /// An event's `contextId` hint, never above `polled + context_margin`.
    pub fn hint(&self, hint: Option<i64>, polled: i64) -> Option<i64> {
        hint.map(|c| c.min(polled.saturating_add(self.context_margin)))
    }

    /// The highest version a view whose last poll saw `polled` may carry.
    pub fn version_cap(&self, polled: i64) -> i64 {
        polled
            .max(0)
            .saturating_add(self.context_margin)
            .saturating_add(1)
            .saturating_mul(VERSION_STRIDE)
    }

    /// `order` bounded as a fresh event would be: its time no further ahead
    /// of `now` than allowed, its context within the margin of `polled`.
    pub fn bound(&self, order: Order, polled: i64, now: i64) -> Order {
        Order {
            time_ms: order.time_ms.min(now.saturating_add(self.max_ahead_ms)),
            context: order
                .context
                .min(polled.max(0).saturating_add(self.context_margin)),
        }
    }
}

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
    /// The highest `ContextId` a poll returned (events never move it).
    #[serde(default)]
    pub polled: i64,
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
        let covers_events = started_at >= self.event_applied_at;
        if self.snapshot.is_some() {
            let older_poll = data.context_id < self.polled;
            if older_poll || (!covers_events && order < self.order) {
                return Applied::Stale;
            }
        }
        let mut fresh = AgentSnapshot::from_poll(data, now);
        crate::consult::annotate(
            &mut fresh,
            data.call_context.as_ref(),
            &data.user_context.user_id,
        );
        let floor = data.context_id.saturating_mul(VERSION_STRIDE);
        if covers_events {
            // CCC's truth after every applied event: an event's time keeps
            // older duplicates out, but never beyond the proxy's clock.
            self.order.time_ms = self.order.time_ms.min(now);
        }
        self.order = self.order.max(order);
        self.order.context = data.context_id;
        self.polled = self.polled.max(data.context_id);
        self.fetched_at = self.fetched_at.max(now);
        self.replace(fresh, floor)
    }

    /// Applies an event's state at CCC time `event_time` (with CCC's
    /// `ContextId` after the change, when known: a hint bounded by
    /// [`ORDER_RULE`]), received at `now`. An event dated too far ahead is
    /// [`Applied::Stale`] (the caller refuses it first, to count it).
    pub fn apply_event(
        &mut self,
        change: &StateChange,
        event_time: i64,
        context: Option<i64>,
        now: i64,
    ) -> Applied {
        if ORDER_RULE.check_time(event_time, now).is_err() {
            return Applied::Stale;
        }
        let Some(old) = &self.snapshot else {
            return Applied::NoBase;
        };
        let context = ORDER_RULE.hint(context, self.polled);
        let order = Order {
            time_ms: event_time,
            context: context.unwrap_or(self.order.context),
        };
        let older = match context {
            Some(c) => c < self.polled || order <= self.order,
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
            s.consult = None;
            s.conference = false;
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

    /// The view as read from Redis or another replica, bounded by
    /// [`ORDER_RULE`] as if its events arrived now: a view pinned by a
    /// forged event (stored before these bounds) comes back usable.
    pub fn bounded(mut self, now: i64) -> View {
        self.order = ORDER_RULE.bound(self.order, self.polled, now);
        let cap = ORDER_RULE.version_cap(self.polled);
        if let Some(s) = self.snapshot.as_mut() {
            s.context_id = s.context_id.min(cap);
        }
        self
    }

    /// True when the shown order is dated after `now` (proxy clock): an
    /// event that loses against it is worth a poll, which always wins.
    pub fn ahead_of(&self, now: i64) -> bool {
        self.order.time_ms > now
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
    fn the_order_rule_bounds_time_and_context() {
        let r = ORDER_RULE;
        assert_eq!(r.check_time(1_000 + r.max_ahead_ms, 1_000), Ok(()));
        assert_eq!(
            r.check_time(1_001 + r.max_ahead_ms, 1_000),
            Err(TooFarAhead {
                ahead_ms: r.max_ahead_ms + 1
            })
        );
        assert_eq!(r.check_time(i64::MIN, 1_000), Ok(()), "old is not ahead");
        assert!(r.check_time(i64::MAX, 1_000).is_err());
        assert_eq!(r.hint(None, 7), None);
        assert_eq!(r.hint(Some(9), 7), Some(9));
        assert_eq!(r.hint(Some(i64::MAX), 7), Some(7 + r.context_margin));
        let pinned = Order {
            time_ms: i64::MAX,
            context: i64::MAX,
        };
        assert_eq!(
            r.bound(pinned, 7, 1_000),
            Order {
                time_ms: 1_000 + r.max_ahead_ms,
                context: 7 + r.context_margin
            }
        );
        let fine = Order {
            time_ms: 900,
            context: 7,
        };
        assert_eq!(r.bound(fine, 7, 1_000), fine);
        assert!(r.version_cap(7) > (7 + r.context_margin) * VERSION_STRIDE);
        assert!(r.version_cap(i64::MAX) == i64::MAX);
    }

    #[test]
    fn a_forged_context_id_cannot_freeze_the_view() {
        let mut v = View::default();
        v.apply_poll(&poll(3, "BREAK", 100), 0, 100);
        let ready = change(UserState::Ready);
        assert_eq!(
            v.apply_event(&ready, 200, Some(i64::MAX), 201),
            Applied::Changed
        );
        let forged = v.version();
        assert!(forged <= ORDER_RULE.version_cap(3), "{forged}");
        // The agent's own break (a poll started after the event) wins.
        let mut brk = poll(4, "BREAK", 300);
        brk.user_context.break_code = Some("lunch".into());
        assert_eq!(v.apply_poll(&brk, 250, 310), Applied::Changed);
        assert_eq!(state(&v), UserState::Break);
        assert!(v.version() > forged, "versions still grow");
        // Later real events still apply.
        assert_eq!(v.apply_event(&ready, 400, Some(5), 401), Applied::Changed);
        assert_eq!(state(&v), UserState::Ready);
    }

    #[test]
    fn a_future_event_is_refused_and_a_poll_caps_the_clock() {
        let mut v = View::default();
        v.apply_poll(&poll(3, "READY", 1_000), 0, 1_000);
        let year_3000 = 32_503_680_000_000;
        let brk = change(UserState::Break);
        assert_eq!(v.apply_event(&brk, year_3000, None, 1_100), Applied::Stale);
        assert_eq!(state(&v), UserState::Ready);
        // Within the allowed skew it applies, but the next poll started
        // after it brings the clock back to the proxy's.
        let soon = 1_100 + ORDER_RULE.max_ahead_ms;
        assert_eq!(v.apply_event(&brk, soon, None, 1_100), Applied::Changed);
        assert!(v.ahead_of(1_200));
        v.apply_poll(&poll(4, "READY", 1_150), 1_150, 1_200);
        assert!(!v.ahead_of(1_200));
        assert_eq!(
            v.apply_event(&change(UserState::Ringing), 1_300, None, 1_300),
            Applied::Changed
        );
    }

    #[test]
    fn a_pinned_view_from_redis_is_bounded_on_load() {
        let mut v = View::default();
        v.apply_poll(&poll(3, "READY", 100), 0, 100);
        v.order = Order {
            time_ms: i64::MAX,
            context: i64::MAX,
        };
        v.snapshot.as_mut().unwrap().context_id = i64::MAX;
        let mut v = v.bounded(1_000);
        assert!(v.version() <= ORDER_RULE.version_cap(3));
        assert!(v.order.time_ms <= 1_000 + ORDER_RULE.max_ahead_ms);
        // Still ahead of the clock: an event loses, but says a poll is due
        // (the hub asks for one), and that poll always wins.
        let brk = change(UserState::Break);
        assert_eq!(v.apply_event(&brk, 2_000, Some(4), 2_000), Applied::Stale);
        assert!(v.ahead_of(2_000));
        assert_eq!(
            v.apply_poll(&poll(4, "BREAK", 1_990), 2_000, 2_010),
            Applied::Changed
        );
        assert!(!v.ahead_of(2_010));
        assert_eq!(
            v.apply_event(&change(UserState::Ready), 3_000, Some(5), 3_000),
            Applied::Changed
        );
        // A view stored before `polled` existed reads as 0.
        let legacy: View = serde_json::from_str(
            r#"{"order":{"timeMs":1,"context":2},"eventAppliedAt":0,"fetchedAt":0}"#,
        )
        .unwrap();
        assert_eq!(legacy.polled, 0);
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
