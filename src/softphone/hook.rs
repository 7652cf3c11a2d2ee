//! `use_softphone`: the SIP user agent ([`ccc_sip::UserAgent`]) on a
//! `WebSocket` to the proxy's relay, and WebRTC media, in the leader tab.

use std::{
    cell::{Cell, RefCell},
    rc::{Rc, Weak},
};

use ccc_model::api::SoftphoneSession;
use ccc_sip::{
    ua::{Output, UaEvent},
    UaConfig, UserAgent,
};
use leptos::{prelude::*, task::spawn_local};
use send_wrapper::SendWrapper;
use wasm_bindgen::{prelude::*, JsCast};
use web_sys::{HtmlAudioElement, MessageEvent, WebSocket};

use crate::{
    browser::{listen, load, now_ms, random, store, Listener},
    hooks::{use_event_listener, use_interval_fn},
    logic::{Backoff, Command},
    softphone::{
        media::{self, Device, LevelMeter, Media},
        relay_url, should_run, PhoneCall, PhoneStatus, Registration,
    },
    state::Toolbar,
};

/// localStorage keys of the picked devices (ids, not secrets).
const MIC_KEY: &str = "ccc-toolbar.microphone";
const SPEAKER_KEY: &str = "ccc-toolbar.speaker";
/// First reconnect delay (ms); doubles up to 30 s.
const RECONNECT_MS: f64 = 500.0;
/// How often the level meter is read while a call is up (ms).
const LEVEL_MS: u64 = 100;

/// What [`use_softphone`] gives the UI (also provided as context).
#[derive(Debug, Clone, Copy)]
pub struct UseSoftphoneReturn {
    /// The softphone's state (the leader's, in follower tabs too).
    pub status: Signal<PhoneStatus>,
    /// The microphone level, 0–1, while a call is up in this tab.
    pub level: Signal<f64>,
    /// Microphones (`enumerateDevices`).
    pub microphones: Signal<Vec<Device>>,
    /// Speakers; empty where the browser cannot pick one (`setSinkId`).
    pub speakers: Signal<Vec<Device>>,
    /// The picked microphone id (`""` = default).
    pub microphone: Signal<String>,
    /// The picked speaker id (`""` = default).
    pub speaker: Signal<String>,
    /// Picks the microphone for the next call.
    pub set_microphone: Callback<String>,
    /// Picks the speaker (at once, also during a call).
    pub set_speaker: Callback<String>,
    /// Lists the devices again (a picker opening, a device plugged in).
    pub refresh_devices: Callback<()>,
}

/// A pending `setTimeout`: its handle and callback.
type Timer = (i32, Closure<dyn FnMut()>);

/// One running softphone: a user agent, its socket, the call's media.
struct Phone {
    tb: Toolbar,
    url: String,
    ice: Vec<ccc_model::api::IceServer>,
    ua: RefCell<UserAgent>,
    ws: RefCell<Option<(WebSocket, Vec<Listener>)>>,
    timer: RefCell<Option<Timer>>,
    backoff: RefCell<Backoff>,
    offer: RefCell<Option<String>>,
    answering: Cell<bool>,
    media: RefCell<Option<Media>>,
    meter: RefCell<Option<LevelMeter>>,
    audio: HtmlAudioElement,
    mic: RwSignal<String>,
    stopped: Cell<bool>,
    /// A ticket is being fetched for the next socket.
    opening: Cell<bool>,
    key: (String, String),
}

fn seed() -> u64 {
    let mut bytes = [0u8; 8];
    let ok = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok());
    if ok {
        u64::from_le_bytes(bytes)
    } else {
        ((random() * 4_294_967_296.0) as u64) << 32 | (random() * 4_294_967_296.0) as u64
    }
}

fn now() -> u64 {
    now_ms() as u64
}

