//! One leader per browser: of all the tabs of one browser profile showing a
//! toolbar for the same proxy (base path), exactly one long-polls (and
//! rings); the others follow it over a `BroadcastChannel`.
//!
//! - Election: the Web Locks API. The leader holds the lock
//!   `ccc-toolbar <base path>`; every follower queues for it, so closing or
//!   reloading the leader hands over at once. A page that is frozen keeps
//!   its locks, so the leader gives the lock up on `pagehide` and `freeze`,
//!   and a follower that hears nothing from the leader for
//!   [`SILENCE_MS`] asks (`hello`), then takes the lock with `steal: true`
//!   after [`ANSWER_MS`] more; the deposed leader (its lock request fails)
//!   becomes a follower.
//! - Without Web Locks (an insecure context, an old browser): the same
//!   messages elect by heartbeat, and two leaders that hear each other keep
//!   the one with the smaller id. Without `BroadcastChannel` every tab leads,
//!   as a page alone does.
//! - Messages ([`TabMessage`], encoded and decoded by derive: plain objects,
//!   `t` = type, `from` = the sender's random id): leader → `state` (every
//!   change, and the answer to `hello`; its `state` is [`crate::sync::Shared`]) and `beat`
//!   (each [`BEAT_MS`] without another message); follower → `hello` (on
//!   start and when the leader is silent) and `resync` (the follower's
//!   resync, done by the leader).

use std::{
    cell::{Cell, RefCell},
    rc::Rc,
};

use leptos::{prelude::*, task::spawn_local};
use send_wrapper::SendWrapper;
use serde::{Deserialize, Serialize};
use wasm_bindgen::{prelude::*, JsCast};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, BroadcastChannel, EventTarget, MessageEvent};

use crate::{
    browser::{field, js_object, now_ms, random},
    hooks::{use_event_listener, use_interval_fn},
    state::Toolbar,
    sync::{self, Shared},
};

/// The leader says it is alive at least this often (ms).
pub const BEAT_MS: f64 = 1_000.0;
/// A follower that heard nothing from the leader for this long asks it (ms).
pub const SILENCE_MS: f64 = 1_500.0;
/// ... and takes over when the question stays unanswered this long (ms).
pub const ANSWER_MS: f64 = 700.0;
/// How often the heartbeat and the watchdog run (ms).
const TICK_MS: u64 = 500;

#[wasm_bindgen]
extern "C" {
    /// `navigator.locks` (web-sys has it only with `web_sys_unstable_apis`).
    type LockManager;

    #[wasm_bindgen(method)]
    fn request(
        this: &LockManager,
        name: &str,
        options: &JsValue,
        callback: &JsValue,
    ) -> js_sys::Promise;
}

/// What a [`TabMessage`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TabMessageKind {
    /// A follower asks the leader for its state.
    Hello,
    /// The leader is alive.
    Beat,
    /// A follower asks the leader to resync.
    Resync,
    /// What the leader shows (in [`TabMessage::state`]).
    State,
}

/// A message between the tabs: `{t: "hello" | "beat" | "resync", from}` or
/// `{t: "state", from, state: {snap, session, ...}}`. The snapshot and the
/// session are decoded straight from the message, by the same decoders as
/// the proxy's answers (a flattened or internally tagged enum would buffer
/// them and add a second decoder of each: +28 KB gzip of wasm, measured).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TabMessage {
    /// What it says.
    pub t: TabMessageKind,
    /// The sender's random id.
    pub from: f64,
    /// `state`: what the leader shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<Box<Shared>>,
}

/// How a lock is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ask {
    /// Now or never (the start: lead at once when alone).
    IfAvailable,
    /// In the queue behind the leader (a follower).
    Queue,
    /// From a silent leader.
    Steal,
}

/// How this tab may lead.
enum Election {
    /// Web Locks: the lock manager.
    Locks(LockManager),
    /// Heartbeats only.
    Heartbeat,
}

struct Tabs {
    tb: Toolbar,
    id: f64,
    name: String,
    channel: BroadcastChannel,
    election: Election,
    /// Resolves the promise that keeps the held lock.
    release: RefCell<Option<js_sys::Function>>,
    /// Cancels the queued lock request.
    queued: RefCell<Option<AbortController>>,
    /// Local time of the last message from a leader.
    heard: Cell<f64>,
    /// Local time of our `hello` while unanswered.
    asked: Cell<Option<f64>>,
    /// Local time of our last message as the leader.
    said: Cell<f64>,
    /// False once unmounted, or while the page is hidden in the bfcache or frozen.
    active: Cell<bool>,
}

