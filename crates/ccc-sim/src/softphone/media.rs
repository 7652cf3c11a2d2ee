//! The simulated customer's media: one WebRTC peer per call ([`str0m`],
//! sans-IO, driven by a Tokio task on a UDP socket bound to 127.0.0.1),
//! G.711 PCMU with RFC 4733 telephone events (the agent's keypad, decoded
//! by [`RtpDtmf`] and handed out through [`MediaPeer::dtmf_keys`]), and
//! meters of what flows each way.
//!
//! The peer plays a small mixer between the agent's leg (real RTP) and the
//! simulated customer:
//!
//! | [`Mix`] | the agent hears (sent) | the customer hears |
//! |---|---|---|
//! | ringing the customer (MakeCall) | [`tone::RINGBACK`] | nothing |
//! | talking | [`tone::CUSTOMER`] | the agent's audio |
//! | agent muted (MuteCall) | [`tone::CUSTOMER`] | silence |
//! | customer held (HoldCall) | silence | [`tone::HOLD_MUSIC`] |
//!
//! Only a loopback host candidate is offered: media never leaves the
//! machine, and no TURN server is involved.

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::{Codec, CodecExtra, FormatParams};
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc, RtcConfig};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use super::dtmf::RtpDtmf;
use super::g711;
use super::tone::{self, Pattern, ToneGenerator, FRAME_SAMPLES};

/// Why a media peer could not start or negotiate.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The UDP socket could not be bound.
    #[error("media socket: {0}")]
    Io(#[from] std::io::Error),
    /// The SDP could not be parsed or negotiated.
    #[error("SDP: {0}")]
    Sdp(String),
    /// The peer's task has ended.
    #[error("the media peer has stopped")]
    Stopped,
}

/// Where the call is, for the mixer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mix {
    /// An outbound call still ringing the customer: the agent hears ringback.
    pub ringback: bool,
    /// The agent is muted: the customer hears silence from it.
    pub muted: bool,
    /// The customer is held: the agent hears nothing, the customer hears
    /// hold music.
    pub held: bool,
}

impl Mix {
    /// What the agent hears.
    pub fn to_agent(&self) -> Option<Pattern> {
        if self.held {
            None
        } else if self.ringback {
            Some(tone::RINGBACK)
        } else {
            Some(tone::CUSTOMER)
        }
    }
}

/// Packets and energy of one direction over the last second.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Flow {
    /// RTP packets (20 ms frames) in the last second.
    pub packets: u32,
    /// Mean square of the decoded samples in the last second, full scale = 1
    /// (silence 0; the customer tone about 0.028).
    pub energy: f64,
    /// Packets since the call's media started.
    pub total_packets: u64,
}

/// What `GET /_sim/calls/{jobId}/media` shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaReport {
    /// ICE and DTLS are up.
    pub connected: bool,
    /// The mixer's state.
    pub mix: Mix,
    /// What the simulator sends the agent (on the wire).
    pub to_agent: Flow,
    /// What the simulator receives from the agent (on the wire).
    pub from_agent: Flow,
    /// What the simulated customer hears (after mute and hold).
    pub customer_hears: Flow,
    /// The pattern the agent hears now (`customer`, `ringback`) or `null`.
    pub to_agent_pattern: Option<&'static str>,
    /// `agent`, `silence` or `holdMusic`.
    pub customer_hears_source: &'static str,
}

/// Energy per frame over a sliding second.
#[derive(Debug, Default)]
struct Meter {
    frames: VecDeque<(Instant, f64, usize)>,
    total: u64,
}

impl Meter {
    fn record(&mut self, now: Instant, samples: &[i16]) {
        self.frames
            .push_back((now, tone::mean_square(samples), samples.len()));
        self.total += 1;
        self.prune(now);
    }

    fn prune(&mut self, now: Instant) {
        while self
            .frames
            .front()
            .is_some_and(|(t, _, _)| now.duration_since(*t) > Duration::from_secs(1))
        {
            self.frames.pop_front();
        }
    }

