//! Many tabs of ONE browser profile (one WebDriver session, five windows):
//! one tab leads and long-polls, the others follow over a
//! `BroadcastChannel`. Exactly one long-poll waits at the proxy, every tab
//! shows every change, a follower's command works, and closing the leader,
//! or Chromium freezing it, hands over to another tab that keeps the updates
//! coming.

use std::time::Duration;

use ccc_e2e::{browser::BrowserOptions, epoch_ms, eventually, Browser, Stack, StackOptions};
use fantoccini::wd::WindowHandle;
use serde_json::json;

const AGENT: &str = "agent3@ccc-demo";
/// The ringing spy (Notification, visibility, focus, oscillators).
const SPY: &str = include_str!("../../../tests/ring_spy.js");
const TABS: usize = 5;
/// A change reaches every tab within this (the 1 s, plus slack for a
/// loaded 2-core machine running five tabs).
const FAN_OUT: Duration = Duration::from_secs(3);
/// Closing the leader hands over within this (the 3 s, plus slack).
const HANDOVER: Duration = Duration::from_secs(5);

async fn waiters(stack: &Stack) -> f64 {
    let text = reqwest::get(stack.url("/metrics"))
        .await
        .expect("metrics answer")
        .text()
        .await
        .expect("metrics text");
    ccc_e2e::metric_sum(&text, "ccc_proxy_longpoll_waiters")
}

/// Waits until exactly one long-poll waits at the proxy, then checks that it
/// stays one over a follower's silence window (a second poller would show).
async fn exactly_one_longpoll(stack: &Stack, deadline: Duration) {
    eventually(
        "exactly one long-poll at the proxy",
        deadline,
        || async move {
            match waiters(stack).await {
                1.0 => Ok(()),
                n => Err(format!("{n} waiting")),
            }
        },
    )
    .await;
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(waiters(stack).await, 1.0, "still exactly one long-poll");
    }
}

/// Waits until every tab in `tabs` shows `state`, all within `FAN_OUT`.
async fn all_show(b: &Browser, tabs: &[WindowHandle], state: &str) {
    let start = tokio::time::Instant::now();
    for (i, tab) in tabs.iter().enumerate() {
        b.client.switch_to_window(tab.clone()).await.unwrap();
        let left = FAN_OUT.saturating_sub(start.elapsed());
        eventually(&format!("tab {i} to show {state}"), left, || async move {
            let el = b.find("ccc-toolbar").await?;
            let got = el.attr("data-state").await.map_err(|e| e.to_string())?;
            let conn = el
                .attr("data-connection")
                .await
                .map_err(|e| e.to_string())?;
            match (got.as_deref(), conn.as_deref()) {
                (Some(s), Some("connected")) if s == state => Ok(()),
                other => Err(format!("{other:?}")),
            }
        })
        .await;
    }
}

/// The one tab of `tabs` that long-polled since `since` (epoch ms).
async fn the_poller(b: &Browser, tabs: &[WindowHandle], since: f64) -> WindowHandle {
    let mut found = None;
    for tab in tabs {
        b.client.switch_to_window(tab.clone()).await.unwrap();
        if b.requests_to("/api/v1/agent", since, f64::MAX).await.0 > 0 {
            assert!(found.is_none(), "two tabs polled");
            found = Some(tab.clone());
        }
    }
    found.expect("one tab polled")
}

/// Clicks `id` in `tab`.
async fn click_in(b: &Browser, tab: &WindowHandle, id: &str) {
    b.client.switch_to_window(tab.clone()).await.unwrap();
    b.click(id).await;
}

