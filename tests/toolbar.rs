//! The whole toolbar in a real browser against the fake API
//! (`ccc_toolbar::testing::FakeApi`): sync, commands, failure and rollback,
//! backoff, resync, takeover, disabled reasons, events, iframe origin check.
#![cfg(target_arch = "wasm32")]

use std::{cell::RefCell, rc::Rc};

use ccc_model::{
    api::{ApiError, Call, Channel},
    CallType, ChannelState, ErrorCode, ErrorSource, UserState,
};
use ccc_toolbar::{
    embed::MountOptions,
    i18n::Lang,
    logic::{shortcuts, Command, Failure},
    testing::FakeApi,
};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

mod common;

use common::Fixture;

impl Fixture {
    fn new() -> Self {
        Self::with(FakeApi::new(), MountOptions::default())
    }

    fn root(&self, name: &str) -> Option<String> {
        self.attr("ccc-toolbar", name)
    }

    async fn synced(&self, state: &str) {
        self.until(&format!("state {state}"), |f| {
            f.root("data-state").as_deref() == Some(state)
                && f.root("data-connection").as_deref() == Some("connected")
        })
        .await;
    }

    async fn signed_in(&self) {
        self.synced("OFFLINE").await;
        self.click("sign-in");
        self.synced("BREAK").await;
    }
}

fn user_state_error(state: &str) -> Failure {
    let e = ErrorCode::UserState.with_params([state, "BREAK,READY,WORKING"]);
    Failure::Api {
        status: 400,
        error: ApiError {
            source: ErrorSource::Ccc,
            ..ApiError::from(&e)
        },
    }
}

#[wasm_bindgen_test]
async fn syncs_and_follows_server_changes() {
    let f = Fixture::new();
    f.synced("OFFLINE").await;
    assert_eq!(f.text("agent-state"), "Offline");
    assert_eq!(f.root("data-muted").as_deref(), Some("false"));
    assert_eq!(f.text("extension"), "80010001");
    assert!(f.text("connection-status").contains("Connected"));
    // A change on the server reaches the long-poll.
    f.api.update(|s| {
        s.agent.state = UserState::Ready;
    });
    f.synced("READY").await;
    let calls = f.api.agent_calls.borrow();
    assert_eq!(calls[0].1, None, "first sync without since");
    assert!(
        calls.iter().skip(1).all(|c| c.1.is_some()),
        "then long-polls with since"
    );
}

#[wasm_bindgen_test]
async fn sign_in_ready_break_sign_out_by_clicks() {
    let f = Fixture::new();
    f.signed_in().await;
    assert_eq!(f.text("break-code"), "Warming up");
    f.click("ready");
    f.synced("READY").await;
    f.click("sign-out");
    f.synced("OFFLINE").await;
    assert_eq!(
        *f.api.commands.borrow(),
        vec![
            Command::SignIn,
            Command::Ready {
                outbound_only: false
            },
            Command::SignOut
        ]
    );
}

#[wasm_bindgen_test]
async fn failure_rolls_back_and_explains_near_the_controls() {
    let f = Fixture::new();
    f.signed_in().await;
    *f.api.command_failure.borrow_mut() = Some(user_state_error("OFFLINE"));
    f.click("ready");
    f.until("error text", |f| {
        f.text("error-message")
            .contains("You're offline — sign in first.")
    })
    .await;
    assert_eq!(
        f.root("data-state").as_deref(),
        Some("BREAK"),
        "nothing optimistic remains"
    );
    assert_eq!(f.attr("ready", "data-pending").as_deref(), Some("false"));
    assert_eq!(f.attr("error-message", "role").as_deref(), Some("alert"));
    assert_eq!(
        f.attr("error-message", "data-code").as_deref(),
        Some("InvalidOperation.UserState")
    );
    assert_eq!(
        f.attr("error-message", "data-command").as_deref(),
        Some("ready")
    );
    // The next success clears it.
    f.click("ready");
    f.synced("READY").await;
    f.until("error cleared", |f| f.text("error-message").is_empty())
        .await;
}

#[wasm_bindgen_test]
async fn pending_state_and_double_click_sends_one_command() {
    let f = Fixture::new();
    f.signed_in().await;
    f.api.hold_commands.set(true);
    f.click("ready");
    f.click("ready");
    f.until("pending", |f| {
        f.attr("ready", "data-pending").as_deref() == Some("true")
    })
    .await;
    assert_eq!(f.attr("ready", "aria-busy").as_deref(), Some("true"));
    assert_eq!(
        f.attr("break-option", "aria-disabled").as_deref(),
        Some("true")
    );
    assert!(f.text("status-pending").contains("Getting ready"));
    f.click("ready");
    assert_eq!(f.api.commands.borrow().len(), 2, "sign-in + one ready");
    f.api.release();
    f.synced("READY").await;
    assert_eq!(f.api.commands.borrow().len(), 2);
}

#[wasm_bindgen_test]
async fn backoff_grows_then_recovers() {
    let api = FakeApi::new();
    for _ in 0..3 {
        api.agent_failures.borrow_mut().push_back(Failure::Network);
    }
    let f = Fixture::with(api, MountOptions::default());
    f.until("reconnecting", |f| {
        f.root("data-connection").as_deref() == Some("reconnecting")
    })
    .await;
    f.synced("OFFLINE").await;
    let t: Vec<f64> = f.api.agent_calls.borrow().iter().map(|c| c.0).collect();
    assert!(t.len() >= 4, "{t:?}");
    let gaps: Vec<f64> = t.windows(2).map(|w| w[1] - w[0]).collect();
    // 20 ms, 40 ms, 80 ms nominal, ±30 %.
    assert!(gaps[0] >= 13.0, "{gaps:?}");
    assert!(gaps[2] > gaps[0], "delays grow: {gaps:?}");
    assert!(gaps[2] >= 55.0, "{gaps:?}");
}

