//! A ringing call in a background tab, in a real browser against the fake
//! API: notification, ring tone and blinking title start, say who calls, and
//! stop on answer, on coming back (title and notification), on unmount; the
//! host gets one `ccc:ringing` per call; each alert can be switched off.
//! `tests/ring_spy.js` stands in for `Notification`, page visibility and
//! focus, and counts oscillators (its own page: no other test sees it).
#![cfg(target_arch = "wasm32")]

use ccc_model::{
    api::{AgentSnapshot, Call, Channel},
    break_codes, CallType, ChannelState, UserState,
};
use ccc_toolbar::{
    browser::{now_ms, sleep},
    embed::MountOptions,
    testing::FakeApi,
};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

mod common;

use common::Fixture;

const PAGE_TITLE: &str = "Ring test page";
const CALLER: &str = "13800138000";

fn js(body: &str) -> JsValue {
    js_sys::Function::new_no_args(body)
        .call0(&JsValue::NULL)
        .unwrap_or_else(|e| panic!("{body}: {e:?}"))
}

/// `__ring.summary()` as JSON text, and one field of it.
fn summary() -> String {
    js("return JSON.stringify(__ring.summary())")
        .as_string()
        .unwrap()
}

fn field(path: &str) -> JsValue {
    js(&["return __ring.summary().", path].concat())
}

fn title() -> String {
    web_sys::window().unwrap().document().unwrap().title()
}

/// Waits (polling every 10 ms, up to 3 s) until `cond` holds.
async fn until(what: &str, cond: impl Fn() -> bool) {
    let deadline = now_ms() + 3_000.0;
    while !cond() {
        assert!(
            now_ms() < deadline,
            "timed out waiting for {what}: {}",
            summary()
        );
        sleep(10.0).await;
    }
}

impl Fixture {
    /// A toolbar on the fake API in a fresh element, signed in, with the
    /// spy reset, the page "away" and the page title set.
    async fn ringing(options: MountOptions) -> Self {
        js(include_str!("ring_spy.js"));
        web_sys::window()
            .unwrap()
            .document()
            .unwrap()
            .set_title(PAGE_TITLE);
        let r = Fixture::with(FakeApi::new(), options);
        r.until_state("OFFLINE").await;
        r.click("sign-in");
        r.until_state("BREAK").await;
        r
    }

    async fn until_state(&self, state: &str) {
        let root = |name: &str| self.attr("ccc-toolbar", name);
        until(&["state ", state].concat(), || {
            root("data-state").as_deref() == Some(state)
                && root("data-connection").as_deref() == Some("connected")
        })
        .await;
    }

    /// A customer calls.
    async fn ring(&self, job: &str) {
        self.api.update(|s| ringing(s, job));
        self.until_state("RINGING").await;
    }
}

fn ringing(s: &mut AgentSnapshot, job: &str) {
    s.agent.state = UserState::Ringing;
    s.call = Some(Call {
        job_id: job.into(),
        call_type: Some(CallType::Inbound),
        channels: vec![Channel {
            channel_id: "ch-c".into(),
            state: ChannelState::Ringing,
            originator: Some(CALLER.into()),
            destination: Some("80010001".into()),
            timestamp: Some(now_ms() as i64),
            ..Default::default()
        }],
    });
}

fn num(v: JsValue) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

#[wasm_bindgen_test]
async fn a_call_in_a_background_tab_rings_until_answered() {
    let r = Fixture::ringing(MountOptions::default()).await;
    r.ring("job-1").await;

    let ringing_title = ["☎ Incoming call from ", CALLER].concat();
    until("the title to show the call", || title() == ringing_title).await;
    assert_eq!(num(field("notes.length")), 1.0, "{}", summary());
    assert_eq!(
        field("notes[0].title"),
        ["Incoming call from ", CALLER].concat()
    );
    assert_eq!(field("notes[0].tag"), "ccc-ringing");
    assert_eq!(field("notes[0].requireInteraction"), true);
    assert_eq!(num(field("started")), 2.0, "two oscillators ring");
    assert_eq!(num(field("events.length")), 1.0);
    assert_eq!(field("events[0].type"), "ringing");
    assert_eq!(field("events[0].version"), 1);
    assert_eq!(field("events[0].call.jobId"), "job-1");
    assert_eq!(field("events[0].call.otherParty"), CALLER);
    assert_eq!(field("events[0].leader"), true);
    // It blinks: back to the page's own title, then the call again.
    until("the page title between blinks", || title() == PAGE_TITLE).await;
    until("the call in the title again", || title() == ringing_title).await;

    // Clicking the notification brings the agent to the Answer button.
    js("__ring.notes[0].onclick()");
    assert_eq!(field("focused"), "answer");
    assert_eq!(field("notes[0].closed"), true);

    r.click("answer");
    r.until_state("TALKING").await;
    until("the page title back", || title() == PAGE_TITLE).await;
    until("the tone to stop", || num(field("stopped")) == 2.0).await;
    assert_eq!(num(field("events.length")), 1.0, "one ccc:ringing per call");
    // Stays stopped.
    sleep(1_100.0).await;
    assert_eq!(title(), PAGE_TITLE);
}

