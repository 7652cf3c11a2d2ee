//! A ring the agent cannot miss: when each of the three alerts (ring tone,
//! blinking title, desktop notification) is on, what they say, and the tone's
//! cadence. The browser side is [`crate::hooks::use_ringing`].
//!
//! The rules, as an agent expects them:
//! - Only the leader tab alerts (one ring per browser), and only while the
//!   agent is RINGING.
//! - Nothing starts while the agent is looking at the toolbar (page visible
//!   and focused): the toolbar shows RINGING itself.
//! - The tone is a phone: once it rings it keeps ringing until the call stops
//!   ringing (answered here or elsewhere, rejected, timed out), even when the
//!   agent comes back to the tab to answer.
//! - The title blink and the notification are there to bring the agent back:
//!   they stop as soon as the page is visible and focused. The notification
//!   opens once per call (a second one for the same call would be noise).

use crate::i18n::{tr, Lang};

/// Which alerts `mount` allows (all on by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingOptions {
    /// Desktop `Notification` (option `notifications`).
    pub notifications: bool,
    /// WebAudio ring tone (option `ringTone`).
    pub ring_tone: bool,
    /// Blinking document title (option `titleBlink`).
    pub title_blink: bool,
}

impl Default for RingOptions {
    fn default() -> Self {
        RingOptions {
            notifications: true,
            ring_tone: true,
            title_blink: true,
        }
    }
}

/// What the browser says now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingInput<'a> {
    /// The job id of the call, when the agent is RINGING.
    pub ringing_job: Option<&'a str>,
    /// This tab is the leader (the one that rings).
    pub leader: bool,
    /// The page is visible and focused: the agent is looking at it.
    pub attended: bool,
}

/// The alerts that should be on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Alerts {
    /// Ring tone playing.
    pub tone: bool,
    /// Title blinking.
    pub blink: bool,
    /// Notification open.
    pub notify: bool,
}

/// The alerts of the current ringing call; feed it every change with
/// [`Ring::update`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ring {
    job: Option<String>,
    notified: bool,
    last: Alerts,
}

impl Ring {
    /// The alerts that should be on given `input`.
    pub fn update(&mut self, options: RingOptions, input: RingInput<'_>) -> Alerts {
        let job = input.ringing_job.filter(|_| input.leader);
        if job != self.job.as_deref() {
            *self = Ring {
                job: job.map(str::to_owned),
                ..Ring::default()
            };
        }
        if job.is_none() {
            return Alerts::default();
        }
        let away = !input.attended;
        let alerts = Alerts {
            tone: options.ring_tone && (away || self.last.tone),
            blink: options.title_blink && away,
            notify: options.notifications && away && (!self.notified || self.last.notify),
        };
        self.notified |= alerts.notify;
        self.last = alerts;
        alerts
    }
}

/// The notification's title and the blinking title's text: "Incoming call
/// from 13800138000" (the caller as the call panel shows it), or "Incoming
/// call" when the number is withheld.
pub fn incoming_call(caller: Option<&str>, lang: Lang) -> String {
    match caller.map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => [tr(lang, "Incoming call from ", "来电："), c].concat(),
        None => tr(lang, "Incoming call", "来电").to_owned(),
    }
}

/// The notification's body.
pub fn notification_body(lang: Lang) -> &'static str {
    tr(
        lang,
        "Click to go to the toolbar and answer.",
        "点击前往工具条接听。",
    )
}

/// The document title at blink `phase` (`true`: the call, `false`: the
/// page's own title).
pub fn blink_title(original: &str, call: &str, phase: bool) -> String {
    if phase {
        ["☎ ", call].concat()
    } else {
        original.to_owned()
    }
}

/// Blink period (ms): the title changes every second.
pub const BLINK_MS: u64 = 1_000;

/// The ring tone's two frequencies (Hz): the British double ring, 400 + 450 Hz.
pub const TONE_HZ: [f32; 2] = [400.0, 450.0];

/// Peak gain of the tone (of 1.0).
pub const TONE_LEVEL: f32 = 0.2;

/// One cadence period (s): 0.4 on, 0.2 off, 0.4 on, 2.0 off.
pub const CADENCE_SECS: f64 = 3.0;

/// The bursts of one period, `(start, end)` in seconds from its beginning.
pub const BURSTS: [(f64, f64); 2] = [(0.0, 0.4), (0.6, 1.0)];

/// How long the tone is scheduled for (s): far beyond any ringing timeout
/// (CCC's web SDK documents 30 s); a longer ring goes on with the title and
/// the notification only.
pub const TONE_HORIZON_SECS: f64 = 300.0;

