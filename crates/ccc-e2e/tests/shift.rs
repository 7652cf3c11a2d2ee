//! A whole shift, as an agent does it, in headless Chromium against the real
//! proxy and simulator: sign in, ready, take a call, mute, hang up, break with
//! a reason, switch work mode, sign out (answering and hanging up with the
//! toolbar's own buttons); and a CCC error rolled back and
//! explained. Screenshots of the standalone tab (light and dark) are written
//! to artifacts/screenshots/.

use ccc_e2e::{browser::BrowserOptions, screenshot_dir, Browser, Stack, StackOptions};
use serde_json::json;

const AGENT: &str = "agent1@ccc-demo";
const CALLER: &str = "13800138000";

async fn signed_in_browser(stack: &Stack, opts: BrowserOptions) -> Browser {
    let browser = Browser::start(opts).await;
    browser.sign_in(stack, AGENT).await;
    browser.wait_state("OFFLINE").await;
    browser
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_shift() {
    let stack = Stack::start(StackOptions::default()).await;
    let b = signed_in_browser(&stack, BrowserOptions::default()).await;
    let shots = screenshot_dir();

    // Offline: Ready is not possible yet, and the toolbar says why.
    let ready = b.testid("ready").await;
    let disabled = ready.attr("disabled").await.unwrap().is_some()
        || ready.attr("aria-disabled").await.unwrap().as_deref() == Some("true");
    assert!(disabled, "Ready is disabled while offline");
    let why = ready.attr("title").await.unwrap().unwrap_or_default();
    assert!(!why.is_empty(), "a disabled control says why");

    // Go online (from the status menu): CCC puts the agent on BREAK / Warm-up.
    b.choose("sign-in").await;
    b.wait_state("BREAK").await;
    b.wait_text("break-code", "Warming up").await;

    // Available.
    b.choose("ready").await;
    b.wait_state("READY").await;
    b.testid("state-timer").await;
    b.screenshot(&shots.join("standalone-light.png")).await;

    // A customer calls; the agent answers from the toolbar.
    stack.ring(AGENT, CALLER).await;
    b.wait_state("RINGING").await;
    b.wait_text("call-info", CALLER).await;
    b.click("answer").await;
    b.wait_state("TALKING").await;

    // Mute and unmute: the toolbar shows the server's MUTED flag.
    b.click("mute").await;
    b.wait_attr("ccc-toolbar", "data-muted", "true").await;
    b.wait_attr("mute", "aria-pressed", "true").await;
    b.screenshot(&shots.join("standalone-talking-muted.png"))
        .await;
    b.click("mute").await;
    b.wait_attr("ccc-toolbar", "data-muted", "false").await;

    // The agent hangs up: after-call work, then ready again.
    b.click("hangup").await;
    b.wait_state("WORKING").await;
    b.wait_state("READY").await;

    // The next caller hangs up first.
    let job = stack.ring(AGENT, "13900139000").await;
    b.wait_state("RINGING").await;
    b.click("answer").await;
    b.wait_state("TALKING").await;
    stack
        .admin(
            "POST",
            &format!("/_sim/calls/{job}/hangup"),
            json!({"by": "customer"}),
        )
        .await;
    b.wait_state("WORKING").await;
    b.wait_state("READY").await;

    // A break with a reason picked from the configured list.
    let reason = b.choose_break("lunch").await;
    b.wait_state("BREAK").await;
    b.wait_text("break-code", &reason).await;

    // Switch to the desk phone, in Settings.
    b.open_settings().await;
    let picker = b.testid("work-mode-picker").await;
    picker.select_by_value("OFFICE_PHONE").await.unwrap();
    b.click("work-mode-apply").await;
    b.wait_text("work-mode", "Desk phone").await;
    b.click("settings-close").await;

    // Sign out.
    b.choose("sign-out").await;
    b.wait_state("OFFLINE").await;

    b.close().await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ccc_error_rolls_back_and_is_explained() {
    let stack = Stack::start(StackOptions::default()).await;
    let b = signed_in_browser(&stack, BrowserOptions::default()).await;
    b.choose("sign-in").await;
    b.wait_state("BREAK").await;

    // CCC refuses the next ReadyForService.
    stack
        .admin(
            "PUT",
            "/_sim/faults",
            json!({"errorRate": 1.0, "errorCode": "InvalidOperation.UserState", "actions": ["ReadyForService"]}),
        )
        .await;
    b.choose("ready").await;
    let msg = b.testid("error-message").await;
    let text = explanation(&msg).await;
    assert!(!text.contains("undefined"), "{text}");
    // Nothing optimistic remains: still on break.
    b.wait_state("BREAK").await;
    let role = msg.attr("role").await.unwrap();
    let live = msg.attr("aria-live").await.unwrap();
    assert!(
        role.as_deref() == Some("alert") || live.is_some(),
        "the error is announced to screen readers"
    );

    stack.admin("DELETE", "/_sim/faults", json!({})).await;
    b.choose("ready").await;
    b.wait_state("READY").await;

    b.close().await;
    stack.stop().await;
}

/// The text of the error element once it has one.
async fn explanation(el: &fantoccini::elements::Element) -> String {
    ccc_e2e::eventually(
        "an explanation in error-message",
        ccc_e2e::browser::UI_DEADLINE,
        || async {
            let t = el.text().await.map_err(|e| e.to_string())?;
            if t.trim().is_empty() {
                Err("empty".into())
            } else {
                Ok(t)
            }
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dark_theme_screenshot() {
    let stack = Stack::start(StackOptions::default()).await;
    let b = signed_in_browser(&stack, BrowserOptions::default()).await;
    b.choose("sign-in").await;
    b.wait_state("BREAK").await;
    b.goto(&stack.url("/?theme=dark")).await;
    b.wait_state("BREAK").await;
    let dark = b
        .testid("ccc-toolbar")
        .await
        .attr("class")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(dark.contains("dark"), "dark theme applied: class={dark}");
    b.screenshot(&screenshot_dir().join("standalone-dark.png"))
        .await;
    b.close().await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_the_browser_language() {
    let stack = Stack::start(StackOptions::default()).await;
    let b = Browser::start(BrowserOptions {
        lang: Some("zh-CN".into()),
        ..BrowserOptions::default()
    })
    .await;
    b.goto(&stack.url("/")).await;
    b.click(&format!("signin-{AGENT}")).await;
    b.wait_text("agent-state", "离线").await;
    b.choose("sign-in").await;
    b.wait_text("agent-state", "小休").await;
    b.screenshot(&screenshot_dir().join("standalone-zh-CN.png"))
        .await;
    b.close().await;
    stack.stop().await;
}