    fn flow(&mut self, now: Instant) -> Flow {
        self.prune(now);
        let samples: usize = self.frames.iter().map(|(_, _, n)| n).sum();
        let sum: f64 = self.frames.iter().map(|(_, e, n)| e * *n as f64).sum();
        Flow {
            packets: u32::try_from(self.frames.len()).unwrap_or(u32::MAX),
            energy: if samples == 0 {
                0.0
            } else {
                sum / samples as f64
            },
            total_packets: self.total,
        }
    }
}

#[derive(Debug, Default)]
struct Meters {
    connected: bool,
    mix: Mix,
    to_agent: Meter,
    from_agent: Meter,
    customer_hears: Meter,
}

enum Command {
    Answer(String, oneshot::Sender<Result<(), MediaError>>),
    Reoffer(Direction, oneshot::Sender<Result<String, MediaError>>),
    Offer(String, oneshot::Sender<Result<String, MediaError>>),
    Mix(Mix),
}

/// One call's media peer. Dropping it stops the peer and closes its socket.
#[derive(Debug)]
pub struct MediaPeer {
    commands: mpsc::UnboundedSender<Command>,
    meters: Arc<Mutex<Meters>>,
    addr: SocketAddr,
    /// Keys received in-band, until [`MediaPeer::dtmf_keys`] takes them.
    keys: Mutex<Option<mpsc::UnboundedReceiver<char>>>,
}

/// Keeps only the remote candidates the peer may use: UDP on a loopback
/// address. A browser also lists the machine's other addresses (never a
/// target here), TCP candidates and mDNS names (`<uuid>.local`, which
/// str0m's parser need not read).
pub fn usable_candidates_only(sdp: &str) -> String {
    let usable = |line: &str| {
        let Some(rest) = line.strip_prefix("a=candidate:") else {
            return true;
        };
        let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
        fields.len() >= 6
            && fields[2].eq_ignore_ascii_case("udp")
            && fields[4]
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    };
    let mut out: String = sdp
        .split_inclusive('\n')
        .filter(|l| usable(l.trim_end()))
        .collect();
    if !out.ends_with('\n') {
        out.push_str("\r\n");
    }
    out
}

/// The payload type offered for `telephone-event/8000` (the one browsers
/// use beside PCMU).
pub const TELEPHONE_EVENT_PT: u8 = 101;

/// The str0m configuration: PCMU, and RFC 4733 telephone events at PCMU's
/// 8 kHz clock (events `0-16`, as browsers offer) so a browser's
/// `RTCDTMFSender` can send the keypad in-band.
fn rtc_config() -> RtcConfig {
    let mut config = RtcConfig::new().clear_codecs().enable_pcmu(true, false);
    config.codec_config().add_config(
        TELEPHONE_EVENT_PT.into(),
        None,
        Codec::Tele,
        Frequency::EIGHT_KHZ,
        None,
        FormatParams::parse_line("0-16"),
    );
    config
}

async fn bind() -> Result<(UdpSocket, SocketAddr), MediaError> {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = socket.local_addr()?;
    Ok((socket, addr))
}

fn host_candidate(rtc: &mut Rtc, addr: SocketAddr) -> Result<(), MediaError> {
    let candidate =
        Candidate::host(addr, "udp").map_err(|e| MediaError::Sdp(format!("candidate: {e}")))?;
    rtc.add_local_candidate(candidate);
    Ok(())
}

impl MediaPeer {
    /// A new peer that makes the offer (the simulator's INVITE). Returns
    /// the peer and the SDP offer; give it the answer with
    /// [`MediaPeer::accept_answer`].
    pub async fn offer(mix: Mix) -> Result<(MediaPeer, String), MediaError> {
        let (socket, addr) = bind().await?;
        let mut rtc = rtc_config().build(Instant::now());
        host_candidate(&mut rtc, addr)?;
        let mut api = rtc.sdp_api();
        let mid = api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        let (offer, pending) = api
            .apply()
            .ok_or_else(|| MediaError::Sdp("nothing to offer".into()))?;
        let sdp = offer.to_sdp_string();
        let peer = Self::start(rtc, socket, addr, Some(mid), Some(pending), mix);
        Ok((peer, sdp))
    }

