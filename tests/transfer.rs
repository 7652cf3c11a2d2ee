//! Transfer, consult, conference and the keypad (issue 18) in a real
//! browser against the fake API (`ccc_toolbar::testing::FakeApi`): the
//! transfer panel's search (debounced, ordered, the agent's own entry left
//! out, a typed number), blind and consult transfers, the consult card
//! through cancel, complete, conference and leave, the keypad by click and
//! keyboard (keys typed during a request batched, in order), `ccc:transfer`
//! events, `handle.transfer`, and the call's buttons staying put.
#![cfg(target_arch = "wasm32")]

use std::{cell::RefCell, rc::Rc};

use ccc_model::{
    api::{
        Call, Channel, DirectoryEntry, DirectoryState, DtmfRequest, TargetType, TransferKind,
        TransferRequest, TransferTarget,
    },
    CallType, ChannelState, UserState,
};
use ccc_toolbar::{
    browser::{now_ms, sleep},
    embed::MountOptions,
    logic::Command,
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
        let api = FakeApi::new();
        *api.directory.borrow_mut() = directory();
        // A leader of its own: a test that failed (wasm does not unwind, so
        // its toolbar stays) must not lead the next one.
        *api.base_path.borrow_mut() = format!("/transfer-{}", now_ms());
        Self::with(api, MountOptions::default())
    }

    async fn state(&self, state: &str) {
        self.until(&format!("state {state}"), |f| {
            f.attr("ccc-toolbar", "data-state").as_deref() == Some(state)
        })
        .await;
    }

    /// Signed in and talking to a customer.
    async fn talking(&self) {
        self.state("OFFLINE").await;
        self.click("sign-in");
        self.state("BREAK").await;
        let now = self.api.server_now();
        self.api.update(|s| {
            s.agent.state = UserState::Talking;
            s.agent.heartbeat = Some(now);
            s.call = Some(Call {
                job_id: "job-1".into(),
                call_type: Some(CallType::Inbound),
                channels: vec![Channel {
                    channel_id: "ch-c".into(),
                    state: ChannelState::Answered,
                    originator: Some("13800000000".into()),
                    destination: Some("80010001".into()),
                    timestamp: Some(now),
                    ..Default::default()
                }],
            });
        });
        self.state("TALKING").await;
    }

    /// The transfer targets listed: `(data-type, data-id)`.
    fn targets(&self) -> Vec<(String, String)> {
        self.all("transfer-target")
            .iter()
            .map(|e| {
                (
                    e.get_attribute("data-type").unwrap_or_default(),
                    e.get_attribute("data-id").unwrap_or_default(),
                )
            })
            .collect()
    }

    fn all(&self, id: &str) -> Vec<Element> {
        let list = self
            .el
            .query_selector_all(&format!("[data-testid=\"{id}\"]"))
            .unwrap();
        (0..list.length())
            .map(|i| list.item(i).unwrap().unchecked_into())
            .collect()
    }

    fn target(&self, id: &str) -> Element {
        self.el
            .query_selector(&format!(
                "[data-testid=\"transfer-target\"][data-id=\"{id}\"]"
            ))
            .unwrap()
            .unwrap_or_else(|| panic!("no target {id}"))
    }

    fn focused(&self) -> Option<String> {
        web_sys::window()
            .unwrap()
            .document()
            .unwrap()
            .active_element()
            .and_then(|e| e.get_attribute("data-testid"))
    }
}

fn entry(
    kind: TargetType,
    id: &str,
    name: &str,
    state: Option<DirectoryState>,
    fav: bool,
) -> DirectoryEntry {
    DirectoryEntry {
        target: TransferTarget {
            kind,
            id: id.into(),
        },
        name: name.into(),
        state,
        extension: (kind == TargetType::Agent).then(|| "8001000x".into()),
        favourite: fav,
    }
}

