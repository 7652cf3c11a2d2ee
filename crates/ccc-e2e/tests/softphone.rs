//! The browser softphone end to end (issue 20): headless Chromium with a
//! fake microphone playing a tone (a WAV written here), the widget's SIP user
//! agent through the proxy's relay to the simulator's registrar, WebRTC media
//! to the simulator's customer peer, all on 127.0.0.1.
//!
//! The page's `RTCPeerConnection`s and microphone streams are recorded by a
//! script installed before the page loads (`ccc_e2e::softphone::SPY`), so the test can read
//! `getStats()` and the microphone track's `readyState`; the simulator
//! measures what it receives at `/_sim/calls/{jobId}/media`.

use std::time::Duration;

use ccc_e2e::{
    browser::UI_DEADLINE,
    eventually,
    softphone::{registered_agent, stack_options, AGENT},
    Browser, Stack,
};
use fantoccini::Locator;
use serde_json::{json, Value};

const CALLER: &str = "13800138000";
/// Energy (mean square, full scale 1) the simulator reads as sound / silence.
/// Chromium's audio processing (echo cancellation, noise suppression, gain
/// control) leaves about 0.002 of the fake microphone's half-scale tone
/// (0.125), three orders of magnitude above silence.
const SOUND: f64 = 1e-4;
const SILENCE: f64 = 1e-6;

async fn media(stack: &Stack, job: &str) -> Value {
    stack
        .admin("GET", &format!("/_sim/calls/{job}/media"), json!({}))
        .await
}

/// Waits until the simulator's media report for `job` satisfies `check`.
async fn until_media(stack: &Stack, job: &str, what: &str, check: impl Fn(&Value) -> bool) {
    eventually(what, UI_DEADLINE, || async {
        let m = media(stack, job).await;
        if check(&m) {
            Ok(())
        } else {
            Err(m.to_string())
        }
    })
    .await
}

fn energy(m: &Value, leg: &str) -> f64 {
    m[leg]["energy"].as_f64().unwrap_or(-1.0)
}

