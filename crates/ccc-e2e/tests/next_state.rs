//! Next state from the call card, in headless Chromium against the real
//! proxy and simulator: the agent picks "After this call: lunch" while
//! talking, the customer hangs up and the proxy puts the agent on the lunch
//! break; a cancelled choice leaves the agent in after-call work; and a
//! choice made before the tab is closed is still applied when the call ends
//! with no toolbar open.

use std::time::Duration;

use ccc_e2e::{browser::BrowserOptions, eventually, Browser, Stack, StackOptions};
use serde_json::{json, Value};

const AGENT: &str = "agent1@ccc-demo";

/// The simulator's state of `AGENT`: `(UserState, BreakCode)`.
async fn sim_state(stack: &Stack) -> (String, Option<String>) {
    let agents = stack.admin("GET", "/_sim/agents", json!({})).await;
    let me = agents
        .as_array()
        .and_then(|a| a.iter().find(|a| a["userId"] == AGENT))
        .expect("the agent in /_sim/agents")
        .clone();
    let ctx = &me["userContext"];
    (
        ctx["UserState"].as_str().unwrap_or_default().to_owned(),
        ctx["BreakCode"].as_str().map(str::to_owned),
    )
}

/// Rings the agent, answers from the toolbar; returns the job id.
async fn answered_call(stack: &Stack, b: &Browser) -> String {
    let job = stack.ring(AGENT, "13800138000").await;
    b.wait_state("RINGING").await;
    b.click("answer").await;
    b.wait_state("TALKING").await;
    job
}

async fn customer_hangs_up(stack: &Stack, job: &str) {
    stack
        .admin(
            "POST",
            &format!("/_sim/calls/{job}/hangup"),
            json!({"by": "customer"}),
        )
        .await;
}

/// Picks `value` in the next-state select and waits until the proxy's
/// answer shows it.
async fn pick_next(b: &Browser, value: &str) {
    b.testid("next-state")
        .await
        .select_by_value(value)
        .await
        .unwrap();
    next_shown(b, value).await;
}

/// Waits until the next-state select shows `value` and nothing is in flight.
async fn next_shown(b: &Browser, value: &str) {
    eventually(
        &format!("next state {value:?} shown from the server"),
        ccc_e2e::browser::UI_DEADLINE,
        || async {
            let v = b
                .js(
                    "const s = document.querySelector('[data-testid=next-state]');\
                     return [s.value, s.getAttribute('aria-busy')];",
                )
                .await;
            if v == json!([value, "false"]) {
                Ok(())
            } else {
                Err(format!("{v}"))
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_state_from_the_call_card_also_with_the_tab_closed() {
    let stack = Stack::start(StackOptions {
        // After-call work stays until something ends it.
        after_call_ms: 600_000,
        ..Default::default()
    })
    .await;
    let b = Browser::start(BrowserOptions::default()).await;
    b.sign_in(&stack, AGENT).await;
    b.wait_state("OFFLINE").await;
    b.choose("sign-in").await;
    b.wait_state("BREAK").await;
    b.choose("ready").await;
    b.wait_state("READY").await;

    // Picked while talking, applied when the customer hangs up.
    let job = answered_call(&stack, &b).await;
    pick_next(&b, "break:lunch").await;
    b.wait_attr("call-info", "data-phase", "talking").await;
    customer_hangs_up(&stack, &job).await;
    b.wait_state("BREAK").await;
    assert_eq!(
        sim_state(&stack).await,
        ("BREAK".into(), Some("lunch".into()))
    );
    assert!(
        b.find("next-state").await.is_err(),
        "no call card, no next state, once on the break"
    );

    // Picked and cancelled: the call ends in after-call work as usual.
    b.choose("ready").await;
    b.wait_state("READY").await;
    let job = answered_call(&stack, &b).await;
    pick_next(&b, "offline").await;
    b.click("next-state-cancel").await;
    next_shown(&b, "").await;
    customer_hangs_up(&stack, &job).await;
    b.wait_state("WORKING").await;
    b.wait_attr("call-info", "data-phase", "wrap-up").await;
    // Stays there: the proxy has nothing to apply (an absence, so a short
    // wait, then the simulator's truth).
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(sim_state(&stack).await.0, "WORKING");

    // Picked, then the tab is closed before the call ends: the proxy still
    // applies it.
    b.choose("ready").await;
    b.wait_state("READY").await;
    let job = answered_call(&stack, &b).await;
    pick_next(&b, "break:meeting").await;
    b.goto("about:blank").await;
    customer_hangs_up(&stack, &job).await;
    let applied = eventually(
        "the proxy to apply the next state with no toolbar open",
        Duration::from_secs(20),
        || async {
            let s = sim_state(&stack).await;
            if s == ("BREAK".to_owned(), Some("meeting".to_owned())) {
                Ok(s)
            } else {
                Err(format!("{s:?}"))
            }
        },
    )
    .await;
    assert_eq!(applied.0, "BREAK");
    // Back in the toolbar: the break, and no next state left.
    b.goto(&stack.url("/")).await;
    b.wait_state("BREAK").await;
    assert!(
        !b.wait_text("break-code", "").await.is_empty(),
        "the reason shown"
    );
    let snapshot: Value = b
        .js("return fetch('/api/v1/agent', {headers: {'Accept': 'application/json'}}).then(r => r.json())")
        .await;
    assert!(
        snapshot.get("nextState").is_none() || snapshot["nextState"].is_null(),
        "applied once, then cleared: {snapshot}"
    );

    b.close().await;
    stack.stop().await;
}