impl Phone {
    fn start(
        tb: Toolbar,
        phone: &SoftphoneSession,
        audio: HtmlAudioElement,
        mic: RwSignal<String>,
    ) -> Rc<Phone> {
        let location = web_sys::window().map(|w| w.location());
        let protocol = location
            .as_ref()
            .and_then(|l| l.protocol().ok())
            .unwrap_or_default();
        let host = location
            .as_ref()
            .and_then(|l| l.host().ok())
            .unwrap_or_default();
        let base = tb.api.with_value(|a| a.base_path());
        let config = UaConfig::new(
            &phone.aor,
            &phone.display_name,
            &phone.auth_username,
            &phone.auth_password,
        );
        let p = Rc::new(Phone {
            tb,
            // Browsers cannot put headers on a WebSocket: the relay takes
            // the device id (X-CCC-Device-Id elsewhere) from the query.
            url: [
                relay_url(&protocol, &host, &base, &phone.ws_path),
                "?device=".into(),
                String::from(js_sys::encode_uri_component(&tb.device_id())),
            ]
            .concat(),
            ice: phone.ice_servers.clone(),
            ua: RefCell::new(UserAgent::new(config, seed())),
            ws: RefCell::new(None),
            timer: RefCell::new(None),
            backoff: RefCell::new(Backoff::new(RECONNECT_MS, 30_000.0)),
            offer: RefCell::new(None),
            answering: Cell::new(false),
            media: RefCell::new(None),
            meter: RefCell::new(None),
            audio,
            mic,
            stopped: Cell::new(false),
            opening: Cell::new(false),
            key: (phone.ws_path.clone(), phone.aor.clone()),
        });
        p.set_status(|s| s.registration = Registration::Connecting);
        p.connect();
        p
    }

    fn set_status(&self, f: impl FnOnce(&mut PhoneStatus)) {
        let mut s = self.tb.phone.get_untracked();
        f(&mut s);
        if self.tb.phone.with_untracked(|old| *old != s) {
            self.tb.phone.set(s);
        }
    }

    /// Opens the relay socket with a fresh single-use ticket (`?ticket=`):
    /// the relay authenticates it by the ticket whatever the proxy's auth
    /// mode, since a browser cannot put a bearer token on a WebSocket.
    fn connect(self: &Rc<Self>) {
        if self.stopped.get() || self.opening.replace(true) {
            return;
        }
        let api = self.tb.api.try_get_value();
        let weak = Rc::downgrade(self);
        spawn_local(async move {
            let ticket = match api {
                Some(api) => api.sip_ticket().await.ok(),
                None => None,
            };
            let Some(p) = weak.upgrade() else {
                return;
            };
            p.opening.set(false);
            match ticket {
                Some(t) => p.open(&t.ticket),
                None => p.reconnect_later(),
            }
        });
    }

    fn open(self: &Rc<Self>, ticket: &str) {
        if self.stopped.get() {
            return;
        }
        let url = [
            self.url.as_str(),
            "&ticket=",
            &String::from(js_sys::encode_uri_component(ticket)),
        ]
        .concat();
        let Ok(ws) = WebSocket::new_with_str(&url, ccc_sip::h1::WS_SUBPROTOCOL) else {
            return self.reconnect_later();
        };
        let target: &web_sys::EventTarget = ws.as_ref();
        let weak = Rc::downgrade(self);
        let on = |f: fn(&Rc<Phone>, web_sys::Event)| {
            let weak: Weak<Phone> = weak.clone();
            move |e: web_sys::Event| {
                if let Some(p) = weak.upgrade() {
                    f(&p, e)
                }
            }
        };
        let listeners = vec![
            listen(
                target,
                "open",
                on(|p, _| {
                    p.ua.borrow_mut().connected(now());
                    p.pump();
                }),
            ),
            listen(
                target,
                "message",
                on(|p, e| {
                    let data = e
                        .dyn_ref::<MessageEvent>()
                        .and_then(|m| m.data().as_string());
                    if let Some(frame) = data {
                        p.ua.borrow_mut().receive(&frame, now());
                        p.pump();
                    }
                }),
            ),
            listen(
                target,
                "close",
                on(|p, _| {
                    p.ws.replace(None);
                    p.ua.borrow_mut().disconnected(now());
                    p.pump();
                    p.reconnect_later();
                }),
            ),
        ];
        self.ws.replace(Some((ws, listeners)));
    }

    fn reconnect_later(self: &Rc<Self>) {
        if self.stopped.get() {
            return;
        }
        let delay = self.backoff.borrow_mut().next_delay(random());
        let weak = Rc::downgrade(self);
        spawn_local(async move {
            crate::browser::sleep(delay).await;
            if let Some(p) = weak.upgrade() {
                if p.ws.borrow().is_none() {
                    p.connect();
                }
            }
        });
    }

