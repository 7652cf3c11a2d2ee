//! A screenshot of every phase of the toolbar, in both layouts (the compact
//! bar in a 360 px CRM side panel, the full softphone tab) and both themes,
//! against the real proxy and simulator: offline, ready, the status menu
//! open, break, settings open, ringing, talking, muted and held with a next
//! state, after-call work with a next state, dialing. Written to
//! `artifacts/screenshots/<bar|tab>-<light|dark>-<phase>.png`; docs/widget.md
//! shows a representative set (copied to docs/screenshots/).
//!
//! Issue 18 adds the transfer panel, the consult card and the keypad in the
//! compact bar (`bar-<theme>-transfer|consult|keypad.png`), with a second
//! agent in a second browser to consult.
//!
//! Each phase is also asserted (state, card phase, menu open), so a
//! screenshot never shows something other than its name says.

use ccc_e2e::{
    agents::{answered_call, customer_hangs_up, go_ready, pick_target},
    browser::BrowserOptions,
    screenshot_dir, Browser, Stack, StackOptions,
};
use serde_json::json;

const AGENT: &str = "agent1@ccc-demo";

/// The two layouts: where the toolbar is, and how it is shot.
#[derive(Clone, Copy)]
enum Layout {
    /// `/examples/crm.html`, the side panel narrowed to 360 px.
    Bar,
    /// `/`, the standalone softphone tab.
    Tab,
}

impl Layout {
    fn name(self) -> &'static str {
        match self {
            Layout::Bar => "bar",
            Layout::Tab => "tab",
        }
    }
}

struct Shooter<'a> {
    b: &'a Browser,
    layout: Layout,
    theme: &'static str,
}

