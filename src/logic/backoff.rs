//! Exponential backoff with jitter for the state sync: about 1 s, doubling,
//! ±30 % jitter, capped. The jitter source is passed in, so tests are exact.

/// Retry delays for one failing streak.
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    base_ms: f64,
    cap_ms: f64,
    jitter: f64,
    attempt: u32,
}

impl Default for Backoff {
    /// 1 s doubling, ±30 % jitter, capped at 30 s.
    fn default() -> Self {
        Backoff::new(1_000.0, 30_000.0)
    }
}

impl Backoff {
    /// Starts at `base_ms`, doubles per failure, never exceeds `cap_ms` (jitter included).
    pub fn new(base_ms: f64, cap_ms: f64) -> Self {
        Backoff {
            base_ms,
            cap_ms,
            jitter: 0.3,
            attempt: 0,
        }
    }

    /// Failures in the current streak.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The delay before the next retry; `random` is uniform in `[0, 1)`
    /// (0.5 means no jitter). Counts one more failure.
    pub fn next_delay(&mut self, random: f64) -> f64 {
        let exp = self.attempt.min(30) as i32;
        let nominal = (self.base_ms * 2f64.powi(exp)).min(self.cap_ms);
        self.attempt = self.attempt.saturating_add(1);
        let factor = 1.0 + self.jitter * (2.0 * random.clamp(0.0, 1.0) - 1.0);
        (nominal * factor).clamp(0.0, self.cap_ms).round()
    }

    /// A success ends the streak.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_one_second_without_jitter() {
        let mut b = Backoff::default();
        let d: Vec<f64> = (0..7).map(|_| b.next_delay(0.5)).collect();
        assert_eq!(
            d,
            [1000.0, 2000.0, 4000.0, 8000.0, 16000.0, 30000.0, 30000.0]
        );
    }

    #[test]
    fn jitter_stays_within_thirty_percent_and_under_the_cap() {
        let mut b = Backoff::default();
        assert_eq!(b.next_delay(0.0), 700.0);
        assert_eq!(b.next_delay(0.999_999), 2600.0);
        let mut b = Backoff::default();
        for _ in 0..20 {
            assert!(b.next_delay(1.0) <= 30_000.0);
        }
    }

    #[test]
    fn reset_starts_over() {
        let mut b = Backoff::new(10.0, 100.0);
        b.next_delay(0.5);
        b.next_delay(0.5);
        assert_eq!(b.attempt(), 2);
        b.reset();
        assert_eq!(b.next_delay(0.5), 10.0);
    }
}
