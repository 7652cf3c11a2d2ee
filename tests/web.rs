//! Component tests in a real browser (headless Chromium through chromedriver):
//! mount into a fresh `<section>`, drive signals, assert the DOM.
#![cfg(target_arch = "wasm32")]

use ccc_model::{api::Agent, UserContext, UserState, WorkMode};
use ccc_toolbar::{components::StateBadge, i18n::Lang};
use leptos::{prelude::*, task::tick};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::HtmlElement;

wasm_bindgen_test_configure!(run_in_browser);

/// A fresh container in the page body; removed when dropped.
struct Fixture(HtmlElement);

impl Fixture {
    fn new() -> Self {
        let doc = document();
        let section = doc.create_element("section").unwrap();
        doc.body().unwrap().append_child(&section).unwrap();
        Fixture(section.unchecked_into())
    }

    fn el(&self) -> HtmlElement {
        self.0.clone()
    }

    fn by_testid(&self, id: &str) -> Option<web_sys::Element> {
        self.0
            .query_selector(&format!("[data-testid=\"{id}\"]"))
            .unwrap()
    }

    fn text(&self, id: &str) -> String {
        self.by_testid(id)
            .unwrap_or_else(|| panic!("no element with data-testid={id}"))
            .text_content()
            .unwrap_or_default()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.0.remove();
    }
}

/// The UserContext of the TakeBreak documentation example.
fn take_break_example() -> UserContext {
    UserContext {
        user_id: "user-test@ccc-test".into(),
        instance_id: "ccc-test".into(),
        user_state: UserState::Break,
        break_code: Some("default".into()),
        work_mode: Some(WorkMode::OnSite),
        extension: Some("80011474".into()),
        heartbeat: Some(1_609_249_563_836),
        ..Default::default()
    }
}

#[wasm_bindgen_test]
async fn badge_renders_a_user_context() {
    let f = Fixture::new();
    let agent = RwSignal::new(Agent::from(&take_break_example()));
    let _handle = leptos::mount::mount_to(f.el(), move || view! { <StateBadge agent=agent /> });

    let badge = f.by_testid("state-badge").expect("badge mounted");
    assert_eq!(badge.get_attribute("data-state").as_deref(), Some("BREAK"));
    assert!(badge.class_name().contains("ccc-badge--break"));
    assert_eq!(f.text("agent-state"), "Break");
    assert_eq!(f.text("break-code"), "default");
    assert_eq!(f.text("work-mode"), "Softphone");
}

#[wasm_bindgen_test]
async fn badge_follows_state_changes_and_hides_the_break_code() {
    let f = Fixture::new();
    let agent = RwSignal::new(Agent::from(&take_break_example()));
    let _handle = leptos::mount::mount_to(f.el(), move || view! { <StateBadge agent=agent /> });

    agent.update(|a| {
        a.state = UserState::Ready;
        a.break_code = None;
    });
    tick().await;
    assert_eq!(f.text("agent-state"), "Ready");
    assert!(
        f.by_testid("break-code").is_none(),
        "no break code outside BREAK"
    );
    let badge = f.by_testid("state-badge").unwrap();
    assert_eq!(badge.get_attribute("data-state").as_deref(), Some("READY"));

    // A system break code gets its own label.
    agent.update(|a| {
        a.state = UserState::Break;
        a.break_code = Some("Warm-up".into());
    });
    tick().await;
    assert_eq!(f.text("break-code"), "Warming up");
}

#[wasm_bindgen_test]
async fn badge_speaks_chinese() {
    let f = Fixture::new();
    let agent = RwSignal::new(Agent::from(&take_break_example()));
    let lang = RwSignal::new(Lang::Zh);
    let _handle = leptos::mount::mount_to(
        f.el(),
        move || view! { <StateBadge agent=agent lang=lang /> },
    );
    assert_eq!(f.text("agent-state"), "小休");
    assert_eq!(f.text("work-mode"), "场内（浏览器）");
    lang.set(Lang::En);
    tick().await;
    assert_eq!(f.text("agent-state"), "Break");
}

#[wasm_bindgen_test]
async fn unknown_state_is_shown_verbatim() {
    let f = Fixture::new();
    let agent = RwSignal::new(Agent {
        state: UserState::Unknown("HIBERNATING".into()),
        ..Default::default()
    });
    let _handle = leptos::mount::mount_to(f.el(), move || view! { <StateBadge agent=agent /> });
    assert_eq!(f.text("agent-state"), "HIBERNATING");
    assert!(f.by_testid("work-mode").is_none());
}
