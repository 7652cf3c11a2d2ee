//! The first state comes with the page: the proxy inlines the agent's
//! session and snapshot, the toolbar shows them without asking for the
//! session or a first snapshot, removes the data element, and goes straight
//! to the long-poll (a change from outside still arrives).

use ccc_e2e::{browser::BrowserOptions, Browser, Stack, StackOptions};

const AGENT: &str = "agent2@ccc-demo";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_brings_the_first_state_and_the_long_poll_follows() {
    let stack = Stack::start(StackOptions::default()).await;
    let b = Browser::start(BrowserOptions::default()).await;
    b.sign_in(&stack, AGENT).await;
    // CCC moves the agent (the simulator's admin API, not the toolbar).
    stack
        .admin(
            "POST",
            &format!("/_sim/agents/{AGENT}/state"),
            serde_json::json!({"state": "READY"}),
        )
        .await;
    b.wait_state("READY").await;

    // A new page load: the state is in the page itself.
    b.goto(&stack.url("/")).await;
    b.wait_state("READY").await;
    b.wait_attr("ccc-toolbar", "data-connection", "connected")
        .await;
    let (sessions, _) = b.requests_to("/api/v1/session", 0.0, f64::MAX).await;
    assert_eq!(sessions, 0, "the session came with the page");
    let left = b
        .js("return document.getElementById('ccc-bootstrap') === null")
        .await;
    assert_eq!(
        left,
        serde_json::Value::Bool(true),
        "read once, then removed"
    );

    // The long-poll started from that state: a call from outside arrives.
    stack.ring(AGENT, "13800138000").await;
    b.wait_state("RINGING").await;

    b.close().await;
    stack.stop().await;
}
