//! Keypad keys the agent's device sends in-band: RFC 4733 telephone events
//! (`telephone-event/8000`, offered beside PCMU). str0m parses each packet's
//! report ([`TelephoneEvent`]); [`RtpDtmf`] turns the stream of reports into
//! keys.
//!
//! A sender repeats an event's report every packet while the key is held
//! (`end` clear, growing duration) and then sends the final report three
//! times (`end` set, RFC 4733 §2.5.1.4); every report of one event carries
//! the event's RTP timestamp. A key counts once, at its first end report; the
//! repeats, and a late start report of an event already ended, are ignored.

use str0m::media::TelephoneEvent;

/// The key of an RFC 4733 event code: `0`-`9` are codes 0-9, `*` is 10,
/// `#` is 11, `A`-`D` are 12-15 (RFC 4733 §3.2); other codes (flash,
/// tones) are not keys.
pub fn key_of(event: u8) -> Option<char> {
    match event {
        0..=9 => char::from_digit(u32::from(event), 10),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + (event - 12))),
        _ => None,
    }
}

/// Keys from a stream of telephone-event reports, each key once.
#[derive(Debug, Default)]
pub struct RtpDtmf {
    /// RTP timestamps of the last events already counted.
    ended: Vec<u64>,
}

impl RtpDtmf {
    /// How many ended events are remembered against repeats (a sender
    /// repeats only the last one).
    const REMEMBER: usize = 8;

    /// The key `report` completes, if it is the first end report of an
    /// event starting at RTP time `timestamp`.
    pub fn receive(&mut self, timestamp: u64, report: &TelephoneEvent) -> Option<char> {
        if !report.end || self.ended.contains(&timestamp) {
            return None;
        }
        if self.ended.len() == Self::REMEMBER {
            self.ended.remove(0);
        }
        self.ended.push(timestamp);
        key_of(report.event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use str0m::media::Frequency;

    /// A report as on the wire: event, E bit + volume, duration (8 kHz units).
    fn wire(event: u8, end: bool, duration: u16) -> TelephoneEvent {
        let [d0, d1] = duration.to_be_bytes();
        let flags = if end { 0x80 | 10 } else { 10 };
        TelephoneEvent::parse(&[event, flags, d0, d1], Frequency::EIGHT_KHZ)
            .expect("four bytes are a report")
    }

    #[test]
    fn codes_map_to_keypad_keys() {
        let keys: String = (0..=15).filter_map(key_of).collect();
        assert_eq!(keys, "0123456789*#ABCD");
        assert_eq!(key_of(16), None); // flash
        assert_eq!(key_of(255), None);
    }

    #[test]
    fn each_event_counts_once_at_its_first_end_report() {
        let mut rx = RtpDtmf::default();
        let mut keys = String::new();
        // "1", then "#", then "1" again: the same key twice is two events.
        for (ts, code) in [(1_000u64, 1u8), (3_000, 11), (5_000, 1)] {
            for d in [160, 320, 480] {
                keys.extend(rx.receive(ts, &wire(code, false, d)));
            }
            for _ in 0..3 {
                keys.extend(rx.receive(ts, &wire(code, true, 800)));
            }
        }
        assert_eq!(keys, "1#1");
        // A start report arriving late for an ended event adds nothing.
        assert_eq!(rx.receive(3_000, &wire(11, false, 160)), None);
        // A report that is not a key (flash) ends its event but is no key.
        assert_eq!(rx.receive(7_000, &wire(16, true, 800)), None);
    }

    #[test]
    fn an_event_seen_only_by_its_end_reports_still_counts() {
        let mut rx = RtpDtmf::default();
        assert_eq!(rx.receive(42, &wire(10, true, 800)), Some('*'));
        assert_eq!(rx.receive(42, &wire(10, true, 800)), None);
    }
}