/// Picks the status menu entry `id` in `tab`.
async fn choose_in(b: &Browser, tab: &WindowHandle, id: &str) {
    b.client.switch_to_window(tab.clone()).await.unwrap();
    b.choose(id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_tabs_one_longpoll_and_handover() {
    let stack = Stack::start(StackOptions::default()).await;
    let b = Browser::start(BrowserOptions::default()).await;
    b.sign_in(&stack, AGENT).await;
    // The first tab leads; the others open behind it in the same profile.
    let mut tabs = vec![b.client.window().await.unwrap()];
    for _ in 1..TABS {
        tabs.push(b.open_tab(&stack.url("/")).await);
    }
    all_show(&b, &tabs, "OFFLINE").await;
    exactly_one_longpoll(&stack, FAN_OUT).await;
    // The followers never asked the proxy for the state or the session.
    for tab in &tabs[1..] {
        b.client.switch_to_window(tab.clone()).await.unwrap();
        for path in ["/api/v1/agent", "/api/v1/session"] {
            let (n, _) = b.requests_to(path, 0.0, f64::MAX).await;
            assert_eq!(n, 0, "a follower fetched {path}");
        }
    }

    // Commands from followers; a change from outside (a call); each reaches
    // every tab through the leader's one long-poll.
    choose_in(&b, &tabs[2], "sign-in").await;
    all_show(&b, &tabs, "BREAK").await;
    choose_in(&b, &tabs[4], "ready").await;
    all_show(&b, &tabs, "READY").await;
    // The agent is away from every tab when the call comes: exactly one tab
    // (the leader, tabs[0]) notifies and blinks; every tab tells its host.
    for tab in &tabs {
        b.client.switch_to_window(tab.clone()).await.unwrap();
        b.js(SPY).await;
        b.js("__ring.setAway(true)").await;
    }
    stack.ring(AGENT, "13800138000").await;
    all_show(&b, &tabs, "RINGING").await;
    b.client.switch_to_window(tabs[0].clone()).await.unwrap();
    eventually("the leader to notify", FAN_OUT, || async {
        let n = b.js("return __ring.summary().notes.length").await;
        if n == 1 {
            Ok(())
        } else {
            Err(format!("{n} notifications"))
        }
    })
    .await;
    for (i, tab) in tabs.iter().enumerate() {
        b.client.switch_to_window(tab.clone()).await.unwrap();
        let s = b.js("return __ring.summary()").await;
        let leads = i == 0;
        let notes = s["notes"].as_array().map_or(0, Vec::len);
        assert_eq!(notes, usize::from(leads), "tab {i} notifications: {s}");
        let ringing = s["events"].as_array().cloned().unwrap_or_default();
        assert_eq!(ringing.len(), 1, "tab {i} tells its host once: {s}");
        assert_eq!(ringing[0]["leader"], leads, "tab {i}: {s}");
        b.js("__ring.setAway(false)").await;
    }
    click_in(&b, &tabs[3], "answer").await;
    all_show(&b, &tabs, "TALKING").await;
    exactly_one_longpoll(&stack, FAN_OUT).await;

    // Close the leader: another tab takes over, still one long-poll, and
    // changes keep coming to every remaining tab.
    b.client.switch_to_window(tabs[0].clone()).await.unwrap();
    let closed = epoch_ms();
    b.client.close_window().await.unwrap();
    let rest = tabs.split_off(1);
    exactly_one_longpoll(&stack, HANDOVER).await;
    click_in(&b, &rest[1], "hangup").await;
    all_show(&b, &rest, "WORKING").await;
    // After-call work ends by itself: the change comes from the server.
    all_show(&b, &rest, "READY").await;
    exactly_one_longpoll(&stack, FAN_OUT).await;

    // Chromium freezes the new leader (as it does background tabs): it gives
    // the lock up on `freeze`, another tab leads, still one long-poll, and
    // changes keep coming; on resume it follows and shows the latest state.
    let leader = the_poller(&b, &rest, closed).await;
    b.client.switch_to_window(leader.clone()).await.unwrap();
    let frozen = epoch_ms();
    b.cdp("Page.setWebLifecycleState", json!({ "state": "frozen" }))
        .await;
    let awake: Vec<WindowHandle> = rest.iter().filter(|t| **t != leader).cloned().collect();
    exactly_one_longpoll(&stack, HANDOVER).await;
    stack.ring(AGENT, "13800138000").await;
    all_show(&b, &awake, "RINGING").await;
    the_poller(&b, &awake, frozen).await;
    b.client.switch_to_window(leader.clone()).await.unwrap();
    b.cdp("Page.setWebLifecycleState", json!({ "state": "active" }))
        .await;
    all_show(&b, &rest, "RINGING").await;
    exactly_one_longpoll(&stack, FAN_OUT).await;

    b.close().await;
    stack.stop().await;
}