    /// A new peer that answers `offer` (the agent's side in tests, or an
    /// INVITE the agent sends). Returns the peer and the SDP answer.
    pub async fn answer(offer: &str, mix: Mix) -> Result<(MediaPeer, String), MediaError> {
        let (socket, addr) = bind().await?;
        let mut rtc = rtc_config().build(Instant::now());
        host_candidate(&mut rtc, addr)?;
        let offer = SdpOffer::from_sdp_string(&usable_candidates_only(offer))
            .map_err(|e| MediaError::Sdp(e.to_string()))?;
        let answer = rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| MediaError::Sdp(e.to_string()))?;
        let sdp = answer.to_sdp_string();
        let peer = Self::start(rtc, socket, addr, None, None, mix);
        Ok((peer, sdp))
    }

    fn start(
        rtc: Rtc,
        socket: UdpSocket,
        addr: SocketAddr,
        mid: Option<Mid>,
        pending: Option<SdpPendingOffer>,
        mix: Mix,
    ) -> MediaPeer {
        let (commands, rx) = mpsc::unbounded_channel();
        let (keys_tx, keys) = mpsc::unbounded_channel();
        let meters = Arc::new(Mutex::new(Meters {
            mix,
            ..Meters::default()
        }));
        let task = PeerTask {
            rtc,
            socket,
            addr,
            mid,
            pending,
            meters: meters.clone(),
            mix,
            voice: None,
            hold_music: ToneGenerator::new(tone::HOLD_MUSIC),
            rtp_time: 0,
            heard: Vec::new(),
            dtmf: RtpDtmf::default(),
            keys: keys_tx,
        };
        tokio::spawn(task.run(rx));
        MediaPeer {
            commands,
            meters,
            addr,
            keys: Mutex::new(Some(keys)),
        }
    }

    /// The keypad keys the agent's device sends in-band (RFC 4733), in
    /// order, each once; the stream ends with the peer. The first call
    /// takes it; later calls get `None`.
    pub fn dtmf_keys(&self) -> Option<mpsc::UnboundedReceiver<char>> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// The local UDP address (always on 127.0.0.1).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Applies the answer to our offer.
    pub async fn accept_answer(&self, sdp: &str) -> Result<(), MediaError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Answer(sdp.to_owned(), tx))
            .map_err(|_| MediaError::Stopped)?;
        rx.await.map_err(|_| MediaError::Stopped)?
    }

    /// Answers a new offer from the other side (a re-INVITE).
    pub async fn accept_offer(&self, sdp: &str) -> Result<String, MediaError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Offer(sdp.to_owned(), tx))
            .map_err(|_| MediaError::Stopped)?;
        rx.await.map_err(|_| MediaError::Stopped)?
    }

    /// A new offer in the same session with the audio's direction changed
    /// (e.g. `SendOnly` to hold from this side, as a browser's re-INVITE
    /// does); give the answer to [`MediaPeer::accept_answer`].
    pub async fn reoffer(&self, direction: Direction) -> Result<String, MediaError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Reoffer(direction, tx))
            .map_err(|_| MediaError::Stopped)?;
        rx.await.map_err(|_| MediaError::Stopped)?
    }

    /// Changes what each side hears.
    pub fn set_mix(&self, mix: Mix) {
        let _ = self.commands.send(Command::Mix(mix));
    }

    /// The meters now.
    pub fn report(&self) -> MediaReport {
        let now = Instant::now();
        let mut m = self.meters.lock().unwrap_or_else(|e| e.into_inner());
        let mix = m.mix;
        MediaReport {
            connected: m.connected,
            mix,
            to_agent: m.to_agent.flow(now),
            from_agent: m.from_agent.flow(now),
            customer_hears: m.customer_hears.flow(now),
            to_agent_pattern: mix.to_agent().map(|p| p.name),
            customer_hears_source: if mix.ringback {
                "silence"
            } else if mix.held {
                tone::HOLD_MUSIC.name
            } else if mix.muted {
                "silence"
            } else {
                "agent"
            },
        }
    }
}