/// Every burst of the tone from `t0` (audio clock, s) to the horizon, in order.
pub fn bursts(t0: f64) -> impl Iterator<Item = (f64, f64)> {
    let periods = (TONE_HORIZON_SECS / CADENCE_SECS) as u32;
    (0..periods).flat_map(move |k| {
        let start = t0 + f64::from(k) * CADENCE_SECS;
        BURSTS.iter().map(move |(a, b)| (start + a, start + b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: RingOptions = RingOptions {
        notifications: true,
        ring_tone: true,
        title_blink: true,
    };

    fn input(job: Option<&str>, leader: bool, attended: bool) -> RingInput<'_> {
        RingInput {
            ringing_job: job,
            leader,
            attended,
        }
    }

    const ON: Alerts = Alerts {
        tone: true,
        blink: true,
        notify: true,
    };

    #[test]
    fn rings_only_in_the_leader_while_ringing_and_away() {
        let mut r = Ring::default();
        assert_eq!(r.update(ALL, input(None, true, false)), Alerts::default());
        assert_eq!(
            r.update(ALL, input(Some("j1"), false, false)),
            Alerts::default()
        );
        assert_eq!(r.update(ALL, input(Some("j1"), true, false)), ON);
        // Answered (or rejected, timed out, taken elsewhere): all of it stops.
        assert_eq!(r.update(ALL, input(None, true, false)), Alerts::default());
        // Leadership moving to another tab stops this one.
        r.update(ALL, input(Some("j2"), true, false));
        assert_eq!(
            r.update(ALL, input(Some("j2"), false, false)),
            Alerts::default()
        );
    }

    #[test]
    fn nothing_starts_while_the_agent_looks_at_the_toolbar() {
        let mut r = Ring::default();
        assert_eq!(
            r.update(ALL, input(Some("j1"), true, true)),
            Alerts::default()
        );
        // Leaving the tab while it rings starts the alerts.
        assert_eq!(r.update(ALL, input(Some("j1"), true, false)), ON);
    }

    #[test]
    fn coming_back_stops_blink_and_notification_but_not_the_tone() {
        let mut r = Ring::default();
        r.update(ALL, input(Some("j1"), true, false));
        let back = r.update(ALL, input(Some("j1"), true, true));
        assert_eq!(
            back,
            Alerts {
                tone: true,
                blink: false,
                notify: false
            }
        );
        // Leaving again: the title blinks again, no second notification.
        let away = r.update(ALL, input(Some("j1"), true, false));
        assert_eq!(
            away,
            Alerts {
                tone: true,
                blink: true,
                notify: false
            }
        );
        // A new call gets its own notification.
        assert_eq!(r.update(ALL, input(Some("j2"), true, false)), ON);
    }

    #[test]
    fn the_notification_stays_open_while_away() {
        let mut r = Ring::default();
        r.update(ALL, input(Some("j1"), true, false));
        assert!(r.update(ALL, input(Some("j1"), true, false)).notify);
    }

    #[test]
    fn each_alert_can_be_switched_off() {
        let mut r = Ring::default();
        let only_title = RingOptions {
            notifications: false,
            ring_tone: false,
            title_blink: true,
        };
        assert_eq!(
            r.update(only_title, input(Some("j1"), true, false)),
            Alerts {
                tone: false,
                blink: true,
                notify: false
            }
        );
        let none = RingOptions {
            title_blink: false,
            ..only_title
        };
        assert_eq!(
            r.update(none, input(Some("j9"), true, false)),
            Alerts::default()
        );
    }

    #[test]
    fn texts() {
        assert_eq!(
            incoming_call(Some("13800138000"), Lang::En),
            "Incoming call from 13800138000"
        );
        assert_eq!(
            incoming_call(Some("13800138000"), Lang::Zh),
            "来电：13800138000"
        );
        assert_eq!(incoming_call(None, Lang::En), "Incoming call");
        assert_eq!(incoming_call(Some(" "), Lang::Zh), "来电");
        assert_eq!(
            blink_title("CRM – Acme", "Incoming call", true),
            "☎ Incoming call"
        );
        assert_eq!(
            blink_title("CRM – Acme", "Incoming call", false),
            "CRM – Acme"
        );
        assert!(notification_body(Lang::Zh).contains("接听"));
    }

    #[test]
    fn the_cadence_is_a_double_ring_for_the_whole_horizon() {
        let b: Vec<_> = bursts(10.0).collect();
        assert_eq!(b[0], (10.0, 10.4));
        assert_eq!(b[1], (10.6, 11.0));
        assert_eq!(b[2], (13.0, 13.4));
        assert!(
            b.windows(2).all(|w| w[0].1 < w[1].0),
            "bursts never overlap"
        );
        let last = b.last().unwrap().1;
        assert!(last > 10.0 + TONE_HORIZON_SECS - CADENCE_SECS && last <= 10.0 + TONE_HORIZON_SECS);
    }
}
