//! Presence: no calls routed to an empty desk.
//!
//! An agent is *present* while at least one long-poll of any of their
//! browsers is in flight here. [`Tracker`] keeps, per agent, how many are in
//! flight and since when none is; [`decide`] is the business rule applied
//! once the grace has passed. The hub ([`crate::poller`]) feeds the tracker
//! from its waiter bookkeeping and runs one sweep task that acts on what
//! [`decide`] says (with Redis, after claiming the decision for the fleet).
//!
//! The rule:
//! - only a READY agent is moved (TakeBreak with the presence break code, or
//!   SignOutGroup);
//! - never during a call (DIALING, RINGING, TALKING) nor in after-call work
//!   (WORKING): presence waits, and acts when the agent is READY and still
//!   absent;
//! - BREAK, OFFLINE (or a state the proxy does not know): nothing;
//! - once per absence: after acting or deciding to do nothing the agent is
//!   forgotten until their next long-poll starts a new presence.

use std::{collections::HashMap, time::Duration};

use ccc_model::{
    api::{PresenceNotice, PresencePolicy},
    UserState,
};
use tokio::time::Instant;

use crate::config::PresenceConfig;

/// What presence does upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `TakeBreak` with `Code`.
    TakeBreak {
        /// The break code.
        code: String,
    },
    /// `SignOutGroup`.
    SignOut,
}

impl Action {
    /// The CCC action name.
    pub fn ccc_action(&self) -> &'static str {
        match self {
            Action::TakeBreak { .. } => "TakeBreak",
            Action::SignOut => "SignOutGroup",
        }
    }

    /// Parameters beyond `UserId` and `DeviceId`.
    pub fn params(&self) -> Vec<(String, String)> {
        match self {
            Action::TakeBreak { code } => vec![("Code".to_owned(), code.clone())],
            Action::SignOut => Vec::new(),
        }
    }

    /// The notice the toolbar shows on return.
    pub fn notice(&self, grace: Duration, at: i64) -> PresenceNotice {
        let (policy, break_code) = match self {
            Action::TakeBreak { code } => (PresencePolicy::Break, Some(code.clone())),
            Action::SignOut => (PresencePolicy::SignOut, None),
        };
        PresenceNotice {
            policy,
            break_code,
            grace_secs: grace.as_secs(),
            at,
        }
    }
}

/// What to do about an agent without an open toolbar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Act now.
    Act(Action),
    /// Not yet: look again at the next sweep.
    Wait,
    /// Nothing, for this absence.
    Done,
}

/// The rule: what to do with an agent in `state` whose last long-poll
/// ended `absent_for` ago.
pub fn decide(state: &UserState, absent_for: Duration, config: &PresenceConfig) -> Decision {
    let action = match config.policy {
        PresencePolicy::None => return Decision::Done,
        PresencePolicy::Break => Action::TakeBreak {
            code: config.break_code.clone(),
        },
        PresencePolicy::SignOut => Action::SignOut,
    };
    if absent_for < config.grace {
        return Decision::Wait;
    }
    match state {
        UserState::Ready => Decision::Act(action),
        s if s.in_call() => Decision::Wait,
        UserState::Working => Decision::Wait,
        _ => Decision::Done,
    }
}

/// How often the sweep looks: a quarter of the grace, between 100 ms and 5 s.
pub fn sweep_interval(grace: Duration) -> Duration {
    (grace / 4).clamp(Duration::from_millis(100), Duration::from_secs(5))
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    /// Long-polls in flight.
    open: usize,
    /// When the last one ended (meaningful when `open == 0`).
    since: Instant,
    /// Until when the fleet was last told the agent is present here.
    vouched_until: Option<Instant>,
}

/// Long-polls in flight per agent, and since when none is.
#[derive(Debug, Default)]
pub struct Tracker {
    agents: HashMap<String, Seen>,
}

impl Tracker {
    /// A long-poll of `user_id` started. True when it ends an absence (none
    /// was in flight).
    pub fn opened(&mut self, user_id: &str, now: Instant) -> bool {
        let seen = self.agents.entry(user_id.to_owned()).or_insert(Seen {
            open: 0,
            since: now,
            vouched_until: None,
        });
        seen.open += 1;
        seen.open == 1
    }

    /// A long-poll of `user_id` ended.
    pub fn closed(&mut self, user_id: &str, now: Instant) {
        if let Some(seen) = self.agents.get_mut(user_id) {
            seen.open = seen.open.saturating_sub(1);
            if seen.open == 0 {
                seen.since = now;
            }
        }
    }

