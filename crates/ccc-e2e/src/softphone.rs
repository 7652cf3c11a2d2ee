//! The browser softphone in headless Chromium, shared by the softphone's
//! e2e tests and `make bench`: Chromium's fake microphone playing a tone (a
//! WAV written here), loopback WebRTC, and a script installed before the
//! page loads ([`SPY`]) that records the page's `RTCPeerConnection`s,
//! microphone streams and WebSockets, and when the remote audio starts.

use std::path::PathBuf;

use serde_json::json;

use crate::{browser::BrowserOptions, Browser, Stack, StackOptions};

/// The agent the softphone tests and benches sign in as.
pub const AGENT: &str = "agent1@ccc-demo";

/// Installed before every page load: records `window.__pcs` (peer
/// connections), `window.__streams` (microphone streams), `window.__sockets`
/// (WebSockets opened) and `window.__firstAudio` (`performance.now()` when a
/// remote track first unmutes, i.e. its first RTP packet arrived; reset it
/// to `null` before a measurement); `window.__inbound()` reads the last
/// connection's inbound audio stats, `window.__micEnded()` whether every
/// microphone track ended.
pub const SPY: &str = r#"
window.__pcs = []; window.__streams = []; window.__sockets = 0;
const P = window.RTCPeerConnection;
window.__firstAudio = null;
const heard = () => { if (window.__firstAudio === null) window.__firstAudio = performance.now(); };
window.RTCPeerConnection = function (...a) {
  const pc = new P(...a); window.__pcs.push(pc);
  pc.addEventListener('track', (e) => { if (e.track.muted) e.track.addEventListener('unmute', heard, { once: true }); else heard(); });
  return pc;
};
window.RTCPeerConnection.prototype = P.prototype;
const W = window.WebSocket;
window.WebSocket = function (...a) { window.__sockets++; return new W(...a); };
window.WebSocket.prototype = W.prototype;
Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
if (navigator.mediaDevices) {
  const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (c) => { const s = await gum(c); window.__streams.push(s); return s; };
}
window.__inbound = async () => {
  const pc = window.__pcs[window.__pcs.length - 1];
  if (!pc) return null;
  let e = null;
  (await pc.getStats()).forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'audio') e = { energy: r.totalAudioEnergy || 0, packets: r.packetsReceived || 0 }; });
  return e;
};
window.__micEnded = () => window.__streams.length > 0 &&
  window.__streams.every((s) => s.getTracks().every((t) => t.readyState === 'ended'));
"#;

/// A 16-bit mono 48 kHz WAV of a 440 Hz sine at half scale (mean square
/// 0.125), which Chromium's fake microphone plays in a loop.
pub fn tone_wav() -> PathBuf {
    let rate = 48_000u32;
    let samples: Vec<i16> = (0..rate * 2)
        .map(|i| {
            let t = f64::from(i) / f64::from(rate);
            ((2.0 * std::f64::consts::PI * 440.0 * t).sin() * 0.5 * 32767.0) as i16
        })
        .collect();
    let data_len = (samples.len() * 2) as u32;
    let mut wav = Vec::with_capacity(44 + data_len as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&rate.to_le_bytes());
    wav.extend_from_slice(&(rate * 2).to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        wav.extend_from_slice(&s.to_le_bytes());
    }
    let path = std::env::temp_dir().join(format!("ccc-e2e-tone-{}.wav", std::process::id()));
    std::fs::write(&path, wav).unwrap();
    path
}

/// Chromium flags for the fake microphone (allowed or denied) and loopback
/// WebRTC.
pub fn media_flags(allow_mic: bool) -> Vec<String> {
    vec![
        "--use-fake-device-for-media-stream".into(),
        if allow_mic {
            "--use-fake-ui-for-media-stream".into()
        } else {
            "--use-fake-ui-for-media-stream=deny".into()
        },
        format!("--use-file-for-fake-audio-capture={}", tone_wav().display()),
        "--allow-loopback-in-peer-connection".into(),
        "--autoplay-policy=no-user-gesture-required".into(),
    ]
}

/// A stack with the softphone relay to the simulator.
pub fn stack_options() -> StackOptions {
    StackOptions {
        softphone: true,
        ..StackOptions::default()
    }
}

/// A browser with the fake microphone, the spy installed, signed in, online
/// and registered.
pub async fn registered_agent(stack: &Stack, allow_mic: bool) -> Browser {
    let b = Browser::start(BrowserOptions {
        extra_args: media_flags(allow_mic),
        ..BrowserOptions::default()
    })
    .await;
    b.cdp(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": SPY }),
    )
    .await;
    b.sign_in(stack, AGENT).await;
    b.choose("sign-in").await;
    b.wait_state("BREAK").await;
    b.choose("ready").await;
    b.wait_state("READY").await;
    b.wait_attr("softphone-status", "data-registration", "registered")
        .await;
    b
}
