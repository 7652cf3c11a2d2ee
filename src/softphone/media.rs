//! WebRTC media for one softphone call (audio only): the microphone
//! (`getUserMedia`), the `RTCPeerConnection` that answers the INVITE's offer,
//! the remote audio played through an `<audio>` element (`setSinkId` for the
//! speaker), and the microphone level meter. Dropping [`Media`] ends the
//! call's media: the microphone track is stopped (released) and the
//! connection closed.

use std::{
    cell::{Cell, RefCell},
    rc::Rc,
};

use ccc_model::api::IceServer;
use futures::future::select;
use js_sys::{Array, Reflect};
use wasm_bindgen::{prelude::*, JsCast};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AnalyserNode, AudioContext, HtmlAudioElement, MediaStream, MediaStreamConstraints,
    MediaStreamTrack, RtcConfiguration, RtcIceGatheringState, RtcIceServer, RtcPeerConnection,
    RtcRtpSender, RtcSdpType, RtcSessionDescriptionInit, RtcTrackEvent,
};

use crate::{
    browser::{field, js_object, listen, sleep, Listener, Notify},
    softphone::MicProblem,
};

/// Longest wait for ICE candidates before the SDP answer goes out (ms). SIP
/// has no trickle ICE, so the answer carries every candidate gathered; with
/// host candidates (and a reachable TURN) gathering ends much sooner.
const GATHER_MS: f64 = 1_500.0;

/// Opens the microphone (`deviceId` when one was picked).
pub async fn open_mic(device: Option<&str>) -> Result<MediaStream, MicProblem> {
    let devices = web_sys::window()
        .map(|w| w.navigator())
        .and_then(|n| n.media_devices().ok())
        .ok_or(MicProblem::Other)?;
    let constraints = MediaStreamConstraints::new();
    let audio = match device {
        Some(id) if !id.is_empty() => {
            js_object(&[("deviceId", js_object(&[("exact", JsValue::from_str(id))]))])
        }
        _ => JsValue::TRUE,
    };
    constraints.set_audio(&audio);
    constraints.set_video(&JsValue::FALSE);
    let promise = devices
        .get_user_media_with_constraints(&constraints)
        .map_err(|e| mic_problem(&e))?;
    match JsFuture::from(promise).await {
        Ok(stream) => Ok(stream.unchecked_into()),
        Err(e) => Err(mic_problem(&e)),
    }
}

fn mic_problem(e: &JsValue) -> MicProblem {
    MicProblem::from_error_name(&field(e, "name").as_string().unwrap_or_default())
}

/// The media of one call.
pub struct Media {
    pc: RtcPeerConnection,
    local: MediaStream,
    /// The microphone's sender (its `dtmf` sends the keypad in-band).
    audio_sender: Option<RtcRtpSender>,
    _listeners: Vec<Listener>,
    remote_listener: Rc<Cell<Option<Listener>>>,
}

impl std::fmt::Debug for Media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Media").finish_non_exhaustive()
    }
}