/// The proxy's answer, deliberately not in panel order.
fn directory() -> Vec<DirectoryEntry> {
    use DirectoryState::*;
    vec![
        entry(
            TargetType::Agent,
            "agent3@ccc-demo",
            "Chen Zhao",
            Some(OnCall),
            false,
        ),
        entry(
            TargetType::SkillGroup,
            "sales@ccc-demo",
            "Sales",
            None,
            false,
        ),
        entry(
            TargetType::Agent,
            "agent1@ccc-demo",
            "Ada Li",
            Some(Ready),
            false,
        ),
        entry(
            TargetType::Agent,
            "agent2@ccc-demo",
            "Bo Wang",
            Some(Ready),
            false,
        ),
        entry(TargetType::Number, "95555", "Bank hotline", None, true),
    ]
}

fn type_into(f: &Fixture, id: &str, text: &str) {
    let input: web_sys::HtmlInputElement = f.get(id).unchecked_into();
    input.set_value(text);
    input
        .dispatch_event(&web_sys::Event::new("input").unwrap())
        .unwrap();
}

fn key_on(target: &web_sys::EventTarget, key: &str) {
    let init = web_sys::KeyboardEventInit::new();
    init.set_key(key);
    init.set_bubbles(true);
    let ev = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    target.dispatch_event(&ev).unwrap();
}

fn key(f: &Fixture, id: &str, k: &str) {
    key_on(&f.get(id), k);
}

fn rect(f: &Fixture, id: &str) -> (i32, i32, i32) {
    let el: HtmlElement = f.get(id).unchecked_into();
    (el.offset_left(), el.offset_top(), el.offset_width())
}

fn agent2() -> TransferTarget {
    TransferTarget {
        kind: TargetType::Agent,
        id: "agent2@ccc-demo".into(),
    }
}

#[wasm_bindgen_test]
async fn transfer_panel_searches_the_directory_and_blind_transfers() {
    let f = Fixture::new();
    f.talking().await;
    assert!(f.q("transfer-panel").is_none(), "closed at first");
    assert_eq!(
        f.attr("transfer-button", "aria-expanded").as_deref(),
        Some("false")
    );
    f.click("transfer-button");
    f.until("the directory listed", |f| f.targets().len() == 4)
        .await;
    assert_eq!(
        f.attr("transfer-button", "aria-expanded").as_deref(),
        Some("true")
    );
    assert_eq!(
        f.attr("transfer-button", "aria-controls"),
        f.attr("transfer-panel", "id")
    );
    // Favourite, ready agents, groups, then busy agents; never the agent
    // themselves.
    let ids: Vec<String> = f.targets().into_iter().map(|t| t.1).collect();
    assert_eq!(
        ids,
        [
            "95555",
            "agent2@ccc-demo",
            "sales@ccc-demo",
            "agent3@ccc-demo"
        ]
    );
    let chen = f.target("agent3@ccc-demo");
    assert_eq!(chen.get_attribute("data-state").as_deref(), Some("oncall"));
    assert!(chen.text_content().unwrap().contains("On a call"));
    f.until("the search field focused", |f| {
        f.focused().as_deref() == Some("transfer-search")
    })
    .await;
    // Nothing picked: Transfer now says why.
    assert_eq!(
        f.attr("transfer-blind", "aria-disabled").as_deref(),
        Some("true")
    );
    assert!(f.text("transfer-blind-reason").contains("Pick who"));

    // Typing quickly asks the directory once, for the last text.
    type_into(&f, "transfer-search", "b");
    type_into(&f, "transfer-search", "bo");
    f.until("the search answered", |f| f.targets().len() == 1)
        .await;
    assert_eq!(*f.api.directory_queries.borrow(), ["", "bo"]);
    f.target("agent2@ccc-demo")
        .unchecked_into::<HtmlElement>()
        .click();
    f.until("Bo picked", |f| {
        f.target("agent2@ccc-demo")
            .get_attribute("aria-selected")
            .as_deref()
            == Some("true")
    })
    .await;
    f.click("transfer-blind");
    // CCC puts the agent in after-call work at once.
    f.state("WORKING").await;
    assert_eq!(
        f.attr("call-info", "data-phase").as_deref(),
        Some("wrap-up")
    );
    assert!(f.q("transfer-panel").is_none());
    assert_eq!(
        f.api.commands.borrow().last(),
        Some(&Command::Transfer(TransferRequest {
            kind: TransferKind::Blind,
            target: agent2(),
            caller_id: None,
        }))
    );
}

