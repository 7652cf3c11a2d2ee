//! The Chromium tests' fixture, shared by `toolbar.rs`, `transfer.rs` and `ringing.rs`: a
//! fresh container in the page body with a toolbar on the fake API
//! (`ccc_toolbar::testing::FakeApi`), DOM queries by `data-testid`, and a
//! wait that polls up to a deadline. Each test file adds its own helpers in
//! an `impl Fixture` of its own.
// Each test file is its own crate and uses only some of these.
#![allow(dead_code)]

use std::rc::Rc;

use ccc_toolbar::{
    api::AgentApi,
    browser::{now_ms, sleep},
    embed::{mount_with_api, MountOptions, ToolbarHandle},
    i18n::Lang,
    state::SyncConfig,
    testing::FakeApi,
};
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement};

/// A toolbar mounted in its own container; unmounted and removed on drop.
pub struct Fixture {
    pub el: HtmlElement,
    pub api: Rc<FakeApi>,
    pub handle: Option<ToolbarHandle>,
}

/// Sync timings that keep the tests quick.
pub fn fast() -> SyncConfig {
    SyncConfig {
        wait_secs: 25,
        backoff_base_ms: 20.0,
        backoff_cap_ms: 160.0,
    }
}

impl Fixture {
    /// Mounts a toolbar on `api` (English unless `options` say otherwise).
    pub fn with(api: Rc<FakeApi>, mut options: MountOptions) -> Self {
        let doc = web_sys::window().unwrap().document().unwrap();
        let el: HtmlElement = doc.create_element("section").unwrap().unchecked_into();
        doc.body().unwrap().append_child(&el).unwrap();
        options.lang.get_or_insert(Lang::En);
        let dyn_api: Rc<dyn AgentApi> = Rc::new(api.clone());
        let handle = mount_with_api(el.clone(), dyn_api, options, fast());
        Fixture {
            el,
            api,
            handle: Some(handle),
        }
    }

    pub fn q(&self, id: &str) -> Option<Element> {
        self.el
            .query_selector(&format!("[data-testid=\"{id}\"]"))
            .unwrap()
    }

    pub fn get(&self, id: &str) -> Element {
        self.q(id)
            .unwrap_or_else(|| panic!("no [data-testid={id}]"))
    }

    pub fn text(&self, id: &str) -> String {
        self.get(id).text_content().unwrap_or_default()
    }

    /// The text of `data-testid=id`, `None` while it is not in the DOM.
    pub fn text_now(&self, id: &str) -> Option<String> {
        self.q(id).and_then(|e| e.text_content())
    }

    pub fn attr(&self, id: &str, name: &str) -> Option<String> {
        self.q(id).and_then(|e| e.get_attribute(name))
    }

    pub fn click(&self, id: &str) {
        self.get(id).unchecked_into::<HtmlElement>().click();
    }

    /// Waits (polling every 10 ms, up to 3 s) until `cond` holds.
    pub async fn until(&self, what: &str, cond: impl Fn(&Self) -> bool) {
        let deadline = now_ms() + 3_000.0;
        while !cond(self) {
            if now_ms() > deadline {
                panic!(
                    "timed out waiting for {what}; DOM: {}",
                    self.el.inner_html()
                );
            }
            sleep(10.0).await;
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(mut h) = self.handle.take() {
            h.unmount();
        }
        self.el.remove();
    }
}