    /// Sends what the user agent produced, acts on its events, re-arms its timer.
    fn pump(self: &Rc<Self>) {
        loop {
            let out = self.ua.borrow_mut().poll_output();
            match out {
                None => break,
                Some(Output::Send(frame)) => {
                    if let Some((ws, _)) = &*self.ws.borrow() {
                        let _ = ws.send_with_str(&frame);
                    }
                }
                Some(Output::Event(e)) => self.on_event(e),
            }
        }
        let (reg, phase, held) = {
            let ua = self.ua.borrow();
            (
                Registration::from(ua.registration()),
                ua.call_phase(),
                ua.held(),
            )
        };
        let mut call = PhoneCall::from(phase);
        if call == PhoneCall::Ringing && self.answering.get() {
            call = PhoneCall::Answering;
        }
        self.set_status(|s| {
            s.registration = reg;
            s.call = call;
            s.held = held;
        });
        self.arm_timer();
    }

    fn arm_timer(self: &Rc<Self>) {
        if let Some((handle, _)) = self.timer.take() {
            if let Some(w) = web_sys::window() {
                w.clear_timeout_with_handle(handle);
            }
        }
        let Some(deadline) = self.ua.borrow().next_deadline() else {
            return;
        };
        let weak = Rc::downgrade(self);
        let closure = Closure::<dyn FnMut()>::new(move || {
            if let Some(p) = weak.upgrade() {
                p.ua.borrow_mut().tick(now());
                p.pump();
            }
        });
        let delay = deadline.saturating_sub(now()).min(i32::MAX as u64) as i32;
        let handle = web_sys::window().and_then(|w| {
            w.set_timeout_with_callback_and_timeout_and_arguments_0(
                closure.as_ref().unchecked_ref(),
                delay,
            )
            .ok()
        });
        if let Some(handle) = handle {
            self.timer.replace(Some((handle, closure)));
        }
    }

    fn on_event(self: &Rc<Self>, e: UaEvent) {
        match e {
            UaEvent::Registration(state) => {
                if matches!(state, ccc_sip::ua::RegState::Registered { .. }) {
                    self.backoff.borrow_mut().reset();
                }
            }
            UaEvent::Incoming(call) => {
                self.offer.replace(Some(call.offer));
                self.set_status(|s| {
                    s.remote_audio = false;
                    s.mic = None;
                });
                if call.auto_answer {
                    self.answer();
                }
            }
            UaEvent::Confirmed => {}
            UaEvent::Reoffer { offer, .. } => self.reanswer(offer),
            UaEvent::Ended(_) => self.release(),
        }
    }

    /// Answers the ringing INVITE: microphone, peer connection, 200 OK.
    /// False when nothing rings here (the caller then uses the API).
    fn answer(self: &Rc<Self>) -> bool {
        if self.answering.get()
            || self.ua.borrow().call_phase() != Some(ccc_sip::ua::CallPhase::Ringing)
        {
            return false;
        }
        let Some(offer) = self.offer.borrow().clone() else {
            return false;
        };
        self.answering.set(true);
        self.set_status(|s| {
            s.call = PhoneCall::Answering;
            s.mic = None;
        });
        let p = self.clone();
        spawn_local(async move {
            let mic = p.mic.get_untracked();
            let local = media::open_mic(Some(&mic)).await;
            let result = match local {
                Err(problem) => Err(Some(problem)),
                Ok(local) => {
                    let tb = p.tb;
                    let on_audio = move || {
                        tb.phone.update(|s| s.remote_audio = true);
                    };
                    match Media::new(local, &p.ice, &p.audio, on_audio) {
                        Err(_) => Err(None),
                        Ok(m) => match m.answer(&offer).await {
                            Ok(sdp) => Ok((m, sdp)),
                            Err(_) => Err(None),
                        },
                    }
                }
            };
            p.answering.set(false);
            match result {
                Ok((m, sdp)) => {
                    if p.ua.borrow_mut().answer(&sdp, now()) {
                        m.set_muted(
                            p.tb.snapshot
                                .with_untracked(|s| s.as_ref().is_some_and(|s| s.muted)),
                        );
                        p.meter.replace(LevelMeter::new(m.local()).ok());
                        p.media.replace(Some(m));
                    }
                    // Else the call went (cancelled) meanwhile: `m` drops, the
                    // microphone is released.
                }
                Err(problem) => {
                    // The agent state never changes because of this: the
                    // INVITE keeps ringing and the agent can fix it and retry.
                    p.set_status(|s| {
                        s.mic = Some(problem.unwrap_or(crate::softphone::MicProblem::Other))
                    });
                }
            }
            p.pump();
        });
        true
    }

