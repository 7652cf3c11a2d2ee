//! The rules of the upstream rate, as plain types with plain tests: who is
//! calling ([`Priority`]), the sliding window that never lets more than
//! the budget out in any one second and keeps a reserve for commands, the
//! slow-down after `Throttling*` ([`Slowdown`]), and the poll
//! interval that fits every watched agent in the budget. [`crate::budget`]
//! applies them in this process; [`crate::fleet`] applies the same rules in
//! Redis for the whole fleet.

use std::time::Duration;

use tokio::time::Instant;

/// Who is calling CCC, in the order the budget serves them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// An agent's command (and the poll right after it).
    Command,
    /// A browser waits for its first look or for a ringing call's number
    /// (the batched first snapshots and ringing details).
    Seed,
    /// Polls, event refreshes, reconciliation sweeps.
    Background,
}

impl Priority {
    /// Calls of a window of `limit` that this priority must leave to the
    /// ones above it: commands take everything; background work leaves a
    /// quarter (at least one call); seeds leave half of that.
    pub fn floor(self, limit: u32) -> u32 {
        let reserve = (limit / 4).max(1).min(limit.saturating_sub(1));
        match self {
            Priority::Command => 0,
            Priority::Seed => reserve / 2,
            Priority::Background => reserve,
        }
    }

    /// The number the shared (Redis) window script takes.
    pub fn code(self) -> u8 {
        match self {
            Priority::Command => 0,
            Priority::Seed => 1,
            Priority::Background => 2,
        }
    }
}

/// Added to every one-second window (inference, ccc-api.md §8.1 does not
/// say how CCC counts): two calls the budget lets out a window apart may
/// reach CCC a little closer together (scheduling, connection set-up), so
/// the budget counts over a slightly longer window than CCC does.
pub const WINDOW_GUARD: Duration = Duration::from_millis(100);

/// How `qps` calls a second become a sliding-window limit: `limit` calls
/// in any `span` (one second plus [`WINDOW_GUARD`]; below one call a
/// second, one call per `1/qps` seconds plus the guard).
pub fn window_shape(qps: f64) -> (u32, Duration) {
    let qps = qps.max(0.01);
    if qps >= 1.0 {
        // Float to int: `qps` is finite and at least 1 here.
        let limit = qps.floor().min(f64::from(u32::MAX)) as u32;
        (limit, Duration::from_secs(1) + WINDOW_GUARD)
    } else {
        (1, Duration::from_secs_f64(1.0 / qps) + WINDOW_GUARD)
    }
}

/// The window's limit once the throttling slow-down `factor` applies (at
/// least one call).
pub fn slowed_limit(limit: u32, factor: f64) -> u32 {
    // Float to int: the product is within 0..=limit.
    ((f64::from(limit) * factor.clamp(0.0, 1.0)).floor() as u32).max(1)
}

/// The budget's rule: never more than `limit` calls in any window of
/// `span`, whatever the burst (a sliding log of the calls let out). A
/// token bucket lets out a whole bucket on top of the rate, i.e. twice the
/// rate in one second; this never does, so `--upstream-qps` may equal the
/// account's quota. Lower priorities leave [`Priority::floor`] calls of
/// every window to the higher ones.
///
/// Background work is also spread out: one call per `span / limit` at
/// most ([`background_gap`]), so polls and sweeps go out evenly instead of
/// in a burst at the start of every window; commands and seeds are never
/// spread.
#[derive(Debug, Clone, Default)]
pub struct SlidingWindow {
    sent: std::collections::VecDeque<Instant>,
    background_at: Option<Instant>,
}

/// The shortest gap between two background calls: `span / limit`.
pub fn background_gap(limit: u32, span: Duration) -> Duration {
    span / limit.max(1)
}

impl SlidingWindow {
    /// Lets a call of priority `p` out at `now`, or says how long until
    /// one may go.
    pub fn take(
        &mut self,
        limit: u32,
        span: Duration,
        p: Priority,
        now: Instant,
    ) -> Result<(), Duration> {
        while self
            .sent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= span)
        {
            self.sent.pop_front();
        }
        if p == Priority::Background {
            let next = self
                .background_at
                .map(|at| at + background_gap(limit, span));
            if let Some(wait) = next.filter(|n| *n > now).map(|n| n - now) {
                return Err(wait);
            }
        }
        let room = usize::try_from(limit.max(1) - p.floor(limit.max(1))).unwrap_or(usize::MAX);
        if self.sent.len() < room {
            self.sent.push_back(now);
            if p == Priority::Background {
                self.background_at = Some(now);
            }
            return Ok(());
        }
        // The call that must leave the window before this one may go.
        let blocking = self.sent[self.sent.len() - room];
        Err((blocking + span)
            .saturating_duration_since(now)
            .max(Duration::from_millis(1)))
    }

    /// Calls let out in the window ending at `now`.
    pub fn in_window(&self, span: Duration, now: Instant) -> usize {
        self.sent
            .iter()
            .filter(|t| now.saturating_duration_since(**t) < span)
            .count()
    }
}