impl Shooter<'_> {
    async fn open(&self, stack: &Stack) {
        let dark = if self.theme == "dark" {
            "?theme=dark"
        } else {
            ""
        };
        match self.layout {
            Layout::Bar => {
                self.b.client.set_window_size(1100, 900).await.unwrap();
                self.b
                    .goto(&stack.url(&format!("/examples/crm.html{dark}")))
                    .await;
                self.b.testid("crm-toolbar-host").await;
                // A 360 px side panel, tall enough to hold the open menus.
                self.b
                    .js(
                        "const h = document.querySelector('[data-testid=crm-toolbar-host]');\
                         h.style.width = '360px'; h.style.minHeight = '470px';\
                         h.style.padding = '8px'; h.style.boxSizing = 'content-box';",
                    )
                    .await;
            }
            Layout::Tab => {
                self.b.client.set_window_size(900, 620).await.unwrap();
                self.b.goto(&stack.url(&format!("/{dark}"))).await;
            }
        }
        self.b
            .wait_attr("ccc-toolbar", "data-connection", "connected")
            .await;
    }

    async fn shot(&self, phase: &str) {
        // Let transitions and the one-second clock settle.
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        let path =
            screenshot_dir().join(format!("{}-{}-{phase}.png", self.layout.name(), self.theme));
        let png = match self.layout {
            Layout::Bar => self
                .b
                .testid("crm-toolbar-host")
                .await
                .screenshot()
                .await
                .expect("element screenshot"),
            Layout::Tab => self.b.client.screenshot().await.expect("screenshot"),
        };
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

/// The settings drawer, open, leaves the dial box visible and usable: the
/// number field's centre is the field itself (nothing lies over it), and
/// the drawer does not overlap it.
async fn dial_box_usable_with_settings_open(b: &Browser) {
    let seen = b
        .js("const q = id => document.querySelector(`[data-testid=${id}]`);\
             q('dial-number').scrollIntoView({block: 'center'});\
             const d = q('dial-number').getBoundingClientRect();\
             const s = q('settings').getBoundingClientRect();\
             const top = document.elementFromPoint(d.x + d.width / 2, d.y + d.height / 2);\
             const overlap = !(s.bottom <= d.top || d.bottom <= s.top || s.right <= d.left || d.right <= s.left);\
             return [top === q('dial-number'), overlap];")
        .await;
    assert_eq!(
        seen,
        json!([true, false]),
        "[dial box on top at its centre, drawer overlapping it]"
    );
}

/// No empty row between the status row and the call card / dial box: the
/// space between them is the toolbar's one row gap (the empty error line
/// and presence notice take no room).
async fn no_empty_row_under_the_status(b: &Browser) {
    let seen = b
        .js(
            "const root = document.querySelector('[data-testid=ccc-toolbar]');\
             const top = root.querySelector('.ccc-top').getBoundingClientRect();\
             const main = root.querySelector('.ccc-main').getBoundingClientRect();\
             const gap = parseFloat(getComputedStyle(root).rowGap) || 0;\
             return Math.round(main.top - top.bottom - gap);",
        )
        .await;
    assert_eq!(
        seen,
        json!(0),
        "extra space (px) between the status row and the call card"
    );
}

async fn every_phase(stack: &Stack, b: &Browser, layout: Layout, theme: &'static str) {
    let s = Shooter { b, layout, theme };
    s.open(stack).await;
    if b.js("return document.querySelector('[data-testid=ccc-toolbar]').dataset.state")
        .await
        != json!("OFFLINE")
    {
        b.choose("sign-out").await;
        b.wait_state("OFFLINE").await;
    }
    s.shot("offline").await;

    b.choose("sign-in").await;
    b.wait_state("BREAK").await;
    b.choose("ready").await;
    b.wait_state("READY").await;
    no_empty_row_under_the_status(b).await;
    s.shot("ready").await;

    b.click("status-menu-button").await;
    b.wait_visible("status-menu").await;
    s.shot("status-menu").await;
    b.click("status-menu-button").await;

    b.choose_break("lunch").await;
    b.wait_state("BREAK").await;
    s.shot("break").await;

    b.open_settings().await;
    dial_box_usable_with_settings_open(b).await;
    b.js("window.scrollTo(0, 0)").await;
    s.shot("settings").await;
    b.click("settings-close").await;

    b.choose("ready").await;
    b.wait_state("READY").await;
    stack.ring(AGENT, "13800138000").await;
    b.wait_state("RINGING").await;
    b.wait_attr("call-info", "data-phase", "ringing").await;
    s.shot("ringing").await;

    b.click("answer").await;
    b.wait_state("TALKING").await;
    no_empty_row_under_the_status(b).await;
    s.shot("talking").await;

    b.click("mute").await;
    b.wait_attr("ccc-toolbar", "data-muted", "true").await;
    b.click("hold").await;
    b.wait_attr("ccc-toolbar", "data-held", "true").await;
    let next = b.testid("next-state").await;
    next.select_by_value("break:lunch").await.unwrap();
    b.wait_attr("next-state", "aria-busy", "false").await;
    s.shot("held").await;
    // Cancelled, so the hang-up below stays in after-call work.
    b.click("next-state-cancel").await;
    b.wait_attr("next-state", "aria-busy", "false").await;

    b.click("hold").await;
    b.wait_attr("ccc-toolbar", "data-held", "false").await;
    b.click("hangup").await;
    b.wait_state("WORKING").await;
    let next = b.testid("next-state").await;
    next.select_by_value("ready").await.unwrap();
    b.wait_attr("next-state", "aria-busy", "false").await;
    s.shot("wrap-up").await;

    b.choose("ready").await;
    b.wait_state("READY").await;
    let input = b.testid("dial-number").await;
    input.send_keys("13912345678\u{E007}").await.unwrap();
    b.wait_state("DIALING").await;
    b.wait_attr("call-info", "data-phase", "dialing").await;
    s.shot("dialing").await;
    // Cancelled before anyone answered: back to the state dialled from.
    b.click("dial-cancel").await;
    b.wait_state("READY").await;
    b.choose("sign-out").await;
    b.wait_state("OFFLINE").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_phase_in_both_layouts_and_themes() {
    let stack = Stack::start(StackOptions {
        // After-call work stays until the agent ends it.
        after_call_ms: 600_000,
        // Four rounds of every phase take about 50 state changes in a
        // minute, far past an agent's burst of 10: lift the limits the
        // proxy puts on a person (they have their own tests).
        proxy_flags: ["--rate-limit-burst", "100", "--dial-limit-per-minute", "20"]
            .map(String::from)
            .to_vec(),
        ..Default::default()
    })
    .await;
    // Dialled customers never answer: DIALING stays for the screenshot.
    stack
        .admin("PUT", "/_sim/dial", json!({"answerMs": null}))
        .await;
    let b = Browser::start(BrowserOptions::default()).await;
    b.sign_in(&stack, AGENT).await;
    b.wait_state("OFFLINE").await;
    for layout in [Layout::Bar, Layout::Tab] {
        for theme in ["light", "dark"] {
            every_phase(&stack, &b, layout, theme).await;
        }
    }
    b.close().await;
    stack.stop().await;
}

/// Issue 18: the transfer panel (Bo picked), the consult card (Bo
/// answered, the customer on hold) and the keypad, in the 360 px bar, light
/// and dark. Agent 2 (Bo Wang) is online in a second browser to be
/// consulted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_panel_consult_card_and_keypad() {
    const BO: &str = "agent2@ccc-demo";
    let stack = Stack::start(StackOptions {
        after_call_ms: 600_000,
        proxy_flags: ["--rate-limit-burst", "100"].map(String::from).to_vec(),
        ..Default::default()
    })
    .await;
    let a = Browser::start(BrowserOptions::default()).await;
    let bo = Browser::start(BrowserOptions::default()).await;
    bo.sign_in(&stack, BO).await;
    go_ready(&bo).await;
    a.sign_in(&stack, AGENT).await;
    go_ready(&a).await;
    for theme in ["light", "dark"] {
        let s = Shooter {
            b: &a,
            layout: Layout::Bar,
            theme,
        };
        s.open(&stack).await;
        a.wait_state("READY").await;
        let job = answered_call(&stack, &a, AGENT, "13800138000").await;

        pick_target(&a, "", BO).await;
        s.shot("transfer").await;

        a.click("transfer-consult").await;
        bo.wait_state("RINGING").await;
        bo.click("answer").await;
        a.wait_attr("consult-card", "data-phase", "talking").await;
        s.shot("consult").await;

        a.click("transfer-cancel").await;
        a.wait_attr("ccc-toolbar", "data-held", "false").await;
        a.click("keypad-button").await;
        a.wait_visible("keypad").await;
        for key in ["1", "2", "3", "#"] {
            a.client
                .find(fantoccini::Locator::Css(&format!(
                    "[data-testid=\"keypad-key\"][data-key=\"{key}\"]"
                )))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
        }
        a.wait_text("keypad-sent", "123#").await;
        s.shot("keypad").await;

        customer_hangs_up(&stack, &job).await;
        a.wait_state("WORKING").await;
        a.choose("ready").await;
        a.wait_state("READY").await;
        bo.wait_state("WORKING").await;
        bo.choose("ready").await;
        bo.wait_state("READY").await;
    }
    a.close().await;
    bo.close().await;
    stack.stop().await;
}
