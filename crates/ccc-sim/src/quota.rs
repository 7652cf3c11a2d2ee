//! The account's API quota (ccc-api.md §8.1): one token bucket for every
//! signed call of the account, whatever AccessKey signed it. Above it CCC
//! answers `400 Throttling.User`.

use std::time::Instant;

/// A token bucket of `rate` tokens per second holding at most `rate`
/// tokens (burst = one second's worth). Time is a parameter, so the rule
/// is tested without a clock.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBucket {
    rate: u32,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket of `rate` (at least 1) tokens per second.
    pub fn new(rate: u32, now: Instant) -> Self {
        let rate = rate.max(1);
        TokenBucket {
            rate,
            tokens: f64::from(rate),
            last: now,
        }
    }

    /// The rate (tokens per second, also the burst).
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Takes one token if there is one; false means "throttle".
    pub fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        let cap = f64::from(self.rate);
        self.tokens = (self.tokens + elapsed * cap).min(cap);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_refill_at_the_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(5, t0);
        assert_eq!((0..5).filter(|_| b.try_take(t0)).count(), 5);
        assert!(!b.try_take(t0), "the burst is the rate");
        // 200 ms at 5/s is exactly one token.
        assert!(b.try_take(t0 + Duration::from_millis(200)));
        assert!(!b.try_take(t0 + Duration::from_millis(200)));
        // A long pause refills to the burst, never beyond it.
        let later = t0 + Duration::from_secs(60);
        assert_eq!((0..10).filter(|_| b.try_take(later)).count(), 5);
    }

    #[test]
    fn a_second_admits_rate_calls() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(20, t0);
        // 1 s of calls every 10 ms: 20 burst + 20 refilled (give or take
        // the float edge at the very end).
        let ok = (0..100)
            .filter(|i| b.try_take(t0 + Duration::from_millis(i * 10)))
            .count();
        assert!((39..=40).contains(&ok), "{ok}");
    }

    #[test]
    fn zero_means_one_and_time_never_runs_backwards() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(0, t0 + Duration::from_secs(1));
        assert_eq!(b.rate(), 1);
        assert!(b.try_take(t0));
        assert!(!b.try_take(t0));
    }
}
