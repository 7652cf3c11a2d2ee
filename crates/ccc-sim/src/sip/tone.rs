//! The sounds the simulated customer side makes, as 8 kHz PCM, and the
//! energy measure used to tell them (and silence) apart.
//!
//! Each pattern repeats every second, so one second of energy is a stable
//! figure whatever the phase:
//!
//! | pattern | what | steps |
//! |---|---|---|
//! | [`CUSTOMER`] | the customer's "voice" | 440 Hz 300 ms, 880 Hz 300 ms, silence 400 ms |
//! | [`HOLD_MUSIC`] | what a held customer hears | C5, E5, G5 (523, 659, 784 Hz) 250 ms each, silence 250 ms |
//! | [`RINGBACK`] | what the agent hears while MakeCall rings the customer | 450 Hz 1 s, silence 4 s (China's ringback) |

use std::f64::consts::TAU;

/// Samples per second.
pub const SAMPLE_RATE: u32 = 8_000;
/// Samples in one 20 ms frame (one RTP packet).
pub const FRAME_SAMPLES: usize = 160;
/// Peak amplitude of the tones (about -10 dBFS).
const AMPLITUDE: f64 = 10_000.0;

/// A looping sequence of `(frequency Hz, duration ms)` steps; 0 Hz is silence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pattern {
    /// Its name in the admin API (`customer`, `holdMusic`, `ringback`).
    pub name: &'static str,
    /// The steps.
    pub steps: &'static [(u32, u32)],
}

/// The customer's voice.
pub const CUSTOMER: Pattern = Pattern {
    name: "customer",
    steps: &[(440, 300), (880, 300), (0, 400)],
};

/// Hold music.
pub const HOLD_MUSIC: Pattern = Pattern {
    name: "holdMusic",
    steps: &[(523, 250), (659, 250), (784, 250), (0, 250)],
};

/// Ringback while an outbound call rings the customer.
pub const RINGBACK: Pattern = Pattern {
    name: "ringback",
    steps: &[(450, 1_000), (0, 4_000)],
};

impl Pattern {
    fn period_samples(&self) -> u64 {
        self.steps
            .iter()
            .map(|(_, ms)| u64::from(*ms) * u64::from(SAMPLE_RATE) / 1_000)
            .sum()
    }

    /// The frequency at sample `n` (counted from the pattern's start).
    fn frequency_at(&self, n: u64) -> u32 {
        let mut t = n % self.period_samples().max(1);
        for (hz, ms) in self.steps {
            let len = u64::from(*ms) * u64::from(SAMPLE_RATE) / 1_000;
            if t < len {
                return *hz;
            }
            t -= len;
        }
        0
    }
}

/// Plays a pattern frame by frame, keeping the phase continuous.
#[derive(Debug, Clone)]
pub struct ToneGenerator {
    pattern: Pattern,
    sample: u64,
    phase: f64,
}

impl ToneGenerator {
    /// A generator at the start of `pattern`.
    pub fn new(pattern: Pattern) -> Self {
        ToneGenerator {
            pattern,
            sample: 0,
            phase: 0.0,
        }
    }

    /// The pattern played.
    pub fn pattern(&self) -> Pattern {
        self.pattern
    }

    /// The next 20 ms of samples.
    pub fn next_frame(&mut self) -> [i16; FRAME_SAMPLES] {
        let mut out = [0i16; FRAME_SAMPLES];
        for s in &mut out {
            let hz = self.pattern.frequency_at(self.sample);
            self.sample += 1;
            if hz == 0 {
                self.phase = 0.0;
                continue;
            }
            self.phase = (self.phase + TAU * f64::from(hz) / f64::from(SAMPLE_RATE)) % TAU;
            *s = (AMPLITUDE * self.phase.sin()) as i16;
        }
        out
    }
}

/// Mean square of the samples in full-scale units: 0 for silence, 0.5 for a
/// full-scale sine, about 0.047 for a tone of [`ToneGenerator`] while it
/// sounds.
pub fn mean_square(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples
        .iter()
        .map(|s| {
            let x = f64::from(*s) / 32_768.0;
            x * x
        })
        .sum();
    sum / samples.len() as f64
}

/// Power of `hz` in the samples (Goertzel), relative to the mean square:
/// near 1 when the signal is a pure tone at `hz`, near 0 when it is not.
pub fn tone_share(samples: &[i16], hz: u32) -> f64 {
    let n = samples.len();
    let total = mean_square(samples) * n as f64;
    if n == 0 || total == 0.0 {
        return 0.0;
    }
    let w = TAU * f64::from(hz) / f64::from(SAMPLE_RATE);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for s in samples {
        let s0 = f64::from(*s) / 32_768.0 + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    // A sine of amplitude A over n samples gives power (A n / 2)^2 and a
    // sum of squares A^2 n / 2: the ratio is n / 2.
    (power / (total * n as f64 / 2.0)).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn second(g: &mut ToneGenerator) -> Vec<i16> {
        (0..50).flat_map(|_| g.next_frame()).collect()
    }

    #[test]
    fn customer_pattern_sounds_then_pauses() {
        let mut g = ToneGenerator::new(CUSTOMER);
        let s = second(&mut g);
        let first = &s[..2_400]; // 300 ms of 440 Hz
        let second_step = &s[2_400..4_800]; // 300 ms of 880 Hz
        let pause = &s[4_800..];
        assert!(tone_share(first, 440) > 0.9, "{}", tone_share(first, 440));
        assert!(tone_share(first, 880) < 0.05);
        assert!(tone_share(second_step, 880) > 0.9);
        assert_eq!(mean_square(pause), 0.0);
        // (10 000 / 32 768)^2 / 2 ≈ 0.0466 while sounding, 60 % of the time.
        let e = mean_square(&s);
        assert!((0.025..0.03).contains(&e), "{e}");
    }

    #[test]
    fn patterns_repeat_every_second_and_differ() {
        let mut a = ToneGenerator::new(HOLD_MUSIC);
        let one = second(&mut a);
        let two = second(&mut a);
        assert!((mean_square(&one) - mean_square(&two)).abs() < 1e-4);
        assert!(tone_share(&one[..2_000], 523) > 0.9);
        assert!(tone_share(&one[..2_000], 440) < 0.05);
        let mut c = ToneGenerator::new(CUSTOMER);
        assert!(tone_share(&second(&mut c)[..2_000], 523) < 0.05);
    }

    #[test]
    fn silence_has_no_energy() {
        assert_eq!(mean_square(&[0; 160]), 0.0);
        assert_eq!(tone_share(&[0; 160], 440), 0.0);
        assert_eq!(mean_square(&[]), 0.0);
    }
}