impl Media {
    /// A peer connection sending `local` and playing what arrives through
    /// `audio`; `on_audio` runs when the first remote audio arrives (the
    /// remote track unmutes).
    pub fn new(
        local: MediaStream,
        ice: &[IceServer],
        audio: &HtmlAudioElement,
        on_audio: impl Fn() + 'static,
    ) -> Result<Media, JsValue> {
        let servers = Array::new();
        for s in ice {
            let server = RtcIceServer::new();
            let urls = Array::new();
            for u in &s.urls {
                urls.push(&JsValue::from_str(u));
            }
            server.set_urls(&urls);
            if let Some(u) = &s.username {
                server.set_username(u);
            }
            if let Some(c) = &s.credential {
                server.set_credential(c);
            }
            servers.push(&server);
        }
        let config = RtcConfiguration::new();
        config.set_ice_servers(&servers);
        let pc = RtcPeerConnection::new_with_configuration(&config)?;
        let mut audio_sender = None;
        for track in local.get_audio_tracks() {
            let track: MediaStreamTrack = track.unchecked_into();
            audio_sender.get_or_insert(pc.add_track_0(&track, &local));
        }
        let remote_listener: Rc<Cell<Option<Listener>>> = Rc::default();
        let (audio, slot) = (audio.clone(), remote_listener.clone());
        let on_audio = Rc::new(on_audio);
        let on_track = listen(pc.as_ref(), "track", move |e| {
            let Some(e) = e.dyn_ref::<RtcTrackEvent>() else {
                return;
            };
            let track = e.track();
            if let Some(stream) = e.streams().get(0).dyn_ref::<MediaStream>() {
                audio.set_src_object(Some(stream));
            } else {
                let stream = MediaStream::new().ok();
                if let Some(s) = &stream {
                    s.add_track(&track);
                }
                audio.set_src_object(stream.as_ref());
            }
            let _ = audio.play();
            if !track.muted() {
                on_audio();
            } else {
                let f = on_audio.clone();
                slot.set(Some(listen(track.as_ref(), "unmute", move |_| f())));
            }
        });
        Ok(Media {
            pc,
            local,
            audio_sender,
            _listeners: vec![on_track],
            remote_listener,
        })
    }

    /// Answers an SDP offer (the INVITE's, or a re-INVITE's): returns the
    /// SDP answer with the ICE candidates gathered so far.
    pub async fn answer(&self, offer: &str) -> Result<String, JsValue> {
        answer_offer(self.pc.clone(), offer).await
    }

    /// The peer connection (for a re-INVITE's answer, [`answer_offer`]).
    pub fn connection(&self) -> RtcPeerConnection {
        self.pc.clone()
    }

    /// Mute: the microphone track sends silence (`enabled = false`).
    pub fn set_muted(&self, muted: bool) {
        for track in self.local.get_audio_tracks() {
            let track: MediaStreamTrack = track.unchecked_into();
            track.set_enabled(!muted);
        }
    }

    /// Sends keypad `digits` in-band (RFC 4733 telephone events) through
    /// the audio sender's `RTCDTMFSender`, after any keys still queued
    /// there. `false`, sending nothing, unless the SDP negotiated
    /// telephone-event and the audio is being sent (`canInsertDTMF`, which
    /// web-sys does not bind): the caller then uses SendDtmfSignaling.
    pub fn send_dtmf(&self, digits: &str) -> bool {
        let Some(dtmf) = self.audio_sender.as_ref().and_then(RtcRtpSender::dtmf) else {
            return false;
        };
        if field(dtmf.as_ref(), "canInsertDTMF").as_bool() != Some(true) {
            return false;
        }
        // insertDTMF replaces the tones still waiting: keep them first.
        dtmf.insert_dtmf(&format!("{}{digits}", dtmf.tone_buffer()));
        true
    }

    /// The local (microphone) stream, for the level meter.
    pub fn local(&self) -> &MediaStream {
        &self.local
    }
}

impl Drop for Media {
    fn drop(&mut self) {
        for track in self.local.get_tracks() {
            let track: MediaStreamTrack = track.unchecked_into();
            track.stop();
        }
        self.remote_listener.take();
        self.pc.close();
    }
}

/// Answers an SDP offer on `pc`: returns the SDP answer with the ICE
/// candidates gathered so far.
pub async fn answer_offer(pc: RtcPeerConnection, offer: &str) -> Result<String, JsValue> {
    let remote = RtcSessionDescriptionInit::new(RtcSdpType::Offer);
    remote.set_sdp(offer);
    JsFuture::from(pc.set_remote_description(&remote)).await?;
    let answer = JsFuture::from(pc.create_answer()).await?;
    let answer: RtcSessionDescriptionInit = answer.unchecked_into();
    JsFuture::from(pc.set_local_description(&answer)).await?;
    gathered(&pc).await;
    pc.local_description()
        .map(|d| d.sdp())
        .ok_or_else(|| JsValue::from_str("no local description"))
}