#[wasm_bindgen_test]
async fn nothing_rings_while_the_agent_looks_and_coming_back_keeps_only_the_tone() {
    let r = Fixture::ringing(MountOptions::default()).await;
    js("__ring.setAway(false)");
    r.ring("job-2").await;
    // The host hears of the call; the agent, looking at the toolbar, gets
    // no extra alert.
    until("ccc:ringing", || num(field("events.length")) == 1.0).await;
    sleep(50.0).await;
    assert_eq!(title(), PAGE_TITLE);
    assert_eq!(num(field("notes.length")), 0.0);
    assert_eq!(num(field("started")), 0.0);

    // The agent leaves the tab while it rings: all three start.
    js("__ring.setAway(true)");
    until("the notification", || num(field("notes.length")) == 1.0).await;
    assert!(title().starts_with('☎'));
    assert_eq!(num(field("started")), 2.0);

    // Back on the tab: title and notification stop, the phone still rings.
    js("__ring.setAway(false)");
    until("the title back", || title() == PAGE_TITLE).await;
    assert_eq!(field("notes[0].closed"), true);
    assert_eq!(num(field("stopped")), 0.0);

    // The call times out: the tone stops too.
    r.api.update(|s| {
        s.call = None;
        s.agent.state = UserState::Break;
        s.agent.break_code = Some(break_codes::RINGING_TIMEOUT.into());
    });
    r.until_state("BREAK").await;
    until("the tone to stop", || num(field("stopped")) == 2.0).await;
}

#[wasm_bindgen_test]
async fn unmounting_while_ringing_stops_everything() {
    let mut r = Fixture::ringing(MountOptions::default()).await;
    r.ring("job-3").await;
    until("the notification", || num(field("notes.length")) == 1.0).await;
    r.handle.take().unwrap().unmount();
    assert_eq!(title(), PAGE_TITLE);
    assert_eq!(field("notes[0].closed"), true);
    assert_eq!(num(field("stopped")), 2.0);
}

#[wasm_bindgen_test]
async fn each_alert_can_be_switched_off_in_mount_options() {
    let opts = |json: &str| MountOptions::from_js(&js_sys::JSON::parse(json).unwrap());
    let o = opts(r#"{"ringTone":false,"titleBlink":false}"#).unwrap();
    assert!(o.ring.notifications && !o.ring.ring_tone && !o.ring.title_blink);
    assert!(opts("{}").unwrap().ring.title_blink);
    let err = opts(r#"{"notifications":"no"}"#).unwrap_err();
    assert_eq!(
        err.as_string().unwrap(),
        "ccc-toolbar: notifications must be true or false (default true)"
    );
    assert!(opts(r#"{"titleBlink":null}"#).is_err());

    let r = Fixture::ringing(o).await;
    r.ring("job-4").await;
    until("the notification", || num(field("notes.length")) == 1.0).await;
    sleep(1_100.0).await;
    assert_eq!(title(), PAGE_TITLE, "no blink");
    assert_eq!(num(field("started")), 0.0, "no tone");
}

#[wasm_bindgen_test]
async fn go_online_asks_for_the_notification_permission_only_while_undecided() {
    js(include_str!("ring_spy.js"));
    js("Notification.permission = 'default'");
    let r = Fixture::ringing(MountOptions::default()).await;
    assert_eq!(num(field("asked")), 1.0, "asked on the Go online click");
    assert_eq!(js("return Notification.permission"), "granted");
    drop(r);
    let _r = Fixture::ringing(MountOptions::default()).await;
    assert_eq!(num(field("asked")), 0.0, "not asked again once decided");
}
