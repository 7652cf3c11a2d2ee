use std::{cell::RefCell, rc::Rc, time::Duration};

use ccc_model::UserState;
use leptos::{prelude::*, reactive::effect::RenderEffect};
use send_wrapper::SendWrapper;
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use web_sys::{
    AudioContext, Document, Event, GainNode, HtmlElement, Notification, NotificationOptions,
    NotificationPermission, OscillatorNode, VisibilityState,
};

use crate::{
    hooks::use_event_listener,
    i18n::Lang,
    logic::call::other_party,
    logic::ringing::{
        blink_title, bursts, incoming_call, notification_body, Alerts, Ring, RingInput,
        RingOptions, BLINK_MS, TONE_HZ, TONE_LEVEL,
    },
    softphone_status::PhoneCall,
    state::Toolbar,
};

/// The ringing alerts' handle, provided as context by [`use_ringing`]: the
/// "Go online" button calls [`Ringer::prime`] on its click.
#[derive(Debug, Clone)]
pub struct Ringer {
    options: RingOptions,
    audio: SendWrapper<Rc<RefCell<Option<AudioContext>>>>,
}

impl Ringer {
    /// Call on a user gesture (the "Go online" click): asks for the
    /// notification permission while the browser has none decided, and
    /// creates and resumes the AudioContext, which browsers only let start
    /// on a gesture (it is suspended again until a call rings).
    pub fn prime(&self) {
        if self.options.notifications
            && notification_permission() == Some(NotificationPermission::Default)
        {
            let _ = Notification::request_permission();
        }
        if self.options.ring_tone {
            if let Some(ctx) = self.audio_context() {
                let _ = ctx.resume();
                let _ = ctx.suspend();
            }
        }
    }

    /// The AudioContext, created on first use.
    fn audio_context(&self) -> Option<AudioContext> {
        let mut audio = self.audio.borrow_mut();
        if audio.is_none() {
            *audio = AudioContext::new().ok();
        }
        audio.clone()
    }
}

/// `Notification.permission`, or `None` where the browser has no
/// `Notification` at all (reading it there would throw).
fn notification_permission() -> Option<NotificationPermission> {
    let window = web_sys::window()?;
    js_sys::Reflect::has(&window, &JsValue::from_str("Notification"))
        .ok()?
        .then(Notification::permission)
}

/// The page is visible and focused: the agent is looking at it.
fn is_attended(doc: &Document) -> bool {
    doc.visibility_state() == VisibilityState::Visible && doc.has_focus().unwrap_or(true)
}

/// Rings the agent while this tab is the leader and the agent is RINGING
/// with the page hidden or unfocused: a ring tone made with WebAudio, a
/// blinking document title and a desktop notification (each switched by
/// `options`; the rules are in [`crate::logic::ringing`]). Clicking the
/// notification focuses the tab and the Answer button inside `host`. All of
/// it stops when the state leaves RINGING, and on cleanup (the title is put
/// back, the AudioContext closed). Provides a [`Ringer`] as context.
///
/// ## Usage
///
/// ```no_run
/// # use ccc_toolbar::{hooks::use_ringing, logic::ringing::RingOptions, state::Toolbar};
/// # fn f(toolbar: Toolbar, host: web_sys::HtmlElement) {
/// use_ringing(toolbar, RingOptions::default(), host);
/// # }
/// ```
pub fn use_ringing(tb: Toolbar, options: RingOptions, host: HtmlElement) {
    let ringer = Ringer {
        options,
        audio: SendWrapper::new(Rc::default()),
    };
    provide_context(ringer.clone());
    let Some(window) = web_sys::window() else {
        return;
    };
    let Some(doc) = window.document() else {
        return;
    };
    let attended = RwSignal::new(is_attended(&doc));
    let d = doc.clone();
    let watch = move |_: Event| attended.set(is_attended(&d));
    use_event_listener(doc.as_ref(), "visibilitychange", watch.clone());
    use_event_listener(window.as_ref(), "focus", watch.clone());
    use_event_listener(window.as_ref(), "blur", watch);

    let audio = ringer.audio.clone();
    let state = Rc::new(RefCell::new((Ring::default(), Active::default())));
    let st = state.clone();
    let effect = RenderEffect::new(move |_| {
        // The ringing call: its job id ("" if CCC sent none) and caller.
        let mut call = tb.snapshot.with(|s| {
            let s = s.as_ref().filter(|s| s.agent.state == UserState::Ringing)?;
            let c = s.call.as_ref();
            Some((
                c.map(|c| c.job_id.clone()).unwrap_or_default(),
                c.and_then(other_party),
            ))
        });
        // With a softphone call, its INVITE rings (even before CCC says
        // RINGING) and the ring stops the moment the remote audio starts.
        let (phone_call, phone_rings) = tb.phone.with(|p| (p.call, p.rings()));
        if phone_call != PhoneCall::Idle {
            call = phone_rings.then(|| {
                let caller = call.and_then(|(_, c)| c);
                ("softphone".to_owned(), caller)
            });
        }
        let input = RingInput {
            ringing_job: call.as_ref().map(|(job, _)| job.as_str()),
            leader: tb.leader.get(),
            attended: attended.get(),
        };
        let mut st = st.borrow_mut();
        let (ring, active) = &mut *st;
        let alerts = ring.update(options, input);
        let lang = tb.lang.get_untracked();
        let text = incoming_call(call.as_ref().and_then(|(_, c)| c.as_deref()), lang);
        active.apply(alerts, &ringer, &doc, &host, &text, lang);
    });
    let held = SendWrapper::new((effect, state));
    on_cleanup(move || {
        let (effect, state) = held.take();
        drop(effect);
        *state.borrow_mut() = Default::default();
        if let Some(ctx) = audio.borrow_mut().take() {
            let _ = ctx.close();
        }
    });
}

