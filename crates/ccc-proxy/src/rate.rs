//! The rules of the upstream rate, as plain types with plain tests: who is
//! calling ([`Priority`]), the token bucket that keeps a reserve for
//! commands, the growing jittered pause after `Throttling*`, and the poll
//! interval that fits every watched agent in the budget. [`crate::budget`]
//! applies them in this process; [`crate::fleet`] applies the same rules in
//! Redis for the whole fleet.

use std::time::Duration;

use tokio::time::Instant;

/// Who is calling CCC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// An agent's command (and the poll right after it).
    Command,
    /// Polls, event refreshes, reconciliation sweeps.
    Background,
}

/// A token bucket refilled at `rate` a second, holding at most `rate`
/// tokens (one second of burst); background callers leave `reserve`.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    /// A full bucket of `rate` tokens a second.
    pub fn new(rate: f64, now: Instant) -> Self {
        let rate = rate.max(0.01);
        TokenBucket {
            rate,
            tokens: rate.max(1.0),
            at: now,
        }
    }

    /// Tokens background callers must leave for commands.
    pub fn reserve(rate: f64) -> f64 {
        (rate / 4.0).max(1.0).min(rate.max(1.0) - 1.0).max(0.0)
    }

    /// Changes the refill rate (a replica's local share), keeping the tokens.
    pub fn set_rate(&mut self, rate: f64) {
        self.rate = rate.max(0.01);
        self.tokens = self.tokens.min(self.rate.max(1.0));
    }

    /// Takes a token now, or says how long until one is free for `p`.
    pub fn take(&mut self, p: Priority, now: Instant) -> Result<(), Duration> {
        let cap = self.rate.max(1.0);
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(cap);
        self.at = now;
        let floor = match p {
            Priority::Command => 0.0,
            Priority::Background => Self::reserve(self.rate),
        };
        if self.tokens >= 1.0 + floor {
            self.tokens -= 1.0;
            Ok(())
        } else {
            let missing = 1.0 + floor - self.tokens;
            Err(Duration::from_secs_f64(missing / self.rate).max(Duration::from_millis(1)))
        }
    }
}

/// Growing, jittered pause after `Throttling*` answers.
#[derive(Debug, Clone, Default)]
pub struct Backoff {
    strikes: u32,
    until: Option<Instant>,
}

/// First pause after a throttling answer.
pub const BACKOFF_BASE: Duration = Duration::from_millis(500);
/// Longest pause.
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);

impl Backoff {
    /// Records a throttling answer at `now`; `jitter` in `[0, 1)`. Returns the pause.
    pub fn strike(&mut self, now: Instant, jitter: f64) -> Duration {
        if self.until.is_none_or(|u| now >= u + BACKOFF_MAX) {
            self.strikes = 0;
        }
        self.strikes = (self.strikes + 1).min(8);
        let full = (BACKOFF_BASE * 2u32.pow(self.strikes - 1)).min(BACKOFF_MAX);
        // "Equal jitter": half fixed, half random, so replicas spread out.
        let pause = full / 2 + (full / 2).mul_f64(jitter.clamp(0.0, 1.0));
        let until = now + pause;
        self.until = Some(self.until.map_or(until, |u| u.max(until)));
        pause
    }

    /// How long callers must still wait at `now`.
    pub fn remaining(&self, now: Instant) -> Option<Duration> {
        self.until
            .filter(|u| *u > now)
            .map(|u| u.saturating_duration_since(now))
    }
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

    #[test]
    fn commands_keep_a_reserve_background_cannot_take() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(4.0, t0);
        // 4 tokens, reserve 1: background gets 3, then only commands.
        for _ in 0..3 {
            assert!(b.take(Priority::Background, t0).is_ok());
        }
        let wait = b.take(Priority::Background, t0).unwrap_err();
        assert!(wait > Duration::ZERO);
        assert!(b.take(Priority::Command, t0).is_ok());
        assert!(b.take(Priority::Command, t0).is_err());
        // After a second the bucket is full again.
        assert!(b
            .take(Priority::Command, t0 + Duration::from_secs(1))
            .is_ok());
    }

    #[test]
    fn the_rate_holds_over_time() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(20.0, t0);
        let mut granted = 0;
        for ms in 0..10_000u64 {
            let now = t0 + Duration::from_millis(ms);
            while b.take(Priority::Background, now).is_ok() {
                granted += 1;
            }
        }
        // 10 s at 20/s plus the first second's burst, minus the reserve.
        assert!((195..=221).contains(&granted), "{granted}");
    }

    #[test]
    fn backoff_grows_with_jitter_and_resets() {
        let t0 = Instant::now();
        let mut b = Backoff::default();
        let p1 = b.strike(t0, 0.0);
        let p2 = b.strike(t0, 1.0);
        assert_eq!(p1, BACKOFF_BASE / 2);
        assert_eq!(p2, BACKOFF_BASE * 2);
        assert!(b.remaining(t0).is_some());
        let later = t0 + BACKOFF_MAX * 3;
        assert!(b.remaining(later).is_none());
        assert_eq!(
            b.strike(later, 0.0),
            BACKOFF_BASE / 2,
            "a calm period resets"
        );
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
