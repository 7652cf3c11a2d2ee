//! Several toolbars in one page stand for several tabs of one browser: they
//! share the Web Locks and `BroadcastChannel` names of their base path, so
//! they elect one leader exactly as tabs do. One fake proxy
//! (`ccc_toolbar::testing::FakeApi`) serves them all; each "tab" counts its
//! own requests. Also: the presence notice.
#![cfg(target_arch = "wasm32")]

use std::{cell::Cell, rc::Rc};

use ccc_model::{
    api::{AgentSnapshot, PresenceNotice, PresencePolicy, Session},
    UserState,
};
use ccc_toolbar::{
    api::{AgentApi, LocalFuture},
    browser::{now_ms, sleep},
    embed::{mount_with_api, MountOptions, ToolbarHandle},
    hooks::channel_name,
    i18n::Lang,
    logic::{Command, Failure},
    state::SyncConfig,
    testing::FakeApi,
};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

/// One tab's view of the shared fake: counts this tab's requests.
struct TabApi {
    fake: Rc<FakeApi>,
    polls: Rc<Cell<u32>>,
}

impl AgentApi for TabApi {
    fn session(&self) -> LocalFuture<'_, Result<Session, Failure>> {
        self.fake.session()
    }
    fn agent(
        &self,
        since: Option<i64>,
        wait_secs: u32,
    ) -> LocalFuture<'_, Result<AgentSnapshot, Failure>> {
        self.polls.set(self.polls.get() + 1);
        self.fake.agent(since, wait_secs)
    }
    fn command(&self, cmd: Command) -> LocalFuture<'_, Result<AgentSnapshot, Failure>> {
        self.fake.command(cmd)
    }
    fn next_state(
        &self,
        next: Option<ccc_model::api::NextState>,
    ) -> LocalFuture<'_, Result<AgentSnapshot, Failure>> {
        self.fake.next_state(next)
    }
    fn device_id(&self) -> String {
        self.fake.device_id()
    }
    fn base_path(&self) -> String {
        self.fake.base_path()
    }
}

/// A toolbar on the shared fake.
struct Tab {
    el: HtmlElement,
    polls: Rc<Cell<u32>>,
    handle: Option<ToolbarHandle>,
}

impl Tab {
    fn open(fake: &Rc<FakeApi>, lang: Lang) -> Tab {
        let doc = web_sys::window().unwrap().document().unwrap();
        let el: HtmlElement = doc.create_element("section").unwrap().unchecked_into();
        doc.body().unwrap().append_child(&el).unwrap();
        let polls = Rc::new(Cell::new(0));
        let api = TabApi {
            fake: fake.clone(),
            polls: polls.clone(),
        };
        let options = MountOptions {
            lang: Some(lang),
            ..Default::default()
        };
        let config = SyncConfig {
            wait_secs: 25,
            backoff_base_ms: 20.0,
            backoff_cap_ms: 160.0,
        };
        let handle = mount_with_api(el.clone(), Rc::new(api), options, config);
        Tab {
            el,
            polls,
            handle: Some(handle),
        }
    }

    fn q(&self, id: &str) -> Option<Element> {
        self.el
            .query_selector(&format!("[data-testid=\"{id}\"]"))
            .unwrap()
    }

    fn root(&self, name: &str) -> Option<String> {
        self.q("ccc-toolbar").and_then(|e| e.get_attribute(name))
    }

    fn shows(&self, state: &str) -> bool {
        self.root("data-state").as_deref() == Some(state)
            && self.root("data-connection").as_deref() == Some("connected")
    }

    fn click(&self, id: &str) {
        self.q(id)
            .unwrap_or_else(|| panic!("no [data-testid={id}]"))
            .unchecked_into::<HtmlElement>()
            .click();
    }

    fn close(mut self) {
        if let Some(mut h) = self.handle.take() {
            h.unmount();
        }
    }
}

impl Drop for Tab {
    fn drop(&mut self) {
        if let Some(mut h) = self.handle.take() {
            h.unmount();
        }
        self.el.remove();
    }
}

/// Waits (polling every 10 ms, up to `ms`) until `cond` holds.
async fn until(what: &str, ms: f64, cond: impl Fn() -> bool) {
    let deadline = now_ms() + ms;
    while !cond() {
        assert!(now_ms() < deadline, "timed out waiting for {what}");
        sleep(10.0).await;
    }
}