#[wasm_bindgen_test]
async fn repeated_failures_show_offline_and_stale_since() {
    let f = Fixture::new();
    f.synced("OFFLINE").await;
    for _ in 0..200 {
        f.api
            .agent_failures
            .borrow_mut()
            .push_back(Failure::Http { status: 502 });
    }
    f.api.update(|s| s.agent.state = UserState::Ready);
    f.until("offline", |f| {
        f.root("data-connection").as_deref() == Some("offline")
    })
    .await;
    assert!(
        f.text("stale-since").starts_with("stale since "),
        "{}",
        f.text("stale-since")
    );
    assert!(f.q("resync-now").is_some());
    // Mute and state stay the last server truth.
    assert_eq!(f.root("data-state").as_deref(), Some("READY"));
    f.api.agent_failures.borrow_mut().clear();
    f.click("resync-now");
    f.synced("READY").await;
    assert!(f.q("stale-since").is_none());
}

async fn resyncs_on(target: &web_sys::EventTarget, event: &str) {
    let f = Fixture::new();
    f.synced("OFFLINE").await;
    // Let the long-poll start.
    f.until("long-poll", |f| f.api.agent_calls.borrow().len() >= 2)
        .await;
    let before = f.api.agent_calls.borrow().len();
    target
        .dispatch_event(&web_sys::Event::new(event).unwrap())
        .unwrap();
    f.until("a fresh poll", |f| {
        let calls = f.api.agent_calls.borrow();
        calls.len() > before && calls[before].1.is_none()
    })
    .await;
}

#[wasm_bindgen_test]
async fn resyncs_at_once_on_visibilitychange_online_pageshow_focus() {
    let window = web_sys::window().unwrap();
    let doc: web_sys::EventTarget = window.document().unwrap().into();
    let win: web_sys::EventTarget = window.into();
    resyncs_on(&doc, "visibilitychange").await;
    resyncs_on(&win, "online").await;
    resyncs_on(&win, "pageshow").await;
    resyncs_on(&win, "focus").await;
}

#[wasm_bindgen_test]
async fn disabled_controls_say_why() {
    let f = Fixture::new();
    f.synced("OFFLINE").await;
    assert_eq!(f.attr("ready", "aria-disabled").as_deref(), Some("true"));
    assert_eq!(f.attr("ready", "title").as_deref(), Some("Sign in first."));
    assert_eq!(f.text("ready-reason"), "Sign in first.");
    let described = f.attr("ready", "aria-describedby").unwrap();
    assert_eq!(f.get("ready-reason").id(), described);
    assert_eq!(f.text("sign-out-reason"), "You're already offline.");
    assert_eq!(f.attr("sign-in", "aria-disabled").as_deref(), Some("false"));
    // A click on a disabled control sends nothing.
    f.click("ready");
    f.click("sign-out");
    assert!(f.api.commands.borrow().is_empty());
}

#[wasm_bindgen_test]
async fn takeover_is_shown_and_can_be_taken_back() {
    let f = Fixture::new();
    f.signed_in().await;
    assert!(f.q("takeover-banner").is_none());
    f.api
        .update(|s| s.agent.device_id = Some("web-other-browser".into()));
    f.until("banner", |f| f.q("takeover-banner").is_some())
        .await;
    assert!(f.text("takeover-banner").contains("web-other-browser"));
    f.click("take-back");
    f.until("banner gone", |f| f.q("takeover-banner").is_none())
        .await;
    assert_eq!(f.api.commands.borrow().last(), Some(&Command::SignIn));
}

fn type_into(f: &Fixture, id: &str, text: &str) {
    let input: web_sys::HtmlInputElement = f.get(id).unchecked_into();
    input.set_value(text);
    input
        .dispatch_event(&web_sys::Event::new("input").unwrap())
        .unwrap();
}

fn key(f: &Fixture, id: &str, key: &str) {
    let init = web_sys::KeyboardEventInit::new();
    init.set_key(key);
    init.set_bubbles(true);
    let ev = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    f.get(id).dispatch_event(&ev).unwrap();
}

fn options(f: &Fixture) -> Vec<String> {
    let list =
        f.el.query_selector_all("[data-testid=\"break-option\"]")
            .unwrap();
    (0..list.length())
        .map(|i| {
            list.item(i)
                .unwrap()
                .unchecked_into::<Element>()
                .get_attribute("data-code")
                .unwrap()
        })
        .collect()
}

fn menu_open(f: &Fixture) -> bool {
    f.attr("status-menu", "hidden").is_none()
}

#[wasm_bindgen_test]
async fn status_menu_picks_by_keyboard_and_puts_recent_breaks_first() {
    if let Some(s) = ccc_toolbar::browser::storage() {
        s.remove_item(ccc_toolbar::state::RECENT_BREAKS_KEY)
            .unwrap();
    }
    let f = Fixture::new();
    f.signed_in().await;
    f.click("status-menu-button");
    f.until("menu", menu_open).await;
    assert_eq!(
        f.attr("status-menu-button", "aria-expanded").as_deref(),
        Some("true")
    );
    assert_eq!(options(&f), ["default", "lunch", "meeting", "training"]);
    assert!(f.q("break-search").is_none(), "no search for four reasons");
    // Opened on the first entry that can be picked: Available.
    key(&f, "status-menu", "Enter");
    f.synced("READY").await;
    assert!(!menu_open(&f), "closed after choosing");
    // Arrow keys: Available is current (skipped at open), so the first
    // pickable entry is Outbound only; two down is the second break.
    f.click("status-menu-button");
    f.until("menu", menu_open).await;
    assert_eq!(f.attr("ready", "aria-checked").as_deref(), Some("true"));
    assert_eq!(f.attr("ready", "aria-disabled").as_deref(), Some("true"));
    assert_eq!(f.text("ready-reason"), "This is your status now.");
    key(&f, "status-menu", "ArrowDown");
    key(&f, "status-menu", "ArrowDown");
    key(&f, "status-menu", "Enter");
    f.until("break lunch", |f| {
        f.text_now("break-code").as_deref() == Some("lunch")
    })
    .await;
    // Recently used first.
    f.click("status-menu-button");
    f.until("menu", menu_open).await;
    assert_eq!(options(&f), ["lunch", "default", "meeting", "training"]);
    // Escape closes without a command and gives the focus back.
    key(&f, "status-menu", "Escape");
    f.until("closed", |f| !menu_open(f)).await;
    let focused = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.active_element())
        .and_then(|a| a.get_attribute("data-testid"));
    assert_eq!(focused.as_deref(), Some("status-menu-button"));
    assert_eq!(
        *f.api.commands.borrow(),
        vec![
            Command::SignIn,
            Command::Ready {
                outbound_only: false
            },
            Command::Break {
                code: "lunch".into()
            }
        ]
    );
}