    fn reanswer(self: &Rc<Self>, offer: String) {
        let p = self.clone();
        spawn_local(async move {
            // The media stays in place; only its connection answers.
            let pc = p.media.borrow().as_ref().map(Media::connection);
            let sdp = match pc {
                Some(pc) => media::answer_offer(pc, &offer).await.ok(),
                None => None,
            };
            match sdp {
                Some(sdp) => {
                    p.ua.borrow_mut().accept_reoffer(&sdp, now());
                }
                None => p.ua.borrow_mut().reject_reoffer(),
            }
            p.pump();
        });
    }

    /// The call is over: the microphone is released, the audio stops.
    fn release(&self) {
        self.offer.replace(None);
        self.answering.set(false);
        self.meter.replace(None);
        self.media.replace(None);
        self.audio.set_src_object(None);
        self.set_status(|s| {
            s.remote_audio = false;
            s.held = false;
        });
    }

    /// Keypad keys in-band on this device's call; `false` when there is
    /// no call media or telephone-event was not negotiated.
    fn send_dtmf(&self, digits: &str) -> bool {
        self.media
            .borrow()
            .as_ref()
            .is_some_and(|m| m.send_dtmf(digits))
    }

    fn set_muted(&self, muted: bool) {
        if let Some(m) = &*self.media.borrow() {
            m.set_muted(muted);
        }
    }

    /// Unregisters and closes (work mode changed, session gone, not leader).
    fn stop(self: &Rc<Self>) {
        self.stopped.set(true);
        self.ua.borrow_mut().unregister(now());
        self.pump();
        if let Some((handle, _)) = self.timer.take() {
            if let Some(w) = web_sys::window() {
                w.clear_timeout_with_handle(handle);
            }
        }
        if let Some((ws, listeners)) = self.ws.take() {
            drop(listeners);
            let _ = ws.close();
        }
        self.release();
        self.tb.phone.set(PhoneStatus::default());
    }
}