/// A fake proxy with its own base path, so no other test's tabs join in.
fn fake(base: &str) -> Rc<FakeApi> {
    let f = FakeApi::new();
    *f.base_path.borrow_mut() = base.into();
    f
}

fn set_state(fake: &FakeApi, state: UserState) {
    fake.update(|s| s.agent.state = state);
}

/// Runs `script` in the page (`name` is the lock name) and returns its value.
fn js(script: &str, name: &str) -> JsValue {
    let f = js_sys::Function::new_with_args("name", script);
    f.call1(&JsValue::NULL, &JsValue::from_str(name)).unwrap()
}

#[wasm_bindgen_test]
async fn one_tab_polls_the_others_follow_and_command() {
    let fake = fake("/tabs-1");
    let a = Tab::open(&fake, Lang::En);
    until("the first tab to sync", 2_000.0, || a.shows("OFFLINE")).await;
    let b = Tab::open(&fake, Lang::En);
    let c = Tab::open(&fake, Lang::En);
    until("the followers to show the leader's state", 2_000.0, || {
        b.shows("OFFLINE") && c.shows("OFFLINE")
    })
    .await;
    assert_eq!(fake.session_calls.get(), 1, "one session fetch in all");

    // Every change reaches every tab; only the leader asks the proxy.
    set_state(&fake, UserState::Break);
    until("all tabs to show BREAK", 2_000.0, || {
        a.shows("BREAK") && b.shows("BREAK") && c.shows("BREAK")
    })
    .await;

    // A command from a follower: one POST from it, the result in every tab.
    b.click("ready");
    until("all tabs to show READY", 2_000.0, || {
        a.shows("READY") && b.shows("READY") && c.shows("READY")
    })
    .await;
    assert_eq!(fake.commands.borrow().len(), 1);
    assert_eq!(
        (b.polls.get(), c.polls.get()),
        (0, 0),
        "followers never poll"
    );
    assert!(a.polls.get() >= 2, "the leader long-polls");

    // The leader goes away: one follower takes over, without a flash.
    a.close();
    until("a follower to take over", 3_000.0, || {
        assert!(b.shows("READY") && c.shows("READY"), "no flash");
        b.polls.get() + c.polls.get() > 0
    })
    .await;
    let (b_polls, c_polls) = (b.polls.get(), c.polls.get());
    assert!(b_polls == 0 || c_polls == 0, "one new leader");
    set_state(&fake, UserState::Break);
    until("both remaining tabs to show BREAK", 2_000.0, || {
        b.shows("BREAK") && c.shows("BREAK")
    })
    .await;
    assert!(
        (b.polls.get() == 0) == (b_polls == 0) && (c.polls.get() == 0) == (c_polls == 0),
        "still one poller"
    );
}

#[wasm_bindgen_test]
async fn a_silent_leader_is_replaced_and_a_deposed_one_follows() {
    let fake = fake("/tabs-2");
    let name = channel_name("/tabs-2");
    // A "frozen tab": holds the lock and never says anything.
    js(
        "window.__frozen = new Promise(r => window.__thaw = r); \
         navigator.locks.request(name, () => window.__frozen).catch(e => window.__lost1 = e.name);",
        &name,
    );
    let a = Tab::open(&fake, Lang::En);
    until("the tab to steal the lock and sync", 3_000.0, || {
        a.shows("OFFLINE")
    })
    .await;
    assert_eq!(js("return window.__lost1", &name), "AbortError");

    // Another "tab" steals the lock and stays silent: ours follows, finds
    // the new leader silent, and takes the lock back.
    js(
        "navigator.locks.request(name, {steal: true}, () => window.__frozen).catch(e => window.__lost2 = e.name);",
        &name,
    );
    until("the lock to be taken back", 3_000.0, || {
        js("return window.__lost2", &name) == "AbortError"
    })
    .await;
    let polls = a.polls.get();
    set_state(&fake, UserState::Ready);
    until("the tab to see the change", 2_000.0, || a.shows("READY")).await;
    assert!(a.polls.get() > polls);
    js("window.__thaw()", &name);
}