impl Tabs {
    fn post(&self, t: TabMessageKind, state: Option<Shared>) {
        let message = TabMessage {
            t,
            from: self.id,
            state: state.map(Box::new),
        };
        if let Ok(m) = serde_wasm_bindgen::to_value(&message) {
            let _ = self.channel.post_message(&m);
        }
        if self.tb.leader.get_untracked() {
            self.said.set(now_ms());
        }
    }

    fn post_state(&self) {
        self.post(TabMessageKind::State, Some(sync::share(self.tb)));
    }

    fn set_leader(&self, leader: bool) {
        if self.tb.leader.try_get_untracked() != Some(leader) {
            self.tb.leader.try_set(leader);
        }
    }

    fn follow(&self) {
        self.set_leader(false);
        self.heard.set(now_ms());
        self.asked.set(Some(now_ms()));
        self.post(TabMessageKind::Hello, None);
    }

    /// Asks for the lock.
    fn request(self: &Rc<Self>, how: Ask) {
        let Election::Locks(locks) = &self.election else {
            return;
        };
        // A steal (no signal allowed with it) or a new queued request
        // replaces the queued one.
        if how != Ask::IfAvailable {
            if let Some(old) = self.queued.replace(None) {
                old.abort();
            }
        }
        let options = match how {
            Ask::IfAvailable => js_object(&[("ifAvailable", JsValue::TRUE)]),
            Ask::Steal => js_object(&[("steal", JsValue::TRUE)]),
            Ask::Queue => {
                let abort = AbortController::new().ok();
                let signal = abort
                    .as_ref()
                    .map_or(JsValue::UNDEFINED, |a| a.signal().into());
                self.queued.replace(abort);
                js_object(&[("signal", signal)])
            }
        };
        let held = Rc::new(Cell::new(false));
        let (this, h) = (self.clone(), held.clone());
        let granted = Closure::once_into_js(move |lock: JsValue| -> js_sys::Promise {
            if lock.is_null() {
                // ifAvailable: another tab leads; queue behind it.
                if this.active.get() {
                    this.follow();
                    this.request(Ask::Queue);
                }
                return js_sys::Promise::resolve(&JsValue::UNDEFINED);
            }
            if !this.active.get() {
                return js_sys::Promise::resolve(&JsValue::UNDEFINED);
            }
            h.set(true);
            let mut keep = |resolve: js_sys::Function, _: js_sys::Function| {
                if let Some(old) = this.release.replace(Some(resolve)) {
                    let _ = old.call0(&JsValue::NULL);
                }
            };
            let promise = js_sys::Promise::new(&mut keep);
            if how == Ask::Queue {
                this.queued.replace(None);
            }
            this.set_leader(true);
            promise
        });
        let done = locks.request(&self.name, &options, &granted);
        let this = self.clone();
        spawn_local(async move {
            // Rejected when aborted (by us), or when another tab stole the
            // lock while we held it: then we are a follower again.
            if JsFuture::from(done).await.is_err() && held.get() && this.active.get() {
                this.release.replace(None);
                this.follow();
                this.request(Ask::Queue);
            }
        });
    }

    /// Gives the lock up and stops queueing (pagehide, freeze, unmount).
    fn resign(&self) {
        self.active.set(false);
        if let Some(resolve) = self.release.replace(None) {
            let _ = resolve.call0(&JsValue::NULL);
        }
        if let Some(abort) = self.queued.replace(None) {
            abort.abort();
        }
        self.set_leader(false);
    }

    /// Starts (or restarts) the election.
    fn elect(self: &Rc<Self>) {
        self.active.set(true);
        match self.election {
            Election::Locks(_) => self.request(Ask::IfAvailable),
            // Lead unless a leader answers within ANSWER_MS.
            Election::Heartbeat => self.follow(),
        }
    }

    /// Takes over from a silent leader.
    fn take_over(self: &Rc<Self>) {
        match self.election {
            Election::Locks(_) => self.request(Ask::Steal),
            Election::Heartbeat => self.set_leader(true),
        }
    }

    /// Every [`TICK_MS`]: the leader's heartbeat, the follower's watchdog.
    fn tick(self: &Rc<Self>) {
        if !self.active.get() {
            return;
        }
        let now = now_ms();
        if self.tb.leader.get_untracked() {
            if now - self.said.get() >= BEAT_MS - TICK_MS as f64 / 2.0 {
                self.post(TabMessageKind::Beat, None);
            }
            return;
        }
        match self.asked.get() {
            Some(at) if now - at >= ANSWER_MS => {
                self.asked.set(None);
                self.take_over();
            }
            None if now - self.heard.get() >= SILENCE_MS => {
                self.asked.set(Some(now));
                self.post(TabMessageKind::Hello, None);
            }
            _ => {}
        }
    }

