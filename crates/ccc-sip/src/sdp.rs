//! The little SDP reading the user agent needs: whether an offer puts the
//! agent on hold (RFC 3264 §8.4: `a=sendonly`/`a=inactive`, or the old
//! `c=IN IP4 0.0.0.0`). The browser's `RTCPeerConnection` handles the rest.

/// The media direction of an offer's audio, from the offerer's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `a=sendrecv` (the default).
    SendRecv,
    /// `a=sendonly`: the offerer only sends (music on hold): we are held.
    SendOnly,
    /// `a=recvonly`.
    RecvOnly,
    /// `a=inactive`: nobody sends: we are held.
    Inactive,
}

/// The direction of the first audio section (session-level attribute as the
/// fallback), `SendRecv` when none is written.
pub fn audio_direction(sdp: &str) -> Direction {
    let mut session = None;
    let mut in_audio = false;
    let mut seen_media = false;
    for line in sdp.lines().map(str::trim) {
        if let Some(m) = line.strip_prefix("m=") {
            if in_audio {
                break;
            }
            seen_media = true;
            in_audio = m.starts_with("audio");
            continue;
        }
        let dir = match line {
            "a=sendrecv" => Direction::SendRecv,
            "a=sendonly" => Direction::SendOnly,
            "a=recvonly" => Direction::RecvOnly,
            "a=inactive" => Direction::Inactive,
            "c=IN IP4 0.0.0.0" if in_audio || !seen_media => Direction::SendOnly,
            _ => continue,
        };
        if in_audio {
            return dir;
        }
        if !seen_media {
            session = Some(dir);
        }
    }
    session.unwrap_or(Direction::SendRecv)
}

/// Whether an offer with this SDP holds the answerer.
pub fn is_hold(sdp: &str) -> bool {
    matches!(
        audio_direction(sdp),
        Direction::SendOnly | Direction::Inactive
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions() {
        let base = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n";
        assert_eq!(
            audio_direction(&format!("{base}m=audio 9 UDP/TLS/RTP/SAVPF 0\r\n")),
            Direction::SendRecv
        );
        assert!(is_hold(&format!(
            "{base}m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=sendonly\r\n"
        )));
        assert!(is_hold(&format!(
            "{base}a=inactive\r\nm=audio 9 RTP/AVP 0\r\n"
        )));
        // A later video section's direction does not count.
        assert!(!is_hold(&format!(
            "{base}m=audio 9 RTP/AVP 0\r\na=sendrecv\r\nm=video 9 RTP/AVP 96\r\na=inactive\r\n"
        )));
        assert!(is_hold(
            "v=0\r\nc=IN IP4 0.0.0.0\r\nm=audio 9 RTP/AVP 0\r\n"
        ));
    }
}