#[wasm_bindgen_test]
async fn a_frozen_leader_gives_the_lock_up() {
    let fake = fake("/tabs-3");
    let a = Tab::open(&fake, Lang::En);
    until("the first tab to sync", 2_000.0, || a.shows("OFFLINE")).await;
    let b = Tab::open(&fake, Lang::En);
    until("the follower to sync", 2_000.0, || b.shows("OFFLINE")).await;
    // `freeze` reaches every toolbar of this page: both give up; on
    // `resume` both stand again and one leads.
    let doc = web_sys::window().unwrap().document().unwrap();
    doc.dispatch_event(&web_sys::Event::new("freeze").unwrap())
        .unwrap();
    let polls = a.polls.get() + b.polls.get();
    doc.dispatch_event(&web_sys::Event::new("resume").unwrap())
        .unwrap();
    set_state(&fake, UserState::Break);
    until("both tabs to show BREAK", 3_000.0, || {
        a.shows("BREAK") && b.shows("BREAK")
    })
    .await;
    assert!(a.polls.get() + b.polls.get() > polls);
}

#[wasm_bindgen_test]
async fn without_web_locks_a_heartbeat_elects_one_leader() {
    js(
        "Object.defineProperty(navigator, 'locks', {value: undefined, configurable: true})",
        "",
    );
    let fake = fake("/tabs-4");
    let a = Tab::open(&fake, Lang::En);
    let b = Tab::open(&fake, Lang::En);
    until("both tabs to sync", 3_000.0, || {
        a.shows("OFFLINE") && b.shows("OFFLINE")
    })
    .await;
    set_state(&fake, UserState::Ready);
    until("both tabs to show READY", 2_000.0, || {
        a.shows("READY") && b.shows("READY")
    })
    .await;
    // Two tabs started together may both lead for a moment; then one stops.
    let (a0, b0) = (a.polls.get(), b.polls.get());
    set_state(&fake, UserState::Break);
    until("both tabs to show BREAK", 2_000.0, || {
        a.shows("BREAK") && b.shows("BREAK")
    })
    .await;
    set_state(&fake, UserState::Ready);
    until("both tabs to show READY", 2_000.0, || {
        a.shows("READY") && b.shows("READY")
    })
    .await;
    let (a1, b1) = (a.polls.get() - a0, b.polls.get() - b0);
    js("delete navigator.locks", "");
    assert!(
        (a1 == 0) != (b1 == 0),
        "exactly one tab polls: {a1} and {b1} new polls"
    );
    drop(a);
    set_state(&fake, UserState::Break);
    until("the other tab to lead and show BREAK", 4_000.0, || {
        b.shows("BREAK") && b.polls.get() > b0 + b1
    })
    .await;
}

fn presence(policy: PresencePolicy, at: i64) -> Option<PresenceNotice> {
    Some(PresenceNotice {
        policy,
        break_code: Some("away".into()),
        grace_secs: 90,
        at,
    })
}

#[wasm_bindgen_test]
async fn presence_notice_explains_and_can_be_dismissed() {
    let fake = fake("/presence");
    let a = Tab::open(&fake, Lang::En);
    until("sync", 2_000.0, || a.shows("OFFLINE")).await;
    let region = a.q("presence-region").expect("live region always there");
    assert_eq!(region.get_attribute("aria-live").as_deref(), Some("polite"));
    let shown = |t: &Tab| {
        t.q("presence-notice")
            .is_some_and(|n| !n.has_attribute("hidden"))
    };
    assert!(!shown(&a));
    assert!(a.q("presence-text").is_none());

    fake.update(|s| {
        s.agent.state = UserState::Break;
        s.agent.break_code = Some("away".into());
        s.presence = presence(PresencePolicy::Break, 1_000);
    });
    until("the notice", 2_000.0, || shown(&a)).await;
    let text = a.q("presence-text").unwrap().text_content().unwrap();
    assert!(
        text.starts_with("You were set to Break: away at ")
            && text.contains(", because no toolbar was open for 90 s."),
        "{text}"
    );
    a.click("dismiss-presence");
    until("the notice to go", 2_000.0, || !shown(&a)).await;

    // A reload does not show the dismissed notice again; a new one shows.
    drop(a);
    let a = Tab::open(&fake, Lang::Zh);
    until("sync", 2_000.0, || a.shows("BREAK")).await;
    assert!(!shown(&a), "dismissed stays dismissed");
    fake.update(|s| {
        s.agent.state = UserState::Offline;
        s.presence = presence(PresencePolicy::SignOut, 2_000);
    });
    until("the new notice", 2_000.0, || shown(&a)).await;
    let notice = a.q("presence-notice").unwrap();
    assert_eq!(
        notice.get_attribute("data-policy").as_deref(),
        Some("sign-out")
    );
    let text = a.q("presence-text").unwrap().text_content().unwrap();
    assert!(
        text.contains("秒内没有打开的工具条") && text.contains("被签出"),
        "{text}"
    );
}