/// After a `Throttling*` answer the fleet slows down instead of stopping:
/// the window's limit is cut to [`SLOW_CUT`] of what it was (never below
/// [`SLOW_MIN`] of the budget), everything pauses for one window (with
/// jitter) so the account's own window empties, and the limit grows back
/// by [`SLOW_RECOVERY`] of the budget a second. Answers to calls that left
/// before the last cut belong to the same overshoot and cut nothing more,
/// so a burst of throttled calls is one step, not a collapse.
#[derive(Debug, Clone, Default)]
pub struct Slowdown {
    /// The factor right after the last cut.
    factor: f64,
    /// When the last cut happened (`None`: never).
    at: Option<Instant>,
    until: Option<Instant>,
}

/// The factor a throttling answer multiplies the limit by.
pub const SLOW_CUT: f64 = 0.7;
/// The lowest factor.
pub const SLOW_MIN: f64 = 0.25;
/// How much of the budget comes back per calm second.
pub const SLOW_RECOVERY: f64 = 0.05;

impl Slowdown {
    /// The share of the budget usable at `now` (1.0 when calm).
    pub fn factor(&self, now: Instant) -> f64 {
        match self.at {
            None => 1.0,
            Some(at) => {
                let calm = now.saturating_duration_since(at).as_secs_f64();
                (self.factor + calm * SLOW_RECOVERY).min(1.0)
            }
        }
    }

    /// CCC throttled a call let out at `sent`; `jitter` in `[0, 1)`.
    /// Returns the pause when this is a new overshoot (`None`: the same one).
    pub fn throttled(&mut self, sent: Instant, now: Instant, jitter: f64) -> Option<Duration> {
        if self.at.is_some_and(|at| sent <= at) {
            return None;
        }
        self.factor = (self.factor(now) * SLOW_CUT).max(SLOW_MIN);
        self.at = Some(now);
        let pause = slow_pause(jitter);
        self.until = Some(now + pause);
        Some(pause)
    }

    /// How long callers must still wait at `now`.
    pub fn remaining(&self, now: Instant) -> Option<Duration> {
        self.until
            .filter(|u| *u > now)
            .map(|u| u.saturating_duration_since(now))
    }
}

/// The pause after a new overshoot: one window, plus up to half a window
/// of jitter so replicas do not resume together.
pub fn slow_pause(jitter: f64) -> Duration {
    let window = Duration::from_secs(1) + WINDOW_GUARD;
    window + (window / 2).mul_f64(jitter.clamp(0.0, 1.0))
}

