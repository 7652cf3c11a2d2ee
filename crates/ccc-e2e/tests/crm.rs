//! The fake CRM page (examples/crm.html) embeds the toolbar through the
//! proxy's stable `/ccc-toolbar.js` and `mount()`: events reach the host
//! element, the host drives the toolbar through the handle, shortcuts work
//! on the page but never inside the host's text inputs. Screenshots of the
//! page in light and dark themes go to artifacts/screenshots/.

use ccc_e2e::{browser::BrowserOptions, screenshot_dir, Browser, Stack, StackOptions};

const AGENT: &str = "agent3@ccc-demo";

/// Dispatches Alt+Shift+R (the default Ready shortcut) on the element `selector`.
fn press_ready_on(selector: &str) -> String {
    format!(
        "document.querySelector('{selector}').dispatchEvent(new KeyboardEvent('keydown', \
         {{key: 'R', code: 'KeyR', altKey: true, shiftKey: true, bubbles: true}})); return true;"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crm_page_embeds_the_toolbar() {
    let stack = Stack::start(StackOptions::default()).await;
    let b = Browser::start(BrowserOptions::default()).await;
    b.sign_in(&stack, AGENT).await;
    b.wait_state("OFFLINE").await;

    b.goto(&stack.url("/examples/crm.html")).await;
    b.testid("crm-toolbar-host").await;
    b.wait_state("OFFLINE").await;
    b.wait_attr("ccc-toolbar", "data-connection", "connected")
        .await;
    // Versioned events reach the host element (the page logs them).
    b.wait_text("crm-log", "ccc:connection").await;
    b.wait_text("crm-log", "\"version\":1").await;

    b.choose("sign-in").await;
    b.wait_state("BREAK").await;
    b.wait_text("crm-log", "ccc:state").await;

    // A shortcut typed inside the host's notes field does nothing...
    b.js(&press_ready_on("[data-testid=crm-notes]")).await;
    // ...and the toolbar is still on break after a fresh round trip.
    b.click("crm-lunch").await;
    b.wait_text("break-code", "Lunch").await; // the display name of `lunch`
    b.wait_state("BREAK").await;
    // The same shortcut on the page makes the agent ready.
    b.js(&press_ready_on("body")).await;
    b.wait_state("READY").await;
    b.screenshot(&screenshot_dir().join("crm-light.png")).await;

    // The host drives the toolbar through the mount handle.
    b.click("crm-lunch").await;
    b.wait_state("BREAK").await;
    b.click("crm-ready").await;
    b.wait_state("READY").await;

    b.goto(&stack.url("/examples/crm.html?theme=dark")).await;
    b.wait_state("READY").await;
    b.screenshot(&screenshot_dir().join("crm-dark.png")).await;

    b.close().await;
    stack.stop().await;
}