#[wasm_bindgen_test]
async fn status_menu_searches_many_reasons_by_display_name() {
    let api = FakeApi::new();
    {
        let mut s = api.session.borrow_mut();
        s.break_codes = [
            "default", "lunch", "meeting", "training", "coaching", "admin", "sick",
        ]
        .map(String::from)
        .to_vec();
        s.break_reasons = vec![
            ccc_model::api::BreakReason {
                code: "lunch".into(),
                en: Some("Lunch".into()),
                zh_cn: Some("午餐".into()),
            },
            ccc_model::api::BreakReason {
                code: "coaching".into(),
                en: Some("Coaching session".into()),
                zh_cn: None,
            },
        ];
    }
    let f = Fixture::with(api, MountOptions::default());
    f.signed_in().await;
    f.click("status-menu-button");
    f.until("search", |f| f.q("break-search").is_some()).await;
    // Display names, and the code where there is none.
    let labels = |f: &Fixture| {
        let list =
            f.el.query_selector_all("[data-testid=\"break-option\"]")
                .unwrap();
        (0..list.length())
            .map(|i| list.item(i).unwrap().text_content().unwrap_or_default())
            .collect::<Vec<_>>()
    };
    assert!(labels(&f)[1].starts_with("Lunch"), "{:?}", labels(&f));
    assert!(labels(&f)[0].starts_with("default"), "{:?}", labels(&f));
    type_into(&f, "break-search", "session");
    f.until("filtered", |f| options(f) == ["coaching"]).await;
    assert!(
        f.q("ready").is_none(),
        "only matching reasons while searching"
    );
    key(&f, "break-search", "Enter");
    f.until("break coaching", |f| {
        f.text("break-code") == "Coaching session"
    })
    .await;
    // zh-CN names where configured, English otherwise.
    f.click("lang-switch");
    f.click("status-menu-button");
    f.until("zh names", |f| {
        labels(f).iter().any(|l| l.starts_with("午餐"))
    })
    .await;
    assert_eq!(f.text("break-code"), "Coaching session");
}

#[wasm_bindgen_test]
async fn status_menu_says_why_entries_are_disabled() {
    let f = Fixture::new();
    f.synced("OFFLINE").await;
    // Offline: Go online is offered, the rest needs it first.
    assert!(f.q("sign-in").is_some());
    assert_eq!(f.attr("ready", "aria-disabled").as_deref(), Some("true"));
    assert_eq!(f.attr("ready", "title").as_deref(), Some("Sign in first."));
    assert_eq!(f.attr("sign-out", "aria-checked").as_deref(), Some("true"));
    f.click("ready");
    assert!(
        f.api.commands.borrow().is_empty(),
        "a disabled entry sends nothing"
    );
    f.click("sign-in");
    f.synced("BREAK").await;
    f.until("no go online", |f| f.q("sign-in").is_none()).await;
    // In a call every entry says why not.
    let now = f.api.server_now();
    f.api.update(|s| talking(s, now));
    f.synced("TALKING").await;
    f.click("status-menu-button");
    f.until("menu", menu_open).await;
    assert_eq!(
        f.attr("ready", "title").as_deref(),
        Some("Not during a call.")
    );
    f.until("why line", |f| f.text("status-why") == "Not during a call.")
        .await;
}

#[wasm_bindgen_test]
async fn reset_asks_to_confirm() {
    let f = Fixture::new();
    f.signed_in().await;
    let shown = |f: &Fixture| f.q("reset-confirmation").is_some();
    assert!(!shown(&f));
    // Out of the way, in Settings.
    f.click("settings-button");
    f.until("settings", |f| f.attr("settings", "hidden").is_none())
        .await;
    f.click("reset");
    f.until("confirmation", shown).await;
    // Focus moves to the confirm button.
    f.until("focus on confirm", |_| {
        let active = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.active_element());
        active
            .and_then(|a| a.get_attribute("data-testid"))
            .as_deref()
            == Some("confirm-reset")
    })
    .await;
    f.click("cancel-reset");
    f.until("no confirmation", |f| !shown(f)).await;
    assert_eq!(f.api.commands.borrow().len(), 1);
    f.click("reset");
    f.until("confirmation", shown).await;
    f.click("confirm-reset");
    f.synced("OFFLINE").await;
    assert!(!shown(&f));
    assert_eq!(f.api.commands.borrow().last(), Some(&Command::Reset));
}

fn talking(s: &mut ccc_model::api::AgentSnapshot, since: i64) {
    s.agent.state = UserState::Talking;
    s.call = Some(Call {
        job_id: "job-1".into(),
        call_type: Some(CallType::Inbound),
        channels: vec![Channel {
            channel_id: "ch-c".into(),
            state: ChannelState::Answered,
            originator: Some("13800000000".into()),
            destination: Some("80010001".into()),
            timestamp: Some(since),
            ..Default::default()
        }],
    });
}

