//! A call rings while the softphone tab is in the background: the toolbar
//! asks for the notification permission on "Go online", then, on the call, a
//! desktop notification says who calls, the title blinks, the ring tone
//! plays and the host gets `ccc:ringing`; clicking the notification puts the
//! focus on Answer; when the call is answered elsewhere (the simulator
//! answers it, as another device would) all of it stops and the title is
//! the page's own again. The page's `Notification`, visibility and focus are
//! the spy in tests/ring_spy.js (headless Chromium shows no notifications).

use ccc_e2e::{
    browser::{BrowserOptions, UI_DEADLINE},
    eventually, Browser, Stack, StackOptions,
};
use serde_json::{json, Value};

const AGENT: &str = "agent1@ccc-demo";
const CALLER: &str = "13800138000";
const SPY: &str = include_str!("../../../tests/ring_spy.js");

async fn summary(b: &Browser) -> Value {
    b.js("return __ring.summary()").await
}

/// Waits until `check` accepts the spy's summary.
async fn until(b: &Browser, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    eventually(what, UI_DEADLINE, || async {
        let s = summary(b).await;
        if check(&s) {
            Ok(s)
        } else {
            Err(s.to_string())
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_rings_a_background_tab_until_answered_elsewhere() {
    let stack = Stack::start(StackOptions::default()).await;
    let b = Browser::start(BrowserOptions::default()).await;
    b.sign_in(&stack, AGENT).await;
    b.wait_state("OFFLINE").await;

    // Nothing is asked on load; "Go online" asks once, on the click.
    b.js(SPY).await;
    b.js("Notification.permission = 'default'; __ring.setAway(true)")
        .await;
    b.choose("sign-in").await;
    b.wait_state("BREAK").await;
    assert_eq!(summary(&b).await["asked"], 1);
    b.choose("ready").await;
    b.wait_state("READY").await;
    let page_title = summary(&b).await["title"].as_str().unwrap().to_owned();

    // The agent is in another tab when the customer calls.
    let job = stack.ring(AGENT, CALLER).await;
    let ringing_title = format!("☎ Incoming call from {CALLER}");
    let s = until(&b, "the alerts", |s| {
        s["title"] == ringing_title.as_str() && s["notes"].as_array().is_some_and(|n| n.len() == 1)
    })
    .await;
    let note = &s["notes"][0];
    assert_eq!(note["title"], format!("Incoming call from {CALLER}"));
    assert_eq!(note["tag"], "ccc-ringing");
    assert_eq!(note["requireInteraction"], true);
    assert_eq!(note["closed"], false);
    assert_eq!(s["started"], 2, "the tone's two oscillators: {s}");
    let events = s["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "one ccc:ringing: {s}");
    assert_eq!(events[0]["version"], 1);
    assert_eq!(events[0]["type"], "ringing");
    assert_eq!(events[0]["call"]["jobId"], job.as_str());
    assert_eq!(events[0]["call"]["otherParty"], CALLER);
    assert_eq!(events[0]["leader"], true);
    // The title blinks between the call and the page's own title.
    until(&b, "the page title between blinks", |s| {
        s["title"] == page_title.as_str()
    })
    .await;
    until(&b, "the call in the title again", |s| {
        s["title"] == ringing_title.as_str()
    })
    .await;

    // Clicking the notification brings the agent to the Answer button.
    b.js("__ring.notes[0].onclick()").await;
    let s = summary(&b).await;
    assert_eq!(s["focused"], "answer", "{s}");

    // Answered on another device: everything stops, the title is restored.
    stack
        .admin("POST", &format!("/_sim/calls/{job}/answer"), json!({}))
        .await;
    b.wait_state("TALKING").await;
    let s = until(&b, "all alerts to stop", |s| {
        s["title"] == page_title.as_str() && s["stopped"] == 2 && s["notes"][0]["closed"] == true
    })
    .await;
    assert_eq!(s["events"].as_array().unwrap().len(), 1, "{s}");

    b.close().await;
    stack.stop().await;
}