/// Waits until ICE gathering completes, at most [`GATHER_MS`].
async fn gathered(pc: &RtcPeerConnection) {
    if pc.ice_gathering_state() == RtcIceGatheringState::Complete {
        return;
    }
    let done = Rc::new(Notify::default());
    let (d, p) = (done.clone(), pc.clone());
    let _watch = listen(pc.as_ref(), "icegatheringstatechange", move |_| {
        if p.ice_gathering_state() == RtcIceGatheringState::Complete {
            d.notify();
        }
    });
    // On timeout the answer carries what was gathered (host candidates first).
    let _ = select(Box::pin(done.notified()), Box::pin(sleep(GATHER_MS))).await;
}

/// The microphone level (0–1, RMS of the last ~20 ms) of a stream, read
/// through a WebAudio analyser; closed when dropped.
pub struct LevelMeter {
    ctx: AudioContext,
    analyser: AnalyserNode,
    buffer: RefCell<Vec<f32>>,
}

impl std::fmt::Debug for LevelMeter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LevelMeter").finish_non_exhaustive()
    }
}

impl LevelMeter {
    /// Starts measuring `stream`.
    pub fn new(stream: &MediaStream) -> Result<LevelMeter, JsValue> {
        let ctx = AudioContext::new()?;
        let source = ctx.create_media_stream_source(stream)?;
        let analyser = ctx.create_analyser()?;
        analyser.set_fft_size(1024);
        source.connect_with_audio_node(&analyser)?;
        let buffer = RefCell::new(vec![0.0; analyser.fft_size() as usize]);
        Ok(LevelMeter {
            ctx,
            analyser,
            buffer,
        })
    }

    /// The level now, 0–1 (a sine at full scale reads about 0.7).
    pub fn level(&self) -> f64 {
        let mut samples = self.buffer.borrow_mut();
        self.analyser.get_float_time_domain_data(&mut samples);
        if samples.is_empty() {
            return 0.0;
        }
        let energy: f32 = samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32;
        f64::from(energy.sqrt()).min(1.0)
    }
}

impl Drop for LevelMeter {
    fn drop(&mut self) {
        let _ = self.ctx.close();
    }
}

/// One microphone or speaker of `enumerateDevices`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// `deviceId` (`""` or `default` for the system default).
    pub id: String,
    /// The label (empty until the microphone permission is granted).
    pub label: String,
}

/// The microphones and speakers (`audioinput`, `audiooutput`).
pub async fn devices() -> (Vec<Device>, Vec<Device>) {
    let (mut mics, mut speakers) = (Vec::new(), Vec::new());
    let Some(md) = web_sys::window().and_then(|w| w.navigator().media_devices().ok()) else {
        return (mics, speakers);
    };
    let Ok(promise) = md.enumerate_devices() else {
        return (mics, speakers);
    };
    let Ok(list) = JsFuture::from(promise).await else {
        return (mics, speakers);
    };
    for d in Array::from(&list).iter() {
        let device = Device {
            id: field(&d, "deviceId").as_string().unwrap_or_default(),
            label: field(&d, "label").as_string().unwrap_or_default(),
        };
        match field(&d, "kind").as_string().as_deref() {
            Some("audioinput") => mics.push(device),
            Some("audiooutput") => speakers.push(device),
            _ => {}
        }
    }
    (mics, speakers)
}

/// Whether this browser can pick the speaker (`HTMLMediaElement.setSinkId`).
pub fn can_pick_speaker(audio: &HtmlAudioElement) -> bool {
    Reflect::has(audio, &"setSinkId".into()).unwrap_or(false)
}

/// Plays the remote audio on `device` (`setSinkId`; `""` = default).
pub fn set_speaker(audio: &HtmlAudioElement, device: &str) {
    let f = Reflect::get(audio, &"setSinkId".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    if let Some(f) = f {
        let _ = f.call1(audio, &JsValue::from_str(device));
    }
}