/// The alerts running now; dropping one stops it.
#[derive(Default)]
struct Active {
    tone: Option<Tone>,
    blink: Option<Blink>,
    note: Option<Shown>,
}

impl Active {
    fn apply(
        &mut self,
        alerts: Alerts,
        ringer: &Ringer,
        doc: &Document,
        host: &HtmlElement,
        text: &str,
        lang: Lang,
    ) {
        if alerts.tone != self.tone.is_some() {
            self.tone = alerts
                .tone
                .then(|| Tone::start(ringer.audio_context()?).ok())
                .flatten();
        }
        if alerts.blink != self.blink.is_some() {
            self.blink = alerts
                .blink
                .then(|| Blink::start(doc.clone(), text.to_owned()))
                .flatten();
        }
        if alerts.notify != self.note.is_some() {
            self.note = alerts
                .notify
                .then(|| Shown::open(text, lang, host))
                .flatten();
        }
    }
}

/// Seconds of the fade in and out of each burst (no clicks).
const RAMP: f64 = 0.02;

/// The ring tone: two oscillators into one gain whose schedule is the
/// cadence (all on the audio clock: no JS timer, no throttling in
/// background tabs).
struct Tone {
    ctx: AudioContext,
    gain: GainNode,
    oscillators: Vec<OscillatorNode>,
}

impl Tone {
    fn start(ctx: AudioContext) -> Result<Tone, JsValue> {
        let _ = ctx.resume();
        let gain = ctx.create_gain()?;
        let level = gain.gain();
        level.set_value(0.0);
        gain.connect_with_audio_node(&ctx.destination())?;
        for (on, off) in bursts(ctx.current_time() + RAMP) {
            level.set_value_at_time(0.0, on)?;
            level.linear_ramp_to_value_at_time(TONE_LEVEL, on + RAMP)?;
            level.set_value_at_time(TONE_LEVEL, off - RAMP)?;
            level.linear_ramp_to_value_at_time(0.0, off)?;
        }
        let mut tone = Tone {
            ctx,
            gain,
            oscillators: Vec::new(),
        };
        for hz in TONE_HZ {
            let osc = tone.ctx.create_oscillator()?;
            osc.frequency().set_value(hz);
            osc.connect_with_audio_node(&tone.gain)?;
            osc.start()?;
            tone.oscillators.push(osc);
        }
        Ok(tone)
    }
}

impl Drop for Tone {
    fn drop(&mut self) {
        for osc in &self.oscillators {
            let _ = osc.stop();
            let _ = osc.disconnect();
        }
        let _ = self.gain.disconnect();
        let _ = self.ctx.suspend();
    }
}

/// The title blink: every second the call's text, then the page's own title.
/// A title the page sets meanwhile becomes the one restored.
struct Blink {
    doc: Document,
    titles: Rc<RefCell<Titles>>,
    handle: IntervalHandle,
}

struct Titles {
    original: String,
    shown: String,
    phase: bool,
}

impl Blink {
    fn start(doc: Document, call: String) -> Option<Blink> {
        let original = doc.title();
        let shown = blink_title(&original, &call, true);
        doc.set_title(&shown);
        let titles = Rc::new(RefCell::new(Titles {
            original,
            shown,
            phase: true,
        }));
        let (d, t) = (doc.clone(), titles.clone());
        let tick = move || {
            let mut t = t.borrow_mut();
            let now = d.title();
            if now != t.shown {
                t.original = now;
            }
            t.phase = !t.phase;
            t.shown = blink_title(&t.original, &call, t.phase);
            d.set_title(&t.shown);
        };
        let handle = set_interval_with_handle(tick, Duration::from_millis(BLINK_MS)).ok()?;
        Some(Blink {
            doc,
            titles,
            handle,
        })
    }
}

impl Drop for Blink {
    fn drop(&mut self) {
        self.handle.clear();
        let t = self.titles.borrow();
        if self.doc.title() == t.shown {
            self.doc.set_title(&t.original);
        }
    }
}

/// An open desktop notification; closed when dropped.
struct Shown {
    note: Notification,
    _on_click: Closure<dyn FnMut()>,
}

impl Shown {
    /// Opens it if the browser has notifications and the agent allowed them.
    fn open(title: &str, lang: Lang, host: &HtmlElement) -> Option<Shown> {
        if notification_permission()? != NotificationPermission::Granted {
            return None;
        }
        let opts = NotificationOptions::new();
        opts.set_body(notification_body(lang));
        opts.set_lang(lang.tag());
        opts.set_tag("ccc-ringing");
        opts.set_require_interaction(true);
        let note = Notification::new_with_options(title, &opts).ok()?;
        let (n, host) = (note.clone(), host.clone());
        let on_click = Closure::<dyn FnMut()>::new(move || {
            if let Some(w) = web_sys::window() {
                let _ = w.focus();
            }
            if let Some(answer) = host
                .query_selector("[data-testid=\"answer\"]")
                .ok()
                .flatten()
                .and_then(|e| e.dyn_into::<HtmlElement>().ok())
            {
                let _ = answer.focus();
            }
            n.close();
        });
        note.set_onclick(Some(on_click.as_ref().unchecked_ref()));
        Some(Shown {
            note,
            _on_click: on_click,
        })
    }
}

impl Drop for Shown {
    fn drop(&mut self) {
        self.note.set_onclick(None);
        self.note.close();
    }
}