    fn on_message(self: &Rc<Self>, msg: JsValue) {
        if !self.active.get() {
            return;
        }
        // Anything that is not one of ours is ignored.
        let Ok(msg) = serde_wasm_bindgen::from_value::<TabMessage>(msg) else {
            return;
        };
        let leader = self.tb.leader.get_untracked();
        match msg.t {
            TabMessageKind::Hello if leader => self.post_state(),
            TabMessageKind::Resync if leader => self.tb.resync(),
            TabMessageKind::State | TabMessageKind::Beat => {
                if leader {
                    // Two heartbeat leaders: the smaller id stays.
                    if matches!(self.election, Election::Heartbeat) && msg.from < self.id {
                        self.follow();
                    }
                    return;
                }
                self.heard.set(now_ms());
                self.asked.set(None);
                if let Some(shared) = msg.state {
                    sync::receive(self.tb, *shared);
                }
            }
            _ => {}
        }
    }
}

/// The version of [`TabMessage`]: tabs of builds that speak different
/// versions (during a deploy) are in different channels and elect a leader
/// each, rather than misreading each other.
pub const TAB_PROTOCOL: u32 = 2;

/// The lock and channel name of the toolbars talking to the proxy at `base_path`.
pub fn channel_name(base_path: &str) -> String {
    format!(
        "ccc-toolbar/{TAB_PROTOCOL} {}",
        base_path.trim_end_matches('/')
    )
}

/// Elects this tab leader or follower among the tabs of this browser that
/// show a toolbar for `base_path`, and keeps [`Toolbar::leader`] up to date
/// while the current owner lives. The leader shares what it shows; a
/// follower shows what the leader shares. Returns a function that asks the
/// leader to resync (for a follower's resync).
///
/// ## Usage
///
/// ```no_run
/// # use ccc_toolbar::{hooks::use_leader, state::Toolbar};
/// # fn f(toolbar: Toolbar) {
/// let ask_leader_to_resync = use_leader(toolbar, "");
/// # }
/// ```
pub fn use_leader(tb: Toolbar, base_path: &str) -> Rc<dyn Fn()> {
    let name = channel_name(base_path);
    let Ok(channel) = BroadcastChannel::new(&name) else {
        // No BroadcastChannel: every tab leads, as a page alone does.
        tb.leader.set(true);
        return Rc::new(|| {});
    };
    let locks = web_sys::window()
        .map(|w| js_sys::Reflect::get(&w.navigator(), &"locks".into()).unwrap_or_default())
        .filter(|l| l.is_object());
    let tabs = Rc::new(Tabs {
        tb,
        id: random(),
        name,
        channel,
        election: match locks {
            Some(l) => Election::Locks(l.unchecked_into()),
            None => Election::Heartbeat,
        },
        release: RefCell::new(None),
        queued: RefCell::new(None),
        heard: Cell::new(0.0),
        asked: Cell::new(None),
        said: Cell::new(0.0),
        active: Cell::new(false),
    });
    tb.leader.set(false);

    let t = tabs.clone();
    let target: &EventTarget = tabs.channel.as_ref();
    use_event_listener(target, "message", move |e| {
        if let Some(e) = e.dyn_ref::<MessageEvent>() {
            t.on_message(e.data());
        }
    });
    let t = tabs.clone();
    use_interval_fn(move || t.tick(), TICK_MS);
    // The leader shares every change of what it shows.
    let t = SendWrapper::new(tabs.clone());
    Effect::new(move |_| {
        tb.snapshot.track();
        tb.session.track();
        tb.health.track();
        tb.error.track();
        tb.phone.track();
        if tb.leader.get() && t.active.get() {
            t.post_state();
        }
    });
    // A page going into the bfcache or frozen keeps its locks: give the lock
    // up so that another tab leads; stand again on return.
    if let Some(w) = web_sys::window() {
        let w: &EventTarget = w.as_ref();
        for (event, back) in [("pagehide", false), ("pageshow", true)] {
            let t = tabs.clone();
            use_event_listener(w, event, move |e| {
                let persisted = field(e.as_ref(), "persisted").as_bool();
                if !back {
                    t.resign();
                } else if persisted == Some(true) && !t.active.get() {
                    t.elect();
                }
            });
        }
        if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
            let d: &EventTarget = doc.as_ref();
            for (event, back) in [("freeze", false), ("resume", true)] {
                let t = tabs.clone();
                use_event_listener(d, event, move |_| {
                    if back {
                        t.elect();
                    } else {
                        t.resign();
                    }
                });
            }
        }
    }
    let t = SendWrapper::new(tabs.clone());
    on_cleanup(move || {
        t.resign();
        t.channel.close();
    });
    tabs.elect();
    Rc::new(move || tabs.post(TabMessageKind::Resync, None))
}
