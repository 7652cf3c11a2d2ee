//! The account's API quota (ccc-api.md §8.1): one limit for every signed
//! call of the account, whatever AccessKey signed it. Above it CCC answers
//! `400 Throttling.User` ("Request was denied due to user flow control.").
//!
//! How CCC counts is not published (inference, the strictest reading of
//! "N calls a second"): at most `rate` calls in **any** one-second window,
//! a sliding log. A token bucket of `rate` tokens would admit twice the
//! rate in a second after a calm period; this never does, so a proxy that
//! stays inside it stays inside any per-second quota.

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

/// The window CCC counts a quota over.
pub const WINDOW: Duration = Duration::from_secs(1);

/// At most `rate` admitted calls in any [`WINDOW`]. Time is a parameter,
/// so the rule is tested without a clock.
#[derive(Debug, Clone, PartialEq)]
pub struct Quota {
    rate: u32,
    admitted: VecDeque<Instant>,
}

impl Quota {
    /// A quota of `rate` (at least 1) calls per second, nothing counted yet.
    pub fn new(rate: u32, _now: Instant) -> Self {
        Quota {
            rate: rate.max(1),
            admitted: VecDeque::new(),
        }
    }

    /// The rate (calls per second).
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Admits one call at `now` if the last second holds fewer than `rate`;
    /// false means "throttle" (a throttled call is not counted).
    pub fn try_take(&mut self, now: Instant) -> bool {
        let now = self.admitted.back().map_or(now, |last| now.max(*last));
        while self
            .admitted
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            self.admitted.pop_front();
        }
        if self.admitted.len() < usize::try_from(self.rate).unwrap_or(usize::MAX) {
            self.admitted.push_back(now);
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_calls_in_any_second_then_as_the_oldest_leave() {
        let t0 = Instant::now();
        let mut q = Quota::new(5, t0);
        assert_eq!((0..5).filter(|_| q.try_take(t0)).count(), 5);
        assert!(!q.try_take(t0), "the sixth call of the second");
        assert!(!q.try_take(t0 + Duration::from_millis(999)));
        // A second after the first five, five more.
        let later = t0 + WINDOW;
        assert_eq!((0..10).filter(|_| q.try_take(later)).count(), 5);
    }

    #[test]
    fn a_second_admits_rate_calls_even_after_a_calm_period() {
        let t0 = Instant::now();
        let mut q = Quota::new(20, t0);
        // 1 s of calls every 10 ms: 20, never a burst on top (a token
        // bucket would admit 40).
        let ok = (0..100)
            .filter(|i| q.try_take(t0 + Duration::from_secs(60) + Duration::from_millis(i * 10)))
            .count();
        assert_eq!(ok, 20);
    }

    #[test]
    fn zero_means_one_and_time_never_runs_backwards() {
        let t0 = Instant::now();
        let mut q = Quota::new(0, t0 + Duration::from_secs(1));
        assert_eq!(q.rate(), 1);
        assert!(q.try_take(t0 + Duration::from_secs(1)));
        assert!(!q.try_take(t0), "an earlier instant counts as the latest");
    }
}
