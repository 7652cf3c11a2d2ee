//! Time in state from server timestamps, corrected for the skew between the
//! server's clock and this browser's, and how durations are written.

/// The server clock minus the local clock, measured when a snapshot arrives:
/// `server_time - local receive time` (ms).
pub fn skew_offset(server_time_ms: i64, local_receive_ms: f64) -> f64 {
    server_time_ms as f64 - local_receive_ms
}

/// Milliseconds since `since_ms` (a server timestamp), given the local clock and
/// the skew offset; never negative.
pub fn elapsed_since(since_ms: i64, now_local_ms: f64, offset_ms: f64) -> i64 {
    ((now_local_ms + offset_ms) - since_ms as f64).max(0.0) as i64
}

// Written by hand, not with `format!`: these run every second, and
// `core::fmt` is the largest thing a widget can avoid carrying.

/// Appends `n`, zero-padded to two digits when `pad` (`n` < 100 then).
fn push_num(out: &mut String, n: u64, pad: bool) {
    if pad && n < 10 {
        out.push('0');
    }
    out.push_str(itoa::Buffer::new().format(n));
}

/// `m:ss` under an hour, `h:mm:ss` from an hour on.
pub fn format_duration(ms: i64) -> String {
    let total = (ms.max(0) / 1000) as u64;
    let (h, m, s) = (total / 3600, (total / 60) % 60, total % 60);
    let mut out = String::with_capacity(8);
    if h > 0 {
        push_num(&mut out, h, false);
        out.push(':');
    }
    push_num(&mut out, m, h > 0);
    out.push(':');
    push_num(&mut out, s, true);
    out
}

/// `hh:mm:ss` wall-clock time.
pub fn format_clock(hours: u32, minutes: u32, seconds: u32) -> String {
    let mut out = String::with_capacity(8);
    for (i, n) in [hours, minutes, seconds].into_iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        push_num(&mut out, u64::from(n), true);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_is_corrected() {
        // The server is 5 s ahead of this browser.
        let offset = skew_offset(1_000_005_000, 1_000_000_000.0);
        assert_eq!(offset, 5_000.0);
        // State began at server time 1_000_000_000; locally it is now 1_000_000_000.
        assert_eq!(elapsed_since(1_000_000_000, 1_000_000_000.0, offset), 5_000);
        // A browser clock ahead of the server never shows negative time.
        assert_eq!(elapsed_since(2_000, 1_000.0, 0.0), 0);
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration(0), "0:00");
        assert_eq!(format_duration(59_999), "0:59");
        assert_eq!(format_duration(61_000), "1:01");
        assert_eq!(format_duration(3_599_000), "59:59");
        assert_eq!(format_duration(3_600_000), "1:00:00");
        assert_eq!(format_duration(36_061_000), "10:01:01");
        assert_eq!(format_duration(-5), "0:00");
    }

    #[test]
    fn clock() {
        assert_eq!(format_clock(9, 3, 7), "09:03:07");
    }
}