#[wasm_bindgen_test]
async fn a_typed_number_by_keyboard_and_escape_gives_the_focus_back() {
    let f = Fixture::new();
    f.talking().await;
    let before = [rect(&f, "mute"), rect(&f, "hold"), rect(&f, "hangup")];
    f.click("transfer-button");
    f.until("the directory listed", |f| !f.targets().is_empty())
        .await;
    type_into(&f, "transfer-search", "139 0000 1111");
    f.until("the number offered", |f| {
        f.targets() == [("number".to_owned(), "13900001111".to_owned())]
    })
    .await;
    key(&f, "transfer-search", "ArrowDown");
    key(&f, "transfer-search", "Enter");
    f.until("the number picked", |f| {
        f.target("13900001111")
            .get_attribute("aria-selected")
            .as_deref()
            == Some("true")
    })
    .await;
    assert_eq!(
        f.attr("transfer-search", "aria-activedescendant"),
        f.target("13900001111").get_attribute("id")
    );
    // The call's buttons did not move when the panel opened.
    assert_eq!(
        before,
        [rect(&f, "mute"), rect(&f, "hold"), rect(&f, "hangup")]
    );
    key(&f, "transfer-search", "Escape");
    f.until("the panel closed", |f| f.q("transfer-panel").is_none())
        .await;
    assert_eq!(f.focused().as_deref(), Some("transfer-button"));
    assert!(
        !f.api
            .commands
            .borrow()
            .iter()
            .any(|c| matches!(c, Command::Transfer(_))),
        "nothing sent"
    );
}