enum Wake {
    Timeout,
    Packet(usize, SocketAddr),
    Tick,
    Command(Option<Command>),
}

struct PeerTask {
    rtc: Rtc,
    socket: UdpSocket,
    addr: SocketAddr,
    mid: Option<Mid>,
    pending: Option<SdpPendingOffer>,
    meters: Arc<Mutex<Meters>>,
    mix: Mix,
    voice: Option<ToneGenerator>,
    hold_music: ToneGenerator,
    rtp_time: u64,
    /// The agent's samples received since the last frame tick.
    heard: Vec<i16>,
    /// Telephone events received, to keys.
    dtmf: RtpDtmf,
    keys: mpsc::UnboundedSender<char>,
}

impl PeerTask {
    fn meters(&self) -> std::sync::MutexGuard<'_, Meters> {
        self.meters.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut buf = vec![0u8; 2_000];
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let deadline = match self.drain().await {
                Ok(t) => t,
                Err(e) => {
                    tracing::debug!(error = %e, "media peer stopped");
                    return;
                }
            };
            let wait = deadline.saturating_duration_since(Instant::now());
            let wake = tokio::select! {
                _ = tokio::time::sleep(wait) => Wake::Timeout,
                received = self.socket.recv_from(&mut buf) => match received {
                    // Only loopback peers (a browser may also check from the
                    // machine's other addresses): never learnt, never answered.
                    Ok((n, source)) if source.ip().is_loopback() => Wake::Packet(n, source),
                    Ok(_) | Err(_) => continue,
                },
                _ = tick.tick() => Wake::Tick,
                command = commands.recv() => Wake::Command(command),
            };
            let result = match wake {
                Wake::Timeout => self.rtc.handle_input(Input::Timeout(Instant::now())),
                Wake::Packet(n, source) => {
                    match Receive::new(Protocol::Udp, source, self.addr, &buf[..n]) {
                        Ok(r) => self.rtc.handle_input(Input::Receive(Instant::now(), r)),
                        // Not STUN, DTLS or RTP: ignored.
                        Err(_) => Ok(()),
                    }
                }
                Wake::Tick => {
                    self.frame();
                    Ok(())
                }
                Wake::Command(None) => {
                    self.rtc.disconnect();
                    return;
                }
                Wake::Command(Some(c)) => {
                    self.command(c);
                    Ok(())
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "media input refused");
            }
        }
    }

    /// Polls str0m until it asks for a timeout: sends what it transmits,
    /// meters what it receives.
    async fn drain(&mut self) -> Result<Instant, str0m::RtcError> {
        loop {
            match self.rtc.poll_output()? {
                Output::Timeout(t) => return Ok(t),
                Output::Transmit(t) => {
                    // Loopback only: no other address is ever a target.
                    if t.destination.ip().is_loopback() {
                        let _ = self.socket.send_to(&t.contents, t.destination).await;
                    }
                }
                Output::Event(e) => self.event(e),
            }
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Connected => self.meters().connected = true,
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                self.meters().connected = false;
            }
            Event::MediaAdded(added) if self.mid.is_none() => self.mid = Some(added.mid),
            Event::MediaData(data) if data.params.spec().codec.is_tele() => {
                if let CodecExtra::Tele(report) = &data.codec_extra {
                    if let Some(key) = self.dtmf.receive(data.time.numer(), report) {
                        tracing::debug!(%key, "in-band DTMF from the agent");
                        let _ = self.keys.send(key);
                    }
                }
            }
            Event::MediaData(data) => {
                let samples = g711::decode_frame(&data.data);
                self.meters().from_agent.record(Instant::now(), &samples);
                self.heard.extend_from_slice(&samples);
            }
            _ => {}
        }
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Answer(sdp, reply) => {
                let sdp = usable_candidates_only(&sdp);
                let result = match (SdpAnswer::from_sdp_string(&sdp), self.pending.take()) {
                    (Ok(answer), Some(pending)) => self
                        .rtc
                        .sdp_api()
                        .accept_answer(pending, answer)
                        .map_err(|e| MediaError::Sdp(e.to_string())),
                    (Err(e), pending) => {
                        self.pending = pending;
                        Err(MediaError::Sdp(e.to_string()))
                    }
                    (Ok(_), None) => Err(MediaError::Sdp("no offer is pending".into())),
                };
                let _ = reply.send(result);
            }
            Command::Reoffer(direction, reply) => {
                let mut api = self.rtc.sdp_api();
                if let Some(mid) = self.mid {
                    api.set_direction(mid, direction);
                }
                let result = match api.apply() {
                    Some((offer, pending)) => {
                        self.pending = Some(pending);
                        Ok(offer.to_sdp_string())
                    }
                    None => Err(MediaError::Sdp("nothing changed to offer".into())),
                };
                let _ = reply.send(result);
            }
            Command::Offer(sdp, reply) => {
                let result = SdpOffer::from_sdp_string(&usable_candidates_only(&sdp))
                    .map_err(|e| MediaError::Sdp(e.to_string()))
                    .and_then(|offer| {
                        self.pending = None;
                        self.rtc
                            .sdp_api()
                            .accept_offer(offer)
                            .map_err(|e| MediaError::Sdp(e.to_string()))
                    })
                    .map(|answer| answer.to_sdp_string());
                let _ = reply.send(result);
            }
            Command::Mix(mix) => {
                self.mix = mix;
                self.meters().mix = mix;
            }
        }
    }

    /// Every 20 ms: the next frame to the agent, and the customer's ear.
    fn frame(&mut self) {
        let now = Instant::now();
        let connected = self.meters().connected;
        // The customer's ear: the agent's audio unless muted or held.
        let heard = std::mem::take(&mut self.heard);
        if connected && !self.mix.ringback {
            let ear: Vec<i16> = if self.mix.held {
                self.hold_music.next_frame().to_vec()
            } else if self.mix.muted || heard.is_empty() {
                vec![0; FRAME_SAMPLES]
            } else {
                heard
            };
            self.meters().customer_hears.record(now, &ear);
        }
        let pattern = self.mix.to_agent();
        if self.voice.as_ref().map(ToneGenerator::pattern) != pattern {
            self.voice = pattern.map(ToneGenerator::new);
        }
        let samples = match self.voice.as_mut() {
            Some(g) => g.next_frame(),
            None => [0; FRAME_SAMPLES],
        };
        let Some(mid) = self.mid.filter(|_| connected) else {
            return;
        };
        let Some(writer) = self.rtc.writer(mid) else {
            return;
        };
        let Some(pt) = writer
            .payload_params()
            .find(|p| p.spec().codec == Codec::PCMU)
            .map(|p| p.pt())
        else {
            return;
        };
        let time = MediaTime::new(self.rtp_time, Frequency::EIGHT_KHZ);
        self.rtp_time += FRAME_SAMPLES as u64;
        let payload = g711::encode_frame(&samples);
        match writer.write(pt, now, time, payload) {
            Ok(()) => self.meters().to_agent.record(now, &samples),
            Err(e) => tracing::debug!(error = %e, "media write refused"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_udp_candidates_with_an_address_reach_str0m() {
        let sdp = "v=0\r\n\
            a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\n\
            a=candidate:2 1 udp 2122260223 4f1c0e2a-1234.local 50001 typ host\r\n\
            a=candidate:3 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active\r\n\
            a=candidate:4 1 UDP 2122260223 ::1 50002 typ host\r\n\
            a=candidate:5 1 udp 2122063615 192.0.2.2 33016 typ host\r\n\
            a=end-of-candidates\r\n";
        let kept = usable_candidates_only(sdp);
        assert!(kept.contains("127.0.0.1 50000"));
        assert!(kept.contains("::1 50002"));
        assert!(!kept.contains(".local"));
        assert!(!kept.contains("192.0.2.2"));
        assert!(!kept.contains("tcp"));
        assert!(kept.starts_with("v=0\r\n") && kept.ends_with("a=end-of-candidates\r\n"));
    }
}