/// The page's inbound audio energy grows over a second.
async fn page_hears(b: &Browser) {
    eventually(
        "the page's inbound totalAudioEnergy to grow",
        UI_DEADLINE,
        || async {
            let a = b.js("return await window.__inbound()").await;
            tokio::time::sleep(Duration::from_millis(700)).await;
            let c = b.js("return await window.__inbound()").await;
            let (a, c) = (a["energy"].as_f64(), c["energy"].as_f64());
            match (a, c) {
                (Some(a), Some(c)) if c > a => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await
}

/// Clicks keypad key `key`.
async fn press_key(b: &Browser, key: &str) {
    let css = format!("[data-testid=\"keypad-key\"][data-key=\"{key}\"]");
    b.client
        .find(Locator::Css(&css))
        .await
        .unwrap_or_else(|e| panic!("key {key}: {e}"))
        .click()
        .await
        .unwrap();
}

/// How many SendDtmfSignaling requests reached the simulator.
async fn send_dtmf_calls(stack: &Stack) -> u64 {
    let stats = stack.admin("GET", "/_sim/stats", json!({})).await;
    stats["calls"]["SendDtmfSignaling"].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_call_answer_audio_keypad_mute_hold_hangup() {
    let stack = Stack::start(stack_options()).await;
    let b = registered_agent(&stack, true).await;

    // The INVITE rings the softphone; Answer answers it.
    let job = stack.ring(AGENT, CALLER).await;
    b.wait_state("RINGING").await;
    b.wait_attr("softphone-status", "data-call", "ringing")
        .await;
    b.click("answer").await;
    b.wait_state("TALKING").await;
    b.wait_attr("softphone-status", "data-call", "talking")
        .await;
    b.wait_attr("softphone-status", "data-remote-audio", "true")
        .await;

    // Audio both ways: the customer hears the microphone's tone, the page
    // receives the customer's.
    until_media(&stack, &job, "the simulator to hear the agent", |m| {
        energy(m, "fromAgent") > SOUND && energy(m, "customerHears") > SOUND
    })
    .await;
    page_hears(&b).await;
    // The level meter moves with the microphone.
    b.testid("mic-level").await;
    let level = b
        .js("return document.querySelector('[data-testid=\"mic-level\"]').value")
        .await;
    assert!(level.as_f64().is_some_and(|v| v > 0.0), "level {level}");

    // Keypad: the SDP negotiated telephone-event, so the keys go in-band
    // (RFC 4733 through RTCDTMFSender), in order, and no SendDtmfSignaling
    // is made.
    let api_dtmf = send_dtmf_calls(&stack).await;
    b.click("keypad-button").await;
    b.wait_visible("keypad").await;
    press_key(&b, "1").await;
    press_key(&b, "2").await;
    b.client
        .active_element()
        .await
        .unwrap()
        .send_keys("3#*0")
        .await
        .unwrap();
    b.wait_text("keypad-sent", "123#*0").await;
    let record = eventually("the keys in the simulator", UI_DEADLINE, || async {
        let r = stack
            .admin("GET", &format!("/_sim/calls/{job}"), json!({}))
            .await;
        match r["dtmf"].as_str() {
            Some("123#*0") => Ok(r),
            _ => Err(r.to_string()),
        }
    })
    .await;
    let keys = record["keys"].as_array().unwrap();
    assert!(
        keys.iter().all(|k| k["via"] == "rtp"
            && k["userId"] == AGENT
            && k["channelId"].as_str().is_some_and(|c| !c.is_empty())),
        "every key in-band, on the customer's channel: {record}"
    );
    assert_eq!(send_dtmf_calls(&stack).await, api_dtmf, "no API call");
    b.click("keypad-close").await;

    // Mute: the track is disabled, so silence arrives on the wire.
    b.click("mute").await;
    b.wait_attr("ccc-toolbar", "data-muted", "true").await;
    until_media(&stack, &job, "silence from the agent", |m| {
        energy(m, "fromAgent") < SILENCE && energy(m, "customerHears") < SILENCE
    })
    .await;
    b.click("mute").await;
    b.wait_attr("ccc-toolbar", "data-muted", "false").await;
    until_media(&stack, &job, "the agent again after unmute", |m| {
        energy(m, "fromAgent") > SOUND
    })
    .await;

    // Hold: the customer hears hold music, the call goes on.
    b.click("hold").await;
    b.wait_attr("ccc-toolbar", "data-held", "true").await;
    until_media(&stack, &job, "the hold", |m| m["mix"]["held"] == true).await;
    b.wait_attr("softphone-status", "data-call", "talking")
        .await;

    // The customer hangs up: BYE; the microphone is released.
    stack
        .admin("POST", &format!("/_sim/calls/{job}/hangup"), json!({}))
        .await;
    b.wait_attr("softphone-status", "data-call", "idle").await;
    eventually("the microphone track to end", UI_DEADLINE, || async {
        match b.js("return window.__micEnded()").await {
            Value::Bool(true) => Ok(()),
            v => Err(v.to_string()),
        }
    })
    .await;
    b.wait_attr("softphone-status", "data-registration", "registered")
        .await;

    b.close().await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_dial_is_answered_by_the_softphone_itself() {
    let stack = Stack::start(stack_options()).await;
    let b = registered_agent(&stack, true).await;
    let input = b.testid("dial-number").await;
    input.send_keys(CALLER).await.unwrap();
    b.click("dial").await;
    // MakeCall rings the agent's device first with answer-after=0: the
    // softphone answers without a click, then the customer is dialled.
    b.wait_attr("softphone-status", "data-call", "talking")
        .await;
    b.wait_state("TALKING").await;
    page_hears(&b).await;
    b.click("hangup").await;
    b.wait_attr("softphone-status", "data-call", "idle").await;
    b.close().await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_microphone_is_explained_and_changes_no_state() {
    let stack = Stack::start(stack_options()).await;
    let b = registered_agent(&stack, false).await;
    stack.ring(AGENT, CALLER).await;
    b.wait_attr("softphone-status", "data-call", "ringing")
        .await;
    b.click("answer").await;
    b.wait_attr("softphone-status", "data-mic-error", "denied")
        .await;
    b.wait_text("mic-error", "microphone").await;
    // Still ringing: the agent can allow the microphone and answer again.
    b.wait_attr("softphone-status", "data-call", "ringing")
        .await;
    b.wait_state("RINGING").await;
    b.close().await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_relay_reregisters_within_five_seconds() {
    let stack = Stack::start(stack_options()).await;
    let b = registered_agent(&stack, true).await;
    assert_eq!(b.js("return window.__sockets").await, 1);
    // A second socket of the same device replaces the widget's (the relay
    // closes the older one): the widget's relay is dropped while idle.
    let dropped = std::time::Instant::now();
    b.js(
        "const id = localStorage.getItem('ccc-toolbar.device-id') || '';
         window.__intruder = new WebSocket(location.origin.replace('http', 'ws') +
           '/api/v1/sip?device=' + encodeURIComponent(id), 'sip');
         return true",
    )
    .await;
    eventually(
        "the widget to reconnect",
        Duration::from_secs(5),
        || async {
            match b.js("return window.__sockets").await.as_u64() {
                Some(n) if n >= 3 => Ok(()),
                n => Err(format!("{n:?} sockets")),
            }
        },
    )
    .await;
    b.wait_attr("softphone-status", "data-registration", "registered")
        .await;
    assert!(
        dropped.elapsed() < Duration::from_secs(5),
        "re-registered after {:?}",
        dropped.elapsed()
    );
    b.close().await;
    stack.stop().await;
}