#[wasm_bindgen_test]
async fn answer_a_ringing_call_then_hang_up() {
    let f = Fixture::new();
    f.signed_in().await;
    // Between calls: no call card, no call buttons.
    assert!(f.attr("call-info", "hidden").is_some());
    assert!(f.q("answer").is_none() && f.q("hangup").is_none());

    let now = f.api.server_now();
    f.api.update(|s| {
        talking(s, now);
        s.agent.state = UserState::Ringing;
    });
    f.synced("RINGING").await;
    assert_eq!(
        f.attr("call-info", "data-phase").as_deref(),
        Some("ringing")
    );
    assert_eq!(f.text("call-party"), "13800000000");
    assert_eq!(f.attr("answer", "aria-disabled").as_deref(), Some("false"));
    assert_eq!(f.attr("decline", "aria-disabled").as_deref(), Some("false"));
    assert!(f.q("mute").is_none(), "no mute before the call is answered");
    f.click("answer");
    f.synced("TALKING").await;
    assert_eq!(
        f.attr("call-info", "data-phase").as_deref(),
        Some("talking")
    );
    assert!(f.q("answer").is_none());
    f.click("hangup");
    f.synced("WORKING").await;
    assert_eq!(
        f.attr("call-info", "data-phase").as_deref(),
        Some("wrap-up")
    );
    assert!(f.q("call-party").is_none() && f.q("hangup").is_none());
    assert!(f.text("call-status").contains("Wrap-up"));
}

#[wasm_bindgen_test]
async fn mute_during_a_call_shows_the_server_truth() {
    let f = Fixture::new();
    f.signed_in().await;
    let now = f.api.server_now();
    f.api.update(|s| talking(s, now - 5_000));
    f.synced("TALKING").await;
    assert_eq!(f.text("call-party"), "13800000000");
    assert_eq!(f.text("call-direction"), "Inbound");
    assert_eq!(f.attr("mute", "aria-disabled").as_deref(), Some("false"));
    assert_eq!(f.attr("mute", "aria-pressed").as_deref(), Some("false"));
    f.click("mute");
    f.until("muted", |f| f.root("data-muted").as_deref() == Some("true"))
        .await;
    assert_eq!(f.attr("mute", "aria-pressed").as_deref(), Some("true"));
    assert!(f.text("live-region").contains("Muted"));
    // The server unmutes by itself: the toolbar follows.
    f.api.update(|s| s.muted = false);
    f.until("unmuted", |f| {
        f.root("data-muted").as_deref() == Some("false")
    })
    .await;
    // No call: no mute.
    f.api.update(|s| {
        s.agent.state = UserState::Working;
        s.call = None;
    });
    f.synced("WORKING").await;
    assert!(f.q("mute").is_none());
    assert_eq!(
        f.attr("call-info", "data-phase").as_deref(),
        Some("wrap-up")
    );
}

#[wasm_bindgen_test]
async fn timer_uses_server_time_corrected_for_skew() {
    let api = FakeApi::new();
    // The server clock is an hour ahead of this browser.
    api.skew_ms.set(3_600_000.0);
    let hb = api.server_now() - 65_000;
    api.update(|s| {
        s.agent.state = UserState::Break;
        s.agent.heartbeat = Some(hb);
    });
    let f = Fixture::with(api, MountOptions::default());
    f.synced("BREAK").await;
    let t = f.text("state-timer");
    assert!(t == "1:05" || t == "1:06", "{t}");
}

#[wasm_bindgen_test]
async fn work_mode_off_site_needs_a_mobile() {
    let f = Fixture::new();
    f.signed_in().await;
    assert!(f.q("mobile-input").is_none());
    let select: web_sys::HtmlSelectElement = f.get("work-mode-picker").unchecked_into();
    select.set_value("OFF_SITE");
    select
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    f.until("mobile input shown", |f| f.q("mobile-input").is_some())
        .await;
    assert_eq!(
        f.attr("work-mode-apply", "aria-disabled").as_deref(),
        Some("true")
    );
    type_into(&f, "mobile-input", "13800000001");
    f.until("apply enabled", |f| {
        f.attr("work-mode-apply", "aria-disabled").as_deref() == Some("false")
    })
    .await;
    f.click("work-mode-apply");
    f.until("mode", |f| f.text("work-mode") == "Mobile phone")
        .await;
    assert_eq!(
        f.api.commands.borrow().last(),
        Some(&Command::WorkMode {
            mode: ccc_model::WorkMode::OffSite,
            mobile: Some("13800000001".into())
        })
    );
}

#[wasm_bindgen_test]
async fn events_on_the_host_element_are_versioned() {
    let api = FakeApi::new();
    let doc = web_sys::window().unwrap().document().unwrap();
    let seen: Rc<RefCell<Vec<JsValue>>> = Rc::default();
    let f = Fixture::with(api, MountOptions::default());
    let s = seen.clone();
    let cb = Closure::<dyn FnMut(web_sys::CustomEvent)>::new(move |e: web_sys::CustomEvent| {
        s.borrow_mut().push(e.detail());
    });
    for name in [
        "ccc:state",
        "ccc:mute",
        "ccc:connection",
        "ccc:error",
        "ccc:call",
    ] {
        f.el.add_event_listener_with_callback(name, cb.as_ref().unchecked_ref())
            .unwrap();
    }
    let _ = doc;
    f.signed_in().await;
    *f.api.command_failure.borrow_mut() = Some(user_state_error("OFFLINE"));
    f.click("ready");
    let get = |v: &JsValue, k: &str| js_sys::Reflect::get(v, &k.into()).unwrap();
    f.until("events", |_| {
        seen.borrow().iter().any(|d| get(d, "type") == "error")
            && seen
                .borrow()
                .iter()
                .any(|d| get(d, "type") == "state" && get(d, "state") == "BREAK")
    })
    .await;
    for d in seen.borrow().iter() {
        assert_eq!(get(d, "version"), 1, "{d:?}");
    }
    let err = seen
        .borrow()
        .iter()
        .find(|d| get(d, "type") == "error")
        .cloned()
        .unwrap();
    assert_eq!(get(&err, "code"), "InvalidOperation.UserState");
    assert_eq!(get(&err, "command"), "ready");
    assert!(seen
        .borrow()
        .iter()
        .any(|d| get(d, "type") == "connection" && get(d, "connection") == "connected"));
}