/// The poll interval that keeps `watched` agents inside `qps`: never
/// shorter than `base`, else `watched / qps` seconds.
pub fn stretched_interval(base: Duration, watched: usize, qps: f64) -> Duration {
    let watched = u32::try_from(watched).unwrap_or(u32::MAX);
    let needed = Duration::from_secs_f64(f64::from(watched) / qps.max(0.01));
    base.max(needed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The most calls of `times` inside any window of `span`.
    fn busiest_window(times: &[Instant], span: Duration) -> usize {
        times
            .iter()
            .map(|t0| {
                times
                    .iter()
                    .filter(|t| **t >= *t0 && t.saturating_duration_since(*t0) < span)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn no_window_ever_holds_more_than_the_limit_whatever_the_burst() {
        let t0 = Instant::now();
        let (limit, span) = window_shape(20.0);
        assert_eq!(limit, 20);
        let mut w = SlidingWindow::default();
        let mut sent = Vec::new();
        // 2,000 callers every millisecond for 10 s, commands mixed in.
        for ms in 0..10_000u64 {
            let now = t0 + Duration::from_millis(ms);
            for i in 0..200 {
                let p = match i % 3 {
                    0 => Priority::Command,
                    1 => Priority::Seed,
                    _ => Priority::Background,
                };
                if w.take(limit, span, p, now).is_ok() {
                    sent.push(now);
                }
            }
        }
        // Any one-second window (even one of `span`) holds at most 20.
        assert_eq!(busiest_window(&sent, span), 20);
        assert_eq!(busiest_window(&sent, Duration::from_secs(1)), 20);
        // And the budget is used: 20 every 1.1 s.
        assert!(sent.len() >= 180, "{}", sent.len());
    }

    #[test]
    fn a_token_bucket_would_have_let_out_twice_the_quota() {
        // The rule this replaces: a full bucket of `rate` plus the refill.
        let t0 = Instant::now();
        let (limit, span) = window_shape(20.0);
        let mut w = SlidingWindow::default();
        let first_second = (0..1000u64)
            .map(|ms| t0 + Duration::from_millis(ms))
            .filter(|now| w.take(limit, span, Priority::Command, *now).is_ok())
            .count();
        assert_eq!(first_second, 20, "a bucket allowed 40 here");
    }

    #[test]
    fn commands_keep_a_reserve_seeds_keep_part_of_it() {
        assert_eq!(Priority::Command.floor(20), 0);
        assert_eq!(Priority::Seed.floor(20), 2);
        assert_eq!(Priority::Background.floor(20), 5);
        assert_eq!(
            Priority::Background.floor(1),
            0,
            "one call a window is never reserved"
        );
        let t0 = Instant::now();
        let span = Duration::from_secs(1);
        let mut w = SlidingWindow::default();
        let granted =
            |w: &mut SlidingWindow, p| (0..100).filter(|_| w.take(20, span, p, t0).is_ok()).count();
        // Background work is spread out: one now, the next a gap later.
        assert_eq!(granted(&mut w, Priority::Background), 1);
        let gap = background_gap(20, span);
        assert_eq!(w.take(20, span, Priority::Background, t0), Err(gap));
        let now = t0 + gap * 19;
        let more = (1..20)
            .filter(|i| {
                w.take(20, span, Priority::Background, t0 + gap * *i)
                    .is_ok()
            })
            .count();
        assert_eq!(more, 14, "never into the reserve");
        assert_eq!(w.in_window(span, now), 15);
        let granted = |w: &mut SlidingWindow, p| {
            (0..100)
                .filter(|_| w.take(20, span, p, now).is_ok())
                .count()
        };
        assert_eq!(granted(&mut w, Priority::Seed), 3);
        assert_eq!(granted(&mut w, Priority::Command), 2);
        // Full: the wait is until the oldest call leaves the window.
        assert_eq!(
            w.take(20, span, Priority::Command, now),
            Err(span - gap * 19)
        );
        assert!(w.take(20, span, Priority::Command, t0 + span).is_ok());
    }

    #[test]
    fn under_one_call_a_second_the_window_stretches() {
        let (limit, span) = window_shape(0.5);
        assert_eq!((limit, span), (1, Duration::from_secs(2) + WINDOW_GUARD));
        assert_eq!(slowed_limit(20, 0.7), 14);
        assert_eq!(slowed_limit(20, 0.0), 1);
        assert_eq!(slowed_limit(3, 1.0), 3);
    }

    #[test]
    fn a_burst_of_throttled_calls_is_one_step_and_the_budget_grows_back() {
        let t0 = Instant::now();
        let mut s = Slowdown::default();
        assert_eq!(s.factor(t0), 1.0);
        // Nine calls let out together are throttled one after the other.
        let pauses: Vec<_> = (0..9)
            .map(|i| s.throttled(t0, t0 + Duration::from_millis(i), 0.0))
            .collect();
        assert_eq!(pauses.iter().filter(|p| p.is_some()).count(), 1);
        assert_eq!(pauses[0], Some(slow_pause(0.0)));
        assert!((s.factor(t0) - SLOW_CUT).abs() < 1e-9);
        assert!(s.remaining(t0).is_some());
        assert!(s.remaining(t0 + slow_pause(0.0)).is_none());
        // A call let out after the cut and throttled again: one more step.
        let later = t0 + Duration::from_secs(2);
        assert!(s.throttled(later, later, 1.0).is_some());
        let f = s.factor(later);
        assert!(
            (f - (SLOW_CUT + 2.0 * SLOW_RECOVERY) * SLOW_CUT).abs() < 1e-9,
            "{f}"
        );
        // Never below the floor, however many overshoots.
        for i in 0..50u64 {
            let now = later + Duration::from_millis(10 * (i + 1));
            s.throttled(now, now, 0.5);
        }
        assert!(s.factor(later + Duration::from_millis(500)) >= SLOW_MIN);
        // Calm seconds bring the whole budget back.
        let calm = later + Duration::from_secs(30);
        assert_eq!(s.factor(calm), 1.0);
        assert_eq!(slowed_limit(20, s.factor(calm)), 20);
    }

    #[test]
    fn intervals_stretch_with_the_watched_agents() {
        let base = Duration::from_secs(1);
        assert_eq!(stretched_interval(base, 10, 20.0), base);
        assert_eq!(
            stretched_interval(base, 1000, 20.0),
            Duration::from_secs(50)
        );
        assert_eq!(
            stretched_interval(base, 10_000, 20.0),
            Duration::from_secs(500)
        );
    }
}
