//! Dialling from a CRM page (examples/crm.html) against the real proxy and
//! simulator: click-to-dial through the mount handle → DIALING → the
//! customer answers → TALKING → hold → retrieve → hang up → WORKING; a busy
//! number (the simulator's `…0000`) explained in plain words; a `tel:` link
//! dialling with `telLinks` on and left alone with it off. The screenshot
//! of the call on hold goes to artifacts/screenshots/crm-dial.png.

use ccc_e2e::{browser::BrowserOptions, screenshot_dir, Browser, Stack, StackOptions};
use serde_json::json;

const AGENT: &str = "agent2@ccc-demo";

/// Records, at the window (after the toolbar's document listener), whether a
/// `tel:` click's default action was prevented, then prevents it.
const TEL_SPY: &str = r#"
window.__telClicks = [];
window.addEventListener("click", (e) => {
  if (e.target.closest && e.target.closest('a[href^="tel:"]')) {
    window.__telClicks.push(e.defaultPrevented);
    e.preventDefault();
  }
});
"#;
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dial_from_the_crm_page() {
    let stack = Stack::start(StackOptions {
        // WORKING stays until the test moves on.
        after_call_ms: 600_000,
        proxy_flags: vec!["--caller-ids".into(), "057188880000".into()],
        ..Default::default()
    })
    .await;
    // Dialled customers wait for the test to answer for them.
    stack
        .admin("PUT", "/_sim/dial", json!({"answerMs": null}))
        .await;
    let b = Browser::start(BrowserOptions::default()).await;
    b.sign_in(&stack, AGENT).await;
    b.wait_state("OFFLINE").await;

    b.goto(&stack.url("/examples/crm.html")).await;
    b.wait_attr("ccc-toolbar", "data-connection", "connected")
        .await;
    b.choose("sign-in").await;
    b.wait_state("BREAK").await;

    // Click-to-dial: the CRM calls handle.dial(number).
    b.click("crm-call").await;
    b.wait_state("DIALING").await;
    b.wait_text("call-party", "+8613912345678").await;
    b.wait_text("call-status", "Calling").await;
    b.testid("dial-cancel").await;
    b.wait_text("crm-log", "\"direction\":\"OUTBOUND\"").await;
    let job = b
        .testid("call-info")
        .await
        .attr("data-job-id")
        .await
        .unwrap()
        .expect("the call's job id");
    stack
        .admin("POST", &format!("/_sim/calls/{job}/answer"), json!({}))
        .await;
    b.wait_state("TALKING").await;

    b.click("hold").await;
    b.wait_attr("ccc-toolbar", "data-held", "true").await;
    b.wait_attr("hold", "aria-pressed", "true").await;
    b.wait_text("hold-time", "On hold").await;
    b.screenshot(&screenshot_dir().join("crm-dial.png")).await;
    b.click("hold").await;
    b.wait_attr("ccc-toolbar", "data-held", "false").await;
    assert_eq!(
        b.js("return document.querySelector('[data-testid=hold-time]').textContent")
            .await,
        json!(""),
        "no hold time once resumed"
    );

    b.click("hangup").await;
    b.wait_state("WORKING").await;
    b.wait_attr("recent-call", "data-number", "+8613912345678")
        .await;

    // A busy number, typed into the dial box and sent with Enter.
    let input = b.testid("dial-number").await;
    input.send_keys("138 0000 0000\u{E007}").await.unwrap();
    b.wait_attr("error-message", "data-code", "UserBusy").await;
    b.wait_text("error-message", "The number you called is busy")
        .await;
    b.wait_state("WORKING").await;

    // telLinks on (the example's default): a tel: link dials, and the
    // toolbar keeps the browser from following it.
    b.js(TEL_SPY).await;
    b.click("crm-tel").await;
    b.wait_state("DIALING").await;
    assert_eq!(b.js("return window.__telClicks").await, json!([true]));
    b.wait_text("call-party", "+8613912345678").await;
    b.click("dial-cancel").await;
    b.wait_state("WORKING").await;

    // telLinks off: the same link does nothing in the toolbar: the click
    // reaches the window with its default action intact (a listener there
    // records that and cancels it, so headless Chromium does not try to
    // launch an external `tel:` handler, which swallows the next click).
    // The lunch button afterwards proves the page is alive and no dial was
    // in flight (a pending dial would refuse it).
    b.goto(&stack.url("/examples/crm.html?telLinks=off")).await;
    b.wait_state("WORKING").await;
    b.js(TEL_SPY).await;
    b.click("crm-tel").await;
    assert_eq!(
        b.js("return window.__telClicks").await,
        json!([false]),
        "the link's click kept its default action (the toolbar left it alone)"
    );
    b.click("crm-lunch").await;
    b.wait_state("BREAK").await;
    let log = b.wait_text("crm-log", "ccc:state").await;
    assert!(!log.contains("DIALING"), "nothing was dialled: {log}");
    assert_eq!(
        b.testid("dial-number").await.prop("value").await.unwrap(),
        Some(String::new())
    );

    b.close().await;
    stack.stop().await;
}