#[wasm_bindgen_test]
async fn handle_commands_respect_the_rules() {
    let f = Fixture::new();
    f.synced("OFFLINE").await;
    let h = f.handle.as_ref().unwrap();
    assert_eq!(h.command("ready", JsValue::UNDEFINED), Ok(false));
    assert!(h.command("dance", JsValue::UNDEFINED).is_err());
    assert_eq!(h.command("sign-in", JsValue::UNDEFINED), Ok(true));
    f.synced("BREAK").await;
    assert_eq!(h.state().as_deref(), Some("BREAK"));
    // Arguments are an object without `command` (the name supplies it);
    // anything else is a clear error, never silently dropped.
    assert!(h.command("break", JsValue::from_str("lunch")).is_err());
    let bad = js_sys::Object::new();
    js_sys::Reflect::set(&bad, &"code".into(), &42.into()).unwrap();
    assert!(h.command("break", bad.into()).is_err());
    let args = js_sys::Object::new();
    js_sys::Reflect::set(&args, &"code".into(), &"lunch".into()).unwrap();
    assert_eq!(h.command("break", args.into()), Ok(true));
}

async fn post_to_self(command: &str) {
    let window = web_sys::window().unwrap();
    let msg = js_sys::Object::new();
    js_sys::Reflect::set(&msg, &"version".into(), &1.into()).unwrap();
    js_sys::Reflect::set(&msg, &"command".into(), &command.into()).unwrap();
    window.post_message(&msg, "*").unwrap();
}

#[wasm_bindgen_test]
async fn iframe_mode_accepts_commands_only_from_the_parent_origin() {
    let origin = web_sys::window().unwrap().location().origin().unwrap();
    // Top-level test page: window.parent === window.
    let wrong = Fixture::with(
        FakeApi::new(),
        MountOptions {
            parent_origin: Some("https://crm.example.com".into()),
            ..Default::default()
        },
    );
    let right = Fixture::with(
        FakeApi::new(),
        MountOptions {
            parent_origin: Some(origin),
            ..Default::default()
        },
    );
    wrong.synced("OFFLINE").await;
    right.synced("OFFLINE").await;
    post_to_self("sign-in").await;
    right.synced("BREAK").await;
    // The same message reached the other toolbar before (messages are delivered
    // in order to every listener): it refused it.
    assert!(wrong.api.commands.borrow().is_empty());
    assert_eq!(wrong.root("data-state").as_deref(), Some("OFFLINE"));
}

