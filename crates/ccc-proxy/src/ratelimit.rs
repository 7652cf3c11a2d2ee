//! Per-agent token buckets (state changes, reads) and the per-agent dial
//! limit (calls placed, separate from other commands: toll fraud).

use std::{
    collections::{HashMap, VecDeque},
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

/// Token buckets keyed by CCC `UserId`.
#[derive(Debug)]
pub struct RateLimiter {
    burst: f64,
    per_second: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// `burst` changes at once, refilled at `per_minute` per minute.
    pub fn new(per_minute: u32, burst: u32) -> Self {
        RateLimiter {
            burst: f64::from(burst.max(1)),
            per_second: f64::from(per_minute.max(1)) / 60.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token of `key`'s bucket; when it is empty, says how long
    /// until the next token (for `Retry-After`).
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() > 10_000 {
            // Forget full buckets so the map cannot grow without bound.
            let (burst, rate) = (self.burst, self.per_second);
            buckets.retain(|_, (t, at)| *t + now.duration_since(*at).as_secs_f64() * rate < burst);
        }
        let (tokens, at) = buckets.entry(key.to_owned()).or_insert((self.burst, now));
        *tokens =
            (*tokens + now.duration_since(*at).as_secs_f64() * self.per_second).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / self.per_second))
        }
    }
}

/// How many calls one agent may place: both windows must allow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DialLimits {
    /// Calls per minute (and the burst).
    pub per_minute: u32,
    /// Calls per hour.
    pub per_hour: u32,
}

impl Default for DialLimits {
    /// 5 a minute, 60 an hour: more than a person dials by hand, far less
    /// than a script looping dial and hang-up (issue 16: 34 calls in 63 s).
    fn default() -> Self {
        DialLimits {
            per_minute: 5,
            per_hour: 60,
        }
    }
}

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;

/// One agent's recent dials (epoch ms, oldest first): at most `per_minute`
/// in any 60 s and `per_hour` in any hour (sliding windows, exact).
#[derive(Debug, Clone, Default)]
pub struct DialLog {
    times: VecDeque<i64>,
}

impl DialLog {
    /// Records a dial at `now` (epoch ms), or says how long until the
    /// windows allow one; a refused dial records nothing.
    pub fn take(&mut self, limits: DialLimits, now: i64) -> Result<(), Duration> {
        while self.times.front().is_some_and(|t| *t <= now - HOUR_MS) {
            self.times.pop_front();
        }
        let (per_minute, per_hour) = (
            usize::try_from(limits.per_minute.max(1)).unwrap_or(usize::MAX),
            usize::try_from(limits.per_hour.max(1)).unwrap_or(usize::MAX),
        );
        let mut wait = 0i64;
        if self.times.len() >= per_hour {
            let freeing = self.times[self.times.len() - per_hour];
            wait = wait.max(freeing + HOUR_MS - now);
        }
        let in_minute: Vec<i64> = self
            .times
            .iter()
            .copied()
            .filter(|t| *t > now - MINUTE_MS)
            .collect();
        if in_minute.len() >= per_minute {
            let freeing = in_minute[in_minute.len() - per_minute];
            wait = wait.max(freeing + MINUTE_MS - now);
        }
        if wait > 0 {
            return Err(Duration::from_millis(u64::try_from(wait).unwrap_or(1)));
        }
        self.times.push_back(now);
        Ok(())
    }

    /// The last dial (epoch ms), if any.
    fn last(&self) -> Option<i64> {
        self.times.back().copied()
    }
}

/// Per-agent dial limits of this process (the fleet shares them in Redis).
#[derive(Debug)]
pub struct DialLimiter {
    limits: DialLimits,
    logs: Mutex<HashMap<String, DialLog>>,
}

impl DialLimiter {
    /// A limiter of `limits` per agent.
    pub fn new(limits: DialLimits) -> Self {
        DialLimiter {
            limits,
            logs: Mutex::new(HashMap::new()),
        }
    }

    /// The limits.
    pub fn limits(&self) -> DialLimits {
        self.limits
    }

    /// Takes one of `key`'s dials at `now` (epoch ms), or says how long to wait.
    pub fn check(&self, key: &str, now: i64) -> Result<(), Duration> {
        let mut logs = self.logs.lock().unwrap_or_else(PoisonError::into_inner);
        if logs.len() > 10_000 {
            // Forget agents that have not dialled for an hour.
            logs.retain(|_, l| l.last().is_some_and(|t| t > now - HOUR_MS));
        }
        logs.entry(key.to_owned())
            .or_default()
            .take(self.limits, now)
    }
}

/// Issue 18: one async lock per agent, so an agent's keypad requests reach
/// CCC one after the other, in the order they came (a fast typist's keys
/// never interleave). Entries no request holds are dropped.
#[derive(Debug, Default)]
pub struct KeyedLocks {
    locks: Mutex<HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>>,
}

impl KeyedLocks {
    /// Waits for `key`'s turn (FIFO); the turn ends when the guard drops.
    pub async fn lock(&self, key: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
            locks.retain(|_, l| std::sync::Arc::strong_count(l) > 1);
            locks.entry(key.to_owned()).or_default().clone()
        };
        lock.lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dials_are_limited_per_minute_and_per_hour() {
        let limits = DialLimits::default();
        let mut log = DialLog::default();
        let t0 = 1_000_000_000;
        for i in 0..5 {
            assert!(log.take(limits, t0 + i).is_ok());
        }
        let wait = log.take(limits, t0 + 10).unwrap_err();
        assert_eq!(
            wait,
            Duration::from_millis(60_000 - 10),
            "the first dial frees a slot"
        );
        // A script dialling every second for two hours: never more than 5
        // in any minute, 60 in any hour.
        let mut placed = vec![t0, t0 + 1, t0 + 2, t0 + 3, t0 + 4];
        for s in 1..7200 {
            let at = t0 + s * 1000;
            if log.take(limits, at).is_ok() {
                placed.push(at);
            }
        }
        for (i, t) in placed.iter().enumerate() {
            let minute = placed[i..].iter().take_while(|u| **u < t + 60_000).count();
            let hour = placed[i..]
                .iter()
                .take_while(|u| **u < t + 3_600_000)
                .count();
            assert!(minute <= 5 && hour <= 60, "at {t}: {minute}/min, {hour}/h");
        }
        assert_eq!(placed.len(), 120, "60 an hour for two hours");
    }

    #[test]
    fn a_refused_dial_takes_nothing() {
        let limits = DialLimits {
            per_minute: 1,
            per_hour: 100,
        };
        let mut log = DialLog::default();
        assert!(log.take(limits, 0).is_ok());
        for i in 1..50 {
            assert!(log.take(limits, i).is_err());
        }
        assert!(log.take(limits, 60_000).is_ok());
        let l = DialLimiter::new(limits);
        assert!(l.check("a", 0).is_ok() && l.check("a", 1).is_err());
        assert!(l.check("b", 1).is_ok(), "per agent");
    }

    #[test]
    fn allows_a_burst_then_refuses_per_agent() {
        let l = RateLimiter::new(1, 3);
        assert!(l.check("a").is_ok() && l.check("a").is_ok() && l.check("a").is_ok());
        let wait = l.check("a").unwrap_err();
        assert!(
            wait > Duration::from_secs(58) && wait <= Duration::from_secs(60),
            "one token a minute: {wait:?}"
        );
        assert!(l.check("b").is_ok(), "buckets are per agent");
    }
}