#[wasm_bindgen_test]
async fn consult_then_cancel_complete_conference_and_leave() {
    let f = Fixture::new();
    let seen: Rc<RefCell<Vec<JsValue>>> = Rc::default();
    let s = seen.clone();
    let cb = Closure::<dyn FnMut(web_sys::CustomEvent)>::new(move |e: web_sys::CustomEvent| {
        s.borrow_mut().push(e.detail());
    });
    f.el.add_event_listener_with_callback("ccc:transfer", cb.as_ref().unchecked_ref())
        .unwrap();
    f.talking().await;

    async fn consult(f: &Fixture) {
        f.click("transfer-button");
        {
            f.until("Bo listed", |f| {
                f.targets().iter().any(|t| t.1 == "agent2@ccc-demo")
            })
            .await;
            f.target("agent2@ccc-demo")
                .unchecked_into::<HtmlElement>()
                .click();
            f.until("Bo picked", |f| {
                f.attr("transfer-consult", "aria-disabled").as_deref() == Some("false")
            })
            .await;
            f.click("transfer-consult");
            f.until("the consult card", |f| {
                f.attr("consult-card", "data-phase").as_deref() == Some("ringing")
            })
            .await;
        }
    }
    consult(&f).await;
    assert!(
        f.q("transfer-panel").is_none(),
        "the panel gives way to the card"
    );
    assert_eq!(f.text("consult-party"), "Bo Wang");
    assert!(f.text("consult-status").contains("Ringing"));
    assert_eq!(
        f.attr("conference", "aria-disabled").as_deref(),
        Some("true")
    );
    assert_eq!(
        f.attr("transfer-button", "aria-disabled").as_deref(),
        Some("true")
    );
    assert!(f
        .text("transfer-button-reason")
        .contains("Finish the consultation"));
    assert_eq!(f.attr("ccc-toolbar", "data-held").as_deref(), Some("true"));
    f.api.consult_answers();
    f.until("Bo answered", |f| {
        f.attr("consult-card", "data-phase").as_deref() == Some("talking")
    })
    .await;
    // Cancel: back to the customer.
    f.click("transfer-cancel");
    f.until("the card gone", |f| f.q("consult-card").is_none())
        .await;
    assert_eq!(
        f.attr("ccc-toolbar", "data-state").as_deref(),
        Some("TALKING")
    );
    assert_eq!(f.attr("ccc-toolbar", "data-held").as_deref(), Some("false"));

    // Again, and complete.
    consult(&f).await;
    f.api.consult_answers();
    f.until("Bo answered", |f| {
        f.attr("conference", "aria-disabled").as_deref() == Some("false")
    })
    .await;
    f.click("transfer-complete");
    f.state("WORKING").await;

    // A new call: consult, conference, leave.
    f.talking_again().await;
    consult(&f).await;
    f.api.consult_answers();
    f.until("Bo answered", |f| {
        f.attr("conference", "aria-disabled").as_deref() == Some("false")
    })
    .await;
    f.click("conference");
    f.until("the conference", |f| {
        f.attr("consult-card", "data-phase").as_deref() == Some("conference")
    })
    .await;
    assert!(f.q("transfer-complete").is_none());
    f.click("conference-leave");
    f.state("WORKING").await;

    let phases: Vec<String> = seen
        .borrow()
        .iter()
        .map(|d| {
            assert_eq!(prop(d, "version"), 1);
            assert_eq!(prop(d, "type"), "transfer");
            prop(d, "phase").as_string().unwrap()
        })
        .collect();
    assert_eq!(
        phases,
        [
            "consult-ringing",
            "consult-talking",
            "cancelled",
            "consult-ringing",
            "consult-talking",
            "completed",
            "consult-ringing",
            "consult-talking",
            "conference",
            "left"
        ]
    );
    let first = seen.borrow()[0].clone();
    assert_eq!(prop(&first, "kind"), "consult");
    assert_eq!(prop(&first, "jobId"), "job-1");
    assert_eq!(prop(&prop(&first, "target"), "type"), "agent");
    assert_eq!(prop(&prop(&first, "target"), "id"), "agent2@ccc-demo");
    assert_eq!(prop(&first, "name"), "Bo Wang");
    let cmds: Vec<&'static str> = f
        .api
        .commands
        .borrow()
        .iter()
        .map(|c| c.kind().name())
        .filter(|n| *n != "sign-in")
        .collect();
    assert_eq!(
        cmds,
        [
            "transfer",
            "transfer/cancel",
            "transfer",
            "transfer/complete",
            "transfer",
            "conference",
            "conference/leave"
        ]
    );
}

impl Fixture {
    /// From after-call work to a new talking call.
    async fn talking_again(&self) {
        let now = self.api.server_now();
        self.api.update(|s| {
            s.agent.state = UserState::Talking;
            s.agent.heartbeat = Some(now);
            s.call = Some(Call {
                job_id: "job-2".into(),
                call_type: Some(CallType::Inbound),
                channels: vec![Channel {
                    channel_id: "ch-c2".into(),
                    state: ChannelState::Answered,
                    originator: Some("13800000002".into()),
                    timestamp: Some(now),
                    ..Default::default()
                }],
            });
        });
        self.state("TALKING").await;
    }
}

fn prop(v: &JsValue, k: &str) -> JsValue {
    js_sys::Reflect::get(v, &k.into()).unwrap()
}

fn dtmf_sent(f: &Fixture) -> Vec<String> {
    f.api
        .commands
        .borrow()
        .iter()
        .filter_map(|c| match c {
            Command::Dtmf(DtmfRequest { digits }) => Some(digits.clone()),
            _ => None,
        })
        .collect()
}