    /// Agents without a long-poll for at least `grace`, with how long.
    pub fn absent(&self, now: Instant, grace: Duration) -> Vec<(String, Duration)> {
        self.agents
            .iter()
            .filter(|(_, s)| s.open == 0)
            .map(|(id, s)| (id.clone(), now.saturating_duration_since(s.since)))
            .filter(|(_, d)| *d >= grace)
            .collect()
    }

    /// How long `user_id` has been without a long-poll here (`None`: one
    /// is in flight, or the agent is not tracked).
    pub fn absent_for(&self, user_id: &str, now: Instant) -> Option<Duration> {
        let seen = self.agents.get(user_id).filter(|s| s.open == 0)?;
        Some(now.saturating_duration_since(seen.since))
    }

    /// Agents whose presence the fleet must hear about again, with for how
    /// long: `grace` while a long-poll is in flight (again once a third of
    /// it has passed), the rest of the grace once the last one ended.
    /// Call [`Tracker::vouched`] when the fleet has stored them.
    pub fn to_vouch(&self, now: Instant, grace: Duration) -> Vec<(String, Duration)> {
        self.agents
            .iter()
            .filter_map(|(id, s)| {
                let until = if s.open > 0 {
                    let fresh = s.vouched_until.is_some_and(|u| u > now + grace * 2 / 3);
                    (!fresh).then_some(now + grace)?
                } else {
                    let until = s.since + grace;
                    let told = s.vouched_until.is_some_and(|u| u >= until);
                    (until > now && !told).then_some(until)?
                };
                Some((id.clone(), until - now))
            })
            .collect()
    }

    /// The fleet stored `told` (from [`Tracker::to_vouch`] at `now`).
    pub fn vouched(&mut self, told: &[(String, Duration)], now: Instant) {
        for (id, left) in told {
            if let Some(s) = self.agents.get_mut(id) {
                s.vouched_until = Some(now + *left);
            }
        }
    }

    /// Forgets `user_id` for this absence (acted, or nothing to do). Kept
    /// when a long-poll started meanwhile.
    pub fn forget(&mut self, user_id: &str) {
        if self.agents.get(user_id).is_some_and(|s| s.open == 0) {
            self.agents.remove(user_id);
        }
    }

    /// Tracks `user_id` as absent since `since` unless it is tracked
    /// already (a last known watcher, after a restart). True when added.
    pub fn assume_absent(&mut self, user_id: &str, since: Instant) -> bool {
        if self.agents.contains_key(user_id) {
            return false;
        }
        self.agents.insert(
            user_id.to_owned(),
            Seen {
                open: 0,
                since,
                vouched_until: None,
            },
        );
        true
    }

    /// Agents tracked (present or not yet settled).
    pub fn len(&self) -> usize {
        self.agents.len()
    }

