//! Steps of an agent that several end-to-end tests take (issue 18: two
//! agents passing calls to each other): going online, taking a call,
//! picking a transfer target, and the simulator's record of a call.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::{json, Value};

use crate::{browser::UI_DEADLINE, eventually, Browser, Stack};

/// From OFFLINE (just signed in to the page) to READY.
pub async fn go_ready(b: &Browser) {
    b.wait_state("OFFLINE").await;
    b.choose("sign-in").await;
    b.wait_state("BREAK").await;
    b.choose("ready").await;
    b.wait_state("READY").await;
}

/// Rings `agent` (READY) with a call from `caller` and answers it in `b`;
/// answers the job id.
pub async fn answered_call(stack: &Stack, b: &Browser, agent: &str, caller: &str) -> String {
    let job = stack.ring(agent, caller).await;
    b.wait_state("RINGING").await;
    b.click("answer").await;
    b.wait_state("TALKING").await;
    job
}

/// Opens the transfer panel, searches `query` and picks the target whose
/// id is `id` once the directory lists it.
pub async fn pick_target(b: &Browser, query: &str, id: &str) {
    if b.find("transfer-panel").await.is_err() {
        b.click("transfer-button").await;
    }
    let search = b.testid("transfer-search").await;
    search.clear().await.expect("clear the search");
    search.send_keys(query).await.expect("type the search");
    let css = format!("[data-testid=\"transfer-target\"][data-id=\"{id}\"]");
    let option = eventually(&format!("{id} listed for {query:?}"), UI_DEADLINE, || {
        let css = css.clone();
        async move {
            b.client
                .find(Locator::Css(&css))
                .await
                .map_err(|e| e.to_string())
        }
    })
    .await;
    option.click().await.expect("click the target");
    eventually(&format!("{id} picked"), UI_DEADLINE, || {
        let css = css.clone();
        async move {
            let el = b
                .client
                .find(Locator::Css(&css))
                .await
                .map_err(|e| e.to_string())?;
            match el.attr("aria-selected").await.map_err(|e| e.to_string())? {
                Some(v) if v == "true" => Ok(()),
                other => Err(format!("aria-selected={other:?}")),
            }
        }
    })
    .await;
}

/// The simulator's record of a call (`GET /_sim/calls/{job}`): the keypad
/// keys it received (`dtmf`), its transfers and who is in it.
pub async fn call_record(stack: &Stack, job: &str) -> Value {
    stack
        .admin("GET", &format!("/_sim/calls/{job}"), json!({}))
        .await
}

/// The simulator's state of `agent` (`UserState`).
pub async fn sim_state(stack: &Stack, agent: &str) -> String {
    let agents = stack.admin("GET", "/_sim/agents", json!({})).await;
    agents
        .as_array()
        .and_then(|a| a.iter().find(|a| a["userId"] == agent))
        .and_then(|a| a["userContext"]["UserState"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// Waits until the simulator has `agent` in `state`.
pub async fn sim_state_is(stack: &Stack, agent: &str, state: &str) {
    eventually(
        &format!("{agent} {state} in the simulator"),
        Duration::from_secs(15),
        || async move {
            let s = sim_state(stack, agent).await;
            if s == state {
                Ok(())
            } else {
                Err(s)
            }
        },
    )
    .await;
}

/// The customer hangs up `job`.
pub async fn customer_hangs_up(stack: &Stack, job: &str) {
    stack
        .admin(
            "POST",
            &format!("/_sim/calls/{job}/hangup"),
            json!({"by": "customer"}),
        )
        .await;
}