#[wasm_bindgen_test]
fn mount_options_refuse_iframe_mode_without_an_exact_origin() {
    let opts = |json: &str| MountOptions::from_js(&js_sys::JSON::parse(json).unwrap());
    assert!(opts(r#"{"iframe":{}}"#).is_err());
    assert!(opts(r#"{"iframe":{"parentOrigin":"*"}}"#).is_err());
    let o = opts(r#"{"iframe":{"parentOrigin":"https://crm.example.com"},"theme":"dark","lang":"zh-CN","shortcuts":false}"#)
        .unwrap();
    assert_eq!(o.parent_origin.as_deref(), Some("https://crm.example.com"));
    assert_eq!(o.lang, Some(Lang::Zh));
    assert!(o.shortcuts.is_empty());
    let o = opts(r#"{"shortcuts":{"mute":"Ctrl+Shift+U","break":false}}"#).unwrap();
    assert_eq!(o.shortcuts.len(), 2);
}

#[wasm_bindgen_test]
fn mount_options_are_decoded_by_derive_and_mistyped_ones_refused() {
    let opts = |json: &str| MountOptions::from_js(&js_sys::JSON::parse(json).unwrap());
    let o = MountOptions::from_js(&JsValue::UNDEFINED).unwrap();
    assert_eq!((o.base_path.as_str(), o.shortcuts.len()), ("", 3));
    assert!(o.ring.notifications && !o.tel_links && o.parent_origin.is_none());
    let o = opts(r#"{"basePath":"/ccc","layout":"standalone","telLinks":true,"iframe":false,"shortcuts":true,"extra":1}"#)
        .unwrap();
    assert_eq!(o.base_path, "/ccc");
    assert!(o.standalone && o.tel_links && o.parent_origin.is_none());
    assert_eq!(o.shortcuts.len(), 3);
    // An iframe without an origin, and options of the wrong type, say what is wrong.
    let error = |json: &str| opts(json).unwrap_err().as_string().unwrap();
    assert!(error(r#"{"iframe":true}"#).contains("iframe.parentOrigin"));
    assert!(error(r#"{"iframe":"https://crm.example.com"}"#).contains("iframe must be"));
    assert!(error(r#"{"shortcuts":"none"}"#).contains("shortcuts must be"));
    assert!(error(r#"{"lang":5}"#).starts_with("ccc-toolbar: invalid type"));
}

fn press(target: &web_sys::EventTarget, code: &str, key: &str) {
    let init = web_sys::KeyboardEventInit::new();
    init.set_key(key);
    init.set_code(code);
    init.set_alt_key(true);
    init.set_shift_key(true);
    init.set_bubbles(true);
    let ev = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    target.dispatch_event(&ev).unwrap();
}

#[wasm_bindgen_test]
async fn shortcuts_work_but_not_inside_text_inputs() {
    let f = Fixture::with(
        FakeApi::new(),
        MountOptions {
            shortcuts: shortcuts::table(&[]),
            ..Default::default()
        },
    );
    f.signed_in().await;
    let doc = web_sys::window().unwrap().document().unwrap();
    let input = doc.create_element("input").unwrap();
    doc.body().unwrap().append_child(&input).unwrap();
    press(&input, "KeyR", "R");
    assert_eq!(
        f.api.commands.borrow().len(),
        1,
        "typed in a host input: ignored"
    );
    input.remove();
    let body: web_sys::EventTarget = doc.body().unwrap().into();
    press(&body, "KeyR", "R");
    f.synced("READY").await;
    press(&body, "KeyB", "B");
    f.until("status menu", menu_open).await;
}

/// The `ccc:call` details the host element received.
type Details = Rc<RefCell<Vec<JsValue>>>;

fn call_events(f: &Fixture) -> (Details, Closure<dyn FnMut(web_sys::CustomEvent)>) {
    let seen: Rc<RefCell<Vec<JsValue>>> = Rc::default();
    let s = seen.clone();
    let cb = Closure::<dyn FnMut(web_sys::CustomEvent)>::new(move |e: web_sys::CustomEvent| {
        s.borrow_mut().push(e.detail());
    });
    f.el.add_event_listener_with_callback("ccc:call", cb.as_ref().unchecked_ref())
        .unwrap();
    (seen, cb)
}

fn prop(v: &JsValue, path: &[&str]) -> JsValue {
    path.iter().fold(v.clone(), |v, k| {
        if v.is_object() {
            js_sys::Reflect::get(&v, &(*k).into()).unwrap()
        } else {
            JsValue::UNDEFINED
        }
    })
}

#[wasm_bindgen_test]
async fn dial_checks_the_number_then_dials_and_can_be_cancelled() {
    let f = Fixture::new();
    let (calls, _cb) = call_events(&f);
    f.synced("OFFLINE").await;
    assert_eq!(f.attr("dial", "aria-disabled").as_deref(), Some("true"));
    assert_eq!(f.text("dial-reason"), "Sign in first.");
    f.click("sign-in");
    f.synced("BREAK").await;
    // Nothing typed: disabled, quietly.
    assert_eq!(f.text("dial-reason"), "Enter a number to dial.");
    assert_eq!(f.text("dial-error"), "");
    type_into(&f, "dial-number", "138abc");
    f.until("inline error", |f| f.text("dial-error").contains("“a”"))
        .await;
    assert_eq!(
        f.attr("dial-number", "aria-invalid").as_deref(),
        Some("true")
    );
    assert_eq!(f.attr("dial", "aria-disabled").as_deref(), Some("true"));
    key(&f, "dial-number", "Enter");
    type_into(&f, "dial-number", "138 0013 8000");
    f.until("valid", |f| f.text("dial-error").is_empty()).await;
    assert_eq!(f.attr("dial", "aria-disabled").as_deref(), Some("false"));
    assert!(
        f.api
            .commands
            .borrow()
            .iter()
            .all(|c| c.kind().name() != "dial"),
        "Enter on a bad number sent nothing"
    );
    key(&f, "dial-number", "Enter");
    f.synced("DIALING").await;
    assert_eq!(
        f.api.commands.borrow().last(),
        Some(&Command::Dial {
            number: ccc_model::dial::DialNumber::parse("13800138000").unwrap(),
            caller_id: None
        })
    );
    assert_eq!(f.text("call-party"), "13800138000");
    assert_eq!(f.text("call-direction"), "Outbound");
    assert!(f.text("call-status").contains("Calling"));
    assert_eq!(
        f.attr("call-info", "data-phase").as_deref(),
        Some("dialing")
    );
    assert_eq!(f.text("hold-time"), "");
    f.until("ccc:call OUTBOUND", |_| {
        calls
            .borrow()
            .iter()
            .any(|d| prop(d, &["call", "direction"]) == "OUTBOUND")
    })
    .await;
    f.click("dial-cancel");
    f.synced("WORKING").await;
    assert_eq!(f.api.commands.borrow().last(), Some(&Command::Hangup));
    assert!(f.q("dial-cancel").is_none());
    f.until("not answered note", |f| {
        f.text("dial-notice")
            .contains("ended before anyone answered")
    })
    .await;
    assert!(f.text("recent-calls").contains("not answered"));
}

#[wasm_bindgen_test]
async fn busy_number_is_explained() {
    let f = Fixture::new();
    f.signed_in().await;
    let e = ErrorCode::UserBusy.with_params(["13800000000"]);
    *f.api.command_failure.borrow_mut() = Some(Failure::Api {
        status: 400,
        error: ApiError::from(&e),
    });
    type_into(&f, "dial-number", "13800000000");
    f.click("dial");
    f.until("busy", |f| {
        f.attr("error-message", "data-code").as_deref() == Some("UserBusy")
    })
    .await;
    assert!(f
        .text("error-message")
        .contains("The number you called is busy"));
    assert_eq!(f.root("data-state").as_deref(), Some("BREAK"));
    assert_eq!(f.text("dial-error"), "", "the number is kept for a retry");
}

#[wasm_bindgen_test]
async fn hold_retrieve_hang_up_then_recent_calls_redial_and_forget_on_sign_out() {
    let api = FakeApi::new();
    api.session.borrow_mut().caller_ids = vec!["057188880000".into(), "057188881111".into()];
    let f = Fixture::with(api, MountOptions::default());
    f.signed_in().await;
    f.until("caller ids offered", |f| f.q("dial-caller-id").is_some())
        .await;
    let select: web_sys::HtmlSelectElement = f.get("dial-caller-id").unchecked_into();
    select.set_value("057188881111");
    select
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    type_into(&f, "dial-number", "13900000000");
    f.click("dial");
    f.synced("DIALING").await;
    assert!(matches!(
        f.api.commands.borrow().last(),
        Some(Command::Dial { caller_id: Some(c), .. }) if c == "057188881111"
    ));
    assert!(f.q("hold").is_none(), "no hold while dialling");
    f.api.answer();
    f.synced("TALKING").await;
    assert!(f.q("dial-cancel").is_none());
    assert_eq!(f.text("hold-time"), "");
    assert_eq!(f.attr("hold", "aria-pressed").as_deref(), Some("false"));
    assert_eq!(f.text("hold"), "Hold");
    f.click("hold");
    f.until("held", |f| f.root("data-held").as_deref() == Some("true"))
        .await;
    assert_eq!(f.attr("hold", "aria-pressed").as_deref(), Some("true"));
    assert_eq!(f.text("hold"), "Resume");
    assert!(
        f.text("hold-time").starts_with("On hold 0:0"),
        "{}",
        f.text("hold-time")
    );
    f.until("announced", |f| f.text("live-region") == "Call on hold")
        .await;
    f.click("hold");
    f.until("resumed", |f| {
        f.root("data-held").as_deref() == Some("false")
    })
    .await;
    assert_eq!(f.text("hold-time"), "");
    assert_eq!(f.api.commands.borrow().last(), Some(&Command::Retrieve));
    f.click("hangup");
    f.synced("WORKING").await;
    f.until("recent call", |f| f.q("recent-call").is_some())
        .await;
    assert_eq!(
        f.attr("recent-call", "data-number").as_deref(),
        Some("13900000000")
    );
    assert!(f.text("recent-call").contains("Outbound"));
    assert!(!f.text("recent-call").contains("not answered"));
    let stored = ccc_toolbar::browser::load("ccc-toolbar.recent-calls").unwrap_or_default();
    assert!(stored.contains("13900000000"), "{stored:?}");
    // Redial from the list.
    f.click("redial");
    f.synced("DIALING").await;
    f.click("dial-cancel");
    f.synced("WORKING").await;
    f.until("one entry per call", |f| {
        f.text("recent-calls").contains("Recent calls (2)")
    })
    .await;
    // Going offline forgets them.
    f.click("sign-out");
    f.synced("OFFLINE").await;
    f.until("forgotten", |f| f.q("recent-call").is_none()).await;
    assert_eq!(ccc_toolbar::browser::load("ccc-toolbar.recent-calls"), None);
}

/// A `tel:` link in the page; clicking it reports whether the toolbar took
/// it (`defaultPrevented`), and never navigates.
struct TelLink {
    a: HtmlElement,
    taken: Rc<RefCell<Vec<bool>>>,
    _cb: Closure<dyn FnMut(web_sys::Event)>,
}

impl TelLink {
    fn new(href: &str) -> Self {
        let doc = web_sys::window().unwrap().document().unwrap();
        let a: HtmlElement = doc.create_element("a").unwrap().unchecked_into();
        a.set_attribute("href", href).unwrap();
        a.set_inner_html("<span>Call Jane</span>");
        doc.body().unwrap().append_child(&a).unwrap();
        let taken: Rc<RefCell<Vec<bool>>> = Rc::default();
        let t = taken.clone();
        let cb = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            t.borrow_mut().push(e.default_prevented());
            e.prevent_default();
        });
        // On the window: after the toolbar's listener on the document.
        web_sys::window()
            .unwrap()
            .add_event_listener_with_callback("click", cb.as_ref().unchecked_ref())
            .unwrap();
        TelLink { a, taken, _cb: cb }
    }

    /// Clicks the text inside the link (delegation finds the link).
    fn click(&self) -> bool {
        self.a
            .first_element_child()
            .unwrap()
            .unchecked_into::<HtmlElement>()
            .click();
        self.taken.borrow().last().copied().unwrap()
    }
}

impl Drop for TelLink {
    fn drop(&mut self) {
        let _ = web_sys::window()
            .unwrap()
            .remove_event_listener_with_callback("click", self._cb.as_ref().unchecked_ref());
        self.a.remove();
    }
}

#[wasm_bindgen_test]
async fn tel_links_dial_only_when_the_option_is_on() {
    let link = TelLink::new("tel:+86-138-0013-8000");
    {
        let off = Fixture::new();
        off.signed_in().await;
        assert!(!link.click(), "option off: the link is left to the browser");
        assert!(off
            .api
            .commands
            .borrow()
            .iter()
            .all(|c| c.kind().name() != "dial"));
        assert_eq!(off.text("dial-notice"), "");
    }
    let f = Fixture::with(
        FakeApi::new(),
        MountOptions {
            tel_links: true,
            ..Default::default()
        },
    );
    f.signed_in().await;
    // A script's click (`a.click()`: isTrusted false) never dials, so a
    // page cannot place calls behind the agent's back; the agent's own
    // click does (crates/ccc-e2e/tests/dial.rs clicks through WebDriver).
    assert!(!link.click(), "an untrusted click is left to the browser");
    assert!(f
        .api
        .commands
        .borrow()
        .iter()
        .all(|c| c.kind().name() != "dial"));
    // What a trusted click does, through the same path (handle.dial).
    let h = f.handle.as_ref().unwrap();
    assert_eq!(h.dial("+86-138-0013-8000", None), Ok(true));
    f.synced("DIALING").await;
    assert_eq!(f.text("call-party"), "+8613800138000");
    // Busy in a call: nothing is dialled; the number waits with a reason.
    assert_eq!(h.dial("139 0000 1111", None), Ok(false));
    f.until("kept", |f| {
        f.text("dial-notice")
            .contains("13900001111 was not dialled")
    })
    .await;
    let input: web_sys::HtmlInputElement = f.get("dial-number").unchecked_into();
    assert_eq!(input.value(), "13900001111");
    let dials = f
        .api
        .commands
        .borrow()
        .iter()
        .filter(|c| c.kind().name() == "dial")
        .count();
    assert_eq!(dials, 1);
    // The handle says the same.
    assert_eq!(h.dial("13700000000", None), Ok(false));
    assert!(h.dial("call me", None).is_err());
    f.click("dial-cancel");
    f.synced("WORKING").await;
    assert_eq!(h.dial("13700000000", None), Ok(true));
    f.synced("DIALING").await;
    assert_eq!(f.text("call-party"), "13700000000");
}

fn select(f: &Fixture, id: &str, value: &str) {
    let select: web_sys::HtmlSelectElement = f.get(id).unchecked_into();
    select.set_value(value);
    select
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
}

fn value(f: &Fixture, id: &str) -> String {
    f.get(id)
        .unchecked_into::<web_sys::HtmlSelectElement>()
        .value()
}

#[wasm_bindgen_test]
async fn next_state_is_picked_during_the_call_and_applied_when_it_ends() {
    use ccc_model::api::NextState;
    let f = Fixture::new();
    f.signed_in().await;
    assert!(f.q("next-state").is_none(), "no next state between calls");
    let now = f.api.server_now();
    f.api.update(|s| talking(s, now));
    f.synced("TALKING").await;
    assert_eq!(value(&f, "next-state"), "", "nothing chosen yet");
    select(&f, "next-state", "break:lunch");
    f.until("server truth shown", |f| {
        f.attr("next-state", "class")
            .is_some_and(|c| c.contains("ccc-next__select--set"))
    })
    .await;
    assert_eq!(value(&f, "next-state"), "break:lunch");
    assert_eq!(
        *f.api.next_states.borrow(),
        vec![Some(NextState::Break {
            code: "lunch".into()
        })]
    );
    // Cancel, then choose Available.
    f.click("next-state-cancel");
    f.until("cancelled", |f| value(f, "next-state").is_empty())
        .await;
    assert_eq!(f.api.next_states.borrow().last(), Some(&None));
    select(&f, "next-state", "ready");
    f.until("ready chosen", |f| {
        f.api.server.borrow().next_state == Some(NextState::Ready)
    })
    .await;
    // A refused change puts the select back to the server's choice.
    *f.api.command_failure.borrow_mut() = Some(user_state_error("TALKING"));
    select(&f, "next-state", "offline");
    f.until("error", |f| {
        f.text("error-message")
            .contains("Your status after this call was not saved")
    })
    .await;
    f.until("back to ready", |f| value(f, "next-state") == "ready")
        .await;
    // The call ends: the proxy (here the fake) applies it.
    f.click("hangup");
    f.synced("READY").await;
    assert!(f.q("next-state").is_none());
}

#[wasm_bindgen_test]
async fn a_next_state_set_elsewhere_is_shown() {
    use ccc_model::api::NextState;
    let f = Fixture::new();
    f.signed_in().await;
    let now = f.api.server_now();
    f.api.update(|s| {
        talking(s, now);
        s.agent.state = UserState::Working;
        s.call = None;
        s.next_state = Some(NextState::OutboundOnly);
    });
    f.synced("WORKING").await;
    f.until("shown", |f| value(f, "next-state") == "outbound-only")
        .await;
    assert!(f.text("next-state-box").contains("After this call"));
    assert_eq!(
        f.attr("call-info", "data-phase").as_deref(),
        Some("wrap-up")
    );
    assert!(f.q("wrap-up-timer").is_some());
}

#[wasm_bindgen_test]
async fn settings_open_close_and_keep_work_mode_language_and_reset() {
    let f = Fixture::new();
    f.signed_in().await;
    let open = |f: &Fixture| f.attr("settings", "hidden").is_none();
    assert!(!open(&f));
    f.click("settings-button");
    f.until("open", open).await;
    assert_eq!(
        f.attr("settings-button", "aria-expanded").as_deref(),
        Some("true")
    );
    let drawer = f.get("settings");
    for id in ["work-mode-picker", "lang-switch", "reset", "extension"] {
        assert!(
            drawer
                .query_selector(&format!("[data-testid=\"{id}\"]"))
                .unwrap()
                .is_some(),
            "{id} in settings"
        );
    }
    key(&f, "settings", "Escape");
    f.until("closed", |f| !open(f)).await;
    let focused = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.active_element())
        .and_then(|a| a.get_attribute("data-testid"));
    assert_eq!(focused.as_deref(), Some("settings-button"));
}

#[wasm_bindgen_test]
async fn call_buttons_keep_their_place_when_labels_change() {
    // The widths come from the stylesheet: load it as the page would.
    let doc = web_sys::window().unwrap().document().unwrap();
    let style = doc.create_element("style").unwrap();
    style.set_text_content(Some(include_str!("../style/toolbar.css")));
    doc.head().unwrap().append_child(&style).unwrap();
    let f = Fixture::new();
    f.signed_in().await;
    let now = f.api.server_now();
    f.api.update(|s| talking(s, now));
    f.synced("TALKING").await;
    let rect = |f: &Fixture, id: &str| {
        let el: HtmlElement = f.get(id).unchecked_into();
        (el.offset_left(), el.offset_width())
    };
    let before: Vec<_> = ["mute", "hold", "hangup"]
        .iter()
        .map(|id| rect(&f, id))
        .collect();
    f.click("mute");
    f.until("muted", |f| f.text("mute") == "Unmute").await;
    f.click("hold");
    f.until("held", |f| f.text("hold") == "Resume").await;
    let after: Vec<_> = ["mute", "hold", "hangup"]
        .iter()
        .map(|id| rect(&f, id))
        .collect();
    style.remove();
    assert_eq!(
        before, after,
        "Mute → Unmute and Hold → Resume moved nothing"
    );
}