#[wasm_bindgen_test]
async fn keypad_sends_keys_by_click_and_keyboard_in_order() {
    let f = Fixture::new();
    f.talking().await;
    let before = [rect(&f, "mute"), rect(&f, "hold"), rect(&f, "hangup")];
    f.click("keypad-button");
    f.until("the keypad", |f| f.all("keypad-key").len() == 12)
        .await;
    assert_eq!(
        before,
        [rect(&f, "mute"), rect(&f, "hold"), rect(&f, "hangup")]
    );
    let key_btn = |k: &str| {
        f.el.query_selector(&format!("[data-testid=\"keypad-key\"][data-key=\"{k}\"]"))
            .unwrap()
            .unwrap()
            .unchecked_into::<HtmlElement>()
    };
    key_btn("1").click();
    f.until("1 sent", |f| f.text("keypad-sent") == "1").await;
    // Keys typed while a request is on its way go together, in order.
    f.api.hold_commands.set(true);
    key_btn("2").click();
    let body: web_sys::EventTarget = web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .body()
        .unwrap()
        .into();
    key_on(&body, "3");
    key_on(&body, "#");
    key_on(&body, "a");
    key_on(&body, "*");
    f.until("2 on its way", |_| dtmf_sent(&f).len() == 2).await;
    f.api.release();
    f.until("the rest sent", |f| f.text("keypad-sent") == "123#*")
        .await;
    assert_eq!(dtmf_sent(&f), ["1", "2", "3#*"]);
    // Not while typing in a field of the page.
    let doc = web_sys::window().unwrap().document().unwrap();
    let input = doc.create_element("input").unwrap();
    doc.body().unwrap().append_child(&input).unwrap();
    key_on(&input, "9");
    input.remove();
    sleep(50.0).await;
    assert_eq!(dtmf_sent(&f).len(), 3, "typing in a field is not a key");
    key(&f, "keypad", "Escape");
    f.until("the keypad closed", |f| f.q("keypad").is_none())
        .await;
    assert_eq!(f.focused().as_deref(), Some("keypad-button"));
    // Closed: digits are the page's again.
    key_on(&body, "7");
    sleep(50.0).await;
    assert_eq!(dtmf_sent(&f).len(), 3);
}

#[wasm_bindgen_test]
async fn handle_transfer_for_a_crm_that_picks_the_target() {
    let f = Fixture::new();
    f.state("OFFLINE").await;
    let h = f.handle.as_ref().unwrap();
    let req = |kind: &str, ty: &str, id: &str| -> JsValue {
        let target = js_sys::Object::new();
        js_sys::Reflect::set(&target, &"type".into(), &ty.into()).unwrap();
        js_sys::Reflect::set(&target, &"id".into(), &id.into()).unwrap();
        let o = js_sys::Object::new();
        js_sys::Reflect::set(&o, &"kind".into(), &kind.into()).unwrap();
        js_sys::Reflect::set(&o, &"target".into(), &target).unwrap();
        o.into()
    };
    // No call: not now.
    assert_eq!(
        h.transfer(req("blind", "agent", "agent2@ccc-demo")),
        Ok(false)
    );
    // Malformed: a clear error.
    assert!(h
        .transfer(req("sideways", "agent", "agent2@ccc-demo"))
        .is_err());
    assert!(h.transfer(req("blind", "queue", "x")).is_err());
    assert!(h.transfer(req("blind", "number", "call me")).is_err());
    assert!(h.transfer(JsValue::from_str("agent2")).is_err());
    f.talking().await;
    let h = f.handle.as_ref().unwrap();
    assert_eq!(
        h.transfer(req("consult", "skill-group", "sales@ccc-demo")),
        Ok(true)
    );
    f.until("the consult card", |f| f.q("consult-card").is_some())
        .await;
    assert_eq!(
        f.attr("consult-card", "data-type").as_deref(),
        Some("skill-group")
    );
    // One consult at a time.
    assert_eq!(
        h.transfer(req("blind", "agent", "agent2@ccc-demo")),
        Ok(false)
    );
    assert_eq!(h.command("transfer/cancel", JsValue::UNDEFINED), Ok(true));
    f.until("the card gone", |f| f.q("consult-card").is_none())
        .await;
    assert_eq!(
        h.transfer(req("blind", "number", "139-0000-1111")),
        Ok(true)
    );
    f.state("WORKING").await;
    assert_eq!(
        f.api.commands.borrow().last(),
        Some(&Command::Transfer(TransferRequest {
            kind: TransferKind::Blind,
            target: TransferTarget {
                kind: TargetType::Number,
                id: "13900001111".into(),
            },
            caller_id: None,
        }))
    );
}