/// Runs the softphone while this tab is the leader, the agent works
/// `ON_SITE` and the session has a softphone block: registers through the
/// relay (reconnecting with backoff), rings on INVITE, answers with WebRTC
/// when the agent presses Answer (or at once for the `MakeCall` leg), and
/// releases the microphone when the call ends. Mute also disables the
/// microphone track; closing the tab during a call asks first. Follower tabs
/// show the leader's [`PhoneStatus`] (shared by [`crate::sync::share`]).
/// Provides the [`UseSoftphoneReturn`] as context.
///
/// ## Usage
///
/// ```no_run
/// # use ccc_toolbar::{softphone::use_softphone, state::Toolbar};
/// # fn f(toolbar: Toolbar) {
/// let phone = use_softphone(toolbar);
/// # }
/// ```
pub fn use_softphone(tb: Toolbar) -> UseSoftphoneReturn {
    let microphone = RwSignal::new(load(MIC_KEY).unwrap_or_default());
    let speaker = RwSignal::new(load(SPEAKER_KEY).unwrap_or_default());
    let microphones = RwSignal::new(Vec::new());
    let speakers = RwSignal::new(Vec::new());
    let level = RwSignal::new(0.0);
    let audio = HtmlAudioElement::new().ok();
    if let Some(a) = &audio {
        a.set_autoplay(true);
        if !speaker.get_untracked().is_empty() {
            media::set_speaker(a, &speaker.get_untracked());
        }
    }
    let can_pick_speaker = audio.as_ref().is_some_and(media::can_pick_speaker);
    let current: Rc<RefCell<Option<Rc<Phone>>>> = Rc::default();

    // Start, restart or stop as the session, work mode and leadership change.
    let want = Memo::new(move |_| {
        let leader = tb.leader.get();
        tb.session.with(|s| {
            tb.snapshot
                .with(|snap| should_run(leader, s.as_ref(), snap.as_ref()).cloned())
        })
    });
    let cur = SendWrapper::new(current.clone());
    let audio_el = SendWrapper::new(audio.clone());
    Effect::new(move |_| {
        let want = want.get();
        let mut cur = cur.borrow_mut();
        match (want, cur.as_ref()) {
            (Some(w), Some(p)) if p.key == (w.ws_path.clone(), w.aor.clone()) => {
                // Same softphone, maybe refreshed credentials.
                p.ua.borrow_mut()
                    .set_credentials(&w.auth_username, &w.auth_password);
            }
            (want, _) => {
                if let Some(old) = cur.take() {
                    old.stop();
                }
                if let (Some(w), Some(a)) = (want, audio_el.as_ref()) {
                    *cur = Some(Phone::start(tb, &w, a.clone(), microphone));
                }
            }
        }
    });

    // Answer goes to the ringing INVITE; Mute also mutes the track at once.
    let cur = current.clone();
    let intercept: Rc<dyn Fn(&Command) -> bool> = Rc::new(move |cmd| {
        let Some(p) = cur.borrow().clone() else {
            return false;
        };
        match cmd {
            Command::Answer => p.answer(),
            Command::Mute => {
                p.set_muted(true);
                false
            }
            Command::Unmute => {
                p.set_muted(false);
                false
            }
            // In-band (RFC 4733) when negotiated; otherwise the API path.
            Command::Dtmf(d) => p.send_dtmf(&d.digits),
            _ => false,
        }
    });
    tb.softphone.set_value(Some(intercept));
    // The server's MUTED truth wins.
    let cur = SendWrapper::new(current.clone());
    Effect::new(move |_| {
        let muted = tb.snapshot.with(|s| s.as_ref().is_some_and(|s| s.muted));
        if let Some(p) = cur.borrow().as_ref() {
            p.set_muted(muted);
        }
    });

    // The level meter, while a call is up here.
    let cur = current.clone();
    use_interval_fn(
        move || {
            let v = cur
                .borrow()
                .as_ref()
                .and_then(|p| p.meter.borrow().as_ref().map(LevelMeter::level))
                .unwrap_or(0.0);
            if level.get_untracked() != v {
                level.set(v);
            }
        },
        LEVEL_MS,
    );

    // Closing or reloading the leader tab during a call drops it: ask first.
    if let Some(w) = web_sys::window() {
        use_event_listener(w.as_ref(), "beforeunload", move |e| {
            if tb.leader.get_untracked() && tb.phone.with_untracked(PhoneStatus::in_call) {
                e.prevent_default();
                let _ = js_sys::Reflect::set(e.as_ref(), &"returnValue".into(), &"".into());
            }
        });
    }

    let refresh_devices = Callback::new(move |_: ()| {
        spawn_local(async move {
            let (mics, outs) = media::devices().await;
            microphones.set(mics);
            speakers.set(if can_pick_speaker { outs } else { Vec::new() });
        });
    });
    refresh_devices.run(());
    if let Some(md) = web_sys::window().and_then(|w| w.navigator().media_devices().ok()) {
        use_event_listener(md.as_ref(), "devicechange", move |_| {
            refresh_devices.run(())
        });
    }
    // Labels appear once the microphone was allowed: list again after a call starts.
    Effect::new(move |_| {
        if tb.phone.with(|s| s.call == PhoneCall::Talking) {
            refresh_devices.run(());
        }
    });

    let cur = SendWrapper::new(current);
    on_cleanup(move || {
        tb.softphone.set_value(None);
        if let Some(p) = cur.borrow_mut().take() {
            p.stop();
        }
    });

    let audio = SendWrapper::new(audio);
    let ret = UseSoftphoneReturn {
        status: tb.phone.into(),
        level: level.into(),
        microphones: microphones.into(),
        speakers: speakers.into(),
        microphone: microphone.into(),
        speaker: speaker.into(),
        set_microphone: Callback::new(move |id: String| {
            store(MIC_KEY, &id);
            microphone.set(id);
        }),
        set_speaker: Callback::new(move |id: String| {
            store(SPEAKER_KEY, &id);
            if let Some(a) = audio.as_ref() {
                media::set_speaker(a, &id);
            }
            speaker.set(id);
        }),
        refresh_devices,
    };
    provide_context(ret);
    ret
}
