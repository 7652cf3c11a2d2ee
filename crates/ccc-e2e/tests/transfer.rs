//! Transfer, consult, conference and the keypad (issue 18) end to end:
//! two agents in two browsers (each its own profile, so its own demo
//! sign-in) against the real proxy and simulator. Agent A (Ada Li) takes a
//! customer's call and passes it to agent B (Bo Wang) from the transfer
//! panel:
//!
//! - blind: B rings at once, A is in after-call work; B answers;
//! - consult, B answers, cancel: A is back with the customer;
//! - consult again and complete: B has the customer, A in after-call work;
//! - consult, conference, A leaves: B goes on with the customer;
//! - keypad: the keys A presses (buttons and keyboard) reach the
//!   simulator on the customer's channel, in order.

use ccc_e2e::{
    agents::{answered_call, call_record, customer_hangs_up, go_ready, pick_target, sim_state_is},
    browser::{BrowserOptions, UI_DEADLINE},
    eventually, Browser, Stack, StackOptions,
};
use fantoccini::Locator;

const A: &str = "agent1@ccc-demo";
const B: &str = "agent2@ccc-demo";
const CUSTOMER: &str = "13800138000";

/// Both agents READY again (after-call work ends by itself).
async fn both_ready(a: &Browser, b: &Browser) {
    a.wait_state("READY").await;
    b.wait_state("READY").await;
}

/// A consults B from the panel; B's toolbar rings and B answers; A's
/// consult card shows B talking.
async fn consult_b(a: &Browser, b: &Browser) {
    pick_target(a, "Bo", B).await;
    a.click("transfer-consult").await;
    a.wait_attr("consult-card", "data-phase", "ringing").await;
    a.wait_attr("consult-card", "data-type", "agent").await;
    a.wait_attr("ccc-toolbar", "data-held", "true").await;
    // One consult per call.
    a.wait_attr("transfer-button", "aria-disabled", "true")
        .await;
    b.wait_state("RINGING").await;
    b.click("answer").await;
    b.wait_state("TALKING").await;
    a.wait_attr("consult-card", "data-phase", "talking").await;
    a.wait_attr("conference", "aria-disabled", "false").await;
}

async fn press_key(a: &Browser, key: &str) {
    let css = format!("[data-testid=\"keypad-key\"][data-key=\"{key}\"]");
    a.client
        .find(Locator::Css(&css))
        .await
        .unwrap_or_else(|e| panic!("key {key}: {e}"))
        .click()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_agents_blind_consult_cancel_complete_conference_and_keypad() {
    let stack = Stack::start(StackOptions {
        // Long enough to see after-call work, short enough to come back.
        after_call_ms: 4_000,
        proxy_flags: ["--rate-limit-burst", "100"].map(String::from).to_vec(),
        ..Default::default()
    })
    .await;
    let a = Browser::start(BrowserOptions::default()).await;
    let b = Browser::start(BrowserOptions::default()).await;
    a.sign_in(&stack, A).await;
    b.sign_in(&stack, B).await;
    go_ready(&a).await;
    go_ready(&b).await;

    // Keypad: buttons and the keyboard, in order, on the customer's channel.
    let job = answered_call(&stack, &a, A, CUSTOMER).await;
    a.click("keypad-button").await;
    a.wait_visible("keypad").await;
    press_key(&a, "1").await;
    press_key(&a, "2").await;
    // The keyboard, with the focus on the key just pressed.
    a.client
        .active_element()
        .await
        .unwrap()
        .send_keys("3#*0")
        .await
        .unwrap();
    a.wait_text("keypad-sent", "123#*0").await;
    let dtmf = eventually("the keys in the simulator", UI_DEADLINE, || async {
        let r = call_record(&stack, &job).await;
        match r["dtmf"].as_str() {
            Some("123#*0") => Ok(r),
            _ => Err(r.to_string()),
        }
    })
    .await;
    let channels: Vec<&str> = dtmf["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["channelId"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(channels.len(), 6);
    assert!(
        channels.iter().all(|c| c.contains("customer")),
        "on the customer's channel: {channels:?}"
    );
    customer_hangs_up(&stack, &job).await;
    a.wait_state("WORKING").await;
    both_ready(&a, &b).await;

    // Blind: B rings at once, A goes to after-call work.
    let job = answered_call(&stack, &a, A, CUSTOMER).await;
    pick_target(&a, "Bo", B).await;
    a.click("transfer-blind").await;
    a.wait_state("WORKING").await;
    a.wait_attr("call-info", "data-phase", "wrap-up").await;
    b.wait_state("RINGING").await;
    b.wait_text("call-party", CUSTOMER).await;
    b.click("answer").await;
    b.wait_state("TALKING").await;
    sim_state_is(&stack, B, "TALKING").await;
    let r = call_record(&stack, &job).await;
    assert_eq!(r["transfers"][0]["action"], "BlindTransfer", "{r}");
    assert_eq!(r["transfers"][0]["transferee"], B, "{r}");
    customer_hangs_up(&stack, &job).await;
    b.wait_state("WORKING").await;
    both_ready(&a, &b).await;

    // Consult, B answers, cancel: A is back with the customer.
    let job = answered_call(&stack, &a, A, CUSTOMER).await;
    consult_b(&a, &b).await;
    a.click("transfer-cancel").await;
    eventually("the consult card gone", UI_DEADLINE, || async {
        match a.find("consult-card").await {
            Err(_) => Ok(()),
            Ok(_) => Err("still shown".to_owned()),
        }
    })
    .await;
    a.wait_state("TALKING").await;
    a.wait_attr("ccc-toolbar", "data-held", "false").await;
    a.wait_attr("call-info", "data-job-id", &job).await;
    b.wait_state("WORKING").await;
    sim_state_is(&stack, A, "TALKING").await;

    // Consult again and complete: B has the customer.
    b.wait_state("READY").await;
    a.wait_attr("transfer-button", "aria-disabled", "false")
        .await;
    consult_b(&a, &b).await;
    a.click("transfer-complete").await;
    a.wait_state("WORKING").await;
    b.wait_state("TALKING").await;
    sim_state_is(&stack, B, "TALKING").await;
    let r = call_record(&stack, &job).await;
    let actions: Vec<&str> = r["transfers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["action"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        actions,
        [
            "InitiateAttendedTransfer",
            "CancelAttendedTransfer",
            "InitiateAttendedTransfer",
            "CompleteAttendedTransfer"
        ],
        "{r}"
    );
    customer_hangs_up(&stack, &job).await;
    b.wait_state("WORKING").await;
    both_ready(&a, &b).await;

    // Consult, conference, A leaves: the call goes on for B.
    let job = answered_call(&stack, &a, A, CUSTOMER).await;
    consult_b(&a, &b).await;
    a.click("conference").await;
    a.wait_attr("consult-card", "data-phase", "conference")
        .await;
    a.wait_attr("ccc-toolbar", "data-held", "false").await;
    a.click("conference-leave").await;
    a.wait_state("WORKING").await;
    sim_state_is(&stack, B, "TALKING").await;
    b.wait_state("TALKING").await;
    customer_hangs_up(&stack, &job).await;
    b.wait_state("WORKING").await;

    a.close().await;
    b.close().await;
    stack.stop().await;
}