#[wasm_bindgen_test]
async fn a_blind_transfer_is_a_transfer_event() {
    let f = Fixture::new();
    let seen: Rc<RefCell<Vec<JsValue>>> = Rc::default();
    let s = seen.clone();
    let cb = Closure::<dyn FnMut(web_sys::CustomEvent)>::new(move |e: web_sys::CustomEvent| {
        s.borrow_mut().push(e.detail());
    });
    f.el.add_event_listener_with_callback("ccc:transfer", cb.as_ref().unchecked_ref())
        .unwrap();
    f.talking().await;
    let h = f.handle.as_ref().unwrap();
    let args =
        js_sys::JSON::parse(r#"{"kind":"blind","target":{"type":"agent","id":"agent2@ccc-demo"}}"#)
            .unwrap();
    assert_eq!(h.transfer(args), Ok(true));
    f.until("the event", |_| seen.borrow().len() == 1).await;
    let d = seen.borrow()[0].clone();
    assert_eq!(prop(&d, "version"), 1);
    assert_eq!(prop(&d, "phase"), "blind");
    assert_eq!(prop(&d, "kind"), "blind");
    assert_eq!(prop(&d, "jobId"), "job-1");
    assert_eq!(prop(&prop(&d, "target"), "id"), "agent2@ccc-demo");
}

#[wasm_bindgen_test]
async fn a_number_target_presents_a_chosen_caller_id_and_the_words_follow_the_language() {
    let f = Fixture::new();
    f.api.session.borrow_mut().caller_ids = vec!["02150001234".into(), "02150005678".into()];
    f.talking().await;
    f.click("transfer-button");
    f.until("the directory listed", |f| !f.targets().is_empty())
        .await;
    assert!(
        f.q("transfer-caller-id").is_none(),
        "no caller id for agents"
    );
    type_into(&f, "transfer-search", "13900001111");
    f.until("the number offered", |f| {
        f.targets().iter().any(|t| t.1 == "13900001111")
    })
    .await;
    f.target("13900001111")
        .unchecked_into::<HtmlElement>()
        .click();
    f.until("the caller-id select", |f| {
        f.q("transfer-caller-id").is_some()
    })
    .await;
    let select: web_sys::HtmlSelectElement = f.get("transfer-caller-id").unchecked_into();
    select.set_value("02150005678");
    select
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    // The language switch reaches the panel's words.
    f.get("lang-switch").unchecked_into::<HtmlElement>().click();
    f.until("Chinese words", |f| f.text("transfer-consult") == "先咨询")
        .await;
    assert_eq!(f.text("transfer-blind"), "直接转接");
    f.click("transfer-consult");
    f.until("the consult card", |f| f.q("consult-card").is_some())
        .await;
    assert!(f.text("consult-status").contains("客户保持中"));
    assert_eq!(
        f.api.commands.borrow().last(),
        Some(&Command::Transfer(TransferRequest {
            kind: TransferKind::Consult,
            target: TransferTarget {
                kind: TargetType::Number,
                id: "13900001111".into(),
            },
            caller_id: Some("02150005678".into()),
        }))
    );
}