    /// True when nobody is tracked.
    pub fn is_empty(&self) -> bool {
        self.agents.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(policy: PresencePolicy) -> PresenceConfig {
        PresenceConfig {
            policy,
            grace: Duration::from_secs(90),
            break_code: "away".into(),
        }
    }

    const LONG: Duration = Duration::from_secs(91);

    #[test]
    fn last_known_watchers_count_as_absent_from_the_restart() {
        let grace = Duration::from_secs(90);
        let t0 = Instant::now();
        let mut t = Tracker::default();
        assert!(t.opened("here@i", t0), "a long-poll in flight");
        assert!(t.assume_absent("gone@i", t0));
        assert!(!t.assume_absent("here@i", t0), "a tracked agent is kept");
        assert!(!t.assume_absent("gone@i", t0 + grace), "added once");
        assert!(
            t.absent(t0 + grace / 2, grace).is_empty(),
            "inside the grace"
        );
        let due = t.absent(t0 + grace, grace);
        assert_eq!(due, vec![("gone@i".to_owned(), grace)]);
        // Back before the decision: present again.
        t.opened("gone@i", t0 + grace);
        assert!(t.absent(t0 + grace * 2, grace).is_empty());
    }

    #[test]
    fn only_ready_agents_are_moved_after_the_grace() {
        let c = config(PresencePolicy::Break);
        let away = Decision::Act(Action::TakeBreak {
            code: "away".into(),
        });
        assert_eq!(decide(&UserState::Ready, LONG, &c), away);
        assert_eq!(
            decide(&UserState::Ready, Duration::from_secs(89), &c),
            Decision::Wait,
            "inside the grace"
        );
        assert_eq!(
            decide(&UserState::Ready, Duration::from_secs(90), &c),
            away,
            "at the grace"
        );
        for s in [UserState::Dialing, UserState::Ringing, UserState::Talking] {
            assert_eq!(
                decide(&s, LONG, &c),
                Decision::Wait,
                "never during a call: {s}"
            );
        }
        assert_eq!(
            decide(&UserState::Working, LONG, &c),
            Decision::Wait,
            "after-call work ends first"
        );
        for s in [
            UserState::Break,
            UserState::Offline,
            UserState::parse("RESERVED"),
        ] {
            assert_eq!(decide(&s, LONG, &c), Decision::Done, "{s}");
        }
        let out = config(PresencePolicy::SignOut);
        assert_eq!(
            decide(&UserState::Ready, LONG, &out),
            Decision::Act(Action::SignOut)
        );
        let none = config(PresencePolicy::None);
        for s in UserState::ALL {
            assert_eq!(decide(s, LONG, &none), Decision::Done, "{s}");
        }
    }

    #[test]
    fn actions_name_the_ccc_call_and_the_notice() {
        let brk = Action::TakeBreak {
            code: "away".into(),
        };
        assert_eq!(brk.ccc_action(), "TakeBreak");
        assert_eq!(brk.params(), [("Code".to_owned(), "away".to_owned())]);
        let n = brk.notice(Duration::from_secs(90), 7);
        assert_eq!(n.policy, PresencePolicy::Break);
        assert_eq!(n.break_code.as_deref(), Some("away"));
        assert_eq!((n.grace_secs, n.at), (90, 7));
        assert_eq!(Action::SignOut.ccc_action(), "SignOutGroup");
        assert!(Action::SignOut.params().is_empty());
        let n = Action::SignOut.notice(Duration::from_secs(5), 1);
        assert_eq!((n.policy, n.break_code), (PresencePolicy::SignOut, None));
    }

    #[test]
    fn the_tracker_counts_long_polls_of_every_device() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let grace = Duration::from_secs(10);
        let mut t = Tracker::default();
        assert!(t.opened("a", at(0)), "first long-poll ends an absence");
        assert!(!t.opened("a", at(1)), "a second device");
        t.closed("a", at(2));
        assert!(t.absent(at(100), grace).is_empty(), "one still open");
        t.closed("a", at(3));
        assert!(t.absent(at(12), grace).is_empty(), "inside the grace");
        assert_eq!(t.absent(at(13), grace), [("a".to_owned(), grace)]);
        assert_eq!(t.absent_for("a", at(13)), Some(grace));
        assert_eq!(t.absent_for("nobody", at(13)), None);
        // Coming back inside the grace changes nothing.
        assert!(t.opened("a", at(12)));
        assert!(t.absent(at(30), grace).is_empty());
        assert_eq!(t.absent_for("a", at(30)), None, "back");
        t.closed("a", at(31));
        assert_eq!(t.absent(at(41), grace).len(), 1);
        // Settled: forgotten until the next long-poll.
        t.forget("a");
        assert!(t.is_empty() && t.absent(at(99), grace).is_empty());
        // A long-poll that started meanwhile keeps the agent.
        t.opened("b", at(0));
        t.forget("b");
        assert_eq!(t.len(), 1);
        // An end without a start (cannot happen) is harmless.
        t.closed("nobody", at(1));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn the_fleet_hears_of_a_presence_before_it_can_run_out() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let grace = Duration::from_secs(9);
        let mut t = Tracker::default();
        let sweep = |t: &mut Tracker, now: Instant| {
            let told = t.to_vouch(now, grace);
            t.vouched(&told, now);
            told
        };
        t.opened("a", at(0));
        assert_eq!(sweep(&mut t, at(0)), [("a".to_owned(), grace)]);
        assert!(sweep(&mut t, at(2)).is_empty(), "told recently");
        assert_eq!(sweep(&mut t, at(3)), [("a".to_owned(), grace)], "a third");
        // Gone at 4: the fleet learns the absence's deadline (13) once.
        t.closed("a", at(4));
        assert_eq!(
            sweep(&mut t, at(5)),
            [("a".to_owned(), Duration::from_secs(8))]
        );
        assert!(sweep(&mut t, at(6)).is_empty());
        assert!(sweep(&mut t, at(13)).is_empty(), "the grace ran out");
        // A store that failed is retried: nothing is marked without `vouched`.
        t.opened("b", at(20));
        assert_eq!(t.to_vouch(at(20), grace).len(), 1);
        assert_eq!(t.to_vouch(at(21), grace).len(), 1);
    }

    #[test]
    fn the_sweep_follows_the_grace_within_bounds() {
        assert_eq!(
            sweep_interval(Duration::from_secs(90)),
            Duration::from_secs(5)
        );
        assert_eq!(
            sweep_interval(Duration::from_secs(2)),
            Duration::from_millis(500)
        );
        assert_eq!(
            sweep_interval(Duration::from_millis(1)),
            Duration::from_millis(100)
        );
    }
}
